"""Caching pieces every lab shares: a progress bar a cached call can drive, freezing helpers
for cache keys, and a cache for built figures.

Each lab's own caching lives beside this module, in ``dashboard/cached/<lab>.py``. Cache keys are
frozen dataclasses and primitives only, and every cache has ``max_entries`` so one visitor cannot
fill the server's memory.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Hashable, Mapping
from typing import Any

import plotly.graph_objects as go
import streamlit as st

SpecItems = tuple[tuple[str, Any], ...]


def freeze_specs(specs: Mapping[str, Mapping[str, Any]]) -> tuple[tuple[str, SpecItems], ...]:
    """Optimizer specs as nested tuples, so that they can be part of a frozen cache key."""
    return tuple((name, tuple(sorted(spec.items()))) for name, spec in specs.items())


class ProgressBar:
    """A ``st.progress`` bar that a cached training call drives through its callback.

    Streamlit records every element a cached function draws and replays it on a cache hit; a
    bar created outside the function and updated inside it cannot be replayed
    (``CacheReplayClosureError`` on the next hit). The updates therefore run in the context
    captured here, outside the cached call, where Streamlit records nothing: on a miss the bar
    moves, on a hit it is never touched. Pass it as the cached function's ``_progress``
    argument (ignored by the cache key: it does not change the result), then call
    :meth:`clear`.
    """

    def __init__(self, text: str) -> None:
        self._context = contextvars.copy_context()
        self._slot = st.empty()
        self._text = text

    def __call__(self, fraction: float) -> None:
        fraction = min(max(float(fraction), 0.0), 1.0)
        self._context.run(self._slot.progress, fraction, text=f"{self._text} {fraction:.0%}")

    def clear(self) -> None:
        self._slot.empty()


@st.cache_resource(max_entries=16, show_spinner=False)
def _figure_cache(key: Hashable, _build: Callable[[], go.Figure]) -> go.Figure:
    return _build()


def cached_figure(key: Hashable, build: Callable[[], go.Figure]) -> go.Figure:
    """The figure ``build()`` returns, built once per ``key`` and shared by every session.

    For the heaviest figures only (an animation with one heat map per run and snapshot), where
    building the Plotly object costs more than the rest of a rerun. ``key`` must name
    everything the figure depends on (a frozen config plus the builder's name); the figure is
    never mutated afterwards. The builder itself stays a pure function in ``dashboard/figures``.
    """
    return _figure_cache(key, build)
