"""Shared look: colourblind-safe palettes, a diverging curvature scale, one layout template."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

# Every figure of the app uses plotly_white. Set as the default, Plotly attaches it when a
# figure is serialised, without validating it again; passed to each figure's layout, it was
# deep-copied and validated on every build, a quarter of a rerun's server time.
pio.templates.default = "plotly_white"

# Okabe–Ito: distinguishable under the common colour-vision deficiencies.
PALETTE = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
)

# Diverging blue–white–red (ColorBrewer RdBu, reversed so that negative is blue): safe for
# red–green deficiencies; always used with ``cmid=0`` so white means zero curvature.
CURVATURE_SCALE = "RdBu_r"
# The same diverging scale for shaded 3-D surfaces, with a light grey instead of white at 0:
# a flat region (a cylinder, a cone, a plane) then stays visible against the white page.
CURVATURE_SCALE_3D = (
    (0.0, "#053061"), (0.15, "#2166AC"), (0.3, "#4393C3"), (0.42, "#A9CCE3"),
    (0.5, "#DADDE1"),
    (0.58, "#F4B39A"), (0.7, "#D6604D"), (0.85, "#B2182B"), (1.0, "#67001F"),
)
# Label boxes: dark text on a near-white box stays readable on any colour of the scale.
LABEL_BOX = dict(bgcolor="rgba(255,255,255,0.88)", bordercolor="#1B1F24", borderwidth=1,
                 borderpad=2, font=dict(size=13, color="#1B1F24"))
SEQUENTIAL_SCALE = "Cividis"

PLOT_CONFIG: dict[str, Any] = {
    "displaylogo": False,
    # the camera button saves a PNG at twice the size on screen: sharp on a projector or a slide
    "toImageButtonOptions": {"format": "png", "scale": 2},
}
"""Plotly config of every chart the pages draw (``st.plotly_chart(..., config=PLOT_CONFIG)``)."""

FONT = dict(family="Inter, Segoe UI, Helvetica, Arial, sans-serif", size=14, color="#1B1F24")


def color(i: int) -> str:
    """The i-th palette colour (cycling)."""
    return PALETTE[i % len(PALETTE)]


_WIDE = "\u3000-\u303f\u4e00-\u9fff\uff00-\uffef"
_WIDE_CHAR = re.compile(f"[{_WIDE}]")
# a word of Latin text, one Chinese character or full-width sign, or a space
_ATOMS = re.compile(f"[{_WIDE}]|[^ {_WIDE}]+| ")
# full-width signs that must not start a line (they close what precedes them)
_NO_LINE_START = frozenset("，。：；、）」』！？》")


def display_width(text: str) -> int:
    """Width of a text in Latin characters: a Chinese character or full-width sign takes two."""
    return len(text) + len(_WIDE_CHAR.findall(text))


def wrap_title(text: str, width: int) -> str:
    """Break a title into lines at most ``width`` Latin characters wide (Plotly's ``<br>``),
    so that a narrow figure shows the whole title instead of cutting it off.

    Latin text breaks at spaces; Chinese text between any two characters (a Chinese character
    counts two), never before a closing sign such as "，" or "）". A setting such as
    ``α = 0.5`` is never split across lines (its spaces become non-breaking)."""
    lines: list[str] = []
    current, space = "", False
    for atom in _ATOMS.findall(text.replace(" = ", "\u00a0=\u00a0")):
        if atom == " ":
            space = True
            continue
        piece = (" " if space and current else "") + atom
        if current and display_width(current + piece) > width and atom not in _NO_LINE_START:
            lines.append(current)
            current = atom
        else:
            current += piece
        space = False
    lines.append(current)
    return "<br>".join(lines)


def merge(*parts: Mapping[str, Any] | None) -> dict[str, Any]:
    """Nested dictionaries merged left to right, as successive ``fig.update_layout(part)``
    calls would merge them: a dictionary value merges into the one before it, anything else
    (a number, a string, a list) replaces it. ``None`` parts are skipped; inputs are not
    modified.

    Builders assemble one layout this way and construct the figure once: every
    ``update_layout``/``update_xaxes`` call on a built figure walks and validates Plotly's
    property tree again, which cost more server time than the rest of a rerun.
    """
    out: dict[str, Any] = {}
    for part in parts:
        if part is None:
            continue
        for key, value in part.items():
            before = out.get(key)
            if isinstance(value, Mapping) and isinstance(before, dict):
                out[key] = merge(before, value)
            elif isinstance(value, Mapping):
                out[key] = merge(value)
            else:
                out[key] = value
    return out


def base_layout(title: str, *, height: int = 520, title_width: int | None = None
                ) -> dict[str, Any]:
    """Title, font, margins and legend look shared by every figure, as a layout dictionary.

    ``title_width`` (characters) wraps a long title onto several lines; the top margin grows
    with the number of lines. :func:`apply_layout` applies the same to a built figure.
    """
    if title_width is not None:
        title = wrap_title(title, title_width)
    n_lines = title.count("<br>") + 1
    return dict(
        title=dict(text=title, x=0.02, xanchor="left", font=dict(size=18)),
        font=FONT,
        height=height,
        margin=dict(l=60, r=30, t=46 + 24 * n_lines, b=55),
        legend=dict(bgcolor="rgba(255,255,255,0.8)", bordercolor="#d0d4da", borderwidth=1),
    )


def figure(data: Sequence[Mapping[str, Any]], *layouts: Mapping[str, Any] | None,
           frames: Sequence[Mapping[str, Any]] | None = None) -> go.Figure:
    """A figure built in one step from trace dictionaries (each with its ``type``) and layout
    parts merged by :func:`merge`: Plotly validates every property once, instead of once per
    ``add_trace``/``update_*`` call."""
    return go.Figure(data=list(data), layout=merge(*layouts), frames=frames)


def apply_layout(fig: go.Figure, title: str, *, height: int = 520,
                 title_width: int | None = None) -> go.Figure:
    """Title, font, margins and legend placement shared by every figure (see
    :func:`base_layout`), applied to a built figure."""
    fig.update_layout(base_layout(title, height=height, title_width=title_width))
    return fig


def symmetric_range(values: np.ndarray, floor: float = 1e-6, *,
                    zero_tol: float = 1e-9) -> float:
    """Half-width of a colour range centred on 0 that covers the finite ``values``.

    The 99th percentile of |values| is used so that a near-singular spike (a pole, an apex)
    does not wash out the rest of the surface. Values that are all zero up to rounding
    (|v| <= ``zero_tol``: a flat surface) get the range [-1, 1], so the colour bar reads
    -1 … 0 … 1 instead of "-1μ … 1μ" around rounding noise.
    """
    finite = np.abs(values[np.isfinite(values)])
    if finite.size == 0 or float(finite.max()) <= zero_tol:
        return 1.0
    return float(max(np.percentile(finite, 99), floor))
