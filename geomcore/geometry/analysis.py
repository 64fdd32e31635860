"""Derived quantities that put geodesics in context: geodesic circles, lengths to compare a
shortest path with, and parallel transport around a loop with its Gauss–Bonnet check."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from geomcore.geometry._space import Space, embed, metric_of, straight_guesses, wrap
from geomcore.geometry.geodesics import Geodesic, coordinate_loop, enclosed_curvature, log_map
from geomcore.geometry.surfaces import ParametricSurface
from geomcore.geometry.transport import (
    CLOSURE_TOL,
    check_closed,
    holonomy_angle,
    transport_with_holonomy,
)

__all__ = [
    "GeodesicCircle",
    "ShortestPath",
    "Transport",
    "geodesic_circles",
    "straight_line_length",
    "straight_segment",
    "chord_length",
    "shortest_path",
    "transport_around",
]


@dataclass(frozen=True)
class GeodesicCircle:
    """Points at geodesic distance ``radius`` from the spray's centre, one per direction.

    ``coords`` (m, 2) and ``xyz`` (m, 3) or None; the polyline is closed when drawn. Where the
    circle folds on itself, neighbouring geodesics have crossed: a caustic.
    """

    radius: float
    coords: np.ndarray
    xyz: np.ndarray | None


def geodesic_circles(spray: Sequence[Geodesic], n_circles: int = 4) -> list[GeodesicCircle]:
    """Geodesic circles at ``n_circles`` equally spaced radii up to the spray's length.

    A direction whose geodesic stopped early (left the domain, hit a singularity) is left out
    of the circles it did not reach, leaving a NaN gap.
    """
    if not spray:
        return []
    n_points = max(len(g.times) for g in spray)
    t_end = max(g.times[-1] for g in spray)
    speed = float(np.median([g.length / g.times[-1] for g in spray if g.times[-1] > 0]))
    has_xyz = spray[0].xyz is not None
    out = []
    for k in range(1, n_circles + 1):
        idx = round(k * (n_points - 1) / n_circles)
        t = idx / (n_points - 1) * t_end
        reached = [idx < len(g.coords) for g in spray]
        coords = np.array([g.coords[idx] if ok else np.full(g.coords.shape[1], np.nan)
                           for g, ok in zip(spray, reached, strict=True)])
        xyz = np.array([g.xyz[idx] if ok and g.xyz is not None else np.full(3, np.nan)
                        for g, ok in zip(spray, reached, strict=True)]) if has_xyz else None
        out.append(GeodesicCircle(
            radius=speed * t, coords=np.vstack([coords, coords[:1]]),
            xyz=None if xyz is None else np.vstack([xyz, xyz[:1]]),
        ))
    return out


def straight_segment(space: Space, p: npt.ArrayLike, q: npt.ArrayLike,
                     n: int = 400) -> np.ndarray:
    """The straight segment from p to the nearest periodic image of q, in coordinates; (n, d)."""
    metric = metric_of(space)
    p, q = np.asarray(p, float), np.asarray(q, float)
    target = straight_guesses(metric, p, q, 1)[0]
    return p + np.linspace(0.0, 1.0, n)[:, None] * (target - p)


def straight_line_length(space: Space, p: npt.ArrayLike, q: npt.ArrayLike,
                         n: int = 400) -> float:
    """Riemannian length of the straight segment from p to q *in coordinates* (to the nearest
    periodic image of q): ``∫₀¹ |q − p|_g(p + s(q − p)) ds``. A geodesic is never longer."""
    metric = metric_of(space)
    pts = straight_segment(space, p, q, n)
    speeds = metric.norm(pts, np.broadcast_to(pts[-1] - pts[0], pts.shape))
    return float(np.trapezoid(speeds, dx=1.0 / (n - 1)))


def chord_length(surface: ParametricSurface, p: npt.ArrayLike, q: npt.ArrayLike) -> float:
    """Euclidean distance in R³ between r(p) and r(q): a lower bound for the geodesic distance."""
    a = surface.points(np.asarray(p, float))
    b = surface.points(np.asarray(q, float))
    return float(np.linalg.norm(a - b))


@dataclass(frozen=True)
class ShortestPath:
    """A two-point geodesic and the lengths it is compared with."""

    geodesic: Geodesic
    chord: float | None
    straight: float
    segment: np.ndarray
    segment_xyz: np.ndarray | None

    @property
    def ok(self) -> bool:
        return self.geodesic.ok


def shortest_path(space: Space, p: npt.ArrayLike, q: npt.ArrayLike,
                  n_points: int = 200) -> ShortestPath:
    """:func:`~geomcore.geometry.geodesics.log_map` plus the chord (surfaces only) and the
    coordinate-straight-line length, the two bounds a geodesic's length sits between."""
    geo = log_map(space, p, q, n_points=n_points)
    chord = chord_length(space, p, q) if isinstance(space, ParametricSurface) else None
    segment = straight_segment(space, p, q, 120)
    return ShortestPath(geodesic=geo, chord=chord, straight=straight_line_length(space, p, q),
                        segment=segment, segment_xyz=embed(space, segment))


@dataclass(frozen=True)
class Transport:
    """Parallel transport of a vector around a loop.

    Attributes
    ----------
    loop : ndarray (n, 2)
        The loop in coordinates (wrapped).
    loop_xyz : ndarray (n, 3) or None
    vectors : ndarray (n, 2)
        The transported vector at each loop sample, in coordinates.
    vectors_xyz : ndarray (n, 3) or None
        The same vectors pushed forward to R³ (``dr · w``).
    holonomy : float
        Signed rotation angle after one turn, in (−π, π].
    enclosed_curvature : float
        ``∫∫ K dA`` over the region to the left of the loop (for a parallel ``u = u0``: the
        band between it and the edge parallel just inside the lower end of the ``u`` range).
    edge_holonomy : float
        For a parallel, the holonomy of that edge parallel (≈ 0 next to a pole; the angle
        deficit of an apex; the holonomy of the rim otherwise); 0 for a loop closed in the
        (u, v) plane. Gauss–Bonnet: holonomy ≡ edge_holonomy + enclosed_curvature (mod 2π).
    """

    loop: np.ndarray
    loop_xyz: np.ndarray | None
    vectors: np.ndarray
    vectors_xyz: np.ndarray | None
    holonomy: float
    enclosed_curvature: float
    edge_holonomy: float = 0.0

    @property
    def gauss_bonnet_total(self) -> float:
        """The Gauss–Bonnet prediction of the holonomy, ``edge_holonomy + ∬ K dA`` in radians
        (not reduced): the curvature enclosed by the loop plus, for a parallel, the holonomy of
        the chart's edge parallel it is measured from."""
        return float(self.edge_holonomy + self.enclosed_curvature)

    @property
    def gauss_bonnet_gap(self) -> float:
        """|holonomy − gauss_bonnet_total| reduced modulo 2π into [0, π]."""
        d = self.holonomy - self.gauss_bonnet_total
        return float(abs(np.mod(d + np.pi, 2 * np.pi) - np.pi))


def _pushforward(surface: ParametricSurface, coords: np.ndarray, w: np.ndarray,
                 h: float = 1e-6) -> np.ndarray:
    """dr_x(w) by central differences of the immersion; shapes (n, 2) -> (n, 3)."""
    du = (surface.points(coords + [h, 0.0]) - surface.points(coords - [h, 0.0])) / (2 * h)
    dv = (surface.points(coords + [0.0, h]) - surface.points(coords - [0.0, h])) / (2 * h)
    return du * w[:, :1] + dv * w[:, 1:2]


def transport_around(space: Space, loop: np.ndarray, w0: npt.ArrayLike | None = None,
                     ) -> Transport:
    """Transport ``w0`` (default: the g-unit vector along ∂_1) once around ``loop``."""
    metric = metric_of(space)
    loop = np.asarray(loop, float)
    check_closed(metric, loop)  # also: inside the domain, off singular points
    if w0 is None:
        g0 = metric.metric(loop[0])
        w0 = np.array([1.0 / np.sqrt(g0[0, 0]), 0.0])
    w0 = np.asarray(w0, float)
    vectors, angle = transport_with_holonomy(space, loop, w0)
    edge, u_ref = 0.0, None
    if np.max(np.abs(loop[-1] - loop[0])) > CLOSURE_TOL:
        # A parallel: Gauss–Bonnet on the band between it and an edge parallel just inside
        # the lower end of the u range, whose own holonomy accounts for what lies beyond (a
        # pole's cap shrinks to nothing, a cone's apex keeps its angle deficit).
        lo, hi = metric.domain[0]
        u_ref = lo + 2e-2 * (hi - lo)
        edge = holonomy_angle(space, coordinate_loop(space, u_ref, n_points=len(loop)))
    wrapped = wrap(metric, loop)
    xyz = embed(space, wrapped)
    vec_xyz = _pushforward(space, wrapped, vectors) if isinstance(space, ParametricSurface) \
        else None
    return Transport(loop=wrapped, loop_xyz=xyz, vectors=vectors, vectors_xyz=vec_xyz,
                     holonomy=angle, enclosed_curvature=enclosed_curvature(space, loop,
                                                                           u_ref=u_ref),
                     edge_holonomy=edge)
