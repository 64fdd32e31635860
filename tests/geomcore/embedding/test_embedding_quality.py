"""Quality measures: agreement with scikit-learn, exact values for perfect and hand-made
embeddings, chance level for a random one."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.manifold import trustworthiness as sklearn_trustworthiness

from geomcore.embedding import (
    EmbeddingError,
    continuity,
    evaluate,
    knn_preservation,
    make,
    trustworthiness,
)


@pytest.mark.parametrize(("n", "k", "seed"), [(60, 5, 0), (400, 10, 1), (700, 25, 2)])
def test_trustworthiness_equals_sklearn(n, k, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    Y = X[:, :2] + 0.3 * rng.normal(size=(n, 2))  # a lossy projection: many intruders
    ours = trustworthiness(X, Y, k)
    assert ours == pytest.approx(sklearn_trustworthiness(X, Y, n_neighbors=k), abs=1e-12)
    assert ours < 0.99  # the comparison is not between two ones
    assert evaluate(X, Y, k)["trustworthiness"] == pytest.approx(ours, abs=1e-15)


def test_continuity_is_trustworthiness_with_roles_swapped():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 4))
    Y = np.tanh(X[:, :2]) + 0.2 * rng.normal(size=(300, 2))
    assert continuity(X, Y, 7) == pytest.approx(sklearn_trustworthiness(Y, X, n_neighbors=7),
                                                abs=1e-12)


def test_knn_preservation_by_hand():
    """4 points on a line, X = 0, 1, 3, 6; in Y = 0, 1, 6, 3 the last two swap places."""
    X = np.array([[0.0], [1.0], [3.0], [6.0]])
    Y = np.array([[0.0], [1.0], [6.0], [3.0]])
    # X neighbours: 0→1, 1→0, 2→1, 3→2. Y neighbours: 0→1, 1→0, 2→3, 3→1.
    # Jaccard per point: 1, 1, 0, 0 → mean 0.5.
    assert knn_preservation(X, Y, 1) == pytest.approx(0.5, abs=1e-15)


def test_identity_embedding_scores_one_everywhere():
    """On a line, graph geodesics are the Euclidean distances exactly, so the identity map
    scores perfectly on every measure (residual variance 0)."""
    t = np.linspace(0.0, 10.0, 300) + np.random.default_rng(0).uniform(0, 0.01, 300)
    X = np.outer(t, [1.0, -2.0, 0.5])
    r = evaluate(X, X, 10, intrinsic=t[:, None])
    for name in ("trustworthiness", "continuity", "knn_preservation", "intrinsic_spearman"):
        assert r[name] == pytest.approx(1.0, abs=1e-12), name
    # A path's summed segments and the direct norm differ by rounding (1e-15 relative), which
    # can swap the ranks of two pairs at equal distance: one swap among 20 000 pairs ~ 1e-9.
    assert r["geodesic_spearman"] == pytest.approx(1.0, abs=1e-8)
    assert r["residual_variance"] == pytest.approx(0.0, abs=1e-12)


def test_isometric_unrolling_scores_near_one_on_the_swiss_roll():
    d = make("swiss_roll", 1000, seed=0)
    r = evaluate(d.X, d.intrinsic, 10, intrinsic=d.intrinsic)
    assert r["intrinsic_spearman"] == pytest.approx(1.0, abs=1e-12)
    # The graph overestimates geodesics by a few per cent (zig-zag paths): correlations stay
    # above 0.99 and local measures near 1.
    assert r["geodesic_spearman"] > 0.99 and r["residual_variance"] < 0.02
    assert r["trustworthiness"] > 0.99 and r["continuity"] > 0.99


def test_random_embedding_scores_near_chance():
    d = make("swiss_roll", 1500, seed=1)
    Y = np.random.default_rng(5).normal(size=(1500, 2))
    r = evaluate(d.X, Y, 10, intrinsic=d.intrinsic)
    # Chance: trustworthiness/continuity 0.5 (a random rank averages (n+1)/2; the standard
    # error over 15000 intruders is about 0.005); Jaccard ≈ k/n; correlations 0.
    assert r["trustworthiness"] == pytest.approx(0.5, abs=0.02)
    assert r["continuity"] == pytest.approx(0.5, abs=0.02)
    assert r["knn_preservation"] < 3 * 10 / 1500
    assert abs(r["geodesic_spearman"]) < 0.03 and abs(r["intrinsic_spearman"]) < 0.03
    assert r["residual_variance"] > 0.99


def test_evaluate_uses_all_pairs_when_few():
    """Below max_pairs every pair is used once: the correlation equals the exact one."""
    from scipy.stats import spearmanr

    d = make("s_curve", 60, seed=0)
    Y = d.intrinsic[:, ::-1] ** 2
    r = evaluate(d.X, Y, 5, intrinsic=d.intrinsic, max_pairs=10_000)
    i, j = np.triu_indices(60, 1)
    exact = spearmanr(np.linalg.norm(d.intrinsic[i] - d.intrinsic[j], axis=1),
                      np.linalg.norm(Y[i] - Y[j], axis=1)).statistic
    assert r["intrinsic_spearman"] == pytest.approx(exact, abs=1e-12)


@pytest.mark.parametrize(("args", "match"), [
    ((np.zeros((10, 3)), np.zeros((9, 2)), 2), "X has 10 points but Y has 9"),
    ((np.zeros((10, 3)), np.zeros((10, 2)), 5), r"n_neighbors=5 must be below n/2 = 5"),
    ((np.full((10, 3), np.nan), np.zeros((10, 2)), 2), "NaN"),
])
def test_bad_inputs_are_refused(args, match):
    with pytest.raises(EmbeddingError, match=match):
        evaluate(*args)
