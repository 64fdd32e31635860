"""A figure for the back row and a figure as data: projector scaling and CSV export.

Both work on any built figure, so that no builder needs a projector variant or an export path.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

import numpy as np
import plotly.graph_objects as go

from dashboard.figures.theme import FONT

PROJECTOR_FONT = 1.45
"""Projector mode multiplies every font size by this (14 px text becomes 20 px)."""
PROJECTOR_MARKS = 1.7
"""… and marker sizes and line widths by this."""
PROJECTOR_SCENE_TICKS = 4
"""… and shows at most this many ticks on each axis of a 3-D scene, ×1.15 in size."""
PROJECTOR_SCENE_TICK_FONT = 1.15
_FONT_KEYS = frozenset({"font", "tickfont", "textfont", "titlefont", "insidetextfont",
                        "outsidetextfont", "hoverlabel"})
_LINE_TRACES = frozenset({"scatter", "scattergl", "scatter3d", "scatterpolar",
                          "scatterternary"})
_CARTESIAN = frozenset({"scatter", "scattergl", "bar", "heatmap", "contour", "histogram",
                        "box", "violin", "image"})
_PLOTLY_LINE_WIDTH = 2.0
_PLOTLY_MARKER_SIZE = 6.0


def _scale(value: Any, factor: float) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value * factor
    if isinstance(value, (list, tuple, np.ndarray)):
        arr = np.asarray(value, dtype=float)
        return (arr * factor).tolist()
    return value


def _scale_fonts(node: Any, factor: float) -> None:
    """Multiply the ``size`` of every font dictionary below ``node``."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _FONT_KEYS and isinstance(value, dict) and "size" in value:
                value["size"] = _scale(value["size"], factor)
            _scale_fonts(value, factor)
    elif isinstance(node, list):
        for item in node:
            _scale_fonts(item, factor)


def _scale_trace(trace: dict[str, Any], marks: float) -> None:
    kind = trace.get("type", "scatter")
    mode = trace.get("mode", "lines+markers" if kind in _LINE_TRACES else "")
    if kind in _LINE_TRACES:
        if "lines" in mode:
            line = trace.setdefault("line", {})
            line["width"] = _scale(line.get("width", _PLOTLY_LINE_WIDTH), marks)
        if "markers" in mode:
            marker = trace.setdefault("marker", {})
            marker["size"] = _scale(marker.get("size", _PLOTLY_MARKER_SIZE), marks)
            if isinstance(marker.get("line"), dict) and "width" in marker["line"]:
                marker["line"]["width"] = _scale(marker["line"]["width"], marks)
    elif isinstance(trace.get("line"), dict) and "width" in trace["line"]:
        trace["line"]["width"] = _scale(trace["line"]["width"], marks)


def _set_axis_fonts(axis: dict[str, Any], size: float) -> None:
    axis.setdefault("tickfont", {}).setdefault("size", size * 0.9)
    title = axis.get("title")
    if isinstance(title, dict):
        title.setdefault("font", {}).setdefault("size", size)
    elif isinstance(title, str):
        axis["title"] = {"text": title, "font": {"size": size}}


def _lower_bottom_legend(layout: dict[str, Any], font: float) -> None:
    """A horizontal legend placed below the plot (paper ``y < 0``) moves down with the larger
    tick labels and axis title, and the bottom margin grows to hold it."""
    legend = layout.get("legend")
    if not isinstance(legend, dict) or legend.get("orientation") != "h":
        return
    y = legend.get("y")
    if legend.get("yref", "paper") != "paper" or not isinstance(y, (int, float)) or y >= 0:
        return
    margin = layout.setdefault("margin", {})
    height = float(layout.get("height") or 450)
    bottom = float(margin.get("b", 80))
    plot = max(height - float(margin.get("t", 100)) - bottom, 100.0)
    drop = 0.12 * (font - 1) / 0.45  # as far as one more row of large tick labels
    legend["y"] = y - drop
    margin["b"] = bottom + drop * plot


def enlarge(fig: go.Figure, *, font: float = PROJECTOR_FONT,
            marks: float = PROJECTOR_MARKS) -> go.Figure:
    """A copy of ``fig`` for a projector: fonts ×``font`` (titles, ticks, legends, colour bars,
    annotations), markers and lines ×``marks``, margins grown to fit the larger text."""
    spec = fig.to_dict()
    layout = spec.setdefault("layout", {})
    _scale_fonts(layout, font)
    base = layout.setdefault("font", {})
    if "size" not in base:
        base["size"] = float(FONT["size"]) * font  # type: ignore[arg-type]
    margin = layout.get("margin")
    if isinstance(margin, dict):
        for side in ("l", "r", "t", "b"):
            if isinstance(margin.get(side), (int, float)):
                margin[side] = margin[side] * (1 + (font - 1) * 0.6)
    if isinstance(layout.get("height"), (int, float)):
        layout["height"] = layout["height"] * 1.1
    # Streamlit's chart theme sets its own small sizes for ticks and axis titles wherever the
    # figure leaves them unset: set them, or projector mode would not reach them. (A legend
    # keeps the theme's size unless the figure set one: below a plot, a taller legend would
    # climb onto the x-axis title.)
    size = float(base["size"])
    if any(trace.get("type", "scatter") in _CARTESIAN for trace in spec.get("data", [])):
        layout.setdefault("xaxis", {})
        layout.setdefault("yaxis", {})
    for name, axis in layout.items():
        if name.startswith(("xaxis", "yaxis")) and isinstance(axis, dict):
            _set_axis_fonts(axis, size)
    _lower_bottom_legend(layout, font)
    # tick labels of a 3-D box sit close together in perspective: fewer of them, and a size
    # between the screen's and the projector's, or they crowd each other
    tick_size = float(FONT["size"]) * PROJECTOR_SCENE_TICK_FONT  # type: ignore[arg-type]
    for name, scene in layout.items():
        if name.startswith("scene") and isinstance(scene, dict):
            for axis in ("xaxis", "yaxis", "zaxis"):
                settings = scene.setdefault(axis, {})
                settings["nticks"] = min(int(settings.get("nticks", PROJECTOR_SCENE_TICKS)),
                                         PROJECTOR_SCENE_TICKS)
                settings.setdefault("tickfont", {})["size"] = tick_size
    for trace in spec.get("data", []):
        _scale_fonts(trace, font)
        _scale_trace(trace, marks)
        for holder in (trace, trace.get("marker")):
            if isinstance(holder, dict) and isinstance(holder.get("colorbar"), dict):
                _set_axis_fonts(holder["colorbar"], size)
    for frame in spec.get("frames", []) or []:
        for trace in frame.get("data", []):
            _scale_fonts(trace, font)
            _scale_trace(trace, marks)
    return go.Figure(spec)


def _column(values: Any) -> list[Any]:
    if values is None:
        return []
    return list(np.asarray(values).ravel().tolist())


def curves_csv(fig: go.Figure, *, traces: Iterable[int] | None = None) -> str:
    """The figure's curves and point sets as CSV, one row per point:
    ``trace,x,y[,z]``, traces named by their legend entry (2-D and 3-D scatter traces; a
    heat map or surface is a grid, not a curve, and is left out)."""
    wanted = None if traces is None else set(traces)
    rows: list[list[Any]] = []
    has_z = False
    for i, trace in enumerate(fig.data):
        if wanted is not None and i not in wanted:
            continue
        kind = trace.type
        if kind not in ("scatter", "scattergl", "scatter3d"):
            continue
        xs, ys = _column(trace.x), _column(trace.y)
        zs = _column(getattr(trace, "z", None)) if kind == "scatter3d" else []
        has_z = has_z or bool(zs)
        name = trace.name or f"trace {i}"
        for j in range(min(len(xs), len(ys))):
            rows.append([name, xs[j], ys[j], zs[j] if j < len(zs) else ""])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["trace", "x", "y", "z"] if has_z else ["trace", "x", "y"])
    for row in rows:
        writer.writerow(row if has_z else row[:3])
    return out.getvalue()
