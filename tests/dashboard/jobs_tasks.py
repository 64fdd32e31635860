"""Module-level functions for the worker-pool tests (workers import them by name)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable


def count(n: int, delay: float, progress: Callable[[float], None]) -> int:
    """Sum 0..n-1, slowly, reporting progress after each term."""
    total = 0
    for i in range(n):
        time.sleep(delay)
        total += i
        progress((i + 1) / n)
    return total


def pid(progress: Callable[[float], None]) -> int:
    """The worker's process id."""
    return os.getpid()


def fail(message: str, progress: Callable[[float], None]) -> None:
    raise ValueError(message)


def swallow_everything(seconds: float, progress: Callable[[float], None]) -> str:
    """A job that catches every Exception around its progress calls (cancel must still work)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            progress(0.5)
        except Exception:
            pass
        time.sleep(0.01)
    return "finished"


def silent_sleep(seconds: float) -> str:
    """A job that never reports progress (it can only be stopped by killing its worker)."""
    time.sleep(seconds)
    return "woke up"


def burn(seconds: float, progress: Callable[[float], None]) -> int:
    """Spin the CPU for ``seconds`` of wall time."""
    end, i = time.monotonic() + seconds, 0
    while time.monotonic() < end:
        i += 1
    return i


def hoard(megabytes: int, seconds: float, progress: Callable[[float], None]) -> int:
    """Hold ``megabytes`` of touched memory for ``seconds``."""
    block = bytearray(megabytes * 2**20)
    for i in range(0, len(block), 4096):
        block[i] = 1
    time.sleep(seconds)
    return len(block)


def die(progress: Callable[[float], None]) -> None:
    """The worker is killed mid-job (as by the system's out-of-memory killer)."""
    progress(0.1)
    os.kill(os.getpid(), signal.SIGKILL)


def nap(seconds: float, progress: Callable[[float], None]) -> str:
    """Report progress once, then sleep without reporting (a cancel waits for the kill)."""
    progress(0.0)
    time.sleep(seconds)
    return "rested"
