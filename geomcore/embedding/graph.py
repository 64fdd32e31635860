"""Neighbour graphs and the geodesic distances Isomap estimates on them.

The k-nearest-neighbour graph joins each point to its ``n_neighbors`` nearest points (edge
weight = Euclidean length; the graph is taken as undirected, an edge existing if either end
chose the other). Shortest paths on it (Dijkstra, :mod:`scipy.sparse.csgraph`) estimate the
manifold's geodesic distances: each edge is a short chord of the manifold, so a path of them
follows the surface. Two things go wrong: a graph in several pieces has infinite distances
(refused here with the smallest ``n_neighbors`` that joins it), and a neighbourhood wider than
the gap between two folds adds *short-circuit* edges that jump across the fold
(:func:`short_circuit_edges`).
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, shortest_path
from sklearn.neighbors import NearestNeighbors

from geomcore._validation import check_int, check_points, check_positive_float

__all__ = [
    "EmbeddingError",
    "geodesic_distances",
    "geodesic_path",
    "graph_distance_error",
    "min_connecting_neighbors",
    "neighbor_graph",
    "short_circuit_edges",
]


class EmbeddingError(ValueError):
    """Bad input to an embedding routine; the message says how to fix it."""


def _as_points(X: object, name: str = "X") -> np.ndarray:
    return check_points(name, X, min_points=2, error=EmbeddingError)

def _check_neighbors(n_neighbors: object, n: int) -> int:
    k = check_int("n_neighbors", n_neighbors, 1, error=EmbeddingError)
    if k >= n:
        raise EmbeddingError(f"n_neighbors={k} must be smaller than the number of points "
                             f"n={n}; use at most n_neighbors={n - 1} or more points")
    return k


def _knn(X: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Distances and indices of the k nearest other points, shape=[n, k], nearest first."""
    nn = NearestNeighbors(n_neighbors=k).fit(X)
    dist, idx = nn.kneighbors(return_distance=True)  # no query: each point excludes itself
    return dist, idx


def _graph(dist: np.ndarray, idx: np.ndarray) -> csr_matrix:
    n, k = idx.shape
    rows = np.repeat(np.arange(n), k)
    # A duplicate point gives a zero-length edge, which a sparse matrix would drop as "no edge";
    # the smallest positive double keeps it an edge of (numerically) zero length.
    weights = np.maximum(dist.ravel(), np.finfo(float).tiny)
    return csr_matrix((weights, (rows, idx.ravel())), shape=(n, n))


def _n_components(dist: np.ndarray, idx: np.ndarray) -> int:
    return int(connected_components(_graph(dist, idx), directed=False)[0])


def min_connecting_neighbors(X: np.ndarray, start: int = 1) -> int:
    """Smallest ``k >= start`` whose k-nearest-neighbour graph on ``X`` is connected.

    The k-NN lists for ``k`` are prefixes of those for ``k + 1``, so connectivity is monotone in
    ``k``: double ``k`` until connected, then bisect on prefixes of one neighbour query.
    Returns ``n - 1`` at most (the complete graph is always connected).
    """
    X = _as_points(X)
    n = X.shape[0]
    lo = check_int("start", start, 1, n - 1, error=EmbeddingError)
    hi = lo
    while True:
        dist, idx = _knn(X, hi)
        if _n_components(dist, idx) == 1:
            break
        lo = hi + 1
        hi = min(2 * hi, n - 1)
    while lo < hi:  # invariant: hi connects, every k < lo does not
        mid = (lo + hi) // 2
        if _n_components(dist[:, :mid], idx[:, :mid]) == 1:
            hi = mid
        else:
            lo = mid + 1
    return hi


def neighbor_graph(X: np.ndarray, n_neighbors: int) -> csr_matrix:
    """The symmetric k-NN graph of ``X``, shape=[n, n] sparse, weights = edge lengths.

    Raises
    ------
    EmbeddingError
        If ``n_neighbors >= n`` or the graph is disconnected; the message gives the smallest
        ``n_neighbors`` that connects it.
    """
    X = _as_points(X)
    k = _check_neighbors(n_neighbors, X.shape[0])
    dist, idx = _knn(X, k)
    pieces = _n_components(dist, idx)
    if pieces > 1:
        need = min_connecting_neighbors(X, start=k + 1)
        raise EmbeddingError(
            f"the {k}-nearest-neighbour graph falls into {pieces} disconnected pieces, so "
            f"geodesic distances between them are infinite; raise n_neighbors to at least "
            f"{need}, or use fewer noisy/isolated points")
    G = _graph(dist, idx)
    return G.maximum(G.T).tocsr()


def geodesic_distances(X: np.ndarray, n_neighbors: int) -> np.ndarray:
    """Graph-geodesic distances: shortest paths on the k-NN graph, shape=[n, n].

    ``D[i, j] = min over paths i = p₀, …, p_m = j of Σ ‖x_{p_t} − x_{p_{t+1}}‖`` with consecutive
    points neighbours. Symmetric, zero diagonal, ``D >= ‖x_i − x_j‖`` (triangle inequality), and
    always finite: a disconnected graph raises :class:`EmbeddingError` with the fix.
    """
    G = neighbor_graph(X, n_neighbors)
    return shortest_path(G, method="D", directed=False)


def geodesic_path(X: np.ndarray, n_neighbors: int, source: int, target: int) -> np.ndarray:
    """Indices of the points on a shortest graph path from ``source`` to ``target``.

    Returns an integer array ``[source, …, target]``; its length along ``X`` is
    ``geodesic_distances(X, n_neighbors)[source, target]``.
    """
    G = neighbor_graph(X, n_neighbors)
    n = G.shape[0]
    source = check_int("source", source, 0, n - 1, error=EmbeddingError)
    target = check_int("target", target, 0, n - 1, error=EmbeddingError)
    _, pred = shortest_path(G, method="D", directed=False, indices=source,
                            return_predecessors=True)
    path = [target]
    while path[-1] != source:
        path.append(int(pred[path[-1]]))
    return np.array(path[::-1], dtype=int)


def short_circuit_edges(X: np.ndarray, intrinsic: np.ndarray, n_neighbors: int, *,
                        ratio: float = 2.0) -> np.ndarray:
    """Edges of the k-NN graph that jump across a fold, shape=[m, 2] (``i < j``).

    An edge ``(i, j)`` is a short circuit when the true geodesic distance, taken as the
    Euclidean distance of isometric ``intrinsic`` coordinates, exceeds ``ratio`` times the
    edge's length ``‖x_i − x_j‖``: a neighbour on the surface is never that much farther along
    it than through space, but a point on the next layer of a roll is.
    """
    X = _as_points(X)
    Z = _as_points(intrinsic, "intrinsic")
    if Z.shape[0] != X.shape[0]:
        raise EmbeddingError(f"intrinsic has {Z.shape[0]} rows but X has {X.shape[0]}; "
                             f"give one intrinsic coordinate row per point")
    ratio = check_positive_float("ratio", ratio, error=EmbeddingError)
    G = neighbor_graph(X, n_neighbors).tocoo()
    upper = G.row < G.col
    i, j, length = G.row[upper], G.col[upper], G.data[upper]
    true = np.linalg.norm(Z[i] - Z[j], axis=1)
    bad = true > ratio * length
    return np.column_stack([i[bad], j[bad]]).astype(int)


def graph_distance_error(X: np.ndarray, intrinsic: np.ndarray, n_neighbors: int, *,
                         sources: int = 100, seed: int = 0) -> float:
    """Mean relative error of graph distances against the true geodesic distances.

    ``mean |D_G(i, j) − ‖z_i − z_j‖| / ‖z_i − z_j‖`` over the pairs from ``sources`` random
    points to every other point, with ``z`` isometric intrinsic coordinates of a convex chart
    (swiss roll, S-curve, helix). Dijkstra runs from the sources only, so the cost is
    ``sources · n log n``, not n².
    """
    X = _as_points(X)
    Z = _as_points(intrinsic, "intrinsic")
    n = X.shape[0]
    sources = check_int("sources", sources, 1, error=EmbeddingError)
    G = neighbor_graph(X, n_neighbors)
    rng = np.random.default_rng(seed)
    src = rng.choice(n, size=min(sources, n), replace=False)
    D = shortest_path(G, method="D", directed=False, indices=src)
    true = np.linalg.norm(Z[src][:, None, :] - Z[None, :, :], axis=-1)
    off = true > 0
    return float(np.mean(np.abs(D[off] - true[off]) / true[off]))
