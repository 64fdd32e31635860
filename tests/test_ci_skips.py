"""The suite-wide hook of tests/conftest.py: under CI a missing reference library fails the test
(function- or module-level importorskip); other skips stay skips; locally all are skips."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

_TESTS = '''
import pytest

def test_missing_reference():
    pytest.importorskip("no_such_reference_module_xyz")

@pytest.mark.skipif(True, reason="needs CUDA")
def test_needs_cuda():
    pass

def test_not_applicable():
    pytest.skip("not applicable here")
'''
_MODULE_SKIP = '''
import pytest
pytest.importorskip("no_such_reference_module_xyz")

def test_anything():
    pass
'''


def _run(tmp_path: Path, ci: bool, name: str, body: str) -> str:
    shutil.copy(Path(__file__).parent / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / name).write_text(body)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci:
        env["CI"] = "true"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", "-p", "no:cacheprovider",
         "-p", "no:randomly", name],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )
    return proc.stdout.strip().splitlines()[-1]


def test_ci_turns_missing_reference_into_failure(tmp_path: Path) -> None:
    assert _run(tmp_path, True, "test_refs.py", _TESTS).startswith("1 failed, 2 skipped")


def test_locally_missing_reference_is_a_skip(tmp_path: Path) -> None:
    assert _run(tmp_path, False, "test_refs.py", _TESTS).startswith("3 skipped")


@pytest.mark.parametrize(("ci", "expected"), [(True, "1 error"), (False, "1 skipped")])
def test_module_level_importorskip(tmp_path: Path, ci: bool, expected: str) -> None:
    assert _run(tmp_path, ci, "test_module.py", _MODULE_SKIP).startswith(expected)
