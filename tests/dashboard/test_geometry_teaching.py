"""Issue 13 on the Surfaces & geodesics page: Chinese, links that reopen a view, formula links
checked by the page's own parser, lessons that survive what the visitor did before, and a CSV
of the curves (the generic checks over every lab are in test_teaching.py)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from dashboard.figures import geometry as figs
from dashboard.figures.presenting import curves_csv
from dashboard.i18n import use_language
from dashboard.lessons import CHECKS
from geomcore.geometry import analysis, geodesics, metrics, surfaces
from tests.dashboard.conftest import problems
from tests.dashboard.teaching import open_page


def _chart_titles(at) -> list[str]:
    return [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]


def test_page_in_chinese_labels_and_figure_titles():
    at = open_page("geometry", {"lang": "zh"})
    assert not problems(at)
    assert at.title[0].value == "曲面与测地线"
    assert at.radio(key="geo_kind").label == "空间类型"
    assert at.radio(key="geo_mode").label == "探索"
    assert "平行移动与和乐" in at.radio(key="geo_mode").options
    assert at.slider(key="geo_pu").label == "起点：u"
    assert {"长度", "能量漂移"} <= {m.label for m in at.metric}
    titles = _chart_titles(at)
    assert any(title.startswith("环面：高斯曲率 K") for title in titles), titles
    assert any("环面的参数域" in title for title in titles), titles


def test_statistical_manifold_in_chinese():
    at = open_page("geometry", {"lang": "zh", "geo_kind": "statistical", "geo_stat": "gaussian",
                                "geo_mode": "shortest"})
    assert not problems(at)
    titles = _chart_titles(at)
    assert any(title == "正态分布族（Fisher 度量）<br>K 处处等于 -0.5" for title in titles)
    assert "沿测地线的概率密度" in titles
    assert "Fisher–Rao 距离（闭式解）" in {m.label for m in at.metric}


def test_a_transport_link_reopens_the_same_loop_and_holonomy():
    """A teacher's link to a loop on the sphere: the widgets come back, and the holonomy shown
    is that of this very loop (computed here independently of the page)."""
    link = {"geo_surface": "sphere", "geo_mode": "transport", "geo_pu": "0.9",
            "geo_pv": "1.5", "geo_radius": "0.6"}
    at = open_page("geometry", link)
    assert not problems(at)
    assert not at.info, [i.value for i in at.info]  # nothing was refused
    assert at.selectbox(key="geo_surface").value == "sphere"
    assert (at.slider(key="geo_pu").value, at.slider(key="geo_pv").value) == (0.9, 1.5)
    assert at.slider(key="geo_radius").value == 0.6
    values = {m.label: m.value for m in at.metric}
    tr = analysis.transport_around(surfaces.get("sphere"),
                                   geodesics.coordinate_circle((0.9, 1.5), 0.6, n_points=361))
    assert values["Holonomy angle"] == f"{math.degrees(tr.holonomy):.2f}°"
    assert float(values["Holonomy angle"][:-1]) == pytest.approx(48.51, abs=0.01)
    # the address bar still holds the view
    url = dict(at.query_params)
    assert {k: url.get(k) for k in link} == link


@pytest.mark.parametrize("formula", ["__import__('os').system('id')", "9**9**9", "u" * 5000,
                                     "u.__class__", "cos(u"])
def test_a_hostile_formula_link_opens_the_default_formula_with_the_notice(formula):
    at = open_page("geometry", {"geo_kind": "custom", "geo_custom_z": formula})
    assert not problems(at)
    assert at.text_input(key="geo_custom_z").value == "0.8*sin(u) + 0.3*cos(2*v)"
    notices = [i.value for i in at.info if "link" in i.value]
    assert len(notices) == 1 and "geo_custom_z" in notices[0]
    assert not at.error, [e.value for e in at.error]
    assert "geo_custom_z" not in dict(at.query_params)


def test_a_valid_formula_link_opens_that_surface():
    at = open_page("geometry", {"geo_kind": "custom", "geo_custom_z": "0.5*sin(u)"})
    assert not problems(at)
    assert not at.info
    assert at.text_input(key="geo_custom_z").value == "0.5*sin(u)"
    assert dict(at.query_params)["geo_custom_z"] == "0.5*sin(u)"


def test_another_surface_starts_at_its_own_defaults():
    at = open_page("geometry")
    at.slider(key="geo_pu").set_value(5.0)  # far along the torus's u in [0, 2π]
    at.run()
    at.selectbox(key="geo_surface").set_value("sphere")
    at.run()
    assert not problems(at)
    sphere = surfaces.get("sphere")
    start = figs.start_defaults("sphere")
    assert at.slider(key="geo_pu").value == pytest.approx(
        round(start.u_frac * sphere.u_range[1], 3))
    assert at.slider(key="geo_angle").value == start.angle


@pytest.mark.parametrize("lesson", ["holonomy", "gauss_bonnet"])
def test_a_lesson_chosen_after_exploring_holds(lesson):
    """The visitor moved the point and changed mode first; choosing the lesson then resets
    the page to the lesson's settings (a point remembered from before must not come back)."""
    at = open_page("geometry")
    at.slider(key="geo_pu").set_value(5.0)
    at.run()
    at.radio(key="geo_mode").set_value("spray")
    at.run()
    at.selectbox(key="geometry_lesson").set_value(lesson)
    at.run()
    assert not problems(at)
    checks = at.session_state[CHECKS]
    assert checks and all(checks.values()), checks
    assert at.slider(key="geo_pu").value != 5.0


def test_curve_csv_holds_the_curves_not_the_casing_or_the_click_grid():
    torus = surfaces.get("torus")
    geo = geodesics.exp_map(torus, (1.0, 1.0), (1.0, 0.5), 1.0, n_points=50)
    fig = figs.make_parameter_map(torus, curves=[figs.Curve(geo.coords, "geodesic", geo.xyz)],
                                  points=[((1.0, 1.0), "start")], resolution=20)
    kept = figs.curve_traces(fig)
    names = [fig.data[i].name for i in kept]
    assert names == ["geodesic", "start"]
    rows = curves_csv(fig, traces=kept).strip().splitlines()
    assert rows[0] == "trace,x,y"
    assert len(rows) == 1 + len(geo.coords) + 1


def test_figure_texts_follow_the_language():
    sphere = surfaces.get("sphere")
    with use_language("zh"):
        fig = figs.make_surface_figure(sphere, field="mean", resolution=16)
        assert fig.layout.title.text == "球面：平均曲率 H"
        plane = figs.make_metric_plane(metrics.get("poincare"), manifold="poincare")
        assert plane.layout.title.text == "Poincaré 上半平面<br>K 处处等于 -1"
        assert plane.data[0].name == "g 的单位圆，统一比例（非真实大小）"
        stopped = geodesics.exp_map(surfaces.get("saddle"), (0.0, 0.0), (1.0, 0.0), 10.0)
        assert figs.stop_sentence(stopped).startswith("测地线在长度 ")
        bars = figs.make_categorical_path_figure(np.array([[0.5, 0.5], [1.0, 0.7]]))
        assert bars.layout.xaxis.title.text == "沿测地线的位置"
    assert figs.make_surface_figure(sphere, resolution=16).layout.title.text == (
        "Sphere: Gaussian curvature K")
