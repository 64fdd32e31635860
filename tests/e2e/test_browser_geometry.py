"""Home and Surfaces & geodesics in a real browser: charts draw, no error shows."""

from __future__ import annotations

import pytest

from tests.e2e.helpers import (
    chart_pixels,
    differing_fraction,
    error_texts,
    open_and_settle,
    screenshot,
    wait_idle,
)

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


def _slider_value(page, label: str) -> str:
    return page.locator(f'[data-testid="stSlider"] input[aria-label="{label}"]').get_attribute(
        "value")


def test_clicking_the_map_moves_the_start_point(page, app_url):
    open_and_settle(page, f"{app_url}/geometry", min_charts=2)
    before = _slider_value(page, "Start point: u")
    chart = page.locator(".js-plotly-plot").nth(1)
    box = chart.locator(".nsewdrag").first.bounding_box()
    # a point about 80 % across and 60 % up the parameter map
    page.mouse.click(box["x"] + 0.8 * box["width"], box["y"] + 0.4 * box["height"])
    wait_idle(page)
    after = _slider_value(page, "Start point: u")
    assert after != before
    assert 4.5 < float(after) < 5.6  # 80 % of the torus's u range [0, 2π]
    assert error_texts(page) == []


def test_statistical_manifold_page(page, app_url):
    open_and_settle(page, f"{app_url}/geometry", min_charts=2)
    page.get_by_text("Statistical manifold", exact=True).click()
    wait_idle(page)
    page.get_by_role("radiogroup", name="Explore").get_by_text("Shortest path",
                                                               exact=True).click()
    wait_idle(page)
    page.wait_for_function(
        "() => document.querySelectorAll('.js-plotly-plot .main-svg').length >= 2")
    assert error_texts(page) == []
    screenshot(page, "geometry-statistical")


def test_invalid_formula_shows_a_message_not_a_traceback(page, app_url):
    open_and_settle(page, f"{app_url}/geometry", min_charts=2)
    page.get_by_text("Custom surface", exact=True).click()
    wait_idle(page)
    box = page.get_by_label("z(u, v)")
    box.fill("sin(u) + __import__('os')")
    box.press("Enter")
    page.wait_for_selector('[data-testid="stAlertContentError"]', timeout=90_000)
    wait_idle(page)
    errors = error_texts(page)
    assert any("Could not compute this surface" in e for e in errors)
    assert "Traceback" not in page.inner_text("body")
    screenshot(page, "geometry-invalid-formula")


def test_a_saved_geometry_link_reopens_the_same_loop(browser, app_url):
    """Sphere, parallel transport: the address bar after these choices, opened in a fresh
    browser, shows the same widgets and the same parameter map (up to anti-aliasing)."""

    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, device_scale_factor=1)
    pg = ctx.new_page()
    try:
        open_and_settle(pg, f"{app_url}/geometry?lang=en", min_charts=2)
        pg.get_by_role("combobox", name="Surface").click()
        pg.keyboard.type("Sphere")
        pg.keyboard.press("Enter")
        wait_idle(pg)
        pg.get_by_role("radiogroup", name="Explore").get_by_text(
            "Parallel transport & holonomy", exact=True).click()
        wait_idle(pg)
        link = pg.url
        assert "geo_surface=sphere" in link and "geo_mode=transport" in link
        before = chart_pixels(pg, 1)  # the parameter map: 2-D
        holonomy = pg.locator("[data-testid='stMetricValue']").first.inner_text()
    finally:
        ctx.close()
    fresh = browser.new_context(viewport={"width": 1400, "height": 1000}, device_scale_factor=1)
    pg = fresh.new_page()
    try:
        open_and_settle(pg, link, min_charts=2)
        assert pg.locator("[data-testid='stAlertContentInfo']").count() == 0  # nothing refused
        assert pg.locator("[data-testid='stMetricValue']").first.inner_text() == holonomy
        after = chart_pixels(pg, 1)  # the parameter map: 2-D
        assert error_texts(pg) == []
        screenshot(pg, "geometry-link-reopened")
    finally:
        fresh.close()
    assert differing_fraction(before, after) < 0.002


def test_holonomy_lesson_in_chinese(page, app_url):
    open_and_settle(page, f"{app_url}/geometry?lang=zh&lesson=holonomy", min_charts=2)
    body = page.inner_text("body")
    assert "和乐等于所围的曲率" in body and "和乐角" in body
    assert "⟦" not in body
    assert error_texts(page) == []
    screenshot(page, "geometry-lesson-holonomy-zh")
