"""Ollivier's coarse Ricci curvature of a weighted graph, by optimal transport.

For an edge ``(x, y)`` with graph distance ``d(x, y)`` (shortest path),

.. math:: \\kappa(x, y) = 1 - \\frac{W_1(m_x, m_y)}{d(x, y)},

where ``m_x`` keeps mass ``α`` at ``x`` and spreads ``1 − α`` over the neighbours ``z`` of
``x``, uniformly (``mass="uniform"``) or in proportion to ``exp(−(ℓ(x, z)/h)²)``
(``mass="gaussian"``), ``ℓ`` the edge length and ``h`` the graph's median edge length. ``W_1``
is the Wasserstein-1 distance with the shortest-path distance as ground cost.

How it is computed (in-process, no worker pool, so it is safe inside a web server):

* Every length is divided by ``h`` first, so the curvature does not depend on the data's units
  (and neither does Sinkhorn's regularisation, which is ``ε·h``).
* ``W_1`` depends on ``m_x − m_y`` only (Kantorovich–Rubinstein duality), so mass the two
  measures share at a node is cancelled before solving; what is left is a transport problem
  between the positive and negative parts, usually much smaller.
* The ground costs are read from Dijkstra rows limited to ``3·max ℓ`` (no needed path is longer:
  ``d(a, b) ≤ ℓ(a, x) + ℓ(x, y) + ℓ(y, b)``), computed for a block of sources at a time, so
  memory stays ``O(block · n)`` rather than ``n²``.
* ``method="exact"`` solves each edge's problem with POT's network simplex (the solver of
  ``ot.emd2``); ``method="sinkhorn"`` solves all edges at once with Sinkhorn's scaling
  iterations, vectorised over batches of problems padded to a common small shape, with
  regularisation ``ε·h``. The entropic plan's cost ``⟨T, C⟩`` is at least ``W₁``, so Sinkhorn
  curvature is biased low, by about ``0.06·ε/0.05`` on an edge at worst and ``0.003·ε/0.05``
  on average on kNN graphs (a fixed ``ε = 0.1`` in data units, GraphRicciCurvature's, is
  ``ε ≈ h`` on a unit sphere with 1000 points and biases curvature by −0.2 … −0.4). Sinkhorn
  reports the largest marginal error it left; above ``tol`` the result says so
  (``status="not_converged"`` and a warning), never silently.

An edge of (numerically) zero length, from duplicate points, gets curvature 0, as in
GraphRicciCurvature.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Literal

import networkx as nx
import numpy as np
from ot.lp.emd_wrap import emd_c
from scipy.sparse.csgraph import dijkstra

from geomcore._validation import (
    check_choice,
    check_int,
    check_nonnegative_float,
    check_positive_float,
)
from geomcore.curvature._graph import CurvatureError, EdgeGraph, from_networkx

__all__ = [
    "DEFAULT_EPSILON",
    "MASSES",
    "METHODS",
    "OllivierEdges",
    "SinkhornConvergenceWarning",
    "edge_ollivier",
    "ollivier_ricci",
]

METHODS = ("exact", "sinkhorn")
MASSES = ("uniform", "gaussian")
DEFAULT_EPSILON = 0.05
"""Sinkhorn's entropic regularisation in units of the median edge length ``h``: the entropic
blur then lowers kNN-graph curvature by about 0.003 on average and 0.06 at most on an edge (see the
tests); smaller values are closer to exact and slower."""
DEFAULT_TOL = 1e-3
"""Largest accepted Sinkhorn marginal error (L1 norm of ``T·1 − a`` per edge, masses summing to
1): it moves ``W₁`` by at most ``tol`` times the largest cost, a few ``h``."""
MAX_SINKHORN_ITER = 2000
"""Sinkhorn iterations allowed before it stops with ``status="not_converged"``."""
_EMD_MAX_ITER = 100_000  # ot.emd2's default
_OPTIMAL = 1  # the network simplex's result code for an optimal plan
_ZERO_LENGTH = 1e-12  # in units of h: an edge this short joins duplicate points
_COST_CELLS = 8_000_000  # Dijkstra distances held at a time (64 MB)

Method = Literal["exact", "sinkhorn"]
Mass = Literal["uniform", "gaussian"]


class SinkhornConvergenceWarning(UserWarning):
    """Sinkhorn stopped at its iteration limit with marginals still off by more than ``tol``."""


@dataclass(frozen=True, eq=False)
class OllivierEdges:
    """Ollivier curvature of every edge of an :class:`EdgeGraph`, with how it was solved.

    Attributes
    ----------
    curvature : ndarray, shape=[m]
        ``κ`` of ``graph.edges[i]``.
    distance : ndarray, shape=[m]
        ``d(x, y)``, the shortest-path distance of each edge's ends (data units).
    scale : float
        ``h``, the median edge length (data units).
    method : str
    status : str
        ``"ok"``, or ``"not_converged"`` when Sinkhorn left a marginal error above ``tol``.
    message : str
        Empty when ``ok``; otherwise what went wrong and what to change.
    marginal_error : float
        Largest L1 marginal error over the edges (0 for the exact method).
    iterations : int
        Sinkhorn iterations of the slowest batch (0 for exact).
    """

    curvature: np.ndarray
    distance: np.ndarray
    scale: float
    method: str
    status: str = "ok"
    message: str = ""
    marginal_error: float = 0.0
    iterations: int = 0


def _closed_neighbourhoods(graph: EdgeGraph, alpha: float, mass: str, h: float
                           ) -> tuple[np.ndarray, np.ndarray]:
    """Padded closed neighbourhoods ``[x, neighbours...]`` (−1 pads) and the masses of ``m_x``
    on them (0 pads), both shape=[n, 1 + max degree]."""
    A = graph.adjacency
    deg = graph.degrees
    n, width = graph.n, int(deg.max()) + 1
    rows = np.repeat(np.arange(n), deg)
    cols = np.arange(A.indices.size) - np.repeat(A.indptr[:-1], deg) + 1
    nbr = np.full((n, width), -1, dtype=np.int64)
    nbr[:, 0] = np.arange(n)
    nbr[rows, cols] = A.indices
    if mass == "uniform":
        w = np.ones(A.indices.size)
    else:  # gaussian in the edge length measured in h
        w = np.exp(-((A.data / h) ** 2))
    total = np.bincount(rows, weights=w, minlength=n)
    masses = np.zeros((n, width))
    # A node without neighbours keeps all its mass (its measure is a point mass).
    masses[:, 0] = np.where(deg > 0, alpha, 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        masses[rows, cols] = (1.0 - alpha) * w / total[rows]
    return nbr, masses


def _cancelled_problems(nbr: np.ndarray, masses: np.ndarray, edges: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For each edge, the positive and negative parts of ``m_x − m_y`` on the closed
    neighbourhoods: source nodes/masses and target nodes/masses, each shape=[m, width]."""
    src, tgt = nbr[edges[:, 0]], nbr[edges[:, 1]]
    a, b = masses[edges[:, 0]], masses[edges[:, 1]]
    same = (src[:, :, None] == tgt[:, None, :]) & (src[:, :, None] >= 0)
    # A node is listed at most once in each neighbourhood, so these sums pick one partner.
    b_at_src = np.einsum("eij,ej->ei", same, b)
    a_at_tgt = np.einsum("eij,ei->ej", same, a)
    return src, np.maximum(a - b_at_src, 0.0), tgt, np.maximum(b - a_at_tgt, 0.0)


def _compact(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the column order putting the True entries first, and their count."""
    order = np.argsort(~mask, axis=1, kind="stable")
    return order, mask.sum(axis=1)


@dataclass(frozen=True, eq=False)
class _Problems:
    """Each edge's transport problem on the cancelled supports, left-aligned and padded:
    ``a[e, :p[e]]`` at nodes ``src[e, :p[e]]`` to ``b[e, :q[e]]`` at ``tgt[e, :q[e]]``, costs
    ``cost[e, :p[e], :q[e]]`` (in units of ``h``); ``dist[e] = d(x, y)``."""

    a: np.ndarray
    b: np.ndarray
    p: np.ndarray
    q: np.ndarray
    cost: np.ndarray
    dist: np.ndarray


def _problems(graph: EdgeGraph, src: np.ndarray, a: np.ndarray, tgt: np.ndarray,
              b: np.ndarray, progress: Callable[[float], None] | None) -> _Problems:
    """Trim each edge's problem to its nonzero masses and fill in the ground costs from
    Dijkstra rows limited to ``3·max length``, one block of sources at a time
    (``_COST_CELLS`` distances held at once)."""
    ra, p = _compact(a > 0)
    rb, q = _compact(b > 0)
    P, Q = max(1, int(p.max())), max(1, int(q.max()))
    src, a = np.take_along_axis(src, ra, 1)[:, :P], np.take_along_axis(a, ra, 1)[:, :P]
    tgt, b = np.take_along_axis(tgt, rb, 1)[:, :Q], np.take_along_axis(b, rb, 1)[:, :Q]
    m = a.shape[0]
    needed = (np.arange(P) < p[:, None])[:, :, None] & (np.arange(Q) < q[:, None])[:, None, :]
    e, i, j = np.nonzero(needed)
    S, T = src[e, i], tgt[e, j]
    x, y = graph.edges[:, 0], graph.edges[:, 1]
    cost = np.zeros((m, P, Q))
    dist = np.zeros(m)
    A = graph.adjacency
    limit = 3.0 * float(graph.lengths.max()) * (1 + 1e-9)
    n = graph.n
    block = max(1, _COST_CELLS // n)
    starts = range(0, n, block)
    for k, s0 in enumerate(starts):
        s1 = min(s0 + block, n)
        rows = dijkstra(A, directed=False, indices=np.arange(s0, s1), limit=limit)
        if block >= n:
            cost[e, i, j] = rows[S, T]
            dist = rows[x, y]
        else:
            sel = np.flatnonzero((S >= s0) & (S < s1))
            cost[e[sel], i[sel], j[sel]] = rows[S[sel] - s0, T[sel]]
            mine = np.flatnonzero((x >= s0) & (x < s1))
            dist[mine] = rows[x[mine] - s0, y[mine]]
        if progress is not None:
            progress(0.5 * (k + 1) / len(starts))
    if not (np.all(np.isfinite(cost)) and np.all(np.isfinite(dist))):
        # Cannot happen on a simple graph: every needed path has at most three edges.
        raise CurvatureError("a ground cost between neighbourhoods came out infinite; "
                             "report this graph as a bug")
    return _Problems(a=a, b=b, p=p, q=q, cost=cost, dist=dist)


def edge_ollivier(graph: EdgeGraph, *, alpha: float = 0.5, method: str = "exact",
                  mass: str = "uniform", epsilon: float = DEFAULT_EPSILON,
                  max_iter: int = MAX_SINKHORN_ITER, tol: float = DEFAULT_TOL,
                  progress: Callable[[float], None] | None = None) -> OllivierEdges:
    """Ollivier curvature of every edge of ``graph`` (see the module docstring).

    Parameters as in :func:`ollivier_ricci`; ``progress`` is called with the fraction done.
    """
    alpha = check_nonnegative_float("alpha", alpha, error=CurvatureError)
    if not alpha < 1.0:
        raise CurvatureError(f"alpha={alpha!r} must be in [0, 1): the mass kept at the node "
                             "(at 1 nothing moves and every curvature would be 0/0)")
    check_choice("method", method, METHODS, error=CurvatureError)
    check_choice("mass", mass, MASSES, error=CurvatureError)
    epsilon = check_positive_float("epsilon", epsilon, error=CurvatureError)
    max_iter = check_int("max_iter", max_iter, 1, 100_000, error=CurvatureError)
    tol = check_positive_float("tol", tol, error=CurvatureError)
    h = graph.median_length()
    if not h > 0 or h <= np.finfo(float).tiny * 1e3:
        raise CurvatureError("the median edge length is 0 (most points coincide); remove "
                             "duplicate points")
    lengths = graph.lengths / h  # unit-free from here on
    scaled = graph.adjacency.copy()
    scaled.data = scaled.data / h
    unit = EdgeGraph(nodes=graph.nodes, edges=graph.edges, lengths=lengths, adjacency=scaled)
    nbr, masses = _closed_neighbourhoods(unit, alpha, mass, 1.0)
    problems = _problems(unit, *_cancelled_problems(nbr, masses, graph.edges), progress)
    dist = problems.dist
    status, message, err, iters = "ok", "", 0.0, 0
    if method == "exact":
        w1 = _exact(problems, progress)
    else:
        w1, err, iters = _sinkhorn(problems, epsilon, max_iter, tol, progress)
        if err > tol:
            status = "not_converged"
            message = (f"Sinkhorn stopped after {iters} iterations with a marginal error of "
                       f"{err:.2g} (tolerance {tol:g}); the curvatures are approximate. "
                       f"Raise epsilon (now {epsilon:g}·h) or max_iter, or use the exact "
                       "method")
    with np.errstate(invalid="ignore", divide="ignore"):
        kappa = np.where(dist > _ZERO_LENGTH, 1.0 - w1 / np.maximum(dist, _ZERO_LENGTH), 0.0)
    if progress is not None:
        progress(1.0)
    return OllivierEdges(curvature=kappa, distance=dist * h, scale=h, method=method,
                         status=status, message=message, marginal_error=float(err),
                         iterations=int(iters))


def _exact(pr: _Problems, progress: Callable[[float], None] | None) -> np.ndarray:
    """``W_1`` per edge by the network simplex on the cancelled supports.

    This is the solver ``ot.emd2`` runs (``emd_c``), called directly: on these problems of a
    few nodes each, ``ot.emd2``'s backend dispatch costs about 20 times the solve itself. Its
    result code is checked; the tests compare it with ``ot.emd2``.
    """
    m = pr.a.shape[0]
    w1 = np.zeros(m)
    step = max(1, m // 20)
    for e, (p, q) in enumerate(zip(pr.p.tolist(), pr.q.tolist(), strict=True)):
        if p == 0 or q == 0:
            continue  # the measures coincide: W_1 = 0
        ae, be = pr.a[e, :p], pr.b[e, :q]
        # Both parts carry the same mass up to rounding; make it exact for the simplex.
        be = be * (ae.sum() / be.sum())
        _, value, _, _, code = emd_c(ae, be, np.ascontiguousarray(pr.cost[e, :p, :q]),
                                     _EMD_MAX_ITER, 1)
        if code != _OPTIMAL:
            raise CurvatureError(f"the network simplex did not reach an optimum on edge {e} "
                                 f"(code {code}); report this graph as a bug")
        w1[e] = value
        if progress is not None and e % step == 0:
            progress(0.5 + 0.5 * e / m)
    return w1


def _sinkhorn_batch(a: np.ndarray, b: np.ndarray, C: np.ndarray, epsilon: float,
                    max_iter: int, tol: float) -> tuple[np.ndarray, np.ndarray, int]:
    """Sinkhorn's scaling iterations on a batch: masses ``a`` [B, P], ``b`` [B, Q] (zero pads,
    each a probability vector), costs ``C`` [B, P, Q] in units of ``h``.

    ``K = exp(−(C − min_j C)/ε)``: subtracting each row's smallest cost (absorbed in the row
    scaling) leaves a 1 in every row, so no row underflows; costs are a few ``h`` and ``ε`` a
    fraction of ``h``, so the rest of ``K`` stays far from underflow too. A problem leaves the
    iteration once its L1 marginal error is below ``tol``. Returns the plans, each problem's
    marginal error and the iterations of the slowest.
    """
    B = C.shape[0]
    K = np.exp(-(C - C.min(axis=2, keepdims=True)) / epsilon)
    u = np.ones(a.shape)
    v = np.ones(b.shape)
    err = np.full(B, np.inf)
    active = np.arange(B)
    # The unconverged problems' arrays, re-gathered only when that set shrinks.
    Ka, aa, ba, ua, va = K, a, b, u, v
    used = 0
    with np.errstate(divide="ignore", invalid="ignore"):
        for it in range(max_iter):
            ua = aa / np.einsum("bij,bj->bi", Ka, va)
            va = ba / np.einsum("bij,bi->bj", Ka, ua)
            used = it + 1
            if it % 5 == 4 or it == max_iter - 1:
                # Columns are exact after the v-update; the row sums carry the error.
                rows = ua * np.einsum("bij,bj->bi", Ka, va)
                e = np.abs(rows - aa).sum(axis=1)
                e[~np.isfinite(e)] = np.inf
                err[active] = e
                u[active], v[active] = ua, va
                keep = e >= tol
                if not keep.any():
                    break
                if not keep.all():
                    active = active[keep]
                    Ka, aa, ba, ua, va = Ka[keep], aa[keep], ba[keep], ua[keep], va[keep]
    plan = np.nan_to_num(u[:, :, None] * K * v[:, None, :])
    return plan, err, used


def _sinkhorn(pr: _Problems, epsilon: float, max_iter: int, tol: float,
              progress: Callable[[float], None] | None) -> tuple[np.ndarray, float, int]:
    """``⟨T, C⟩`` of the entropic plan per edge, the largest L1 marginal error and the most
    iterations; problems are batched by padded size."""
    p, q = pr.p, pr.q
    w1 = np.zeros(p.size)
    live = np.flatnonzero((p > 0) & (q > 0))
    if live.size == 0:
        return w1, 0.0, 0
    # Batches of one padded shape (sizes rounded up to a multiple of 4), so padding stays small.
    P4, Q4 = -(-p // 4) * 4, -(-q // 4) * 4
    shapes = np.unique(np.column_stack([P4[live], Q4[live]]), axis=0)
    worst, iters, done = 0.0, 0, 0
    for P, Q in shapes.tolist():
        batch = live[(P4[live] == P) & (Q4[live] == Q)]
        P, Q = min(P, pr.a.shape[1]), min(Q, pr.b.shape[1])
        ab, bb = pr.a[batch, :P], pr.b[batch, :Q]
        mass = ab.sum(axis=1)
        # Sinkhorn on probability vectors; the transported mass is put back afterwards.
        ab = ab / mass[:, None]
        bb = bb / bb.sum(axis=1, keepdims=True)
        real = (ab[:, :, None] > 0) & (bb[:, None, :] > 0)
        C = np.where(real, pr.cost[batch, :P, :Q], 0.0)
        plan, err, used = _sinkhorn_batch(ab, bb, C, epsilon, max_iter, tol)
        worst = max(worst, float(np.max(err)))
        iters = max(iters, used)
        w1[batch] = mass * np.sum(plan * C, axis=(1, 2))
        done += batch.size
        if progress is not None:
            progress(0.5 + 0.5 * done / live.size)
    return w1, worst, iters


def ollivier_ricci(G: nx.Graph, alpha: float = 0.5, method: Method = "exact",
                   weight: str | None = "weight", mass: Mass = "uniform", *,
                   epsilon: float = DEFAULT_EPSILON, max_iter: int = MAX_SINKHORN_ITER,
                   tol: float = DEFAULT_TOL) -> dict[tuple[Hashable, Hashable], float]:
    """Ollivier–Ricci curvature ``κ(x, y) = 1 − W₁(m_x, m_y)/d(x, y)`` of every edge of ``G``.

    Parameters
    ----------
    G : networkx.Graph
        Undirected; edge attribute ``weight`` is the edge length (1 where absent).
    alpha : float
        Mass ``m_x`` keeps at ``x``, in ``[0, 1)``.
    method : {"exact", "sinkhorn"}
        Network simplex per edge (POT ``ot.emd2``), or batched entropic transport (POT) with
        regularisation ``epsilon·h``.
    weight : str or None
        Edge attribute holding the length; ``None`` makes every edge length 1.
    mass : {"uniform", "gaussian"}
        How ``1 − α`` is spread over the neighbours: equally, or ∝ ``exp(−(ℓ/h)²)`` with ``h``
        the median edge length.
    epsilon : float
        Sinkhorn's regularisation in units of ``h`` (unit-free).
    max_iter, tol : int, float
        Sinkhorn's iteration limit and accepted L1 marginal error.

    Returns
    -------
    dict
        ``{(u, v): κ}`` for each edge ``(u, v)`` of ``G.edges()``.

    Warns
    -----
    SinkhornConvergenceWarning
        When Sinkhorn stops with a marginal error above ``tol``: the values are approximate.
    """
    graph = from_networkx(G, weight)
    res = edge_ollivier(graph, alpha=alpha, method=method, mass=mass, epsilon=epsilon,
                        max_iter=max_iter, tol=tol)
    if res.status != "ok":
        warnings.warn(res.message, SinkhornConvergenceWarning, stacklevel=2)
    index = {node: i for i, node in enumerate(graph.nodes)}
    lookup = {(int(u), int(v)): float(k)
              for (u, v), k in zip(graph.edges.tolist(), res.curvature, strict=True)}
    out: dict[tuple[Hashable, Hashable], float] = {}
    for u, v in G.edges():
        if u == v:
            continue
        i, j = index[u], index[v]
        out[(u, v)] = lookup[(min(i, j), max(i, j))]
    return out
