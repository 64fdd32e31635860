"""The Dual-geometry page under streamlit's AppTest: defaults, every view, unusual and bad
settings; never an exception, bad settings shown as messages, a view-only change never
recomputes the paths."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

import geomcore.duality
from tests.dashboard.conftest import errors, problems, run_page, warnings


@pytest.fixture()
def duality_page():
    return run_page("duality")


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _view(at, view: str):
    at.radio(key="dual_view").set_value(view)
    at.run()
    return at


def test_default_page_shows_eg_and_ngd_coincide(duality_page):
    at = duality_page
    assert not problems(at)
    assert not errors(at) and not warnings(at)
    assert at.title[0].value == "Dual geometry"
    gap = float(_metrics(at)["EG vs NGD in θ: largest gap"])
    assert gap < 1e-12
    assert len(at.get("plotly_chart")) == 2
    explain = [e for e in at.expander if "dual network" in e.label]
    assert explain
    text = " ".join(m.value for m in at.markdown)
    assert "can and cannot mean" in text and "not a named architecture" in text


@pytest.mark.parametrize("view, charts", [("geodesics", 2), ("pythagoras", 1), ("em", 2)])
def test_every_view_renders(duality_page, view, charts):
    at = _view(duality_page, view)
    assert not problems(at)
    assert not errors(at), errors(at)
    assert not warnings(at), warnings(at)
    assert len(at.get("plotly_chart")) == charts


def test_pythagoras_states_both_sides(duality_page):
    at = _view(duality_page, "pythagoras")
    m = _metrics(at)
    assert float(m["KL(p‖r)"]) == pytest.approx(float(m["KL(p‖q*) + KL(q*‖r)"]), abs=2e-10)
    assert abs(float(m["difference"])) < 1e-10
    at.slider(key="dual_r_w").set_value(-2.5)
    at.slider(key="dual_pp_1").set_value(0.9)
    at.slider(key="dual_pp_2").set_value(0.05)
    at.run()
    assert not problems(at) and not errors(at)
    assert abs(float(_metrics(at)["difference"])) < 1e-10


def test_a_start_outside_the_simplex_is_an_error_and_the_page_lives_on(duality_page):
    at = duality_page
    at.slider(key="dual_start_1").set_value(0.7)
    at.slider(key="dual_start_2").set_value(0.5)
    at.run()
    assert not problems(at)
    assert any("lower one of them" in e for e in errors(at))
    assert any("dual network" in e.label for e in at.expander)


@pytest.mark.parametrize("loss", ["squared", "linear"])
def test_other_losses_and_a_large_step(duality_page, loss):
    at = duality_page
    at.selectbox(key="dual_loss").set_value(loss)
    at.select_slider(key="dual_lr").set_value(1.0)
    at.slider(key="dual_steps").set_value(1000)
    at.run()
    assert not problems(at)
    assert not errors(at), errors(at)
    # boundary events are reported in words (a warning or a note), never as an exception
    for w in warnings(at):
        assert "stopped after" in w
    if loss == "linear":
        assert any("NGD in η" in w and "out of the simplex" in w for w in warnings(at))
        assert any("face of the simplex" in i.value for i in at.info)


def test_without_eg_the_page_says_what_to_choose(duality_page):
    at = duality_page
    at.multiselect(key="dual_methods").set_value(["gd_natural", "projected_gd"])
    at.run()
    assert not problems(at) and not errors(at)
    assert any("Choose both" in i.value for i in at.info)


def test_a_view_only_change_never_recomputes(monkeypatch):
    calls = []
    real = geomcore.duality.optimize

    def counting(*args, **kwargs):
        calls.append(args[3] if len(args) > 3 else kwargs.get("method"))
        return real(*args, **kwargs)

    monkeypatch.setattr(geomcore.duality, "optimize", counting)
    at = run_page("duality")
    at.slider(key="dual_steps").set_value(370)  # a config no other test runs
    at.run()
    done = len(calls)
    assert done == 5
    at.toggle(key="dual_show_contours").set_value(False)
    at.run()
    at.toggle(key="dual_show_contours").set_value(True)
    at.run()
    assert not problems(at)
    assert len(calls) == done


@pytest.mark.parametrize("alpha", [-1.0, 0.0, 1.0, -0.35])
def test_geodesics_at_every_alpha(duality_page, alpha):
    at = _view(duality_page, "geodesics")
    at.slider(key="dual_alpha").set_value(alpha)
    at.run()
    assert not problems(at) and not errors(at), errors(at)
    assert not warnings(at), warnings(at)


def test_geodesics_between_equal_and_extreme_points(duality_page):
    at = _view(duality_page, "geodesics")
    for key, value in (("dual_p_1", 0.7), ("dual_p_2", 0.26), ("dual_gp_mu", 3.0),
                       ("dual_gp_sigma", 0.1), ("dual_gq_mu", -3.0), ("dual_gq_sigma", 3.0)):
        at.slider(key=key).set_value(value)
    at.run()
    assert not problems(at) and not errors(at), errors(at)
    fisher_rao = [m.value for m in at.metric if m.label == "Fisher–Rao distance"]
    assert fisher_rao[0] == "0.0000"  # p = q on the simplex (the first of the two sections)
    at.slider(key="dual_q_1").set_value(0.9)
    at.run()
    assert not problems(at)
    assert any("lower one of them" in e for e in errors(at))


@pytest.mark.parametrize("n, sep, steps", [(50, 0.5, 100), (2000, 6.0, 5)])
def test_em_unusual_settings(duality_page, n, sep, steps):
    at = _view(duality_page, "em")
    at.slider(key="dual_em_n").set_value(n)
    at.slider(key="dual_em_sep").set_value(sep)
    at.slider(key="dual_em_steps").set_value(steps)
    at.run()
    assert not problems(at) and not errors(at), errors(at)
    at.slider(key="dual_em_step").set_value(steps)
    at.run()
    assert not problems(at)
    for w in warnings(at):
        assert "EM stopped" in w


def _open(params: dict[str, str]):
    """The page opened from a link: the query parameters are in place when it first runs (the
    Home run before it would drop them as unknown)."""
    from streamlit.testing.v1 import AppTest

    from tests.dashboard.conftest import APP

    at = AppTest.from_file(APP, default_timeout=120)
    if "lang" in params:  # the frame's own parameter: read on the first run, on Home
        at.query_params["lang"] = params["lang"]
    at.run()
    for name, value in params.items():
        at.query_params[name] = value
    at.switch_page("views/duality.py")
    at.run()
    return at


def test_the_page_speaks_chinese():
    at = _open({"lang": "zh", "dual_view": "geodesics"})
    assert not problems(at) and not errors(at), errors(at)
    assert at.title[0].value == "对偶几何"
    assert at.radio(key="dual_view").label == "视图"
    assert at.slider(key="dual_gp_mu").label == "p：均值 μ"
    assert "Fisher–Rao 距离" in _metrics(at)
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"]
              for c in at.get("plotly_chart")]
    assert "单纯形上的测地线（三个结果）" in titles
    names = {d.get("name") for c in at.get("plotly_chart")
             for d in json.loads(c.proto.spec)["data"]}
    assert "e-测地线（θ 中的直线）" in names and "Fisher–Rao 测地线" in names
    shown = " ".join([m.value for m in at.markdown] + [c.value for c in at.caption])
    assert "⟦" not in shown
    assert "测地线" in shown and "Fisher 长度" in shown


def test_a_chinese_error_message_for_a_point_outside_the_simplex():
    at = _open({"lang": "zh", "dual_start_1": "0.7", "dual_start_2": "0.5"})
    assert not problems(at)
    assert any("请调小其中一个" in e for e in errors(at)), errors(at)


def test_a_link_reopens_the_pythagorean_triangle_it_names():
    at = _open({"dual_view": "pythagoras", "dual_pp_1": "0.6", "dual_pp_2": "0.1",
                "dual_r_w": "-2.0"})
    assert not problems(at) and not errors(at), errors(at)
    assert at.radio(key="dual_view").value == "pythagoras"
    assert at.slider(key="dual_pp_1").value == pytest.approx(0.6)
    assert at.slider(key="dual_r_w").value == pytest.approx(-2.0)
    # the metric is KL(p‖r) for exactly these p and r = q_w ∝ e^(w·f), f = (0, 1, 2)
    p = np.array([0.6, 0.1, 0.3])
    r = np.exp(-2.0 * np.array([0.0, 1.0, 2.0]))
    r /= r.sum()
    expected = float(np.sum(p * np.log(p / r)))
    assert float(_metrics(at)["KL(p‖r)"]) == pytest.approx(expected, abs=1e-9)
    assert dict(at.query_params)["dual_r_w"] == "-2.0"  # the link stays in the address bar


def test_a_link_with_a_linear_cost_and_a_large_step_shows_ngd_in_eta_leaving():
    at = _open({"dual_loss": "linear", "dual_lr": "1.0",
                "dual_methods": "mirror_descent,ngd_natural,ngd_expectation"})
    assert not problems(at) and not errors(at), errors(at)
    assert at.multiselect(key="dual_methods").value == ["mirror_descent", "ngd_natural",
                                                         "ngd_expectation"]
    assert any("NGD in η" in w and "out of the simplex" in w for w in warnings(at))
    names = {d.get("name") for c in at.get("plotly_chart")
             for d in json.loads(c.proto.spec)["data"]}
    assert "GD in θ" not in names and "NGD in η" in names


def test_a_link_beyond_the_run_falls_back_and_a_shorter_run_clamps_the_step_shown():
    at = _open({"dual_view": "em", "dual_em_steps": "5", "dual_em_step": "40"})
    assert not problems(at) and not errors(at), errors(at)
    assert at.slider(key="dual_em_step").value == 3  # 40 is beyond a 5-step run: the default
    assert any("dual_em_step" in i.value for i in at.info)  # … said in the notice
    at.slider(key="dual_em_steps").set_value(30).run()
    at.slider(key="dual_em_step").set_value(20).run()
    at.slider(key="dual_em_steps").set_value(4).run()
    assert not problems(at)
    assert at.slider(key="dual_em_step").value == 4
    assert "The mixture after EM step 4" in [
        json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]


VIEW_KEYS = ("optimisers", "geodesics", "pythagoras", "em")


@pytest.mark.parametrize("view", VIEW_KEYS)
def test_every_view_is_complete_in_chinese(view, caplog):
    """The shared test reads the default view; here every view, in Chinese: no missing key,
    no English word left (formulas and names aside)."""
    from tests.dashboard.teaching import open_page, untranslated

    caplog.set_level(logging.WARNING, logger="diffgeo.i18n")
    at = open_page("duality", {"lang": "zh", "dual_view": view})
    assert not problems(at) and not errors(at), errors(at)
    assert at.radio(key="dual_view").value == view
    assert [r.getMessage() for r in caplog.records if r.name == "diffgeo.i18n"] == []
    assert untranslated(at) == []


@pytest.mark.parametrize("view", VIEW_KEYS)
def test_a_link_reopens_every_widget_of_a_view(view):
    """Within one view, a link that moves every widget at once reopens each at the link's value
    (the shared round trip also switches the view, which hides the other views' widgets)."""
    from tests.dashboard.teaching import open_page

    first = open_page("duality", {"dual_view": view})
    run = first.session_state["_links"]
    params = {"dual_view": view}
    wanted = {}
    for key, default in run.defaults.items():
        if key in ("lang", "projector", "duality_lesson", "dual_view"):
            continue
        value = run.codecs[key].other(default)
        if value != default:
            wanted[key] = value
            params[run.params[key]] = run.codecs[key].encode(value)
    assert len(wanted) >= 3
    at = open_page("duality", params)
    assert not problems(at)
    again = at.session_state["_links"]
    assert again.rejected == []
    assert {k: at.session_state[k] for k in wanted} == wanted
    url = dict(at.query_params)
    assert {k: url.get(again.params[k]) for k in wanted} == {
        k: params[again.params[k]] for k in wanted}


@pytest.mark.parametrize("view", VIEW_KEYS)
def test_hostile_values_for_a_view_fall_back_to_its_defaults(view):
    from tests.dashboard.teaching import open_page

    first = open_page("duality", {"dual_view": view})
    run = first.session_state["_links"]
    defaults = {k: first.session_state[k] for k in run.defaults}
    garbage = ("nan", "-inf", "1e308", "-5", "=cmd|' /C calc'!A0", "x" * 3000,
               "__import__('os')", "mirror_descent,mirror_descent", "0x10")
    params = {"dual_view": view, "no_such_setting": "1"}
    for i, key in enumerate(sorted(run.defaults)):
        if key not in ("lang", "projector", "duality_lesson", "dual_view"):
            params[run.params[key]] = garbage[i % len(garbage)]
    at = open_page("duality", params)
    assert not problems(at) and not errors(at), errors(at)
    assert {k: at.session_state[k] for k in defaults} == defaults
    notices = [i.value for i in at.info if "link" in i.value]
    assert len(notices) == 1
    assert set(dict(at.query_params)) <= {"dual_view", "lang"}  # lang: always written
