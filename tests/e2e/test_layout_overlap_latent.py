"""The Latent-geometry page reads on a laptop (1400×1000) and on a projector (1024×768).

Inside every Plotly chart no two visible text boxes overlap; no request leaves 127.0.0.1;
clicking the latent plane moves the chosen point. Screenshots (the window and each chart) go
to ``test-artifacts/`` to be looked at.
"""

from __future__ import annotations

import pytest

from tests.e2e.helpers import (
    check_readable,
    error_texts,
    open_and_settle,
    wait_idle,
)

pytestmark = pytest.mark.e2e


def _check(pg, name: str, outside: list[str]) -> None:
    check_readable(pg, name, outside, min_width=None)


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
    # The rerun may start after wait_idle's first look (a busy server): wait for the 3-D
    # surface itself, which replaces the digits' image strips, then for the page to settle.
    pg.wait_for_function("() => document.querySelector('.js-plotly-plot .gl-container')",
                         timeout=240_000)
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
