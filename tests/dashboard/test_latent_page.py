"""The Latent-geometry page under streamlit's AppTest: defaults, every dataset, the two metrics,
both geodesic methods, a click on the plane, bad points; never an exception, a view-only change
never retrains or recomputes."""

from __future__ import annotations

import pytest

from dashboard.cached import latent as cached_latent
from tests.dashboard.conftest import errors, problems, run_page, warnings


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
    lo, hi = at.number_input(key="latent_bx").min, at.number_input(key="latent_bx").max
    x = lo + 0.3 * (hi - lo)
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
