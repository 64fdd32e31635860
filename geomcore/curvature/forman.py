"""Forman's combinatorial Ricci curvature of a weighted graph, plain and augmented.

Forman's curvature of a cell complex, for the 1-complex of a graph with node weights 1 and edge
weights ``w`` (here the edge lengths), is (Sreejith et al. 2016)

.. math:: F(e) = w_e\\Big(\\frac{2}{w_e} - \\sum_{e' \\sim e}
          \\frac{1}{\\sqrt{w_e w_{e'}}}\\Big) = 2 - \\sum_{e' \\sim e}\\sqrt{w_e / w_{e'}},

the sum over the edges ``e'`` sharing one end with ``e``. It only depends on length ratios, so
it is unit-free; on an unweighted graph it is ``4 − d_u − d_v``. On a kNN graph every node has
about ``k`` to ``2k`` neighbours, so ``F`` is dominated by the degrees (about −7.5 at
``k = 10`` whatever the shape): it ranks edges by how crowded their ends are, and says little
about the shape.

The *augmented* curvature (Samal et al. 2018) adds the triangles as 2-cells: an edge gains
``w_e²/w_t`` per triangle ``t`` containing it, and two edges of a common triangle are no longer
"parallel", so their terms leave the sum:

.. math:: F^\\#(e) = \\sum_{t \\ni e}\\frac{w_e^2}{w_t} + 2
          - \\sum_{e' \\sim e,\\ e' \\not\\subset t \\ni e}\\sqrt{w_e / w_{e'}}.

The triangle weight is ``w_t = (w_a w_b w_c)^{2/3}``, the squared geometric mean of its edge
lengths: a length² like ``w_e²``, so ``F^#`` stays unit-free, and 1 for an unweighted graph,
where ``F^# = 4 − d_u − d_v + 3·#triangles`` (GraphRicciCurvature's "augmented").
"""

from __future__ import annotations

from collections.abc import Hashable

import networkx as nx
import numpy as np

from geomcore.curvature._graph import EdgeGraph, from_networkx

__all__ = ["edge_forman", "forman_ricci"]


def edge_forman(graph: EdgeGraph, *, augmented: bool = False) -> np.ndarray:
    """Forman curvature of each edge of ``graph`` (order of ``graph.edges``), shape=[m]."""
    u, v = graph.edges[:, 0], graph.edges[:, 1]
    w = graph.lengths
    # S(x) = Σ_{e' ∋ x} 1/√w_{e'}; the sum over e' ~ e is √w_e (S(u) + S(v)) − 2.
    inv = 1.0 / np.sqrt(w)
    S = np.bincount(u, weights=inv, minlength=graph.n) + np.bincount(v, weights=inv,
                                                                     minlength=graph.n)
    F = 4.0 - np.sqrt(w) * (S[u] + S[v])
    if not augmented:
        return F
    n = graph.n
    A = graph.adjacency
    code = u * n + v  # sorted: the edges are lexsorted by (u, v)
    deg = graph.degrees
    # Wedges centred at c: pairs (a, b), a < b, of c's neighbours; closed ones are triangles,
    # each seen once from each corner, i.e. once for each of its edges (a, b).
    nb = A.indices
    pairs_i, pairs_j = [], []
    for d in np.unique(deg):
        if d < 2:
            continue
        centres = np.flatnonzero(deg == d)
        ii, jj = np.triu_indices(int(d), 1)
        start = A.indptr[centres][:, None]
        pairs_i.append((start + ii).ravel())
        pairs_j.append((start + jj).ravel())
    if not pairs_i:
        return F
    pi, pj = np.concatenate(pairs_i), np.concatenate(pairs_j)
    a, b = nb[pi], nb[pj]  # a < b: each row of the adjacency is sorted
    pos = np.searchsorted(code, a * n + b)
    pos = np.minimum(pos, code.size - 1)
    closed = code[pos] == a * n + b
    e = pos[closed]
    wa, wb = A.data[pi[closed]], A.data[pj[closed]]  # lengths of (c, a) and (c, b)
    we = w[e]
    face = (we * wa * wb) ** (2.0 / 3.0)
    gain = we**2 / face + np.sqrt(we / wa) + np.sqrt(we / wb)
    return F + np.bincount(e, weights=gain, minlength=F.size)


def forman_ricci(G: nx.Graph, augmented: bool = False, weight: str | None = "weight"
                 ) -> dict[tuple[Hashable, Hashable], float]:
    """Forman–Ricci curvature of every edge of ``G`` (see the module docstring).

    Parameters
    ----------
    G : networkx.Graph
        Undirected; edge attribute ``weight`` is the edge length (1 where absent).
    augmented : bool
        Count triangles as 2-cells (``F^#``).
    weight : str or None
        Edge attribute holding the length; ``None`` makes every edge length 1.

    Returns
    -------
    dict
        ``{(u, v): F}`` for each edge ``(u, v)`` of ``G.edges()``.
    """
    graph = from_networkx(G, weight)
    values = edge_forman(graph, augmented=augmented)
    index = {node: i for i, node in enumerate(graph.nodes)}
    lookup = {(int(a), int(b)): float(f)
              for (a, b), f in zip(graph.edges.tolist(), values, strict=True)}
    return {(x, y): lookup[(min(index[x], index[y]), max(index[x], index[y]))]
            for x, y in G.edges() if x != y}
