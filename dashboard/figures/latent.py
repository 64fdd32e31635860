"""Pure figure builders of the Latent-geometry lab: the latent plane over its magnification
map, decoded digit images along two paths, and the decoded surface in 3-D. Their words come from
the catalogs (``latent.figures.*``) in the current language."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.figures.presenting import curves_csv
from dashboard.figures.theme import SEQUENTIAL_SCALE, apply_layout, color
from dashboard.i18n import t

# Ten distinguishable classes (digits): the Okabe–Ito palette and two more.
CLASS_COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442",
                "#000000", "#8C564B", "#7F7F7F")
STRAIGHT_INK = color(1)
GEODESIC_INK = "#FFFFFF"
GEODESIC_CASING = "#1B1F24"


@dataclass(frozen=True)
class LatentPath:
    """A latent curve to draw: points (N, 2), its decoded points (N, D), label and style."""

    points: np.ndarray
    decoded: np.ndarray
    name: str
    dash: str = "solid"


def _click_grid(u: np.ndarray, v: np.ndarray, n: int = 41) -> go.Scatter:
    """Faint markers covering the plane: clicking one selects that latent point."""
    a, b = np.meshgrid(np.linspace(u[0], u[-1], n), np.linspace(v[0], v[-1], n))
    return go.Scatter(
        x=a.ravel(), y=b.ravel(), mode="markers", name=t("latent.figures.click_grid"),
        marker=dict(size=9, color="rgba(0,0,0,0)"), showlegend=False,
        selected=dict(marker=dict(opacity=0)), unselected=dict(marker=dict(opacity=0)),
        hovertemplate="z = (%{x:.3f}, %{y:.3f})<extra>" + t("latent.figures.click_hover")
                      + "</extra>",
    )


def ellipse_polyline(centers: np.ndarray, vectors: np.ndarray, cell: float,
                     fill: float = 0.45) -> np.ndarray:
    """The metric's unit circles as one polyline with NaN breaks, shape (k, 2).

    All ellipses share one scale, chosen so that the 90th percentile of their largest radii
    is ``fill`` of a grid ``cell`` (their relative sizes are the metric's); an ellipse larger
    than that is shrunk to it, so none covers its neighbours. Singular points (NaN) are skipped.
    """
    radius = np.max(np.linalg.norm(vectors, axis=-1), axis=-1)  # (k,)
    ok = np.isfinite(radius) & (radius > 0)
    if not np.any(ok):
        return np.zeros((0, 2))
    scale = fill * cell / float(np.percentile(radius[ok], 90))
    shrink = np.minimum(1.0, fill * cell / (scale * np.where(ok, radius, 1.0)))
    pieces = []
    for c, vec, s, good in zip(centers, vectors, shrink, ok, strict=True):
        if good:
            pieces.append(c + scale * s * vec)
            pieces.append(np.full((1, 2), np.nan))
    return np.concatenate(pieces)


def make_latent_plane(
    u: np.ndarray,
    v: np.ndarray,
    log_magnification: np.ndarray,
    Z: np.ndarray,
    point_color: np.ndarray,
    *,
    classes: bool,
    color_title: str,
    paths: Sequence[LatentPath] = (),
    ends: tuple[np.ndarray, np.ndarray] | None = None,
    ellipses: np.ndarray | None = None,
    title: str | None = None,
    height: int = 720,
) -> go.Figure:
    """The latent plane: log₁₀ of the magnification factor as a heat map with a colour bar,
    the encoded data (one legend entry per class, or a second colour bar for a continuous
    colour), optional metric ellipses, the paths and their end points; a faint grid of
    invisible markers makes every point clickable.

    Parameters
    ----------
    u, v : ndarray, shape=[nu], [nv]
    log_magnification : ndarray, shape=[nv, nu]
        NaN where M is singular (drawn as gaps).
    Z : ndarray, shape=[n, 2]
    point_color : ndarray, shape=[n]
        Class labels (``classes=True``) or a continuous coordinate.
    ends : (ndarray, ndarray), optional
        The start and end points; the axes widen to show them when they lie outside the grid.
    """
    if title is None:
        title = t("latent.figures.plane_title")
    finite = log_magnification[np.isfinite(log_magnification)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    fig = go.Figure(go.Heatmap(
        x=u, y=v, z=log_magnification, colorscale=SEQUENTIAL_SCALE, zmin=lo, zmax=hi,
        colorbar=dict(title=dict(text="log₁₀ √det M", side="right"), thickness=14, len=0.9,
                      x=1.01, y=0.5, nticks=6, tickformat=".2~g"),
        hovertemplate="z = (%{x:.2f}, %{y:.2f})<br>log₁₀ √det M = %{z:.3g}<extra></extra>",
        name=t("latent.figures.magnification"),
    ))
    fig.add_trace(_click_grid(u, v))
    if classes:
        labels = np.asarray(point_color).astype(int)
        for k in np.unique(labels):
            sel = labels == k
            # SVG, not WebGL: a WebGL layer would be drawn over the paths
            fig.add_trace(go.Scatter(
                x=Z[sel, 0], y=Z[sel, 1], mode="markers", name=f"{color_title} {k}",
                marker=dict(size=5, color=CLASS_COLORS[int(k) % len(CLASS_COLORS)],
                            line=dict(width=0.5, color="white")),
                hovertemplate=f"{color_title} {k}<br>z = (%{{x:.2f}}, %{{y:.2f}})<extra></extra>",
            ))
    else:
        fig.add_trace(go.Scatter(
            x=Z[:, 0], y=Z[:, 1], mode="markers", name=t("latent.figures.encoded_data"),
            marker=dict(size=5, color=point_color, colorscale="Plasma", showscale=True,
                        line=dict(width=0.4, color="white"),
                        colorbar=dict(title=dict(text=color_title, side="right"),
                                      thickness=14, len=0.9, x=1.22, y=0.5, nticks=6,
                                      tickformat=".2~g")),
            hovertemplate="z = (%{x:.2f}, %{y:.2f})<br>" + color_title
                          + " = %{marker.color:.3g}<extra></extra>",
        ))
    if ellipses is not None and ellipses.size:
        fig.add_trace(go.Scatter(
            x=ellipses[:, 0], y=ellipses[:, 1], mode="lines",
            name=t("latent.figures.unit_circles"),
            line=dict(color="rgba(255,255,255,0.9)", width=1.5), hoverinfo="skip",
        ))
    for path in paths:
        ink = GEODESIC_INK if path.dash == "solid" else STRAIGHT_INK
        fig.add_trace(go.Scatter(
            x=path.points[:, 0], y=path.points[:, 1], mode="lines", showlegend=False,
            line=dict(color=GEODESIC_CASING, width=7), hoverinfo="skip",
            legendgroup=path.name,
        ))
        fig.add_trace(go.Scatter(
            x=path.points[:, 0], y=path.points[:, 1], mode="lines", name=path.name,
            line=dict(color=ink, width=3.5, dash=path.dash), legendgroup=path.name,
            hovertemplate=path.name + "<br>z = (%{x:.2f}, %{y:.2f})<extra></extra>",
        ))
    if ends is not None:
        for end, name, fill, symbol, edge in (
                (ends[0], t("latent.figures.start"), "#FFFFFF", "circle", "#1B1F24"),
                (ends[1], t("latent.figures.end"), "#1B1F24", "diamond", "#FFFFFF")):
            fig.add_trace(go.Scatter(
                x=[end[0]], y=[end[1]], mode="markers", name=name,
                marker=dict(size=14, color=fill, symbol=symbol,
                            line=dict(width=2.5, color=edge)),
                hovertemplate=name + ": z = (%{x:.3f}, %{y:.3f})<extra></extra>",
            ))
    x_range, y_range = _plane_ranges(u, v, paths, ends)
    fig.update_xaxes(title_text=t("latent.figures.axis_z1"), range=x_range,
                     constrain="domain", showgrid=False, zeroline=False)
    fig.update_yaxes(title_text=t("latent.figures.axis_z2"), range=y_range,
                     showgrid=False, zeroline=False)
    apply_layout(fig, title, height=height, title_width=70)
    # colour bar(s) right of the plot (titles turned upright: narrow), the legend below,
    # clear of the x-axis title, wrapping onto as many rows as the width needs
    fig.update_layout(clickmode="event+select", dragmode="pan",
                      legend=dict(orientation="h", x=0.0, y=-0.17, yanchor="top",
                                  xanchor="left",
                                  # grey, so that the white lines' swatches show
                                  bgcolor="rgba(200,204,210,0.55)"),
                      margin=dict(r=190 if not classes else 100, b=190))
    return fig


def _plane_ranges(u: np.ndarray, v: np.ndarray, paths: Sequence[LatentPath],
                  ends: tuple[np.ndarray, np.ndarray] | None
                  ) -> tuple[list[float], list[float]]:
    """The axes' ranges: the grid, widened (with a small pad) to show end points and paths that
    lie outside it (points typed or linked beyond the encoded data's box)."""
    pts = [p.points for p in paths] + ([np.asarray(ends, dtype=float)] if ends is not None
                                        else [])
    ranges = []
    for axis, grid in ((0, u), (1, v)):
        lo, hi = float(grid[0]), float(grid[-1])
        if pts:
            coords = np.concatenate([p[:, axis] for p in pts])
            coords = coords[np.isfinite(coords)]
            if coords.size and (coords.min() < lo or coords.max() > hi):
                pad = 0.05 * (max(hi, coords.max()) - min(lo, coords.min()))
                lo = min(lo, float(coords.min()) - pad)
                hi = max(hi, float(coords.max()) + pad)
        ranges.append([lo, hi])
    return ranges[0], ranges[1]


def plane_csv_traces(fig: go.Figure) -> list[int]:
    """The traces of a latent plane worth a CSV: the encoded data, the paths and their end
    points (not the heat map, the invisible click grid, the paths' dark casings, or the unit
    circles' polyline)."""
    return [i for i, tr in enumerate(fig.data)
            if tr.type == "scatter" and tr.showlegend is not False and tr.hoverinfo != "skip"]


def plane_csv(fig: go.Figure) -> str:
    """A latent plane's CSV (``widgets.chart(export=…)``): :func:`plane_csv_traces` only."""
    return curves_csv(fig, traces=plane_csv_traces(fig))


def _mosaic(images: np.ndarray, side: int) -> np.ndarray:
    """Images (k, side²) side by side with one blank column between them: (side, k·(side+1)−1)."""
    k = images.shape[0]
    out = np.full((side, k * (side + 1) - 1), np.nan)
    for i, img in enumerate(images):
        out[:, i * (side + 1):i * (side + 1) + side] = img.reshape(side, side)
    return out


def pick_frames(decoded: np.ndarray, n_frames: int) -> np.ndarray:
    """``n_frames`` rows of ``decoded`` (N, D) evenly spaced from first to last."""
    idx = np.round(np.linspace(0, decoded.shape[0] - 1, n_frames)).astype(int)
    return decoded[idx]


def make_image_strips(rows: Sequence[tuple[str, np.ndarray]], *, side: int = 8,
                      vmax: float = 16.0, title: str | None = None,
                      height: int = 330) -> go.Figure:
    """One strip of decoded ``side × side`` images per path (first to last frame, left to
    right), grey scale with a colour bar of the pixel value.

    Parameters
    ----------
    rows : sequence of (label, images)
        ``images`` of shape (k, side²), e.g. :func:`pick_frames` of a path's decoded points.
    """
    if title is None:
        title = t("latent.figures.strips_title")
    ink = t("latent.figures.ink")
    fig = make_subplots(rows=len(rows), cols=1, vertical_spacing=0.12,
                        subplot_titles=[label for label, _ in rows])
    for r, (label, images) in enumerate(rows, start=1):
        fig.add_trace(go.Heatmap(
            z=_mosaic(np.clip(images, 0.0, vmax), side)[::-1], colorscale="Greys", zmin=0.0,
            zmax=vmax, showscale=r == 1, name=label,
            colorbar=dict(title=dict(text=ink, side="top"), thickness=12, len=0.8,
                          nticks=5),
            hovertemplate=label + "<br>" + ink + " %{z:.1f}<extra></extra>",
        ), row=r, col=1)
        fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False,
                         scaleanchor=f"y{r if r > 1 else ''}", row=r, col=1,
                         title_text=t("latent.figures.start_to_end") if r == len(rows)
                         else None)
        fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False, row=r, col=1)
    apply_layout(fig, title, height=height, title_width=60)
    fig.update_layout(margin=dict(t=90, b=40))
    return fig


def make_decoded_surface(decoded: np.ndarray, log_magnification: np.ndarray, X: np.ndarray,
                         point_color: np.ndarray, *, paths: Sequence[LatentPath] = (),
                         color_title: str = "intrinsic",
                         title: str | None = None,
                         height: int = 620) -> go.Figure:
    """The decoder's image of the latent grid as a surface coloured by log₁₀ of the
    magnification factor, the data as points, and the decoded paths.

    Parameters
    ----------
    decoded : ndarray, shape=[nv, nu, 3]
    log_magnification : ndarray, shape=[nv, nu]
    X : ndarray, shape=[n, 3]
    """
    if title is None:
        title = t("latent.figures.surface_title")
    finite = log_magnification[np.isfinite(log_magnification)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    fig = go.Figure(go.Surface(
        x=decoded[..., 0], y=decoded[..., 1], z=decoded[..., 2],
        surfacecolor=log_magnification, colorscale=SEQUENTIAL_SCALE, cmin=lo, cmax=hi,
        opacity=0.8, name=t("latent.figures.decoded_plane"), showlegend=True,
        colorbar=dict(title=dict(text="log₁₀ √det M", side="top"), thickness=14, len=0.7,
                      x=1.0, nticks=6, tickformat=".2~g"),
        hovertemplate="log₁₀ √det M = %{surfacecolor:.3g}<extra></extra>",
    ))
    fig.add_trace(go.Scatter3d(
        x=X[:, 0], y=X[:, 1], z=X[:, 2], mode="markers", name=t("latent.figures.data"),
        marker=dict(size=2, color="#1B1F24", opacity=0.35),
        hovertemplate=color_title + " %{text}<extra></extra>",
        text=[f"{c:.2f}" for c in point_color],
    ))
    for path in paths:
        ink = GEODESIC_CASING if path.dash == "solid" else STRAIGHT_INK
        fig.add_trace(go.Scatter3d(
            x=path.decoded[:, 0], y=path.decoded[:, 1], z=path.decoded[:, 2], mode="lines",
            name=path.name, line=dict(color=ink, width=8, dash=path.dash),
            hovertemplate=path.name + "<extra></extra>",
        ))
    fig.update_layout(scene=dict(xaxis_title="x", yaxis_title="y", zaxis_title="z",
                                 aspectmode="data"))
    apply_layout(fig, title, height=height, title_width=48)
    # the legend in the scene's top-left corner, clear of the axis labels at the bottom
    fig.update_layout(legend=dict(orientation="v", y=0.95, yanchor="top", x=0.0),
                      margin=dict(l=10, r=10, b=20))
    return fig
