"""Shared widgets and page helpers: error boundaries and click-to-choose points."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

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
        (st.warning if warning else st.error)(f"Could not compute {what}: {exc}")
    except Exception as exc:  # noqa: BLE001 - the page must survive anything
        log.exception("unexpected error while computing %s", what)
        st.error(f"Could not compute {what} ({type(exc).__name__}). Try other settings.")


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
        raise ValueError(f"hidden widths {text!r} must be whole numbers separated by commas, "
                         "e.g. '16, 16'") from None
    if len(widths) > MAX_HIDDEN_LAYERS:
        raise ValueError(f"{len(widths)} hidden layers requested; use at most "
                         f"{MAX_HIDDEN_LAYERS}")
    bad = [w for w in widths if not 1 <= w <= MAX_HIDDEN_WIDTH]
    if bad:
        raise ValueError(f"hidden width {bad[0]} is out of range; use 1..{MAX_HIDDEN_WIDTH}")
    return widths
