"""Graph-geodesic distances: exact cases (a line, grid lines), the octile bound on a grid,
agreement with scikit-learn's Isomap, refusal of a disconnected graph with the minimal fix,
and convergence to the true geodesic distances of the swiss roll."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.manifold import Isomap

from geomcore.embedding import (
    EmbeddingError,
    geodesic_distances,
    geodesic_path,
    graph_distance_error,
    make,
    min_connecting_neighbors,
    neighbor_graph,
    short_circuit_edges,
)


def _rotation(seed: int) -> np.ndarray:
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))
    return q


def test_points_on_a_line_have_euclidean_geodesics():
    t = np.sort(np.random.default_rng(0).uniform(0, 10, 200))
    X = np.outer(t, [1.0, 2.0, -0.5]) + [3.0, 0.0, 1.0]
    # Exact at any connecting k: every path along the line is straight.
    D = geodesic_distances(X, min_connecting_neighbors(X))
    E = np.linalg.norm(X[:, None] - X[None], axis=-1)
    np.testing.assert_allclose(D, E, rtol=1e-12, atol=1e-12)


@pytest.fixture(scope="module")
def grid():
    """A 20 × 20 unit grid lying flat in 3-D (rotated), with its integer coordinates."""
    ij = np.stack(np.meshgrid(np.arange(20.0), np.arange(20.0), indexing="ij"), -1).reshape(-1, 2)
    X = np.column_stack([ij, np.zeros(len(ij))]) @ _rotation(1).T
    return X, ij


def test_flat_grid_geodesics_are_euclidean_along_lines_and_diagonals(grid):
    X, ij = grid
    D = geodesic_distances(X, 8)
    E = np.linalg.norm(ij[:, None] - ij[None], axis=-1)
    a, b = np.abs(ij[:, None] - ij[None]).transpose(2, 0, 1)
    aligned = (a == 0) | (b == 0) | (a == b)  # a straight chain of grid edges joins them
    np.testing.assert_allclose(D[aligned], E[aligned], rtol=1e-12, atol=1e-12)


def test_flat_grid_geodesics_obey_the_octile_bound(grid):
    """With 8 neighbours the graph holds the axis and diagonal edges, so the graph distance
    lies between the Euclidean distance and the octile one, max(a,b) + (√2 − 1)·min(a,b), at
    most √(4 − 2√2) ≈ 1.0824 times the Euclidean."""
    X, ij = grid
    D = geodesic_distances(X, 8)
    E = np.linalg.norm(ij[:, None] - ij[None], axis=-1)
    a, b = np.abs(ij[:, None] - ij[None]).transpose(2, 0, 1)
    octile = np.maximum(a, b) + (np.sqrt(2) - 1) * np.minimum(a, b)
    assert np.all(D >= E - 1e-12) and np.all(D <= octile + 1e-12)
    off = E > 0
    assert np.max(D[off] / E[off]) <= np.sqrt(4 - 2 * np.sqrt(2)) + 1e-12


def test_geodesic_distances_equal_sklearn_isomap_graph():
    X = make("swiss_roll", 400, seed=2).X
    ours = geodesic_distances(X, 9)
    theirs = Isomap(n_neighbors=9).fit(X).dist_matrix_
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


def test_geodesic_path_has_the_geodesic_length():
    d = make("swiss_roll", 500, seed=3)
    D = geodesic_distances(d.X, 10)
    path = geodesic_path(d.X, 10, 0, 250)
    assert path[0] == 0 and path[-1] == 250
    length = np.sum(np.linalg.norm(np.diff(d.X[path], axis=0), axis=1))
    assert length == pytest.approx(D[0, 250], rel=1e-12)


def _two_clusters():
    rng = np.random.default_rng(4)
    return np.vstack([rng.normal(size=(30, 3)), rng.normal(size=(20, 3)) + 50.0])


def test_disconnected_graph_is_refused_with_the_smallest_k_that_connects_it():
    X = _two_clusters()
    # The clusters join only once a point of the 20-point cluster reaches across (k >= 20).
    k_min = min_connecting_neighbors(X)
    assert k_min == 20
    with pytest.raises(EmbeddingError, match=r"raise n_neighbors to at least 20\b"):
        geodesic_distances(X, 5)
    assert np.all(np.isfinite(geodesic_distances(X, k_min)))


def test_min_connecting_neighbors_is_minimal_on_random_points():
    X = np.random.default_rng(0).uniform(size=(300, 3)) ** 4  # crowded corner, sparse rest
    k = min_connecting_neighbors(X)
    assert k >= 2
    with pytest.raises(EmbeddingError, match=rf"raise n_neighbors to at least {k}\b"):
        neighbor_graph(X, k - 1)
    neighbor_graph(X, k)  # connected: no error


@pytest.mark.parametrize(("k", "match"), [(50, r"n_neighbors=50 must be smaller than the number "
                                               r"of points n=50; use at most n_neighbors=49"),
                                          (0, r"n_neighbors >= 1")])
def test_bad_n_neighbors_is_refused(k, match):
    with pytest.raises(EmbeddingError, match=match):
        geodesic_distances(_two_clusters(), k)


def test_graph_distances_converge_to_true_geodesics_as_n_grows():
    """k ≈ 0.3·√n: neighbourhoods shrink in space (radius ∝ n^-1/4) while holding more points,
    the regime of Bernstein et al. (2000). Below the short-circuit size (checked: no edge jumps
    a layer) the mean relative error falls by a clear factor at each doubling of n."""
    errors = []
    for n in (500, 1000, 2000):
        d = make("swiss_roll", n, seed=0)
        k = round(0.3 * np.sqrt(n))
        assert len(short_circuit_edges(d.X, d.intrinsic, k)) == 0
        errors.append(graph_distance_error(d.X, d.intrinsic, k))
    # Measured 0.090, 0.055, 0.027.
    assert errors[0] > 1.4 * errors[1] > 1.4 * 1.4 * errors[2]
    assert errors[2] < 0.035


def test_short_circuits_appear_once_neighbourhoods_span_the_layers():
    d = make("swiss_roll", 500, seed=0)
    assert len(short_circuit_edges(d.X, d.intrinsic, 6)) == 0
    edges = short_circuit_edges(d.X, d.intrinsic, 12)
    assert len(edges) > 0
    # Each flagged edge joins two different layers: the spiral angle differs by about 2π.
    t = np.hypot(d.X[:, 0], d.X[:, 2])
    assert np.all(np.abs(t[edges[:, 0]] - t[edges[:, 1]]) > np.pi)
