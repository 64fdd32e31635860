"""The Riemannian-optimisation page reads on a laptop (1400×1000) and on a projector
(1024×768): every view draws its charts with no error, no two visible text boxes of a chart
overlap, and the tree animation's buttons stay clear of its slider. Screenshots go to
``test-artifacts/`` to be looked at."""

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

VIEWS = {"Sphere": 2, "SPD(2) cone": 1, "Poincaré disk": 1, "Stiefel / PCA": 1, "Federated": 2}

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
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def _charts(page) -> int:
    return page.locator(".js-plotly-plot .main-svg").count()


def _open_view(page, app_url: str, size: str, label: str) -> None:
    width, height = SIZES[size]
    page.set_viewport_size({"width": width, "height": height})
    open_and_settle(page, f"{app_url}/riemannian", min_charts=1)
    if label != "Sphere":
        page.get_by_role("radiogroup", name="View").get_by_text(label, exact=True).click()
        wait_idle(page)
    page.wait_for_function(
        "n => document.querySelectorAll('.js-plotly-plot .main-svg').length >= n",
        arg=VIEWS[label], timeout=120_000)
    wait_idle(page)


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("label", list(VIEWS))
def test_view_has_no_overlapping_text(page, app_url, size, label):
    _open_view(page, app_url, size, label)
    assert error_texts(page) == []
    assert _charts(page) >= VIEWS[label]
    slug = label.split()[0].lower().replace("(2)", "").replace("é", "e")
    _shot(page, f"riemannian-layout-{size}-{slug}")
    assert text_overlaps(page) == []
    page.locator(".js-plotly-plot").last.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    _shot(page, f"riemannian-layout-{size}-{slug}-lower")


@pytest.mark.parametrize("size", list(SIZES))
def test_tree_animation_buttons_clear_of_the_slider(page, app_url, size):
    _open_view(page, app_url, size, "Poincaré disk")
    boxes = page.evaluate(_BUTTONS_AND_SLIDER_JS)
    assert boxes, "the tree animation has no buttons or slider"
    for al, at, ar, ab, bl, bt, br, bb in boxes:
        apart = ar <= bl or br <= al or ab <= bt or bb <= at
        assert apart, f"buttons {al, at, ar, ab} cover the slider {bl, bt, br, bb}"


CHINESE_TEXT = {"sphere": "球面上的 Rayleigh 商", "spd": "SPD(2) 即开锥",
                "poincare": "Poincaré 圆盘", "stiefel": "Brockett 损失", "federated": "联邦 PCA"}
"""A text of each view's first figure in Chinese."""
LABELS = {"sphere": "Sphere", "spd": "SPD(2) cone", "poincare": "Poincaré disk",
          "stiefel": "Stiefel / PCA", "federated": "Federated"}


@pytest.mark.parametrize("view", list(CHINESE_TEXT))
def test_view_in_chinese_from_a_link(page, app_url, view):
    """Each view opened from a link in Chinese at 1024×768: its figures drawn in Chinese with
    no overlapping text."""
    page.set_viewport_size({"width": 1024, "height": 768})
    n = VIEWS[LABELS[view]]
    open_and_settle(page, f"{app_url}/riemannian?lang=zh&riem_view={view}", min_charts=n)
    wait_idle(page)
    assert error_texts(page) == []
    titles = page.locator(".js-plotly-plot .gtitle, .js-plotly-plot .annotation-text")
    assert any(CHINESE_TEXT[view] in text for text in titles.all_text_contents())
    _shot(page, f"riemannian-zh-1024x768-{view}")
    assert text_overlaps(page) == []
    page.locator(".js-plotly-plot").last.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    _shot(page, f"riemannian-zh-1024x768-{view}-lower")
