"""Caching for the Surfaces & geodesics lab (``dashboard/views/geometry.py``).

No cached function draws its own spinner: a spinner's text is fixed when the module is
imported, in one language; the page wraps the calls in ``st.spinner`` with translated text.

``st.cache_resource`` holds objects with compiled functions that are never mutated (a surface, a
metric); ``st.cache_data`` holds results (geodesics, transports), which are pickled per caller.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

import numpy as np
import streamlit as st

from dashboard.cached.common import in_worker
from geomcore.duality import families
from geomcore.geometry import analysis, geodesics, metrics, surfaces

Space = surfaces.ParametricSurface | metrics.RiemannianMetric
SpaceKind = Literal["catalog", "custom", "statistical"]
"""Where a space comes from: the surface catalog, a visitor's formulas, or the statistical
manifolds of :mod:`geomcore.geometry.metrics`."""


@dataclass(frozen=True)
class SpaceConfig:
    """Which space the geometry page shows.

    ``kind`` is "catalog" (``name`` a catalog surface, ``params`` its shape parameters),
    "custom" (``formulas`` for x, y, z with ``u_range``, ``v_range``, ``periodic``) or
    "statistical" (``name`` one of :func:`geomcore.geometry.metrics.names`).
    """

    kind: SpaceKind
    name: str
    params: tuple[tuple[str, float], ...] = ()
    formulas: tuple[str, str, str] = ("", "", "")
    u_range: tuple[float, float] = (0.0, 1.0)
    v_range: tuple[float, float] = (0.0, 1.0)
    periodic: tuple[bool, bool] = (False, False)

    @property
    def key(self) -> str:
        """A short stable string naming this space's domain, for widget keys."""
        if self.kind == "custom":
            return f"custom_{self.u_range}_{self.v_range}".replace(" ", "")
        return f"{self.kind}_{self.name}"


MAX_SPRAY_DIRECTIONS = 128
"""Most geodesics in one spray. At 128 directions and the largest radius the dearest catalog
spray (a thin ellipsoid, a = 0.3, b = 3, c = 0.3, from near its tip) takes 13.5 s of CPU since
LSODA is given the batch's banded Jacobian; before that it took 93 s (issue 14 measured
33-48 s on the saddle and the pseudosphere). See benchmarks/worst_case.py."""
MAX_SPRAY_RADIUS = 10.0
"""Longest geodesic of a spray (the integration time grows with it)."""
MAX_GEODESIC_LENGTH = 20.0
"""Longest single geodesic (under 0.1 s on every catalog surface)."""


def check_spray(n_directions: int, length: float) -> None:
    """Refuse a spray beyond :data:`MAX_SPRAY_DIRECTIONS` or :data:`MAX_SPRAY_RADIUS` (the
    page's sliders stop there; a crafted request must too)."""
    if isinstance(n_directions, bool) or not isinstance(n_directions, int | np.integer) \
            or not 1 <= n_directions <= MAX_SPRAY_DIRECTIONS:
        raise ValueError(f"a spray has 1..{MAX_SPRAY_DIRECTIONS} directions, got "
                         f"{n_directions!r}")
    if not 0 < float(length) <= MAX_SPRAY_RADIUS:
        raise ValueError(f"a spray's radius must be in (0, {MAX_SPRAY_RADIUS:g}], got {length!r}")


CUSTOM_TIMEOUT_S = 10.0  # seconds of computing in the worker (a CPU-time limit, load-independent)
CUSTOM_MEMORY_BYTES = 2 * 1024**3


@st.cache_resource(max_entries=48, show_spinner=False)
def space_for(cfg: SpaceConfig) -> Space:
    """The surface or metric for ``cfg`` (symbolic derivation happens once per family).

    A visitor's formulas are derived by :func:`custom_surface_for` in a separate process with
    a time and memory limit; a refusal is raised here as the ``ValueError`` it was.
    """
    if cfg.kind == "catalog":
        return surfaces.get(cfg.name, **dict(cfg.params))
    if cfg.kind == "custom":
        outcome = custom_surface_for(cfg.formulas, cfg.u_range, cfg.v_range, cfg.periodic)
        if isinstance(outcome, CustomRefusal):
            raise outcome.error_type(outcome.message)
        return outcome
    if cfg.kind == "statistical":
        return metrics.get(cfg.name)
    raise ValueError(f"unknown space kind {cfg.kind!r}")


@dataclass(frozen=True)
class CustomRefusal:
    """Why a visitor's surface cannot be shown (its exception type and message)."""

    error_type: type[ValueError]
    message: str


@st.cache_resource(max_entries=48, show_spinner=False)
def custom_surface_for(formulas: tuple[str, str, str], u_range: tuple[float, float],
                       v_range: tuple[float, float], periodic: tuple[bool, bool]
                       ) -> surfaces.ParametricSurface | CustomRefusal:
    """A visitor's surface, derived within :data:`CUSTOM_TIMEOUT_S` and
    :data:`CUSTOM_MEMORY_BYTES` (:func:`geomcore.geometry.surfaces.from_expressions_bounded`).

    Refusals are cached like results: a formula too complex to derive costs its time limit
    once for the whole server, not on every rerun of every session that types it.
    """
    try:
        return surfaces.from_expressions_bounded(
            *formulas, u_range, v_range, periodic=periodic, timeout_s=CUSTOM_TIMEOUT_S,
            memory_bytes=CUSTOM_MEMORY_BYTES)
    except ValueError as exc:  # invalid, too complex or degenerate: the same on every try
        return CustomRefusal(type(exc), str(exc))
    except TimeoutError as exc:  # the worker could not start (a busy server): not cached
        raise ValueError("the server is too busy to start the derivation right now; "
                         "try again in a moment") from exc


@st.cache_data(max_entries=48, show_spinner=False)
def latex_for(cfg: SpaceConfig) -> dict[str, str]:
    return space_for(cfg).latex()


@st.cache_data(max_entries=48, show_spinner=False)
def total_curvature_for(cfg: SpaceConfig) -> float:
    space = space_for(cfg)
    if not isinstance(space, surfaces.ParametricSurface):
        return float("nan")
    return surfaces.total_curvature(space)


@st.cache_data(max_entries=128, show_spinner=False)
def geodesic_for(cfg: SpaceConfig, p: tuple[float, float], angle: float,
                 length: float) -> geodesics.Geodesic:
    """The geodesic from p leaving at ``angle`` (from ∂_1, g-orthonormal frame) up to length
    (at most :data:`MAX_GEODESIC_LENGTH`)."""
    if not 0 < float(length) <= MAX_GEODESIC_LENGTH:
        raise ValueError(f"a geodesic's length must be in (0, {MAX_GEODESIC_LENGTH:g}], got "
                         f"{length!r}")
    space = space_for(cfg)
    v = geodesics.unit_vector(space, np.asarray(p), angle) * length
    return geodesics.exp_map(space, p, v, 1.0, n_points=300)


@st.cache_data(max_entries=64, show_spinner=False)
def spray_for(cfg: SpaceConfig, p: tuple[float, float], n_directions: int, length: float,
              n_circles: int) -> tuple[list[geodesics.Geodesic], list[analysis.GeodesicCircle]]:
    """The spray of ``n_directions`` geodesics from ``p`` to ``length`` and ``n_circles`` of its
    geodesic circles. Up to :data:`MAX_SPRAY_DIRECTIONS` it can take seconds, so it runs in
    the server's worker pool; a visitor's own surface (compiled here, from formulas derived
    under limits) is sprayed here."""
    check_spray(n_directions, length)
    if cfg.kind == "custom":
        return _spray(space_for(cfg), p, n_directions, length, n_circles)
    return in_worker(_spray_in_worker, cfg, p, n_directions, length, n_circles)


def _spray(space: Space, p: tuple[float, float], n_directions: int, length: float,
           n_circles: int) -> tuple[list[geodesics.Geodesic], list[analysis.GeodesicCircle]]:
    spray = geodesics.spray(space, p, n_directions, length, n_points=121)
    return spray, analysis.geodesic_circles(spray, n_circles)


@functools.lru_cache(maxsize=8)
def _catalog_space(cfg: SpaceConfig) -> Space:
    """A catalog surface or statistical manifold, built once per worker process (compiled
    functions do not pickle, so the worker builds its own)."""
    if cfg.kind == "catalog":
        return surfaces.get(cfg.name, **dict(cfg.params))
    return metrics.get(cfg.name)


def _spray_in_worker(cfg: SpaceConfig, p: tuple[float, float], n_directions: int,
                     length: float, n_circles: int, progress: object = None
                     ) -> tuple[list[geodesics.Geodesic], list[analysis.GeodesicCircle]]:
    """:func:`spray_for`'s work in a worker (``progress`` unused: one solver call)."""
    return _spray(_catalog_space(cfg), p, n_directions, length, n_circles)


@st.cache_data(max_entries=64, show_spinner=False)
def shortest_for(cfg: SpaceConfig, p: tuple[float, float],
                 q: tuple[float, float]) -> analysis.ShortestPath:
    return analysis.shortest_path(space_for(cfg), p, q)


@st.cache_data(max_entries=64, show_spinner=False)
def transport_for(cfg: SpaceConfig, loop: tuple) -> analysis.Transport:
    """``loop`` is ("circle", u, v, radius) or ("parallel", u0)."""
    space = space_for(cfg)
    if loop[0] == "circle":
        path = geodesics.coordinate_circle(loop[1:3], loop[3], n_points=361)
    else:
        path = geodesics.coordinate_loop(space, loop[1], n_points=361)
    return analysis.transport_around(space, path)


# -- numbers the page publishes for its lessons ----------------------------------------------------

def circle_length(space: Space, circle: analysis.GeodesicCircle) -> float:
    """Length of a geodesic circle drawn as its closed polyline: in R³ on a surface, with the
    metric at the segments' midpoints otherwise. NaN when a geodesic of the spray stopped
    before the circle's radius (the circle has a gap)."""
    if circle.xyz is not None:
        pts = np.asarray(circle.xyz, float)
        if not np.all(np.isfinite(pts)):
            return float("nan")
        return float(np.linalg.norm(np.diff(pts, axis=0), axis=1).sum())
    pts = np.asarray(circle.coords, float)
    if not np.all(np.isfinite(pts)):
        return float("nan")
    steps = np.diff(pts, axis=0)
    mids = 0.5 * (pts[1:] + pts[:-1])
    metric = space if isinstance(space, metrics.RiemannianMetric) else None
    if metric is None:
        return float(np.linalg.norm(steps, axis=1).sum())
    return float(np.sum(metric.norm(mids, steps)))


def circle_cusps(circle: analysis.GeodesicCircle) -> int:
    """How many times a geodesic circle (closed polyline, one vertex per direction of the
    spray) turns back on itself: consecutive segments pointing in opposite directions. A
    smooth circle has none; past the first conjugate points the circle folds and grows cusps
    along the caustic. Gaps (NaN vertices) count nothing."""
    pts = np.asarray(circle.xyz if circle.xyz is not None else circle.coords, float)
    steps = np.diff(pts, axis=0)
    following = np.roll(steps, -1, axis=0)
    dots = np.einsum("ij,ij->i", steps, following)
    return int(np.sum(np.isfinite(dots) & (dots < 0)))


def fisher_rao_distance(name: str, p: tuple[float, float],
                        q: tuple[float, float]) -> float | None:
    """The closed-form distance between two points of a statistical manifold, from the
    duality lab's exponential families (an implementation independent of this page's geodesic
    solver): ``√2 arccosh(1 + (Δμ²/2 + Δσ²)/(2σ₁σ₂))`` for the normal family,
    ``2 arccos Σ √(pᵢqᵢ)`` for three outcomes, ``arccosh(1 + |p − q|²/(2 y₁ y₂))`` for the
    half-plane. None for any other space."""
    a, b = np.asarray(p, float), np.asarray(q, float)
    if name == "gaussian":
        return float(families.Gaussian1D().fisher_rao_distance(a, b))
    if name == "categorical":
        probs = metrics.categorical_probabilities(np.stack([a, b]))
        return float(families.Categorical(3).fisher_rao_distance(probs[0], probs[1]))
    if name == "poincare":
        return float(np.arccosh(1.0 + float(np.sum((a - b) ** 2)) / (2.0 * a[1] * b[1])))
    return None
