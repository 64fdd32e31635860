"""Shared widgets and page helpers: error boundaries, charts, click-to-choose points."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import plotly.graph_objects as go
import streamlit as st

from dashboard.figures.presenting import curves_csv, enlarge
from dashboard.figures.theme import PLOT_CONFIG
from dashboard.i18n import t
from dashboard.jobs import JobError

log = logging.getLogger("diffgeo.dashboard")


@contextmanager
def guarded(what: str, *, warning: bool = False) -> Iterator[None]:
    """Run a block; if it raises, show a plain message instead of a traceback and go on.

    ``ValueError`` (our input errors, formula errors, solver failures) and
    :class:`dashboard.jobs.JobError` (a worker's time or memory limit, a lost worker) carry a
    message meant for the reader and are shown as they are. Anything else is unexpected: it is
    logged on the server with its traceback and the page shows a short note.
    """
    try:
        yield
    except (ValueError, JobError) as exc:
        (st.warning if warning else st.error)(t("common.errors.could_not", what=what,
                                                 reason=str(exc)))
    except Exception as exc:  # noqa: BLE001 - the page must survive anything
        log.exception("unexpected error while computing %s", what)
        st.error(t("common.errors.unexpected", what=what, kind=type(exc).__name__))


PROJECTOR_KEY = "projector"
"""The frame's projector toggle (``?projector=1``)."""


def projector_on() -> bool:
    """Whether the visitor switched projector mode on."""
    return bool(st.session_state.get(PROJECTOR_KEY, False))


def chart(fig: go.Figure, *, csv: str | None = None,
          export: Callable[[go.Figure], str] = curves_csv, **kwargs: Any) -> Any:
    """Draw a figure as every page does: the app's Plotly config (PNG export at twice the
    size), enlarged in projector mode, and with ``csv`` (a file name without extension) a
    "Download CSV" button beneath, whose text ``export(fig)`` writes when clicked (by default
    the figure's curves, :func:`curves_csv`). ``kwargs`` go to ``st.plotly_chart``."""
    shown = enlarge(fig) if projector_on() else fig
    result = st.plotly_chart(shown, config=PLOT_CONFIG, **kwargs)
    if csv is not None:
        st.download_button(t("common.download_csv"), data=lambda: export(fig),
                           file_name=f"{csv}.csv", mime="text/csv",
                           key=f"{kwargs.get('key') or csv}__csv", type="tertiary",
                           icon=":material/download:", on_click="ignore")
    return result


def clamp(value: float, lo: float, hi: float) -> float:
    return float(min(max(value, lo), hi))


def apply_click(chart_key: str, targets: tuple[str, str],
                ranges: tuple[tuple[float, float], tuple[float, float]]) -> bool:
    """If the chart ``chart_key`` reports a newly clicked point, copy its (x, y) into the
    session-state keys ``targets`` (the sliders that are the keyboard fallback).

    Must run before those sliders are created. Returns whether a point was applied.
    """
    state = st.session_state.get(chart_key)
    if not state:
        return False
    try:
        points = state["selection"]["points"]
    except (KeyError, TypeError):
        return False
    if not points:
        return False
    pt = points[-1]
    if "x" not in pt or "y" not in pt:
        return False
    stamp = (round(float(pt["x"]), 9), round(float(pt["y"]), 9))
    seen_key = f"{chart_key}__applied"
    if st.session_state.get(seen_key) == stamp:
        return False
    st.session_state[seen_key] = stamp
    st.session_state[targets[0]] = clamp(stamp[0], *ranges[0])
    st.session_state[targets[1]] = clamp(stamp[1], *ranges[1])
    return True


MAX_HIDDEN_LAYERS = 3
MAX_HIDDEN_WIDTH = 64


def parse_hidden(text: str) -> tuple[int, ...]:
    """Hidden widths from text such as ``"16, 16"`` (empty: softmax regression).

    Raises ``ValueError`` saying what to type when the text is not a list of at most
    :data:`MAX_HIDDEN_LAYERS` whole numbers in ``1..MAX_HIDDEN_WIDTH``.
    """
    parts = [p for p in text.replace(";", ",").replace(" ", ",").split(",") if p]
    try:
        widths = tuple(int(p) for p in parts)
    except ValueError:
        raise ValueError(t("common.errors.hidden_not_numbers", text=repr(text))) from None
    if len(widths) > MAX_HIDDEN_LAYERS:
        raise ValueError(t("common.errors.hidden_too_many", n=len(widths),
                           max=MAX_HIDDEN_LAYERS))
    bad = [w for w in widths if not 1 <= w <= MAX_HIDDEN_WIDTH]
    if bad:
        raise ValueError(t("common.errors.hidden_out_of_range", width=bad[0],
                           max=MAX_HIDDEN_WIDTH))
    return widths
