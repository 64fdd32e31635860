"""Natural gradient in a real browser: the default experiment trains, every view draws, a view
change is a cache hit (no error, no retraining), a diverging optimizer only warns."""

from __future__ import annotations

import pytest

from tests.e2e.helpers import error_texts, open_and_settle, screenshot, wait_idle

pytestmark = pytest.mark.e2e

VIEWS = {  # the radio label, the screenshot name, a title that only that view draws
    "Trajectories": ("trajectories", "Parameter trajectories on their principal plane"),
    "Fisher spectrum": ("spectrum", "Eigenvalues of the true Fisher"),
    "KL per step": ("kl", "Step sizes measured in predictions"),
    "Fisher ellipses (2 weights)": ("ellipses", "Logistic regression with two weights"),
    "Reparametrisation": ("reparam", "coordinates scaled by c = 10"),
}


def _charts(page, n: int) -> None:
    page.wait_for_function(
        "n => document.querySelectorAll('.js-plotly-plot .main-svg').length >= n", arg=n)


def _choose_view(page, label: str) -> None:
    page.get_by_role("radiogroup", name="View").get_by_text(label, exact=True).click()
    wait_idle(page)


def test_optim_page_trains_and_draws(page, app_url):
    open_and_settle(page, f"{app_url}/optim", min_charts=2)
    body = page.inner_text("body")
    assert "Natural gradient" in body
    assert "Decision boundaries during training" in body
    assert "needed the fewest steps" in body  # the honest trade-off sentence under the table
    assert error_texts(page) == []
    # the animation has a slider and a play button, drawn by Plotly in the browser
    assert page.locator(".js-plotly-plot .slider-container").count() >= 1
    assert page.get_by_text("▶ Replay").count() >= 1
    screenshot(page, "optim-training")  # the 1500×1250 window: curves and boundaries
    # the page scrolls inside Streamlit's own container: a tall window shows the table too
    page.set_viewport_size({"width": 1500, "height": 2200})
    wait_idle(page)
    screenshot(page, "optim-training-full")


@pytest.mark.parametrize("label", list(VIEWS))
def test_optim_views(page, app_url, label):
    name, title = VIEWS[label]
    open_and_settle(page, f"{app_url}/optim", min_charts=2)
    _choose_view(page, label)
    page.get_by_text(title).first.wait_for()  # this view's chart drew ...
    page.wait_for_function(  # ... and the previous view's table is gone
        "() => !document.querySelector('[data-testid=\"stDataFrame\"]')")
    wait_idle(page)
    assert error_texts(page) == []
    assert "Traceback" not in page.inner_text("body")
    screenshot(page, f"optim-{name}")


def test_view_option_is_a_cache_hit(page, app_url):
    open_and_settle(page, f"{app_url}/optim", min_charts=2)
    page.get_by_text("Log-scale loss").click()
    wait_idle(page)
    _charts(page, 2)
    # no progress bar (no retraining) and no CacheReplayClosureError
    assert page.locator('[data-testid="stProgress"]').count() == 0
    assert error_texts(page) == []


_Y_AXIS_TYPES = """() => Array.from(
    document.querySelectorAll('.st-key-optim_curves .js-plotly-plot'),
    el => el.layout.yaxis.type || '')"""


def test_log_scale_toggle_redraws_its_curves_in_place(page, app_url):
    """The toggle and the curves it changes are one fragment, which draws the curves into a
    slot above the animation: after a click the same three charts change scale, none is
    added or lost, and the animation below stays."""
    open_and_settle(page, f"{app_url}/optim", min_charts=2)
    total = page.locator(".js-plotly-plot").count()
    assert page.evaluate(_Y_AXIS_TYPES) == ["log", "log", "linear"]
    page.get_by_text("Log-scale loss").click()
    wait_idle(page)
    page.wait_for_function(f"() => ({_Y_AXIS_TYPES})()[0] === 'linear'")
    assert page.evaluate(_Y_AXIS_TYPES) == ["linear", "linear", "linear"]
    assert page.locator(".js-plotly-plot").count() == total
    assert "Decision boundaries during training" in page.inner_text("body")
    assert error_texts(page) == []


def test_diverging_learning_rate_warns_and_keeps_the_others(page, app_url):
    open_and_settle(page, f"{app_url}/optim", min_charts=2)
    box = page.get_by_label("SGD: learning rate")
    box.fill("500")
    box.press("Enter")
    wait_idle(page)
    page.wait_for_selector('[data-testid="stAlertContentWarning"]')
    _charts(page, 2)
    warnings = " ".join(el.inner_text() for el in
                        page.query_selector_all('[data-testid="stAlertContentWarning"]'))
    assert "SGD diverged" in warnings
    assert error_texts(page) == []
    screenshot(page, "optim-diverged")


def test_three_classes_show_predicted_regions(page, app_url):
    open_and_settle(page, f"{app_url}/optim", min_charts=2)
    page.get_by_role("combobox", name="Task").click()
    page.get_by_role("option", name="three blobs").click()
    wait_idle(page)
    page.get_by_text("predicted class").first.wait_for()
    _charts(page, 2)
    assert error_texts(page) == []
    screenshot(page, "optim-blobs")


ZH_VIEWS = ["spectrum", "kl", "reparam", "curvature", "adam", "ellipses"]


@pytest.mark.parametrize("view", ZH_VIEWS)
def test_optim_views_in_chinese_from_a_link(page, app_url, view):
    """A saved link opens a view in Chinese at 1024×768: its titles, axes and legends are
    Chinese, no text of a chart covers another, nothing fails."""
    from tests.e2e.helpers import check_readable, track_outside

    page.set_viewport_size({"width": 1024, "height": 768})
    outside = track_outside(page)
    open_and_settle(page, f"{app_url}/optim?lang=zh&optim_view={view}&optim_steps=60",
                    min_charts=1)
    assert page.get_by_role("radiogroup", name="视图").count() == 1
    check_readable(page, f"optim-zh-{view}-1024x768", outside, min_width=None)
