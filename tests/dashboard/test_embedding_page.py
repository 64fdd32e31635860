"""The Isomap vs GDE page under streamlit's AppTest: the default comparison, every view, every
dataset and method, bad settings shown in words with the rest of the page alive, and a
view-only change that never retrains."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import lessons
from geomcore.embedding import DATASET_NAMES, METHOD_NAMES, gde, make
from tests.dashboard.conftest import APP, errors, problems, run_page

VIEWS = ["embeddings", "training", "out_of_sample", "decoder", "pair", "short_circuits"]


def _charts(at) -> int:
    return len(at.get("plotly_chart"))


def _small(at, n: int = 200, epochs: int = 20):
    """Few points and epochs: these tests check the page, not the embeddings."""
    at.slider(key="emb_n").set_value(n)
    at.select_slider(key="emb_epochs").set_value(epochs)
    at.run()
    return at


@pytest.fixture(scope="module")
def default_page():
    return run_page("embedding", timeout=300)


def test_default_comparison(default_page):
    at = default_page
    assert not problems(at) and not errors(at)
    assert at.title[0].value == "Isomap vs GDE"
    assert _charts(at) == 3  # the data and two embeddings
    table = at.dataframe[0].value
    assert list(table.columns) == ["Isomap", "GDE"]
    # On the swiss roll (n = 1500) both unroll it: the quality bar.
    for method in ("Isomap", "GDE"):
        assert table.loc["intrinsic ρ", method] >= 0.95
        assert table.loc["trustworthiness", method] >= 0.95
    assert any("Explain" in e.label for e in at.expander)


@pytest.mark.parametrize("view", VIEWS)
def test_every_view_renders_on_the_default_data(default_page, view):
    at = default_page
    at.radio(key="emb_view").set_value(view)
    at.run()
    assert not problems(at) and not errors(at), errors(at)
    assert _charts(at) >= 1


def test_a_view_change_never_retrains(monkeypatch):
    at = _small(run_page("embedding", timeout=300))
    fits: list[str] = []
    original = gde.GeometricDeepEncoder.fit

    def counting(self, X, y=None, **kw):
        fits.append(self.loss)
        return original(self, X, y, **kw)

    monkeypatch.setattr(gde.GeometricDeepEncoder, "fit", counting)
    for view in ["out_of_sample", "decoder", "pair", "short_circuits", "embeddings"]:
        at.radio(key="emb_view").set_value(view)
        at.run()
    assert fits == []
    at.radio(key="emb_view").set_value("training")
    at.run()
    assert fits == ["distance_sum"]  # only the collapse run is new


@pytest.mark.parametrize("name", DATASET_NAMES)
def test_every_dataset_in_every_view(name):
    at = run_page("embedding", timeout=300)
    at.selectbox(key="emb_dataset").set_value(name)
    at.run()
    _small(at)
    for view in VIEWS:
        at.radio(key="emb_view").set_value(view)
        at.run()
        assert not problems(at), (name, view)
        assert not errors(at), (name, view, errors(at))


def test_every_method_at_once():
    at = _small(run_page("embedding", timeout=300))
    at.multiselect(key="emb_methods").set_value(list(METHOD_NAMES))
    at.run()
    assert not problems(at) and not errors(at), errors(at)
    assert _charts(at) == 1 + len(METHOD_NAMES)
    assert at.dataframe[0].value.shape[1] == len(METHOD_NAMES)
    at.radio(key="emb_view").set_value("out_of_sample")
    at.run()
    assert not problems(at) and not errors(at)
    assert "t-SNE" in " ".join(c.value for c in at.caption)  # named as having no map


def test_hessian_lle_with_too_few_neighbours_says_so_and_isomap_still_draws():
    at = _small(run_page("embedding", timeout=300))
    at.slider(key="emb_k").set_value(4)
    at.multiselect(key="emb_methods").set_value(["isomap", "hessian_lle"])
    at.run()
    assert not problems(at)
    shown = errors(at)
    assert len(shown) == 1 and "Hessian LLE" in shown[0] and "n_neighbors >= 6" in shown[0]
    assert _charts(at) == 2  # the data and Isomap
    assert list(at.dataframe[0].value.columns) == ["Isomap"]


def test_a_disconnected_graph_gives_the_neighbour_count_that_connects_it():
    at = run_page("embedding", timeout=300)
    at.selectbox(key="emb_dataset").set_value("helix")
    at.run()
    _small(at)
    at.slider(key="emb_k").set_value(3)
    at.run()
    assert not problems(at)
    shown = errors(at)
    assert shown and all("raise n_neighbors to at least 7" in e for e in shown)
    assert _charts(at) == 1  # the data still draw
    for view in ["pair", "short_circuits", "decoder"]:
        at.radio(key="emb_view").set_value(view)
        at.run()
        assert not problems(at)
        assert any("raise n_neighbors" in e for e in errors(at)), view


def test_no_method_chosen_is_a_hint_not_an_error():
    at = _small(run_page("embedding", timeout=300))
    at.multiselect(key="emb_methods").set_value([])
    at.run()
    assert not problems(at) and not errors(at)
    assert any("at least one method" in i.value for i in at.info)


def test_gde_with_both_weights_zero_is_refused_in_words():
    at = _small(run_page("embedding", timeout=300))
    at.select_slider(key="emb_w_stress").set_value(0.0)
    at.select_slider(key="emb_w_recon").set_value(0.0)
    at.run()
    assert not problems(at)
    assert any("nothing to train" in e for e in errors(at))
    assert _charts(at) == 2  # data and Isomap


def test_widget_maxima():
    at = run_page("embedding", timeout=300)
    at.selectbox(key="emb_dataset").set_value("digits")
    at.run()
    at.slider(key="emb_n").set_value(1700)  # the digits' maximum on the page
    at.slider(key="emb_k").set_value(50)
    at.select_slider(key="emb_epochs").set_value(20)
    at.slider(key="emb_noise_digits").set_value(4.0)
    at.run()
    assert not problems(at) and not errors(at), errors(at)
    at.radio(key="emb_view").set_value("out_of_sample")
    at.run()
    assert not problems(at) and not errors(at), errors(at)


# -- languages, links and lessons (issue 13) -------------------------------------------------------
def _open(params: dict[str, str], timeout: float = 300):
    """The page opened from a link with these query parameters."""
    params = dict(params)
    at = AppTest.from_file(APP, default_timeout=timeout)
    if "lang" in params:
        at.query_params["lang"] = params.pop("lang")
    at.run()  # Home: it drops the parameters none of its widgets claims, so they come after
    at.query_params.update(params)
    at.switch_page("views/embedding.py")
    at.run()
    return at


def _figures(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def test_chinese_page_reads_in_chinese():
    at = _open({"lang": "zh", "emb_n": "200", "emb_epochs": "20"})
    assert not problems(at) and not errors(at), errors(at)
    assert at.title[0].value == "Isomap 与 GDE"
    assert at.slider(key="emb_k").label == "近邻数 k"
    assert at.radio(key="emb_view").label == "视图"
    titles = [f["layout"]["title"]["text"].replace("\xa0", " ") for f in _figures(at)]
    assert titles[0].startswith("数据：瑞士卷，n = 200"), titles
    assert titles[1].startswith("Isomap（"), titles
    table = at.dataframe[0].value
    assert "内蕴 ρ" in table.index and "可信度" in table.index
    shown = " ".join([*(m.value for m in at.markdown), *(c.value for c in at.caption),
                      *(e.label for e in at.expander)])
    assert "⟦" not in shown and "最近邻" in shown


def test_a_link_reopens_a_chosen_pair_with_its_lengths():
    # The helix, 300 points, k = 12, the pair view with two points chosen by index: the link
    # alone must give these widgets and the chord between exactly these two points.
    params = {"emb_dataset": "helix", "emb_n": "300", "emb_k": "12", "emb_view": "pair",
              "emb_pair_mode": "index", "emb_pair_a": "5", "emb_pair_b": "250"}
    at = _open(params)
    assert not problems(at) and not errors(at), errors(at)
    assert at.selectbox(key="emb_dataset").value == "helix"
    assert at.slider(key="emb_n").value == 300 and at.slider(key="emb_k").value == 12
    assert at.number_input(key="emb_pair_a").value == 5
    assert at.number_input(key="emb_pair_b").value == 250
    X = make("helix", n=300, seed=0).X
    chord = float(np.linalg.norm(X[5] - X[250]))
    (fig,) = _figures(at)
    names = [trace.get("name") for trace in fig["data"]]
    assert f"straight chord, length {chord:.3g}" in names, names
    labels = next(trace for trace in fig["data"] if trace.get("mode") == "text")["text"]
    assert labels == ["A (5)", "B (250)"]
    assert at.metric[0].value == f"{chord:.3g}"
    # and the page keeps the view in its address
    assert {k: at.query_params[k] for k in params} == params


def test_short_circuit_lesson_from_a_link_holds_in_both_languages():
    for lang in ("en", "zh"):
        at = _open({"lang": lang, "lesson": "short_circuits"})
        assert not problems(at) and not errors(at), errors(at)
        assert at.slider(key="emb_k").value == 20
        checks = at.session_state[lessons.CHECKS]
        assert checks and all(checks.values()), checks
        facts = at.session_state[lessons.FACTS]
        assert facts["short_count"] > 0 and facts["first_short_k"] > facts["best_k"]


SMALL = {"emb_n": "200", "emb_epochs": "20"}


@pytest.mark.parametrize("params", [
    *({"emb_view": view, "emb_methods": "isomap,gde,tsne"} for view in VIEWS),
    {"emb_view": "pair", "emb_pair_mode": "index", "emb_pair_a": "3", "emb_pair_b": "150"},
    {"emb_view": "short_circuits", "emb_dataset": "sphere_cap"},  # no true geodesics
    {"emb_view": "decoder", "emb_dataset": "digits"},  # the mosaic of decoded digits
    {"emb_view": "pair", "emb_dataset": "digits"},  # not 3-D: a hint
], ids=lambda p: "-".join(p.values()).replace(",", "+"))
def test_every_view_is_complete_in_chinese(params, caplog):
    from tests.dashboard.teaching import open_page, untranslated

    caplog.set_level(logging.WARNING, logger="diffgeo.i18n")
    at = open_page("embedding", {"lang": "zh", **SMALL, **params})
    assert not problems(at) and not errors(at), errors(at)
    assert _run_state_rejected(at) == []
    assert [r.getMessage() for r in caplog.records if r.name == "diffgeo.i18n"] == []
    assert untranslated(at) == []


def _run_state_rejected(at) -> list[str]:
    return list(at.session_state["_links"].rejected)


@pytest.mark.parametrize("view", ["pair", "out_of_sample", "training"])
def test_a_link_reopens_every_widget_of_a_view(view):
    """The view's own widgets and the sidebar's, all away from their defaults, from one link."""
    from tests.dashboard.teaching import open_page

    params = {"emb_view": view, "emb_dataset": "s_curve", "emb_n": "300",
              "emb_noise_s_curve": "0.015", "emb_seed": "7", "emb_k": "12",
              "emb_methods": "pca,isomap,gde", "emb_epochs": "20", "emb_w_stress": "3.0",
              "emb_w_recon": "0.3"}
    if view == "pair":
        params |= {"emb_pair_mode": "index", "emb_pair_a": "17", "emb_pair_b": "222"}
    at = open_page("embedding", params)
    assert not problems(at) and not errors(at), errors(at)
    assert _run_state_rejected(at) == []
    url = dict(at.query_params)
    assert {k: url.get(k) for k in params} == params
    run = at.session_state["_links"]
    for key, raw in params.items():
        assert run.codecs[key].encode(at.session_state[key]) == raw, key
