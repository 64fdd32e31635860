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

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.integrate import odeint, solve_bvp, solve_ivp

from geomcore._validation import check_int
from geomcore.geometry._compile import ScalarSystem
from geomcore.geometry._space import (
    MAX_DIRECTIONS,
    MAX_POINTS,
    Geodesic,
    GeodesicError,
    GeodesicStatus,
    Space,
    check_point,
    embed,
    is_singular,
    metric_of,
    outside,
    periodic_delta,
    periods,
    straight_guesses,
    wrap,
)
from geomcore.geometry.charts import QUALITY_SLOW, QUALITY_STOP, Atlas, atlas_for
from geomcore.geometry.metrics import RiemannianMetric
from geomcore.geometry.transport import (
    coordinate_circle,
    coordinate_loop,
    enclosed_curvature,
    holonomy_angle,
    parallel_transport,
)

__all__ = [
    "Geodesic",
    "GeodesicError",
    "GeodesicStatus",
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
FAN_RTOL = 1e-5
"""Relative tolerance of the fan of geodesics that seeds the two-point search (it only needs to
pass near the end point; Newton's method then converges to 1e-11)."""
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
    off_domain = outside(metric, x)
    singular = (is_singular(metric, x, g) | bad) & ~off_domain
    flags = singular | off_domain
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
        why[j] = _SINGULAR if is_singular(metric, np.stack([edge, near])).any() else _LEFT
    return first, why


def _finish_batch(space: Space, metric: RiemannianMetric, t: np.ndarray, states: np.ndarray,
                  status: GeodesicStatus = "ok", message: str = "",
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
    wrapped = wrap(metric, safe_x)
    xyz = embed(space, wrapped)
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
            status: GeodesicStatus = "ok", message: str = "") -> Geodesic:
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


# -- integration across charts ------------------------------------------------------------------
_Rhs = Callable[[np.ndarray, float], "list[float] | np.ndarray"]
"""A right-hand side ``f(y, t)`` in ``odeint``'s argument order."""
_MAX_ROUNDS = 64
"""Most restarts (chart changes, recoveries after an integrator failure) of one batch."""


@dataclass
class _Track:
    """What :func:`_march` integrated for one start state: the accepted samples (each exactly
    on the geodesic at a requested time), the chart of each, and why the track ended."""

    times: list[np.ndarray]
    states: list[np.ndarray]  # per segment, shape (k, n_state), in that segment's chart
    charts: list[int]
    stop: GeodesicStatus = "ok"  # "ok", "left_domain", "singular" or "not_converged"
    stop_time: float = 0.0


def _smoothstep(s: np.ndarray) -> np.ndarray:
    """A C∞ step from 0 (s ≤ 0) to 1 (s ≥ 1): a step with a kink in some derivative would make
    the multistep integrator cut its step for the whole batch wherever one geodesic passes it."""
    with np.errstate(all="ignore"):
        a = np.where(s > 0, np.exp(-1.0 / np.maximum(s, 1e-300)), 0.0)
        b = np.where(s < 1, np.exp(-1.0 / np.maximum(1.0 - s, 1e-300)), 0.0)
    return a / (a + b)


def _slowdown_batch(metric: RiemannianMetric, atlas: Atlas | None,
                    speed_limit: float) -> Callable[[np.ndarray], np.ndarray]:
    """σ(Y) ∈ [0, 1] per column of states ``Y`` (n_state, m): the factor of the change of time
    ``d(state)/dt = σ f(state)``, ``dτ/dt = σ``.

    Any positive σ leaves the curve ``τ ↦ state`` exactly the geodesic; where σ falls to 0 the
    integration comes smoothly to rest instead of running into trouble that would stall the
    step control of the whole batch. In a chart of an atlas σ falls as the chart's quality
    drops from :data:`QUALITY_SLOW` to :data:`QUALITY_STOP` (near its poles; another chart then
    takes over). On a single chart it falls outside the domain and where a coordinate speed
    exceeds ``speed_limit`` (running into a singular edge): the geodesic stops there.
    """
    if atlas is not None:
        width = QUALITY_SLOW - QUALITY_STOP

        def sigma(Y: np.ndarray) -> np.ndarray:
            s = (np.abs(np.sin(Y[0])) - QUALITY_STOP) / width
            out = np.ones_like(s)
            # most columns are far from a pole at most steps: the step function only where
            # it is below 1 (it is the costly part of the right-hand side otherwise)
            near = s < 1.0
            if near.any():
                out[near] = _smoothstep(s[near])
            return out

        return sigma
    d = metric.dim
    bounded = [i for i, per in enumerate(metric.periodic) if not per]
    lows = np.array([metric.domain[i][0] for i in bounded])[:, None]
    highs = np.array([metric.domain[i][1] for i in bounded])[:, None]
    widths = highs - lows

    def sigma_single(Y: np.ndarray) -> np.ndarray:
        # at most steps every column is inside and slow: then σ = 1 (NaN fails these tests)
        if np.abs(Y[d:2 * d]).max() <= speed_limit and (not bounded or (
                np.all(Y[bounded].min(axis=1) >= lows[:, 0])
                and np.all(Y[bounded].max(axis=1) <= highs[:, 0]))):
            return np.ones(Y.shape[1])
        with np.errstate(all="ignore"):
            over = np.maximum(np.max(np.abs(Y[d:2 * d]), axis=0) / speed_limit - 1.0, 0.0)
            out = np.exp(-(over / 0.5) ** 2)
            if bounded:
                beyond = np.maximum(np.maximum(lows - Y[bounded], Y[bounded] - highs), 0.0)
                out = out * np.exp(-np.sum((beyond / (0.02 * widths)) ** 2, axis=0))
        return np.where(np.isfinite(out), out, 0.0)

    return sigma_single


def _scalar_rhs(system: ScalarSystem, pv: Sequence[float], n_state: int) -> _Rhs:
    """The time-changed right-hand side for one state in a chart of an atlas (plain floats:
    odeint calls it once per evaluation, so the per-call cost is what matters)."""
    fn = system.scalar_rhs(pv)
    lo, width = QUALITY_STOP, QUALITY_SLOW - QUALITY_STOP

    def rhs(y: np.ndarray, t: float) -> list[float]:
        s = (abs(math.sin(y[0])) - lo) / width
        if s >= 1.0:
            return [*fn(y[:n_state], t), 1.0]
        a = math.exp(-1.0 / s) if s > 0.0 else 0.0
        sig = a / (a + math.exp(-1.0 / (1.0 - s)))
        out = fn(y[:n_state], t)
        if not all(math.isfinite(o) for o in out):
            return [0.0] * (n_state + 1)
        return [sig * o for o in out] + [sig]

    return rhs


def _track_major(rhs: _Rhs, b: int, m: int) -> Callable[[np.ndarray, float], np.ndarray]:
    """``rhs`` (states ``(b, m)`` flattened component-major) for states flattened track-major
    (``(m, b)``), as a banded integrator needs them."""
    def f(y: np.ndarray, t: float) -> np.ndarray:
        return np.asarray(rhs(y.reshape(m, b).T.ravel(), t)).reshape(b, m).T.ravel()

    return f


def _batch_rhs(system: ScalarSystem, pv: Sequence[float], n_state: int, m: int,
               sigma: Callable[[np.ndarray], np.ndarray]) -> _Rhs:
    def rhs(y: np.ndarray, t: float) -> np.ndarray:
        Y = y.reshape(n_state + 1, m)
        out = np.empty_like(Y)
        f = system.batch(Y[:n_state], pv)
        sig = sigma(Y[:n_state])
        # one reduction tells whether any column is not finite (then NaN or inf in its sum)
        if not np.isfinite(f.sum()):
            bad = ~np.isfinite(f).all(axis=0)
            sig = np.where(bad, 0.0, sig)
            f[:, bad] = 0.0
        np.multiply(f, sig, out=out[:n_state])
        out[n_state] = sig
        return out.ravel()

    return rhs


def _march(space: Space, atlas: Atlas | None, y0: np.ndarray, times: np.ndarray, *,
           variational: bool = False, rtol: float = _RTOL, atol: float = _ATOL,
           speed_limit: float = np.inf, method: str | None = None) -> list[_Track]:
    """Integrate geodesics (or the variational system) from the states ``y0`` (m, n_state)
    given in chart 0, sampled at ``times`` (n,), switching charts on an atlas.

    Each round integrates the pending tracks of one chart as one system under the change of
    time of :func:`_slowdown_batch`, with the proper time ``τ`` as an extra state. Samples
    where ``τ`` still equals the requested time are accepted. At the first one where it lags
    (the integration slowed near a pole, or at an edge) the state, which is exactly the
    geodesic's state at time ``τ``, is handed to the best chart of the atlas
    (:meth:`Atlas.transfer`) and the next round continues it from ``τ``; on a single chart the
    track ends there, as "left_domain" or "singular". Tracks restarted at different ``τ`` share
    one integration on the union of their shifted time grids. One track that stops never
    stops the others.

    ``method`` None integrates with ``odeint`` (LSODA); an explicit method of ``solve_ivp``
    ("RK45", "DOP853") suits a large batch at a loose tolerance, where LSODA's switch to a
    stiff method would build the Jacobian of the whole batch.
    """
    m = len(y0)
    n = len(times)
    n_state = y0.shape[1]
    base = metric_of(space)
    tracks = [_Track([], [], []) for _ in range(m)]
    # column -> (chart, state, τ, index of the first requested time still to sample)
    pending = {j: (0, np.asarray(y0[j], float), 0.0, 0) for j in range(m)}
    for _ in range(_MAX_ROUNDS):
        if not pending:
            break
        todo: dict[int, list[int]] = {}
        for j, (c, _s, _tau, _i) in pending.items():
            todo.setdefault(c, []).append(j)
        nxt: dict[int, tuple[int, np.ndarray, float, int]] = {}
        for c, cols in todo.items():
            metric = atlas.charts[c].metric if atlas is not None else base
            system = (metric.symbolic.variational_system if variational
                      else metric.symbolic.geodesic_system)
            grids = [times[pending[j][3]:] - pending[j][2] for j in cols]
            G = np.unique(np.concatenate([[0.0], *grids]))
            Y0 = np.stack([np.append(pending[j][1], 0.0) for j in cols], axis=1)
            mc = len(cols)
            if mc == 1 and atlas is not None and method is None:
                rhs = _scalar_rhs(system, metric.param_values, n_state)
            else:
                rhs = _batch_rhs(system, metric.param_values, n_state, mc,
                                 _slowdown_batch(metric, atlas, speed_limit))
            if len(G) > 1 and method is not None:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    sol = solve_ivp(lambda t, y, f=rhs: f(y, t), (0.0, G[-1]), Y0.ravel(),
                                    method=method, t_eval=G, rtol=rtol, atol=atol)
                out, reached = sol.y.T, sol.y.shape[1]
            elif len(G) > 1:
                # The tracks do not interact, so in track-major order the Jacobian is block
                # diagonal: LSODA told its band (ml = mu = n_state) estimates it from
                # n_state + 2 evaluations instead of one per state of the whole batch, which
                # made a spray's cost grow with the square of its directions (an ellipsoid's
                # 128 directions took minutes; its stiff stretches need many Jacobians).
                b = n_state + 1
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    out, info = odeint(_track_major(rhs, b, mc), Y0.T.ravel(), G, rtol=rtol,
                                       atol=atol, mxstep=20000, full_output=True,
                                       ml=b - 1, mu=b - 1)
                out = out.reshape(len(G), mc, b).transpose(0, 2, 1).reshape(len(G), -1)
                reached = (len(G) if info["message"] == "Integration successful."
                           else _rows_reached(G, info))
            else:
                out, reached = Y0.ravel()[None], 1
            S = out.reshape(len(G), n_state + 1, mc)
            # which samples are no valid states, for all columns at once (per column the
            # metric's evaluation would cost more than the integration of a whole spray)
            invalid = ~np.isfinite(S[:reached]).all(axis=1)  # (reached, mc)
            if atlas is None:
                dim = metric.dim
                x = np.moveaxis(S[:reached, :dim], 1, -1)
                safe = np.where(np.isfinite(x), x, 0.0)
                invalid |= outside(metric, safe) | is_singular(metric, safe)
                with np.errstate(invalid="ignore"):
                    invalid |= np.max(np.abs(S[:reached, dim:2 * dim]), axis=1) > speed_limit
            else:
                # Along a meridian the chart's equations stay regular at its pole, and a long
                # step can leap over the slowed zone around it: the sample past the pole lies
                # outside the chart's range (it is still on the geodesic; another chart
                # takes it over).
                x = np.moveaxis(S[:reached, :2], 1, -1)
                invalid |= outside(metric, np.where(np.isfinite(x), x, 0.0))
            # Columns that started at the same time share their rows of the output (all of
            # them in the first round): their samples are checked together.
            groups: dict[tuple[float, int], list[int]] = {}
            for col, j in enumerate(cols):
                groups.setdefault((pending[j][2], pending[j][3]), []).append(col)
            for (tau, i), gcols in groups.items():
                rows = np.searchsorted(G, times[i:] - tau)
                got = int(np.sum(rows < reached))
                Sg = S[rows[:got]][:, :, gcols]  # (got, n_state + 1, columns)
                tj = times[i:i + got]
                bad = invalid[rows[:got]][:, gcols]
                bad |= tau + Sg[:, -1] < (tj - 1e-9 * (1.0 + np.abs(tj)))[:, None]
                firsts = (np.where(bad.any(axis=0), np.argmax(bad, axis=0), got) if got
                          else np.zeros(len(gcols), dtype=int))
                for gc, col in enumerate(gcols):
                    j = cols[col]
                    k = int(firsts[gc])
                    Sj = Sg[:, :, gc]
                    track = tracks[j]
                    if k:
                        track.times.append(tj[:k])
                        track.states.append(Sj[:k, :n_state])
                        track.charts.append(c)
                    if k == got == len(tj) and i + got == n:
                        continue  # reached the end
                    if k == got:  # the integrator failed: resume from the last accepted sample
                        if k == 0:
                            track.stop, track.stop_time = "not_converged", float(tau)
                        else:
                            nxt[j] = (c, Sj[k - 1, :n_state], float(tj[k - 1]), i + k)
                        continue
                    state, tau_k = Sj[k, :n_state], float(tau + Sj[k, -1])
                    if atlas is not None and np.all(np.isfinite(state)):
                        X = atlas.charts[c].points(state[:2])
                        c2 = atlas.best_chart(X)
                        if c2 == c and outside(metric, state[None, :2])[0]:
                            # past this chart's pole: any other chart is better there
                            c2 = max((o for o in range(len(atlas)) if o != c),
                                     key=lambda o: float(atlas.charts[o].quality(
                                         atlas.charts[o].coordinates(X))))
                        if c2 == c and tau_k <= tau + 1e-12:
                            track.stop, track.stop_time = "not_converged", tau_k
                            continue
                        nxt[j] = (c2, atlas.transfer(state, c, c2), tau_k, i + k)
                        continue
                    track.stop, track.stop_time = "not_converged", tau_k
                    if atlas is None:
                        x = Sj[:k + 1, None, :metric.dim]
                        st = np.moveaxis(Sj[:k + 1, None, :2 * metric.dim], 2, 1)
                        g = metric.metric(np.where(np.isfinite(x), x, 0.0))
                        first, why = _first_bad(metric, st, g, speed_limit)
                        # a lag with no flag raised: slowed down by a runaway speed
                        reason = why[0] if first[0] <= k else _SINGULAR
                        track.stop = "singular" if reason == _SINGULAR else "left_domain"
                        track.stop_time = float(tj[k]) if first[0] <= k else tau_k
        pending = nxt
    for j in pending:
        tracks[j].stop, tracks[j].stop_time = "not_converged", float(pending[j][2])
    return tracks


def _track_geodesic(space: Space, atlas: Atlas | None, track: _Track) -> Geodesic:
    """Package a track of :func:`_march` as a :class:`Geodesic` in chart 0."""
    return _tracks_geodesics(space, atlas, [track])[0]


def _tracks_geodesics(space: Space, atlas: Atlas | None,
                      tracks: Sequence[_Track]) -> list[Geodesic]:
    """Package tracks of :func:`_march` as :class:`Geodesic` objects in chart 0.

    The samples of all tracks are stacked, so the metric (for the energy), the change to chart
    0 and the embedding are evaluated once per chart for the whole batch: per track they cost
    more than integrating a whole spray.
    """
    base = metric_of(space)
    d = base.dim
    counts = [sum(len(t) for t in tr.times) for tr in tracks]
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(int)
    if offsets[-1]:
        times_all = np.concatenate([t for tr in tracks for t in tr.times])
        S = np.concatenate([st[:, :2 * d] for tr in tracks for st in tr.states])
        chart_all = np.concatenate([np.full(len(t), c) for tr in tracks
                                    for t, c in zip(tr.times, tr.charts, strict=True)])
    else:
        times_all, S = np.zeros(0), np.zeros((0, 2 * d))
        chart_all = np.zeros(0, dtype=int)
    x_all, xdot_all = S[:, :d].copy(), S[:, d:2 * d].copy()
    energy_all = np.empty(len(S))
    xyz_all: np.ndarray | None = np.empty((len(S), 3)) if atlas is not None else None
    for c in (range(len(atlas)) if atlas is not None else (0,)):
        rows = np.flatnonzero(chart_all == c)
        if not len(rows):
            continue
        x, xdot = S[rows, :d], S[rows, d:2 * d]
        metric = atlas.charts[c].metric if atlas is not None else base
        with np.errstate(all="ignore"):
            energy_all[rows] = np.einsum("...i,...ij,...j->...", xdot, metric.metric(x), xdot)
        if atlas is None:
            continue
        chart, first = atlas.charts[c], atlas.charts[0]
        X = chart.points(x)
        assert xyz_all is not None  # allocated above for an atlas
        xyz_all[rows] = X
        if c != 0:
            x0 = first.coordinates(X)
            with np.errstate(all="ignore"):
                xdot_all[rows] = first.tangent_components(
                    x0, np.einsum("...ai,...i->...a", chart.jacobian(x), xdot))
            x_all[rows] = x0
    wrapped_all = wrap(base, x_all)
    if atlas is None:
        xyz_all = embed(space, wrapped_all)
    speed_all = np.sqrt(np.maximum(energy_all, 0.0))
    # lengths (trapezoid rule) and energy drifts, for the tracks of each number of samples
    # together (in a spray most reach the end: one group)
    lengths, drifts = np.zeros(len(tracks)), np.zeros(len(tracks))
    by_count: dict[int, list[int]] = {}
    for j, k in enumerate(counts):
        by_count.setdefault(k, []).append(j)
    for k, js in by_count.items():
        if k < 2:
            continue
        idx = offsets[js][:, None] + np.arange(k)  # (tracks, k) rows of the stacked samples
        sp, en = speed_all[idx], energy_all[idx]
        lengths[js] = np.sum(0.5 * (sp[:, 1:] + sp[:, :-1]) * np.diff(times_all[idx], axis=1),
                             axis=1)
        drifts[js] = (np.max(np.abs(en - en[:, :1]), axis=1)
                      / np.maximum(np.abs(en[:, 0]), 1e-300))
    chart_periods = periods(base)
    out = []
    for j, track in enumerate(tracks):
        a, b = offsets[j], offsets[j + 1]
        x0 = x_all[a:b]
        unwrapped = x0
        if atlas is not None and len(track.charts) > 1:
            # continuous except for the jump of π in longitude where the curve crosses a pole
            unwrapped = x0.copy()
            for i, per in enumerate(chart_periods):
                if per:
                    unwrapped[:, i] = np.unwrap(x0[:, i], period=per)
        status, message = track.stop, ""
        if status == "singular":
            message = f"{_MESSAGES[_SINGULAR]} at t = {track.stop_time:.3g}"
        elif status == "left_domain":
            message = f"{_MESSAGES[_LEFT]} at t = {track.stop_time:.3g}"
        elif status == "not_converged":
            message = f"the integrator could not continue past t = {track.stop_time:.3g}"
        out.append(Geodesic(
            coords=wrapped_all[a:b], velocities=xdot_all[a:b], times=times_all[a:b],
            xyz=None if xyz_all is None else xyz_all[a:b], length=float(lengths[j]),
            status=status, message=message, energy_drift=float(drifts[j]), unwrapped=unwrapped,
            charts=chart_all[a:b] if atlas is not None else None))
    return out


# -- public API ---------------------------------------------------------------------------------
def exp_map(
    space: Space,
    p: npt.ArrayLike,
    v: npt.ArrayLike,
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
    metric = metric_of(space)
    p = check_point(metric, p)
    v = np.asarray(v, dtype=float)
    if v.shape != (metric.dim,) or not np.all(np.isfinite(v)):
        raise GeodesicError(f"velocity must be {metric.dim} finite numbers, got {v.tolist()}")
    if not np.isfinite(t) or t <= 0:
        raise GeodesicError(f"t must be a positive number, got {t}")
    n_points = check_int("n_points", n_points, 2, MAX_POINTS, error=GeodesicError)
    times = np.linspace(0.0, float(t), n_points)
    atlas = atlas_for(space)
    if atlas is not None:
        # across the poles through the atlas's second chart
        return _track_geodesic(space, atlas, _march(space, atlas, np.concatenate([p, v])[None],
                                                    times)[0])
    states, success = _integrate_one(metric, np.concatenate([p, v]), times)
    status: GeodesicStatus = "ok" if success else "singular"
    message = "" if success else "the integrator could not continue"
    geo = _finish(space, metric, times[: len(states)], states, status, message)
    if not success and geo.status == "ok":
        geo.status, geo.message = "not_converged", "the integrator could not reach the end time"
    return geo


def orthonormal_frame(space: Space, p: np.ndarray) -> np.ndarray:
    """Columns e_1..e_d orthonormal for g(p) (Gram–Schmidt on the coordinate basis).

    Returns shape (d, d); ``e_1`` is along the first coordinate direction.
    """
    g = metric_of(space).metric(p)
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
    p: npt.ArrayLike,
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
    metric = metric_of(space)
    if metric.dim != 2:
        raise GeodesicError("a spray is drawn on two-dimensional spaces")
    p = check_point(metric, p)
    n_directions = check_int("n_directions", n_directions, 1, MAX_DIRECTIONS, error=GeodesicError)
    n_points = check_int("n_points", n_points, 2, MAX_POINTS, error=GeodesicError)
    if not np.isfinite(length) or length <= 0:
        raise GeodesicError(f"length must be positive, got {length}")
    angles = 2 * np.pi * np.arange(n_directions) / n_directions
    frame = orthonormal_frame(metric, p)
    dirs = length * (np.outer(np.cos(angles), frame[:, 0]) + np.outer(np.sin(angles), frame[:, 1]))
    y0 = np.concatenate([np.repeat(p[None], n_directions, axis=0), dirs], axis=1)
    times = np.linspace(0.0, 1.0, n_points)
    atlas = atlas_for(space)
    # On a single chart a geodesic whose coordinate speed runs away is running into a singular
    # edge (the pseudosphere's rim, a cone's apex): it is stopped there, alone.
    speed_limit = np.inf if atlas is not None else _RUNAWAY * float(np.max(np.abs(dirs)))
    tracks = _march(space, atlas, y0, times, rtol=rtol, atol=rtol * 1e-2,
                    speed_limit=speed_limit)
    return _tracks_geodesics(space, atlas, tracks)


def _newton_update(v: np.ndarray, jac: np.ndarray, residual: np.ndarray, err: float,
                   history: list[float], it: int) -> np.ndarray | None:
    """One damped Newton step of a shooting method, ``v − J⁻¹ r`` (shortened when it is long
    against ``v``: near a conjugate point the Jacobian is nearly singular), after recording
    ``err`` in ``history``; ``None`` when the iteration stalls (no progress over four steps,
    or still far after eight) or the Jacobian is singular."""
    history.append(err)
    if it >= 8 and err > 1e-2:
        return None
    if len(history) > 4 and err > 0.5 * history[-5]:
        return None
    try:
        step = np.linalg.solve(jac, residual)
    except np.linalg.LinAlgError:
        return None
    scale = max(1.0, float(np.linalg.norm(step)) / (0.5 * float(np.linalg.norm(v)) + 0.5))
    return v - step / scale


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
    # The tolerance is relative to the separation (a 1e-6 step must not be "converged" at a
    # 1e-8 error), but no finer than round-off in the coordinates' own magnitude.
    separation = float(np.max(np.abs(target - p)))
    tol = max(tol * min(1.0, separation), 64 * np.finfo(float).eps * float(np.max(np.abs(target))))
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
        next_v = _newton_update(v, end[2 * d:].reshape(2 * d, d)[:d], residual, err, history,
                                it)
        if next_v is None:
            return None
        v = next_v
    return None


@dataclass(frozen=True)
class _Candidate:
    """A fan sample passing close to q: a start for Newton's method."""

    length: float  # estimated length of a geodesic from p to q near this fan sample
    slack: float  # the estimate's uncertainty
    v0: np.ndarray  # initial velocity reaching the sample at t = 1
    target: np.ndarray  # the image of q next to the sample (unwrapped coordinates)
    sample: np.ndarray  # the fan sample itself (unwrapped coordinates)
    chart: int = 0  # on an atlas: the chart of ``sample`` and ``target``


def _fan_near_misses(miss: np.ndarray, gap: np.ndarray, valid: np.ndarray,
                     step: float) -> tuple[np.ndarray, np.ndarray]:
    """Where a fan of geodesics passes nearest the target: ``miss`` (samples × directions,
    the distance to q) with invalid samples set to inf, and the mask of its local minima over
    the 3 × 3 neighbourhood (directions are cyclic) that are within 1.5 sample spacings
    (``gap`` between neighbouring directions, ``step`` along a geodesic) of q."""
    n = miss.shape[0]
    spacing = np.maximum(np.maximum(gap, np.roll(gap, 1, axis=1)), step)
    miss = np.where(valid, miss, np.inf)
    padded = np.pad(miss, ((1, 1), (0, 0)), constant_values=np.inf)
    neighbours = np.stack([np.roll(padded, s, axis=1)[1 + dk:n + 1 + dk]
                           for dk in (-1, 0, 1) for s in (-1, 0, 1)])
    with np.errstate(invalid="ignore"):
        is_min = (miss <= neighbours.min(axis=0)) & (miss <= 1.5 * spacing) & valid
    return miss, is_min


def _fan_candidates(space: Space, metric: RiemannianMetric, p: np.ndarray, q: np.ndarray,
                    reach: float, *, n_directions: int = 96,
                    n_times: int = 97) -> tuple[list[_Candidate], float]:
    """Sweep geodesics out of ``p`` in ``n_directions`` directions up to length ``reach`` and
    return the samples where the fan passes q, shortest first.

    Every geodesic from p to q of length < ``reach`` has its initial direction between two
    neighbouring fan directions, so near its end q lies within about one fan spacing (the
    distance between neighbouring fan samples, or one sample step along a geodesic) of a fan
    sample. The samples that are within 1.5 spacings of q and nearer to it than their
    neighbours (in direction and along the geodesic), and come before their geodesic crosses a
    neighbouring one (a conjugate point), are returned as candidates.

    Also returned: a lower bound on the length of any path from p to q through a point where
    a fan geodesic stopped at a singularity of the metric (its length so far plus the chord
    in R³ to q; ``inf`` if none stopped, or for an abstract metric the length so far), since
    the fan does not see past such a point.

    The directions are offset by half a step from the coordinate axes, so that no fan geodesic
    runs straight into a pole along a meridian. The fan is integrated with an explicit
    Runge–Kutta method at a loose tolerance (it only seeds Newton's method); a stiff method
    would build a Jacobian of the whole batch at every near-pole step.
    """
    d, m = metric.dim, n_directions
    angles = 2 * np.pi * (np.arange(m) + 0.5) / m
    frame = orthonormal_frame(metric, p)
    dirs = reach * (np.outer(np.cos(angles), frame[:, 0]) + np.outer(np.sin(angles), frame[:, 1]))
    system, pv = metric.symbolic.geodesic_system, metric.param_values
    bounded = [i for i, per in enumerate(metric.periodic) if not per]
    lows = np.array([metric.domain[i][0] for i in bounded])[:, None]
    highs = np.array([metric.domain[i][1] for i in bounded])[:, None]
    speed_limit = _RUNAWAY * float(np.max(np.abs(dirs)))

    widths = highs - lows

    def rhs(_: float, y: np.ndarray) -> np.ndarray:
        Y = y.reshape(2 * d, m)
        with np.errstate(all="ignore"):
            out = system.batch(Y, pv)
        frozen = ~np.isfinite(out.sum(axis=0)) | (np.abs(Y[d:]).max(axis=0) > speed_limit)
        if frozen.any():
            out[:, frozen] = 0.0
        # (the slowdown is 1 while every column is inside: then it is not computed, which
        # matters at thousands of calls per fan)
        Yb = Y[bounded]
        if bounded and not (np.isfinite(Yb.sum()) and np.all(Yb >= lows)
                            and np.all(Yb <= highs)):
            # Slow a geodesic smoothly to a stop once outside the domain (its samples there
            # are discarded): a sudden freeze would make the step control of the whole batch
            # stumble at every exit.
            beyond = np.maximum(np.maximum(lows - Yb, Yb - highs), 0.0)
            with np.errstate(all="ignore"):
                out *= np.exp(-np.sum((beyond / (0.02 * widths)) ** 2, axis=0))
        return out.ravel()

    y0 = np.concatenate([np.repeat(p[:, None], m, axis=1), dirs.T]).ravel()
    times = np.linspace(0.0, 1.0, n_times)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sol = solve_ivp(rhs, (0.0, 1.0), y0, method="RK45", t_eval=times, rtol=FAN_RTOL,
                        atol=FAN_RTOL * 1e-2)
    n = sol.y.shape[1]
    states = np.moveaxis(sol.y.reshape(2 * d, m, n), -1, 0)  # (n, 2d, m)
    x = np.moveaxis(states[:, :d], 1, -1)  # (n, m, d)
    safe_x = np.where(np.isfinite(x), x, 0.0)
    g = metric.metric(safe_x)
    first, why = _first_bad(metric, states, g, speed_limit)
    valid = np.arange(n)[:, None] < first[None, :]
    valid[0] = False
    # Past the point where a fan geodesic crosses a neighbour (a discrete conjugate point: the
    # Jacobi field between them vanishes) it is no longer minimising, so samples there are no
    # candidates for the shortest path. Near q's antipode, where the fan focuses, this keeps
    # the many non-minimising near misses out.
    vel = np.moveaxis(states[:, d:], 1, -1)
    folded = np.zeros((n, m), dtype=bool)
    for shift in (-1, 1):
        nb = periodic_delta(metric, np.roll(safe_x, shift, axis=1) - safe_x)
        side = np.sign(vel[..., 0] * nb[..., 1] - vel[..., 1] * nb[..., 0])
        folded |= side != side[1][None, :]
    folded[0] = False  # at p itself the fan has no width
    valid &= ~np.logical_or.accumulate(folded, axis=0)
    lengths = reach * times[:n]
    # distances in R³ on a surface (well-behaved across its poles); on an abstract metric in
    # coordinates, measured with g(q)
    xyz = embed(space, wrap(metric, safe_x))
    if xyz is not None:
        pos = xyz
        q_pos = embed(space, q)
        miss = np.linalg.norm(pos - q_pos, axis=-1)
        gap = np.linalg.norm(np.roll(pos, -1, axis=1) - pos, axis=-1)
    else:
        gq = metric.metric(q)
        delta = periodic_delta(metric, q - safe_x)
        miss = np.sqrt(np.einsum("...i,ij,...j->...", delta, gq, delta))
        dn = periodic_delta(metric, np.roll(safe_x, -1, axis=1) - safe_x)
        gap = np.sqrt(np.einsum("...i,ij,...j->...", dn, gq, dn))
    step = reach / (n_times - 1)
    miss, is_min = _fan_near_misses(miss, gap, valid, step)
    ks, js = np.nonzero(is_min)
    out = []
    for k, j in zip(ks, js, strict=True):
        delta = periodic_delta(metric, q - x[k, j])
        # By Gauss's lemma the geodesic through q between this fan direction and the next
        # reaches q where this one is level with it: its length is this sample's plus the
        # component of q − sample along the velocity, up to the second order of the offset
        # across the fan (the slack allows half that offset).
        gk = g[k, j]
        along = float(delta @ gk @ vel[k, j]) / reach
        across = float(np.sqrt(max(float(delta @ gk @ delta) - along**2, 0.0)))
        out.append(_Candidate(length=float(lengths[k]) + along,
                              slack=0.5 * across + 0.05 * step,
                              v0=dirs[j] * times[k], target=x[k, j] + delta, sample=x[k, j]))
    out.sort(key=lambda c: c.length - c.slack)
    stopped = np.flatnonzero((first < n) & (why == _SINGULAR))
    via_singular = np.inf
    for j in stopped:
        last = max(int(first[j]) - 1, 0)
        rest = 0.0 if xyz is None else float(np.linalg.norm(xyz[last, j] - q_pos))
        via_singular = min(via_singular, float(lengths[last]) + rest)
    return out, via_singular


# -- the two-point problem on an atlas ----------------------------------------------------------
def _shoot_atlas(space: Space, atlas: Atlas, p: np.ndarray, target: np.ndarray,
                 v0: np.ndarray, max_iter: int, tol: float) -> np.ndarray | None:
    """:func:`_shoot` across charts: ``target`` is a point in R³, and the residual and the
    Jacobian ``∂x/∂v`` are taken in the chart where the geodesic ends (the variational state
    crosses charts with :meth:`Atlas.transfer`), so a geodesic over a pole is solved for like
    any other. ``p`` and ``v0`` are in chart 0."""
    phi0 = np.zeros((4, 2))
    phi0[2:, :] = np.eye(2)
    targets = [chart.coordinates(target) for chart in atlas.charts]
    v = np.asarray(v0, float).copy()
    times = np.array([0.0, 1.0])
    history: list[float] = []
    base = atlas.charts[0].metric
    separation = float(np.max(np.abs(periodic_delta(base, targets[0] - p))))
    tol = max(tol * min(1.0, separation),
              64 * np.finfo(float).eps * float(np.max(np.abs(targets[0]))))

    def end_state(vel: np.ndarray, rtol: float,
                  variational: bool) -> tuple[int, np.ndarray] | None:
        """The chart and the state at t = 1 of the geodesic (with its Jacobi fields if
        ``variational``) from p with velocity ``vel``."""
        start = np.concatenate([p, vel, phi0.ravel()] if variational else [p, vel])
        track = _march(space, atlas, start[None], times, variational=variational, rtol=rtol,
                       atol=rtol * 1e-2)[0]
        if track.stop != "ok" or not track.states:
            return None
        end = track.states[-1][-1]
        return (track.charts[-1], end) if np.all(np.isfinite(end)) else None

    jac: tuple[int, np.ndarray] | None = None  # the chart and ∂x/∂v of the last Jacobian
    chord = False
    for it in range(max_iter):
        after_chord = chord
        tight = bool(history) and history[-1] <= 1e-5
        # Far from the answer the Newton step needs only a rough integration (its error is
        # then far below the residual); near it the residual must be exact to 1e-11.
        rtol = 1e-11 if tight else float(np.clip(1e-4 * (history[-1] if history else 1.0),
                                                 1e-7, 1e-5))
        # Near the answer the last Jacobian (of a loose step) still serves: a chord step
        # integrates only the geodesic, not its Jacobi fields, at the tight tolerance.
        chord = tight and jac is not None
        found = end_state(v, rtol, not chord)
        if chord and found is not None and jac is not None and found[0] != jac[0]:
            chord = False  # it ends in another chart than the Jacobian's
            found = end_state(v, rtol, True)
        if found is None:
            return None
        c, end = found
        residual = periodic_delta(atlas.charts[c].metric, end[:2] - targets[c])
        err = float(np.max(np.abs(residual)))
        if err < tol and rtol < 1e-10:
            return v
        if chord:
            assert jac is not None
            J = jac[1]
            if after_chord and err > 1e-2 * history[-1]:
                jac = None  # the chord steps converge slowly: a fresh Jacobian next time
        else:
            J = end[4:].reshape(4, 2)[:2]
            jac = (c, J)
        next_v = _newton_update(v, J, residual, err, history, it)
        if next_v is None:
            return None
        v = next_v
    return None


def _continuation_atlas(space: Space, atlas: Atlas, p: np.ndarray, cand: _Candidate,
                        max_iter: int, tol: float) -> np.ndarray | None:
    """:func:`_continuation` from a fan sample in its own chart: the intermediate targets
    walk straight (in that chart) from the sample to q."""
    chart = atlas.charts[cand.chart]
    v = cand.v0
    for frac in (0.25, 0.5, 0.75, 1.0):
        mid = chart.points(cand.sample + frac * (cand.target - cand.sample))
        v_mid = _shoot_atlas(space, atlas, p, mid, v, max_iter, tol)
        if v_mid is None:
            return None
        v = v_mid
    return v


def _has_conjugate_point_atlas(space: Space, atlas: Atlas, p: np.ndarray, v: np.ndarray,
                               n: int = 64) -> bool:
    """:func:`_has_conjugate_point` across charts. Both charts are outward oriented
    (:mod:`~geomcore.geometry.charts`), so the sign of ``det ∂x/∂v`` means the same in each."""
    phi0 = np.zeros((4, 2))
    phi0[2:, :] = np.eye(2)
    track = _march(space, atlas, np.concatenate([p, v, phi0.ravel()])[None],
                   np.linspace(0.0, 1.0, n), variational=True, rtol=1e-8, atol=1e-10)[0]
    if not track.states:
        return False
    jac = np.concatenate(track.states)[1:, 4:].reshape(-1, 4, 2)[:, :2]
    det = np.linalg.det(jac)
    return bool(np.any(np.sign(det[1:]) != np.sign(det[0])))


def _fan_candidates_atlas(space: Space, atlas: Atlas, p: np.ndarray, q: np.ndarray,
                          reach: float, *, n_directions: int = 96,
                          n_times: int = 97) -> list[_Candidate]:
    """:func:`_fan_candidates` on an atlas: the fan crosses the poles, and the nearness to q,
    the spacing of the fan and the fold test (which side of its neighbour a geodesic runs, by
    ``(V × ΔX) · N`` with the normal ``N = r_u × r_v`` of any chart) are measured in R³.

    The candidates' ``sample`` and ``target`` (q's nearest image) are in the sample's chart
    ``chart``; nothing stops at a singularity, so there is no bound through one to return.
    """
    m = n_directions
    angles = 2 * np.pi * (np.arange(m) + 0.5) / m
    frame = orthonormal_frame(atlas.charts[0].metric, p)
    dirs = reach * (np.outer(np.cos(angles), frame[:, 0]) + np.outer(np.sin(angles), frame[:, 1]))
    times = np.linspace(0.0, 1.0, n_times)
    tracks = _march(space, atlas, np.concatenate([np.repeat(p[None], m, axis=0), dirs], axis=1),
                    times, rtol=FAN_RTOL, atol=FAN_RTOL * 1e-2, method="RK45")
    n = n_times
    X = np.full((n, m, 3), np.nan)
    V = np.full((n, m, 3), np.nan)
    N = np.full((n, m, 3), np.nan)
    xs = np.zeros((n, m, 2))
    chart_of = np.zeros((n, m), dtype=int)
    valid = np.zeros((n, m), dtype=bool)
    for j, tr in enumerate(tracks):
        i = 0
        for st, c in zip(tr.states, tr.charts, strict=True):
            k = len(st)
            D = atlas.charts[c].jacobian(st[:, :2])
            X[i:i + k, j] = atlas.charts[c].points(st[:, :2])
            V[i:i + k, j] = np.einsum("...ai,...i->...a", D, st[:, 2:4])
            N[i:i + k, j] = np.cross(D[..., 0], D[..., 1])
            xs[i:i + k, j] = st[:, :2]
            chart_of[i:i + k, j] = c
            valid[i:i + k, j] = True
            i += k
    valid[0] = False
    folded = np.zeros((n, m), dtype=bool)
    for shift in (-1, 1):
        nb = np.roll(X, shift, axis=1) - X
        side = np.nan_to_num(np.sign(np.einsum("...a,...a->...", np.cross(V, nb), N)))
        folded |= side != side[1][None, :]
    folded[0] = False
    valid &= ~np.logical_or.accumulate(folded, axis=0)
    lengths = reach * times
    q_pos = atlas.charts[0].points(q)
    miss = np.linalg.norm(X - q_pos, axis=-1)
    gap = np.linalg.norm(np.roll(X, -1, axis=1) - X, axis=-1)
    step = reach / (n_times - 1)
    miss, is_min = _fan_near_misses(miss, gap, valid, step)
    out = []
    for k, j in zip(*np.nonzero(is_min), strict=True):
        delta = q_pos - X[k, j]
        unit_n = N[k, j] / np.linalg.norm(N[k, j])
        delta_t = delta - (delta @ unit_n) * unit_n  # in the tangent plane
        along = float(delta_t @ V[k, j]) / reach
        across = float(np.sqrt(max(float(delta_t @ delta_t) - along**2, 0.0)))
        # A geodesic through q between this direction and a neighbour passes q within about
        # the distance between the neighbouring samples sideways. Near a focal point (the
        # antipode) every fan geodesic passes near q, one sample step along, but the fan is
        # narrow there: such a near miss is no candidate.
        if across > 1.5 * max(gap[k, j], gap[k, j - 1]) + 0.1 * step:
            continue
        c = int(chart_of[k, j])
        chart = atlas.charts[c]
        target = xs[k, j] + periodic_delta(chart.metric, chart.coordinates(q_pos) - xs[k, j])
        out.append(_Candidate(length=float(lengths[k]) + along,
                              slack=0.5 * across + 0.05 * step, v0=dirs[j] * times[k],
                              target=target, sample=xs[k, j], chart=c))
    out.sort(key=lambda cand: cand.length - cand.slack)
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
                  tol: float, *, start: np.ndarray | None = None,
                  v: np.ndarray | None = None) -> np.ndarray | None:
    """Walk the target from ``start`` (default p) along the straight segment to ``target``,
    each solve starting from the previous answer (a short step is easy; the last velocity is
    a good next guess). ``v`` is the velocity known to reach ``start``."""
    start = p if start is None else start
    for frac in (0.25, 0.5, 0.75, 1.0):
        mid = start + frac * (target - start)
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
    p: npt.ArrayLike,
    q: npt.ArrayLike,
    *,
    n_points: int = 200,
    n_starts: int = 3,
    tol: float = 1e-8,
    max_iter: int = 25,
    use_bvp: bool = True,
) -> Geodesic:
    """A shortest geodesic from ``p`` to ``q`` found by shooting: its initial velocity is
    ``log_p(q)`` (``geo.velocities[0]``), its length the distance.

    Candidates: Newton's method on ``v ↦ exp_p(v) − q`` (the Jacobian ``∂exp_p/∂v`` from the
    variational (Jacobi) equation integrated with the geodesic) is started from the straight
    segments to the nearest ``n_starts`` periodic images of ``q``. On a two-dimensional space
    a fan of 96 geodesics is then swept out of ``p`` up to the best length so far (or the
    length of the straight coordinate segment, an upper bound of the distance), and every place
    where the fan passes q seeds another Newton solve, shortest first: both ways round a
    periodic coordinate, over and under a bump or a pole. ``scipy.integrate.solve_bvp`` is the
    last resort. The shortest converged geodesic is returned.

    Returns
    -------
    Geodesic
        ``status`` is

        * ``"ok"``: the geodesic is the shortest one found; it passes no point conjugate to
          ``p`` (so no nearby curve is shorter, by Jacobi's theorem), and on a surface no
          place where the fan of geodesics passes q suggests a shorter one that was not
          converged on.
        * ``"not_shortest"``: a geodesic from p to q, but not vouched for as the shortest: it
          runs past a conjugate point (then a shorter path certainly exists), or the fan saw a
          possibly shorter way that Newton's method did not converge on, or a shorter path
          might pass through a singular point of the coordinates (a pole); the message says
          which. :func:`distance` refuses it.
        * ``"not_converged"``: no geodesic was found; the straight segment in coordinates is
          returned in ``coords`` (length NaN) so a caller can still draw something.
    """
    metric = metric_of(space)
    p = check_point(metric, p, "start point")
    q = check_point(metric, q, "end point")
    n_points = check_int("n_points", n_points, 2, MAX_POINTS, error=GeodesicError)
    n_starts = check_int("n_starts", n_starts, 1, 9, error=GeodesicError)
    # Coinciding up to round-off in the coordinates' own magnitude (np.allclose's relative
    # tolerance would call (1e6, 0) and (1e6 + 1, 0) the same point).
    gap = np.abs(periodic_delta(metric, q - p))
    if np.all(gap <= 16 * np.finfo(float).eps * np.maximum(1.0, np.maximum(np.abs(p),
                                                                          np.abs(q)))):
        raise GeodesicError("the two points coincide; choose two different points")
    found: list[tuple[float, np.ndarray]] = []  # (length, initial velocity)

    def shortest() -> float:
        return min((length for length, _ in found), default=np.inf)

    def add(v: np.ndarray | None) -> bool:
        if v is None:
            return False
        found.append((float(metric.norm(p, v)), v))
        return True

    # On a sphere or an ellipsoid every geodesic is followed across the poles
    # (:mod:`~geomcore.geometry.charts`); the end point is then matched in R³.
    atlas = atlas_for(space)
    q_xyz = atlas.charts[0].points(q) if atlas is not None else np.full(3, np.nan)  # atlas only
    lower = _coordinate_speed_bound(metric)
    images = straight_guesses(metric, p, q, n_starts)
    for i, target in enumerate(images):
        # Any curve to this image is at least this long; skip it if it cannot be shorter.
        if found and lower * np.linalg.norm(target - p) >= shortest():
            continue
        if atlas is not None:
            add(_shoot_atlas(space, atlas, p, q_xyz, target - p, max_iter, tol))
            continue
        ok = add(_shoot(metric, p, target, target - p, max_iter, tol))
        if not ok and i == 0 and metric.dim != 2:
            # The nearest image must not be given up for a farther one (on the sphere that
            # means the long way round a great circle): continue from short geodesics instead.
            # (In two dimensions the fan below finds it.)
            add(_continuation(metric, p, target, max_iter, tol))
    # The straight segment to the nearest image is itself a curve from p to q, so the distance
    # is at most its length.
    bound = _segment_length(metric, p, images[0])
    def retraces(cand: _Candidate) -> bool:
        """Whether a fan candidate is a geodesic already found (similar start and length)."""
        return any(abs(length - cand.length) <= cand.slack
                   and np.linalg.norm(v - cand.v0) <= 0.1 * np.linalg.norm(v)
                   for length, v in found)

    failed: list[_Candidate] = []  # fan candidates Newton did not converge from
    via_singular = np.inf
    if metric.dim == 2:
        reach = min(shortest(), bound)
        if not np.isfinite(reach):
            reach = 1.6 * bound if np.isfinite(bound) else np.nan
        if np.isfinite(reach):
            if atlas is not None:
                candidates = _fan_candidates_atlas(space, atlas, p, q, 1.02 * reach)
            else:
                candidates, via_singular = _fan_candidates(space, metric, p, q, 1.02 * reach)
            for cand in candidates:
                if cand.length - cand.slack >= shortest():
                    break  # sorted: no later candidate can be shorter
                if retraces(cand):
                    continue
                if atlas is not None:
                    if not (add(_shoot_atlas(space, atlas, p, q_xyz, cand.v0, max_iter, tol))
                            or add(_continuation_atlas(space, atlas, p, cand, max_iter, tol))):
                        failed.append(cand)
                    continue
                if add(_shoot(metric, p, cand.target, cand.v0, max_iter, tol)):
                    continue
                # Near a caustic the Jacobian of exp_p is nearly singular and Newton from the
                # fan's miss can fail: walk there from the fan sample, which v0 reaches.
                if not add(_continuation(metric, p, cand.target, max_iter, tol,
                                         start=cand.sample, v=cand.v0)):
                    failed.append(cand)
    # (the boundary-value solver works in one chart; an atlas has no need of it)
    if use_bvp and atlas is None and (not found or shortest() > 1.0001 * bound):
        # Still nothing, or nothing shorter than the straight segment: the boundary-value
        # solver, started from that segment, gets a try.
        target = images[0]
        v = _bvp(metric, p, target)
        if v is not None:
            geo = exp_map(space, p, v, 1.0, n_points)
            if geo.ok and np.max(np.abs(geo.unwrapped[-1] - target)) < 1e-6:
                add(v)
    # the shortest fan estimate that no geodesic found explains
    unresolved = min((c.length - c.slack for c in failed if not retraces(c)), default=np.inf)
    for length, v in sorted(found, key=lambda lv: lv[0]):
        # The length of a geodesic on [0, 1] is |v|_g, so the shortest is known before
        # sampling it; only that one is integrated again at full resolution.
        geo = exp_map(space, p, v, 1.0, n_points)
        if not geo.ok:
            continue
        margin = 1e-6 * length
        if (_has_conjugate_point_atlas(space, atlas, p, v) if atlas is not None
                else _has_conjugate_point(metric, p, v)):
            geo.status = "not_shortest"
            geo.message = ("this geodesic runs past a point conjugate to the start, so a shorter "
                           "path exists, but it was not found; try points closer together")
        elif unresolved < length - margin:
            geo.status = "not_shortest"
            geo.message = (f"a path of length about {unresolved:.4g} may exist (the fan of "
                           "geodesics passes close to the end point there) but the solver did "
                           "not converge on it; try points closer together")
        elif via_singular < length - margin:
            geo.status = "not_shortest"
            geo.message = ("a shorter path may pass through a singular point of the "
                           "coordinates (a pole or an apex), where geodesics are not followed; "
                           "try points whose shortest path stays away from it")
        return geo
    s = np.linspace(0.0, 1.0, n_points)[:, None]
    line = p + (images[0] - p) * s
    return Geodesic(
        coords=wrap(metric, line), velocities=np.zeros_like(line), times=s[:, 0],
        xyz=embed(space, wrap(metric, line)), length=float("nan"), status="not_converged",
        message="no geodesic between the two points was found (shooting and the "
                "boundary-value solver both failed); try points closer together",
        unwrapped=line,
    )


def distance(space: Space, p: npt.ArrayLike, q: npt.ArrayLike) -> float:
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
