"""The Natural-gradient page's "Hessian vs Fisher" and "Adam as diagonal Fisher" views in a real
browser at 1400×1000 and 1024×768: they draw, show no error, and no two text boxes of a chart
overlap. Screenshots of the window and of each chart go to ``test-artifacts/``."""

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

# label: (file slug, charts drawn, the start of the first chart's title)
VIEWS = {"Hessian vs Fisher": ("curvature", 1, "Curvature of the loss"),
         "Adam as diagonal Fisher": ("adam", 2, "Adam's second moment")}



@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("label", list(VIEWS))
def test_curvature_views_draw_without_overlapping_text(page, app_url, size, label):
    slug, n_charts, title = VIEWS[label]
    width, height = SIZES[size]
    page.set_viewport_size({"width": width, "height": height})
    open_and_settle(page, f"{app_url}/optim", min_charts=2)
    page.get_by_role("radiogroup", name="View").get_by_text(label, exact=True).click()
    wait_idle(page)
    # the view's own chart, not the faded one of the previous view while the page reruns
    page.wait_for_function(
        "t => [...document.querySelectorAll('.js-plotly-plot .gtitle')]"
        ".some(e => e.textContent.startsWith(t))", arg=title, timeout=120_000)
    wait_idle(page)
    charts = page.locator(".js-plotly-plot")
    assert charts.count() == n_charts
    assert error_texts(page) == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"optim-{slug}-{size}.png"))
    for i in range(n_charts):
        charts.nth(i).scroll_into_view_if_needed()
        page.wait_for_timeout(300)
        charts.nth(i).screenshot(path=str(ARTIFACTS / f"optim-{slug}-{size}-chart{i}.png"))
    assert text_overlaps(page) == []
