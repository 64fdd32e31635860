"""The Natural-gradient page reads on a laptop (1400×1000) and on a projector (1024×768).

Inside every Plotly chart no two visible text boxes (titles, tick labels, legend entries,
slider labels, buttons) overlap; the animation's buttons stay clear of its slider. Screenshots
go to ``test-artifacts/`` to be looked at.
"""

from __future__ import annotations

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


# The Replay/Pause buttons and the slider's rail of each animated chart, as rectangles.
_BUTTONS_AND_SLIDER_JS = """
() => [...document.querySelectorAll('.js-plotly-plot')].flatMap(plot => {
  const menu = plot.querySelector('.updatemenu-container');
  const rail = plot.querySelector('.slider-container .slider-rail-rect');
  if (!menu || !rail) return [];
  const a = menu.getBoundingClientRect(), b = rail.getBoundingClientRect();
  return [[a.left, a.top, a.right, a.bottom, b.left, b.top, b.right, b.bottom]];
})
"""


def _shot(page, name: str) -> None:
    """A screenshot of what the window shows (Streamlit scrolls inside its own container)."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def _chart_count(page) -> int:
    return page.locator(".js-plotly-plot .main-svg").count()


def _overlaps(page) -> list[str]:
    return text_overlaps(page)


def _open(page, app_url: str, size: str) -> None:
    width, height = SIZES[size]
    page.set_viewport_size({"width": width, "height": height})
    open_and_settle(page, f"{app_url}/optim", min_charts=2)


def _scroll_to(page, selector: str) -> None:
    page.locator(selector).first.scroll_into_view_if_needed()
    page.wait_for_timeout(500)


@pytest.mark.parametrize("size", list(SIZES))
def test_training_view_has_no_overlapping_text(page, app_url, size):
    _open(page, app_url, size)
    assert error_texts(page) == []
    _shot(page, f"optim-layout-{size}-training")
    assert _overlaps(page) == []
    _scroll_to(page, '[data-testid="stDataFrame"]')
    _shot(page, f"optim-layout-{size}-table")


@pytest.mark.parametrize("size", list(SIZES))
def test_animation_buttons_clear_of_the_slider(page, app_url, size):
    _open(page, app_url, size)
    page.locator(".js-plotly-plot").last.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    _shot(page, f"optim-layout-{size}-boundaries")
    boxes = page.evaluate(_BUTTONS_AND_SLIDER_JS)
    assert boxes, "the decision-boundary animation has no buttons or slider"
    for al, at, ar, ab, bl, bt, br, bb in boxes:
        apart = ar <= bl or br <= al or ab <= bt or bb <= at
        assert apart, f"buttons {al, at, ar, ab} cover the slider {bl, bt, br, bb}"


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("label", ["Fisher spectrum", "KL per step"])
def test_other_views_have_no_overlapping_text(page, app_url, size, label):
    _open(page, app_url, size)
    page.get_by_role("radiogroup", name="View").get_by_text(label, exact=True).click()
    wait_idle(page)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stDataFrame\"]')")
    wait_idle(page)
    assert _chart_count(page) >= 1
    assert error_texts(page) == []
    slug = label.split()[0].lower()
    _shot(page, f"optim-layout-{size}-{slug}")
    assert _overlaps(page) == []
