"""The one graph representation the curvature routines compute on (private to the package).

:class:`EdgeGraph` holds a weighted undirected simple graph as arrays: each edge once as
``(u, v)`` with ``u < v`` and its length, plus the symmetric sparse adjacency. networkx graphs
are converted once at the public boundary, so the transport problems and Forman's sums are
set up with array operations instead of per-node Python loops.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

import networkx as nx
import numpy as np
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components

__all__ = ["CurvatureError", "EdgeGraph", "from_csr", "from_networkx"]


class CurvatureError(ValueError):
    """Bad input to a curvature routine; the message says how to fix it."""


@dataclass(frozen=True, eq=False)
class EdgeGraph:
    """A weighted undirected simple graph as arrays.

    Attributes
    ----------
    nodes : list
        Node labels; node ``i`` of the arrays is ``nodes[i]``.
    edges : ndarray, shape=[m, 2], int
        Each edge once, ``edges[:, 0] < edges[:, 1]``.
    lengths : ndarray, shape=[m]
        Edge lengths (> 0).
    adjacency : csr_matrix, shape=[n, n]
        Symmetric, ``adjacency[u, v] = length``; rows sorted by column.
    """

    nodes: list[Hashable]
    edges: np.ndarray
    lengths: np.ndarray
    adjacency: csr_matrix

    @property
    def n(self) -> int:
        return len(self.nodes)

    @property
    def degrees(self) -> np.ndarray:
        """Number of neighbours of each node, shape=[n]."""
        return np.diff(self.adjacency.indptr)

    @property
    def n_components(self) -> int:
        return int(connected_components(self.adjacency, directed=False)[0])

    def median_length(self) -> float:
        """``h``, the median edge length: the graph's own length scale."""
        return float(np.median(self.lengths))

    def to_networkx(self) -> nx.Graph:
        """The graph as ``networkx.Graph`` with edge attribute ``"weight"`` = length."""
        G = nx.Graph()
        G.add_nodes_from(self.nodes)
        G.add_weighted_edges_from(
            (self.nodes[u], self.nodes[v], float(w))
            for (u, v), w in zip(self.edges.tolist(), self.lengths.tolist(), strict=True))
        return G


def from_csr(A: csr_matrix, nodes: list[Hashable] | None = None) -> EdgeGraph:
    """An :class:`EdgeGraph` from a symmetric sparse matrix of edge lengths (upper part read)."""
    n = A.shape[0]
    coo = coo_matrix(A)
    upper = coo.row < coo.col
    u, v, w = coo.row[upper], coo.col[upper], coo.data[upper]
    return _build(list(range(n)) if nodes is None else nodes, u, v, w)


def _build(nodes: list[Hashable], u: np.ndarray, v: np.ndarray, w: np.ndarray) -> EdgeGraph:
    n = len(nodes)
    w = np.asarray(w, dtype=float)
    if w.size and not (np.all(np.isfinite(w)) and np.all(w >= 0)):
        raise CurvatureError("edge weights must be finite lengths >= 0; found a negative, NaN "
                             "or infinite weight")
    # A zero-length edge (duplicate points) must stay an edge: a sparse matrix would drop it.
    w = np.maximum(w, np.finfo(float).tiny)
    order = np.lexsort((v, u))
    u, v, w = u[order], v[order], w[order]
    A = csr_matrix((np.concatenate([w, w]), (np.concatenate([u, v]), np.concatenate([v, u]))),
                   shape=(n, n))
    A.sort_indices()
    return EdgeGraph(nodes=nodes, edges=np.column_stack([u, v]).astype(np.int64), lengths=w,
                     adjacency=A)


def from_networkx(G: nx.Graph, weight: str | None = "weight") -> EdgeGraph:
    """An :class:`EdgeGraph` from an undirected networkx graph.

    ``weight`` names the edge attribute holding the length; ``None`` (or a graph without it)
    gives every edge length 1. Self-loops are ignored (they carry no curvature).

    Raises
    ------
    CurvatureError
        For a directed or multi-graph, an empty graph, or a negative/non-finite length.
    """
    if not isinstance(G, nx.Graph) or G.is_directed() or G.is_multigraph():
        raise CurvatureError("G must be an undirected networkx.Graph (not directed, not a "
                             f"multigraph); got {type(G).__name__}; convert it with "
                             "nx.Graph(G.to_undirected())")
    nodes = list(G.nodes())
    index = {node: i for i, node in enumerate(nodes)}
    rows = [(index[a], index[b], d.get(weight, 1.0) if weight is not None else 1.0)
            for a, b, d in G.edges(data=True) if a != b]
    if not rows:
        raise CurvatureError("G has no edges (self-loops aside); curvature lives on edges")
    arr = np.array(rows, dtype=float)
    a, b = arr[:, 0].astype(np.int64), arr[:, 1].astype(np.int64)
    return _build(nodes, np.minimum(a, b), np.maximum(a, b), arr[:, 2])
