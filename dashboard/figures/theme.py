"""Shared look: colourblind-safe palettes, a diverging curvature scale, one layout template."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

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
SEQUENTIAL_SCALE = "Cividis"

FONT = dict(family="Inter, Segoe UI, Helvetica, Arial, sans-serif", size=14, color="#1B1F24")


def color(i: int) -> str:
    """The i-th palette colour (cycling)."""
    return PALETTE[i % len(PALETTE)]


def apply_layout(fig: go.Figure, title: str, *, height: int = 520) -> go.Figure:
    """Title, font, margins and legend placement shared by every figure."""
    fig.update_layout(
        title=dict(text=title, x=0.02, xanchor="left", font=dict(size=18)),
        font=FONT,
        height=height,
        margin=dict(l=60, r=30, t=70, b=55),
        template="plotly_white",
        legend=dict(bgcolor="rgba(255,255,255,0.8)", bordercolor="#d0d4da", borderwidth=1),
    )
    return fig


def symmetric_range(values: np.ndarray, floor: float = 1e-6) -> float:
    """Half-width of a colour range centred on 0 that covers the finite ``values``.

    The 99th percentile of |values| is used so that a near-singular spike (a pole, an apex)
    does not wash out the rest of the surface.
    """
    finite = np.abs(values[np.isfinite(values)])
    if finite.size == 0:
        return 1.0
    return float(max(np.percentile(finite, 99), floor))
