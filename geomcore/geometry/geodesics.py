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

import numpy as np
from scipy.integrate import odeint, solve_bvp

from geomcore._validation import check_int
from geomcore.geometry._space import (  # noqa: F401  (re-exported for callers and tests)
    _SINGULAR_DET,
    MAX_DIRECTIONS,
    MAX_POINTS,
    Geodesic,
    GeodesicError,
    Space,
    _check_point,
    _embed,
    _is_singular,
    _metric_of,
    _outside,
    _periodic_delta,
    _periods,
    _wrap,
)
from geomcore.geometry.metrics import RiemannianMetric
from geomcore.geometry.transport import (  # noqa: F401  (part of this module's API)
    _check_closed,
    _signed_angle,
    coordinate_circle,
    coordinate_loop,
    enclosed_curvature,
    holonomy_angle,
    parallel_transport,
)

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

_RTOL = 1e-11
_ATOL = 1e-12

_OK, _SINGULAR, _LEFT = 0, 1, 2
_MESSAGES = {
    _SINGULAR: "stopped where the metric degenerates (a coordinate singularity)",
    _LEFT: "left the parameter domain",
}
_RUNAWAY = 1e3
"""A coordinate speed this many times the largest initial one means the curve is running into
a coordinate singularity (a pole): it is stopped there rather than crawled through."""


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
    n_points = check_int("n_points", n_points, 2, MAX_POINTS, error=GeodesicError)
    times = np.linspace(0.0, float(t), n_points)
    states, success = _integrate_one(metric, np.concatenate([p, v]), times)
    status, message = ("ok", "") if success else ("singular", "the integrator could not continue")
    geo = _finish(space, metric, times[: len(states)], states, status, message)
    if not success and geo.status == "ok":
        geo.status, geo.message = "not_converged", "the integrator could not reach the end time"
    return geo


def orthonormal_frame(space: Space, p: np.ndarray) -> np.ndarray:
    """Columns e_1..e_d orthonormal for g(p) (Gram–Schmidt on the coordinate basis).

    Returns shape (d, d); ``e_1`` is along the first coordinate direction.
    """
    g = _metric_of(space).metric(p)
    # g = L Lᵀ  =>  the columns of L⁻ᵀ are g-orthonormal, and L⁻ᵀ is upper triangular,
    # so e_1 is parallel to ∂_1 (Gram–Schmidt in coordinate order).
    L = np.linalg.cholesky(g)
    return np.linalg.inv(L).T


def unit_vector(space: Space, p: np.ndarray, angle: float) -> np.ndarray:
    """The g-unit tangent vector at ``p`` making ``angle`` with ∂_1 (counter-clockwise)."""
    e = orthonormal_frame(space, np.asarray(p, float))
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
    n_directions = check_int("n_directions", n_directions, 1, MAX_DIRECTIONS, error=GeodesicError)
    n_points = check_int("n_points", n_points, 2, MAX_POINTS, error=GeodesicError)
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
    n_points = check_int("n_points", n_points, 2, MAX_POINTS, error=GeodesicError)
    n_starts = check_int("n_starts", n_starts, 1, 9, error=GeodesicError)
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
