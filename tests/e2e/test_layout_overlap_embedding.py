"""The Isomap vs GDE page reads on a laptop (1400×1000) and on a projector (1024×768).

For every view: no error, no two visible text boxes inside a Plotly chart overlap, every chart
is at least 420 px wide (side-by-side panels wrap instead of shrinking), and nothing is
fetched from outside 127.0.0.1. Screenshots of the window and of each chart go to
``test-artifacts/`` to be looked at.
"""

from __future__ import annotations

import pytest

from tests.e2e.helpers import check_readable, open_and_settle, wait_idle

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


def test_every_view_reads_cleanly(sized_page, app_url):
    page, size, outside = sized_page
    open_and_settle(page, f"{app_url}/embedding", min_charts=2, timeout=300_000)
    for k, label in enumerate(VIEWS):
        if k:
            page.get_by_role("radiogroup", name="View").get_by_text(label, exact=True).click()
        _settle(page)
        check_readable(page, f"embedding-{size}-{k}", outside)
