"""The Natural-gradient page's "Hessian vs Fisher" and "Adam as diagonal Fisher" views in a real
browser at 1400×1000 and 1024×768: they draw, show no error, and no two text boxes of a chart
overlap. Screenshots of the window and of each chart go to ``test-artifacts/``."""

from __future__ import annotations

import pytest

from tests.e2e.helpers import ARTIFACTS, error_texts, open_and_settle, wait_idle

pytestmark = pytest.mark.e2e

SIZES = {"1400x1000": (1400, 1000), "1024x768": (1024, 768)}
# label: (file slug, charts drawn, the start of the first chart's title)
VIEWS = {"Hessian vs Fisher": ("curvature", 1, "Curvature of the loss"),
         "Adam as diagonal Fisher": ("adam", 2, "Adam's second moment")}

# The same check as tests/e2e/test_layout_overlap_optim.py: visible, non-empty SVG <text>
# boxes of each chart that intersect by more than a pixel each way.
OVERLAPS_JS = """
() => {
  const out = [];
  const visible = el => {
    const r = el.getBoundingClientRect();
    if (r.width < 1 || r.height < 1 || !el.textContent.trim()) return null;
    for (let e = el; e && e.nodeType === 1; e = e.parentElement) {
      const s = getComputedStyle(e);
      if (s.display === 'none' || s.visibility === 'hidden' || parseFloat(s.opacity) === 0)
        return null;
    }
    return r;
  };
  document.querySelectorAll('.js-plotly-plot').forEach((plot, p) => {
    const boxes = [];
    plot.querySelectorAll('svg text').forEach(el => {
      const r = visible(el);
      if (r) boxes.push({t: el.textContent.trim(), r});
    });
    for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i].r, b = boxes[j].r;
      const dx = Math.min(a.right, b.right) - Math.max(a.left, b.left);
      const dy = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
      if (dx > 1 && dy > 1) out.push(`chart ${p}: "${boxes[i].t}" overlaps "${boxes[j].t}"`);
    }
  });
  return out;
}
"""


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
    assert page.evaluate(OVERLAPS_JS) == []
