"""Curvature of point clouds in one call: kNN graph, edge curvature, node curvature.

:func:`node_curvature` averages edge curvature over each node's edges. :func:`ollivier_ricci_points`
and :func:`forman_ricci_points` return a :class:`PointCurvature`: the arrays a picture needs
(edges, their curvature, each node's mean and its neighbourhood radius) plus a ``status``.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass

import networkx as nx
import numpy as np

from geomcore._validation import check_choice
from geomcore.curvature._graph import CurvatureError, EdgeGraph
from geomcore.curvature.forman import edge_forman
from geomcore.curvature.graphs import check_neighbors, check_points, knn_edge_graph
from geomcore.curvature.ollivier import (
    DEFAULT_EPSILON,
    DEFAULT_TOL,
    MAX_SINKHORN_ITER,
    edge_ollivier,
)

__all__ = [
    "POINT_METHODS",
    "PointCurvature",
    "forman_ricci_points",
    "node_curvature",
    "node_mean",
    "ollivier_ricci_points",
    "point_curvature",
]

POINT_METHODS = ("exact", "sinkhorn", "forman", "forman_augmented")
"""Methods of :func:`point_curvature`: Ollivier exact / Sinkhorn, Forman plain / augmented."""


def node_curvature(G: nx.Graph, edge_curvature: Mapping[tuple[Hashable, Hashable], float]
                   ) -> dict[Hashable, float]:
    """Mean curvature of the edges at each node: ``κ(x) = (1/deg x) Σ_{y ~ x} κ(x, y)``.

    ``edge_curvature`` is keyed ``(u, v)`` in either orientation (as :func:`ollivier_ricci`
    returns it). A node without edges gets NaN.
    """
    out: dict[Hashable, float] = {}
    for x in G.nodes():
        values = []
        for y in G.neighbors(x):
            if y == x:
                continue
            key = (x, y) if (x, y) in edge_curvature else (y, x)
            if key not in edge_curvature:
                raise CurvatureError(f"edge_curvature has no value for the edge {(x, y)!r}; "
                                     "compute it on the same graph")
            values.append(float(edge_curvature[key]))
        out[x] = float(np.mean(values)) if values else float("nan")
    return out


def node_mean(graph: EdgeGraph, edge_values: np.ndarray) -> np.ndarray:
    """Mean of ``edge_values`` (shape=[m]) over each node's edges, shape=[n] (NaN if none)."""
    u, v = graph.edges[:, 0], graph.edges[:, 1]
    total = np.bincount(u, edge_values, graph.n) + np.bincount(v, edge_values, graph.n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / graph.degrees


def _knn_radius(graph: EdgeGraph, k: int) -> np.ndarray:
    """Distance from each node to its k-th nearest neighbour, shape=[n]: the k shortest edges
    at a node of the symmetrised kNN graph are its own k nearest neighbours."""
    A = graph.adjacency
    out = np.full(graph.n, np.nan)
    for i in range(graph.n):
        row = A.data[A.indptr[i]:A.indptr[i + 1]]
        if row.size:
            out[i] = np.partition(row, min(k, row.size) - 1)[min(k, row.size) - 1]
    return out


@dataclass(frozen=True, eq=False)
class PointCurvature:
    """Discrete Ricci curvature of a point cloud's kNN graph.

    Attributes
    ----------
    X : ndarray, shape=[n, D]
    edges : ndarray, shape=[m, 2], int
        Graph edges ``(u, v)``, ``u < v``.
    lengths : ndarray, shape=[m]
        Euclidean edge lengths.
    edge_curvature : ndarray, shape=[m]
    node_curvature : ndarray, shape=[n]
        Mean over each node's edges.
    radius : ndarray, shape=[n]
        Distance to the k-th nearest neighbour (the neighbourhood's size, "ε").
    n_neighbors : int
    method : str
        One of :data:`POINT_METHODS`.
    alpha : float
        Ollivier's laziness (unused by Forman).
    mass : str
    scale : float
        ``h``, the median edge length.
    n_components : int
        Connected pieces of the graph (1 unless built with ``allow_disconnected``).
    status : str
        ``"ok"`` or ``"not_converged"`` (Sinkhorn; see ``message``).
    message : str
    """

    X: np.ndarray
    edges: np.ndarray
    lengths: np.ndarray
    edge_curvature: np.ndarray
    node_curvature: np.ndarray
    radius: np.ndarray
    n_neighbors: int
    method: str
    alpha: float
    mass: str
    scale: float
    n_components: int = 1
    status: str = "ok"
    message: str = ""

    @property
    def mean(self) -> float:
        """Mean edge curvature."""
        return float(np.mean(self.edge_curvature))


def point_curvature(X: np.ndarray, n_neighbors: int = 10, *, method: str = "exact",
                    alpha: float = 0.5, mass: str = "uniform",
                    epsilon: float = DEFAULT_EPSILON, max_iter: int = MAX_SINKHORN_ITER,
                    tol: float = DEFAULT_TOL, allow_disconnected: bool = False,
                    progress: Callable[[float], None] | None = None) -> PointCurvature:
    """Curvature of the kNN graph of ``X`` with any of :data:`POINT_METHODS`.

    Parameters as in :func:`ollivier_ricci_points`; ``method`` is ``"exact"`` or
    ``"sinkhorn"`` (Ollivier), ``"forman"`` or ``"forman_augmented"``.
    """
    check_choice("method", method, POINT_METHODS, error=CurvatureError)
    X = check_points(X)
    k = check_neighbors(n_neighbors, X.shape[0])
    graph = knn_edge_graph(X, k, allow_disconnected=allow_disconnected)
    status, message = "ok", ""
    if method in ("forman", "forman_augmented"):
        values = edge_forman(graph, augmented=method == "forman_augmented")
        if progress is not None:
            progress(1.0)
    else:
        res = edge_ollivier(graph, alpha=alpha, method=method, mass=mass, epsilon=epsilon,
                            max_iter=max_iter, tol=tol, progress=progress)
        values, status, message = res.curvature, res.status, res.message
    return PointCurvature(
        X=X, edges=graph.edges, lengths=graph.lengths, edge_curvature=values,
        node_curvature=node_mean(graph, values), radius=_knn_radius(graph, k),
        n_neighbors=k, method=method, alpha=float(alpha), mass=mass,
        scale=graph.median_length(), n_components=graph.n_components if allow_disconnected
        else 1, status=status, message=message)


def ollivier_ricci_points(X: np.ndarray, n_neighbors: int = 10, *, alpha: float = 0.5,
                          method: str = "exact", mass: str = "uniform",
                          epsilon: float = DEFAULT_EPSILON, max_iter: int = MAX_SINKHORN_ITER,
                          tol: float = DEFAULT_TOL, allow_disconnected: bool = False,
                          progress: Callable[[float], None] | None = None) -> PointCurvature:
    """Ollivier–Ricci curvature of the kNN graph of ``X`` (shape=[n, D]) in one call.

    ``knn_edge_graph(X, n_neighbors)`` then :func:`~geomcore.curvature.ollivier.ollivier_ricci`
    on it (``alpha``, ``method`` in ``{"exact", "sinkhorn"}``, ``mass``, ``epsilon`` in units of
    the median edge length, ``max_iter``, ``tol``). A disconnected graph raises
    :class:`CurvatureError` with the smallest ``n_neighbors`` that connects it, unless
    ``allow_disconnected``. Sinkhorn's non-convergence is in ``status``/``message``.
    """
    if method not in ("exact", "sinkhorn"):
        raise CurvatureError(f"method={method!r} is not one of 'exact', 'sinkhorn'")
    return point_curvature(X, n_neighbors, method=method, alpha=alpha, mass=mass,
                           epsilon=epsilon, max_iter=max_iter, tol=tol,
                           allow_disconnected=allow_disconnected, progress=progress)


def forman_ricci_points(X: np.ndarray, n_neighbors: int = 10, *, augmented: bool = False,
                        allow_disconnected: bool = False) -> PointCurvature:
    """Forman–Ricci curvature of the kNN graph of ``X`` (shape=[n, D]) in one call."""
    return point_curvature(X, n_neighbors,
                           method="forman_augmented" if augmented else "forman",
                           allow_disconnected=allow_disconnected)
