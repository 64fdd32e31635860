"""Figures of the Natural-gradient lab (pure: geomcore results in, go.Figure out).

Every optimizer keeps one Okabe–Ito colour across all pictures (by its kind: SGD blue, NGD
vermillion, ...), so a class can follow "the orange one" from the loss curves to the decision
boundaries and the trajectories.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.figures.theme import (
    FONT,
    PALETTE,
    apply_layout,
    base_layout,
    color,
    figure,
    merge,
)
from dashboard.i18n import t
from geomcore.optim import (
    AdamFisherView,
    CurvatureComparison,
    DecisionGrid,
    FisherSpectrum,
    LogisticGeometry,
    TrainingHistory,
    TrajectoryPCA,
)

__all__ = [
    "KIND_COLORS",
    "colors_for",
    "function_space_paths",
    "make_decision_animation",
    "make_kl_figure",
    "make_logistic_figure",
    "make_reparam_figure",
    "make_spectrum_figure",
    "make_training_curves",
    "make_training_panels",
    "make_trajectory_figure",
    "cost_reference",
    "kl_budget_text",
    "loss_levelled_off",
    "loss_text",
    "run_warning",
    "summary_rows",
    "trade_off_text",
    "adam_fisher_text",
    "curvature_rows",
    "log_correlation",
    "make_adam_direction_figure",
    "make_adam_fisher_figure",
    "make_curvature_figure",
    "symlog",
]

KIND_COLORS = {
    "sgd": PALETTE[0],  # blue
    "ngd": PALETTE[1],  # vermillion
    "momentum": PALETTE[2],  # bluish green
    "kfac": PALETTE[3],  # reddish purple
    "adam": PALETTE[4],  # orange
}
# Probability of class 1: blue (class 0) – white (undecided) – red (class 1), ColorBrewer's
# RdBu (safe for red–green deficiencies) with its darkest ends left out, so that the points,
# in the two matching Okabe–Ito colours with black rims, stand out on either side.
PROBABILITY_SCALE = [[0.0, "#4393c3"], [0.25, "#92c5de"], [0.5, "#f7f7f7"],
                     [0.75, "#f4a582"], [1.0, "#d6604d"]]
# Loss landscapes under coloured paths: white valleys to grey hills, so that every palette
# colour keeps its contrast along the whole path (Cividis' navy and yellow swallow blue and
# orange paths).
LOSS_SCALE = [[0.0, "#ffffff"], [1.0, "#8a919c"]]
CLASS_SYMBOLS = ("circle", "diamond", "square", "triangle-up", "cross", "x", "star",
                 "triangle-down", "pentagon", "hexagon")
_MAX_POINTS = 600  # data points drawn per decision panel (enough to see the task)


def colors_for(histories: Mapping[str, TrainingHistory]) -> dict[str, str]:
    """A colour per run: its kind's colour; a second run of the same kind gets the next free
    palette colour."""
    used: set[str] = set()
    out = {}
    spare = iter([c for c in PALETTE if c not in KIND_COLORS.values()] + list(PALETTE))
    for name, h in histories.items():
        c = KIND_COLORS.get(h.spec.get("kind", ""), None)
        if c is None or c in used:
            c = next(spare)
        used.add(c)
        out[name] = c
    return out


def status_text(status: str) -> str:
    """A run's status (``ok``, ``diverged``, ``failed``) in the reader's language."""
    key = f"optim.status.{status}"
    return t(key) if status in ("ok", "diverged", "failed") else status


def _hover(key: str, name: str) -> str:
    """A hover template from the catalog, with the run's name in the hover box's side label."""
    return t(f"optim.fig.hover.{key}") + "<extra>" + name + "</extra>"


def _label(name: str, h: TrainingHistory) -> str:
    return name if h.status == "ok" else t("optim.fig.stopped_label", name=name,
                                           status=status_text(h.status), step=h.steps + 1)


@functools.lru_cache(maxsize=32)
def _grid_json(options: tuple[tuple[str, Any], ...]) -> str:
    fig = make_subplots(**dict(options))
    layout = fig.layout.to_plotly_json()
    layout.pop("template", None)  # attached again, from the default, when a figure is built
    refs = {f"{r},{c}": [fig.get_subplot(r, c).xaxis.plotly_name,
                         fig.get_subplot(r, c).yaxis.plotly_name]
            for r in range(1, int(dict(options).get("rows", 1)) + 1)
            for c in range(1, int(dict(options).get("cols", 1)) + 1)}
    return json.dumps({"layout": layout, "refs": refs})


def _grid(**options: Any) -> tuple[dict[str, Any], dict[tuple[int, int], tuple[str, str]]]:
    """``make_subplots(**options)``'s layout (axis domains, subplot titles) as a fresh
    dictionary, and each cell's (x axis, y axis) layout names, e.g. ``("xaxis2", "yaxis2")``.
    Computed once per options: building a subplot grid validates a whole figure."""
    found = json.loads(_grid_json(tuple(sorted(options.items()))))
    refs = {(int(k.split(",")[0]), int(k.split(",")[1])): (v[0], v[1])
            for k, v in found["refs"].items()}
    return found["layout"], refs


def _on(axes: tuple[str, str]) -> dict[str, str]:
    """A trace's axis references for the cell whose layout axes are ``axes``."""
    return dict(xaxis=axes[0].replace("axis", ""), yaxis=axes[1].replace("axis", ""))


def _hline(y: float, axes: tuple[str, str], line: dict[str, Any],
           label: dict[str, Any] | None = None, *, log_y: bool = False
           ) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """A horizontal line across one cell at ``y`` (and, with ``label``, an annotation above
    its right end). On a log axis (``log_y``) a shape takes the data value but an annotation
    its log10, so the label is placed at ``log10(y)`` there."""
    x, yref = axes[0].replace("axis", ""), axes[1].replace("axis", "")
    shape = dict(type="line", x0=0, x1=1, xref=f"{x} domain", y0=y, y1=y, yref=yref,
                 line=line)
    note = None if label is None else dict(label, showarrow=False, x=1, xanchor="right",
                                           xref=f"{x} domain", yanchor="bottom", yref=yref,
                                           y=float(np.log10(y)) if log_y else y)
    return shape, note


# -- training curves -------------------------------------------------------------------------------


def make_training_curves(
    histories: Mapping[str, TrainingHistory],
    *,
    log_y: bool = True,
    target_loss: float | None = None,
    height: int = 360,
) -> go.Figure:
    """Training loss against step and against wall-clock time, and test accuracy, side by side.

    The time axis is each run's cumulative optimizer-step time (``TrainingHistory.elapsed``),
    so a method with cheap steps moves left. A run that stopped early ends in a cross.
    """
    fig = make_subplots(
        rows=1, cols=3, horizontal_spacing=0.07,
        subplot_titles=(t("optim.fig.training.per_step"), t("optim.fig.training.per_second"),
                        t("optim.fig.training.accuracy")),
    )
    colors = colors_for(histories)
    for name, h in histories.items():
        loss = np.asarray(h.loss, dtype=float)
        steps = np.arange(loss.size)
        common = dict(legendgroup=name, line=dict(color=colors[name], width=2.5),
                      mode="lines")
        fig.add_trace(go.Scatter(x=steps, y=loss, name=_label(name, h), **common,
                                 hovertemplate=_hover("step_loss", name)), row=1, col=1)
        fig.add_trace(go.Scatter(x=h.elapsed, y=loss, name=name, showlegend=False, **common,
                                 hovertemplate=_hover("time_loss", name)), row=1, col=2)
        fig.add_trace(go.Scatter(x=steps, y=np.asarray(h.test_accuracy, dtype=float),
                                 name=name, showlegend=False, **common,
                                 hovertemplate=_hover("step_accuracy", name)), row=1, col=3)
        if h.status != "ok" and loss.size:
            end = dict(mode="markers", legendgroup=name, showlegend=False, hoverinfo="skip",
                       marker=dict(symbol="x", size=12, color=colors[name]))
            fig.add_trace(go.Scatter(x=[steps[-1]], y=[loss[-1]], **end), row=1, col=1)
            fig.add_trace(go.Scatter(x=[h.elapsed[-1]], y=[loss[-1]], **end), row=1, col=2)
    if target_loss is not None:
        for col in (1, 2):
            fig.add_hline(y=target_loss, line=dict(color="#6b7280", dash="dot", width=1.5),
                          row=1, col=col)
        fig.add_annotation(x=1.0, xref="x domain", yref="y",
                           y=float(np.log10(target_loss)) if log_y else target_loss,
                           text=t("optim.fig.training.target", target=target_loss),
                           showarrow=False, xanchor="right",
                           yanchor="bottom", font=dict(size=12, color="#4b5563"))
    fig.update_xaxes(title_text=t("optim.fig.step"), row=1, col=1)
    fig.update_xaxes(title_text=t("optim.fig.training.wall_clock"), row=1, col=2)
    fig.update_xaxes(title_text=t("optim.fig.step"), row=1, col=3)
    loss_axis = dict(title_text=t("optim.fig.training.loss_ce"),
                     type="log" if log_y else "linear", exponentformat="power")
    fig.update_yaxes(**loss_axis, row=1, col=1)
    fig.update_yaxes(**{**loss_axis, "title_text": None}, row=1, col=2)
    fig.update_yaxes(title_text=t("optim.fig.training.test_accuracy"), tickformat=".0%",
                     row=1, col=3)
    fig.update_annotations(font=dict(size=15))
    apply_layout(fig, t("optim.fig.training.title"), height=height)
    fig.update_layout(legend=dict(x=1.02, xanchor="left", y=1.0, yanchor="top",
                                  title=dict(text=t("optim.fig.training.optimizer"))),
                      margin=dict(t=85, r=20))
    return fig


def make_training_panels(
    histories: Mapping[str, TrainingHistory],
    *,
    log_y: bool = True,
    target_loss: float | None = None,
    height: int = 330,
) -> tuple[go.Figure, go.Figure, go.Figure]:
    """The three pictures of :func:`make_training_curves` as separate figures, for a page
    that lays them side by side when it is wide and stacks them when it is narrow (one
    subplot row squeezed into a projector's 560 px prints its titles over each other).

    Returns ``(loss per step, loss per second of compute, test accuracy per step)``. The first
    carries the legend (below its plot); the colours are the same in all three.
    """
    colors = colors_for(histories)
    titles = (t("optim.fig.training.per_step"), t("optim.fig.training.per_second"),
              t("optim.fig.training.accuracy"))
    data: tuple[list[dict], list[dict], list[dict]] = ([], [], [])
    for name, h in histories.items():
        loss = np.asarray(h.loss, dtype=float)
        steps = np.arange(loss.size)
        common = dict(type="scatter", legendgroup=name,
                      line=dict(color=colors[name], width=2.5), mode="lines")
        data[0].append(dict(x=steps, y=loss, name=_label(name, h), **common,
                            hovertemplate=_hover("step_loss", name)))
        data[1].append(dict(x=h.elapsed, y=loss, name=name, showlegend=False, **common,
                            hovertemplate=_hover("time_loss", name)))
        data[2].append(dict(x=steps, y=np.asarray(h.test_accuracy, dtype=float), name=name,
                            showlegend=False, **common,
                            hovertemplate=_hover("step_accuracy", name)))
        if h.status != "ok" and loss.size:
            end = dict(type="scatter", mode="markers", legendgroup=name, showlegend=False,
                       hoverinfo="skip", marker=dict(symbol="x", size=12, color=colors[name]))
            data[0].append(dict(x=[steps[-1]], y=[loss[-1]], **end))
            data[1].append(dict(x=[h.elapsed[-1]], y=[loss[-1]], **end))
    loss_axis = dict(title=dict(text=t("optim.fig.training.loss")),
                     type="log" if log_y else "linear",
                     exponentformat="power", minor=dict(showgrid=False),
                     dtick=_log_dtick([h.loss for h in histories.values()]) if log_y else None)
    panel = dict(title=dict(font=dict(size=16)), margin=dict(t=45, r=15, l=60, b=50),
                 showlegend=False)
    # a dotted line at the target loss, labelled at its right end
    target: dict[str, Any] = {} if target_loss is None else dict(
        shapes=[dict(type="line", x0=0, x1=1, xref="x domain", y0=target_loss,
                     y1=target_loss, yref="y",
                     line=dict(color="#6b7280", dash="dot", width=1.5))],
        annotations=[dict(x=1.0, xref="x domain", yref="y",
                          y=float(np.log10(target_loss)) if log_y else target_loss,
                          text=t("optim.fig.training.target", target=target_loss),
                          showarrow=False, xanchor="right",
                          yanchor="bottom", font=dict(size=12, color="#4b5563"))])
    own = (
        dict(target, yaxis=loss_axis, xaxis=dict(title=dict(text=t("optim.fig.step"))),
             # The legend sits at the foot of the figure in a band of its own (up to three
             # rows of names on a narrow page), never on the x-axis title.
             showlegend=True, height=height + 95, margin=dict(b=50 + 95),
             legend=dict(orientation="h", x=0.0, xanchor="left", y=0.0, yanchor="bottom",
                         yref="container", font=dict(size=13))),
        dict(target, yaxis=loss_axis,
             xaxis=dict(title=dict(text=t("optim.fig.training.step_time")))),
        dict(xaxis=dict(title=dict(text=t("optim.fig.step"))),
             yaxis=dict(title=dict(text=t("optim.fig.training.test_accuracy")),
                        tickformat=".0%")),
    )
    first, second, third = (
        figure(traces, base_layout(title, height=height), panel, layout)
        for traces, title, layout in zip(data, titles, own, strict=True))
    return first, second, third


# -- decision boundaries ---------------------------------------------------------------------------


def _lighten(hex_color: str, amount: float = 0.55) -> str:
    rgb = np.array([int(hex_color[i:i + 2], 16) for i in (1, 3, 5)], dtype=float)
    mixed = (1 - amount) * rgb + amount * 255.0
    return "rgb({},{},{})".format(*(int(round(v)) for v in mixed))


def _class_scale(n_classes: int) -> list[list[Any]]:
    """A stepwise colour scale mapping class k (z = k) to a light version of palette colour k."""
    scale: list[list[Any]] = []
    for k in range(n_classes):
        c = _lighten(_class_color(k, n_classes))
        scale += [[k / n_classes, c], [(k + 1) / n_classes, c]]
    return scale


def _class_color(k: int, n_classes: int) -> str:
    """Palette colour k: with two classes blue and vermillion, the ends of the probability
    scale, so a point's colour matches the side of the boundary it belongs to."""
    return color(k)


def _panel_values(probs: np.ndarray) -> np.ndarray:
    """p(class 1) for two classes, else the predicted class; ``[ny, nx, C] -> [ny, nx]``."""
    if probs.shape[-1] == 2:
        return probs[..., 1].astype(np.float32)
    return probs.argmax(axis=-1).astype(np.float32)


def make_decision_animation(
    grids: Mapping[str, DecisionGrid],
    snapshot_steps: Mapping[str, np.ndarray],
    X: np.ndarray,
    y: np.ndarray,
    *,
    colors: Mapping[str, str] | None = None,
    stopped: Mapping[str, int] | None = None,
    panel_height: int = 220,
    text_scale: float = 1.0,
) -> go.Figure:
    """Each optimizer's decision boundary, animated over its training snapshots.

    One panel per optimizer, at most :data:`DECISION_COLUMNS` to a row (so that each panel
    stays wide enough on a projector); the slider (and the replay button) moves every panel to
    the same training step in the browser, without a rerun. It opens at the end of training.
    With two classes the colour is ``p(class 1 | x)`` on a diverging scale whose white is 0.5,
    and the boundary ``p = 0.5`` is drawn as a black contour (at 500 points the markers alone
    would hide a curved boundary); with more, the predicted class. A run that stopped early
    keeps showing its last state; ``stopped`` (name → step) adds where to its panel's title.
    Training points on top (at most 600 per panel), small and semi-transparent.

    Traces: per panel a heat map, then (two classes) its 0.5 contour, then one scatter per
    class; every frame updates the heat maps and the contours.
    """
    if not grids:
        raise ValueError("make_decision_animation needs at least one run")
    names = list(grids)
    first = grids[names[0]]
    n_classes = first.probs.shape[-1]
    X = np.asarray(X, dtype=float)
    y = np.asarray(y)
    if X.shape[0] > _MAX_POINTS:  # an even subsample keeps every class's share
        keep = np.linspace(0, X.shape[0] - 1, _MAX_POINTS).round().astype(int)
        X, y = X[keep], y[keep]
    all_steps = np.unique(np.concatenate([np.asarray(snapshot_steps[n]) for n in names]))
    last = int(all_steps[-1])

    def frame_index(name: str, step: int) -> int:
        s = np.asarray(snapshot_steps[name])
        return int(np.clip(np.searchsorted(s, step, side="right") - 1, 0, len(s) - 1))

    stopped_at = stopped or {}
    titles = [name if name not in stopped_at else
              t("optim.fig.decision.stopped", name=name, step=stopped_at[name])
              for name in names]
    n_cols = min(len(names), DECISION_COLUMNS)
    n_rows = -(-len(names) // n_cols)
    # px: title; x-axis, slider, buttons and legend; between rows. ``text_scale`` is how much
    # larger the figure's text will be drawn (projector mode): the slider's labels grow down
    # towards the buttons, so the rows under the panels move apart, and the panels grow so
    # that they keep their height once the larger margins are taken from the figure.
    grow = 1.0 + 2.0 * max(text_scale - 1.0, 0.0)
    panel_height = int(round(panel_height * max(text_scale, 1.0)))
    slider_y, buttons_y = 55, 55 + 95 * grow
    legend_y = buttons_y + 45 * grow
    top, bottom, gap = 60, int(legend_y + 40 * grow), 70
    plot_height = n_rows * panel_height + (n_rows - 1) * gap
    height = top + bottom + plot_height
    fig = make_subplots(rows=n_rows, cols=n_cols, subplot_titles=titles,
                        horizontal_spacing=0.05,
                        vertical_spacing=gap / plot_height if n_rows > 1 else 0.0)
    two = n_classes == 2
    animated = []
    for j, name in enumerate(names):
        row, col = divmod(j, n_cols)
        row, col = row + 1, col + 1
        g = grids[name]
        z = _panel_values(g.probs[frame_index(name, last)])
        animated.append(len(fig.data))
        fig.add_trace(go.Heatmap(
            x=g.xs, y=g.ys, z=z,
            coloraxis="coloraxis", zsmooth="best" if two else False, name=name,
            hovertemplate=_hover("decision_two" if two else "decision_many", name),
        ), row=row, col=col)
        if two:
            animated.append(len(fig.data))
            fig.add_trace(_boundary_contour(g.xs, g.ys, z, name=name, legend=j == 0),
                          row=row, col=col)
        for k in range(n_classes):
            mask = y == k
            fig.add_trace(go.Scatter(
                x=X[mask, 0], y=X[mask, 1], mode="markers",
                name=t("optim.fig.decision.class", k=k),
                legendgroup=f"class {k}", showlegend=j == 0,
                marker=dict(size=4, color=_class_color(k, n_classes), opacity=0.55,
                            symbol=CLASS_SYMBOLS[k % len(CLASS_SYMBOLS)],
                            line=dict(color="black", width=0.4)),
                hoverinfo="skip",
            ), row=row, col=col)
        fig.update_xaxes(range=[g.xs[0], g.xs[-1]], nticks=5, row=row, col=col,
                         title_text="x₁" if row == n_rows or j + n_cols >= len(names)
                         else None, title_standoff=4)
        fig.update_yaxes(range=[g.ys[0], g.ys[-1]], nticks=5, row=row, col=col,
                         title_text="x₂" if col == 1 else None, title_standoff=4,
                         showticklabels=col == 1)
    if colors:
        for ann, name in zip(fig.layout.annotations, names, strict=False):
            ann.font = dict(size=15, color=colors.get(name, FONT["color"]))

    def frame_traces(step: int) -> list[go.Heatmap | go.Contour]:
        out: list[go.Heatmap | go.Contour] = []
        for n in names:
            z = _panel_values(grids[n].probs[frame_index(n, step)])
            out.append(go.Heatmap(z=z))
            if two:
                out.append(go.Contour(z=z))
        return out

    fig.frames = [go.Frame(data=frame_traces(int(step)), traces=animated, name=str(int(step)))
                  for step in all_steps]

    if two:
        coloraxis = dict(colorscale=PROBABILITY_SCALE, cmin=0.0, cmax=1.0, cmid=0.5,
                         colorbar=dict(title=dict(text=t("optim.fig.decision.probability"),
                                                  side="right"),
                                       thickness=12, len=1.0, x=1.01, nticks=6))
    else:
        coloraxis = dict(colorscale=_class_scale(n_classes), cmin=-0.5,
                         cmax=n_classes - 0.5,
                         colorbar=dict(title=dict(text=t("optim.fig.decision.predicted"),
                                                  side="right"),
                                       tickvals=list(range(n_classes)), thickness=12,
                                       len=1.0, x=1.01))
    # Under the panels, in pixels converted to paper units (the height is fixed, the width
    # follows the page): the x-axis labels (55 px), the slider with its current value and
    # step labels (90 px), then the buttons and the legend on rows of their own, so that
    # nothing covers the slider or each other at any width.
    px = 1.0 / plot_height
    frame_args = dict(frame=dict(duration=0, redraw=True), transition=dict(duration=0),
                      mode="immediate")
    slider = dict(
        active=len(all_steps) - 1, x=0.0, y=-slider_y * px, len=1.0, xanchor="left", yanchor="top",
        pad=dict(t=22, b=0, l=0, r=0),
        currentvalue=dict(prefix=t("optim.fig.decision.slider") + " ", font=dict(size=14),
                          offset=8),
        steps=[dict(label=str(int(s)), method="animate", args=[[str(int(s))], frame_args])
               for s in all_steps],
    )
    play = dict(
        type="buttons", direction="left", x=0.0, y=-buttons_y * px, xanchor="left", yanchor="top",
        pad=dict(r=6, t=0), showactive=False,
        buttons=[
            dict(label=t("optim.fig.decision.replay"), method="animate",
                 args=[None, dict(frame=dict(duration=250, redraw=True), fromcurrent=False,
                                  transition=dict(duration=0), mode="immediate")]),
            dict(label=t("optim.fig.decision.pause"), method="animate",
                 args=[[None], frame_args]),
        ],
    )
    apply_layout(fig, t("optim.fig.decision.title"), height=height)
    fig.update_layout(
        coloraxis=coloraxis, updatemenus=[play], sliders=[slider],
        legend=dict(orientation="h", x=0.0, xanchor="left", y=-legend_y * px, yanchor="top",
                    font=dict(size=13)),
        margin=dict(t=top, b=bottom, r=80, l=55),
    )
    fig.update_annotations(yshift=0)
    return fig


DECISION_COLUMNS = 3
"""Most decision-boundary panels to a row: three stay readable in a 560 px wide page."""


def _boundary_contour(xs: np.ndarray, ys: np.ndarray, z: np.ndarray, *, name: str,
                      legend: bool) -> go.Contour:
    """The line ``p(class 1 | x) = 0.5``: a single black contour, no fill."""
    return go.Contour(
        x=xs, y=ys, z=z, contours=dict(start=0.5, end=0.5, size=1.0, coloring="none"),
        line=dict(color="black", width=2), showscale=False, hoverinfo="skip",
        name=t("optim.fig.decision.boundary"), legendgroup="boundary", showlegend=legend,
        meta=name,
    )


# -- trajectories ----------------------------------------------------------------------------------


def make_trajectory_figure(
    pca: TrajectoryPCA,
    *,
    colors: Mapping[str, str] | None = None,
    height: int = 560,
) -> go.Figure:
    """Parameter paths projected on the plane of their first two principal directions, over
    the training loss on that plane (log₁₀ colour: the valleys span decades)."""
    ratio = pca.explained_variance_ratio
    traces: list[dict] = [dict(
        type="contour",
        x=pca.a, y=pca.b, z=np.log10(np.maximum(pca.loss, 1e-300)),
        colorscale=LOSS_SCALE, ncontours=24, line=dict(width=0.6, color="#6b7280"),
        colorbar=dict(title=dict(text=t("optim.fig.trajectories.colorbar"), side="right"),
                      thickness=14),
        hovertemplate=t("optim.fig.hover.trajectory_loss") + "<extra></extra>",
        name=t("optim.fig.loss"),
    )]
    for i, (name, path) in enumerate(pca.paths.items()):
        c = (colors or {}).get(name, color(i))
        traces.append(dict(
            type="scatter",
            x=path[:, 0], y=path[:, 1], mode="lines+markers", name=name, legendgroup=name,
            line=dict(color=c, width=3), marker=dict(size=5, color=c),
            hovertemplate=_hover("snapshot", name),
        ))
        traces.append(dict(
            type="scatter",
            x=[path[-1, 0]], y=[path[-1, 1]], mode="markers",
            name=t("optim.fig.trajectories.end", name=name),
            showlegend=False, legendgroup=name, hoverinfo="skip",
            marker=dict(size=13, color=c, symbol="star", line=dict(color="white", width=1)),
        ))
    if pca.paths:
        start = next(iter(pca.paths.values()))[0]
        traces.append(dict(
            type="scatter",
            x=[start[0]], y=[start[1]], mode="markers+text", text=[t("optim.fig.start")],
            textposition="top center", name=t("optim.fig.trajectories.shared_start"),
            textfont=dict(color="black", size=14),
            marker=dict(size=12, color="black", line=dict(color="white", width=1.5)),
        ))
    axes = dict(
        xaxis=dict(title=dict(text=t("optim.fig.trajectories.pc1", ratio=ratio[0]))),
        yaxis=dict(title=dict(text=t("optim.fig.trajectories.pc2", ratio=ratio[1]))))
    return figure(traces, axes,
                  base_layout(t("optim.fig.trajectories.title"), height=height),
                  dict(legend=dict(orientation="h", y=-0.16, traceorder="normal")))


# -- Fisher spectrum -------------------------------------------------------------------------------


def make_spectrum_figure(
    spectra: Mapping[str, FisherSpectrum],
    *,
    damping: float | None = None,
    kind: str = "true",
    colors: Mapping[str, str] | None = None,
    height: int = 540,
) -> go.Figure:
    """Sorted Fisher eigenvalues (log scale) per network, with rank and condition numbers.

    Key ``""`` is the shared initial network (black, dashed). Eigenvalues at or below
    ``rtol · λ_max`` (numerically zero) are not drawn; the legend gives how many remain and
    ``κ(F + λI)``, the condition number a damped natural-gradient solve faces. A horizontal
    line marks ``λ``: directions below it are barely rescaled by ``(F + λI)⁻¹``.
    """
    traces: list[dict] = []
    for i, (name, s) in enumerate(spectra.items()):
        ev = np.asarray(s.eigenvalues, dtype=float)
        kept = ev[: s.rank]
        label = (t("optim.fig.spectrum.initial") if name == "" else
                 t("optim.fig.spectrum.trained", name=name))
        cond = (f"κ(F+λI) {s.damped_condition_number(damping):.2g}" if damping else
                f"κ {s.condition_number:.2g}")
        c = "black" if name == "" else (colors or {}).get(name, color(i))
        traces.append(dict(
            type="scatter", x=np.arange(1, kept.size + 1), y=kept, mode="lines",
            name=t("optim.fig.spectrum.legend", label=label, rank=s.rank, size=ev.size,
                   cond=cond),
            line=dict(color=c, width=2.5, dash="dash" if name == "" else "solid"),
            hovertemplate=_hover("eigenvalue", label),
        ))
    # a dotted line at λ, labelled above its right end
    floor = {} if not damping else dict(
        shapes=[dict(type="line", x0=0, x1=1, xref="x domain", y0=damping, y1=damping,
                     yref="y", line=dict(color="#4b5563", dash="dot", width=1.5))],
        # on a log axis a shape takes data values, an annotation their log10
        annotations=[dict(text=t("optim.fig.spectrum.damping", damping=damping),
                          showarrow=False, x=1,
                          xanchor="right", xref="x domain", y=float(np.log10(damping)),
                          yanchor="bottom", yref="y", font=dict(size=13))])
    axes = dict(xaxis=dict(title=dict(text=t("optim.fig.spectrum.index"))),
                yaxis=dict(title=dict(text=t("optim.fig.spectrum.eigenvalue")), type="log",
                           exponentformat="power", dtick=2))
    kind_text = (t(f"optim.fig.spectrum.kinds.{kind}")
                 if kind in ("true", "empirical", "monte_carlo") else kind)
    return figure(traces, floor, axes,
                  base_layout(t("optim.fig.spectrum.title", kind=kind_text), height=height),
                  dict(legend=dict(orientation="h", x=0.0, y=-0.2, yanchor="top"),
                       margin=dict(b=40)))


# -- KL per step -----------------------------------------------------------------------------------


def make_kl_figure(
    histories: Mapping[str, TrainingHistory],
    *,
    kl_clip: float | None = None,
    height: int = 640,
) -> go.Figure:
    """How far each step moves: in predictions (KL between consecutive predictive
    distributions) and in parameters (Euclidean step length), both on log scales, one above
    the other on a shared step axis (side by side, their titles collide on a narrow page)."""
    grid, cells = _grid(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.12,
                        subplot_titles=(t("optim.fig.kl.top"), t("optim.fig.kl.bottom")))
    traces: list[dict] = []
    colors = colors_for(histories)
    for name, h in histories.items():
        steps = np.arange(1, h.steps + 1)
        kl = np.asarray(h.kl, dtype=float)
        kl = np.where(kl > 0, kl, np.nan)  # exact zeros (round-off) have no logarithm
        common = dict(mode="lines", legendgroup=name, line=dict(color=colors[name], width=2))
        traces.append(dict(type="scatter", **_on(cells[1, 1]), x=steps, y=kl,
                           name=_label(name, h), **common,
                           hovertemplate=_hover("step_kl", name)))
        traces.append(dict(type="scatter", **_on(cells[2, 1]), x=steps,
                           y=np.asarray(h.step_norm, dtype=float), name=name,
                           showlegend=False, **common,
                           hovertemplate=_hover("step_norm", name)))
    notes = list(grid["annotations"])
    shapes = []
    if kl_clip and traces:  # add_hline leaves out a cell without traces
        shape, note = _hline(kl_clip, cells[1, 1],
                             dict(color="#6b7280", dash="dot", width=1.5),
                             dict(text=t("optim.fig.kl.budget", budget=kl_clip),
                                  font=dict(size=12)), log_y=True)
        shapes.append(shape)
        notes.append(note)
    (_, y1), (x2, y2) = cells[1, 1], cells[2, 1]
    axes = {
        x2: dict(title=dict(text=t("optim.fig.step"))),
        y1: dict(title=dict(text=t("optim.fig.kl.kl_axis")), type="log", exponentformat="power",
                 dtick=_log_dtick([h.kl for h in histories.values()])),
        y2: dict(title=dict(text="‖θₖ₊₁ − θₖ‖"), type="log", exponentformat="power",
                 dtick=_log_dtick([h.step_norm for h in histories.values()])),
        "shapes": shapes,
        "annotations": [merge(a, dict(font=dict(size=15))) for a in notes],
    }
    return figure(traces, grid, axes,
                  base_layout(t("optim.fig.kl.title"), height=height),
                  dict(legend=dict(orientation="h", x=0.0, y=0.0, yanchor="bottom",
                                   yref="container"), margin=dict(t=95, b=140)))


def _log_dtick(series: Sequence[npt.ArrayLike]) -> int | None:
    """One labelled tick per decade (per two beyond eight decades) on a log axis spanning at
    least one decade, so that Plotly does not print its "2" and "5" labels between decades;
    ``None`` (Plotly's own 2-5-10 ticks, the only labels there are) under one decade."""
    values = np.concatenate([np.asarray(v, dtype=float).ravel() for v in series]
                            or [np.zeros(0)])
    values = values[np.isfinite(values) & (values > 0)]
    if values.size == 0:
        return None
    decades = np.log10(values.max() / values.min())
    return None if decades < 1 else (1 if decades < 8 else 2)


# -- two-weight logistic regression ----------------------------------------------------------------


def make_logistic_figure(geo: LogisticGeometry, *, height: int = 620) -> go.Figure:
    """The parameter plane of two-weight logistic regression: loss contours, the Fisher
    metric's indicatrices ``{w : (w − c)ᵀ F(c) (w − c) = r²}``, and the GD and NGD paths.

    Both axes have the same scale, so the ellipses' shapes are true.
    """
    traces: list[dict] = [dict(
        type="contour",
        x=geo.w1, y=geo.w2, z=geo.loss, colorscale=LOSS_SCALE, ncontours=22,
        line=dict(width=0.6, color="#6b7280"),
        colorbar=dict(title=dict(text=t("optim.fig.ellipses.colorbar"), side="right"),
                      thickness=14),
        hovertemplate=t("optim.fig.hover.logistic_loss") + "<extra></extra>",
        name=t("optim.fig.loss"),
    )]
    ell = np.concatenate([np.concatenate([e, np.full((1, 2), np.nan)]) for e in geo.ellipses])
    traces.append(dict(
        type="scatter",
        x=ell[:, 0], y=ell[:, 1], mode="lines", name=t("optim.fig.ellipses.ellipses"),
        line=dict(color="#1f2937", width=1.2), hoverinfo="skip",
    ))
    for path, name, c, symbol in ((geo.gd_path, t("optim.fig.ellipses.gd"),
                                   KIND_COLORS["sgd"], "circle"),
                                  (geo.ngd_path, t("optim.fig.ellipses.ngd"),
                                   KIND_COLORS["ngd"], "diamond")):
        traces.append(dict(
        type="scatter",
            x=path[:, 0], y=path[:, 1], mode="lines+markers",
            name=t("optim.fig.ellipses.path", name=name, steps=len(path) - 1),
            line=dict(color=c, width=3),
            marker=dict(size=7, color=c, symbol=symbol, line=dict(color="white", width=1)),
            hovertemplate=_hover("path_step", name),
        ))
    traces.append(dict(
        type="scatter",
        x=[geo.optimum[0]], y=[geo.optimum[1]], mode="markers",
        name=t("optim.fig.ellipses.minimum"),
        marker=dict(size=16, symbol="star", color="black", line=dict(color="white", width=1.5)),
    ))
    start = geo.gd_path[0]
    traces.append(dict(
        type="scatter",
        x=[start[0]], y=[start[1]], mode="markers+text", text=[t("optim.fig.start")],
        textposition="top center", textfont=dict(color="black", size=14), showlegend=False,
        marker=dict(size=11, color="black", line=dict(color="white", width=1.5)),
        hoverinfo="skip",
    ))
    axes = dict(
        xaxis=dict(title=dict(text=t("optim.fig.ellipses.w1")), range=[geo.w1[0], geo.w1[-1]],
                   constrain="domain"),
        yaxis=dict(title=dict(text=t("optim.fig.ellipses.w2")), range=[geo.w2[0], geo.w2[-1]],
                   scaleanchor="x", scaleratio=1.0, constrain="domain"))
    return figure(traces, axes,
                  base_layout(t("optim.fig.ellipses.title"), height=height),
                  dict(legend=dict(orientation="h", y=-0.14)))


# -- reparametrisation -----------------------------------------------------------------------------


def function_space_paths(probs: Mapping[Any, np.ndarray]) -> tuple[dict[Any, np.ndarray],
                                                                    np.ndarray]:
    """Project runs' predictions onto the two principal directions of all of them together.

    ``probs[key]`` is ``shape=[S, n, C]`` (predicted probabilities on the same inputs). Each
    snapshot is one point ``vec(p) ∈ R^{nC}`` of function space. Returns the ``[S, 2]`` paths
    and the share of variance of each direction. Two runs that compute the same functions
    have the same path, whatever their parameters.
    """
    keys = list(probs)
    flat = [np.asarray(probs[k], dtype=float).reshape(len(probs[k]), -1) for k in keys]
    centered = np.concatenate(flat)
    centered = centered - centered.mean(axis=0)
    # PCA through the small [S, S] Gram matrix: its eigenvectors times the singular values are
    # the projected coordinates (an SVD of the wide [S, nC] matrix is 100× slower here).
    evals, evecs = np.linalg.eigh(centered @ centered.T)
    evals, evecs = np.maximum(evals[::-1], 0.0), evecs[:, ::-1]
    k = min(2, evals.size)
    coords = np.zeros((centered.shape[0], 2))
    coords[:, :k] = evecs[:, :k] * np.sqrt(evals[:k])
    ratio = np.zeros(2)
    if evals.sum() > 0:
        ratio[:k] = evals[:k] / evals.sum()
    bounds = np.cumsum([0] + [len(f) for f in flat])
    return {key: coords[a:b] for key, a, b in zip(keys, bounds[:-1], bounds[1:], strict=True)}, \
        ratio


def make_reparam_figure(
    probs: Mapping[tuple[str, float], np.ndarray],
    gaps: Mapping[str, np.ndarray],
    gap_steps: Mapping[str, np.ndarray],
    c: float,
    *,
    linear: bool = False,
    height: int = 480,
) -> go.Figure:
    """The reparametrisation demo: SGD and NGD trained in coordinates ``c = 1`` and ``c``
    (``linear``: the model is softmax regression, no hidden layer; the title says so).

    Left: each run's predictions as a path in function space (projected as in
    :func:`function_space_paths`); solid is ``c = 1``, dashed is ``c``. Right: the largest
    difference ``max |p_1 − p_c|`` between the two coordinate systems after each snapshot.
    """
    paths, ratio = function_space_paths(probs)
    grid, cells = _grid(rows=1, cols=2, horizontal_spacing=0.1, subplot_titles=(
        t("optim.fig.reparam.paths"), t("optim.fig.reparam.gap_title", c=c)))
    traces: list[dict] = []
    for (name, cc), path in paths.items():
        col = KIND_COLORS["ngd" if name.upper().startswith("N") else "sgd"]
        first = cc == 1.0
        traces.append(dict(
            type="scatter", **_on(cells[1, 1]), x=path[:, 0], y=path[:, 1],
            mode="lines+markers", name=t("optim.fig.reparam.run", name=name, c=cc),
            legendgroup=name,
            line=dict(color=col, width=4 if first else 2.5, dash="solid" if first else "dash"),
            marker=dict(size=8 if first else 6, color=col if first else "white",
                        symbol="circle" if first else "x-thin",
                        line=dict(color=col, width=2)),
            opacity=0.55 if first else 1.0,
            hovertemplate=t("optim.fig.hover.snapshot") + "<extra>%{fullData.name}</extra>",
        ))
    for name, gap in gaps.items():
        col = KIND_COLORS["ngd" if name.upper().startswith("N") else "sgd"]
        g = np.asarray(gap, dtype=float)
        traces.append(dict(
            type="scatter", **_on(cells[1, 2]), x=np.asarray(gap_steps[name]),
            y=np.where(g > 0, g, np.nan),
            mode="lines+markers", name=t("optim.fig.reparam.gap", name=name),
            legendgroup=name, showlegend=False,
            line=dict(color=col, width=2.5), marker=dict(size=6, color=col),
            hovertemplate=_hover("step_gap", name),
        ))
    (x1, y1), (x2, y2) = cells[1, 1], cells[1, 2]
    axes = {
        x1: dict(title=dict(text=t("optim.fig.reparam.pc1", ratio=ratio[0]))),
        y1: dict(title=dict(text=t("optim.fig.reparam.pc2", ratio=ratio[1]))),
        x2: dict(title=dict(text=t("optim.fig.step"))),
        y2: dict(title=dict(text=t("optim.fig.reparam.gap_axis")), type="log",
                 exponentformat="power",
                 dtick=_log_dtick([np.asarray(g, dtype=float) for g in gaps.values()])),
        "annotations": [merge(a, dict(font=dict(size=15))) for a in grid["annotations"]],
    }
    title = t("optim.fig.reparam.title_linear" if linear else "optim.fig.reparam.title_network",
              c=c)
    return figure(traces, grid, axes, base_layout(title, height=height),
                  dict(legend=dict(orientation="h", y=-0.2), margin=dict(t=95)))


# -- table and text --------------------------------------------------------------------------------


MISSING = "—"


def loss_text(value: float) -> str:
    """A training loss as the page writes it everywhere (table, summary, warnings), so that
    the same number always reads the same: 4 significant digits, ``—`` if not finite."""
    return f"{value:.4g}" if np.isfinite(value) else MISSING


def cost_reference(histories: Mapping[str, TrainingHistory]) -> str | None:
    """The run whose median step time is the unit of the cost column: the first plain-SGD run
    that completed a step, else the first run that did; ``None`` when no run completed one
    (a run that diverged on its first step has no step time to compare with)."""
    timed = [n for n, h in histories.items() if h.wall_time]
    sgd = [n for n in timed if histories[n].spec.get("kind") == "sgd"]
    return next(iter(sgd or timed), None)


def summary_rows(rows: Sequence[Mapping[str, Any]], target_loss: float,
                 reference: str | None = "SGD") -> list[dict[str, str]]:
    """``geomcore.optim.summary_table`` rows as the page's table: every cell a string, with
    ``not reached`` / ``—`` where there is no number (never ``None`` or ``nan``).

    ``reference`` names the run the cost column is relative to (see :func:`cost_reference`).
    The loss of a run that stopped early is that of its last finite state, the same number
    :func:`run_warning` quotes.
    """
    def col(key: str, **values: Any) -> str:
        return t(f"optim.table.{key}", **values)

    not_reached = col("not_reached")
    cost_name = col("cost", reference=reference or "SGD")
    out = []
    for r in rows:
        k, ttt = r.get("steps_to_target"), r.get("time_to_target")
        ms, cost = r.get("ms_per_step"), r.get("relative_cost")
        acc = r.get("test_accuracy")
        out.append({
            col("optimizer"): r["name"],
            col("status"): status_text(r["status"]),
            col("final_loss"): loss_text(r["final_loss"]),
            col("accuracy"): (f"{100.0 * acc:.1f}" if acc is not None and np.isfinite(acc)
                              else MISSING),
            col("steps_to", target=target_loss): not_reached if k is None else str(k),
            col("time_to"): not_reached if ttt is None else f"{1e3 * ttt:.0f}",
            col("ms_per_step"): f"{ms:.2f}" if ms is not None and np.isfinite(ms) else MISSING,
            cost_name: (f"{cost:.1f}×" if reference is not None and cost is not None
                        and np.isfinite(cost) else MISSING),
        })
    return out


def run_warning(history: TrainingHistory) -> str:
    """The warning for a run that stopped early: why (the run's own message, which names the
    step and the non-finite or exploding value) and which state the table and pictures show
    instead, with the same loss as the table's."""
    h = history
    shown = loss_text(h.loss[-1]) if h.loss else MISSING
    state = (t("optim.text.last_state", step=h.steps) if h.steps else
             t("optim.text.initial_state"))
    return t("optim.text.run_warning", message=h.message, state=state, loss=shown)


def loss_levelled_off(histories: Mapping[str, TrainingHistory], *, tail: float = 0.25,
                      rtol: float = 0.01) -> bool:
    """Whether the best run's training loss fell by less than ``rtol`` (relative) over its last
    ``tail`` of steps: then more steps will not reach a lower target."""
    ok = [np.asarray(h.loss, dtype=float) for h in histories.values()
          if h.status == "ok" and len(h.loss) > 4]
    if not ok:
        return False
    best = min(ok, key=lambda loss: loss[-1])
    earlier = best[int((1.0 - tail) * (best.size - 1))]
    return bool(earlier - best[-1] <= rtol * abs(earlier))


def trade_off_text(rows: Sequence[Mapping[str, Any]], target_loss: float, *,
                   reference: str | None = "SGD", floor: float | None = None,
                   levelled_off: bool = False) -> str:
    """One honest sentence per curvature method: fewer steps, dearer steps, and who wins on
    time.

    ``reference`` is the run step costs are relative to (``None``: no cost is quoted);
    ``floor`` the lowest loss the model can reach at all (softmax regression:
    :func:`geomcore.optim.linear_model_floor`); ``levelled_off`` whether the best run's loss
    has stopped falling (:func:`loss_levelled_off`). With neither, a missed target is blamed
    on too few steps.
    """
    by_name = {r["name"]: r for r in rows}
    reached = {n: r for n, r in by_name.items() if r["steps_to_target"] is not None}
    if not reached:
        best = min((r["final_loss"] for r in rows if np.isfinite(r["final_loss"])),
                   default=float("nan"))
        values = dict(target=target_loss, best=loss_text(best))
        if floor is not None and target_loss < floor:
            return t("optim.text.none_reached_floor", floor=loss_text(floor), **values)
        if levelled_off:
            return t("optim.text.none_reached_levelled", **values)
        return t("optim.text.none_reached_falling", **values)
    fastest_steps = min(reached, key=lambda n: reached[n]["steps_to_target"])
    fastest_time = min(reached, key=lambda n: reached[n]["time_to_target"])
    r_s, r_t = reached[fastest_steps], reached[fastest_time]
    cost = r_s.get("relative_cost")
    text = t("optim.text.fewest_steps", target=target_loss, name=fastest_steps,
             steps=r_s["steps_to_target"])
    if (reference is not None and cost is not None and np.isfinite(cost)
            and fastest_steps != reference):
        # English says "an Adam step", "a K-FAC step"; other languages need no article
        article = "at_cost_an" if reference[0] in "AEIOS" else "at_cost_a"
        text += t(f"optim.text.{article}", cost=cost, reference=reference)
    if fastest_time == fastest_steps:
        text += t("optim.text.also_fastest", ms=1e3 * r_t["time_to_target"])
    else:
        text += t("optim.text.first_on_clock", name=fastest_time,
                  ms=1e3 * r_t["time_to_target"], ms_fewest=1e3 * r_s["time_to_target"],
                  steps=r_t["steps_to_target"])
    missed = [n for n in by_name if n not in reached]
    if missed:
        text += t("optim.text.missed", names=", ".join(missed))
    return text


def kl_budget_text(histories: Mapping[str, TrainingHistory], kl_clip: float | None) -> str:
    """What the KL plot shows about the budget, computed from it: per NGD/K-FAC run, in how
    many steps the measured KL came within a factor 2 of the budget (at or above half of it),
    and its median KL per step against the budget."""
    if not kl_clip:
        return t("optim.text.kl_no_budget")
    parts = []
    for name, h in histories.items():
        if h.spec.get("kind") not in ("ngd", "kfac") or not h.kl:
            continue
        kl = np.asarray(h.kl, dtype=float)
        near = int(np.count_nonzero(kl >= 0.5 * kl_clip))
        median = float(np.median(kl))
        first = np.flatnonzero(kl < 0.5 * kl_clip)
        parts.append(
            t("optim.text.kl_near", name=name, near=near, total=kl.size)
            + (t("optim.text.kl_first", first=int(first[0]))
               if near and first.size and first[0] == near else "")
            + t("optim.text.kl_median", median=median)
            + (t("optim.text.kl_at_budget") if median >= kl_clip else
               t("optim.text.kl_below", ratio=kl_clip / median) if kl_clip / median < 1e3 else
               t("optim.text.kl_far_below"))
        )
    if not parts:
        return t("optim.text.kl_choose")
    return t("optim.text.kl_summary", budget=kl_clip,
             parts=t("optim.text.kl_separator").join(parts))


# -- Hessian / Gauss–Newton / Fisher ---------------------------------------------------------------

CURVATURE_STYLES = {
    # name: (colour, dash, width); the legend label is optim.fig.curvature.<name>. The
    # Gauss–Newton matrix equals the true Fisher to round-off, so it is drawn dashed and
    # thinner on top of F, both visible.
    "hessian": (PALETTE[1], "solid", 3.0),
    "fisher": (PALETTE[0], "solid", 4.5),
    "ggn": ("#F0E442", "dash", 2.0),
    "empirical_fisher": (PALETTE[2], "dot", 3.0),
}
_SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def symlog(values: np.ndarray, threshold: float) -> np.ndarray:
    """The symmetric-log coordinate ``sign(λ) · log₁₀(1 + |λ|/τ)``: logarithmic for
    ``|λ| ≫ τ``, linear through 0, so that negative eigenvalues stay on the picture."""
    values = np.asarray(values, dtype=float)
    return np.sign(values) * np.log10(1.0 + np.abs(values) / threshold)


def _symlog_ticks(threshold: float, top: float, bottom: float) -> tuple[list[float], list[str]]:
    """Tick positions and labels (``±10^k`` every other decade, and 0) for :func:`symlog`."""
    lo = int(np.ceil(np.log10(threshold))) + 1
    vals, text = [0.0], ["0"]
    for sign, extent in ((1.0, top), (-1.0, bottom)):
        if extent <= threshold:
            continue
        hi = int(np.floor(np.log10(extent)))
        step = 2 if hi - lo >= 4 else 1  # one label a decade crowds a 300-px panel
        for k in range(hi, lo - 1, -step):
            vals.append(float(symlog(np.array(sign * 10.0 ** k), threshold)))
            text.append(("−" if sign < 0 else "") + "10" + str(k).translate(_SUPERSCRIPTS))
    return vals, text


def make_curvature_figure(
    comparisons: Mapping[str, CurvatureComparison],
    *,
    relative_threshold: float = 1e-8,
    height_per_panel: int = 330,
) -> go.Figure:
    """Sorted eigenvalues of ``H``, ``G``, ``F`` and ``F̂``, one panel per network state, on a
    symmetric-log axis (logarithmic both ways from a linear band ``|λ| < τ`` around 0, with
    ``τ = relative_threshold · max|λ|`` over all panels): ``H``'s negative eigenvalues go below
    the zero line, ``F`` and ``G`` never do. Panels are stacked (they share the eigenvalue
    axis), so the figure reads at a projector's width.

    ``comparisons`` maps a panel title (e.g. ``"initial network"``) to its comparison.
    """
    if not comparisons:
        raise ValueError("make_curvature_figure needs at least one comparison")
    scale = max(float(np.abs(ev).max()) for c in comparisons.values()
                for ev in c.eigenvalues.values())
    tau = relative_threshold * (scale if scale > 0 else 1.0)
    titles = [t("optim.fig.curvature.panel", title=title, loss=c.loss,
                negative=c.negative_eigenvalues)
              for title, c in comparisons.items()]
    rows = len(comparisons)
    grid, cells = _grid(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.16 / rows,
                        subplot_titles=tuple(titles))
    traces: list[dict] = []
    shapes = []
    top = bottom = 0.0
    for r, c in enumerate(comparisons.values(), start=1):
        for name in CURVATURE_STYLES:  # F before G, so that G's dashes lie on top of F
            col, dash, width = CURVATURE_STYLES[name]
            label = t(f"optim.fig.curvature.{name}")
            ev = np.asarray(c.eigenvalues[name], dtype=float)
            top, bottom = max(top, float(ev.max())), max(bottom, float(-ev.min()))
            traces.append(dict(
                type="scatter", **_on(cells[r, 1]), x=np.arange(1, ev.size + 1),
                y=symlog(ev, tau), customdata=ev, mode="lines",
                name=label, legendgroup=name, showlegend=r == 1,
                line=dict(color=col, dash=dash, width=width),
                hovertemplate=_hover("eigenvalue_custom", label),
            ))
        shapes.append(_hline(0, cells[r, 1], dict(color="#4b5563", width=1))[0])
    vals, text = _symlog_ticks(tau, top, bottom)
    axes: dict[str, Any] = {
        y: dict(tickvals=vals, ticktext=text,
                title=dict(text=t("optim.fig.curvature.symlog")))
        for _, y in cells.values()}
    axes[cells[rows, 1][0]] = dict(title=dict(
        text=t("optim.fig.curvature.index", tau=tau)))
    axes["shapes"] = shapes
    axes["annotations"] = [merge(a, dict(font=dict(size=14))) for a in grid["annotations"]]
    return figure(traces, grid, axes,
                  base_layout(t("optim.fig.curvature.title"),
                              height=110 + height_per_panel * rows, title_width=44),
                  dict(legend=dict(orientation="h", x=0.0, y=0.0, yanchor="bottom",
                                   yref="container"), margin=dict(b=125)))


def curvature_rows(comparisons: Mapping[str, CurvatureComparison]) -> list[dict[str, str]]:
    """The distances table: one row per quantity, one column per network state."""
    quantities = [
        ("‖H − F‖ / ‖F‖", lambda c: f"{c.distances['hessian']:.3g}"),
        ("‖G − F‖ / ‖F‖", lambda c: f"{c.distances['ggn']:.1e}"),
        ("‖F̂ − F‖ / ‖F‖", lambda c: f"{c.distances['empirical_fisher']:.3g}"),
        (t("optim.fig.curvature.rows.residual"), lambda c: f"{c.hessian_ggn_gap:.3g}"),
        (t("optim.fig.curvature.rows.negative"),
         lambda c: t("optim.fig.curvature.rows.of", k=c.negative_eigenvalues, n=c.n_params)),
        (t("optim.fig.curvature.rows.smallest"), lambda c: f"{c.most_negative:.3g}"),
        (t("optim.fig.curvature.rows.loss"), lambda c: f"{c.loss:.3g}"),
    ]
    quantity = t("optim.fig.curvature.rows.quantity")
    return [{quantity: q, **{title: fmt(c) for title, c in comparisons.items()}}
            for q, fmt in quantities]


# -- Adam as a diagonal empirical Fisher -----------------------------------------------------------


def log_correlation(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation of ``log₁₀ x`` and ``log₁₀ y`` over the entries where both are > 0
    (``nan`` with fewer than 3 such entries or no spread)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = (x > 0) & (y > 0) & np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3:
        return float("nan")
    lx, ly = np.log10(x[ok]), np.log10(y[ok])
    if lx.std() == 0 or ly.std() == 0:
        return float("nan")
    return float(np.corrcoef(lx, ly)[0, 1])


def make_adam_fisher_figure(view: AdamFisherView, index: int, *, height: int = 560
                            ) -> go.Figure:
    """Log-log scatter, one point per parameter, at state ``view.steps[index]``: Adam's
    ``b·v̂`` against ``diag F̂`` and against ``diag F``, with the line ``y = x`` and the
    log-log correlation of each cloud in the legend."""
    k = int(view.steps[index])
    y = view.scaled_second_moment[index]
    traces: list[dict] = []
    xs = []
    for x, symbol_name, label, col, symbol in (
            (view.empirical_diagonal[index], "diag F̂", t("optim.fig.adam.empirical"),
             PALETTE[2], "circle"),
            (view.fisher_diagonal[index], "diag F", t("optim.fig.adam.true"), PALETTE[0],
             "diamond")):
        ok = (x > 0) & (y > 0)
        xs.append(x[ok])
        traces.append(dict(
            type="scatter", x=x[ok], y=y[ok], mode="markers",
            name=t("optim.fig.adam.versus", label=label, r=log_correlation(x, y)),
            marker=dict(color=col, symbol=symbol, size=6, opacity=0.6,
                        line=dict(color="white", width=0.5)),
            customdata=view.parameter_index[ok],
            hovertemplate=t("optim.fig.hover.parameter", what=symbol_name)
            + "<extra></extra>",
        ))
    values = np.concatenate([*xs, y[y > 0]])
    if values.size:
        lo, hi = float(values.min()), float(values.max())
        traces.append(dict(type="scatter", x=[lo, hi], y=[lo, hi], mode="lines",
                           name="y = x", line=dict(color="#1f2937", dash="dash", width=1.5),
                           hoverinfo="skip"))
    axes = dict(
        xaxis=dict(title=dict(text=t("optim.fig.adam.x")), type="log",
                   exponentformat="power", dtick=_log_dtick(xs) if xs else None),
        yaxis=dict(title=dict(text=t("optim.fig.adam.y", b=view.batch_size)), type="log",
                   exponentformat="power", dtick=_log_dtick([y])))
    return figure(traces, axes,
                  base_layout(t("optim.fig.adam.title", step=k),
                              height=height, title_width=44),
                  dict(legend=dict(orientation="h", x=0.0, y=0.0, yanchor="bottom",
                                   yref="container"), margin=dict(b=130)))


# name: (catalog key, colour, dash, width); the two diagonal NGDs often nearly coincide, so the
# empirical one is drawn dotted and thinner on top of the true one.
ADAM_DIRECTION_STYLES = {"diagonal NGD (true F)": ("diag_true", PALETTE[0], "solid", 4.0),
                         "diagonal NGD (empirical F)": ("diag_empirical", PALETTE[2], "dot",
                                                        2.5),
                         "gradient": ("gradient", "#6b7280", "solid", 2.5)}


def make_adam_direction_figure(view: AdamFisherView, index: int | None = None, *,
                               height: int = 420) -> go.Figure:
    """The cosine between Adam's direction ``m̂/(√v̂ + ε)`` and the diagonal natural gradients
    ``g/(diag F + λ)``, ``g/(diag F̂ + λ)`` and the gradient ``g``, along the run; a dotted
    line marks the state ``view.steps[index]`` shown in the scatter."""
    traces: list[dict] = []
    for name, values in view.cosines.items():
        key, col, dash, width = ADAM_DIRECTION_STYLES.get(name, ("", PALETTE[3], "solid", 2.5))
        label = t(f"optim.fig.adam.directions.{key}") if key else name
        traces.append(dict(
            type="scatter", x=view.steps, y=values, mode="lines+markers",
            name=f"cos(Adam, {label})",
            line=dict(color=col, dash=dash, width=width), marker=dict(size=5),
            hovertemplate=_hover("step_cosine", label),
        ))
    # a dotted vertical line at the state shown in the scatter
    marker = {} if index is None else dict(shapes=[dict(
        type="line", x0=int(view.steps[index]), x1=int(view.steps[index]), xref="x", y0=0,
        y1=1, yref="y domain", line=dict(color="#4b5563", dash="dot", width=1.5))])
    lowest = min((float(np.nanmin(v)) for v in view.cosines.values() if np.isfinite(v).any()),
                 default=0.0)
    # [0, 1] while every cosine is positive, the whole [-1, 1] once one is not
    axes = dict(
        xaxis=dict(title=dict(text=t("optim.fig.adam.step_axis"))),
        yaxis=dict(title=dict(text=t("optim.fig.adam.cosine_axis")),
                   range=[-0.05, 1.05] if lowest >= -0.05 else [-1.05, 1.05]))
    return figure(traces, marker, axes,
                  base_layout(t("optim.fig.adam.directions_title", damping=view.damping),
                              height=height, title_width=44),
                  dict(legend=dict(orientation="h", x=0.0, y=0.0, yanchor="bottom",
                                   yref="container"), margin=dict(b=120)))


def adam_fisher_text(view: AdamFisherView, index: int) -> str:
    """The caption of the Adam view, from the numbers shown: the batch-size scaling (the
    identity :func:`geomcore.optim.curvature_views.expected_scaled_square` checks), how much
    the oldest gradient still weighs in ``v̂``, and that the replay reproduced the run."""
    k = int(view.steps[index])
    n, b = view.n_train, view.batch_size
    oldest = view.beta2 ** k
    if b == 1:
        regime = t("optim.text.adam_b1")
    elif b == n:
        regime = t("optim.text.adam_full", n=n)
    else:
        regime = t("optim.text.adam_mini", b=b, n=n, first=(n - b) / (n - 1),
                   second=b - (n - b) / (n - 1))
    replay = (t("optim.text.adam_replay_exact") if view.replay_error == 0 else
              t("optim.text.adam_replay_error", error=view.replay_error))
    return t("optim.text.adam_caption", beta2=view.beta2, step=k, oldest=oldest,
             regime=regime, points=view.n_true_points, n=n, replay=replay)
