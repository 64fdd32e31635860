"""The Riemannian-optimisation page under streamlit's AppTest: every view with its defaults
and with unusual settings; never an exception, bad settings shown as plain messages, and a
view-only change recomputes nothing."""

from __future__ import annotations

import json
from unittest import mock

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.cached import riemannian as cached
from dashboard.lessons import FACTS
from tests.dashboard.conftest import APP, errors, problems, run_page

VIEWS = ["sphere", "spd", "poincare", "stiefel", "federated"]
SPD_DEFAULT_TEXT = "2, 0.8, 1\n1, -0.5, 2\n0.5, 0, 3"
"""The custom matrices' default (dashboard/views/riemannian.py; importing a page runs it)."""


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


# -- languages and links ---------------------------------------------------------------------------
def _open(**params: str) -> AppTest:
    """The page opened from a link with these query parameters."""
    at = AppTest.from_file(APP, default_timeout=120)
    for name, value in params.items():
        at.query_params[name] = value
    at.switch_page("views/riemannian.py")
    at.run()
    return at


def _figure(at: AppTest, i: int) -> dict:
    return json.loads(at.get("plotly_chart")[i].proto.spec)


def _notice(at: AppTest) -> str:
    return " ".join(i.value for i in at.info if "link" in i.value)


def test_page_in_chinese():
    at = _open(lang="zh")
    assert not problems(at) and not errors(at)
    assert at.title[0].value == "黎曼优化"
    assert at.radio(key="riem_view").label == "视图"
    assert at.select_slider(key="riem_sphere_lr").label == "步长 η"
    fig = _figure(at, 0)
    assert fig["layout"]["title"]["text"].startswith("球面上的 Rayleigh 商")
    names = {tr.get("name") for tr in fig["data"]}
    assert "黎曼梯度下降（指数映射）" in names and "Riemannian GD (exp)" not in names
    assert any("偏离球面" in i.value for i in at.info)
    at = _open(lang="zh", riem_view="spd")
    assert not problems(at) and not errors(at)
    assert "矩阵" in at.dataframe[0].value.columns and "行列式" in at.dataframe[0].value.columns
    assert any("膨胀" in m.value for m in at.markdown)
    assert "⟦" not in _figure(at, 0)["layout"]["title"]["text"]
    at = _open(lang="zh", riem_view="poincare")
    assert not problems(at) and not errors(at)
    assert [m.label for m in at.metric] == ["失真度（越低越好）", "平均精度均值 MAP（越高越好）"]
    # Streamlit reads a delta's direction from its first character
    assert all(m.proto.delta[0] in "+-" for m in at.metric)
    assert _figure(at, 0)["layout"]["title"]["text"].startswith("同一棵树的二维嵌入")


def test_a_link_with_custom_matrices_reopens_their_means():
    # diag(1, 1) and diag(4, 4): arithmetic mean 2.5·I (det 6.25), geometric means 2·I (det 4)
    at = _open(riem_view="spd", riem_spd_kind="custom", riem_spd_text="1, 0, 1\n4, 0, 4")
    assert not problems(at) and not errors(at) and not _notice(at)
    assert at.text_area(key="riem_spd_text").value == "1, 0, 1\n4, 0, 4"
    table = at.dataframe[0].value
    assert list(table["matrix"]) == ["A1", "A2", "arithmetic mean", "log-Euclidean mean",
                                     "affine-invariant (Karcher) mean"]
    assert list(table["det"]) == ["1", "16", "6.25", "4", "4"]
    assert any("does not exceed every input's" in m.value for m in at.markdown)
    facts = at.session_state[FACTS]
    assert facts["spd_det_arithmetic"] == pytest.approx(6.25, rel=1e-12)
    assert facts["spd_det_affine"] == pytest.approx(4.0, rel=1e-9)
    # the link stays in the address bar
    assert at.query_params["riem_spd_text"] == "1, 0, 1\n4, 0, 4"


@pytest.mark.parametrize("text", [
    "1, 2, 1\n2, 0, 2",                   # not positive definite: the page's parser refuses it
    "=cmd|' /C calc'!A0",                 # formula injection
    "1, 0, 1\n" * 200,                    # beyond the text area's max_chars
    "1e200, 0, 1e-200\n1e-200, 0, 1e200",  # eigenvalues the means cannot take
])
def test_a_hostile_matrix_link_opens_the_default_matrices(text):
    at = _open(riem_view="spd", riem_spd_kind="custom", riem_spd_text=text)
    assert not problems(at) and not errors(at)
    assert at.text_area(key="riem_spd_text").value == SPD_DEFAULT_TEXT
    assert len(at.dataframe[0].value) == 3 + 3
    assert "riem_spd_text" in _notice(at)


def test_a_link_with_a_large_step_reopens_the_diverging_view():
    at = _open(riem_sphere_lr="2.0", riem_sphere_shown="exp,ambient", riem_sphere_k="3")
    assert not problems(at) and not _notice(at)
    assert at.select_slider(key="riem_sphere_lr").value == 2.0
    assert at.slider(key="riem_sphere_k").value == 3
    assert any("too large" in w.value for w in at.warning)
    paths = {tr["name"] for tr in _figure(at, 0)["data"] if tr.get("mode") == "lines+markers"}
    assert paths == {"Riemannian GD (exp)", "Euclidean GD, never projected"}


def test_a_tree_link_and_an_out_of_range_one():
    at = _open(riem_view="poincare", riem_tree_depth="3")
    assert not problems(at) and not errors(at) and not _notice(at)
    assert any(c.value.startswith("15 nodes.") for c in at.caption)
    at = _open(riem_view="poincare", riem_tree_depth="50", riem_tree_seed="nan")
    assert not problems(at) and not errors(at)
    assert any(c.value.startswith("31 nodes.") for c in at.caption)  # the default depth 4
    assert "riem_tree_depth" in _notice(at) and "riem_tree_seed" in _notice(at)
