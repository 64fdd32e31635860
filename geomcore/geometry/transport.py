"""Parallel transport along curves, holonomy around loops, and the curvature a loop encloses.

Every function accepts a :class:`~geomcore.geometry.surfaces.ParametricSurface` or a
:class:`~geomcore.geometry.metrics.RiemannianMetric`. Transport solves
``ẇ^k = −Γ^k_ij(c) ċ^i w^j`` with ``scipy.integrate.solve_ivp`` along a spline of the curve.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from scipy.integrate import solve_ivp
from scipy.interpolate import CubicHermiteSpline, CubicSpline

from geomcore._validation import check_int
from geomcore.geometry._space import (
    MAX_POINTS,
    Geodesic,
    GeodesicError,
    Space,
    metric_of,
    periodic_delta,
)
from geomcore.geometry.metrics import RiemannianMetric

__all__ = [
    "parallel_transport",
    "holonomy_angle",
    "enclosed_curvature",
    "coordinate_circle",
    "coordinate_loop",
    "transport_with_holonomy",
]


CLOSURE_TOL = 1e-8
"""A loop whose last sample is within this of its first (coordinate units, after removing whole
periods) is closed; its last sample is snapped onto the first."""
_MAX_RHS_CALLS = 200_000
"""Bound on the right-hand-side evaluations of one transport (a regular curve of ≤ MAX_POINTS
samples needs far fewer): beyond it the curve is too irregular and the transport stops."""


def _check_curve(metric: RiemannianMetric, x: np.ndarray, what: str = "curve") -> None:
    """Raise unless the samples ``x`` (n, d) are finite points of the domain (periodic
    coordinates may take any value) where the metric is regular."""
    if x.ndim != 2 or x.shape[1] != metric.dim or len(x) < 4:
        raise GeodesicError(f"a {what} must be an array of shape (n >= 4, {metric.dim})")
    if not np.all(np.isfinite(x)):
        raise GeodesicError(f"the {what} has non-finite coordinates")
    for i, ((lo, hi), per) in enumerate(zip(metric.domain, metric.periodic, strict=True)):
        if not per and (x[:, i].min() < lo or x[:, i].max() > hi):
            k = int(np.argmax((x[:, i] < lo) | (x[:, i] > hi)))
            raise GeodesicError(
                f"the {what} leaves the parameter domain: {metric.coord_labels[i]} = "
                f"{x[k, i]:.4g} at sample {k} is outside [{lo:.4g}, {hi:.4g}]; move it inside"
            )
    singular = metric.is_degenerate(x)
    if singular.any():
        k = int(np.argmax(singular))
        raise GeodesicError(
            f"the metric is singular at sample {k} of the {what}, "
            f"{np.round(x[k], 4).tolist()} (a coordinate singularity such as a pole or an "
            "apex); parallel transport is not defined there: move the curve off it"
        )


def _closes_in_plane(x: np.ndarray) -> bool:
    """Whether the samples (n, d) end where they start in the coordinate plane (no period)."""
    return bool(np.max(np.abs(x[-1] - x[0])) <= CLOSURE_TOL)


def _curve_functions(metric: RiemannianMetric, curve: Geodesic | np.ndarray):
    """(times, c(t), c'(t)) for a Geodesic (Hermite data) or an (n, d) array of samples."""
    if isinstance(curve, Geodesic):
        x = curve.unwrapped if curve.unwrapped is not None else curve.coords
        t = curve.times
        spline = CubicHermiteSpline(t, x, curve.velocities, axis=0)
        return t, spline, spline.derivative()
    x = np.array(curve, dtype=float)
    _check_curve(metric, x)
    t = np.linspace(0.0, 1.0, len(x))
    closed = _closes_in_plane(x)
    if closed:
        # A loop stitched from computed pieces closes only to their tolerance; the periodic
        # spline needs the ends exactly equal.
        x[-1] = x[0]
    spline = CubicSpline(t, x, axis=0, bc_type="periodic" if closed else "not-a-knot")
    return t, spline, spline.derivative()


class _TooManySteps(Exception):
    pass


def parallel_transport(
    space: Space,
    curve: Geodesic | np.ndarray,
    w0: npt.ArrayLike,
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
    metric = metric_of(space)
    w = np.asarray(w0, dtype=float)
    if w.shape != (metric.dim,) or not np.all(np.isfinite(w)):
        raise GeodesicError(f"w0 must be {metric.dim} finite numbers")
    t, c, dc = _curve_functions(metric, curve)

    calls = 0

    def rhs(s: float, ws: np.ndarray) -> np.ndarray:
        nonlocal calls
        calls += 1
        if calls > _MAX_RHS_CALLS:
            raise _TooManySteps
        gam = metric.christoffel(c(s))
        return -np.einsum("kij,i,j->k", gam, dc(s), ws)

    try:
        sol = solve_ivp(rhs, (t[0], t[-1]), w, method="DOP853", t_eval=t, rtol=1e-10,
                        atol=1e-12)
    except _TooManySteps:
        raise GeodesicError(
            "parallel transport did not finish: the curve passes too close to a singularity "
            "of the metric or is too irregular; move it away or sample it more smoothly"
        ) from None
    if not sol.success or not np.all(np.isfinite(sol.y)):
        raise GeodesicError(f"parallel transport failed: {sol.message}")
    return sol.y.T


def check_closed(metric: RiemannianMetric, loop: np.ndarray) -> None:
    """Raise unless ``loop`` (n, d) ends where it starts (periodic coordinates may advance by
    whole periods)."""
    _check_curve(metric, loop, "loop")
    closure = periodic_delta(metric, loop[-1] - loop[0])
    if np.max(np.abs(closure)) > CLOSURE_TOL:
        raise GeodesicError("the loop must end where it starts")
    step = loop[1:] - loop[:-1]
    mid = 0.5 * (loop[1:] + loop[:-1])
    if not np.any(metric.norm(mid, step) > 0.0):
        raise GeodesicError("the loop has zero length (all its samples are one point); "
                            "choose a loop that goes around something")


def _signed_angle(metric: RiemannianMetric, x: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    g = metric.metric(x)
    cos = a @ g @ b
    sin = np.sqrt(np.linalg.det(g)) * (a[0] * b[1] - a[1] * b[0])
    return float(np.arctan2(sin, cos))


def holonomy_angle(space: Space, loop: np.ndarray, w0: npt.ArrayLike | None = None) -> float:
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
    metric = metric_of(space)
    if metric.dim != 2:
        raise GeodesicError("holonomy angles are defined here for two-dimensional spaces")
    loop = np.asarray(loop, dtype=float)
    check_closed(metric, loop)
    w = np.array([1.0, 0.0]) if w0 is None else np.asarray(w0, dtype=float)
    return transport_with_holonomy(space, loop, w)[1]


def transport_with_holonomy(space: Space, loop: np.ndarray,
                            w0: np.ndarray) -> tuple[np.ndarray, float]:
    """Transport ``w0`` around a closed ``loop``; returns the vectors at every sample (n, 2)
    and the signed rotation angle after one turn (the holonomy)."""
    metric = metric_of(space)
    w = parallel_transport(space, loop, w0)
    return w, _signed_angle(metric, loop[0], w0, w[-1])


def enclosed_curvature(space: Space, loop: np.ndarray, *, n_quad: int = 48,
                       u_ref: float | None = None) -> float:
    """∫∫ K dA over the region to the left of ``loop`` (Green's theorem, no grid).

    With ``Φ(u, v) = ∫_{u_ref}^{u} K √det g (s, v) ds`` we have ``∂Φ/∂u = K √det g``, so
    ``∫∫_D K dA = ∮ Φ dv``. For a loop closed in the (u, v) plane ``u_ref`` cancels; a loop that
    closes only through a periodic ``v`` (a parallel) bounds, together with the parallel
    ``u = u_ref`` (default: the lower edge of the ``u`` range), the band between them.
    """
    metric = metric_of(space)
    loop = np.asarray(loop, dtype=float)
    closed_in_plane = _closes_in_plane(loop)
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
    terms = k_dA * weights[None, :]
    # A sample on the reference parallel itself (u = u_ref, e.g. a pole) has Φ = 0 whatever K is
    # there; anywhere else a non-finite K means the region holds a singular point: say so
    # rather than drop it.
    bad = ~np.isfinite(terms) & (u != u_ref)[:, None]
    if bad.any():
        where = pts[bad][0]
        raise GeodesicError(
            f"the curvature is not finite at {int(bad.sum())} of {bad.size} points inside the "
            f"loop (e.g. at ({where[0]:.4g}, {where[1]:.4g})): the region it encloses contains "
            "a singular point of the chart; choose a loop that avoids it")
    phi = 0.5 * (u - u_ref) * np.where(np.isfinite(terms), terms, 0.0).sum(axis=1)
    # ∮ Φ dv with the trapezoid rule on the closed polygon.
    dv = np.diff(v)
    return float(np.sum(0.5 * (phi[1:] + phi[:-1]) * dv))


def coordinate_circle(center: Sequence[float], radius: float | Sequence[float],
                      n_points: int = 400) -> np.ndarray:
    """A counter-clockwise circle (or axis-aligned ellipse) in coordinates; shape (n, 2).

    The first and last samples coincide.
    """
    n_points = check_int("n_points", n_points, 8, MAX_POINTS, error=GeodesicError)
    r = np.broadcast_to(np.asarray(radius, float), (2,))
    a = np.linspace(0.0, 2 * np.pi, n_points)
    loop = np.stack([center[0] + r[0] * np.cos(a), center[1] + r[1] * np.sin(a)], axis=-1)
    loop[-1] = loop[0]
    return loop


def coordinate_loop(space: Space, u0: float, n_points: int = 400) -> np.ndarray:
    """The loop ``u = u0`` with ``v`` running once around its periodic range; shape (n, 2).

    On a surface of revolution this is a parallel (a latitude circle).
    """
    metric = metric_of(space)
    if not metric.periodic[1]:
        raise GeodesicError("a coordinate loop u = const needs a periodic v")
    n_points = check_int("n_points", n_points, 8, MAX_POINTS, error=GeodesicError)
    lo, hi = metric.domain[1]
    v = np.linspace(lo, hi, n_points)
    return np.stack([np.full_like(v, u0), v], axis=-1)
