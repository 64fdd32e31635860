"""Figures of the Ricci-curvature lab (pure: geomcore results in, go.Figure out).

Curvature is always drawn on the diverging scale of :mod:`dashboard.figures.theme`, centred on
0 (white/grey = flat, red = positive, blue = negative), with a colour bar.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.figures.theme import (
    CURVATURE_SCALE,
    CURVATURE_SCALE_3D,
    apply_layout,
    color,
    symmetric_range,
)
from dashboard.i18n import t
from geomcore.curvature import EpsilonLaw, LayerCurvature

__all__ = [
    "MAX_DRAWN_EDGES",
    "METHODS",
    "edge_polyline",
    "edges_csv",
    "histogram_csv",
    "layer_title",
    "layer_summary_rows",
    "make_graph_figure",
    "make_histogram",
    "make_k_scatter",
    "make_layer_curves",
    "method_title",
    "to_3d",
]

METHODS = ("exact", "sinkhorn", "forman", "forman_augmented")
"""The estimators the page offers; :func:`method_title` names each in the current language."""
MAX_DRAWN_EDGES = 12_000
"""Most edges drawn in one 3-D picture (a random subset beyond; the browser stays fluid)."""


def method_title(method: str) -> str:
    """The name of an estimator (``"exact"``, ``"sinkhorn"``, ``"forman"``…) as the page shows
    it, in the current language."""
    return t(f"curvature.methods.{method}")


_HIDDEN_NAME = re.compile(r"hidden (\d+) \(width (\d+)\)")


def layer_title(name: str) -> str:
    """A layer's name from :mod:`geomcore.curvature.layers` (``"input"``, ``"hidden 2 (width
    16)"``) in the current language."""
    if name == "input":
        return t("curvature.layers.input")
    m = _HIDDEN_NAME.fullmatch(name)
    if m is None:
        return name
    return t("curvature.layers.hidden", i=int(m.group(1)), width=int(m.group(2)))


def to_3d(X: np.ndarray) -> np.ndarray:
    """Points as 3-D coordinates, shape=[n, 3]: 3-D as they are, fewer dimensions padded with
    zeros, more projected on their first three principal axes."""
    X = np.asarray(X, dtype=float)
    if X.shape[1] == 3:
        return X
    if X.shape[1] < 3:
        return np.hstack([X, np.zeros((X.shape[0], 3 - X.shape[1]))])
    centred = X - X.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return centred @ vt[:3].T


def edge_polyline(P: np.ndarray, edges: np.ndarray, values: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
    """One polyline for all edges: ``[p_u, p_v, gap]`` per edge (gap = NaN), shape=[3m, 3],
    and each vertex's colour value (the edge's value at both ends), shape=[3m]."""
    m = edges.shape[0]
    xyz = np.full((m, 3, 3), np.nan)
    xyz[:, 0], xyz[:, 1] = P[edges[:, 0]], P[edges[:, 1]]
    vals = np.repeat(np.asarray(values, dtype=float), 3)
    return xyz.reshape(-1, 3), vals


_CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
# after a full-width comma, colon or full stop, or after a closing bracket that no such sign
# follows (a line never starts with "，")
_CJK_BREAK = re.compile(r"(?<=[，：；。])|(?<=）)(?![，：；。）])")
CJK_TITLE_WIDTH = 56
"""Most display width of a Chinese title line (Latin characters; a Chinese one counts two):
bold Chinese glyphs are a full em, a little wider than two Latin letters on average."""


def _display_width(text: str) -> int:
    """Width in Latin characters: a Chinese character or full-width sign takes two."""
    return len(text) + len(_CJK.findall(text))


def _apply_layout(fig: go.Figure, title: str, *, height: int, title_width: int) -> None:
    """:func:`dashboard.figures.theme.apply_layout`, with Chinese titles broken into lines too.

    The theme wraps at spaces, counting characters; a Chinese title has almost no spaces and
    its characters are twice as wide, so it ran off the figure. Here it breaks after
    full-width punctuation (，：；。）) at a display width of at most
    :data:`CJK_TITLE_WIDTH`; Latin titles as before."""
    if not _CJK.search(title):
        apply_layout(fig, title, height=height, title_width=title_width)
        return
    width = min(title_width, CJK_TITLE_WIDTH)
    lines = [""]
    for part in _CJK_BREAK.split(title.replace(" = ", "\u00a0=\u00a0")):
        if lines[-1] and _display_width(lines[-1]) + _display_width(part) > width:
            lines.append(part)
        else:
            lines[-1] += part
    apply_layout(fig, "<br>".join(lines), height=height)


def _colorbar(title: str) -> dict:
    # The title runs along the bar: above it, it would meet the top tick label.
    return dict(title=dict(text=title, side="right"), thickness=14, len=0.75, nticks=7,
                tickformat=".2~g")


# Class colours and shapes for the nodes of a layer: none of them is on the red–blue curvature
# scale of the edges (black, green, purple, yellow).
_CLASS_INKS = ("#111111", "#009E73", "#CC79A7", "#E6C200")
_CLASS_SYMBOLS = ("circle", "diamond", "square", "cross")


def make_graph_figure(X: np.ndarray, edges: np.ndarray, edge_values: np.ndarray, *,
                      title: str, value_name: str = "κ", labels: np.ndarray | None = None,
                      height: int = 560, seed: int = 0) -> go.Figure:
    """The kNN graph in 3-D, each edge coloured by its curvature (diverging, centred on 0).

    ``X`` shape=[n, D] is shown by :func:`to_3d`; ``labels`` (shape=[n], classes) colour the
    nodes, otherwise they are small grey dots. Beyond :data:`MAX_DRAWN_EDGES` a random subset
    of edges is drawn (the title says so).
    """
    P = to_3d(X)
    values = np.asarray(edge_values, dtype=float)
    shown = np.arange(edges.shape[0])
    if shown.size > MAX_DRAWN_EDGES:
        shown = np.sort(np.random.default_rng(seed).choice(shown.size, MAX_DRAWN_EDGES,
                                                           replace=False))
        title += " " + t("curvature.fig.edges_drawn", drawn=f"{MAX_DRAWN_EDGES:,}",
                         total=f"{edges.shape[0]:,}")
    half = symmetric_range(values)
    xyz, vals = edge_polyline(P, edges[shown], values[shown])
    fig = go.Figure()
    fig.add_trace(go.Scatter3d(
        x=xyz[:, 0], y=xyz[:, 1], z=xyz[:, 2], mode="lines", name="edges",
        line=dict(color=vals, colorscale=[list(s) for s in CURVATURE_SCALE_3D], cmin=-half,
                  cmax=half, cmid=0.0, width=3,
                  colorbar=_colorbar(t("curvature.fig.edge_colorbar", name=value_name))),
        showlegend=False, hoverinfo="skip", connectgaps=False))
    if labels is None:
        fig.add_trace(go.Scatter3d(
            x=P[:, 0], y=P[:, 1], z=P[:, 2], mode="markers", name="points",
            marker=dict(size=1.6, color="#3C4450"), showlegend=False,
            hovertemplate=t("curvature.fig.point_hover") + " %{pointNumber}<extra></extra>"))
    else:
        for i, c in enumerate(np.unique(labels)):
            sel = labels == c
            fig.add_trace(go.Scatter3d(
                x=P[sel, 0], y=P[sel, 1], z=P[sel, 2], mode="markers",
                name=t("curvature.fig.class_name", c=c),
                marker=dict(size=3, color=_CLASS_INKS[i % len(_CLASS_INKS)],
                            symbol=_CLASS_SYMBOLS[i % len(_CLASS_SYMBOLS)]),
                hoverinfo="name"))
    lo, hi = np.nanmin(P, axis=0), np.nanmax(P, axis=0)
    extent = np.maximum(hi - lo, 1e-9 * max(1.0, float(np.max(hi - lo))))
    ratio = np.maximum(extent / extent.max(), 0.05)
    axis = dict(nticks=4, tickfont=dict(size=11), title=dict(font=dict(size=13)))
    fig.update_layout(
        scene=dict(xaxis=dict(axis, title_text="x₁"), yaxis=dict(axis, title_text="x₂"),
                   zaxis=dict(axis, title_text="x₃"), aspectmode="manual",
                   aspectratio=dict(x=ratio[0], y=ratio[1], z=ratio[2]),
                   # closer than Plotly's default eye (1.25, 1.25, 1.25): the cloud fills more
                   camera=dict(eye=dict(x=1.05, y=1.05, z=0.85))),
        legend=dict(orientation="h", x=0.0, y=0.0, xanchor="left", yanchor="top"),
    )
    _apply_layout(fig, title, height=height, title_width=60)
    fig.update_layout(margin=dict(l=10, r=10, b=10))
    return fig


def make_k_scatter(K: np.ndarray, node_curvature: np.ndarray, law: EpsilonLaw, *,
                   title: str, height: int = 480) -> go.Figure:
    """Node curvature against the true Gaussian curvature, with the ε² law's line
    ``κ = intercept + (1 − α)·ε²/8·K`` and, when K varies, the least-squares line."""
    K = np.asarray(K, dtype=float)
    kappa = np.asarray(node_curvature, dtype=float)
    ok = np.isfinite(K) & np.isfinite(kappa)
    fig = go.Figure()
    fig.add_trace(go.Scattergl(
        x=K[ok], y=kappa[ok], mode="markers", name=t("curvature.fig.nodes"), showlegend=False,
        marker=dict(size=5, color=kappa[ok], colorscale=CURVATURE_SCALE, cmid=0.0,
                    cmin=-symmetric_range(kappa[ok]), cmax=symmetric_range(kappa[ok]),
                    opacity=0.65, colorbar=_colorbar(t("curvature.fig.node_colorbar"))),
        hovertemplate="K = %{x:.3g}<br>κ = %{y:.3g}<extra></extra>"))
    span = np.array([K[ok].min(), K[ok].max()]) if ok.any() else np.array([0.0, 1.0])
    if span[1] - span[0] < 1e-12:
        span = span + np.array([-0.5, 0.5]) * max(1.0, abs(span[0]))
    fig.add_trace(go.Scatter(
        x=span, y=law.intercept + law.predicted * span, mode="lines",
        name=t("curvature.fig.law_line", slope=law.predicted),
        line=dict(color="#111111", width=2.5, dash="dash")))
    if law.how == "slope":
        fig.add_trace(go.Scatter(
            x=span, y=law.intercept + law.measured * span, mode="lines",
            name=t("curvature.fig.least_squares", slope=law.measured),
            line=dict(color=color(4), width=2.5)))
    elif law.how == "flat reference":
        fig.add_trace(go.Scatter(
            x=[float(np.mean(K[ok]))], y=[float(np.mean(kappa[ok]))], mode="markers",
            name=t("curvature.fig.mean_marker", slope=law.measured),
            marker=dict(size=14, symbol="diamond", color=color(4),
                        line=dict(color="#111111", width=1.5))))
    fig.update_xaxes(title_text=t("curvature.fig.true_k"))
    fig.update_yaxes(title_text=t("curvature.fig.node_kappa"))
    fig.update_layout(legend=dict(orientation="h", x=0.0, y=-0.2, xanchor="left",
                                  yanchor="top"))
    _apply_layout(fig, title, height=height, title_width=60)
    fig.update_layout(margin=dict(b=120))
    return fig


def make_histogram(groups: Mapping[str, np.ndarray], *, title: str,
                   value_name: str | None = None, height: int = 420) -> go.Figure:
    """Overlaid histograms of edge curvature, one per group (source or layer), with the line
    κ = 0 and each group's mean in the legend (``value_name``: the x-axis title, by default
    "edge curvature κ" in the current language)."""
    if value_name is None:
        value_name = t("curvature.fig.edge_kappa")
    fig = go.Figure()
    finite = [np.asarray(v, dtype=float)[np.isfinite(v)] for v in groups.values()]
    allv = np.concatenate(finite) if finite else np.zeros(1)
    if allv.size == 0:
        allv = np.zeros(1)
    lo, hi = np.percentile(allv, [0.5, 99.5])
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    width = (hi - lo) / 60 or 1.0
    for i, (name, v) in enumerate(groups.items()):
        v = np.asarray(v, dtype=float)
        v = v[np.isfinite(v)]
        fig.add_trace(go.Histogram(
            x=v, name=t("curvature.fig.group_mean", name=name, mean=float(np.mean(v)))
            if v.size else name,
            xbins=dict(start=lo - width, end=hi + width, size=width), histnorm="probability",
            marker=dict(color=color(i), line=dict(width=0)), opacity=0.55))
    fig.add_vline(x=0.0, line=dict(color="#111111", width=1.5, dash="dot"))
    fig.update_layout(barmode="overlay",
                      legend=dict(orientation="h", x=0.0, y=-0.22, xanchor="left",
                                  yanchor="top"))
    fig.update_xaxes(title_text=value_name)
    fig.update_yaxes(title_text=t("curvature.fig.share"))
    _apply_layout(fig, title, height=height, title_width=60)
    fig.update_layout(margin=dict(b=110))
    return fig


def make_layer_curves(runs: Sequence[Sequence[LayerCurvature]], *, title: str,
                      height: int = 420) -> go.Figure:
    """Mean edge curvature (left) and class separation (silhouette, right) of each layer
    against the training step."""
    # The y-axis titles name the panels: subplot titles would sit under a wrapped figure title.
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.16)
    steps = [layers[0].step for layers in runs]
    hover_kappa, hover_silhouette = (t("curvature.fig.hover_kappa"),
                                     t("curvature.fig.hover_silhouette"))
    for i in range(len(runs[0])):
        name = layer_title(runs[0][i].name)
        mean = [layers[i].mean_curvature for layers in runs]
        sil = [layers[i].silhouette for layers in runs]
        style = dict(mode="lines+markers", line=dict(color=color(i), width=2.5),
                     marker=dict(size=6), legendgroup=name)
        fig.add_trace(go.Scatter(x=steps, y=mean, name=name, **style,
                                 hovertemplate=hover_kappa + "<extra>" + name
                                 + "</extra>"), row=1, col=1)
        fig.add_trace(go.Scatter(x=steps, y=sil, name=name, showlegend=False, **style,
                                 hovertemplate=hover_silhouette + "<extra>" + name
                                 + "</extra>"), row=1, col=2)
    fig.add_hline(y=0.0, line=dict(color="#111111", width=1, dash="dot"), row=1, col=1)
    fig.update_xaxes(title_text=t("curvature.fig.training_step"))
    fig.update_yaxes(title_text=t("curvature.fig.mean_kappa"), row=1, col=1)
    fig.update_yaxes(title_text=t("curvature.fig.silhouette"), row=1, col=2)
    fig.update_layout(legend=dict(orientation="h", x=0.0, y=-0.25, xanchor="left",
                                  yanchor="top"))
    _apply_layout(fig, title, height=height, title_width=70)
    fig.update_layout(margin=dict(b=110))
    return fig


def layer_summary_rows(layers: Sequence[LayerCurvature]) -> list[dict[str, object]]:
    """One table row per layer: width, mean curvature, separation, graph pieces, status (the
    column headers in the current language)."""
    def col(name: str) -> str:
        return t(f"curvature.table.{name}")

    return [{
        col("layer"): layer_title(lc.name),
        col("mean"): f"{lc.mean_curvature:.3f}" if np.isfinite(lc.mean_curvature) else "–",
        col("same_class"): (f"{lc.same_class_edges:.1%}"
                            if np.isfinite(lc.same_class_edges) else "–"),
        col("silhouette"): f"{lc.silhouette:.3f}" if np.isfinite(lc.silhouette) else "–",
        col("pieces"): lc.n_components,
        col("variance"): f"{lc.explained:.0%}",
        col("status"): col("ok") if lc.status == "ok" else lc.message,
    } for lc in layers]


def _csv(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def edges_csv(edges: np.ndarray, edge_values: np.ndarray) -> str:
    """The graph as data: one row per edge, its two nodes (row numbers of the points) and its
    curvature (what the 3-D graph colours; column names in the current language)."""
    values = np.asarray(edge_values, dtype=float)
    return _csv([t("curvature.csv.node_a"), t("curvature.csv.node_b"), t("curvature.csv.kappa")],
                [(int(u), int(v), float(k)) for (u, v), k in zip(edges, values, strict=True)])


def histogram_csv(fig: go.Figure) -> str:
    """The values behind a :func:`make_histogram` figure: one row per edge, its group (the
    legend entry) and its curvature."""
    rows = [(trace.name, float(x)) for trace in fig.data if trace.type == "histogram"
            for x in (trace.x if trace.x is not None else ())]
    return _csv([t("curvature.csv.group"), t("curvature.csv.kappa")], rows)
