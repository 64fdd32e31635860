"""Issue 7: the Surfaces & geodesics page reads at a projector's 1024×768 and at 1400×1000.

For the default view, transport mode and the Poincaré half-plane, no two visible SVG text boxes
inside one Plotly chart overlap, every chart is wide enough, and nothing is fetched from
outside 127.0.0.1 (fonts, the favicon). Screenshots go to test-artifacts/ for a person to look at.
"""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from tests.e2e.helpers import (
    SIZES,
    chart_widths,
    error_texts,
    open_and_settle,
    screenshot,
    text_overlaps,
    wait_idle,
)

pytestmark = pytest.mark.e2e




@pytest.fixture(params=list(SIZES))
def sized_page(request, browser):
    width, height = SIZES[request.param]
    context = browser.new_context(viewport={"width": width, "height": height},
                                  device_scale_factor=1)
    pg = context.new_page()
    pg.set_default_timeout(120_000)
    outside: list[str] = []
    pg.on("request", lambda r: outside.append(r.url)
          if urlparse(r.url).hostname not in ("127.0.0.1", None) and
          not r.url.startswith(("data:", "blob:")) else None)
    yield pg, request.param, outside
    context.close()


def _check(pg, size: str, name: str, outside: list[str]) -> None:
    pg.wait_for_timeout(1500)  # let Plotly finish laying out after the last rerun
    path = screenshot(pg, f"layout-{name}-{size}")
    for k, chart in enumerate(pg.locator(".js-plotly-plot").all()):
        chart.scroll_into_view_if_needed()
        chart.screenshot(path=str(path.with_name(f"{path.stem}-chart{k}.png")))
    assert error_texts(pg) == [], path
    overlaps = text_overlaps(pg)
    assert overlaps == [], f"{overlaps} (see {path})"
    widths = chart_widths(pg)
    assert widths and min(widths) >= 420, f"charts too narrow: {widths} (see {path})"
    assert outside == [], f"fetched from outside: {outside}"


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
