"""The Latent-geometry page under streamlit's AppTest: defaults, every dataset, the two metrics,
both geodesic methods, a click on the plane, bad points; never an exception, a view-only change
never retrains or recomputes."""

from __future__ import annotations

import json

import pytest

from dashboard.cached import latent as cached_latent
from tests.dashboard.conftest import errors, problems, run_page, warnings
from tests.dashboard.teaching import open_page


@pytest.fixture()
def latent_page():
    return run_page("latent", timeout=300)


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _chart_keys(at) -> list[str]:
    return [c.proto.id for c in at.get("plotly_chart")]


def _quick(at, dataset: str):
    """Few epochs first (then no full training of the new dataset): the settings tests check
    the page, not the model."""
    at.slider(key="latent_epochs").set_value(10)
    at.run()
    at.selectbox(key="latent_data").set_value(dataset)
    at.run()
    return at


def test_default_page(latent_page):
    at = latent_page
    assert not problems(at)
    assert not errors(at) and not warnings(at)
    assert at.title[0].value == "Latent geometry"
    m = _metrics(at)
    straight, geodesic = float(m["Straight length"]), float(m["Geodesic length"])
    assert 0 < geodesic <= straight
    assert float(m["Length ratio"]) == pytest.approx(straight / geodesic, rel=2e-3)
    assert len(at.get("plotly_chart")) == 2  # the plane and the image strips
    assert any("Explain" in e.label for e in at.expander)


@pytest.mark.parametrize("dataset", ["swiss_roll", "sphere_cap", "torus"])
def test_three_d_datasets_show_the_decoded_surface(latent_page, dataset):
    at = _quick(latent_page, dataset)
    assert not problems(at)
    assert not errors(at), errors(at)
    assert len(at.get("plotly_chart")) == 2  # the plane and the 3-D surface
    assert "Length ratio" in _metrics(at)


def test_metric_toggle_method_and_unusual_settings(latent_page):
    at = _quick(latent_page, "digits")
    at.radio(key="latent_metric").set_value("mean")
    at.run()
    assert not problems(at) and not errors(at)
    at.radio(key="latent_method").set_value("bvp")
    at.select_slider(key="latent_npoints").set_value(16)
    at.run()
    assert not problems(at) and not errors(at)
    at.radio(key="latent_model").set_value("ae")
    at.select_slider(key="latent_hidden").set_value(16)
    at.run()
    assert not problems(at) and not errors(at)
    assert float(_metrics(at)["Geodesic length"]) > 0


def test_coinciding_points_give_a_plain_message(latent_page):
    at = latent_page
    x, y = at.number_input(key="latent_ax").value, at.number_input(key="latent_ay").value
    at.number_input(key="latent_bx").set_value(x)
    at.number_input(key="latent_by").set_value(y)
    at.run()
    assert not problems(at)
    assert any("coincide" in e for e in errors(at)), errors(at)
    # the rest of the page still draws: the plane is there
    assert len(at.get("plotly_chart")) >= 1


def test_a_click_on_the_plane_moves_the_chosen_point(latent_page):
    at = latent_page
    at.radio(key="latent_click_target").set_value("end")
    at.run()
    # half-way between the two encoded default points: inside the plane's box
    x = 0.5 * (at.number_input(key="latent_ax").value + at.number_input(key="latent_bx").value)
    at.session_state["latent_plane"] = {"selection": {"points": [{"x": x, "y": 0.0}]}}
    at.run()
    assert not problems(at)
    assert at.number_input(key="latent_bx").value == pytest.approx(x, abs=1e-6)


def test_a_view_change_never_retrains_or_recomputes(monkeypatch):
    calls = {"train": 0, "geodesic": 0}
    real_train, real_geo = cached_latent.train_vae, cached_latent.latent_geodesic

    def train(*args, **kwargs):
        calls["train"] += 1
        return real_train(*args, **kwargs)

    def geodesic(*args, **kwargs):
        calls["geodesic"] += 1
        return real_geo(*args, **kwargs)

    monkeypatch.setattr(cached_latent, "train_vae", train)
    monkeypatch.setattr(cached_latent, "latent_geodesic", geodesic)
    at = run_page("latent", timeout=300)
    at.number_input(key="latent_seed").set_value(4321)  # a model no other test trains
    at.slider(key="latent_epochs").set_value(10)
    at.run()
    assert calls["train"] == 1 and calls["geodesic"] == 1
    at.checkbox(key="latent_ellipses").check()
    at.run()
    at.radio(key="latent_click_target").set_value("end")
    at.run()
    at.checkbox(key="latent_ellipses").uncheck()
    at.run()
    assert not problems(at)
    assert calls == {"train": 1, "geodesic": 1}


def _plane_title(at) -> str:
    chart = next(c for c in at.get("plotly_chart") if c.proto.id and "latent_plane" in c.proto.id)
    return json.loads(chart.proto.spec)["layout"]["title"]["text"]


def test_the_page_in_chinese():
    at = open_page("latent", {"lang": "zh"})
    assert not problems(at) and not errors(at)
    assert at.title[0].value == "隐空间几何"
    assert at.slider(key="latent_epochs").label == "训练轮数"
    assert at.radio(key="latent_method").options == ["能量法（L-BFGS）", "边值问题"]
    assert "直线长度" in _metrics(at)
    assert _plane_title(at).replace("<br>", " ").startswith("隐平面（考虑方差的度量）")


def test_a_link_reopens_its_points_and_metric():
    """The point inputs keep a link's values on the page's first run (the page resets them
    only when the model changes afterwards), and the lengths shown are those of that path
    under that metric."""
    params = {"latent_metric": "mean", "latent_npoints": "16", "latent_ax": "0.5",
              "latent_ay": "-0.5", "latent_bx": "-1.25", "latent_by": "1.0"}
    at = open_page("latent", params)
    assert not problems(at) and not errors(at)
    points = {k: at.number_input(key=f"latent_{k}").value for k in ("ax", "ay", "bx", "by")}
    assert points == {"ax": 0.5, "ay": -0.5, "bx": -1.25, "by": 1.0}
    metric = cached_latent.MetricConfig(model=cached_latent.ModelConfig(), variance=False)
    paths = cached_latent.paths_for(metric, (0.5, -0.5), (-1.25, 1.0), 16, "energy")
    m = _metrics(at)
    assert m["Geodesic length"] == f"{paths.geodesic.length:.4g}"
    assert m["Straight length"] == f"{paths.straight.length:.4g}"
    url = dict(at.query_params)
    assert {k: url.get(k) for k in params} == params
    # a new model after the first run: its own default points replace the link's
    at.slider(key="latent_epochs").set_value(20)
    at.run()
    assert not problems(at)
    trained = cached_latent.model_for(cached_latent.ModelConfig(epochs=20))
    start, end = cached_latent.default_points(trained)
    assert (at.number_input(key="latent_ax").value, at.number_input(key="latent_ay").value,
            at.number_input(key="latent_bx").value, at.number_input(key="latent_by").value) \
        == pytest.approx((*start, *end))


def test_the_boundary_value_solve_is_checked_against_the_energy_method():
    at = open_page("latent", {"latent_data": "swiss_roll", "latent_metric": "mean",
                              "latent_method": "bvp"})
    assert not problems(at) and not errors(at)
    assert any("Check against the energy method" in c.value for c in at.caption)


def test_a_lesson_chosen_after_exploring_sets_its_model_and_its_points():
    """Choosing a lesson in the sidebar resets every widget to the lesson's settings; the
    point inputs then take the lesson model's own default points, and its claims hold."""
    from dashboard.lessons import CHECKS

    at = run_page("latent", timeout=300)
    at.number_input(key="latent_ax").set_value(0.123)
    at.run()
    at.selectbox(key="latent_lesson").set_value("collapse")
    at.run()
    assert not problems(at) and not errors(at)
    assert at.selectbox(key="latent_data").value == "swiss_roll"
    assert at.slider(key="latent_epochs").value == 30
    cfg = cached_latent.ModelConfig(dataset="swiss_roll", n=1000, epochs=30, beta=1.0)
    start, end = cached_latent.default_points(cached_latent.model_for(cfg))
    assert (at.number_input(key="latent_ax").value, at.number_input(key="latent_ay").value,
            at.number_input(key="latent_bx").value, at.number_input(key="latent_by").value) \
        == pytest.approx((*start, *end))
    assert at.session_state[CHECKS] == {"worse_than_pca": True, "collapsed": True, "flat": True}
