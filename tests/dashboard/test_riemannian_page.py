"""The Riemannian-optimisation page under streamlit's AppTest: every view with its defaults
and with unusual settings; never an exception, bad settings shown as plain messages, and a
view-only change recomputes nothing."""

from __future__ import annotations

from unittest import mock

import pytest

from dashboard.cached import riemannian as cached
from tests.dashboard.conftest import errors, problems, run_page

VIEWS = ["sphere", "spd", "poincare", "stiefel", "federated"]


@pytest.fixture(scope="module")
def page():
    return run_page("riemannian")


def _view(at, view: str):
    at.radio(key="riem_view").set_value(view)
    at.run()
    return at


def test_default_page(page):
    at = page
    assert not problems(at) and not errors(at)
    assert at.title[0].value == "Riemannian optimisation"
    assert any("Explain" in e.label for e in at.expander)
    # the unprojected Euclidean run is reported as leaving the sphere
    assert any("off the sphere" in i.value for i in at.info)


@pytest.mark.parametrize("view", VIEWS)
def test_every_view_renders(page, view):
    at = _view(page, view)
    assert not problems(at) and not errors(at)
    assert len(at.get("plotly_chart")) >= 1


def test_sphere_large_step_and_degenerate_spectrum(page):
    at = _view(page, "sphere")
    at.select_slider(key="riem_sphere_lr").set_value(2.0)
    at.run()
    assert not problems(at) and not errors(at)
    assert any("too large" in w.value for w in at.warning)
    for i in (1, 2, 3):
        at.slider(key=f"riem_sphere_l{i}").set_value(1.0)  # A = I: every point optimal
    at.run()
    assert not problems(at) and not errors(at)
    assert not any("too large" in w.value for w in at.warning)
    at.slider(key="riem_sphere_k").set_value(3).run()
    assert not problems(at)


def test_spd_random_matrices_and_the_swelling_statement(page):
    at = _view(page, "spd")
    assert any("swells" in m.value for m in at.markdown)
    at.selectbox(key="riem_spd_kind").set_value("random")
    at.slider(key="riem_spd_count").set_value(8)
    at.run()
    assert not problems(at) and not errors(at)
    assert len(at.dataframe[0].value) == 8 + 3


def test_custom_spd_matrices_and_a_bad_one(page):
    at = _view(page, "spd")
    at.selectbox(key="riem_spd_kind").set_value("custom").run()
    assert not problems(at) and not errors(at)
    assert len(at.dataframe[0].value) == 3 + 3
    at.text_area(key="riem_spd_text").set_value("1, 2, 1\n2, 0, 2").run()
    assert not problems(at)
    assert any("not positive definite" in e for e in errors(at))
    at.selectbox(key="riem_spd_kind").set_value("equal_determinants").run()
    assert not errors(at)


def test_too_large_tree_is_refused_in_words(page):
    at = _view(page, "poincare")
    at.slider(key="riem_tree_depth").set_value(5)
    at.slider(key="riem_tree_branching").set_value(3)
    at.run()
    assert not problems(at)
    assert any("364 nodes" in e for e in errors(at))
    assert any("Explain" in e.label for e in at.expander)  # the rest of the page is there


def test_stiefel_with_a_diverging_step(page):
    at = _view(page, "stiefel")
    at.select_slider(key="riem_st_sgd").set_value(2.0)
    at.select_slider(key="riem_st_adam").set_value(2.0)
    at.slider(key="riem_st_steps").set_value(40)
    at.run()
    assert not problems(at) and not errors(at)


def test_federated_unusual_settings_and_floor_sweep(page):
    at = _view(page, "federated")
    at.slider(key="riem_fed_clients").set_value(2)
    at.slider(key="riem_fed_part").set_value(0.1)
    at.slider(key="riem_fed_tau").set_value(1)
    at.slider(key="riem_fed_rounds").set_value(10)
    at.radio(key="riem_fed_agg").set_value("karcher")
    at.radio(key="riem_fed_alg").set_value("rfedsvrg")
    at.run()
    assert not problems(at) and not errors(at)
    at.toggle(key="riem_fed_floor").set_value(True).run()
    assert not problems(at) and not errors(at)


def test_view_only_changes_recompute_nothing(page):
    at = _view(page, "sphere")
    with mock.patch.object(cached.demos, "sphere_demo",
                           side_effect=AssertionError("recomputed")) as spy:
        at.slider(key="riem_sphere_k").set_value(5).run()
        at.multiselect(key="riem_sphere_shown").set_value([]).run()
        _view(at, "spd")
        _view(at, "sphere")
    assert spy.call_count == 0
    assert not problems(at) and not errors(at)
