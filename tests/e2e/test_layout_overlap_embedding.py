"""The Isomap vs GDE page reads on a laptop (1400×1000) and on a projector (1024×768).

For every view: no error, no two visible text boxes inside a Plotly chart overlap, every chart
is at least 420 px wide (side-by-side panels wrap instead of shrinking), and nothing is
fetched from outside 127.0.0.1. Screenshots of the window and of each chart go to
``test-artifacts/`` to be looked at.
"""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from tests.e2e.helpers import (
    ARTIFACTS,
    SIZES,
    chart_widths,
    error_texts,
    open_and_settle,
    text_overlaps,
    wait_idle,
)

pytestmark = pytest.mark.e2e

VIEWS = ("Embeddings & metrics", "GDE training & collapse", "New points", "Decoder's manifold",
         "Geodesic vs chord", "Short circuits")



def _settle(page) -> None:
    """Wait for the run to end: no progress bar or spinner left, the script idle."""
    wait_idle(page)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stProgress\"], "
        "[data-testid=\"stSpinner\"]')", timeout=300_000)
    wait_idle(page)
    page.wait_for_timeout(1200)  # Plotly lays out after the last rerun


@pytest.mark.parametrize("size", list(SIZES))
def test_every_view_reads_cleanly(page, app_url, size):
    width, height = SIZES[size]
    page.set_viewport_size({"width": width, "height": height})
    page.set_default_timeout(300_000)
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url)
            if urlparse(r.url).hostname not in ("127.0.0.1", None) and
            not r.url.startswith(("data:", "blob:")) else None)
    open_and_settle(page, f"{app_url}/embedding", min_charts=2, timeout=300_000)
    ARTIFACTS.mkdir(exist_ok=True)
    for k, label in enumerate(VIEWS):
        if k:
            page.get_by_role("radiogroup", name="View").get_by_text(label, exact=True).click()
        _settle(page)
        slug = f"embedding-{size}-{k}"
        page.screenshot(path=str(ARTIFACTS / f"{slug}.png"))
        charts = page.locator(".js-plotly-plot").all()
        assert charts, f"{label}: no chart drawn"
        for c, chart in enumerate(charts):
            chart.scroll_into_view_if_needed()
            chart.screenshot(path=str(ARTIFACTS / f"{slug}-chart{c}.png"))
        assert error_texts(page) == [], label
        assert text_overlaps(page) == [], label
        widths = chart_widths(page)
        assert min(widths) >= 420, f"{label}: charts too narrow: {widths}"
    assert outside == [], f"fetched from outside: {outside}"
