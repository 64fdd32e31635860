"""Hostile settings on the Riemannian-optimisation page: Karcher aggregation with spread clients.

Karcher's fixed-point iteration does not converge when the clients' points are widely spread
(30 clients, heterogeneity 2, 20 local steps of size 2). Before the fix its unconverged
iterate was used as the server's point anyway: on S² the server left the sphere (‖x‖ = 9.8 in
round 3, f − f* = −103, "below the minimum") and the run still reported status "ok"; on
St(20, 3) each of the 300 rounds ran the iteration to its limit (8 s of CPU per run).
"""

from __future__ import annotations

import numpy as np

from geomcore.riemannian.federated import run
from tests.dashboard.conftest import problems, run_page

HOSTILE = {"n_clients": 30, "heterogeneity": 2.0, "local_steps": 20, "lr": 2.0,
           "aggregation": "karcher", "seed": 0}


def test_a_karcher_mean_that_does_not_converge_stops_the_run():
    h = run("sphere_eigenvector", n=3, rounds=10, **HOSTILE)
    assert h.status == "not_converged"
    assert "Karcher mean" in h.message and "tangent space" in h.message
    norms = np.linalg.norm(h.server.reshape(h.server.shape[0], -1), axis=1)
    np.testing.assert_allclose(norms, 1.0, atol=1e-12)  # every recorded server point is on S²
    assert np.all(h.gap >= -1e-12)  # never "below the minimum"


def test_karcher_aggregation_that_converges_still_runs_every_round():
    h = run("kpca", n=20, p=3, n_clients=10, heterogeneity=1.0, local_steps=5, lr=0.2,
            rounds=20, aggregation="karcher", seed=0)
    assert h.status == "ok" and h.gap.shape == (21,)


def test_page_warns_in_words_and_keeps_working():
    at = run_page("riemannian", timeout=30)
    at.radio(key="riem_view").set_value("federated")
    at.run()
    at.slider(key="riem_fed_clients").set_value(30)
    at.slider(key="riem_fed_het").set_value(2.0)
    at.slider(key="riem_fed_tau").set_value(20)
    at.select_slider(key="riem_fed_lr").set_value(2.0)
    at.slider(key="riem_fed_rounds").set_value(300)
    at.radio(key="riem_fed_agg").set_value("karcher")
    at.run()
    assert not problems(at)
    shown = [w.value for w in at.warning] + [e.value for e in at.error]
    assert any("too spread for a Karcher mean" in m for m in shown), shown
    assert not any("not_converged" in m for m in shown)
    assert any("Explain" in e.label for e in at.expander)


def test_spd_matrices_with_extreme_eigenvalues_are_refused_in_words():
    # Before: accepted, and the Karcher mean came out NaN ("the mean iteration produced NaN")
    # while the rest of the page drew NaN means.
    at = run_page("riemannian", timeout=30)
    at.radio(key="riem_view").set_value("spd")
    at.run()
    at.selectbox(key="riem_spd_kind").set_value("custom")
    at.run()
    at.text_area(key="riem_spd_text").set_value("1e200, 0, 1e-200\n1e-200, 0, 1e200")
    at.run()
    assert not problems(at)
    errors = [e.value for e in at.error]
    assert any("has eigenvalues" in e and "rescale" in e for e in errors), errors
    at.text_area(key="riem_spd_text").set_value("1e-5, 0, 1e5\n2, 0.5, 1")
    at.run()
    assert not problems(at) and not at.error and not at.warning
