"""A worker that runs out of its address space while the import system or the OS allocates
(an ``OSError`` with errno ENOMEM, not a ``MemoryError``) is reported as past the memory limit;
any other ``OSError`` comes back as itself."""

from __future__ import annotations

import errno
import sys

import pytest

from geomcore._bounded import LimitExceeded, run_bounded

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="the address-space limit is set on Linux")


def raise_oserror(code: int) -> None:
    raise OSError(code, f"{errno.errorcode[code]} raised on purpose")


def test_an_allocation_refused_by_the_os_is_the_memory_limit():
    with pytest.raises(LimitExceeded, match="memory limit") as info:
        run_bounded(raise_oserror, (errno.ENOMEM,), timeout_s=30.0, memory_bytes=512 * 2**20)
    assert info.value.kind == "memory"


def test_another_oserror_comes_back_as_itself():
    with pytest.raises(FileNotFoundError, match="ENOENT raised on purpose"):
        run_bounded(raise_oserror, (errno.ENOENT,), timeout_s=30.0, memory_bytes=512 * 2**20)
