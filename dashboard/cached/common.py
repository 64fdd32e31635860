"""Caching pieces every lab shares: a progress bar a cached call can drive, the worker pool
that computes heavy results off the script thread, freezing helpers for cache keys, and a cache
for built figures.

Each lab's own caching lives beside this module, in ``dashboard/cached/<lab>.py``. Cache keys are
frozen dataclasses and primitives only, and every cache has ``max_entries`` so one visitor cannot
fill the server's memory.
"""

from __future__ import annotations

import contextvars
import os
from collections.abc import Callable, Hashable, Mapping
from typing import Any

import plotly.graph_objects as go
import streamlit as st
from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from dashboard.i18n import language
from dashboard.jobs import WorkerPool

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

    def queued(self, ahead: int) -> None:
        """Say that the job waits for a free worker, behind ``ahead`` others."""
        text = ("Queued: the server is busy with other visitors' computations; yours starts "
                + ("next…" if ahead == 0 else f"after {ahead} more…"))
        self._context.run(self._slot.progress, 0.0, text=text)

    def clear(self) -> None:
        self._slot.empty()


WORKERS_ENV = "DIFFGEO_WORKERS"
"""Environment variable: number of worker processes for heavy computations (``0``: compute on
the script thread, as the page tests do so that they can watch the calls). Default: one per
core."""


def worker_count() -> int:
    """Worker processes the pool should have (see :data:`WORKERS_ENV`)."""
    raw = os.environ.get(WORKERS_ENV, "").strip()
    if raw:
        try:
            return max(0, int(raw))
        except ValueError:
            pass
    return max(1, os.cpu_count() or 1)


@st.cache_resource(show_spinner=False)
def _pool(workers: int) -> WorkerPool:
    return WorkerPool(workers)


def worker_pool() -> WorkerPool | None:
    """The server's pool of worker processes (shared by every session), or None when heavy
    work runs on the script thread."""
    workers = worker_count()
    return _pool(workers) if workers else None


def _session_alive(session_id: str) -> Callable[[], bool]:
    def alive() -> bool:
        return not Runtime.exists() or Runtime.instance().is_active_session(session_id)
    return alive


def in_worker(fn: Callable[..., Any], *args: Any,
              progress: Callable[[float], None] | None = None, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs, progress=...)`` computed in the server's worker pool.

    The script thread waits, moving ``progress`` (a :class:`ProgressBar` also shows the queue
    position), and Streamlit can stop it there: when the visitor changes a setting or closes the
    tab, the session stops waiting and the job is cancelled unless another session waits for
    the same computation (jobs are shared by the pickled call). The session owns at most one
    job. ``fn`` is a module-level function with a ``progress`` keyword argument; arguments and
    result pickle. Without a pool (``DIFFGEO_WORKERS=0``) it is called here, directly.

    Raises whatever ``fn`` raised, or :class:`dashboard.jobs.JobLimitExceeded`,
    :class:`dashboard.jobs.WorkerLost`, :class:`dashboard.jobs.JobCancelled`.
    """
    pool = worker_pool()
    if pool is None:
        return fn(*args, progress=progress, **kwargs)
    ctx = get_script_run_ctx()
    owner = ctx.session_id if ctx is not None else f"thread-{os.getpid()}-{id(kwargs)}"
    job = pool.submit(fn, args, kwargs, owner=owner, alive=_session_alive(owner))
    try:
        while not job.wait(0.2):
            # each call is also where Streamlit stops a script whose visitor moved on
            if isinstance(progress, ProgressBar) and job.state == "queued":
                progress.queued(pool.ahead(job))
            elif progress is not None:
                progress(job.progress)
        return job.result()
    finally:
        pool.detach(owner, job)


@st.cache_resource(max_entries=16, show_spinner=False)
def _figure_cache(key: Hashable, _build: Callable[[], go.Figure]) -> go.Figure:
    return _build()


def cached_figure(key: Hashable, build: Callable[[], go.Figure]) -> go.Figure:
    """The figure ``build()`` returns, built once per ``key`` and shared by every session.

    For the heaviest figures only (an animation with one heat map per run and snapshot), where
    building the Plotly object costs more than the rest of a rerun. ``key`` must name
    everything the figure depends on (a frozen config plus the builder's name); the figure is
    never mutated afterwards. The builder itself stays a pure function in ``dashboard/figures``.
    The language of the texts is added to the key here, so callers need not name it.
    """
    return _figure_cache((language(), key), build)
