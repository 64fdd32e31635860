"""Pure figure builders of the Representations lab: arrays in, ``go.Figure`` out.

Colouring is shared by every picture of a dataset: a continuous intrinsic coordinate on one
sequential scale, or the digit label on ten distinct colours (:class:`Coloring`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.figures.theme import LABEL_BOX, SEQUENTIAL_SCALE, apply_layout, color
from dashboard.i18n import has, t

METRICS = ("trustworthiness", "continuity", "knn_preservation", "geodesic_spearman",
           "residual_variance", "intrinsic_spearman")
"""The measures of :func:`geomcore.embedding.evaluate`, in the table's order."""
LOWER_IS_BETTER = ("time", "residual_variance")
# Ten distinct colours for the digit labels (Plotly's T10, Tableau's ten).
DIGIT_COLORS = ("#4C78A8", "#F58518", "#E45756", "#72B7B2", "#54A24B", "#EECA3B", "#B279A2",
                "#FF9DA6", "#9D755D", "#BAB0AC")
EMBED_HEIGHT = 430
COLORBAR_ROOM = 70
"""Pixels below a plot for its horizontal colour bar."""


def method_title(method: str) -> str:
    """A method's name as the reader sees it (``"laplacian"`` → "Laplacian eigenmaps")."""
    return t(f"embedding.methods.{method}")


def metric_title(metric: str) -> str:
    """A measure's name as the table shows it (``"time"`` for the run time)."""
    return t(f"embedding.metrics.{metric}")


def dataset_title(name: str) -> str:
    """A dataset's name as the reader sees it (``"helix"`` → "helix (1-D)")."""
    return t(f"embedding.datasets.{name}")


@dataclass(frozen=True)
class Coloring:
    """How points are coloured: ``values`` (shape=[n]) on a continuous scale titled ``title``,
    or, when ``categorical``, integer labels 0..9 on :data:`DIGIT_COLORS`."""

    values: np.ndarray
    title: str
    categorical: bool = False

    def marker(self, *, size: float = 3.0, showscale: bool = True,
               values: np.ndarray | None = None) -> dict[str, Any]:
        v = self.values if values is None else values
        # Below the plot, across it: a vertical bar would take width from a narrow panel.
        bar = dict(title=dict(text=self.title, side="right"), thickness=12, len=0.75,
                   orientation="h", x=0.5, xanchor="center", y=0.0, yref="container",
                   yanchor="bottom")
        if self.categorical:
            k = len(DIGIT_COLORS)
            # A stepwise scale: one band of constant colour per label.
            scale: list[list[Any]] = []
            for label, c in enumerate(DIGIT_COLORS):
                scale += [[label / k, c], [(label + 1) / k, c]]
            bar.update(tickvals=list(range(k)))
            return dict(size=size, color=v, colorscale=scale, cmin=-0.5, cmax=k - 0.5,
                        showscale=showscale, colorbar=bar)
        return dict(size=size, color=v, colorscale=SEQUENTIAL_SCALE, showscale=showscale,
                    colorbar=bar, cmin=float(np.min(self.values)),
                    cmax=float(np.max(self.values)))


def coloring_for(data: Any) -> Coloring:
    """The colouring of a :class:`geomcore.embedding.Dataset`: its first intrinsic coordinate,
    or the digit label."""
    key = f"embedding.colors.{data.name}"
    return Coloring(values=np.asarray(data.color, dtype=float),
                    title=t(key) if has(key) else t("embedding.fig.colour"),
                    categorical=data.name == "digits")


def spread(A: np.ndarray) -> float:
    """Root-mean-square distance of the rows of ``A`` from their mean."""
    return float(np.sqrt(np.mean(np.sum((A - A.mean(axis=0)) ** 2, axis=1))))


def _scene(axis_titles: Sequence[str], aspect: str) -> dict[str, Any]:
    axes = {f"{a}axis": dict(title=dict(text=text), backgroundcolor="#f6f7f9")
            for a, text in zip("xyz", axis_titles, strict=True)}
    return dict(**axes, aspectmode=aspect, camera=dict(eye=dict(x=1.7, y=1.7, z=1.0)))


def make_data_figure(X3: np.ndarray, coloring: Coloring, *, title: str,
                     axis_titles: Sequence[str] = ("x", "y", "z"), aspect: str = "data",
                     height: int = 480) -> go.Figure:
    """The data in 3-D (``X3`` shape=[n, 3]) coloured by ``coloring``."""
    fig = go.Figure(go.Scatter3d(
        x=X3[:, 0], y=X3[:, 1], z=X3[:, 2], mode="markers", name=t("embedding.fig.data"),
        marker=coloring.marker(size=2.5),
        hovertemplate=t("embedding.fig.point") + " %{pointNumber}<extra></extra>"))
    apply_layout(fig, title, height=height, title_width=60)
    fig.update_layout(scene=_scene(axis_titles, aspect), margin=dict(l=0, r=0, b=COLORBAR_ROOM))
    return fig


def _equal_axes(fig: go.Figure, row: int | None = None, col: int | None = None) -> None:
    kw = {} if row is None else dict(row=row, col=col)
    fig.update_xaxes(title_text=t("embedding.fig.component", i=1), zeroline=False, **kw)
    fig.update_yaxes(title_text=t("embedding.fig.component", i=2), zeroline=False, **kw)


def make_embedding_figure(Y: np.ndarray, coloring: Coloring, *, title: str,
                          height: int = EMBED_HEIGHT, showscale: bool = True) -> go.Figure:
    """One method's 2-D embedding (``Y`` shape=[n, 2]; a 1-D one is drawn against 0)."""
    y2 = Y[:, 1] if Y.shape[1] > 1 else np.zeros(Y.shape[0])
    fig = go.Figure(go.Scattergl(
        x=Y[:, 0], y=y2, mode="markers", name=title, marker=coloring.marker(
            size=4, showscale=showscale),
        hovertemplate="(%{x:.3g}, %{y:.3g})<extra></extra>"))
    apply_layout(fig, title, height=height, title_width=42)
    fig.update_layout(margin=dict(l=60, r=20, t=60, b=50 + COLORBAR_ROOM), showlegend=False)
    _equal_axes(fig)
    # Equal units on both axes: an embedding that keeps distances must look undistorted.
    fig.update_yaxes(scaleanchor="x", scaleratio=1)
    return fig


def metrics_frame(rows: Mapping[str, Mapping[str, float]], seconds: Mapping[str, float]
                  ) -> pd.DataFrame:
    """One column per method, one row per measure (the run time first): a table that stays
    narrow enough for a projector however many measures there are. Measures that apply to
    no method (intrinsic ρ without true coordinates) are left out. Rows and columns carry the
    reader's names of measures and methods, in the current language."""
    columns: dict[str, list[float]] = {}
    for method, metrics in rows.items():
        name = method_title(method) if has(f"embedding.methods.{method}") else method
        columns[name] = [float(seconds[method]),
                         *(float(metrics.get(key, math.nan)) for key in METRICS)]
    frame = pd.DataFrame(columns, index=[metric_title(m) for m in ("time", *METRICS)])
    frame.index.name = metric_title("measure")
    return frame.dropna(axis=0, how="all")


def best_cells(frame: pd.DataFrame) -> dict[str, list[int]]:
    """For each measure (row of :func:`metrics_frame`), the column positions of its best
    value, ties within the printed precision included: the smallest for
    :data:`LOWER_IS_BETTER`, the largest otherwise."""
    best: dict[str, list[int]] = {}
    for measure, row in frame.iterrows():
        values = row.to_numpy(dtype=float)
        if np.all(np.isnan(values)):
            continue
        lower = measure in {metric_title(m) for m in LOWER_IS_BETTER}
        target = np.nanmin(values) if lower else np.nanmax(values)
        best[str(measure)] = [int(i) for i in np.flatnonzero(np.abs(values - target) <= 5e-4)]
    return best


def styled_metrics(frame: pd.DataFrame) -> Any:
    """``frame`` as a pandas Styler: 3 decimals (2 for times), the best of each row on green."""
    best = best_cells(frame)

    def paint(row: pd.Series) -> list[str]:
        cols = best.get(str(row.name), [])
        return ["background-color: #c7ebd5; font-weight: 700" if i in cols else ""
                for i in range(len(row))]

    def number(value: float) -> str:
        return "–" if math.isnan(value) else f"{value:.3f}"

    styler = frame.style.apply(paint, axis=1).format(number)
    time = metric_title("time")
    if time in frame.index:
        styler = styler.format("{:.2f}", subset=pd.IndexSlice[[time], :])
    return styler


def metrics_caption(isometric: bool, has_intrinsic: bool, k: int) -> str:
    """What the table's columns measure, for this dataset."""
    truth = t("embedding.metrics.truth_isometric" if isometric else
              "embedding.metrics.truth_not_isometric" if has_intrinsic else
              "embedding.metrics.truth_none")
    return t("embedding.metrics.caption", k=k, truth=truth)


def out_of_sample_frame(runs: Mapping[str, Any]) -> pd.DataFrame:
    """One row per method with a map for new points: their quality and cost."""
    records = []
    for method, r in runs.items():
        if r.fresh_Y is None:
            continue
        records.append({t("embedding.out_of_sample.method"): method_title(method),
                        t("embedding.out_of_sample.spearman"): r.fresh_spearman,
                        t("embedding.out_of_sample.offset"): r.fresh_offset,
                        t("embedding.out_of_sample.time"):
                            1e6 * r.fresh_seconds / r.fresh_Y.shape[0]})
    return pd.DataFrame.from_records(records).dropna(axis=1, how="all")


def short_circuit_caption(ks: np.ndarray, errors: np.ndarray, counts: np.ndarray,
                          min_k: int) -> str:
    """The error curve in words: where the graph connects, and where short circuits start."""
    first = next((int(kk) for kk, c in zip(ks, counts, strict=True) if c > 0), None)
    best = int(ks[int(np.argmin(errors))])
    tail = (t("embedding.short.first", k=first) if first is not None
            else t("embedding.short.none"))
    return t("embedding.short.caption", min_k=min_k, best=best, tail=tail)


def make_training_figure(history: Any, *, collapsed: Any | None = None) -> go.Figure:
    """GDE's losses per epoch: stress and reconstruction on a log scale, with the stress of
    the collapsing (bare distance sum) run beside them when given."""
    fig = go.Figure()
    epochs = np.arange(1, len(history.stress) + 1)
    fig.add_trace(go.Scatter(x=epochs, y=history.stress, name=t("embedding.fig.stress"),
                             line=dict(color=color(0), width=2.5)))
    fig.add_trace(go.Scatter(x=epochs, y=history.reconstruction,
                             name=t("embedding.fig.reconstruction"),
                             line=dict(color=color(1), width=2.5)))
    if collapsed is not None:
        ce = np.arange(1, len(collapsed.stress) + 1)
        fig.add_trace(go.Scatter(x=ce, y=collapsed.stress,
                                 name=t("embedding.fig.collapsed_stress"),
                                 line=dict(color=color(3), width=2, dash="dash")))
    apply_layout(fig, t("embedding.fig.training_title"), height=400, title_width=60)
    fig.update_xaxes(title_text=t("embedding.fig.epoch"))
    fig.update_yaxes(title_text=t("embedding.fig.loss_log"), type="log", exponentformat="power",
                     dtick=1, minor=dict(showgrid=False))
    fig.update_layout(legend=dict(orientation="h", x=0, y=-0.28, yanchor="top"),
                      margin=dict(b=120))
    return fig


def make_collapse_scatter(Y_stress: np.ndarray, Y_collapsed: np.ndarray,
                          coloring: Coloring) -> go.Figure:
    """The stress-trained embedding and the bare-sum one on the same axes: the collapsed one
    is a single dot."""
    fig = go.Figure()
    fig.add_trace(go.Scattergl(x=Y_stress[:, 0], y=Y_stress[:, 1], mode="markers",
                               name=t("embedding.fig.stress_recon"),
                               marker=coloring.marker(size=3, showscale=False)))
    fig.add_trace(go.Scattergl(x=Y_collapsed[:, 0], y=Y_collapsed[:, 1], mode="markers",
                               name=t("embedding.fig.bare_sum"),
                               marker=dict(size=10, color="#D55E00", symbol="x")))
    apply_layout(fig, t("embedding.fig.collapse_title"), height=EMBED_HEIGHT, title_width=42)
    _equal_axes(fig)
    fig.update_yaxes(scaleanchor="x", scaleratio=1)
    fig.update_layout(legend=dict(orientation="h", x=0, y=1.0, yanchor="bottom"),
                      margin=dict(l=60, r=20, t=95, b=50))
    return fig


def make_collapse_curve(mean_distance: np.ndarray, data_spread: float) -> go.Figure:
    """The bare-sum run's mean latent distance per epoch (log scale), with the data's spread
    for scale."""
    epochs = np.arange(1, mean_distance.size + 1)
    fig = go.Figure(go.Scatter(x=epochs, y=mean_distance,
                               name=t("embedding.fig.mean_distance"),
                               line=dict(color="#D55E00", width=2.5)))
    fig.add_hline(y=data_spread, line=dict(color="#4b5563", dash="dot", width=1.5))
    fig.add_annotation(x=0.98, xref="x domain", y=math.log10(data_spread), yref="y",
                       text=t("embedding.fig.data_spread"), showarrow=False, xanchor="right",
                       yanchor="top", font=dict(size=12, color="#4b5563"))
    apply_layout(fig, t("embedding.fig.collapse_curve_title"), height=EMBED_HEIGHT,
                 title_width=42)
    fig.update_xaxes(title_text=t("embedding.fig.epoch"))
    fig.update_yaxes(title_text=t("embedding.fig.mean_distance_log"), type="log", dtick=1,
                     exponentformat="power", minor=dict(showgrid=False))
    fig.update_layout(showlegend=False, margin=dict(l=70, r=20, t=60, b=50))
    return fig


def make_out_of_sample_figure(Y_train: np.ndarray, fresh_Y: np.ndarray,
                              fresh_coloring: Coloring, *, title: str) -> go.Figure:
    """Training embedding in grey, fresh points embedded by the fitted map in colour."""
    fig = go.Figure()
    y_train = Y_train[:, 1] if Y_train.shape[1] > 1 else np.zeros(Y_train.shape[0])
    y_fresh = fresh_Y[:, 1] if fresh_Y.shape[1] > 1 else np.zeros(fresh_Y.shape[0])
    fig.add_trace(go.Scattergl(x=Y_train[:, 0], y=y_train, mode="markers",
                               name=t("embedding.fig.training_points"),
                               marker=dict(size=3, color="#c3c8cf")))
    fig.add_trace(go.Scattergl(x=fresh_Y[:, 0], y=y_fresh, mode="markers",
                               name=t("embedding.fig.fresh_points"),
                               marker=fresh_coloring.marker(size=6, showscale=True)
                               | dict(line=dict(width=0.6, color="#1B1F24"))))
    apply_layout(fig, title, height=EMBED_HEIGHT + 40, title_width=42)
    _equal_axes(fig)
    fig.update_yaxes(scaleanchor="x", scaleratio=1)
    fig.update_layout(legend=dict(orientation="h", x=0, y=1.0, yanchor="bottom"),
                      margin=dict(l=60, r=20, t=95, b=50 + COLORBAR_ROOM))
    return fig


def make_decoder_figure(X: np.ndarray, coloring: Coloring, decoded: np.ndarray) -> go.Figure:
    """The data (small points) and the decoder's image of a latent grid (a mesh surface,
    ``decoded`` shape=[g, g, 3]), in the data's 3-D space."""
    fig = go.Figure()
    fig.add_trace(go.Scatter3d(x=X[:, 0], y=X[:, 1], z=X[:, 2], mode="markers",
                               name=t("embedding.fig.data"),
                               marker=coloring.marker(size=2, showscale=True)))
    fig.add_trace(go.Surface(x=decoded[..., 0], y=decoded[..., 1], z=decoded[..., 2],
                             name=t("embedding.fig.decoder_surface"), showscale=False, opacity=0.55,
                             colorscale=[[0, "#8c96a3"], [1, "#8c96a3"]], showlegend=True,
                             hoverinfo="skip"))
    # Grid lines along both latent directions, so that the parametrisation shows.
    lines: list[np.ndarray] = []
    for grid in (decoded, decoded.transpose(1, 0, 2)):
        for row in grid[::3]:
            lines += [row, np.full((1, 3), np.nan)]
    L = np.vstack(lines)
    fig.add_trace(go.Scatter3d(x=L[:, 0], y=L[:, 1], z=L[:, 2], mode="lines",
                               name=t("embedding.fig.grid_lines"),
                               line=dict(color="#1B1F24", width=2)))
    apply_layout(fig, t("embedding.fig.decoder_title"), height=560, title_width=60)
    fig.update_layout(scene=_scene(("x", "y", "z"), "data"),
                      margin=dict(l=0, r=0, b=COLORBAR_ROOM),
                      legend=dict(x=0, y=1.0, yanchor="top"))
    return fig


def make_digit_mosaic(decoded: np.ndarray, u: np.ndarray, v: np.ndarray) -> go.Figure:
    """Decoded 8×8 images on a latent grid (``decoded`` shape=[g, g, 64]) as one mosaic."""
    g_u, g_v = decoded.shape[:2]
    tiles = np.clip(decoded.reshape(g_u, g_v, 8, 8), 0, 16)
    # Rows of the picture run along the second latent coordinate, top = largest.
    mosaic = np.full((g_v * 9 - 1, g_u * 9 - 1), np.nan)
    for a in range(g_u):
        for b in range(g_v):
            r = (g_v - 1 - b) * 9
            mosaic[r:r + 8, a * 9:a * 9 + 8] = tiles[a, b]
    fig = go.Figure(go.Heatmap(z=mosaic[::-1], colorscale="Greys", zmin=0, zmax=16,
                               colorbar=dict(title=dict(text=t("embedding.fig.ink"),
                                                         side="right")),
                               hoverinfo="skip"))
    apply_layout(fig, t("embedding.fig.mosaic_title"), height=560,
                 title_width=60)
    ticks = np.arange(g_u) * 9 + 3.5
    fig.update_xaxes(title_text=t("embedding.fig.latent_component", i=1), tickvals=ticks,
                     ticktext=[f"{x:.2g}" for x in u], showgrid=False)
    fig.update_yaxes(title_text=t("embedding.fig.latent_component", i=2),
                     tickvals=np.arange(g_v) * 9 + 3.5,
                     ticktext=[f"{y:.2g}" for y in v], showgrid=False, scaleanchor="x")
    return fig


def make_pair_figure(X3: np.ndarray, path: np.ndarray, i: int, j: int, *,
                     graph_length: float, chord: float) -> go.Figure:
    """The data in grey, the graph geodesic from point i to point j, and the straight chord."""
    fig = go.Figure()
    fig.add_trace(go.Scatter3d(x=X3[:, 0], y=X3[:, 1], z=X3[:, 2], mode="markers",
                               name=t("embedding.fig.data"), marker=dict(size=2, color="#b6bcc5"),
                               hoverinfo="skip"))
    P = X3[path]
    fig.add_trace(go.Scatter3d(x=P[:, 0], y=P[:, 1], z=P[:, 2], mode="lines+markers",
                               name=t("embedding.fig.graph_geodesic", length=graph_length),
                               line=dict(color=color(0), width=7),
                               marker=dict(size=2.5, color=color(0))))
    ends = X3[[i, j]]
    fig.add_trace(go.Scatter3d(x=ends[:, 0], y=ends[:, 1], z=ends[:, 2], mode="lines+markers",
                               name=t("embedding.fig.straight_chord", length=chord),
                               line=dict(color=color(1), width=6, dash="dash"),
                               marker=dict(size=6, color=color(1))))
    fig.add_trace(go.Scatter3d(x=ends[:, 0], y=ends[:, 1], z=ends[:, 2], mode="text",
                               text=[f"A ({i})", f"B ({j})"], textposition="top center",
                               textfont=dict(size=14, color="#1B1F24"), showlegend=False,
                               hoverinfo="skip"))
    apply_layout(fig, t("embedding.fig.pair_title"), height=520, title_width=60)
    fig.update_layout(scene=_scene(("x", "y", "z"), "data"), margin=dict(l=0, r=0, b=0),
                      legend=dict(x=0, y=0, yanchor="bottom"))
    return fig


def _segments(X3: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Edges as one polyline with NaN breaks (one trace draws them all)."""
    if edges.size == 0:
        return np.empty((0, 3))
    seg = np.full((edges.shape[0], 3, 3), np.nan)
    seg[:, 0], seg[:, 1] = X3[edges[:, 0]], X3[edges[:, 1]]
    return seg.reshape(-1, 3)


def make_graph_figure(X3: np.ndarray, edges: np.ndarray, short: np.ndarray, *,
                      n_neighbors: int, drawn_every: int = 1) -> go.Figure:
    """The k-NN graph in 3-D: edges in grey, short circuits (edges jumping across a fold) in
    thick red."""
    fig = go.Figure()
    E = _segments(X3, edges)
    sampled = "" if drawn_every == 1 else t("embedding.fig.drawn_every", every=drawn_every)
    fig.add_trace(go.Scatter3d(x=E[:, 0], y=E[:, 1], z=E[:, 2], mode="lines",
                               name=t("embedding.fig.edges") + sampled,
                               line=dict(color="#a3abb5", width=1.5),
                               hoverinfo="skip"))
    S = _segments(X3, short)
    fig.add_trace(go.Scatter3d(x=S[:, 0] if S.size else [None], y=S[:, 1] if S.size else [None],
                               z=S[:, 2] if S.size else [None], mode="lines",
                               name=t("embedding.fig.short_circuits_count",
                                      count=short.shape[0]),
                               line=dict(color="#D00000", width=6), hoverinfo="skip"))
    apply_layout(fig, t("embedding.fig.graph_title", k=n_neighbors), height=520, title_width=60)
    fig.update_layout(scene=_scene(("x", "y", "z"), "data"), margin=dict(l=0, r=0, b=0),
                      legend=dict(x=0, y=0, yanchor="bottom"))
    return fig


def make_error_curve(ks: np.ndarray, errors: np.ndarray, short_counts: np.ndarray, *,
                     current_k: int) -> go.Figure:
    """Graph-distance error (left axis) and short-circuit count (right axis) against k."""
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Scatter(x=ks, y=100 * errors, name=t("embedding.fig.mean_error"),
                             mode="lines+markers",
                             line=dict(color=color(0), width=2.5)), secondary_y=False)
    fig.add_trace(go.Bar(x=ks, y=short_counts, name=t("embedding.fig.short_edges"),
                         opacity=0.45,
                         marker_color="#D00000"), secondary_y=True)
    fig.add_vline(x=current_k, line=dict(color="#4b5563", dash="dot", width=1.5))
    fig.add_annotation(x=current_k, y=1.0, yref="paper", text=f"k = {current_k}",
                       showarrow=False, yanchor="bottom", **LABEL_BOX)
    apply_layout(fig, t("embedding.fig.error_curve_title"), height=420, title_width=60)
    fig.update_xaxes(title_text=t("embedding.fig.k_axis"))
    fig.update_yaxes(title_text=t("embedding.fig.error_axis"), rangemode="tozero",
                     secondary_y=False)
    # Whole-number ticks for a count (the default would put them at 9.8, 19.7, …).
    top = max(float(np.max(short_counts)) if short_counts.size else 0.0, 1.0)
    step = float(max(1, 10 ** math.floor(math.log10(top / 4)) if top >= 4 else 1))
    step *= next(m for m in (1, 2, 5, 10) if top / (m * step) <= 5)
    fig.update_yaxes(title_text=t("embedding.fig.short_axis"), rangemode="tozero", showgrid=False,
                     dtick=step, tickformat="d", secondary_y=True)
    fig.update_layout(legend=dict(orientation="h", x=0, y=-0.2, yanchor="top"),
                      margin=dict(b=100, r=70), bargap=0.5)
    return fig


def error_curve_csv(ks: np.ndarray, errors: np.ndarray, short_counts: np.ndarray) -> str:
    """The error curve's numbers as CSV, one row per k: the graph-distance error (a fraction)
    and the short-circuit count, which the default curve export would leave out (bars)."""
    rows = ["k,graph_distance_error,short_circuit_edges"]
    rows += [f"{int(k)},{float(e)!r},{int(c)}"
             for k, e, c in zip(ks, errors, short_counts, strict=True)]
    return "\n".join(rows) + "\n"
