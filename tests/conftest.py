"""Suite-wide hooks. Under CI (``CI`` set), a test skipped because a reference library is
missing fails instead: the reference comparisons (BackPACK, nngeometry, geomstats,
GeographicLib) are the `test` extra that ``make test`` installs, so a skip there means the
install step is broken, not that the comparison does not apply. Other skips (no CUDA, ...)
stay skips. The browser tests do the same for chromium (``tests/e2e/conftest.py``)."""

from __future__ import annotations

import os
from collections.abc import Generator
from typing import Any

import pytest

# The message pytest.importorskip gives its Skipped exception.
_MISSING_MODULE = "could not import"


def _strict() -> bool:
    return bool(os.environ.get("CI"))


def _missing_reference(message: str) -> bool:
    return _MISSING_MODULE in message


def _failure_text(message: str) -> str:
    return (f"{message.strip()}\nUnder CI a missing reference library fails the test: "
            "`make install` installs the `test` extra and the --no-deps packages (Makefile).")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]
                              ) -> Generator[None, Any, pytest.TestReport]:
    report: pytest.TestReport = yield
    if (_strict() and report.skipped and call.excinfo is not None
            and call.excinfo.errisinstance(pytest.skip.Exception)
            and _missing_reference(str(call.excinfo.value))):
        report.outcome = "failed"
        report.longrepr = _failure_text(str(call.excinfo.value))
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector
                               ) -> Generator[None, Any, pytest.CollectReport]:
    # A module-level importorskip skips the whole module at collection time.
    report: pytest.CollectReport = yield
    if _strict() and report.skipped and isinstance(report.longrepr, tuple):
        message = str(report.longrepr[2])
        if _missing_reference(message):
            report.outcome = "failed"
            report.longrepr = _failure_text(message)
    return report
