"""Shared steps for the browser tests: open a page, wait for its charts, check for errors."""

from __future__ import annotations

from pathlib import Path

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ERROR_SELECTORS = ['[data-testid="stException"]', '[data-testid="stAlertContentError"]']


def open_and_settle(page, url: str, *, min_charts: int = 0, timeout: float = 120_000) -> None:
    """Load ``url``, wait until Streamlit stops running and ``min_charts`` Plotly charts drew."""
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout)
    if min_charts:
        page.wait_for_function(
            "n => document.querySelectorAll('.js-plotly-plot .main-svg').length >= n",
            arg=min_charts, timeout=timeout,
        )
    wait_idle(page, timeout)


def wait_idle(page, timeout: float = 120_000) -> None:
    """Wait until the script-running indicator is gone (twice, to ride out a quick rerun)."""
    for _ in range(2):
        page.wait_for_timeout(600)
        page.wait_for_function(
            "() => !document.querySelector('[data-testid=\"stStatusWidget\"] "
            "[data-testid=\"stStatusWidgetRunningIcon\"]')", timeout=timeout,
        )


def error_texts(page) -> list[str]:
    out = []
    for sel in ERROR_SELECTORS:
        out += [el.inner_text() for el in page.query_selector_all(sel)]
    body = page.inner_text("body")
    if "Traceback (most recent call last)" in body:
        out.append("a traceback is visible")
    return out


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
