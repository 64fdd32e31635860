"""Home and Surfaces & geodesics in a real browser: charts draw, no error shows."""

from __future__ import annotations

import pytest

from tests.e2e.helpers import error_texts, open_and_settle, screenshot, wait_idle

pytestmark = pytest.mark.e2e


def test_home_page_lists_the_labs(page, app_url):
    open_and_settle(page, app_url)
    body = page.inner_text("body")
    assert "DiffGeo Lab" in body
    assert "Surfaces & geodesics" in body
    assert error_texts(page) == []
    screenshot(page, "home")


def test_geometry_page_draws_surface_and_map(page, app_url):
    open_and_settle(page, f"{app_url}/geometry", min_charts=2)
    assert page.locator(".js-plotly-plot").count() >= 2
    assert "Gaussian curvature" in page.inner_text("body")
    assert error_texts(page) == []
    screenshot(page, "geometry-geodesic")


@pytest.mark.parametrize("mode", ["Spray & geodesic circles", "Shortest path",
                                  "Parallel transport & holonomy"])
def test_geometry_modes(page, app_url, mode):
    open_and_settle(page, f"{app_url}/geometry", min_charts=2)
    page.get_by_role("radiogroup", name="Explore").get_by_text(mode, exact=True).click()
    wait_idle(page)
    page.wait_for_function(
        "() => document.querySelectorAll('.js-plotly-plot .main-svg').length >= 2")
    assert error_texts(page) == []
    screenshot(page, "geometry-" + mode.split()[0].lower())
