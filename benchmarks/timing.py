"""Timing helpers shared by the benchmark scripts (run as ``python benchmarks/<lab>.py``, which
puts this folder on ``sys.path``)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


def timed(fn: Callable[[], Any], repeats: int, warmup: int = 1) -> tuple[float, Any]:
    """Median wall time in seconds of ``fn`` over ``repeats`` runs (after ``warmup`` runs that
    are not timed: first-call imports, caches) and its last result."""
    out = None
    for _ in range(warmup):
        out = fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def paired(ours: Callable[[], Any], reference: Callable[[], Any], repeats: int
           ) -> tuple[float, Any, float, Any]:
    """Median times of two routes run alternately, so that load from other processes on a
    shared machine falls on both alike (one untimed warm-up each); returns
    ``(t_ours, out_ours, t_reference, out_reference)``."""
    outs = [ours(), reference()]
    times: list[list[float]] = [[], []]
    for _ in range(repeats):
        for which, fn in enumerate((ours, reference)):
            start = time.perf_counter()
            outs[which] = fn()
            times[which].append(time.perf_counter() - start)
    return statistics.median(times[0]), outs[0], statistics.median(times[1]), outs[1]
