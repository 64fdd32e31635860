"""Figures of the Surfaces & geodesics lab (pure: geomcore results in, go.Figure out)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from dashboard.figures.theme import CURVATURE_SCALE, apply_layout, color, symmetric_range
from geomcore.geometry.analysis import Transport
from geomcore.geometry.metrics import RiemannianMetric
from geomcore.geometry.surfaces import ParametricSurface

__all__ = [
    "Curve",
    "Arrow",
    "FIELDS",
    "make_surface_figure",
    "make_parameter_map",
    "make_metric_plane",
    "make_gaussian_path_figure",
    "split_periodic",
    "join_curves",
    "transport_arrows",
    "indicatrices",
]

FIELDS = {"gaussian": "Gaussian curvature K", "mean": "Mean curvature H"}


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
    return dict(title=dict(text=title, side="top"), thickness=16, len=0.8)


def make_surface_figure(
    surface: ParametricSurface,
    *,
    field: str = "gaussian",
    curves: Sequence[Curve] = (),
    points: Sequence[tuple[np.ndarray, str]] = (),
    arrows: Sequence[Arrow] = (),
    resolution: int = 72,
    title: str | None = None,
    height: int = 560,
) -> go.Figure:
    """The surface in R³ coloured by curvature (diverging scale centred on 0), with curves,
    marked points and tangent vectors drawn on it."""
    uu, vv = surface.grid(resolution, resolution)
    xyz = surface.point(uu, vv)
    values = _fill_nan(_field_values(surface, field, uu, vv))
    half = symmetric_range(values)
    short = "K" if field == "gaussian" else "H"
    fig = go.Figure()
    fig.add_trace(
        go.Surface(
            x=xyz[..., 0], y=xyz[..., 1], z=xyz[..., 2], surfacecolor=values,
            colorscale=CURVATURE_SCALE, cmid=0.0, cmin=-half, cmax=half,
            colorbar=_colorbar(short), name=FIELDS[field], showlegend=False,
            hovertemplate=f"{short} = %{{surfacecolor:.3g}}<extra></extra>",
            lighting=dict(ambient=0.7, diffuse=0.5, specular=0.1),
        )
    )
    scale = float(np.nanmax(np.abs(xyz))) or 1.0
    for curve in curves:
        if curve.xyz is None or len(curve.xyz) == 0:
            continue
        lifted = _lift(surface, curve.coords, curve.xyz, 0.006 * scale)
        fig.add_trace(go.Scatter3d(
            x=lifted[:, 0], y=lifted[:, 1], z=lifted[:, 2], mode="lines", name=curve.name,
            line=dict(color=color(curve.color_index), width=curve.width, dash=curve.dash),
            showlegend=curve.show_legend, legendgroup=curve.legend_group or curve.name,
            hoverinfo="name",
        ))
    for k, (uv, label) in enumerate(points):
        uv = np.asarray(uv, float)
        p = _lift(surface, uv[None], surface.points(uv)[None], 0.02 * scale)[0]
        fig.add_trace(go.Scatter3d(
            x=[p[0]], y=[p[1]], z=[p[2]], mode="markers+text", text=[label],
            textposition="top center", name=label,
            marker=dict(size=6, color=color(7 if k == 0 else 1), symbol="circle"),
            showlegend=False,
        ))
    if arrows:
        fig.add_traces(_arrow_traces_3d(arrows, scale))
    fig.update_layout(
        scene=dict(
            xaxis_title="x", yaxis_title="y", zaxis_title="z", aspectmode="data",
            camera=dict(eye=dict(x=_EYE[0], y=_EYE[1], z=_EYE[2])),
        ),
        legend=dict(x=0.0, y=0.0, xanchor="left", yanchor="bottom"),
        uirevision=surface.name,  # keep the user's camera when only curves change
    )
    name = title or f"{surface.title}: {FIELDS[field]}"
    return apply_layout(fig, name, height=height)


_EYE = np.array([1.3, 1.3, 1.45])
"""The default camera position (scene units): curves are lifted towards it."""


def _lift(surface: ParametricSurface, coords: np.ndarray, xyz: np.ndarray,
          offset: float) -> np.ndarray:
    """Move curve points slightly off the surface, on the side facing the default camera, so
    that the surface does not hide them (the normal r_u × r_v points inwards on some
    surfaces, such as the torus)."""
    normal = surface.normal(coords[:, 0], coords[:, 1])
    normal = np.where(np.isfinite(normal), normal, 0.0)
    facing = np.sign(normal @ _EYE)
    facing[facing == 0] = 1.0
    return xyz + offset * facing[:, None] * normal


def _arrow_traces_3d(arrows: Sequence[Arrow], scale: float) -> list:
    xs, ys, zs = [], [], []
    tips, dirs = [], []
    for a in arrows:
        if a.base_xyz is None or a.vector_xyz is None:
            continue
        end = a.base_xyz + a.vector_xyz
        xs += [a.base_xyz[0], end[0], None]
        ys += [a.base_xyz[1], end[1], None]
        zs += [a.base_xyz[2], end[2], None]
        tips.append(end)
        dirs.append(a.vector_xyz)
    if not tips:
        return []
    tips_arr, dirs_arr = np.array(tips), np.array(dirs)
    return [
        go.Scatter3d(x=xs, y=ys, z=zs, mode="lines", name="transported vector",
                     line=dict(color=color(2), width=6), hoverinfo="skip"),
        go.Cone(x=tips_arr[:, 0], y=tips_arr[:, 1], z=tips_arr[:, 2], u=dirs_arr[:, 0],
                v=dirs_arr[:, 1], w=dirs_arr[:, 2], sizemode="absolute", sizeref=0.08 * scale,
                anchor="tip", showscale=False, colorscale=[[0, color(2)], [1, color(2)]],
                name="transported vector", hoverinfo="skip"),
    ]


def _click_grid(domain: Sequence[tuple[float, float]], n: int = 41) -> go.Scatter:
    """Faint markers covering the domain: clicking one selects that coordinate point."""
    a = np.linspace(*domain[0], n)
    b = np.linspace(*domain[1], n)
    aa, bb = np.meshgrid(a, b, indexing="ij")
    return go.Scatter(
        x=aa.ravel(), y=bb.ravel(), mode="markers", name="click to choose a point",
        marker=dict(size=9, color="rgba(0,0,0,0)"), showlegend=False,
        selected=dict(marker=dict(opacity=0)), unselected=dict(marker=dict(opacity=0)),
        hovertemplate="(%{x:.3f}, %{y:.3f})<extra>click to choose</extra>",
    )


def _curve_traces_2d(curves: Sequence[Curve], periods: Sequence[float]) -> list:
    traces = []
    for curve in curves:
        c = split_periodic(curve.coords, periods)
        traces.append(go.Scatter(
            x=c[:, 0], y=c[:, 1], mode="lines", name=curve.name,
            line=dict(color=color(curve.color_index), width=curve.width / 2 + 1,
                      dash=curve.dash),
            showlegend=curve.show_legend, legendgroup=curve.legend_group or curve.name,
            hoverinfo="name",
        ))
    return traces


def _point_traces_2d(points: Sequence[tuple[np.ndarray, str]]) -> list:
    return [
        go.Scatter(x=[uv[0]], y=[uv[1]], mode="markers+text", text=[label],
                   textposition="top right", name=label, showlegend=False,
                   marker=dict(size=11, color=color(7 if k == 0 else 1),
                               line=dict(color="white", width=1.5)))
        for k, (uv, label) in enumerate(points)
    ]


def _arrow_traces_2d(arrows: Sequence[Arrow]) -> list:
    xs, ys = [], []
    for a in arrows:
        xs += [a.base[0], a.base[0] + a.vector[0], None]
        ys += [a.base[1], a.base[1] + a.vector[1], None]
    if not xs:
        return []
    return [go.Scatter(x=xs, y=ys, mode="lines+markers", name="transported vector",
                       line=dict(color=color(2), width=2.5),
                       marker=dict(symbol="arrow", angleref="previous", size=10,
                                   color=color(2)),
                       hoverinfo="skip")]


def make_parameter_map(
    surface: ParametricSurface,
    *,
    field: str = "gaussian",
    curves: Sequence[Curve] = (),
    points: Sequence[tuple[np.ndarray, str]] = (),
    arrows: Sequence[Arrow] = (),
    resolution: int = 90,
    title: str | None = None,
    height: int = 560,
) -> go.Figure:
    """The parameter domain (u, v) as a curvature heat map with the same curves; a faint grid
    of markers makes every point clickable."""
    uu, vv = surface.grid(resolution, resolution)
    values = _fill_nan(_field_values(surface, field, uu, vv))
    half = symmetric_range(values)
    short = "K" if field == "gaussian" else "H"
    fig = go.Figure(go.Heatmap(
        x=uu[:, 0], y=vv[0], z=values.T, colorscale=CURVATURE_SCALE, zmid=0.0, zmin=-half,
        zmax=half, colorbar=_colorbar(short), hoverinfo="skip", showscale=True,
    ))
    fig.add_trace(_click_grid([surface.u_range, surface.v_range]))
    periods = [hi - lo if per else 0.0 for (lo, hi), per
               in zip([surface.u_range, surface.v_range], surface.periodic, strict=True)]
    fig.add_traces(_curve_traces_2d(curves, periods))
    fig.add_traces(_arrow_traces_2d(arrows))
    fig.add_traces(_point_traces_2d(points))
    fig.update_xaxes(title_text="u", range=list(surface.u_range), constrain="domain")
    fig.update_yaxes(title_text="v", range=list(surface.v_range))
    fig.update_layout(legend=dict(orientation="h", y=-0.15), clickmode="event+select",
                      dragmode="pan")
    return apply_layout(fig, title or f"Parameter domain of the {surface.title.lower()}",
                        height=height)


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
    points: Sequence[tuple[np.ndarray, str]] = (),
    arrows: Sequence[Arrow] = (),
    title: str | None = None,
    height: int = 560,
) -> go.Figure:
    """A two-dimensional metric drawn in its coordinate plane: the indicatrices (unit circles of
    g, which shrink where distances grow) with the curves on top. Clickable like the map."""
    domain = finite_domain(metric)
    ell = indicatrices(metric)
    fig = go.Figure(go.Scatter(
        x=ell[:, 0], y=ell[:, 1], mode="lines", name="unit circles of g (indicatrices)",
        line=dict(color="#9aa4b1", width=1.2), hoverinfo="skip",
    ))
    fig.add_trace(_click_grid(domain))
    fig.add_traces(_curve_traces_2d(curves, [0.0, 0.0]))
    fig.add_traces(_arrow_traces_2d(arrows))
    fig.add_traces(_point_traces_2d(points))
    labels = [plain_label(c) for c in metric.coord_labels]
    fig.update_xaxes(title_text=labels[0], range=list(domain[0]))
    # Equal scales: otherwise the indicatrices' shapes (the whole point) would be distorted.
    fig.update_yaxes(title_text=labels[1], range=list(domain[1]), scaleanchor="x",
                     scaleratio=1.0)
    fig.update_layout(legend=dict(orientation="h", y=-0.15), clickmode="event+select",
                      dragmode="pan")
    probe = np.stack(np.meshgrid(*[np.linspace(lo, hi, 7)[1:-1] for lo, hi in domain]),
                     axis=-1).reshape(-1, 2)
    ks = metric.gaussian_curvature(probe)
    where = "everywhere" if np.ptp(ks) < 1e-9 * (1 + np.abs(ks).max()) else "at the centre"
    k = float(ks[len(ks) // 2])
    return apply_layout(fig, title or f"{metric.name}: K = {k:.3g} {where}", height=height)


_GREEK = {r"\mu": "μ", r"\sigma": "σ", r"\theta": "θ", r"\phi": "φ"}


def plain_label(tex: str) -> str:
    """Axis labels as plain Unicode (Plotly in the app has no MathJax)."""
    return _GREEK.get(tex, tex)


def make_gaussian_path_figure(coords: np.ndarray, n_curves: int = 7,
                              title: str = "Densities along the geodesic") -> go.Figure:
    """Normal densities N(μ, σ²) sampled along a path in the (μ, σ) plane, coloured start→end."""
    coords = np.asarray(coords, float)
    idx = np.linspace(0, len(coords) - 1, n_curves).round().astype(int)
    mus, sigmas = coords[idx, 0], coords[idx, 1]
    lo = float(np.min(mus - 3.5 * sigmas))
    hi = float(np.max(mus + 3.5 * sigmas))
    x = np.linspace(lo, hi, 400)
    fig = go.Figure()
    for k, (mu, s) in enumerate(zip(mus, sigmas, strict=True)):
        y = np.exp(-0.5 * ((x - mu) / s) ** 2) / (s * np.sqrt(2 * np.pi))
        frac = k / max(n_curves - 1, 1)
        label = "start" if k == 0 else "end" if k == n_curves - 1 else f"{frac:.0%} along"
        fig.add_trace(go.Scatter(
            x=x, y=y, mode="lines", name=f"{label}: μ={mu:.2f}, σ={s:.2f}",
            line=dict(color=_blend(frac), width=2.5),
        ))
    fig.update_xaxes(title_text="x")
    fig.update_yaxes(title_text="density p(x | μ, σ)")
    return apply_layout(fig, title, height=420)


def _blend(frac: float) -> str:
    """Blue → vermillion (both Okabe–Ito), for an ordered sequence of curves."""
    a = np.array([0, 114, 178])
    b = np.array([213, 94, 0])
    c = (1 - frac) * a + frac * b
    return f"rgb({int(c[0])},{int(c[1])},{int(c[2])})"
