"""How well an embedding ``Y`` of data ``X`` keeps its neighbourhoods and distances.

Local measures (neighbourhoods of size k):

* **trustworthiness** (Venna & Kaski 2001): are the embedding's neighbours true neighbours?
  ``T = 1 − 2/(n k (2n − 3k − 1)) Σ_i Σ_{j ∈ U_k(i)} (r_X(i, j) − k)``, where ``U_k(i)`` are
  the points among i's k nearest in ``Y`` but not in ``X`` and ``r_X(i, j)`` is j's rank by
  distance from i in ``X``. Equal to :func:`sklearn.manifold.trustworthiness`.
* **continuity**: the same with X and Y swapped: are true neighbours kept together?
* **knn_preservation**: mean Jaccard index ``|N_X(i) ∩ N_Y(i)| / |N_X(i) ∪ N_Y(i)|``.

Global measures, on random pairs (``max_pairs`` of them, so the cost stays bounded):

* **geodesic_spearman**: Spearman rank correlation of the data's graph-geodesic distances
  (k-NN graph, :func:`~geomcore.embedding.graph.geodesic_distances`) with embedding distances;
* **residual_variance**: Isomap's ``1 − R²``, R the Pearson correlation of those two;
* **intrinsic_spearman**: Spearman correlation of distances between the true intrinsic
  coordinates with embedding distances (only when they are given).

All are 1 (0 for residual variance) for a perfect embedding.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse.csgraph import shortest_path
from scipy.stats import pearsonr, spearmanr
from sklearn.neighbors import NearestNeighbors

from geomcore._validation import check_int, check_points, check_seed
from geomcore.embedding.graph import EmbeddingError, neighbor_graph

__all__ = ["METRIC_NAMES", "continuity", "evaluate", "intrinsic_spearman", "knn_preservation",
           "out_of_sample_offset", "trustworthiness"]

METRIC_NAMES = ("trustworthiness", "continuity", "knn_preservation", "geodesic_spearman",
                "residual_variance", "intrinsic_spearman")
"""Keys of :func:`evaluate`'s result (the last only when ``intrinsic`` is given)."""

_CHUNK_CELLS = 2**23
"""Comparisons held at once when ranking (8 MB of booleans): memory never grows as n²·k."""


def _points(X: object, name: str) -> np.ndarray:
    return check_points(name, X, min_points=3, column=True, error=EmbeddingError)

def _pair(X: object, Y: object, n_neighbors: object) -> tuple[np.ndarray, np.ndarray, int]:
    X, Y = _points(X, "X"), _points(Y, "Y")
    if X.shape[0] != Y.shape[0]:
        raise EmbeddingError(f"X has {X.shape[0]} points but Y has {Y.shape[0]}; an embedding "
                             f"has one row per data point")
    n = X.shape[0]
    k = check_int("n_neighbors", n_neighbors, 1, error=EmbeddingError)
    if k >= n / 2:
        # The normalisation 2n − 3k − 1 of trustworthiness needs k < n/2 (scikit-learn's rule).
        raise EmbeddingError(f"n_neighbors={k} must be below n/2 = {n / 2:g}; use a smaller "
                             f"n_neighbors or more points")
    return X, Y, k


def _knn_sets(X: np.ndarray, k: int) -> np.ndarray:
    return NearestNeighbors(n_neighbors=k).fit(X).kneighbors(return_distance=False)


def _trust(X: np.ndarray, k: int, nx: np.ndarray, ny: np.ndarray) -> float:
    """Trustworthiness from the k-NN lists ``nx`` (in X) and ``ny`` (in the embedding).

    The rank of j from i in X is ``1 + #{l ≠ i : ‖x_i − x_l‖ < ‖x_i − x_j‖}``: counted by
    comparison against one row of distances, never by sorting the n × n matrix.
    """
    n = X.shape[0]
    intruder = ~np.any(ny[:, :, None] == nx[:, None, :], axis=2)  # shape=[n, k]
    sq = np.einsum("ij,ij->i", X, X)
    rows_at_once = max(1, _CHUNK_CELLS // (k * n))
    penalty = 0.0
    for start in range(0, n, rows_at_once):
        rows = np.arange(start, min(start + rows_at_once, n))
        D = sq[rows, None] - 2.0 * X[rows] @ X.T + sq[None, :]  # squared: same order
        D[np.arange(rows.size), rows] = -np.inf  # i itself counts as "closer": rank from 1
        d = np.take_along_axis(D, ny[rows], axis=1)  # shape=[rows, k]
        rank = np.sum(D[:, None, :] < d[:, :, None], axis=2)
        penalty += float(np.sum((rank - k)[intruder[rows]]))
    return 1.0 - 2.0 / (n * k * (2.0 * n - 3.0 * k - 1.0)) * penalty


def trustworthiness(X: np.ndarray, Y: np.ndarray, n_neighbors: int = 10) -> float:
    """Trustworthiness of ``Y`` (shape=[n, d]) as an embedding of ``X`` (shape=[n, D]).

    See the module docstring for the formula; in [0, 1], 1 when every embedding neighbour is a
    data neighbour. Memory is bounded (8 MB of comparisons at once), time O(n² k).
    """
    X, Y, k = _pair(X, Y, n_neighbors)
    return _trust(X, k, _knn_sets(X, k), _knn_sets(Y, k))


def continuity(X: np.ndarray, Y: np.ndarray, n_neighbors: int = 10) -> float:
    """Continuity of ``Y`` as an embedding of ``X``: trustworthiness with the roles swapped."""
    X, Y, k = _pair(X, Y, n_neighbors)
    return _trust(Y, k, _knn_sets(Y, k), _knn_sets(X, k))


def _jaccard(nx: np.ndarray, ny: np.ndarray) -> float:
    k = nx.shape[1]
    # Neighbour lists hold distinct indices, so |A ∩ B| = 2k − |A ∪ B| from a sorted merge.
    both = np.sort(np.concatenate([nx, ny], axis=1), axis=1)
    common = np.sum(both[:, 1:] == both[:, :-1], axis=1)
    return float(np.mean(common / (2 * k - common)))


def knn_preservation(X: np.ndarray, Y: np.ndarray, n_neighbors: int = 10) -> float:
    """Mean Jaccard index of the k-NN sets of each point in ``X`` and in ``Y``, in [0, 1]."""
    X, Y, k = _pair(X, Y, n_neighbors)
    return _jaccard(_knn_sets(X, k), _knn_sets(Y, k))


def _pairs(n: int, max_pairs: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """All pairs i < j if there are at most ``max_pairs``, else that many random ones."""
    if n * (n - 1) // 2 <= max_pairs:
        return np.triu_indices(n, 1)
    i = rng.integers(0, n, 2 * max_pairs)
    j = rng.integers(0, n, 2 * max_pairs)
    keep = i != j
    return i[keep][:max_pairs], j[keep][:max_pairs]


def evaluate(X: np.ndarray, Y: np.ndarray, n_neighbors: int = 10,
             intrinsic: np.ndarray | None = None, *, max_pairs: int = 20_000,
             sources: int = 200, seed: int = 0) -> dict[str, float]:
    """Every quality measure of the embedding ``Y`` of ``X`` (see the module docstring).

    Parameters
    ----------
    X : ndarray, shape=[n, D]
        The data.
    Y : ndarray, shape=[n, d]
        Its embedding, one row per data point.
    n_neighbors : int
        Neighbourhood size of the local measures and of the geodesic graph, ``k < n/2``.
    intrinsic : ndarray, shape=[n, m], optional
        True intrinsic coordinates; adds ``intrinsic_spearman``.
    max_pairs : int
        Most pairs the correlations use (all pairs when there are fewer).
    sources : int
        Graph-geodesic distances are computed from this many random points (Dijkstra per
        source); the pairs of the geodesic measures have one end among them.
    seed : int
        Seed of the pair sampling.

    Returns
    -------
    dict[str, float]
        Keys :data:`METRIC_NAMES` (``intrinsic_spearman`` only with ``intrinsic``).

    Raises
    ------
    EmbeddingError
        On mismatched shapes, ``n_neighbors >= n/2`` or a disconnected neighbour graph of ``X``.
    """
    X, Y, k = _pair(X, Y, n_neighbors)
    n = X.shape[0]
    max_pairs = check_int("max_pairs", max_pairs, 10, error=EmbeddingError)
    sources = check_int("sources", sources, 1, error=EmbeddingError)
    rng = np.random.default_rng(check_seed(seed, error=EmbeddingError))
    nx, ny = _knn_sets(X, k), _knn_sets(Y, k)
    out = {
        "trustworthiness": _trust(X, k, nx, ny),
        "continuity": _trust(Y, k, ny, nx),
        "knn_preservation": _jaccard(nx, ny),
    }

    # Geodesic pairs: Dijkstra from a few sources only, then pairs (source, any other point).
    src = np.sort(rng.choice(n, size=min(sources, n), replace=False))
    G = neighbor_graph(X, k)
    D_src = shortest_path(G, method="D", directed=False, indices=src)
    a = rng.integers(0, src.size, 2 * max_pairs)
    b = rng.integers(0, n, 2 * max_pairs)
    keep = src[a] != b
    a, b = a[keep][:max_pairs], b[keep][:max_pairs]
    if src.size == n and n * (n - 1) // 2 <= max_pairs:
        a, b = np.triu_indices(n, 1)  # small n: every pair, exactly once
    d_geo = D_src[a, b]
    d_emb = np.linalg.norm(Y[src[a]] - Y[b], axis=1)
    out["geodesic_spearman"] = float(spearmanr(d_geo, d_emb).statistic)
    out["residual_variance"] = float(1.0 - pearsonr(d_geo, d_emb).statistic ** 2)

    if intrinsic is not None:
        Z = _points(intrinsic, "intrinsic")
        if Z.shape[0] != n:
            raise EmbeddingError(f"intrinsic has {Z.shape[0]} rows but X has {n}; give one "
                                 f"row of intrinsic coordinates per point")
        out["intrinsic_spearman"] = _intrinsic_spearman(Y, Z, max_pairs, rng)
    return out


def _intrinsic_spearman(Y: np.ndarray, Z: np.ndarray, max_pairs: int,
                        rng: np.random.Generator) -> float:
    i, j = _pairs(Y.shape[0], max_pairs, rng)
    return float(spearmanr(np.linalg.norm(Z[i] - Z[j], axis=1),
                           np.linalg.norm(Y[i] - Y[j], axis=1)).statistic)


def intrinsic_spearman(Y: np.ndarray, intrinsic: np.ndarray, *, max_pairs: int = 20_000,
                       seed: int = 0) -> float:
    """Spearman correlation of true intrinsic distances with embedding distances.

    ``ρ_s(‖z_i − z_j‖, ‖y_i − y_j‖)`` over all pairs, or ``max_pairs`` random ones. The same
    number as :func:`evaluate`'s ``intrinsic_spearman``, for points that have no data graph of
    their own (e.g. fresh points embedded by a fitted map).

    Parameters
    ----------
    Y : ndarray, shape=[n, d]
        Embedding.
    intrinsic : ndarray, shape=[n, m]
        True intrinsic coordinates of the same points.
    """
    Y, Z = _points(Y, "Y"), _points(intrinsic, "intrinsic")
    if Z.shape[0] != Y.shape[0]:
        raise EmbeddingError(f"intrinsic has {Z.shape[0]} rows but Y has {Y.shape[0]}; give "
                             "one row of intrinsic coordinates per point")
    max_pairs = check_int("max_pairs", max_pairs, 10, error=EmbeddingError)
    rng = np.random.default_rng(check_seed(seed, error=EmbeddingError))
    return _intrinsic_spearman(Y, Z, max_pairs, rng)


def out_of_sample_offset(X_train: np.ndarray, Y_train: np.ndarray, X_new: np.ndarray,
                         Y_new: np.ndarray) -> float:
    """How far a fitted map puts new points from where the in-sample map put their neighbours.

    ``median_i ‖y_new,i − y_train,nn(i)‖ / s``, where ``nn(i)`` is the training point nearest
    to ``x_new,i`` in data space and ``s = sqrt(mean ‖y_train − ȳ_train‖²)`` the spread of
    the training embedding. Near 0 (of the order of the neighbour spacing, about
    ``n^(-1/d)``) when ``transform`` agrees with the in-sample embedding; of order 1 when it
    puts new points elsewhere.

    Parameters
    ----------
    X_train : ndarray, shape=[n, D]
    Y_train : ndarray, shape=[n, d]
        The training data and their in-sample embedding.
    X_new : ndarray, shape=[m, D]
    Y_new : ndarray, shape=[m, d]
        New points and their out-of-sample embedding.
    """
    X_train, Y_train = _points(X_train, "X_train"), _points(Y_train, "Y_train")
    X_new, Y_new = _points(X_new, "X_new"), _points(Y_new, "Y_new")
    if X_train.shape[0] != Y_train.shape[0] or X_new.shape[0] != Y_new.shape[0]:
        raise EmbeddingError("each embedding needs one row per data point: got "
                             f"{X_train.shape[0]}/{Y_train.shape[0]} training and "
                             f"{X_new.shape[0]}/{Y_new.shape[0]} new rows")
    if X_new.shape[1] != X_train.shape[1] or Y_new.shape[1] != Y_train.shape[1]:
        raise EmbeddingError("new points must have the training data's and the embedding's "
                             "dimensions")
    nearest = NearestNeighbors(n_neighbors=1).fit(X_train).kneighbors(
        X_new, return_distance=False)[:, 0]
    spread = float(np.sqrt(np.mean(np.sum((Y_train - Y_train.mean(axis=0)) ** 2, axis=1))))
    if spread == 0:
        raise EmbeddingError("the training embedding has collapsed to one point, so offsets "
                             "relative to its spread are undefined")
    return float(np.median(np.linalg.norm(Y_new - Y_train[nearest], axis=1)) / spread)
