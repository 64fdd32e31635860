"""Figures of the Surfaces & geodesics lab (pure: geomcore results in, go.Figure out)."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from dashboard.figures.theme import (
    CURVATURE_SCALE,
    CURVATURE_SCALE_3D,
    LABEL_BOX,
    base_layout,
    figure,
    symmetric_range,
)
from dashboard.i18n import has, t
from geomcore.geometry import metrics
from geomcore.geometry.analysis import Transport
from geomcore.geometry.geodesics import Geodesic, GeodesicStatus
from geomcore.geometry.metrics import RiemannianMetric
from geomcore.geometry.surfaces import ParametricSurface

__all__ = [
    "Curve",
    "Arrow",
    "PointLike",
    "FIELDS",
    "field_label",
    "surface_title",
    "manifold_title",
    "make_surface_figure",
    "make_parameter_map",
    "make_metric_plane",
    "make_gaussian_path_figure",
    "make_categorical_path_figure",
    "split_periodic",
    "join_curves",
    "transport_arrows",
    "indicatrices",
    "TransportDrawing",
    "transport_drawing",
    "reduce_angle",
    "stop_sentence",
    "STATUS_SENTENCES",
    "StartDefaults",
    "start_defaults",
    "curve_ink",
    "curve_traces",
]

FIELDS = ("gaussian", "mean")
"""The fields a surface can be coloured by (their names: :func:`field_label`)."""


def field_label(field: str) -> str:
    """The colouring ``field`` in words ("Gaussian curvature K"), in the page's language."""
    return t(f"geometry.fields.{field}")


def surface_title(surface: ParametricSurface) -> str:
    """A surface's title in the page's language (a catalog surface's, "Custom surface" for a
    visitor's; geomcore's own title for anything the catalogs do not name)."""
    key = f"geometry.surfaces.{surface.name}.title"
    return t(key) if has(key) else surface.title


def manifold_title(name: str, fallback: str) -> str:
    """A statistical manifold's name in the page's language (``fallback`` if not catalogued)."""
    key = f"geometry.manifolds.{name}.name"
    return t(key) if has(key) else fallback

# Inks for curves drawn over the blue–grey–red curvature scale. Orange contrasts with both ends
# (navy and dark red) and with the grey middle; every line is also drawn over a casing of the
# opposite lightness, so even a dark ink stays visible on navy.
_INKS = ("#E69F00", "#111111", "#009E73", "#FFD60A", "#111111", "#D55E00", "#56B4E9",
         "#111111")
_DARK_CASING = "#1B1F24"


def curve_ink(index: int) -> str:
    """The colour of curve ``index`` on a curvature-coloured background (0: geodesics, orange;
    1: geodesic circles, near-black; 3: a transport loop, yellow; 4: a dashed reference)."""
    return _INKS[index % len(_INKS)]


def _casing(ink: str) -> str:
    """White under a dark ink, near-black under a light one."""
    r, g, b = (int(ink[i:i + 2], 16) for i in (1, 3, 5))
    return "white" if 0.299 * r + 0.587 * g + 0.114 * b < 110 else _DARK_CASING


# How a geodesic drawn from one start point ended (Geodesic.status), in words; "not_shortest"
# comes from log_map only and its own message is shown. The page never shows the codes. The
# sentences are the catalogs' geometry.status.<code> (geometry.status.other for a new code).
STATUS_SENTENCES: tuple[GeodesicStatus, ...] = ("ok", "left_domain", "singular",
                                                "not_converged")


def stop_sentence(geodesic: Geodesic) -> str:
    """Why and where a geodesic stopped, as a sentence for the page (never a status code)."""
    code = geodesic.status if geodesic.status in STATUS_SENTENCES else "other"
    length = geodesic.length if np.isfinite(geodesic.length) else 0.0
    return t(f"geometry.status.{code}", length=length)


@dataclass(frozen=True)
class StartDefaults:
    """Where "One geodesic" starts when a space is opened: the start point as fractions of the
    (finite) coordinate ranges, the direction in degrees from ∂_1, and the length."""

    u_frac: float = 0.22
    v_frac: float = 0.15
    angle: int = 40
    length: float = 6.0


# Chosen so that every default geodesic stays inside its chart with about 15 % to spare
# (tests/dashboard/test_geometry_figures_readable.py integrates each one). The closed surfaces
# start on the upper, camera-facing side.
_START_DEFAULTS = {
    "saddle": StartDefaults(0.2, 0.3, 30, 2.5),
    "monkey_saddle": StartDefaults(0.2, 0.3, 30, 2.0),
    "paraboloid": StartDefaults(0.2, 0.3, 30, 3.2),
    "catenoid": StartDefaults(0.3, 0.15, 40, 3.0),
    "helicoid": StartDefaults(0.2, 0.3, 30, 2.5),
    "pseudosphere": StartDefaults(0.5, 0.15, 40, 2.5),
    "gaussian_bump": StartDefaults(0.15, 0.3, 20, 4.6),
    "cylinder": StartDefaults(0.3, 0.15, 40, 3.0),
    "cone": StartDefaults(0.8, 0.15, 120, 2.6),
    "poincare": StartDefaults(0.35, 0.3, 40, 6.0),
    "gaussian": StartDefaults(0.35, 0.3, 40, 2.8),
    "categorical": StartDefaults(0.3, 0.2, 60, 1.6),
}


def start_defaults(name: str) -> StartDefaults:
    """The opening start point, direction and length for the space called ``name`` (a catalog
    surface, a statistical manifold, or anything else for the generic default)."""
    return _START_DEFAULTS.get(name, StartDefaults())


def reduce_angle(angle: float) -> float:
    """``angle`` (radians) reduced into (−π, π], the range of a holonomy angle."""
    r = float(np.mod(angle + np.pi, 2 * np.pi) - np.pi)
    return np.pi if r == -np.pi else r


PointLike = np.ndarray | Sequence[float]
"""A point in coordinates, shape (2,): an array or a pair of floats."""


@dataclass(frozen=True)
class Curve:
    """A curve to draw: coordinates (n, 2) and, on a surface, points in R³ (n, 3)."""

    coords: np.ndarray
    name: str
    xyz: np.ndarray | None = None
    color_index: int = 0
    dash: str = "solid"
    width: float = 5.0
    show_legend: bool = True
    legend_group: str | None = None


def join_curves(parts: Sequence[tuple[np.ndarray, np.ndarray | None]], name: str, *,
                color_index: int = 0, width: float = 2.5) -> Curve:
    """Many curves as one, separated by NaN rows: one Plotly trace draws them all, which keeps
    a 100-geodesic spray fast to build and to render."""
    coords, xyz = [], []
    for c, x in parts:
        coords += [np.asarray(c, float), np.full((1, np.shape(c)[1]), np.nan)]
        if x is not None:
            xyz += [np.asarray(x, float), np.full((1, 3), np.nan)]
    if not coords:
        return Curve(np.empty((0, 2)), name, None, color_index, width=width)
    return Curve(np.concatenate(coords), name, np.concatenate(xyz) if xyz else None,
                 color_index, width=width)


@dataclass(frozen=True)
class Arrow:
    """A tangent vector to draw: base and vector in coordinates, optionally in R³."""

    base: np.ndarray
    vector: np.ndarray
    base_xyz: np.ndarray | None = None
    vector_xyz: np.ndarray | None = None


@dataclass(frozen=True)
class TransportDrawing:
    """What a transport picture shows: the vector along the loop (``arrows``), the first
    vector and the vector after one turn (both at the loop's start), and the arc between them
    (coordinates (k, 2) and, on a surface, R³ (k, 3); empty when the angle is below 1°)."""

    arrows: list[Arrow]
    first: Arrow
    last: Arrow
    arc: np.ndarray
    arc_xyz: np.ndarray | None
    holonomy: float


def transport_arrows(transport: Transport, *, n_arrows: int = 24, length_2d: float = 0.3,
                     length_3d: float = 0.35) -> list[Arrow]:
    """Arrows for the transported vector at ``n_arrows`` points of the loop, scaled so the
    first one has the given lengths (in coordinates and in R³); later ones keep their ratio to
    it, so a change in g-length would show (it should not)."""
    loop, vec = transport.loop, transport.vectors
    step = max(1, len(loop) // n_arrows)
    s2 = length_2d / max(float(np.linalg.norm(vec[0])), 1e-12)
    v3 = transport.vectors_xyz
    s3 = length_3d / max(float(np.linalg.norm(v3[0])), 1e-12) if v3 is not None else 0.0
    return [
        Arrow(loop[i], vec[i] * s2,
              transport.loop_xyz[i] if transport.loop_xyz is not None else None,
              v3[i] * s3 if v3 is not None else None)
        for i in range(0, len(loop), step)
    ]


def _slerp(a: np.ndarray, b: np.ndarray, radius: float, n: int = 32) -> np.ndarray:
    """Points at distance ``radius`` turning from direction ``a`` to ``b`` (short way), (n, d)."""
    a = a / np.linalg.norm(a)
    b = b / np.linalg.norm(b)
    theta = float(np.arccos(np.clip(a @ b, -1.0, 1.0)))
    s = np.linspace(0.0, 1.0, n)[:, None]
    if theta < 1e-6:
        return radius * np.repeat(a[None], n, axis=0)
    return radius * (np.sin((1 - s) * theta) * a + np.sin(s * theta) * b) / np.sin(theta)


def transport_drawing(transport: Transport, *, n_arrows: int = 12,
                      length_2d: float | None = None,
                      length_3d: float | None = None) -> TransportDrawing:
    """The pieces of a readable transport picture: a dozen arrows along the loop, the first
    and the last vector at the start of the loop, and the arc of the holonomy angle between
    them (drawn at 60 % of the arrow length). Lengths default to 30 % of the loop's size (in
    coordinates and in R³), so arrows stay visible on a large surface and do not cross on a
    small loop."""
    if length_2d is None:
        length_2d = 0.3 * max(float(np.ptp(transport.loop, axis=0).max()), 1e-6)
    if length_3d is None:
        size = (float(np.ptp(transport.loop_xyz, axis=0).max())
                if transport.loop_xyz is not None else 1.0)
        length_3d = 0.3 * max(size, 1e-6)
    arrows = transport_arrows(transport, n_arrows=n_arrows, length_2d=length_2d,
                              length_3d=length_3d)
    # The first and the last vector carry the lesson: drawn longer than the arrows along the
    # loop (which would otherwise hide them), with the angle's arc between them.
    k = 1.7
    s2 = k * length_2d / max(float(np.linalg.norm(transport.vectors[0])), 1e-12)
    v3 = transport.vectors_xyz
    s3 = k * length_3d / max(float(np.linalg.norm(v3[0])), 1e-12) if v3 is not None else 0.0
    base_xyz = transport.loop_xyz[0] if transport.loop_xyz is not None else None
    first = Arrow(transport.loop[0], transport.vectors[0] * s2, base_xyz,
                  v3[0] * s3 if v3 is not None else None)
    last = Arrow(transport.loop[0], transport.vectors[-1] * s2, base_xyz,
                 v3[-1] * s3 if v3 is not None else None)
    big_enough = abs(transport.holonomy) >= np.radians(1.0)
    arc = (transport.loop[0] + _slerp(first.vector, last.vector, 0.6 * k * length_2d)
           if big_enough else np.empty((0, 2)))
    arc_xyz = None
    if big_enough and base_xyz is not None and v3 is not None:
        arc_xyz = base_xyz + _slerp(v3[0], v3[-1], 0.6 * k * length_3d)
    # the arrows in between: skip the first (drawn on its own)
    return TransportDrawing(arrows[1:], first, last, arc, arc_xyz, float(transport.holonomy))


def split_periodic(coords: np.ndarray, periods: Sequence[float]) -> np.ndarray:
    """Insert NaN rows where a wrapped periodic coordinate jumps, so lines do not streak across.

    ``coords`` has shape (n, d); ``periods`` has one entry per coordinate (0 = not periodic).
    Returns shape (n + k, d).
    """
    coords = np.asarray(coords, float)
    if len(coords) < 2:
        return coords
    jump = np.zeros(len(coords) - 1, dtype=bool)
    for i, per in enumerate(periods):
        if per:
            jump |= np.abs(np.diff(coords[:, i])) > 0.5 * per
    if not jump.any():
        return coords
    out = []
    for k in range(len(coords)):
        out.append(coords[k])
        if k < len(jump) and jump[k]:
            out.append(np.full(coords.shape[1], np.nan))
    return np.asarray(out)


def _fill_nan(values: np.ndarray) -> np.ndarray:
    """Fill NaN (singular points: a pole, an apex, a rim) from the nearest finite neighbour
    along the first axis, so the colour map has no holes; the colour range ignores them."""
    out = np.array(values, dtype=float)
    idx = np.arange(out.shape[0])
    for j in range(out.shape[1]):
        col = out[:, j]
        ok = np.isfinite(col)
        if ok.any() and not ok.all():
            out[:, j] = np.interp(idx, idx[ok], col[ok])
    return np.where(np.isfinite(out), out, 0.0)


def _field_values(surface: ParametricSurface, field: str, uu: np.ndarray,
                  vv: np.ndarray) -> np.ndarray:
    if field == "gaussian":
        return surface.gaussian_curvature(uu, vv)
    if field == "mean":
        return surface.mean_curvature(uu, vv)
    raise ValueError(f"unknown field {field!r}; choose one of {', '.join(FIELDS)}")


def _colorbar(title: str) -> dict:
    # exact zero prints as "0" (not "1e-17" or "−0"); ticks stay few enough not to collide
    return dict(title=dict(text=title, side="top"), thickness=16, len=0.8, nticks=7,
                tickformat=".2~g")


def _snap_zero(values: np.ndarray, half: float) -> np.ndarray:
    """Rounding noise (|v| below 1e-9 of the colour range, or 1e-12) becomes exactly 0, so a
    flat region reads K = 0 in the hover text and sits at the middle of the scale."""
    tol = max(1e-9 * half, 1e-12)
    return np.where(np.abs(values) <= tol, 0.0, values)


# The coloured mesh of a surface depends on the surface, the field and the resolution only, not
# on the point, curve or loop a visitor moves: it is computed once per surface object (the page
# caches those) and reused by every later rerun. Weak keys: an entry goes with its surface.
_MESHES: weakref.WeakKeyDictionary[ParametricSurface, dict[tuple, tuple]] = (
    weakref.WeakKeyDictionary())
_MESHES_LOCK = threading.Lock()
_MESHES_PER_SURFACE = 8


def _memo(surface: ParametricSurface, key: tuple, compute: Callable[[], tuple]) -> tuple:
    """``compute()`` for ``surface`` and ``key``, computed once; its arrays are read-only."""
    with _MESHES_LOCK:
        found = _MESHES.get(surface, {}).get(key)
    if found is not None:
        return found
    value = compute()
    for item in value:
        if isinstance(item, np.ndarray):
            item.setflags(write=False)
    with _MESHES_LOCK:
        entries = _MESHES.setdefault(surface, {})
        if len(entries) >= _MESHES_PER_SURFACE:
            entries.pop(next(iter(entries)))
        entries[key] = value
    return value


def _surface_mesh(surface: ParametricSurface, field: str,
                  resolution: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Points (n, n, 3) of the 3-D mesh, its field values (n, n) snapped to 0 within
    rounding, and the half-width of their colour range."""
    uu, vv = _mesh_grid(surface, resolution)
    xyz = surface.point(uu, vv)
    raw = _fill_nan(_field_values(surface, field, uu, vv))
    half = symmetric_range(raw)
    return xyz, _snap_zero(raw, half), half


def _map_grid(surface: ParametricSurface, field: str,
              resolution: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """The parameter map's u (n,) and v (n,) samples, its field values (n, n) indexed
    [u, v], and the half-width of their colour range."""
    uu, vv = surface.grid(resolution, resolution)
    raw = _fill_nan(_field_values(surface, field, uu, vv))
    half = symmetric_range(raw)
    return uu[:, 0], vv[0], _snap_zero(raw, half), half


def make_surface_figure(
    surface: ParametricSurface,
    *,
    field: str = "gaussian",
    curves: Sequence[Curve] = (),
    points: Sequence[tuple[PointLike, str]] = (),
    arrows: Sequence[Arrow] = (),
    transport: TransportDrawing | None = None,
    resolution: int = 72,
    title: str | None = None,
    height: int = 600,
) -> go.Figure:
    """The surface in R³ coloured by curvature (diverging scale centred on 0, light grey at 0,
    shaded), with curves, labelled points and tangent vectors drawn on it.

    The scene has equal scales on the three axes (``aspectratio`` proportional to the ranges),
    ranges taken from everything drawn plus a margin, and a camera turned towards the first
    of ``points`` (the chosen start point) so that it is on the visible side.
    """
    xyz, values, half = _memo(surface, ("surface", field, resolution),
                              lambda: _surface_mesh(surface, field, resolution))
    short = "K" if field == "gaussian" else "H"
    scale = float(np.nanmax(np.abs(xyz))) or 1.0
    # Transport: look at the loop's start, where the first and the last vector and the angle
    # between them are drawn (tangent there, so seen best from along the normal).
    target = (transport.first.base if transport is not None
              else points[0][0] if points else None)
    eye = _camera_eye(surface, xyz, target)
    traces: list[dict] = [
        dict(
            type="surface",
            x=xyz[..., 0], y=xyz[..., 1], z=xyz[..., 2], surfacecolor=values,
            colorscale=[list(stop) for stop in CURVATURE_SCALE_3D], cmid=0.0, cmin=-half,
            cmax=half, colorbar=_colorbar(short), name=field_label(field), showlegend=False,
            hovertemplate=f"{short} = %{{surfacecolor:.3g}}<extra></extra>",
            # diffuse light shades a flat, uniformly grey region so its shape still shows
            lighting=dict(ambient=0.55, diffuse=0.75, specular=0.12, roughness=0.7,
                          fresnel=0.1),
            lightposition=dict(x=1000 * eye[0], y=1000 * eye[1], z=3000 * abs(eye[2]) + 1000),
            contours=dict(x=dict(highlight=False), y=dict(highlight=False),
                          z=dict(highlight=False)),
        )
    ]
    drawn = [xyz.reshape(-1, 3)]
    for curve in curves:
        if curve.xyz is None or len(curve.xyz) == 0:
            continue
        lifted = _lift(surface, curve.coords, curve.xyz, 0.006 * scale, eye)
        drawn.append(lifted)
        ink = curve_ink(curve.color_index)
        group = curve.legend_group or curve.name
        traces.append(dict(
            type="scatter3d",
            x=lifted[:, 0], y=lifted[:, 1], z=lifted[:, 2], mode="lines", name=curve.name,
            line=dict(color=_casing(ink), width=curve.width + 4), showlegend=False,
            legendgroup=group, hoverinfo="skip",
        ))
        traces.append(dict(
            type="scatter3d",
            x=lifted[:, 0], y=lifted[:, 1], z=lifted[:, 2], mode="lines", name=curve.name,
            line=dict(color=ink, width=curve.width, dash=curve.dash),
            showlegend=curve.show_legend, legendgroup=group, hoverinfo="name",
        ))
    annotations = []
    for k, (uv, label) in enumerate(points):
        uv = np.asarray(uv, float)
        p = _lift(surface, uv[None], surface.points(uv)[None], 0.02 * scale, eye)[0]
        traces.append(dict(
            type="scatter3d",
            x=[p[0]], y=[p[1]], z=[p[2]], mode="markers", name=label,
            marker=dict(size=7, color=_POINT_INKS[k % 2], line=dict(color="white", width=2)),
            showlegend=False, hovertemplate=f"{label}<extra></extra>",
        ))
        annotations.append(_label_3d(p, label))
    if transport is not None:
        more, notes = _transport_traces_3d(surface, transport, scale, eye)
        traces += more
        annotations += notes
    if arrows:
        traces += _arrow_traces_3d(arrows, scale)
    ranges = _scene_ranges(np.concatenate(drawn))
    extents = np.array([hi - lo for lo, hi in ranges])
    ratio = extents / extents.max()
    axis = dict(nticks=4, tickfont=dict(size=11), title=dict(font=dict(size=13)))
    layout = dict(
        scene=dict(
            xaxis=dict(axis, title_text="x", range=ranges[0]),
            yaxis=dict(axis, title_text="y", range=ranges[1]),
            zaxis=dict(axis, title_text="z", range=ranges[2]),
            aspectmode="manual", aspectratio=dict(x=ratio[0], y=ratio[1], z=ratio[2]),
            camera=dict(eye=dict(x=eye[0], y=eye[1], z=eye[2])),
            annotations=annotations,
        ),
        legend=dict(orientation="h", x=0.0, y=0.0, xanchor="left", yanchor="top"),
        # keep the user's camera while only the curves change; turn it to a new start point
        uirevision=f"{surface.name}:{_rounded(points[0][0]) if points else ''}",
    )
    name = title or t("geometry.figure.surface_title", surface=surface_title(surface),
                      field=field_label(field))
    return figure(traces, layout, base_layout(name, height=height, title_width=44),
                  dict(margin=dict(l=10, r=10, b=10)))


_POINT_INKS = ("#111111", "#D55E00")
_EYE = np.array([1.3, 1.3, 1.45])
"""The default camera position (scene units) when no point is chosen."""
_EYE_DISTANCE = float(np.linalg.norm(_EYE))


def _rounded(uv: PointLike) -> str:
    return ",".join(f"{x:.3f}" for x in np.asarray(uv, float))


def _camera_eye(surface: ParametricSurface, xyz: np.ndarray,
                uv: PointLike | None) -> np.ndarray:
    """A camera position from which the point ``uv`` is visible: the first of a few
    directions (the normal on either side, tilted up or down) along which a ray from the point
    does not pass through the surface, at the default distance. Without a point (or if every
    direction is blocked), the default eye."""
    if uv is None:
        return _EYE
    return _EYE_DISTANCE * visible_direction(surface, xyz, np.asarray(uv, float))


def visible_direction(surface: ParametricSurface, xyz: np.ndarray,
                      uv: np.ndarray) -> np.ndarray:
    """A unit vector d such that the ray ``r(uv) + t d`` (t > 0) misses the sampled surface
    ``xyz`` (grid, shape (..., 3)); the default view direction if none of the tried ones does.

    Tried in order: the normal oriented away from the surface's centre, tilted up by 0.5, 1
    and 0, then down; then the opposite normal likewise; then straight up and down.
    """
    pts = xyz.reshape(-1, 3)
    pts = pts[np.all(np.isfinite(pts), axis=1)]
    center = 0.5 * (pts.min(axis=0) + pts.max(axis=0))
    size = max(float(np.ptp(pts, axis=0).max()), 1e-9)
    p = surface.points(uv)
    normal = surface.normal(uv[0], uv[1])
    if not np.all(np.isfinite(normal)) or np.linalg.norm(normal) < 1e-12:
        normal = p - center
    if np.linalg.norm(normal) < 1e-12:
        normal = np.array([0.0, 0.0, 1.0])
    normal = normal / np.linalg.norm(normal)
    if normal @ (p - center) < 0 or (np.linalg.norm(p - center) < 1e-9 and normal[2] < 0):
        normal = -normal
    up = np.array([0.0, 0.0, 1.0])
    # first a view that leans outwards from the centre (not straight down onto a flat torus,
    # which hides its shape), then the plain normal directions
    radial = (p - center) * np.array([1.0, 1.0, 0.0])
    radial = radial / np.linalg.norm(radial) if np.linalg.norm(radial) > 1e-9 else 0 * up
    candidates = [normal + 0.9 * radial + 0.3 * up]
    candidates += [n + k * up for n in (normal, -normal) for k in (0.5, 1.0, 0.0, 2.0, -0.5)]
    candidates += [up, -up]
    t = np.linspace(0.04, 2.5, 40)[:, None] * size
    for c in candidates:
        if np.linalg.norm(c) < 1e-9:
            continue
        d = c / np.linalg.norm(c)
        ray = p + t * d
        # squared distances from every ray sample to every surface sample, in blocks
        blocked = False
        for start in range(0, len(pts), 4096):
            chunk = pts[start:start + 4096]
            dist2 = ((ray[:, None, :] - chunk[None, :, :]) ** 2).sum(-1)
            if dist2.min() < (0.025 * size) ** 2:
                blocked = True
                break
        if not blocked:
            return d
    return _EYE / _EYE_DISTANCE


def _scene_ranges(points: np.ndarray, margin: float = 0.08,
                  min_fraction: float = 0.2) -> list[list[float]]:
    """Axis ranges covering ``points`` (n, 3) with a margin of ``margin`` times the largest
    extent on every side; a flat direction gets at least ``min_fraction`` of it, so a plane
    is not squashed into a sheet of zero thickness (and nothing is clipped)."""
    finite = points[np.all(np.isfinite(points), axis=1)]
    lo, hi = finite.min(axis=0), finite.max(axis=0)
    big = max(float((hi - lo).max()), 1e-9)
    mid = 0.5 * (lo + hi)
    half = np.maximum(0.5 * (hi - lo), 0.5 * min_fraction * big) + margin * big
    return [[float(m - h), float(m + h)] for m, h in zip(mid, half, strict=True)]


def _label_3d(p: np.ndarray, text: str, ax: int = 24, ay: int = -26) -> dict:
    """A scene annotation in a white box (readable on any colour) pointing at ``p``."""
    return dict(x=float(p[0]), y=float(p[1]), z=float(p[2]), text=text, showarrow=True,
                arrowhead=0, arrowcolor="#1B1F24", ax=ax, ay=ay, **LABEL_BOX)


def _lift(surface: ParametricSurface, coords: np.ndarray, xyz: np.ndarray,
          offset: float, eye: np.ndarray = _EYE) -> np.ndarray:
    """Move curve points slightly off the surface, on the side facing the camera at ``eye``,
    so that the surface does not hide them (the normal r_u × r_v points inwards on some
    surfaces, such as the torus)."""
    normal = surface.normal(coords[:, 0], coords[:, 1])
    normal = np.where(np.isfinite(normal), normal, 0.0)
    facing = np.sign(normal @ eye)
    facing[facing == 0] = 1.0
    return xyz + offset * facing[:, None] * normal


def _cones(tips: np.ndarray, dirs: np.ndarray, ink: str, head: float, name: str) -> dict:
    """Arrowheads of length ``head`` (scene units) at ``tips`` pointing along ``dirs``."""
    unit = dirs / np.maximum(np.linalg.norm(dirs, axis=1, keepdims=True), 1e-12)
    return dict(type="cone", x=tips[:, 0], y=tips[:, 1], z=tips[:, 2], u=unit[:, 0], v=unit[:, 1],
                   w=unit[:, 2], sizemode="absolute", sizeref=head, anchor="tip",
                   showscale=False, colorscale=[[0, ink], [1, ink]], name=name,
                   hoverinfo="skip", lighting=dict(ambient=0.8, diffuse=0.4))


def _arrow_traces_3d(arrows: Sequence[Arrow], scale: float, *, ink: str = "#E69F00",
                     name: str | None = None, width: float = 6,
                     show_legend: bool = True) -> list:
    """Shafts (one line trace) and cone arrowheads of ``arrows``; the shaft stops at the base
    of the cone so that the two never cross."""
    name = name or t("geometry.figure.transported_vector")
    xs, ys, zs = [], [], []
    tips, dirs = [], []
    for a in arrows:
        if a.base_xyz is None or a.vector_xyz is None:
            continue
        size = float(np.linalg.norm(a.vector_xyz))
        head = 0.3 * size
        end = a.base_xyz + a.vector_xyz
        shaft_end = end - 0.9 * head * a.vector_xyz / max(size, 1e-12)
        xs += [a.base_xyz[0], shaft_end[0], None]
        ys += [a.base_xyz[1], shaft_end[1], None]
        zs += [a.base_xyz[2], shaft_end[2], None]
        tips.append(end)
        dirs.append(a.vector_xyz)
    if not tips:
        return []
    tips_arr, dirs_arr = np.array(tips), np.array(dirs)
    head = 0.3 * float(np.median(np.linalg.norm(dirs_arr, axis=1)))
    return [
        dict(type="scatter3d", x=xs, y=ys, z=zs, mode="lines", name=name, legendgroup=name,
                     line=dict(color=ink, width=width), hoverinfo="skip",
                     showlegend=show_legend),
        _cones(tips_arr, dirs_arr, ink, head, name),
    ]


def _transport_traces_3d(surface: ParametricSurface, drawing: TransportDrawing, scale: float,
                         eye: np.ndarray) -> tuple[list, list[dict]]:
    """Arrows along the loop (orange), the first vector (green) and the vector after one turn
    (vermillion) at the start of the loop, the arc between them, and their labels."""
    traces = _arrow_traces_3d(drawing.arrows, scale, width=5)
    traces += _arrow_traces_3d([drawing.first], scale, ink=_FIRST_INK, width=9,
                               name=t("geometry.figure.first_vector"))
    traces += _arrow_traces_3d([drawing.last], scale, ink=_LAST_INK, width=9,
                               name=t("geometry.figure.after_one_turn"))
    notes: list[dict] = []
    base = drawing.first.base_xyz
    if base is None:
        return traces, notes
    if drawing.arc_xyz is not None and len(drawing.arc_xyz):
        arc = drawing.arc_xyz
        traces.append(dict(type="scatter3d", x=arc[:, 0], y=arc[:, 1], z=arc[:, 2],
                           mode="lines", name=t("geometry.figure.holonomy_angle"),
                           line=dict(color="#111111", width=5), hoverinfo="name"))
        mid = arc[len(arc) // 2]
        notes.append(_label_3d(mid, f"{np.degrees(drawing.holonomy):.1f}°", ax=-45, ay=40))
    # the first and the last vector are told apart by colour and the legend; one label
    # fewer near the start keeps the labels off each other
    notes.append(_label_3d(base, t("geometry.figure.loop_starts_here"), ax=50, ay=40))
    return traces, notes


_FIRST_INK = "#009E73"
_LAST_INK = "#D55E00"


def _mesh_grid(surface: ParametricSurface, resolution: int) -> tuple[np.ndarray, np.ndarray]:
    """The (u, v) grid of the 3-D mesh. An edge row of u that the immersion collapses to one
    point (a pole of the sphere or the ellipsoid) is moved 2 % of a step inwards: a row of
    degenerate triangles has no normal, and WebGL then draws a stray dot at the pole."""
    uu, vv = surface.grid(resolution, resolution)
    du = (surface.u_range[1] - surface.u_range[0]) / max(resolution - 1, 1)
    for row, step in ((0, 1.0), (-1, -1.0)):
        pts = surface.point(uu[row], vv[row])
        if np.all(np.isfinite(pts)) and float(np.ptp(pts, axis=0).max()) <= 1e-9 * (
                1.0 + float(np.abs(pts).max())):
            uu[row] = uu[row] + step * 0.02 * du
    return uu, vv


CLICK_GRID = "click-grid"
"""The ``meta`` of the invisible markers that make a map clickable (not data)."""


def curve_traces(fig: go.Figure) -> list[int]:
    """The indices of the traces that carry data (curves, points), for a CSV export: not the
    white or dark casing drawn under each line, the arrows, nor the clickable grid."""
    return [i for i, trace in enumerate(fig.data)
            if trace.type in ("scatter", "scatter3d") and trace.hoverinfo != "skip"
            and trace.meta != CLICK_GRID]


def _click_grid(domain: Sequence[tuple[float, float]], n: int = 41) -> dict:
    """Faint markers covering the domain: clicking one selects that coordinate point."""
    a = np.linspace(*domain[0], n)
    b = np.linspace(*domain[1], n)
    aa, bb = np.meshgrid(a, b, indexing="ij")
    return dict(
        type="scatter",
        x=aa.ravel(), y=bb.ravel(), mode="markers", name=t("geometry.figure.click_grid"),
        meta=CLICK_GRID,
        marker=dict(size=9, color="rgba(0,0,0,0)"), showlegend=False,
        selected=dict(marker=dict(opacity=0)), unselected=dict(marker=dict(opacity=0)),
        hovertemplate=f"(%{{x:.3f}}, %{{y:.3f}})<extra>{t('geometry.figure.click_hover')}"
                      "</extra>",
    )


def _curve_traces_2d(curves: Sequence[Curve], periods: Sequence[float]) -> list:
    traces = []
    for curve in curves:
        c = split_periodic(curve.coords, periods)
        ink = curve_ink(curve.color_index)
        group = curve.legend_group or curve.name
        width = curve.width / 2 + 1
        traces.append(dict(
            type="scatter",
            x=c[:, 0], y=c[:, 1], mode="lines", name=curve.name, showlegend=False,
            line=dict(color=_casing(ink), width=width + 3), legendgroup=group,
            hoverinfo="skip",
        ))
        traces.append(dict(
            type="scatter",
            x=c[:, 0], y=c[:, 1], mode="lines", name=curve.name,
            line=dict(color=ink, width=width, dash=curve.dash),
            showlegend=curve.show_legend, legendgroup=group, hoverinfo="name",
        ))
    return traces


def _point_traces_2d(points: Sequence[tuple[PointLike, str]]) -> list:
    return [
        dict(type="scatter", x=[uv[0]], y=[uv[1]], mode="markers", name=label,
             showlegend=False, marker=dict(size=12, color=_POINT_INKS[k % 2],
                                           line=dict(color="white", width=2)),
             hovertemplate=f"{label} (%{{x:.3f}}, %{{y:.3f}})<extra></extra>")
        for k, (uv, label) in enumerate(points)
    ]


def _label_2d(xy: PointLike, text: str, ax: int = 26, ay: int = -24) -> dict:
    """An annotation in a white box pointing at ``xy``: readable on navy, red and white."""
    return dict(x=float(xy[0]), y=float(xy[1]), text=text, showarrow=True, arrowhead=0,
                arrowcolor="#1B1F24", ax=ax, ay=ay, **LABEL_BOX)


def _point_labels_2d(points: Sequence[tuple[PointLike, str]]) -> list[dict]:
    return [_label_2d(uv, label, ax=26 if k == 0 else -26) for k, (uv, label)
            in enumerate(points)]


def _arrow_traces_2d(arrows: Sequence[Arrow], *, ink: str = "#E69F00",
                     name: str | None = None, width: float = 2.5,
                     show_legend: bool = True) -> list:
    name = name or t("geometry.figure.transported_vector")
    xs, ys = [], []
    for a in arrows:
        xs += [a.base[0], a.base[0] + a.vector[0], None]
        ys += [a.base[1], a.base[1] + a.vector[1], None]
    if not xs:
        return []
    return [dict(type="scatter", x=xs, y=ys, mode="lines+markers", name=name,
                 legendgroup=name, line=dict(color=ink, width=width), showlegend=show_legend,
                 marker=dict(symbol="arrow", angleref="previous", size=4 * width + 2,
                             color=ink, line=dict(color=_DARK_CASING, width=1)),
                 hoverinfo="skip")]


def _transport_traces_2d(drawing: TransportDrawing) -> tuple[list, list[dict]]:
    traces = _arrow_traces_2d(drawing.arrows)
    traces += _arrow_traces_2d([drawing.first], ink=_FIRST_INK,
                               name=t("geometry.figure.first_vector"),
                               width=3.5)
    traces += _arrow_traces_2d([drawing.last], ink=_LAST_INK,
                               name=t("geometry.figure.after_one_turn"),
                               width=3.5)
    base = drawing.first.base
    # The angle's label points outwards from the arc (along base → arc middle, in pixels with y
    # downwards); "loop starts here" goes straight down, or up when the arc opens downwards,
    # so the two boxes never meet whatever the vectors' directions.
    down = 1.0
    notes = []
    if len(drawing.arc):
        traces.append(dict(type="scatter", x=drawing.arc[:, 0], y=drawing.arc[:, 1],
                           mode="lines", name=t("geometry.figure.holonomy_angle"),
                           line=dict(color="#111111", width=2.5), hoverinfo="name"))
        mid = drawing.arc[len(drawing.arc) // 2]
        d = np.asarray(mid, float) - np.asarray(base, float)
        d = d / max(float(np.linalg.norm(d)), 1e-12)
        notes.append(_label_2d(mid, f"{np.degrees(drawing.holonomy):.1f}°",
                               ax=int(round(50 * d[0])), ay=int(round(-50 * d[1]))))
        down = -1.0 if d[1] < -0.3 else 1.0
    notes.insert(0, _label_2d(base, t("geometry.figure.loop_starts_here"), ax=0,
                              ay=int(60 * down)))
    return traces, notes


def _parts_2d(curves: Sequence[Curve], periods: Sequence[float],
              points: Sequence[tuple[PointLike, str]], arrows: Sequence[Arrow],
              transport: TransportDrawing | None) -> tuple[list[dict], list[dict]]:
    """The traces and the annotations drawn over a map: curves, arrows, the transport
    picture and the points (in this order, points on top)."""
    traces = _curve_traces_2d(curves, periods) + _arrow_traces_2d(arrows)
    notes = _point_labels_2d(points)
    if transport is not None:
        more, more_notes = _transport_traces_2d(transport)
        traces += more
        notes += more_notes
    return traces + _point_traces_2d(points), notes


def make_parameter_map(
    surface: ParametricSurface,
    *,
    field: str = "gaussian",
    curves: Sequence[Curve] = (),
    points: Sequence[tuple[PointLike, str]] = (),
    arrows: Sequence[Arrow] = (),
    transport: TransportDrawing | None = None,
    resolution: int = 90,
    title: str | None = None,
    height: int = 600,
) -> go.Figure:
    """The parameter domain (u, v) as a curvature heat map with the same curves; a faint grid
    of markers makes every point clickable."""
    us, vs, values, half = _memo(surface, ("map", field, resolution),
                                 lambda: _map_grid(surface, field, resolution))
    short = "K" if field == "gaussian" else "H"
    heat = dict(
        type="heatmap",
        x=us, y=vs, z=values.T, colorscale=CURVATURE_SCALE, zmid=0.0, zmin=-half,
        zmax=half, colorbar=_colorbar(short), hoverinfo="skip", showscale=True,
    )
    periods = [hi - lo if per else 0.0 for (lo, hi), per
               in zip([surface.u_range, surface.v_range], surface.periodic, strict=True)]
    traces, notes = _parts_2d(curves, periods, points, arrows, transport)
    layout = dict(
        annotations=notes,
        xaxis=dict(title=dict(text="u"), range=list(surface.u_range), constrain="domain"),
        yaxis=dict(title=dict(text="v"), range=list(surface.v_range)),
        legend=dict(orientation="h", y=-0.12, yanchor="top"),
        clickmode="event+select", dragmode="pan",
    )
    return figure([heat, _click_grid([surface.u_range, surface.v_range]), *traces], layout,
                  base_layout(title or t("geometry.figure.parameter_map_title",
                                         surface=surface_title(surface).lower()),
                              height=height, title_width=44),
                  dict(margin=dict(b=110)))


def indicatrices(metric: RiemannianMetric, n: int = 9, scale: float = 0.3,
                 n_segments: int = 40) -> np.ndarray:
    """Tissot-style ellipses ``{w : g_x(w, w) = ε²}`` at an n x n grid, as one polyline with NaN
    breaks; shape (k, 2). ε is chosen so the largest ellipse fits ``scale`` of a grid cell."""
    (x0, x1), (y0, y1) = finite_domain(metric)
    xs = np.linspace(x0, x1, n + 2)[1:-1]
    ys = np.linspace(y0, y1, n + 2)[1:-1]
    centers = np.stack(np.meshgrid(xs, ys, indexing="ij"), axis=-1).reshape(-1, 2)
    g = metric.metric(centers)
    # Unit circle of g: w = L^{-T} (cos, sin) with g = L Lᵀ.
    L = np.linalg.cholesky(g)
    a = np.linspace(0, 2 * np.pi, n_segments)
    circle = np.stack([np.cos(a), np.sin(a)])
    shapes = np.linalg.solve(np.swapaxes(L, -1, -2), circle[None])  # (m, 2, n_segments)
    cell = min((x1 - x0), (y1 - y0)) / (n + 1)
    extent = np.max(np.abs(shapes))
    eps = scale * cell / extent
    out = []
    for c, s in zip(centers, shapes, strict=True):
        out.append(c[None, :] + eps * s.T)
        out.append(np.full((1, 2), np.nan))
    return np.concatenate(out)


def finite_domain(metric: RiemannianMetric) -> list[tuple[float, float]]:
    out = []
    for lo, hi in metric.domain:
        out.append((lo if np.isfinite(lo) else -5.0, hi if np.isfinite(hi) else 5.0))
    return out


def make_metric_plane(
    metric: RiemannianMetric,
    *,
    curves: Sequence[Curve] = (),
    points: Sequence[tuple[PointLike, str]] = (),
    arrows: Sequence[Arrow] = (),
    transport: TransportDrawing | None = None,
    title: str | None = None,
    manifold: str | None = None,
    height: int = 600,
) -> go.Figure:
    """A two-dimensional metric drawn in its coordinate plane: the indicatrices (unit circles of
    g, which shrink where distances grow) with the curves on top. Clickable like the map.

    ``manifold`` is the preset's name (:func:`geomcore.geometry.metrics.names`), for its title
    in the page's language; without it the title is the metric's own name.

    The axes show exactly the finite domain (``y, σ > 0`` for the half-planes: the plot area
    shrinks to keep equal scales instead of widening a range past the domain's edge).
    """
    domain = finite_domain(metric)
    ell = indicatrices(metric)
    circles = dict(
        type="scatter",
        x=ell[:, 0], y=ell[:, 1], mode="lines",
        name=t("geometry.figure.unit_circles"),
        line=dict(color="#9aa4b1", width=1.2), hoverinfo="skip",
    )
    traces, notes = _parts_2d(curves, [0.0, 0.0], points, arrows, transport)
    labels = [plain_label(c) for c in metric.coord_labels]
    layout = dict(
        annotations=notes,
        xaxis=dict(title=dict(text=labels[0]), range=list(domain[0]), constrain="domain"),
        # Equal scales: otherwise the indicatrices' shapes (the whole point) would be
        # distorted.
        yaxis=dict(title=dict(text=labels[1]), range=list(domain[1]), scaleanchor="x",
                   scaleratio=1.0, constrain="domain"),
        legend=dict(orientation="h", y=-0.12, yanchor="top"),
        clickmode="event+select", dragmode="pan",
    )
    probe = np.stack(np.meshgrid(*[np.linspace(lo, hi, 7)[1:-1] for lo, hi in domain]),
                     axis=-1).reshape(-1, 2)
    ks = metric.gaussian_curvature(probe)
    constant = np.ptp(ks) < 1e-9 * (1 + np.abs(ks).max())
    k = float(ks[len(ks) // 2])
    # two short lines rather than one that a narrow column cuts off ("K = -1 everyw")
    where = t("geometry.figure.k_everywhere" if constant else "geometry.figure.k_at_centre",
              k=k)
    name = metric.name if manifold is None else manifold_title(manifold, metric.name)
    return figure([circles, _click_grid(domain), *traces], layout,
                  base_layout(title or f"{name}<br>{where}",
                              height=height),
                  dict(margin=dict(b=110)))


_GREEK = {r"\mu": "μ", r"\sigma": "σ", r"\theta": "θ", r"\phi": "φ"}


def plain_label(tex: str) -> str:
    """Axis labels as plain Unicode (Plotly in the app has no MathJax)."""
    return _GREEK.get(tex, tex)


def make_gaussian_path_figure(coords: np.ndarray, n_curves: int = 7,
                              title: str | None = None) -> go.Figure:
    """Normal densities N(μ, σ²) sampled along a path in the (μ, σ) plane, coloured start→end."""
    coords = np.asarray(coords, float)
    idx = np.linspace(0, len(coords) - 1, n_curves).round().astype(int)
    mus, sigmas = coords[idx, 0], coords[idx, 1]
    lo = float(np.min(mus - 3.5 * sigmas))
    hi = float(np.max(mus + 3.5 * sigmas))
    x = np.linspace(lo, hi, 400)
    traces = []
    for k, (mu, s) in enumerate(zip(mus, sigmas, strict=True)):
        y = np.exp(-0.5 * ((x - mu) / s) ** 2) / (s * np.sqrt(2 * np.pi))
        frac = k / max(n_curves - 1, 1)
        label = (t("geometry.figure.start") if k == 0 else t("geometry.figure.end")
                 if k == n_curves - 1 else t("geometry.figure.along", frac=frac))
        traces.append(dict(
            type="scatter",
            x=x, y=y, mode="lines", name=f"{label}: μ={mu:.2f}, σ={s:.2f}",
            line=dict(color=_blend(frac), width=2.5),
        ))
    return figure(traces, dict(xaxis=dict(title=dict(text="x")),
                               yaxis=dict(title=dict(text=t("geometry.figure.density")))),
                  base_layout(title or t("geometry.figure.densities_title"), height=420))


def make_categorical_path_figure(coords: np.ndarray, n_bars: int = 9,
                                 title: str | None = None) -> go.Figure:
    """Stacked bars of the three outcome probabilities at ``n_bars`` points along a path of
    the categorical family (coordinates ``(θ, φ)`` of
    :func:`geomcore.geometry.metrics.categorical_fisher`), start on the left."""
    coords = np.asarray(coords, float)
    idx = np.linspace(0, len(coords) - 1, n_bars).round().astype(int)
    probs = metrics.categorical_probabilities(coords[idx])
    where = [f"{k / max(n_bars - 1, 1):.0%}" for k in range(n_bars)]
    where[0], where[-1] = t("geometry.figure.start"), t("geometry.figure.end")
    bars = [dict(type="bar", x=where, y=probs[:, i], name=f"p{'₁₂₃'[i]}",
                 marker=dict(color=color), text=[f"{v:.2f}" for v in probs[:, i]],
                 textposition="inside", insidetextanchor="middle",
                 textfont=dict(color="white"))
            for i, color in enumerate(("#0072B2", "#E69F00", "#009E73"))]
    layout = dict(barmode="stack", legend=dict(orientation="h", y=-0.2, yanchor="top"),
                  xaxis=dict(title=dict(text=t("geometry.figure.position"))),
                  yaxis=dict(title=dict(text=t("geometry.figure.probability")), range=[0, 1]))
    return figure(bars, layout, base_layout(title or t("geometry.figure.distributions_title"),
                                            height=420))


def _blend(frac: float) -> str:
    """Blue → vermillion (both Okabe–Ito), for an ordered sequence of curves."""
    a = np.array([0, 114, 178])
    b = np.array([213, 94, 0])
    c = (1 - frac) * a + frac * b
    return f"rgb({int(c[0])},{int(c[1])},{int(c[2])})"
