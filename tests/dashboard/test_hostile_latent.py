"""Hostile settings on the Latent-geometry page: a geodesic solve that fails, two equal points.

Before the fix a failed solve was reported with its internal status code, e.g. "The geodesic
solve did not finish cleanly (not_converged): …" (seen with the boundary-value method, 64
curve points, on the digits model trained 300 epochs), and the geodesic-length help text
ended "status not_converged".
"""

from __future__ import annotations

import dataclasses

import pytest

import dashboard.cached.latent as cached_latent
from tests.dashboard.conftest import problems, run_page

CODES = ("not_converged", "singular", "failed")


def _texts(at) -> list[str]:
    return ([w.value for w in at.warning] + [e.value for e in at.error]
            + [str(m.proto.help) for m in at.metric])


@pytest.mark.parametrize("status", CODES)
def test_a_failed_solve_is_reported_in_words(monkeypatch, status):
    real = cached_latent.latent_geodesic

    def failing(*args, **kwargs):
        return dataclasses.replace(real(*args, **kwargs), status=status,
                                   message="the solver gave up")

    monkeypatch.setattr(cached_latent, "latent_geodesic", failing)
    cached_latent.paths_for.clear()
    at = run_page("latent", timeout=60)
    assert not problems(at)
    texts = _texts(at)
    assert any("The geodesic solve" in t and "the solver gave up" in t for t in texts), texts
    raw = [f"({status})", f"status {status}", "not_converged"]
    assert not any(r in t for t in texts for r in raw), texts
    assert len(at.get("plotly_chart")) >= 1  # the plane is still drawn
    cached_latent.paths_for.clear()


def test_equal_points_give_a_plain_message():
    at = run_page("latent", timeout=60)
    for key in ("latent_ax", "latent_bx"):
        at.number_input(key=key).set_value(0.0)
    for key in ("latent_ay", "latent_by"):
        at.number_input(key=key).set_value(0.0)
    at.run()
    assert not problems(at)
    assert any("coincide" in e.value for e in at.error)
    assert len(at.get("plotly_chart")) >= 1
