"""Hostile settings on the Dual-geometry page: α-geodesics between far-apart normals.

Before the fix, normals N(−3, 0.1²) and N(3, 0.1²) with α = −1 gave "the α-geodesic (α = -1)
solve failed: theta_2 must be < 0 (it is −1/(2σ²)); got np.float64(2.657…)": the m-geodesic,
which has a closed form (straight in η), went through the boundary-value solver and that
left the parameter domain; and the message showed the solver's internals.
"""

from __future__ import annotations

import numpy as np
import pytest

from geomcore.duality import Gaussian1D
from tests.dashboard.conftest import problems, run_page

P, Q = (-3.0, 0.1), (3.0, 0.1)


@pytest.mark.parametrize(("alpha", "kind"), [(-1.0, "m"), (0.0, "fisher_rao"), (1.0, "e")])
def test_the_closed_form_alphas_are_their_closed_forms(alpha, kind):
    fam = Gaussian1D()
    curve = fam.geodesic(P, Q, alpha=alpha, n_points=21)
    assert curve.status == "ok", curve.message
    assert curve.kind == "alpha" and curve.alpha == alpha
    np.testing.assert_allclose(curve.points, fam.geodesic(P, Q, kind, n_points=21).points,
                               rtol=0, atol=1e-12)


def _set(at, alpha: float):
    at.radio(key="dual_view").set_value("geodesics")
    at.run()
    for key, value in (("dual_gp_mu", P[0]), ("dual_gp_sigma", P[1]), ("dual_gq_mu", Q[0]),
                       ("dual_gq_sigma", Q[1]), ("dual_alpha", alpha)):
        at.slider(key=key).set_value(value)
    at.run()
    return at


def test_page_draws_the_m_geodesic_of_far_apart_normals():
    at = _set(run_page("duality", timeout=30), -1.0)
    assert not problems(at)
    assert not at.warning and not at.error, [w.value for w in at.warning]


def test_an_unsolvable_alpha_geodesic_is_reported_in_words():
    at = _set(run_page("duality", timeout=30), -0.5)
    assert not problems(at)
    shown = [w.value for w in at.warning] + [e.value for e in at.error]
    assert any("could not be solved between these two points" in m for m in shown), shown
    assert not any("theta" in m or "np.float64" in m or "Error" in m for m in shown), shown
    assert len(at.get("plotly_chart")) >= 2  # both pictures still drawn
