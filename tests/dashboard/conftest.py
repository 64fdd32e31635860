"""AppTest helpers: run a page of the real app (navigation included) without a browser."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")


@pytest.fixture(autouse=True)
def _heavy_work_inline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Page tests compute on the script thread (``DIFFGEO_WORKERS=0``), where they can count
    and replace the library's calls; the worker pool has its own tests (test_jobs.py,
    test_pool_page.py) and every browser test serves the app with it."""
    monkeypatch.setenv("DIFFGEO_WORKERS", "0")


def run_page(page: str, timeout: float = 120) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=timeout)
    at.run()
    at.switch_page(f"views/{page}.py")
    at.run()
    return at


def problems(at: AppTest) -> list[str]:
    """Exceptions on the page (there must never be one)."""
    return [str(e.value) for e in at.exception]


def errors(at: AppTest) -> list[str]:
    """The texts of the page's ``st.error`` boxes."""
    return [e.value for e in at.error]


def warnings(at: AppTest) -> list[str]:
    """The texts of the page's ``st.warning`` boxes."""
    return [w.value for w in at.warning]


@pytest.fixture()
def geometry_page() -> AppTest:
    return run_page("geometry")
