"""Shortest latent curves under a decoder's pullback metric, and the straight baseline.

A latent curve is sampled at ``N`` points ``z_0 = z_a, …, z_{N-1} = z_b`` (``t_i = i/(N-1)``)
and measured through the embedding ``f`` of :func:`geomcore.latent.metric.embedding` (the
decoder, or ``(μ, σ)`` for a stochastic one), with ``x_i = f(z_i)``:

    length  L = Σ_i |x_{i+1} − x_i|,
    energy  E = (N − 1) Σ_i |x_{i+1} − x_i|²  (the discretised ∫ |ẋ|² dt on [0, 1]).

By Cauchy–Schwarz ``E ≥ L²``, with equality exactly when the pieces are equally long (constant
speed). Minimising ``E`` over the interior points therefore gives a constant-speed shortest
curve (a discrete geodesic), as in Arvanitidis et al. and in stochman; ``method="energy"`` does
it with L-BFGS, started from a shortest path through a grid graph (Arvanitidis et al.'s
discretised manifold) and preconditioned by the Gauss–Newton Hessian of the energy (rebuilt
every few dozen iterations), which removes the ``N²`` ill-conditioning of the discretisation.
``method="bvp"`` solves the geodesic equation of the pullback metric

    M(z) z̈ = −J(z)ᵀ D²f(z)[ż, ż]        (M = JᵀJ; from Jᵀ ẍ = 0 with ẍ = J z̈ + D²f[ż, ż])

as a boundary-value problem with ``scipy.integrate.solve_bvp``, started from the energy
method's curve.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import torch
from scipy.integrate import solve_bvp
from torch.func import jacfwd, jvp, vmap

from geomcore._validation import check_choice, check_int, check_positive_float
from geomcore.latent.decoders import Decoder
from geomcore.latent.metric import (
    SINGULAR_RTOL,
    MetricError,
    batched_jacobians,
    embedding,
    latent_points,
    metric_tensor,
)

__all__ = [
    "MAX_CURVE_POINTS",
    "CurveStatus",
    "GeodesicError",
    "GeodesicInit",
    "GeodesicMethod",
    "LatentCurve",
    "curve_energy",
    "curve_length",
    "latent_geodesic",
    "straight_line",
]

MAX_CURVE_POINTS = 1000
"""Most samples of one latent curve."""
CurveStatus = Literal["ok", "not_converged", "singular", "failed"]
"""How a curve computation ended: ``"ok"``; ``"not_converged"`` (the optimiser or the
boundary-value solver stopped short of a geodesic; the curve is still a valid curve between the
two points, so its length bounds the distance from above); ``"singular"`` (``M`` is singular on
the curve: the decoder is flat there in some direction, lengths there can vanish and the
geodesic is not unique); ``"failed"`` (the decoder returned non-finite values)."""
GeodesicMethod = Literal["energy", "bvp"]
METHODS: tuple[str, ...] = ("energy", "bvp")
GeodesicInit = Literal["graph", "straight"]
INITS: tuple[str, ...] = ("graph", "straight")
_REPARAM_REFINE = 8  # samples of the straight line per curve point, for its arc length
_GRAPH_GRID = 32  # nodes per axis of the graph that starts a 2-D geodesic
_ROUND_ITER = 25  # L-BFGS iterations before the preconditioner is rebuilt


@dataclass(frozen=True)
class LatentCurve:
    """A sampled latent curve and its image.

    Attributes
    ----------
    points : ndarray, shape=[N, d]
        Latent samples, ``points[0] = z_a``, ``points[-1] = z_b``.
    decoded : ndarray, shape=[N, D]
        The decoder's output (the mean ``μ`` for a stochastic decoder) at ``points``.
    length, energy : float
        Discrete length and energy in the embedding (module docstring).
    status : CurveStatus
    message : str
        Why the status is not ``"ok"`` (empty otherwise), in plain words.
    method : str
        ``"straight"``, ``"energy"`` or ``"bvp"``.
    iterations : int
        Optimiser iterations (L-BFGS) or solver nodes (bvp); 0 for the straight line.
    """

    points: np.ndarray
    decoded: np.ndarray
    length: float
    energy: float
    status: CurveStatus = "ok"
    message: str = ""
    method: str = "straight"
    iterations: int = 0

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class GeodesicError(MetricError):
    """Bad input to a curve routine (coinciding or non-finite end points, bad sizes)."""


# -- measuring ------------------------------------------------------------------------------------
def _length_energy(X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Discrete length and energy of the embedded samples ``X`` (N, D)."""
    steps = X[1:] - X[:-1]
    sq = (steps * steps).sum(-1)
    return torch.sqrt(sq).sum(), (X.shape[0] - 1) * sq.sum()


def _as_points(curve: LatentCurve | npt.ArrayLike) -> torch.Tensor:
    pts = curve.points if isinstance(curve, LatentCurve) else curve
    Z = latent_points(pts, max_points=MAX_CURVE_POINTS * 64)
    if Z.ndim != 2 or Z.shape[0] < 2:
        raise GeodesicError(f"a curve is an array of shape (N, d) with N ≥ 2, got "
                            f"{tuple(Z.shape)}")
    return Z


def curve_length(decoder: Decoder, curve: LatentCurve | npt.ArrayLike, *,
                 variance: Decoder | None = None, subdivisions: int = 1) -> float:
    """Length of a latent polygon's image.

    Each latent segment is cut into ``subdivisions`` equal pieces and the chords of their
    images are summed: ``subdivisions=1`` is :attr:`LatentCurve.length`; as it grows the sum
    tends to the exact length ``∫ √(żᵀ M(z) ż) dt`` of the piecewise-linear latent curve.

    Parameters
    ----------
    curve : LatentCurve or array_like, shape=[N, d]
    subdivisions : int
        1 … 64.
    """
    sub = check_int("subdivisions", subdivisions, 1, 64, error=GeodesicError)
    Z = _as_points(curve)
    s = torch.linspace(0.0, 1.0, sub + 1, dtype=Z.dtype)[:-1, None]
    fine = (Z[:-1, None, :] + s * (Z[1:] - Z[:-1])[:, None, :]).reshape(-1, Z.shape[1])
    fine = torch.cat([fine, Z[-1:]])
    with torch.no_grad():
        X = embedding(decoder, variance)(fine)
    return float(_length_energy(X)[0])


def curve_energy(decoder: Decoder, curve: LatentCurve | npt.ArrayLike, *,
                 variance: Decoder | None = None) -> float:
    """Discrete energy ``(N − 1) Σ |x_{i+1} − x_i|²`` of a latent curve's image."""
    Z = _as_points(curve)
    with torch.no_grad():
        return float(_length_energy(embedding(decoder, variance)(Z))[1])


def _check_ends(z0: npt.ArrayLike, z1: npt.ArrayLike) -> tuple[torch.Tensor, torch.Tensor]:
    try:
        a = latent_points(z0)
        b = latent_points(z1)
    except MetricError as exc:
        raise GeodesicError(f"bad end point: {exc}") from None
    if a.ndim != 1 or a.shape != b.shape:
        raise GeodesicError(f"the end points must be two vectors of the same length d, got "
                            f"shapes {tuple(a.shape)} and {tuple(b.shape)}")
    scale = max(1.0, float(a.abs().max()), float(b.abs().max()))
    if float((a - b).abs().max()) <= 16 * np.finfo(float).eps * scale:
        raise GeodesicError("the two latent points coincide; choose two different points")
    return a, b


def _finish(decoder: Decoder, variance: Decoder | None, Z: torch.Tensor, *, method: str,
            status: CurveStatus = "ok", message: str = "", iterations: int = 0,
            rtol: float = SINGULAR_RTOL) -> LatentCurve:
    """The :class:`LatentCurve` of samples ``Z``, marked singular where ``M`` is."""
    f = embedding(decoder, variance)
    with torch.no_grad():
        X = f(Z)
        decoded = decoder(Z) if variance is not None else X
        length, energy = _length_energy(X)
    if not (bool(torch.isfinite(X).all()) and math.isfinite(float(energy))):
        return LatentCurve(Z.numpy(), decoded.numpy(), float("nan"), float("nan"), "failed",
                           "the decoder returned values that are not finite along the curve; "
                           "choose points inside the region the decoder was trained on",
                           method, iterations)
    if status in ("ok", "not_converged"):
        try:
            with torch.no_grad():
                lam = torch.linalg.eigvalsh(metric_tensor(f, Z))
        except MetricError as exc:
            lam = None
            status, message = "failed", str(exc)
        if lam is not None:
            flat = (lam[:, -1] <= 0) | (lam[:, 0] <= rtol * lam[:, -1])
            if bool(flat.any()):
                i = int(torch.nonzero(flat)[0])
                where = ", ".join(f"{c:.3g}" for c in Z[i].tolist())
                note = (f"the pullback metric M is singular at {int(flat.sum())} of "
                        f"{Z.shape[0]} points of the curve (first at z = ({where})): the decoder "
                        "is flat there in some direction, so lengths there can vanish and the "
                        "shortest curve is not unique")
                status, message = "singular", (f"{note}; {message}" if message else note)
    return LatentCurve(Z.numpy(), decoded.numpy(), float(length), float(energy), status,
                       message, method, iterations)


def _with_ends(Z: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``Z`` with its first and last rows set to ``a`` and ``b`` exactly (``a + 1·(b − a)``
    can differ from ``b`` in the last bit)."""
    Z[0], Z[-1] = a, b
    return Z


def straight_line(decoder: Decoder, z0: npt.ArrayLike, z1: npt.ArrayLike, n_points: int = 32,
                  *, variance: Decoder | None = None) -> LatentCurve:
    """The straight latent segment ``z(t) = (1 − t) z0 + t z1`` at ``n_points`` equal steps of
    ``t``: the usual latent interpolation, the baseline a geodesic is compared with."""
    n_points = check_int("n_points", n_points, 2, MAX_CURVE_POINTS, error=GeodesicError)
    a, b = _check_ends(z0, z1)
    t = torch.linspace(0.0, 1.0, n_points, dtype=a.dtype)[:, None]
    return _finish(decoder, variance, _with_ends(a + t * (b - a), a, b), method="straight")


def _constant_speed_segment(f: Decoder, a: torch.Tensor, b: torch.Tensor, n: int
                            ) -> torch.Tensor | None:
    """The straight segment sampled at ``n`` points equally spaced in the embedded arc length
    (so its discrete energy is close to its squared length); None if its image has no length."""
    m = _REPARAM_REFINE * (n - 1) + 1
    t = torch.linspace(0.0, 1.0, m, dtype=a.dtype)
    with torch.no_grad():
        X = f(a + t[:, None] * (b - a))
    if not bool(torch.isfinite(X).all()):
        return None
    s = torch.cat([X.new_zeros(1), torch.cumsum((X[1:] - X[:-1]).norm(dim=-1), 0)]).numpy()
    if not s[-1] > 0:
        return None
    # a piece where the image does not move gets none of the samples; np.interp needs s rising
    s = s + 1e-12 * s[-1] * np.linspace(0.0, 1.0, m)
    t_eq = np.interp(np.linspace(0.0, s[-1], n), s, t.numpy())
    return _with_ends(a + torch.as_tensor(t_eq)[:, None] * (b - a), a, b)


def _graph_start(f: Decoder, a: torch.Tensor, b: torch.Tensor, n: int,
                 grid: int = _GRAPH_GRID) -> torch.Tensor | None:
    """A shortest path through a grid graph around the two points, as a start for L-BFGS.

    The box ``[min(a, b) − s/2, max(a, b) + s/2]`` (``s`` the larger coordinate gap) carries a
    ``grid × grid`` lattice whose 8-neighbour edges weigh the chord ``|f(z_i) − f(z_j)|``
    (the discretised manifold of Arvanitidis et al.); ``a`` and ``b`` join their four nearest
    nodes. Dijkstra's path, resampled at ``n`` points equally spaced in its embedded length,
    starts the optimiser near the shortest curve rather than in whatever valley the straight
    segment falls into. None in other dimensions than 2 or where ``f`` is not finite.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import dijkstra

    if a.shape[0] != 2:
        return None
    span = float((b - a).abs().max())
    lo = torch.minimum(a, b) - 0.5 * span
    hi = torch.maximum(a, b) + 0.5 * span
    axes = [torch.linspace(float(lo[k]), float(hi[k]), grid, dtype=a.dtype) for k in range(2)]
    nodes = torch.cat([torch.stack(torch.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 2),
                       a[None], b[None]])
    with torch.no_grad():
        X = f(nodes).reshape(nodes.shape[0], -1)
    if not bool(torch.isfinite(X).all()):
        return None
    idx = np.arange(grid * grid).reshape(grid, grid)
    rows, cols = [], []
    for di, dj in ((0, 1), (1, 0), (1, 1), (1, -1)):
        src = idx[max(0, -di):grid - max(0, di), max(0, -dj):grid - max(0, dj)]
        dst = idx[max(0, di):grid - max(0, -di) or None, max(0, dj):grid - max(0, -dj) or None]
        rows.append(src.ravel())
        cols.append(dst.ravel())
    ends = np.array([grid * grid, grid * grid + 1])
    near = torch.cdist(nodes[-2:], nodes[:-2]).topk(4, largest=False).indices.numpy()
    rows.extend([np.repeat(ends, 4)])
    cols.extend([near.ravel()])
    r, c = np.concatenate(rows), np.concatenate(cols)
    Xn = X.numpy()
    w = np.linalg.norm(Xn[r] - Xn[c], axis=1) + 1e-300  # an edge of zero weight is no edge
    graph = coo_matrix((w, (r, c)), shape=(nodes.shape[0],) * 2).tocsr()
    dist, pred = dijkstra(graph, directed=False, indices=ends[0], return_predecessors=True)
    if not np.isfinite(dist[ends[1]]):
        return None
    path = [int(ends[1])]
    while path[-1] != ends[0]:
        path.append(int(pred[path[-1]]))
    path = path[::-1]
    P = nodes[path].numpy()
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(Xn[path], axis=0), axis=1))])
    if not s[-1] > 0:
        return None
    s = s + 1e-12 * s[-1] * np.linspace(0.0, 1.0, s.size)  # strictly rising for np.interp
    target = np.linspace(0.0, s[-1], n)
    Z = np.column_stack([np.interp(target, s, P[:, k]) for k in range(2)])
    return _with_ends(torch.as_tensor(Z), a, b)


def _preconditioner(f: Decoder, start: torch.Tensor, e0: float
                    ) -> tuple[torch.Tensor, float]:
    """``H^{-1/2}`` for the Gauss–Newton Hessian ``H`` of ``E/e0`` in the interior points of
    ``start`` (N, d), and ``√λ_max(H)``.

    ``E = (N − 1) Σ |x_{i+1} − x_i|²`` with ``x_i = f(z_i)`` has the Gauss–Newton Hessian
    ``2(N − 1) Jᵀ (L ⊗ I) J``: diagonal blocks ``4(N − 1) J_iᵀJ_i = 4(N − 1) M(z_i)``,
    off-diagonal ``−2(N − 1) J_iᵀJ_{i+1}``. Its condition number grows like ``N²`` (the
    second difference ``L``) times the metric's variation along the curve, which is what makes
    plain L-BFGS slow. L-BFGS in ``c`` with ``z = z_start + H^{-1/2} c`` sees a Hessian close
    to the identity near the start. Eigenvalues below 1e-12 of the largest (a singular
    ``M``) are raised to it.
    """
    n, d = start.shape
    m = n - 2
    with torch.no_grad():
        J = batched_jacobians(f, start)  # (N, D, d)
    diag = 4.0 * (n - 1) * (J[1:-1].transpose(-1, -2) @ J[1:-1])  # (m, d, d)
    off = -2.0 * (n - 1) * (J[1:-2].transpose(-1, -2) @ J[2:-1])  # (m − 1, d, d)
    H = torch.zeros(m, d, m, d, dtype=start.dtype)
    idx = torch.arange(m)
    H[idx, :, idx, :] = diag
    H[idx[:-1], :, idx[1:], :] = off
    H[idx[1:], :, idx[:-1], :] = off.transpose(-1, -2)
    H = H.reshape(m * d, m * d) / e0
    lam, U = torch.linalg.eigh(0.5 * (H + H.T))
    top = float(lam[-1])
    if not (math.isfinite(top) and top > 0):
        return torch.eye(m * d, dtype=start.dtype), 1.0
    lam = lam.clamp(min=1e-12 * top)
    return (U * lam.rsqrt()) @ U.T, math.sqrt(top)


def _minimise_energy(f: Decoder, start: torch.Tensor, max_iter: int, gtol: float
                     ) -> tuple[torch.Tensor, int, float, str]:
    """L-BFGS on the interior points of ``start`` (N, d), preconditioned by the curve's
    second-difference operator; returns (points, iterations, relative gradient, problem)."""
    a, b = start[0], start[-1]
    scale = float((b - a).norm())
    with torch.no_grad():
        e0 = float(_length_energy(f(start))[1])
    base = start[1:-1].clone()
    m, d = base.shape
    P, root_max = _preconditioner(f, start, e0)
    coef = torch.zeros(m * d, dtype=base.dtype, requires_grad=True)

    def points() -> torch.Tensor:
        return torch.cat([a[None], base + (P @ coef).reshape(m, d), b[None]])

    n_pieces = start.shape[0] - 1
    # Our criterion (below) is on the gradient in the points; the gradient in c is P times
    # it and |P⁻¹| ≤ root_max, so L-BFGS stops where the points' gradient is surely below it.
    opt = torch.optim.LBFGS([coef], lr=1.0, max_iter=max_iter, history_size=20,
                            tolerance_grad=gtol * n_pieces / max(scale, 1e-300) / root_max,
                            tolerance_change=1e-15, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        # scaled to 1 at the start, so that the tolerances are relative
        loss = _length_energy(f(points()))[1] / e0
        loss.backward()
        return loss

    problem = ""
    try:
        opt.step(closure)
    except RuntimeError as exc:  # e.g. a singular step in the line search
        problem = f"L-BFGS stopped with an error ({exc})"
    iterations = int(opt.state_dict()["state"].get(0, {}).get("n_iter", 0))
    with torch.no_grad():
        Z = points()
    inner = Z[1:-1].clone().requires_grad_(True)
    loss = _length_energy(f(torch.cat([a[None], inner, b[None]])))[1] / e0
    loss.backward()
    loss = loss.detach()
    grad = inner.grad
    if not (torch.isfinite(loss) and grad is not None and bool(torch.isfinite(grad).all())):
        return start, iterations, float("inf"), "the energy became non-finite during L-BFGS"
    # Dimensionless: the gradient per unit of latent displacement along the segment, divided
    # by the N − 1 pieces (the energy's curvature in one point grows like N − 1, so this is
    # about the relative energy a Newton step on one point would still gain, per latent unit).
    rel = float(grad.abs().max()) * scale / n_pieces
    if float(loss) > 1.0:  # never worse than the start
        return start, iterations, rel, problem or "L-BFGS did not lower the energy"
    return Z, iterations, rel, problem


def _minimise_in_rounds(f: Decoder, start: torch.Tensor, max_iter: int, gtol: float
                        ) -> tuple[torch.Tensor, int, float, str]:
    """:func:`_minimise_energy` in rounds of at most :data:`_ROUND_ITER` iterations, each
    preconditioned at the curve the last one reached: where the metric varies by orders of
    magnitude along the way (a variance-aware metric), the start's Hessian soon stops being
    a good guide."""
    Z, total, rel, problem = start, 0, float("inf"), ""
    while total < max_iter:
        Z, iterations, rel, problem = _minimise_energy(
            f, Z, min(_ROUND_ITER, max_iter - total), gtol)
        total += iterations
        if problem or rel <= gtol or iterations == 0:
            break
    return Z, total, rel, problem


def _geodesic_rhs(f: Decoder) -> object:
    """``(Z, V) ↦ z̈ = −M⁻¹ Jᵀ D²f[ż, ż]`` for rows ``Z``, ``V`` (m, d) in torch."""

    def second(z: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        def along(zz: torch.Tensor) -> torch.Tensor:
            return jvp(f, (zz,), (v,))[1]
        return jvp(along, (z,), (v,))[1]

    jac = vmap(jacfwd(f))
    acc = vmap(second)

    def rhs(Z: torch.Tensor, V: torch.Tensor) -> torch.Tensor:
        J = jac(Z)
        M = J.transpose(-1, -2) @ J
        rhs = -(J.transpose(-1, -2) @ acc(Z, V)[..., None])
        return torch.linalg.solve(M, rhs)[..., 0]

    return rhs


def _bvp(f: Decoder, guess: torch.Tensor, tol: float, max_nodes: int
         ) -> tuple[torch.Tensor | None, int, str]:
    """solve_bvp for the geodesic equation from ``guess`` (N, d); (points, nodes, problem)."""
    n, d = guess.shape
    a, b = guess[0].numpy(), guess[-1].numpy()
    rhs = _geodesic_rhs(f)
    t = np.linspace(0.0, 1.0, n)
    G = guess.numpy()
    vel = np.gradient(G, t, axis=0)

    def fun(_: np.ndarray, y: np.ndarray) -> np.ndarray:
        Z = torch.as_tensor(y[:d].T.copy())
        V = torch.as_tensor(y[d:].T.copy())
        with torch.no_grad():
            A = rhs(Z, V).numpy()  # type: ignore[operator]
        return np.vstack([y[d:], A.T])

    def bc(ya: np.ndarray, yb: np.ndarray) -> np.ndarray:
        return np.concatenate([ya[:d] - a, yb[:d] - b])

    try:
        with np.errstate(all="ignore"):
            sol = solve_bvp(fun, bc, t, np.vstack([G.T, vel.T]), tol=tol, max_nodes=max_nodes)
    except (RuntimeError, ValueError, np.linalg.LinAlgError) as exc:
        return None, 0, f"the boundary-value solver failed ({exc})"
    nodes = int(sol.x.size)
    if not sol.success:
        return None, nodes, f"the boundary-value solver did not converge ({sol.message})"
    Z = sol.sol(t)[:d].T
    if not np.all(np.isfinite(Z)):
        return None, nodes, "the boundary-value solver returned non-finite points"
    Z[0], Z[-1] = a, b
    return torch.as_tensor(Z), nodes, ""


def latent_geodesic(decoder: Decoder, z0: npt.ArrayLike, z1: npt.ArrayLike,
                    n_points: int = 32, variance: Decoder | None = None,
                    method: GeodesicMethod = "energy", *, init: GeodesicInit = "graph",
                    max_iter: int = 500,
                    gtol: float = 1e-5, bvp_tol: float = 1e-6) -> LatentCurve:
    """A shortest latent curve from ``z0`` to ``z1`` under the (expected) pullback metric.

    Parameters
    ----------
    decoder : Decoder
        Torch float64 ``[..., d] -> [..., D]``.
    z0, z1 : array_like, shape=[d]
    n_points : int
        Samples of the curve, 3 … :data:`MAX_CURVE_POINTS`.
    variance : Decoder, optional
        The decoder's standard deviation ``σ(z)``; the metric is then ``J_μᵀJ_μ + J_σᵀJ_σ``.
    method : {"energy", "bvp"}
        ``"energy"``: L-BFGS (strong Wolfe line search) on the ``N − 2`` interior points,
        minimising the discrete energy. ``"bvp"``: ``scipy.integrate.solve_bvp`` on the
        geodesic equation, started from the energy method's curve.
    init : {"graph", "straight"}
        The energy method's start: ``"graph"`` (2-D latent spaces; others fall back to the
        straight start) the shortest path through a 32 × 32 grid graph around the two points,
        whose edges weigh the decoded chords (Arvanitidis et al.'s discretised manifold), or
        ``"straight"`` the straight segment; both resampled at constant decoded speed. From the
        straight segment L-BFGS stays in whichever valley that segment lies in, which for a
        variance-aware metric is often not the shortest.
    max_iter : int
        L-BFGS iterations, 1 … 20000.
    gtol : float
        Converged when ``max |∂(E/E_start)/∂z_i| · |z1 − z0| / (N − 1) ≤ gtol``.
    bvp_tol : float
        ``solve_bvp``'s residual tolerance.

    Returns
    -------
    LatentCurve
        ``status`` ``"ok"``, or ``"not_converged"`` (L-BFGS stalled or the bvp solver failed:
        the curve returned is the best found, a valid curve between the points whose length
        bounds the distance from above), ``"singular"`` (``M`` singular on the curve) or
        ``"failed"``. The result is never longer than the straight segment with the same
        ``n_points``: if nothing shorter was found, that segment is returned (and said so).
    """
    check_choice("method", method, METHODS, error=GeodesicError)
    check_choice("init", init, INITS, error=GeodesicError)
    n_points = check_int("n_points", n_points, 3, MAX_CURVE_POINTS, error=GeodesicError)
    max_iter = check_int("max_iter", max_iter, 1, 20_000, error=GeodesicError)
    gtol = check_positive_float("gtol", gtol, error=GeodesicError)
    bvp_tol = check_positive_float("bvp_tol", bvp_tol, error=GeodesicError)
    a, b = _check_ends(z0, z1)
    f = embedding(decoder, variance)
    straight = straight_line(decoder, a, b, n_points, variance=variance)
    if straight.status == "failed":
        return straight
    start = _constant_speed_segment(f, a, b, n_points)
    if start is not None and init == "graph":
        graph = _graph_start(f, a, b, n_points)
        start = graph if graph is not None else start
    if start is None:
        return _finish(decoder, variance, torch.as_tensor(straight.points), method=method,
                       status="singular",
                       message="the decoder is constant along the whole straight segment (its "
                               "image has no length), so M is singular there and no direction "
                               "is shorter; choose points where the decoder varies")
    Z, iterations, rel, problem = _minimise_in_rounds(f, start, max_iter, gtol)
    status: CurveStatus = "ok"
    message = ""
    if problem or rel > gtol:
        status = "not_converged"
        message = (problem + "; " if problem else "") + (
            f"L-BFGS stopped after {iterations} iterations with relative gradient {rel:.2g} "
            f"(above {gtol:.2g}): the curve is not yet a geodesic, so its length only bounds "
            "the distance from above; try more iterations or fewer points")
    if method == "bvp":
        solved, nodes, bvp_problem = _bvp(f, Z, bvp_tol, max_nodes=max(1000, 20 * n_points))
        if solved is None:
            status = "not_converged"
            message = bvp_problem + "; the curve shown is the energy method's"
        else:
            Z, iterations = solved, nodes
            status, message = "ok", ""
    result = _finish(decoder, variance, Z, method=method, status=status, message=message,
                     iterations=iterations)
    if result.status != "failed" and not result.length <= straight.length:
        # Nothing shorter than the straight segment was found (for a flat decoder it is the
        # geodesic): return it, with the optimiser's verdict.
        result = _finish(decoder, variance, torch.as_tensor(straight.points), method=method,
                         status=result.status, message=result.message, iterations=iterations)
    return result
