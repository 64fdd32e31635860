"""Shared steps for the browser tests: open a page, wait for its charts, check for errors."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
from PIL import Image

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# The two screens every page must read on: a laptop and a 1024×768 projector.
SIZES = {"1400x1000": (1400, 1000), "1024x768": (1024, 768)}

# Visible, non-empty <text> boxes of each Plotly chart, and the pairs whose boxes intersect by
# more than a pixel each way (anti-aliasing lets neighbours touch). Plotly keeps hidden texts in
# the DOM with display:none / zero size, so those are skipped.
_OVERLAPS_JS = """
() => {
  const out = [];
  const visible = el => {
    const r = el.getBoundingClientRect();
    if (r.width < 1 || r.height < 1 || !el.textContent.trim()) return null;
    for (let e = el; e && e.nodeType === 1; e = e.parentElement) {
      const s = getComputedStyle(e);
      if (s.display === 'none' || s.visibility === 'hidden' || parseFloat(s.opacity) === 0)
        return null;
    }
    return r;
  };
  document.querySelectorAll('.js-plotly-plot').forEach((plot, p) => {
    const boxes = [];
    plot.querySelectorAll('svg text').forEach(el => {
      const r = visible(el);
      if (r) boxes.push({t: el.textContent.trim(), r});
    });
    for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i].r, b = boxes[j].r;
      const dx = Math.min(a.right, b.right) - Math.max(a.left, b.left);
      const dy = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
      if (dx > 1 && dy > 1) out.push(`chart ${p}: "${boxes[i].t}" overlaps "${boxes[j].t}"`);
    }
  });
  return out;
}
"""

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
    """Wait until the script-running indicator, every spinner and every progress bar are gone
    (twice, to ride out a quick rerun): a computation waiting for a worker process shows its
    spinner or bar while the status widget may already look idle."""
    for _ in range(2):
        page.wait_for_timeout(600)
        page.wait_for_function(
            "() => !document.querySelector('[data-testid=\"stStatusWidget\"] "
            "[data-testid=\"stStatusWidgetRunningIcon\"], [data-testid=\"stSpinner\"], "
            "[data-testid=\"stProgress\"]')", timeout=timeout,
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


def text_overlaps(page) -> list[str]:
    """``chart k: "a" overlaps "b"`` for every pair of visible SVG texts of a chart whose boxes
    intersect (empty when every chart reads cleanly)."""
    return page.evaluate(_OVERLAPS_JS)


_WIDTHS_JS = """
() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(
  p => p.getBoundingClientRect().width)
"""


def chart_widths(page) -> list[float]:
    """Widths in CSS pixels of every Plotly chart on the page."""
    return page.evaluate(_WIDTHS_JS)


def track_outside(page) -> list[str]:
    """The list (filled as the page runs) of requests to anywhere but 127.0.0.1."""
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url)
            if urlparse(r.url).hostname not in ("127.0.0.1", None) and
            not r.url.startswith(("data:", "blob:")) else None)
    return outside


def check_readable(page, name: str, outside: list[str], *, min_width: float | None = 420,
                   min_charts: int = 1) -> Path:
    """Screenshot the window and each chart as ``test-artifacts/<name>[-chartK].png``, then
    assert: no error or traceback on the page, no two text boxes of a chart overlap, at least
    ``min_charts`` charts each at least ``min_width`` px wide, nothing fetched from outside."""
    page.wait_for_timeout(1500)  # let Plotly finish laying out after the last rerun
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    for k, chart in enumerate(page.locator(".js-plotly-plot").all()):
        chart.scroll_into_view_if_needed()
        chart.screenshot(path=str(path.with_name(f"{path.stem}-chart{k}.png")))
    assert error_texts(page) == [], path
    overlaps = text_overlaps(page)
    assert overlaps == [], f"{overlaps} (see {path})"
    widths = chart_widths(page)
    assert len(widths) >= min_charts, f"{len(widths)} charts, expected {min_charts} ({path})"
    if min_width is not None:
        assert min(widths) >= min_width, f"charts too narrow: {widths} (see {path})"
    assert outside == [], f"fetched from outside: {outside}"
    return path


def chart_pixels(page, index: int = 0) -> np.ndarray:
    """The ``index``-th Plotly chart of the page as a grey-level image (after its relayout)."""
    for attempt in range(3):
        chart = page.locator(".js-plotly-plot").nth(index)
        try:
            chart.scroll_into_view_if_needed()
            page.wait_for_timeout(1200)  # Plotly's last relayout
            return np.asarray(Image.open(BytesIO(chart.screenshot())).convert("L"), dtype=float)
        except Exception:  # noqa: BLE001 - a late rerun replaced the chart: wait, find it again
            if attempt == 2:
                raise
            wait_idle(page)
    raise AssertionError("unreachable")


def differing_fraction(before: np.ndarray, after: np.ndarray) -> float:
    """The share of pixels of two same-sized images that differ by more than anti-aliasing."""
    assert before.shape == after.shape, (before.shape, after.shape)
    return float((np.abs(before - after) > 40).mean())
