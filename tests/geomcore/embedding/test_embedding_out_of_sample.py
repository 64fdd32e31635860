"""Out-of-sample measures and the fitted-estimator route of the embedding methods."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from geomcore.embedding import (
    EmbeddingError,
    embed,
    evaluate,
    fit_embedding,
    intrinsic_spearman,
    make,
    out_of_sample_offset,
)


@pytest.fixture(scope="module")
def roll():
    return make("swiss_roll", n=800, seed=0)


def test_fit_embedding_returns_the_estimator_that_made_the_embedding(roll):
    est, Y = fit_embedding("isomap", roll.X, n_neighbors=10)
    np.testing.assert_allclose(Y, embed("isomap", roll.X, n_neighbors=10), atol=1e-9)
    # Isomap's transform of its own training points is its embedding (up to the eigen-solver).
    np.testing.assert_allclose(est.transform(roll.X[:50]), Y[:50], atol=1e-6 * np.ptp(Y))


def test_fit_embedding_reports_gde_progress_per_epoch(roll):
    seen: list[float] = []
    _, Y = fit_embedding("gde", roll.X[:200], n_neighbors=10, progress=seen.append)
    assert Y.shape == (200, 2)
    assert len(seen) == 100 and seen[-1] == pytest.approx(1.0)
    assert np.all(np.diff(seen) > 0)


def test_intrinsic_spearman_is_one_for_an_isometry_and_matches_a_direct_spearman(roll):
    Z = roll.intrinsic
    rot = np.array([[0.6, -0.8], [0.8, 0.6]])
    assert intrinsic_spearman(Z @ rot + 5.0, Z) == pytest.approx(1.0, abs=1e-12)
    # All pairs when there are few: equals scipy's Spearman of the two distance lists.
    Y = embed("pca", roll.X[:60])
    i, j = np.triu_indices(60, 1)
    direct = spearmanr(np.linalg.norm(Z[:60][i] - Z[:60][j], axis=1),
                       np.linalg.norm(Y[i] - Y[j], axis=1)).statistic
    assert intrinsic_spearman(Y, Z[:60]) == pytest.approx(direct, abs=1e-12)


def test_intrinsic_spearman_of_a_random_embedding_is_near_zero(roll):
    Y = np.random.default_rng(1).normal(size=(roll.n, 2))
    assert abs(intrinsic_spearman(Y, roll.intrinsic)) < 0.05


def test_out_of_sample_offset_small_for_a_consistent_map_large_for_a_scrambled_one(roll):
    fresh = make("swiss_roll", n=300, seed=5)
    est, Y = fit_embedding("isomap", roll.X, n_neighbors=10)
    fresh_Y = est.transform(fresh.X)
    good = out_of_sample_offset(roll.X, Y, fresh.X, fresh_Y)
    # Neighbour spacing of 800 points on a 2-D sheet: about 800^(-1/2) ≈ 0.035 of the spread.
    assert good < 0.06
    scrambled = fresh_Y[np.random.default_rng(0).permutation(fresh.n)]
    assert out_of_sample_offset(roll.X, Y, fresh.X, scrambled) > 0.5
    # And the fresh points keep the intrinsic geometry.
    assert intrinsic_spearman(fresh_Y, fresh.intrinsic) > 0.95


def test_out_of_sample_offset_refuses_mismatched_and_collapsed_input(roll):
    Y = embed("pca", roll.X)
    with pytest.raises(EmbeddingError, match="one row per data point"):
        out_of_sample_offset(roll.X, Y[:-1], roll.X[:10], Y[:10])
    with pytest.raises(EmbeddingError, match="dimensions"):
        out_of_sample_offset(roll.X, Y, roll.X[:10, :2], Y[:10])
    with pytest.raises(EmbeddingError, match="collapsed"):
        out_of_sample_offset(roll.X, np.zeros_like(Y), roll.X[:10], Y[:10])
    with pytest.raises(EmbeddingError, match="NaN"):
        intrinsic_spearman(np.full((10, 2), np.nan), roll.intrinsic[:10])


def test_evaluate_and_intrinsic_spearman_agree_on_the_same_pairs(roll):
    Y = embed("isomap", roll.X, n_neighbors=10)
    # Different random pairs, same quantity: within sampling noise of 20 000 pairs.
    assert evaluate(roll.X, Y, 10, roll.intrinsic)["intrinsic_spearman"] == pytest.approx(
        intrinsic_spearman(Y, roll.intrinsic, seed=3), abs=2e-3)
