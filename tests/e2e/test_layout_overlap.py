"""Issue 7: the Surfaces & geodesics page reads at a projector's 1024×768 and at 1400×1000.

For the default view, transport mode and the Poincaré half-plane, no two visible SVG text boxes
inside one Plotly chart overlap, every chart is wide enough, and nothing is fetched from
outside 127.0.0.1 (fonts, the favicon). Screenshots go to test-artifacts/ for a person to look at.
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
    check_readable(pg, f"layout-{name}-{size}", outside)


def test_default_view(sized_page, app_url):
    pg, size, outside = sized_page
    open_and_settle(pg, f"{app_url}/geometry", min_charts=2)
    _check(pg, size, "geometry-default", outside)


def test_transport_view(sized_page, app_url):
    pg, size, outside = sized_page
    open_and_settle(pg, f"{app_url}/geometry", min_charts=2)
    pg.get_by_role("radiogroup", name="Explore").get_by_text(
        "Parallel transport & holonomy", exact=True).click()
    wait_idle(pg)
    _check(pg, size, "geometry-transport", outside)


def test_poincare_view(sized_page, app_url):
    pg, size, outside = sized_page
    open_and_settle(pg, f"{app_url}/geometry", min_charts=2)
    pg.get_by_text("Statistical manifold", exact=True).click()
    wait_idle(pg)
    pg.wait_for_function("() => document.body.innerText.includes('Poincaré')")
    _check(pg, size, "geometry-poincare", outside)
