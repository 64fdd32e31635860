"""The Ricci-curvature page reads on a laptop (1400×1000) and on a projector (1024×768).

For each source and view: no error on the page, no two visible text boxes inside one Plotly
chart overlap, charts are wide enough, and nothing is fetched from outside 127.0.0.1.
Screenshots go to ``test-artifacts/`` to be looked at.
"""

from __future__ import annotations

import pytest

from tests.e2e.helpers import (
    check_readable,
    open_and_settle,
    wait_idle,
)

pytestmark = pytest.mark.e2e


def _check(pg, size: str, name: str, outside: list[str]) -> None:
    check_readable(pg, f"curvature-layout-{size}-{name}", outside)


# Settled: no progress bar (a computation still running) and no stale element left from the
# previous run (Streamlit marks those data-stale="true" until the new run replaces them).
_SETTLED_JS = """
() => !document.querySelector('[data-testid="stProgress"]')
  && !document.querySelector('[data-stale="true"]')
  && document.querySelectorAll('.js-plotly-plot .main-svg').length >= 1
"""


def _settle(pg) -> None:
    for _ in range(2):  # twice, to ride out a rerun that starts just after the first check
        wait_idle(pg, 180_000)
        pg.wait_for_function(_SETTLED_JS, timeout=180_000)
        pg.wait_for_timeout(800)


def _choose(pg, group: str, label: str) -> None:
    pg.get_by_role("radiogroup", name=group).get_by_text(label, exact=True).click()
    _settle(pg)


def test_surface_views(sized_page, app_url):
    pg, size, outside = sized_page
    open_and_settle(pg, f"{app_url}/curvature", min_charts=1, timeout=180_000)
    _settle(pg)
    _check(pg, size, "surface-graph", outside)
    _choose(pg, "View", "Curvature vs true K")
    _check(pg, size, "surface-scatter", outside)
    _choose(pg, "View", "Histogram")
    _check(pg, size, "surface-histogram", outside)


def test_embedding_and_network_views(sized_page, app_url):
    pg, size, outside = sized_page
    open_and_settle(pg, f"{app_url}/curvature", min_charts=1, timeout=180_000)
    _settle(pg)
    _choose(pg, "Source", "Dataset and its embeddings")
    _check(pg, size, "embedding-graph", outside)
    _choose(pg, "View", "Histograms")
    _check(pg, size, "embedding-histogram", outside)
    _choose(pg, "Source", "Layers of a network")
    _check(pg, size, "network-layers", outside)
    _choose(pg, "View", "3-D layer")
    _check(pg, size, "network-graph", outside)
