"""Geodesics, the exponential and logarithm maps, parallel transport and holonomy.

Every function accepts a :class:`~geomcore.geometry.surfaces.ParametricSurface` or a
:class:`~geomcore.geometry.metrics.RiemannianMetric` (a "space"). A geodesic solves

    ẍ^k + Γ^k_ij ẋ^i ẋ^j = 0,

written as a first-order system in ``(x, ẋ)``. Integration uses scipy: ``odeint`` (LSODA,
whose Fortran loop calls our compiled right-hand side) for one geodesic and for a whole spray
stacked into one vectorised system, ``solve_bvp`` as the fallback of the two-point problem, and
``solve_ivp`` for parallel transport along a sampled curve. None of these integrators is ours.

A geodesic stops cleanly where it leaves the parameter domain or reaches a point where the
metric degenerates (a sphere's pole, a cone's apex); it then carries the status
``"left_domain"`` or ``"singular"`` and a message. Periodic coordinates wrap.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.integrate import odeint, solve_bvp, solve_ivp
from scipy.interpolate import CubicHermiteSpline, CubicSpline

from geomcore.geometry.metrics import RiemannianMetric
from geomcore.geometry.surfaces import ParametricSurface

__all__ = [
    "Geodesic",
    "GeodesicError",
    "exp_map",
    "spray",
    "log_map",
    "distance",
    "parallel_transport",
    "holonomy_angle",
    "enclosed_curvature",
    "coordinate_circle",
    "coordinate_loop",
]

Space = ParametricSurface | RiemannianMetric

MAX_POINTS = 5000
"""Most samples a caller may ask for on one curve."""
MAX_DIRECTIONS = 512
"""Most geodesics in one spray."""

_RTOL = 1e-11
_ATOL = 1e-12
_SINGULAR_DET = 1e-9


class GeodesicError(ValueError):
    """Invalid input to a geodesic routine (bad point, zero vector, size out of bounds)."""


@dataclass
class Geodesic:
    """A sampled geodesic ``t -> x(t)``, ``t ∈ [0, t_end]``.

    Attributes
    ----------
    coords : ndarray, shape (n_points, d)
        Coordinates (periodic ones wrapped into their range).
    velocities : ndarray, shape (n_points, d)
        ``ẋ(t)`` in coordinates.
    times : ndarray, shape (n_points,)
    xyz : ndarray, shape (n_points, 3) or None
        Points on the surface in R³ (None for an abstract metric).
    length : float
        ``∫ |ẋ|_g dt`` over the computed part.
    status : str
        ``"ok"``, ``"left_domain"``, ``"singular"`` or ``"not_converged"``.
    message : str
        Human-readable explanation when the status is not ``"ok"``.
    energy_drift : float
        ``max |g(ẋ, ẋ) − g(ẋ0, ẋ0)| / g(ẋ0, ẋ0)`` along the curve (0 for an exact geodesic).
    """

    coords: np.ndarray
    velocities: np.ndarray
    times: np.ndarray
    xyz: np.ndarray | None
    length: float
    status: str = "ok"
    message: str = ""
    energy_drift: float = 0.0
    unwrapped: np.ndarray = field(default=None, repr=False)  # type: ignore[assignment]

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def start(self) -> np.ndarray:
        return self.coords[0]

    @property
    def end(self) -> np.ndarray:
        return self.coords[-1]


# -- helpers ------------------------------------------------------------------------------------
def _metric_of(space: Space) -> RiemannianMetric:
    if isinstance(space, ParametricSurface):
        return space.intrinsic_metric()
    if isinstance(space, RiemannianMetric):
        return space
    raise TypeError(f"expected a ParametricSurface or RiemannianMetric, got {type(space).__name__}")


def _embed(space: Space, coords: np.ndarray) -> np.ndarray | None:
    if isinstance(space, ParametricSurface):
        return space.points(coords)
    return None


def _periods(metric: RiemannianMetric) -> np.ndarray:
    return np.array(
        [hi - lo if per else 0.0 for (lo, hi), per in zip(metric.domain, metric.periodic,
                                                          strict=True)]
    )


def _periodic_delta(metric: RiemannianMetric, diff: np.ndarray) -> np.ndarray:
    """Coordinate differences (..., d) with periodic components reduced to [−period/2, period/2)
    (the shortest way round)."""
    out = np.array(diff, dtype=float, copy=True)
    for i, per in enumerate(_periods(metric)):
        if per:
            out[..., i] = np.mod(out[..., i] + per / 2, per) - per / 2
    return out


def _wrap(metric: RiemannianMetric, x: np.ndarray) -> np.ndarray:
    out = np.array(x, dtype=float, copy=True)
    for i, ((lo, hi), per) in enumerate(zip(metric.domain, metric.periodic, strict=True)):
        if per:
            out[..., i] = lo + np.mod(out[..., i] - lo, hi - lo)
    return out


def _check_point(metric: RiemannianMetric, p: Sequence[float], what: str = "point") -> np.ndarray:
    p = np.asarray(p, dtype=float)
    if p.shape != (metric.dim,) or not np.all(np.isfinite(p)):
        raise GeodesicError(f"{what} must be {metric.dim} finite coordinates, got {p.tolist()}")
    p = _wrap(metric, p)
    for i, ((lo, hi), per) in enumerate(zip(metric.domain, metric.periodic, strict=True)):
        if not per and not lo <= p[i] <= hi:
            raise GeodesicError(
                f"{what} coordinate {metric.coord_labels[i]} = {p[i]:.4g} is outside its range "
                f"[{lo:.4g}, {hi:.4g}]"
            )
    if _is_singular(metric, p[None])[0]:
        raise GeodesicError(f"the metric is singular at the {what} {np.round(p, 4).tolist()}")
    return p


def _is_singular(metric: RiemannianMetric, x: np.ndarray,
                 g: np.ndarray | None = None) -> np.ndarray:
    """True where the metric at ``x`` (..., d) is degenerate or not finite (``g`` if known)."""
    g = metric.metric(x) if g is None else g
    with np.errstate(all="ignore"):
        # the 2 x 2 case (every surface) in closed form: LAPACK per point is the slow part
        det = (g[..., 0, 0] * g[..., 1, 1] - g[..., 0, 1] * g[..., 1, 0] if metric.dim == 2
               else np.linalg.det(g))
    scale = np.maximum(np.abs(np.trace(g, axis1=-2, axis2=-1)) / metric.dim, 1e-300)
    return ~np.isfinite(det) | (det <= _SINGULAR_DET * scale**metric.dim)


def _check_count(n: int, name: str, low: int, high: int) -> int:
    if not isinstance(n, (int, np.integer)) or not low <= n <= high:
        raise GeodesicError(f"{name} must be an integer in [{low}, {high}], got {n!r}")
    return int(n)


_OK, _SINGULAR, _LEFT = 0, 1, 2
_MESSAGES = {
    _SINGULAR: "stopped where the metric degenerates (a coordinate singularity)",
    _LEFT: "left the parameter domain",
}
_RUNAWAY = 1e3
"""A coordinate speed this many times the largest initial one means the curve is running into
a coordinate singularity (a pole): it is stopped there rather than crawled through."""


def _outside(metric: RiemannianMetric, x: np.ndarray) -> np.ndarray:
    """True where a non-periodic coordinate of ``x`` (..., d) is outside its range."""
    out = np.zeros(x.shape[:-1], dtype=bool)
    for i, ((lo, hi), per) in enumerate(zip(metric.domain, metric.periodic, strict=True)):
        if not per:
            out |= (x[..., i] < lo) | (x[..., i] > hi)
    return out


def _first_bad(metric: RiemannianMetric, states: np.ndarray, g: np.ndarray,
               speed_limit: float = np.inf) -> tuple[np.ndarray, np.ndarray]:
    """For states of shape (n, 2d, m) and the metric ``g`` (n, m, d, d) at their points: per
    column, the index of the first sample that is not a valid point of the domain (n if none)
    and why (_OK, _SINGULAR or _LEFT)."""
    d = metric.dim
    n, _, m = states.shape
    x = np.moveaxis(states[:, :d], 1, -1)  # (n, m, d)
    bad = ~np.all(np.isfinite(states), axis=1)
    bad |= np.max(np.abs(states[:, d:]), axis=1) > speed_limit
    outside = _outside(metric, x)
    singular = (_is_singular(metric, x, g) | bad) & ~outside
    flags = singular | outside
    first = np.where(flags.any(axis=0), np.argmax(flags, axis=0), n)
    why = np.full(m, _OK)
    lows = np.array([lo for lo, _ in metric.domain])
    highs = np.array([hi for _, hi in metric.domain])
    for j in np.flatnonzero(first < n):
        k = first[j]
        if singular[k, j]:
            why[j] = _SINGULAR
            continue
        # Leaving through a boundary where the metric degenerates (a pole, an apex) is a
        # singularity, not an exit from the chart.
        edge = np.clip(x[k, j], lows, highs)
        near = edge if k == 0 else 0.5 * (edge + x[k - 1, j])
        why[j] = _SINGULAR if _is_singular(metric, np.stack([edge, near])).any() else _LEFT
    return first, why


def _finish_batch(space: Space, metric: RiemannianMetric, t: np.ndarray, states: np.ndarray,
                  status: str = "ok", message: str = "",
                  speed_limit: float = np.inf) -> list[Geodesic]:
    """Cut each trajectory of ``states`` (n, 2d, m) where it becomes invalid and package it.

    The metric, the energy and the embedding are evaluated once for the whole batch.
    """
    d = metric.dim
    n, _, m = states.shape
    x = np.moveaxis(states[:, :d], 1, -1)  # (n, m, d)
    xdot = np.moveaxis(states[:, d:], 1, -1)
    safe_x = np.where(np.isfinite(x), x, 0.0)
    g = metric.metric(safe_x)  # once for the whole batch: validity, energy and length
    first, why = _first_bad(metric, states, g, speed_limit)
    with np.errstate(all="ignore"):
        energy = np.einsum("...i,...ij,...j->...", xdot, g, xdot)  # (n, m)
    speed = np.sqrt(np.maximum(energy, 0.0))
    wrapped = _wrap(metric, safe_x)
    xyz = _embed(space, wrapped)
    dt = np.diff(t)
    out = []
    for j in range(m):
        k = int(first[j])
        st, msg = status, message
        if k < n:
            st = "singular" if why[j] == _SINGULAR else "left_domain"
            msg = f"{_MESSAGES[why[j]]} at t = {t[k]:.3g}" if k > 0 else _MESSAGES[why[j]]
        if k >= 2:
            length = float(np.sum(0.5 * (speed[1:k, j] + speed[:k - 1, j]) * dt[:k - 1]))
            e = energy[:k, j]
            drift = float(np.max(np.abs(e - e[0])) / max(abs(e[0]), 1e-300))
        else:
            length, drift = 0.0, 0.0
        out.append(Geodesic(
            coords=wrapped[:k, j], velocities=xdot[:k, j], times=t[:k],
            xyz=None if xyz is None else xyz[:k, j], length=length, status=st, message=msg,
            energy_drift=drift, unwrapped=x[:k, j],
        ))
    return out


def _finish(space: Space, metric: RiemannianMetric, t: np.ndarray, states: np.ndarray,
            status: str = "ok", message: str = "") -> Geodesic:
    """:func:`_finish_batch` for one trajectory, ``states`` of shape (n, 2d)."""
    return _finish_batch(space, metric, t, states[:, :, None], status, message)[0]


def _integrate_one(metric: RiemannianMetric, y0: np.ndarray, t: np.ndarray,
                   rtol: float = _RTOL, atol: float = _ATOL) -> tuple[np.ndarray, bool]:
    rhs = metric.symbolic.geodesic_system.scalar_rhs(metric.param_values)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # failures are reported through the Geodesic's status
        states, info = odeint(rhs, y0, t, rtol=rtol, atol=atol, mxstep=20000, full_output=True)
    success = info["message"] == "Integration successful."
    return (states, True) if success else (states[:_rows_reached(t, info)], False)


def _rows_reached(t: np.ndarray, info: dict) -> int:
    """How many leading rows of a failed ``odeint`` call are states at the requested times.

    After a failure odeint leaves the remaining rows uninitialised (arbitrary memory, which
    must not be drawn as a curve); ``tcur`` tells how far each output step really got.
    """
    reached = np.asarray(info["tcur"], dtype=float) >= t[1:]
    return 1 + (len(reached) if reached.all() else int(np.argmin(reached)))


# -- public API ---------------------------------------------------------------------------------
def exp_map(
    space: Space,
    p: Sequence[float],
    v: Sequence[float],
    t: float = 1.0,
    n_points: int = 200,
) -> Geodesic:
    """The geodesic ``γ`` with ``γ(0) = p``, ``γ'(0) = v``, sampled on ``[0, t]``.

    ``exp_p(v) = γ(1)``; its length is ``t |v|_g``.

    Parameters
    ----------
    space : ParametricSurface or RiemannianMetric
    p : array_like, shape (d,)
        Start point in coordinates.
    v : array_like, shape (d,)
        Initial velocity in coordinates.
    t : float
        End time.
    n_points : int
        Number of samples, at most :data:`MAX_POINTS`.
    """
    metric = _metric_of(space)
    p = _check_point(metric, p)
    v = np.asarray(v, dtype=float)
    if v.shape != (metric.dim,) or not np.all(np.isfinite(v)):
        raise GeodesicError(f"velocity must be {metric.dim} finite numbers, got {v.tolist()}")
    if not np.isfinite(t) or t <= 0:
        raise GeodesicError(f"t must be a positive number, got {t}")
    n_points = _check_count(n_points, "n_points", 2, MAX_POINTS)
    times = np.linspace(0.0, float(t), n_points)
    states, success = _integrate_one(metric, np.concatenate([p, v]), times)
    status, message = ("ok", "") if success else ("singular", "the integrator could not continue")
    geo = _finish(space, metric, times[: len(states)], states, status, message)
    if not success and geo.status == "ok":
        geo.status, geo.message = "not_converged", "the integrator could not reach the end time"
    return geo


def orthonormal_frame(metric: RiemannianMetric, p: np.ndarray) -> np.ndarray:
    """Columns e_1..e_d orthonormal for g(p) (Gram–Schmidt on the coordinate basis).

    Returns shape (d, d); ``e_1`` is along the first coordinate direction.
    """
    g = metric.metric(p)
    # g = L Lᵀ  =>  the columns of L⁻ᵀ are g-orthonormal, and L⁻ᵀ is upper triangular,
    # so e_1 is parallel to ∂_1 (Gram–Schmidt in coordinate order).
    L = np.linalg.cholesky(g)
    return np.linalg.inv(L).T


def unit_vector(metric: RiemannianMetric, p: np.ndarray, angle: float) -> np.ndarray:
    """The g-unit tangent vector at ``p`` making ``angle`` with ∂_1 (counter-clockwise)."""
    e = orthonormal_frame(metric, np.asarray(p, float))
    return e[:, 0] * np.cos(angle) + e[:, 1] * np.sin(angle)


def spray(
    space: Space,
    p: Sequence[float],
    n_directions: int,
    length: float,
    n_points: int = 100,
    *,
    rtol: float = 1e-8,
) -> list[Geodesic]:
    """Geodesics from ``p`` in ``n_directions`` equally spaced unit directions, to ``length``.

    All directions are integrated as one vectorised system (one ``odeint`` call whose
    right-hand side evaluates the whole batch with numpy). The points at equal time across the
    spray trace geodesic circles; where neighbouring geodesics cross, the circles fold into
    caustics (the cut locus shows up on the ellipsoid and the torus).

    Returns
    -------
    list of Geodesic, one per direction (angle ``2πk/n`` from ∂_1 in a g-orthonormal frame).
    """
    metric = _metric_of(space)
    if metric.dim != 2:
        raise GeodesicError("a spray is drawn on two-dimensional spaces")
    p = _check_point(metric, p)
    n_directions = _check_count(n_directions, "n_directions", 1, MAX_DIRECTIONS)
    n_points = _check_count(n_points, "n_points", 2, MAX_POINTS)
    if not np.isfinite(length) or length <= 0:
        raise GeodesicError(f"length must be positive, got {length}")
    angles = 2 * np.pi * np.arange(n_directions) / n_directions
    frame = orthonormal_frame(metric, p)
    dirs = length * (np.outer(np.cos(angles), frame[:, 0]) + np.outer(np.sin(angles), frame[:, 1]))
    m, d = n_directions, metric.dim
    # State layout (2d, m) flattened: rows are x^1..x^d, ẋ^1..ẋ^d, columns the geodesics.
    y0 = np.concatenate([np.repeat(p[:, None], m, axis=1), dirs.T]).ravel()
    system, pv = metric.symbolic.geodesic_system, metric.param_values

    bounded = [i for i, per in enumerate(metric.periodic) if not per]
    lows = np.array([metric.domain[i][0] for i in bounded])[:, None]
    highs = np.array([metric.domain[i][1] for i in bounded])[:, None]
    speed_limit = _RUNAWAY * float(np.max(np.abs(dirs)))

    def rhs(y: np.ndarray, t: float) -> np.ndarray:
        Y = y.reshape(2 * d, m)
        out = system.batch(Y, pv)
        # Freeze a trajectory once it has left the domain or is running into a coordinate
        # singularity: otherwise its stiffness would drag every other one (and the stiff
        # solver's Jacobian of the whole batch) down with it. It is cut there afterwards.
        frozen = ~np.isfinite(out.sum(axis=0))
        if bounded:
            x = Y[bounded]
            frozen |= ((x < lows) | (x > highs)).any(axis=0)
        frozen |= np.abs(Y[d:]).max(axis=0) > speed_limit
        if frozen.any():
            out[:, frozen] = 0.0
        return out.ravel()

    times = np.linspace(0.0, 1.0, n_points)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        states, info = odeint(rhs, y0, times, rtol=rtol, atol=rtol * 1e-2, mxstep=20000,
                              full_output=True)
    message = "" if info["message"] == "Integration successful." else "integrator stopped early"
    if message:
        n_points = _rows_reached(times, info)
        states, times = states[:n_points], times[:n_points]
    states = states.reshape(n_points, 2 * d, m)
    return _finish_batch(space, metric, times, states, "ok" if not message else "not_converged",
                         message, speed_limit=speed_limit)


def _straight_guesses(metric: RiemannianMetric, p: np.ndarray, q: np.ndarray,
                      n_images: int) -> list[np.ndarray]:
    """Targets q + k·period for the nearest periodic images (nearest first)."""
    periods = _periods(metric)
    base = p + _periodic_delta(metric, q - p)
    images = [base]
    if n_images > 1:
        shifts = []
        for i, per in enumerate(periods):
            if per:
                step = np.zeros_like(p)
                step[i] = per
                # the next image on the other side of p along this periodic direction
                shifts.append(step * (-1.0 if base[i] >= p[i] else 1.0))
        images += [base + s for s in shifts][: n_images - 1]
    return images


def _shoot(metric: RiemannianMetric, p: np.ndarray, target: np.ndarray, v0: np.ndarray,
           max_iter: int, tol: float) -> np.ndarray | None:
    """Newton's method on v ↦ exp_p(v) − target with the Jacobian from the variational ODE.

    Early iterations integrate loosely (the Newton step only needs a rough Jacobian); once the
    residual is small the tolerance tightens so the final answer is accurate. A start that has
    not come within 1e-2 after 8 iterations, or stalls, is abandoned: its straight-line guess
    lies in the wrong basin and further work would only be wasted.
    """
    d = metric.dim
    rhs = metric.symbolic.variational_system.scalar_rhs(metric.param_values)
    phi0 = np.zeros((2 * d, d))
    phi0[d:, :] = np.eye(d)
    v = v0.copy()
    times = np.array([0.0, 1.0])
    history: list[float] = []
    for it in range(max_iter):
        loose = bool(history) and history[-1] > 1e-5
        rtol = 1e-7 if loose or not history else 1e-11
        y0 = np.concatenate([p, v, phi0.ravel()])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            states, info = odeint(rhs, y0, times, rtol=rtol, atol=rtol * 1e-2, mxstep=2000,
                                  full_output=True)
        end = states[-1]
        if info["message"] != "Integration successful." or not np.all(np.isfinite(end)):
            return None
        residual = end[:d] - target
        err = float(np.max(np.abs(residual)))
        if err < tol and rtol < 1e-10:
            return v
        history.append(err)
        if it >= 8 and err > 1e-2:
            return None
        if len(history) > 4 and err > 0.5 * history[-5]:
            return None
        jac = end[2 * d:].reshape(2 * d, d)[:d]
        try:
            step = np.linalg.solve(jac, residual)
        except np.linalg.LinAlgError:
            return None
        # Damp very long steps (near conjugate points the Jacobian is nearly singular).
        scale = max(1.0, np.linalg.norm(step) / (0.5 * np.linalg.norm(v) + 0.5))
        v = v - step / scale
    return None


def _fan_guesses(space: Space, metric: RiemannianMetric, p: np.ndarray, q: np.ndarray,
                 reach: float, *, shorter_than: float = np.inf,
                 known: Sequence[np.ndarray] = (), n_directions: int = 48,
                 n_best: int = 3) -> list[tuple[np.ndarray, np.ndarray]]:
    """(initial velocity, target image) pairs from a fan of geodesics out of ``p``.

    Every geodesic of length < ``shorter_than`` from p to q is swept by the fan (directions
    2πk/n, lengths up to ``reach``), so some fan sample lies within about one fan spacing of
    q. With a finite ``shorter_than`` only samples closer to q than the spacing between
    neighbouring fan geodesics there count (a real shorter geodesic passes between them), and
    directions within 1.5 fan steps of a ``known`` initial velocity are skipped (they only
    retrace it); without it, the samples nearest to q are returned whatever their distance.
    """
    if not np.isfinite(reach) or reach <= 0:
        return []
    fan = spray(space, p, n_directions, reach, n_points=64, rtol=1e-7)
    n = min(len(g.times) for g in fan)
    if n < 2:
        return []
    x = np.stack([g.unwrapped[:n] for g in fan])  # (m, n, d)
    diff = _periodic_delta(metric, q - x)
    dist = np.linalg.norm(diff, axis=-1)
    dist[:, 0] = np.inf
    lengths = reach * fan[0].times[:n]
    if np.isfinite(shorter_than):
        # distance to the next direction's sample at the same time
        gap = np.linalg.norm(_periodic_delta(metric, np.roll(x, -1, axis=0) - x), axis=-1)
        local = np.maximum(gap, np.roll(gap, 1, axis=0))
        dist[(dist > local) | (lengths[None, :] >= 0.98 * shorter_than)] = np.inf
        frame_inv = np.linalg.inv(orthonormal_frame(metric, p))
        angles = 2 * np.pi * np.arange(n_directions) / n_directions
        for v in known:
            c = frame_inv @ v
            gap_angle = np.angle(np.exp(1j * (angles - np.arctan2(c[1], c[0]))))
            dist[np.abs(gap_angle) < 1.5 * 2 * np.pi / n_directions] = np.inf
    best_k = np.argmin(dist, axis=1)
    order = np.argsort(dist[np.arange(len(fan)), best_k])
    out = []
    for j in order[:n_best]:
        k = best_k[j]
        if not np.isfinite(dist[j, k]):
            break
        out.append((fan[j].velocities[0] * fan[j].times[k], x[j, k] + diff[j, k]))
    return out


def _has_conjugate_point(metric: RiemannianMetric, p: np.ndarray, v: np.ndarray,
                         n: int = 64) -> bool:
    """Whether exp_p(t v), 0 < t < 1, passes a point conjugate to p.

    J(t) = ∂exp_p(tv)/∂v (the Jacobi fields vanishing at p) is integrated with the geodesic;
    at a conjugate point det J(t) vanishes and changes sign. By Jacobi's theorem a geodesic
    that runs past one is not minimising, so a shorter one exists.
    """
    d = metric.dim
    rhs = metric.symbolic.variational_system.scalar_rhs(metric.param_values)
    phi0 = np.zeros((2 * d, d))
    phi0[d:, :] = np.eye(d)
    t = np.linspace(0.0, 1.0, n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        states, info = odeint(rhs, np.concatenate([p, v, phi0.ravel()]), t, rtol=1e-8,
                              atol=1e-10, mxstep=2000, full_output=True)
    k = _rows_reached(t, info) if info["message"] != "Integration successful." else n
    jac = states[1:k, 2 * d:].reshape(-1, 2 * d, d)[:, :d]
    det = np.linalg.det(jac)
    return bool(np.any(np.sign(det[1:]) != np.sign(det[0])))


def _continuation(metric: RiemannianMetric, p: np.ndarray, target: np.ndarray, max_iter: int,
                  tol: float) -> np.ndarray | None:
    """Walk the target along the straight segment, each solve starting from the previous
    answer (a short geodesic is easy; its velocity is a good next guess)."""
    v = None
    for frac in (0.25, 0.5, 0.75, 1.0):
        mid = p + frac * (target - p)
        v = _shoot(metric, p, mid, mid - p if v is None else v, max_iter, tol)
        if v is None:
            return None
    return v


def _segment_length(metric: RiemannianMetric, p: np.ndarray, target: np.ndarray,
                    n: int = 64) -> float:
    """Length of the straight coordinate segment p -> target (midpoint rule); inf if the
    metric is not finite along it."""
    s = (np.arange(n) + 0.5) / n
    mid = p + s[:, None] * (target - p)
    length = float(np.sum(metric.norm(mid, np.broadcast_to((target - p) / n, mid.shape))))
    return length if np.isfinite(length) else np.inf


def _coordinate_speed_bound(metric: RiemannianMetric, n: int = 41) -> float:
    """≈ min over the domain of sqrt(λ_min(g)), so a curve's length ≥ this × its coordinate
    length. Sampled on a grid (with a 10 % safety margin); 0 when the domain is unbounded."""
    cached = getattr(metric, "_speed_bound", None)
    if cached is not None:
        return cached
    bound = 0.0
    if all(np.isfinite(lo) and np.isfinite(hi) for lo, hi in metric.domain) and metric.dim == 2:
        axes = [np.linspace(lo, hi, n) for lo, hi in metric.domain]
        pts = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, metric.dim)
        eig = np.linalg.eigvalsh(metric.metric(pts))[:, 0]
        eig = eig[np.isfinite(eig)]
        bound = 0.9 * float(np.sqrt(max(eig.min(), 0.0))) if eig.size else 0.0
    metric._speed_bound = bound  # type: ignore[attr-defined]
    return bound


def _bvp(metric: RiemannianMetric, p: np.ndarray, target: np.ndarray) -> np.ndarray | None:
    """solve_bvp on the straight segment as first guess; returns the initial velocity."""
    d = metric.dim
    system, pv = metric.symbolic.geodesic_system, metric.param_values
    s = np.linspace(0.0, 1.0, 21)
    guess = np.concatenate([
        p[:, None] + (target - p)[:, None] * s[None, :],
        np.repeat((target - p)[:, None], len(s), axis=1),
    ])
    sol = solve_bvp(
        lambda t, y: system.batch(y, pv),
        lambda ya, yb: np.concatenate([ya[:d] - p, yb[:d] - target]),
        s, guess, tol=1e-8, max_nodes=3000,
    )
    if not sol.success or not np.all(np.isfinite(sol.y)):
        return None
    return sol.y[d:, 0]


def log_map(
    space: Space,
    p: Sequence[float],
    q: Sequence[float],
    *,
    n_points: int = 200,
    n_starts: int = 3,
    tol: float = 1e-8,
    max_iter: int = 25,
    use_bvp: bool = True,
) -> Geodesic:
    """A shortest geodesic from ``p`` to ``q`` found by shooting: its initial velocity is
    ``log_p(q)`` (``geo.velocities[0]``), its length the distance (when it is minimising).

    Newton's method on ``v ↦ exp_p(v) − q``, the Jacobian ``∂exp_p/∂v`` from the variational
    (Jacobi) equation integrated with the geodesic, is started from the straight segments to
    the nearest ``n_starts`` periodic images of ``q`` (for the nearest, by continuation from
    short geodesics if the direct start fails). Newton can converge to a geodesic that is not
    minimising; when the best one found runs past a conjugate point (Jacobi's theorem: then it
    is not minimising) or is longer than the straight segment, a fan of geodesics is swept up
    to its length on surfaces and any sample passing close to q sooner seeds another Newton
    solve (with no geodesic found, the fan's nearest samples seed it).
    ``scipy.integrate.solve_bvp`` is the last resort. The shortest converged geodesic is
    returned; if none converged its status is ``"not_converged"`` (the straight segment in
    coordinates is returned in ``coords`` so a caller can still draw something).
    """
    metric = _metric_of(space)
    p = _check_point(metric, p, "start point")
    q = _check_point(metric, q, "end point")
    n_points = _check_count(n_points, "n_points", 2, MAX_POINTS)
    n_starts = _check_count(n_starts, "n_starts", 1, 9)
    if np.allclose(p, q, atol=1e-14):
        raise GeodesicError("the two points coincide; choose two different points")
    found: list[tuple[float, np.ndarray]] = []  # (length, initial velocity)
    lower = _coordinate_speed_bound(metric)
    images = _straight_guesses(metric, p, q, n_starts)
    for i, target in enumerate(images):
        # Any curve to this image is at least this long; skip it if it cannot be shorter.
        # (compare lengths only: on a tie, min() over the tuples would compare the arrays)
        if found and lower * np.linalg.norm(target - p) >= min(length for length, _ in found):
            continue
        v = _shoot(metric, p, target, target - p, max_iter, tol)
        if v is None and i == 0:
            # The nearest image must not be given up for a farther one (on the sphere that
            # means the long way round a great circle): continue from short geodesics instead.
            v = _continuation(metric, p, target, max_iter, tol)
        if v is not None:
            found.append((float(metric.norm(p, v)), v))
    # The straight segment to the nearest image is itself a curve from p to q, so the distance
    # is at most its length; a longer geodesic is certainly not the shortest.
    bound = _segment_length(metric, p, images[0])
    best = min((length for length, _ in found), default=np.inf)
    # A geodesic that runs past a conjugate point is not minimising, and a shorter one joins
    # the same points (often a pair of them, on either side of it, as around a torus's outer
    # equator); one longer than the straight segment is not minimising either.
    suspicious = (not found or best > 1.0001 * bound
                  or any(_has_conjugate_point(metric, p, v) for _, v in found))
    if metric.dim == 2 and np.isfinite(bound) and suspicious:
        # Sweep a fan of geodesics up to the best length so far and shoot again from the
        # samples that pass close to q sooner.
        reach = 1.02 * min(best, bound) if found else 1.6 * bound
        for v0, target in _fan_guesses(space, metric, p, q, reach,
                                       shorter_than=best if found else np.inf,
                                       known=[v for _, v in found],
                                       n_best=6):
            v = _shoot(metric, p, target, v0, max_iter, tol)
            if v is not None:
                found.append((float(metric.norm(p, v)), v))
    if use_bvp and (not found or min(length for length, _ in found) > 1.0001 * bound):
        # Still nothing, or nothing shorter than the straight segment: the boundary-value
        # solver, started from that segment, gets a try.
        target = images[0]
        v = _bvp(metric, p, target)
        if v is not None:
            geo = exp_map(space, p, v, 1.0, n_points)
            if geo.ok and np.max(np.abs(geo.unwrapped[-1] - target)) < 1e-6:
                found.append((float(metric.norm(p, v)), v))
    for _, v in sorted(found, key=lambda lv: lv[0]):
        # The length of a geodesic on [0, 1] is |v|_g, so the shortest is known before
        # sampling it; only that one is integrated again at full resolution.
        geo = exp_map(space, p, v, 1.0, n_points)
        if geo.ok:
            return geo
    s = np.linspace(0.0, 1.0, n_points)[:, None]
    line = p + (_straight_guesses(metric, p, q, 1)[0] - p) * s
    return Geodesic(
        coords=_wrap(metric, line), velocities=np.zeros_like(line), times=s[:, 0],
        xyz=_embed(space, _wrap(metric, line)), length=float("nan"), status="not_converged",
        message="no geodesic between the two points was found (shooting and the "
                "boundary-value solver both failed); try points closer together",
        unwrapped=line,
    )


def distance(space: Space, p: Sequence[float], q: Sequence[float]) -> float:
    """Geodesic distance: the length of :func:`log_map`'s shortest converged geodesic.

    Raises
    ------
    GeodesicError
        If no geodesic was found.
    """
    geo = log_map(space, p, q)
    if not geo.ok:
        raise GeodesicError(geo.message)
    return geo.length


def _curve_functions(metric: RiemannianMetric, curve: Geodesic | np.ndarray):
    """(times, c(t), c'(t)) for a Geodesic (Hermite data) or an (n, d) array of samples."""
    if isinstance(curve, Geodesic):
        x = curve.unwrapped if curve.unwrapped is not None else curve.coords
        t = curve.times
        spline = CubicHermiteSpline(t, x, curve.velocities, axis=0)
        return t, spline, spline.derivative()
    x = np.asarray(curve, dtype=float)
    if x.ndim != 2 or x.shape[1] != metric.dim or len(x) < 4:
        raise GeodesicError(f"a curve must be an array of shape (n >= 4, {metric.dim})")
    if not np.all(np.isfinite(x)):
        raise GeodesicError("the curve has non-finite coordinates")
    t = np.linspace(0.0, 1.0, len(x))
    closed = np.allclose(x[0], x[-1], atol=1e-12)
    spline = CubicSpline(t, x, axis=0, bc_type="periodic" if closed else "not-a-knot")
    return t, spline, spline.derivative()


def parallel_transport(
    space: Space,
    curve: Geodesic | np.ndarray,
    w0: Sequence[float],
) -> np.ndarray:
    """Transport the vector ``w0`` along ``curve``: ``ẇ^k = −Γ^k_ij(c) ċ^i w^j``.

    Parameters
    ----------
    curve : Geodesic or ndarray, shape (n, d)
        A geodesic, or samples of a curve in coordinates (interpolated by a cubic spline,
        periodic if the first and last samples coincide).
    w0 : array_like, shape (d,)
        The vector at ``curve[0]``, in coordinates.

    Returns
    -------
    ndarray, shape (n, d): the transported vector at each sample. Its g-length is conserved.
    """
    metric = _metric_of(space)
    w0 = np.asarray(w0, dtype=float)
    if w0.shape != (metric.dim,) or not np.all(np.isfinite(w0)):
        raise GeodesicError(f"w0 must be {metric.dim} finite numbers")
    t, c, dc = _curve_functions(metric, curve)

    def rhs(s: float, w: np.ndarray) -> np.ndarray:
        gam = metric.christoffel(c(s))
        return -np.einsum("kij,i,j->k", gam, dc(s), w)

    sol = solve_ivp(rhs, (t[0], t[-1]), w0, method="DOP853", t_eval=t, rtol=1e-10, atol=1e-12)
    if not sol.success:
        raise GeodesicError(f"parallel transport failed: {sol.message}")
    return sol.y.T


def _check_closed(metric: RiemannianMetric, loop: np.ndarray) -> None:
    """Raise unless ``loop`` (n, d) ends where it starts (periodic coordinates may advance by
    whole periods)."""
    if loop.ndim != 2 or loop.shape[1] != metric.dim or len(loop) < 4:
        raise GeodesicError(f"a loop must be an array of shape (n >= 4, {metric.dim})")
    closure = _periodic_delta(metric, loop[-1] - loop[0])
    if not np.allclose(closure, 0.0, atol=1e-8):
        raise GeodesicError("the loop must end where it starts")


def _signed_angle(metric: RiemannianMetric, x: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    g = metric.metric(x)
    cos = a @ g @ b
    sin = np.sqrt(np.linalg.det(g)) * (a[0] * b[1] - a[1] * b[0])
    return float(np.arctan2(sin, cos))


def holonomy_angle(space: Space, loop: np.ndarray, w0: Sequence[float] | None = None) -> float:
    """Signed angle (radians, in (−π, π]) by which parallel transport around ``loop`` rotates
    ``w0``; counter-clockwise in the (u, v) orientation is positive.

    For a simple loop bounding a region ``D`` on the left, Gauss–Bonnet gives
    ``angle ≡ ∫∫_D K dA (mod 2π)``: around a latitude at polar angle θ₀ on the unit sphere,
    ``2π(1 − cos θ₀)``.

    Parameters
    ----------
    loop : ndarray, shape (n, 2)
        Closed loop in coordinates (periodic coordinates may advance by a full period).
    w0 : array_like, shape (2,), optional
        The vector to transport (the angle does not depend on it); default ∂_1.
    """
    metric = _metric_of(space)
    if metric.dim != 2:
        raise GeodesicError("holonomy angles are defined here for two-dimensional spaces")
    loop = np.asarray(loop, dtype=float)
    _check_closed(metric, loop)
    w0 = np.array([1.0, 0.0]) if w0 is None else np.asarray(w0, dtype=float)
    w = parallel_transport(space, loop, w0)
    return _signed_angle(metric, loop[0], w0, w[-1])


def enclosed_curvature(space: Space, loop: np.ndarray, *, n_quad: int = 48,
                       u_ref: float | None = None) -> float:
    """∫∫ K dA over the region to the left of ``loop`` (Green's theorem, no grid).

    With ``Φ(u, v) = ∫_{u_ref}^{u} K √det g (s, v) ds`` we have ``∂Φ/∂u = K √det g``, so
    ``∫∫_D K dA = ∮ Φ dv``. For a loop closed in the (u, v) plane ``u_ref`` cancels; a loop that
    closes only through a periodic ``v`` (a parallel) bounds, together with the parallel
    ``u = u_ref`` (default: the lower edge of the ``u`` range), the band between them.
    """
    metric = _metric_of(space)
    loop = np.asarray(loop, dtype=float)
    closed_in_plane = np.allclose(loop[0], loop[-1], atol=1e-10)
    if u_ref is None:
        u_ref = float(np.min(loop[:, 0])) if closed_in_plane else metric.domain[0][0]
    if not np.isfinite(u_ref):
        raise GeodesicError("the loop does not bound a region of finite extent in u")
    nodes, weights = np.polynomial.legendre.leggauss(n_quad)
    u, v = loop[:, 0], loop[:, 1]
    # Φ at every loop sample, by Gauss–Legendre on [u_ref, u].
    s = u_ref + 0.5 * (u - u_ref)[:, None] * (nodes[None, :] + 1.0)
    pts = np.stack([s, np.broadcast_to(v[:, None], s.shape)], axis=-1)
    k_dA = metric.gaussian_curvature(pts) * np.sqrt(np.maximum(np.linalg.det(metric.metric(pts)),
                                                               0.0))
    phi = 0.5 * (u - u_ref) * np.nansum(k_dA * weights[None, :], axis=1)
    # ∮ Φ dv with the trapezoid rule on the closed polygon.
    dv = np.diff(v)
    return float(np.sum(0.5 * (phi[1:] + phi[:-1]) * dv))


def coordinate_circle(center: Sequence[float], radius: float | Sequence[float],
                      n_points: int = 400) -> np.ndarray:
    """A counter-clockwise circle (or axis-aligned ellipse) in coordinates; shape (n, 2).

    The first and last samples coincide.
    """
    n_points = _check_count(n_points, "n_points", 8, MAX_POINTS)
    r = np.broadcast_to(np.asarray(radius, float), (2,))
    a = np.linspace(0.0, 2 * np.pi, n_points)
    loop = np.stack([center[0] + r[0] * np.cos(a), center[1] + r[1] * np.sin(a)], axis=-1)
    loop[-1] = loop[0]
    return loop


def coordinate_loop(space: Space, u0: float, n_points: int = 400) -> np.ndarray:
    """The loop ``u = u0`` with ``v`` running once around its periodic range; shape (n, 2).

    On a surface of revolution this is a parallel (a latitude circle).
    """
    metric = _metric_of(space)
    if not metric.periodic[1]:
        raise GeodesicError("a coordinate loop u = const needs a periodic v")
    n_points = _check_count(n_points, "n_points", 8, MAX_POINTS)
    lo, hi = metric.domain[1]
    v = np.linspace(lo, hi, n_points)
    return np.stack([np.full_like(v, u0), v], axis=-1)
