"""The Ricci-curvature page under streamlit's AppTest: every source and view, unusual
settings, and the plain messages for k ≥ n, a disconnected graph and a Sinkhorn that does
not converge; never an exception, and a view change never recomputes."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

import geomcore.curvature.points
from dashboard.cached import curvature as cached
from dashboard.i18n import use_language
from dashboard.lessons import CHECKS, lessons_of
from tests.dashboard.conftest import APP, errors, problems, run_page, warnings


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


# -- languages, links and lessons ----------------------------------------------------------------

def _open(params: dict[str, str], timeout: float = 120) -> AppTest:
    """The page opened from a link carrying ``params`` (the frame reads them on its first run)."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    at.query_params.update(params)
    at.switch_page("views/curvature.py")
    at.run()
    return at


def test_the_page_in_chinese():
    with use_language("zh"):  # the test thread formats the options as the page does
        at = _open({"lang": "zh", "curv_n_surface": "200", "curv_k_surface": "12"})
        assert not problems(at) and not errors(at), errors(at)
        assert at.title[0].value == "里奇曲率"
        assert at.slider(key="curv_k_surface").label == "近邻数 k"
        assert at.radio(key="curv_source").options[0] == "曲面采样（K 已知）"
        assert "边曲率 κ 的均值" in [m.label for m in at.metric]
        at.radio(key="curv_view_surface").set_value("scatter")
        at.run()
        assert not problems(at) and not errors(at), errors(at)
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert fig["layout"]["title"]["text"].startswith("节点曲率与 K 对比：环面，200 个点")
    assert fig["layout"]["xaxis"]["title"]["text"] == "真实高斯曲率 K"
    assert not any("⟦" in m.value for m in at.markdown)


def test_a_sinkhorn_that_stopped_early_is_said_in_chinese():
    """geomcore words it in English; the page reads its numbers back and says it in the
    visitor's language (the English page keeps geomcore's sentence, see above)."""
    with use_language("zh"):
        at = _open({"lang": "zh", "curv_n_surface": "200", "curv_k_surface": "12",
                    "curv_method": "sinkhorn", "curv_eps": "0.01", "curv_iters": "20"})
    assert not problems(at) and not errors(at), errors(at)
    assert any("Sinkhorn 迭代 20 次后停止" in w and "当前为 0.01·h" in w for w in warnings(at)), \
        warnings(at)


def test_a_link_reopens_the_sphere_against_its_flat_torus():
    at = _open({"curv_surface": "sphere", "curv_n_surface": "300", "curv_k_surface": "20",
                "curv_alpha": "0.7", "curv_view_surface": "scatter"})
    assert not problems(at) and not errors(at), errors(at)
    assert at.selectbox(key="curv_surface").value == "sphere"
    assert at.slider(key="curv_n_surface").value == 300
    assert at.slider(key="curv_alpha").value == pytest.approx(0.7)
    assert at.radio(key="curv_view_surface").value == "scatter"
    # the computed result is the one of that setting: the ε² line for α = 0.7 and the sphere
    # read against the flat torus
    metrics = {m.label: m.value for m in at.metric}
    eps = float(metrics["neighbourhood radius ε"])
    assert float(metrics["predicted slope (1−α)ε²/8"]) == pytest.approx(
        0.3 * eps ** 2 / 8, rel=5e-3)
    assert any("flat torus of the same area" in c.value for c in at.caption)
    assert at.query_params["curv_surface"] == "sphere"


def test_hostile_hidden_widths_in_a_link_open_the_default():
    cheap = {"curv_source": "network", "curv_steps": "50", "curv_n_network": "100",
             "curv_k_network": "6"}
    for bad in ("=HYPERLINK(\"http://x\")", "", "8, nine", "99, 99", "1,2,3,4", "x" * 500):
        at = _open({**cheap, "curv_hidden": bad, "curv_n_surface": "nan"})
        assert not problems(at) and not errors(at), (bad, errors(at))
        assert at.text_input(key="curv_hidden").value == "16, 16", bad
        assert any("curv_hidden" in i.value for i in at.info), bad
        assert at.slider(key="curv_n_network").value == 100


def test_a_changed_run_length_keeps_the_step_picker_working():
    at = _open({"curv_source": "network", "curv_steps": "100", "curv_n_network": "100",
                "curv_k_network": "6", "curv_view_network": "graph"})
    assert not problems(at) and not errors(at), errors(at)
    at.select_slider(key="curv_step").set_value(20)
    at.text_input(key="curv_hidden").set_value("8")
    at.run()
    at.slider(key="curv_steps").set_value(150)  # snapshots every 30 steps: 20 is gone
    at.run()
    assert not problems(at) and not errors(at), errors(at)
    assert at.select_slider(key="curv_step").value == 150
    assert at.selectbox(key="curv_layer").value == 1


def test_every_lesson_claim_names_a_fact_the_page_publishes():
    small = cached.CurvatureSettings(n_neighbors=6)
    surface = set(cached.surface_facts(cached._surface_result(
        cached.SurfaceConfig(name="plane", n=60, settings=small)), small))
    network = set(cached.network_facts(cached._network_result(
        cached.NetworkConfig(n=60, hidden=(4,), steps=10, settings=small))))
    found = lessons_of("curvature")
    assert 3 <= len(found) <= 6
    for lesson in found:
        facts = network if lesson.settings.get("curv_source") == "network" else surface
        for claim in lesson.claims:
            for ref in (claim.left, claim.right):
                assert not isinstance(ref, str) or ref in facts, (lesson.id, ref)


@pytest.mark.parametrize("lesson", ["sphere_law", "network"])
def test_a_lesson_from_its_link_holds_in_both_languages(lesson):
    for lang in ("en", "zh"):
        with use_language(lang):
            at = _open({"lang": lang, "lesson": lesson})
            assert not problems(at) and not errors(at), errors(at)
            checks = at.session_state[CHECKS]
            assert checks and all(checks.values()), (lang, checks)
            assert not any("⟦" in m.value for m in at.markdown)
