"""The Ricci-curvature page under streamlit's AppTest: every source and view, unusual
settings, and the plain messages for k ≥ n, a disconnected graph and a Sinkhorn that does
not converge; never an exception, and a view change never recomputes."""

from __future__ import annotations

import pytest

import geomcore.curvature.points
from tests.dashboard.conftest import errors, problems, run_page, warnings


def _small(at, n: int = 200, k: int | None = None):
    """Fewer points: the settings tests check the page, not the estimator."""
    source = at.radio(key="curv_source").value
    at.slider(key=f"curv_n_{source}").set_value(n)
    if k is not None:
        at.slider(key=f"curv_k_{source}").set_value(k)
    at.run()
    return at


@pytest.fixture()
def curvature_page():
    return run_page("curvature")


def test_default_page(curvature_page):
    at = curvature_page
    assert not problems(at)
    assert not errors(at) and not warnings(at)
    assert at.title[0].value == "Ricci curvature"
    assert len(at.get("plotly_chart")) == 1
    labels = [m.label for m in at.metric]
    assert "mean edge κ" in labels and "median edge length h" in labels
    assert any("Explain" in e.label for e in at.expander)


@pytest.mark.parametrize("view", ["scatter", "histogram"])
def test_surface_views(curvature_page, view):
    at = _small(curvature_page, 400)
    at.radio(key="curv_view_surface").set_value(view)
    at.run()
    assert not problems(at) and not errors(at), errors(at)
    assert len(at.get("plotly_chart")) == 1
    if view == "scatter":
        assert any(m.label == "predicted slope (1−α)ε²/8" for m in at.metric)
        assert any("Correlation of node curvature with K" in c.value for c in at.caption)


def test_sphere_is_checked_against_the_flat_torus(curvature_page):
    at = _small(curvature_page, 300, 20)
    at.selectbox(key="curv_surface").set_value("sphere")
    at.radio(key="curv_view_surface").set_value("scatter")
    at.run()
    assert not problems(at) and not errors(at), errors(at)
    assert any("flat torus of the same area" in c.value for c in at.caption)


@pytest.mark.parametrize("method", ["sinkhorn", "forman", "forman_augmented"])
def test_other_methods(curvature_page, method):
    at = _small(curvature_page, 300, 12)
    at.selectbox(key="curv_method").set_value(method)
    at.radio(key="curv_mass").set_value("gaussian")
    at.run()
    assert not problems(at) and not errors(at) and not warnings(at)


def test_embedding_source(curvature_page):
    at = curvature_page
    at.radio(key="curv_source").set_value("embedding")
    at.run()
    _small(at, 200, 10)
    assert not problems(at) and not errors(at), errors(at)
    at.radio(key="curv_view_embedding").set_value("histogram")
    at.run()
    assert not problems(at) and not errors(at)
    at.radio(key="curv_view_embedding").set_value("graph")
    at.run()
    at.radio(key="curv_representation").set_value("GDE")
    at.run()
    assert not problems(at) and not errors(at)
    assert len(at.get("plotly_chart")) == 1


def test_network_source(curvature_page):
    at = curvature_page
    at.radio(key="curv_source").set_value("network")
    at.run()
    at.slider(key="curv_steps").set_value(50)
    _small(at, 120, 8)
    assert not problems(at) and not errors(at), errors(at)
    table = at.dataframe[0].value
    assert list(table["layer"]) == ["input", "hidden 1 (width 16)", "hidden 2 (width 16)"]
    for view in ("graph", "histogram"):
        at.radio(key="curv_view_network").set_value(view)
        at.run()
        assert not problems(at) and not errors(at), errors(at)
        assert len(at.get("plotly_chart")) == 1
    at.text_input(key="curv_hidden").set_value("8, nine")
    at.run()
    assert not problems(at)
    assert any("whole numbers" in e for e in errors(at))


def test_bad_settings_show_plain_messages(curvature_page):
    at = _small(curvature_page, 20, 30)  # k >= n
    assert not problems(at)
    assert any("use at most n_neighbors=19" in e for e in errors(at)), errors(at)
    at = _small(at, 60, 2)  # a 2-nearest-neighbour graph of 60 torus points falls apart
    assert not problems(at)
    assert any("raise n_neighbors to at least" in e for e in errors(at)), errors(at)
    at = _small(at, 200, 10)
    at.selectbox(key="curv_method").set_value("sinkhorn")
    at.run()
    at.select_slider(key="curv_eps").set_value(0.01)
    at.select_slider(key="curv_iters").set_value(20)
    at.run()
    assert not problems(at) and not errors(at)
    assert any("Sinkhorn stopped after 20 iterations" in w for w in warnings(at))
    assert len(at.get("plotly_chart")) == 1  # the rest of the page still works


def test_a_view_change_never_recomputes(monkeypatch):
    calls = []
    real = geomcore.curvature.points.point_curvature

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr("dashboard.cached.curvature.point_curvature", counting)
    at = run_page("curvature")
    at.number_input(key="curv_seed").set_value(4321)  # a setting no other test computes
    _small(at, 150, 10)
    computed = len(calls)
    assert computed == 1
    for view in ("scatter", "histogram", "graph"):
        at.radio(key="curv_view_surface").set_value(view)
        at.run()
    assert not problems(at)
    assert len(calls) == computed
