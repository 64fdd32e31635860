"""Hostile settings on the Ricci-curvature page: its widgets' maxima.

Ollivier curvature costs about n·(k+1)² per kNN graph. Before the bound, the surface source at
n = 2000, k = 60 (exact) took 38 s of CPU and 9 GB of memory in one request, and the network
source at its maxima (n = 600, k = 60, three hidden layers: 24 graphs) ran for minutes. The
page must refuse such a request in words, at once, and keep the rest working.
"""

from __future__ import annotations

from tests.dashboard.conftest import errors, problems, run_page

FAST = 20.0  # s: a refused request returns at once; the unbounded one took 38 s and more


def test_surface_at_the_maxima_is_refused_in_words():
    at = run_page("curvature", timeout=FAST)
    at.slider(key="curv_n_surface").set_value(2000)
    at.slider(key="curv_k_surface").set_value(60)
    at.run()
    assert not problems(at)
    assert any("too much work" in e and "Use k ≤ 26" in e for e in errors(at)), errors(at)
    assert any("Explain" in e.label for e in at.expander)  # the rest of the page is there


def test_sinkhorn_at_the_maxima_is_refused_in_words():
    at = run_page("curvature", timeout=FAST)
    at.slider(key="curv_n_surface").set_value(2000)
    at.slider(key="curv_k_surface").set_value(60)
    at.selectbox(key="curv_method").set_value("sinkhorn")
    at.run()
    at.select_slider(key="curv_eps").set_value(0.01)
    at.run()
    assert not problems(at)
    assert any("too much work" in e for e in errors(at)), errors(at)


def test_network_at_the_maxima_is_refused_in_words():
    at = run_page("curvature", timeout=FAST)
    at.radio(key="curv_source").set_value("network")
    at.run()
    at.slider(key="curv_n_network").set_value(600)
    at.slider(key="curv_k_network").set_value(60)
    at.slider(key="curv_steps").set_value(600)
    at.text_input(key="curv_hidden").set_value("64, 64, 64")
    at.run()
    assert not problems(at)
    assert any("24 graphs" in e and "too much work" in e for e in errors(at)), errors(at)


def test_embedding_at_the_maxima_is_refused_in_words():
    at = run_page("curvature", timeout=FAST)
    at.radio(key="curv_source").set_value("embedding")
    at.run()
    at.slider(key="curv_n_embedding").set_value(1500)
    at.slider(key="curv_k_embedding").set_value(60)
    at.run()
    assert not problems(at)
    assert any("3 graphs" in e and "too much work" in e for e in errors(at)), errors(at)
