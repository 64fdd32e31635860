"""Hostile settings on the Isomap-vs-GDE page: every method at the maxima.

Before the bound, all nine methods at n = 2000, k = 50 with 400 GDE epochs (then the maximum)
took 45 s of CPU in one request (t-SNE 19 s, GDE 16.5 s, MDS + LTSA + Hessian LLE 21 s,
measured with AppTest).
One page change now starts at most about 20 s of methods and names the others in a warning.
"""

from __future__ import annotations

from dashboard.cached import embedding as cached
from geomcore.embedding import METHOD_NAMES
from tests.dashboard.conftest import problems, run_page


def test_budget_at_the_maxima_refuses_the_excess_in_order():
    run, refused, total = cached.within_budget(list(METHOD_NAMES), 2000, cached.MAX_GDE_EPOCHS)
    assert total > 2 * cached.MAX_REQUEST_SECONDS
    assert refused and set(run) | set(refused) == set(METHOD_NAMES)
    assert sum(cached.METHOD_SECONDS.get(m, cached.MAX_GDE_EPOCHS * cached.GDE_SECONDS_PER_EPOCH)
               for m in run) <= cached.MAX_REQUEST_SECONDS
    # the page's default choice is never refused
    assert cached.within_budget(["isomap", "gde"], 2000, 100)[1] == []


def test_page_names_the_methods_it_does_not_run(monkeypatch):
    # A small budget on 200 points: the page's wiring, without running the expensive methods
    # (the budget itself is checked above).
    at = run_page("embedding", timeout=60)
    # A seed no other test uses: results computed by other tests in this process (the caches
    # are the server's) would count as free.
    at.number_input(key="emb_seed").set_value(9173)
    at.slider(key="emb_n").set_value(200)
    at.multiselect(key="emb_methods").set_value(["pca", "isomap"])
    at.run()
    assert not problems(at)
    assert not any("Not run" in w.value for w in at.warning)
    monkeypatch.setattr(cached, "MAX_REQUEST_SECONDS", 1.0)
    at.multiselect(key="emb_methods").set_value(["pca", "tsne", "isomap"])
    at.run()
    assert not problems(at)
    shown = [w.value for w in at.warning]
    assert any(w.startswith("Not run: t-SNE.") for w in shown), shown
    assert len(at.get("plotly_chart")) >= 3  # the data and the two methods that ran


def test_methods_already_computed_cost_nothing():
    # All nine at the maxima are refused in part; once computed, asking again is free.
    everything = list(METHOD_NAMES)
    assert cached.within_budget(everything, 2000, cached.MAX_GDE_EPOCHS)[1]
    run, refused, total = cached.within_budget(everything, 2000, cached.MAX_GDE_EPOCHS,
                                               computed=everything)
    assert run == everything and refused == [] and total == 0.0
    # Adding one method to nine computed ones costs that method alone.
    run, refused, total = cached.within_budget(everything, 2000, cached.MAX_GDE_EPOCHS,
                                               computed=[m for m in everything if m != "tsne"])
    assert refused == [] and total == cached.METHOD_SECONDS["tsne"]
