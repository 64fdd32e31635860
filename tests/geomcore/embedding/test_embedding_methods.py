"""embed(): Isomap unrolls the swiss roll and PCA cannot; every method runs; bad settings are
refused with the numbers of the fix."""

from __future__ import annotations

import numpy as np
import pytest

from geomcore.embedding import METHOD_NAMES, EmbeddingError, embed, evaluate, make


@pytest.fixture(scope="module")
def roll():
    return make("swiss_roll", n=1500, noise=0.0, seed=0)


def test_isomap_unrolls_the_swiss_roll(roll):
    r = evaluate(roll.X, embed("isomap", roll.X, n_neighbors=10), 10, roll.intrinsic)
    assert r["intrinsic_spearman"] >= 0.95 and r["trustworthiness"] >= 0.95


def test_pca_stays_clearly_below_on_the_swiss_roll(roll):
    r = evaluate(roll.X, embed("pca", roll.X), 10, roll.intrinsic)
    # A linear projection squashes the layers onto each other (measured 0.37).
    assert r["intrinsic_spearman"] < 0.6


@pytest.mark.slow
@pytest.mark.parametrize("method", METHOD_NAMES)
def test_every_method_embeds_a_small_s_curve(method):
    d = make("s_curve", n=200, seed=0)
    Y = embed(method, d.X, n_components=2, n_neighbors=10, seed=0)
    assert Y.shape == (200, 2) and Y.dtype == np.float64 and np.all(np.isfinite(Y))
    assert np.std(Y) > 0  # not a collapsed embedding


def test_hessian_lle_names_its_neighbour_rule():
    X = make("s_curve", n=100).X
    with pytest.raises(EmbeddingError, match=r"n_neighbors > n_components·\(n_components\+3\)/2"
                                             r": with n_components=2 use n_neighbors >= 6 "
                                             r"\(got 5\)"):
        embed("hessian_lle", X, n_neighbors=5)
    with pytest.raises(EmbeddingError, match=r"n_components=3 use n_neighbors >= 10"):
        embed("hessian_lle", X, n_components=3, n_neighbors=9)
    assert embed("hessian_lle", X, n_neighbors=6).shape == (100, 2)


@pytest.mark.parametrize("method", ["isomap", "lle", "laplacian", "gde"])
def test_graph_methods_refuse_too_many_neighbours(method):
    X = make("s_curve", n=30).X
    with pytest.raises(EmbeddingError, match=r"n_neighbors=30 must be smaller than the number "
                                             r"of points n=30"):
        embed(method, X, n_neighbors=30)


@pytest.mark.parametrize("method", ["isomap", "laplacian", "ltsa"])
def test_graph_methods_refuse_a_disconnected_graph_with_the_fix(method):
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(40, 3)), rng.normal(size=(40, 3)) + 100.0])
    with pytest.raises(EmbeddingError, match=r"raise n_neighbors to at least 40\b"):
        embed(method, X, n_neighbors=8)


def test_unknown_method_lists_the_known_ones():
    with pytest.raises(EmbeddingError, match=r"'umap' is not one of 'pca', 'isomap'"):
        embed("umap", np.zeros((10, 3)))
