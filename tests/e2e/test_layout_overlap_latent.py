"""The Latent-geometry page reads on a laptop (1400×1000) and on a projector (1024×768).

Inside every Plotly chart no two visible text boxes overlap; no request leaves 127.0.0.1;
clicking the latent plane moves the chosen point. Screenshots (the window and each chart) go
to ``test-artifacts/`` to be looked at.
"""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from tests.e2e.helpers import (
    ARTIFACTS,
    SIZES,
    error_texts,
    open_and_settle,
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
    pg.set_default_timeout(240_000)
    outside: list[str] = []
    pg.on("request", lambda r: outside.append(r.url)
          if urlparse(r.url).hostname not in ("127.0.0.1", None) and
          not r.url.startswith(("data:", "blob:")) else None)
    yield pg, request.param, outside
    context.close()


def _check(pg, name: str, outside: list[str]) -> None:
    pg.wait_for_timeout(1500)  # let Plotly finish laying out after the last rerun
    ARTIFACTS.mkdir(exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / f"{name}.png"))
    for k, chart in enumerate(pg.locator(".js-plotly-plot").all()):
        chart.scroll_into_view_if_needed()
        chart.screenshot(path=str(ARTIFACTS / f"{name}-chart{k}.png"))
    assert error_texts(pg) == []
    assert text_overlaps(pg) == []
    assert outside == [], f"fetched from outside: {outside}"


def test_default_digits_page(sized_page, app_url):
    pg, size, outside = sized_page
    open_and_settle(pg, f"{app_url}/latent", min_charts=2, timeout=240_000)
    _check(pg, f"latent-layout-{size}-digits", outside)


def test_ellipses_and_a_three_d_dataset(sized_page, app_url):
    pg, size, outside = sized_page
    open_and_settle(pg, f"{app_url}/latent", min_charts=2, timeout=240_000)
    pg.get_by_text("Show metric unit circles", exact=True).click()
    wait_idle(pg, 240_000)
    _check(pg, f"latent-layout-{size}-ellipses", outside)
    pg.get_by_role("combobox", name="Dataset").click()  # a searchable list: type, then Enter
    pg.keyboard.type("swiss")
    pg.keyboard.press("Enter")
    wait_idle(pg, 240_000)
    pg.wait_for_function(
        "() => document.querySelectorAll('.js-plotly-plot .main-svg').length >= 2")
    _check(pg, f"latent-layout-{size}-swiss-roll", outside)


def test_clicking_the_plane_moves_the_start_point(page, app_url):
    pg = page
    pg.set_default_timeout(240_000)
    open_and_settle(pg, f"{app_url}/latent", min_charts=2, timeout=240_000)
    field = pg.get_by_label("start z₁")
    before = float(field.input_value())
    plane = pg.locator(".js-plotly-plot").first
    box = plane.locator(".nsewdrag").first.bounding_box()
    pg.mouse.click(box["x"] + 0.15 * box["width"], box["y"] + 0.5 * box["height"])
    wait_idle(pg, 240_000)
    after = float(field.input_value())
    assert after != before
    assert error_texts(pg) == []
