"""k-nearest-neighbour graphs of point clouds, the graphs the curvature lab measures.

The graph joins each point to its ``n_neighbors`` nearest points and is taken as undirected
(an edge exists if either end chose the other), with edge length the Euclidean distance: the
same graph as :func:`geomcore.embedding.graph.neighbor_graph`, which builds it here and
reports a disconnected graph with the smallest ``n_neighbors`` that joins it.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
from scipy.sparse import csr_matrix
from sklearn.neighbors import kneighbors_graph

from geomcore._validation import check_int
from geomcore._validation import check_points as validate_points
from geomcore.curvature._graph import CurvatureError, EdgeGraph, from_csr
from geomcore.embedding.graph import EmbeddingError, neighbor_graph

__all__ = ["MAX_POINTS", "knn_edge_graph", "knn_graph"]

MAX_POINTS = 20_000
"""Most points a curvature routine accepts (the transport problems grow with n·k²)."""


def check_points(X: object) -> np.ndarray:
    """``X`` as a finite float64 array of shape [n, D] with ``3 <= n <= MAX_POINTS``."""
    return validate_points("X", X, min_points=3, max_points=MAX_POINTS, error=CurvatureError)


def check_neighbors(n_neighbors: object, n: int) -> int:
    """``n_neighbors`` as an int in ``[1, n - 1]``, or :class:`CurvatureError` with the fix."""
    k = check_int("n_neighbors", n_neighbors, 1, error=CurvatureError)
    if k >= n:
        raise CurvatureError(f"n_neighbors={k} must be smaller than the number of points "
                             f"n={n}; use at most n_neighbors={n - 1} or more points")
    return k


def knn_edge_graph(X: np.ndarray, n_neighbors: int = 10, *,
                   allow_disconnected: bool = False) -> EdgeGraph:
    """The symmetric k-NN graph of ``X`` (shape=[n, D]) as arrays (nodes ``0..n-1``).

    With ``allow_disconnected=True`` a graph in several pieces is returned as it is (Ollivier
    curvature is defined edge by edge, and a network layer that separates its classes into
    clusters is worth seeing); otherwise it raises :class:`CurvatureError` naming the smallest
    ``n_neighbors`` that connects it.
    """
    X = check_points(X)
    k = check_neighbors(n_neighbors, X.shape[0])
    if allow_disconnected:
        A = kneighbors_graph(X, k, mode="distance")
        # Keep zero-length edges (duplicate points) as edges before symmetrising.
        A.data = np.maximum(A.data, np.finfo(float).tiny)
        A = csr_matrix(A.maximum(A.T))
    else:
        try:
            A = neighbor_graph(X, k)
        except EmbeddingError as err:
            raise CurvatureError(str(err)) from err
    return from_csr(A)


def knn_graph(X: np.ndarray, n_neighbors: int = 10) -> nx.Graph:
    """The symmetric k-nearest-neighbour graph of ``X`` as a ``networkx.Graph``.

    Parameters
    ----------
    X : ndarray, shape=[n, D]
        Points; node ``i`` is ``X[i]``.
    n_neighbors : int
        ``k``, with ``1 <= k < n``. Each point is joined to its k nearest others; the graph is
        symmetrised, so a node can have more than k neighbours.

    Returns
    -------
    networkx.Graph
        Nodes ``0..n-1``; edge attribute ``"weight"`` = ``‖x_u − x_v‖``.

    Raises
    ------
    CurvatureError
        If ``k >= n`` or the graph is disconnected (the message gives the smallest ``k`` that
        connects it).
    """
    return knn_edge_graph(X, n_neighbors).to_networkx()
