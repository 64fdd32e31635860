"""The Dual-geometry page reads on a laptop (1400×1000) and on a projector (1024×768).

For each of the four views: no error on the page, no two visible text boxes inside one Plotly
chart overlap (tick labels of the barycentric axes, vertex numbers, legends, titles), every
chart is wide enough, and nothing is fetched from outside 127.0.0.1. Screenshots of the window
and of each chart go to ``test-artifacts/`` to be looked at.
"""

from __future__ import annotations

import pytest

from tests.e2e.helpers import (
    check_readable,
    open_and_settle,
    wait_idle,
)

pytestmark = pytest.mark.e2e

VIEWS = {  # radio label -> (screenshot name, a chart title only that view draws, charts)
    "Optimisers on the simplex": ("optimisers", "Optimisers on the simplex over", 2),
    "Geodesics": ("geodesics", "Geodesics between normal distributions", 2),
    "Pythagorean triangle": ("pythagoras", "Pythagoras: KL", 1),
    "EM as projections": ("em", "The mixture after EM step", 2),
}


@pytest.mark.parametrize("label", list(VIEWS))
def test_view_reads_cleanly(sized_page, app_url, label):
    pg, size, outside = sized_page
    name, title, n_charts = VIEWS[label]
    open_and_settle(pg, f"{app_url}/duality", min_charts=2)
    if label != "Optimisers on the simplex":
        pg.get_by_role("radiogroup", name="View").get_by_text(label, exact=True).click()
        wait_idle(pg)
    pg.get_by_text(title).first.wait_for()
    pg.wait_for_function(
        "n => document.querySelectorAll('.js-plotly-plot .main-svg').length >= n",
        arg=n_charts)
    wait_idle(pg)
    check_readable(pg, f"duality-{name}-{size}", outside, min_charts=n_charts)
    assert "Traceback" not in pg.inner_text("body")


def test_eg_and_ngd_coincide_on_the_default_page(sized_page, app_url):
    pg, size, _ = sized_page
    open_and_settle(pg, f"{app_url}/duality", min_charts=2)
    body = pg.inner_text("body")
    assert "EG vs NGD in θ" in body and "take the same steps" in body
    assert "dual network" in body  # the expander's title
