"""Properties: curvature does not depend on units (×10, and any scale), on node labels or on
edge orientation; Sinkhorn agrees with exact within its stated tolerance and says so when it
does not converge; bad input is refused with the fix in the message."""

from __future__ import annotations

import warnings

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geomcore.curvature import (
    CurvatureError,
    SinkhornConvergenceWarning,
    knn_graph,
    ollivier_ricci,
    ollivier_ricci_points,
    point_curvature,
    sample_surface,
)
from geomcore.curvature.ollivier import DEFAULT_EPSILON


@pytest.fixture(scope="module")
def sphere_1000():
    return sample_surface("sphere", 1000, seed=0).X


@pytest.mark.parametrize("method", ["exact", "sinkhorn", "forman", "forman_augmented"])
@pytest.mark.parametrize("mass", ["uniform", "gaussian"])
def test_units_do_not_matter(sphere_1000, method, mass):
    X = sphere_1000[:400]
    a = point_curvature(X, 10, method=method, mass=mass)
    b = point_curvature(10.0 * X, 10, method=method, mass=mass)
    assert a.status == b.status == "ok"
    assert np.array_equal(a.edges, b.edges)
    # Only rounding differs: every length is divided by the median edge length first.
    tol = 1e-12 if method != "sinkhorn" else 1e-9
    assert np.allclose(a.edge_curvature, b.edge_curvature, rtol=0, atol=tol)
    assert b.scale == pytest.approx(10.0 * a.scale)


@settings(max_examples=15, deadline=None)
@given(scale=st.floats(1e-4, 1e4), seed=st.integers(0, 1000),
       alpha=st.sampled_from([0.0, 0.3, 0.5, 0.9]))
def test_any_scale_and_any_labels(scale, seed, alpha):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(60, 3))
    G = knn_graph(X, 8 if seed % 2 else 12)
    ref = ollivier_ricci(G, alpha=alpha)
    H = nx.Graph()
    perm = rng.permutation(60)
    # Relabel the nodes, reverse each edge's orientation and rescale the lengths.
    H.add_weighted_edges_from((f"n{perm[v]}", f"n{perm[u]}", scale * w)
                              for u, v, w in G.edges(data="weight"))
    out = ollivier_ricci(H, alpha=alpha)
    for (u, v), k in ref.items():
        a, b = f"n{perm[u]}", f"n{perm[v]}"
        assert out.get((a, b), out.get((b, a))) == pytest.approx(k, abs=1e-9)
    assert all(k <= 1.0 + 1e-12 for k in ref.values())  # W₁ >= 0


def test_sinkhorn_agrees_with_exact_within_its_stated_tolerance(sphere_1000):
    exact = ollivier_ricci_points(sphere_1000, 10, method="exact")
    sink = ollivier_ricci_points(sphere_1000, 10, method="sinkhorn")
    assert sink.status == "ok" and sink.message == ""
    diff = sink.edge_curvature - exact.edge_curvature
    # The stated tolerance (geomcore.curvature.ollivier): the entropic plan costs at least W₁,
    # so Sinkhorn is low by ~0.003 on average and at most ~0.05 per edge at ε = 0.05·h.
    assert DEFAULT_EPSILON == 0.05
    assert -0.006 < diff.mean() < 0.0
    assert np.max(np.abs(diff)) < 0.05
    assert np.max(diff) < 2e-3  # never above exact beyond the marginal tolerance
    # Smaller ε, smaller bias.
    fine = ollivier_ricci_points(sphere_1000, 10, method="sinkhorn", epsilon=0.02)
    assert np.max(np.abs(fine.edge_curvature - exact.edge_curvature)) < 0.02


def test_sinkhorn_non_convergence_is_reported():
    G = knn_graph(sample_surface("torus", 200, seed=1).X, 8)
    with pytest.warns(SinkhornConvergenceWarning, match="Sinkhorn stopped after 3 iterations"):
        ollivier_ricci(G, method="sinkhorn", epsilon=0.01, max_iter=3)
    res = ollivier_ricci_points(sample_surface("torus", 200, seed=1).X, 8, method="sinkhorn",
                                epsilon=0.01, max_iter=3)
    assert res.status == "not_converged"
    assert "use the exact method" in res.message
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ollivier_ricci(G, method="sinkhorn")  # converges: no warning


def test_bad_input_is_refused_with_the_fix():
    X = np.random.default_rng(0).normal(size=(20, 3))
    with pytest.raises(CurvatureError, match="at most n_neighbors=19"):
        knn_graph(X, 20)
    two_blobs = np.vstack([X, X + 100.0])
    with pytest.raises(CurvatureError, match="raise n_neighbors to at least 20"):
        ollivier_ricci_points(two_blobs, 5)
    pieces = point_curvature(two_blobs, 5, allow_disconnected=True)
    assert pieces.n_components == 2 and np.all(np.isfinite(pieces.edge_curvature))
    with pytest.raises(CurvatureError, match="alpha"):
        ollivier_ricci(knn_graph(X, 5), alpha=1.0)
    with pytest.raises(CurvatureError, match="method"):
        ollivier_ricci(knn_graph(X, 5), method="fast")
    with pytest.raises(CurvatureError, match="undirected"):
        ollivier_ricci(nx.DiGraph([(0, 1)]))
    with pytest.raises(CurvatureError, match="NaN"):
        knn_graph(np.array([[0.0, 0.0], [1.0, np.nan], [2.0, 0.0]]), 1)


def test_duplicate_points_give_zero_curvature_on_their_edge():
    X = np.random.default_rng(1).normal(size=(30, 2))
    X = np.vstack([X, X[:1]])  # point 30 duplicates point 0
    res = ollivier_ricci_points(X, 6)
    dup = np.flatnonzero((res.edges[:, 0] == 0) & (res.edges[:, 1] == 30))
    assert dup.size == 1 and res.edge_curvature[dup[0]] == 0.0
    assert np.all(np.isfinite(res.edge_curvature))
