"""Run a function in a separate process with a CPU-time limit and a memory limit.

Symbolic work on a user's formula can run for minutes and take gigabytes however short the
formula is (see :mod:`geomcore.expr`). :func:`run_bounded` runs such work in a fresh worker
process and kills it past either limit, so that the calling process (a web server serving other
visitors, say) is never stalled or swollen by it.

* The worker is a fresh interpreter (``python -m geomcore._bounded``, the same executable and
  ``sys.path``), never a ``fork`` of the caller, so it is safe to call from any thread of a
  process that has torch, OpenMP or a web server running (forking a multi-threaded process can
  deadlock). It is started directly rather than by ``multiprocessing``'s ``spawn``, which would
  re-run the caller's main script in the worker: a script without an
  ``if __name__ == "__main__"`` guard would then fail, and under Streamlit every worker would
  import Streamlit first.
* Memory: the worker caps its own address space with ``resource.setrlimit(RLIMIT_AS)`` once its
  imports are done, at what it then uses plus ``memory_bytes``; past it, allocations fail with
  ``MemoryError`` (reported as such). Where ``RLIMIT_AS`` is not available, the caller polls the
  worker's resident size in ``/proc`` and kills it past ``memory_bytes``.
* Time: ``timeout_s`` is the worker's CPU time from the moment it is ready (its imports done),
  enforced by ``resource.setrlimit(RLIMIT_CPU)``: the verdict "too complex" then does not depend
  on how busy the machine is, so a caller may cache it. A wall-clock limit of
  :data:`WALL_FACTOR` ``× timeout_s + 5 s`` guards against a worker starved by a busy machine;
  past it the worker is killed and :class:`TimeoutError` (try again later) is raised instead.
  Starting the interpreter has its own allowance, :data:`STARTUP_TIMEOUT_S`.
* An exception raised by the function comes back as the same exception (type and message),
  with the worker's traceback attached as a note.
"""

from __future__ import annotations

import errno
import math
import os
import pickle
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any, Literal

__all__ = ["LimitExceeded", "LimitKind", "STARTUP_TIMEOUT_S", "run_bounded"]

STARTUP_TIMEOUT_S = 60.0
"""Longest wait for the worker interpreter to start and import what it needs."""

_POLL_S = 0.05


LimitKind = Literal["time", "memory", "recursion"]
"""The limits :func:`run_bounded` enforces (recursion depth included)."""


class LimitExceeded(Exception):
    """The worker ran past a limit and was stopped.

    Attributes
    ----------
    kind : {"time", "memory", "recursion"}
        Which limit was exceeded.
    """

    def __init__(self, kind: LimitKind, detail: str = ""):
        super().__init__(f"{kind} limit exceeded" + (f": {detail}" if detail else ""))
        self.kind = kind


def _address_space() -> int | None:
    """This process's virtual memory size in bytes (Linux), or None."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _resident(pid: int) -> int | None:
    """Resident memory of process ``pid`` in bytes (Linux), or None."""
    try:
        with open(f"/proc/{pid}/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _limit_memory(memory_bytes: int) -> bool:
    """Cap this process's address space at its present size plus ``memory_bytes``."""
    try:
        import resource
    except ImportError:  # not on this platform
        return False
    base = _address_space()
    if base is None:
        return False
    limit = base + int(memory_bytes)
    try:
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ValueError, OSError):
        return False
    return True


WALL_FACTOR = 3.0
"""Wall-clock allowance, in multiples of the CPU-time limit (see the module docstring)."""


def _limit_cpu(seconds: float) -> bool:
    """Let this process compute for ``seconds`` more of CPU time; past it the kernel sends
    SIGXCPU (which ends it), and SIGKILL one second later."""
    try:
        import resource
    except ImportError:
        return False
    used = resource.getrusage(resource.RUSAGE_SELF)
    soft = math.ceil(used.ru_utime + used.ru_stime + seconds)
    try:
        _, hard = resource.getrlimit(resource.RLIMIT_CPU)
        new_hard = soft + 1 if hard == resource.RLIM_INFINITY else min(soft + 1, hard)
        resource.setrlimit(resource.RLIMIT_CPU, (min(soft, new_hard), new_hard))
    except (ValueError, OSError):
        return False
    return True


def _main() -> None:
    """Worker entry point (``python -m geomcore._bounded``).

    Reads the pickled ``(fn, args, memory_bytes)`` from stdin, limits its memory, writes one
    line ``ready <0|1>`` (1 when the address-space limit is set), runs ``fn(*args)`` and writes
    the pickled outcome.
    """
    out = sys.stdout.buffer
    fn, args, memory_bytes, cpu_seconds = pickle.load(sys.stdin.buffer)  # imports fn's module
    limited = _limit_memory(memory_bytes)
    _limit_cpu(cpu_seconds)
    out.write(b"ready 1\n" if limited else b"ready 0\n")
    out.flush()
    outcome: tuple[str, Any]
    try:
        outcome = ("ok", fn(*args))
    except MemoryError:
        outcome = ("limit", "memory")
    except RecursionError:
        outcome = ("limit", "recursion")
    except OSError as exc:
        # Under the address-space limit an allocation outside Python's allocator (the import
        # system reading a package, a thread stack) fails with ENOMEM as an OSError.
        outcome = (("limit", "memory") if limited and exc.errno == errno.ENOMEM
                   else ("error", (exc, traceback.format_exc())))
    except SystemError as exc:
        # C code whose allocation failed under the address-space limit can end in a
        # SystemError ("returned NULL without setting an exception") instead of MemoryError
        outcome = (("limit", "memory") if limited
                   else ("error", (exc, traceback.format_exc())))
    except Exception as exc:  # sent back to be re-raised in the caller
        outcome = ("error", (exc, traceback.format_exc()))
    # (outside the except blocks: their tracebacks, and what they hold, are freed by now)
    try:
        payload = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
    except MemoryError:
        payload = pickle.dumps(("limit", "memory"))
    except Exception as exc:  # an exception or result that does not pickle
        payload = pickle.dumps(("error", (RuntimeError(f"{type(exc).__name__}: {exc}"), "")))
    out.write(payload)
    out.flush()


def run_bounded(
    fn: Callable[..., Any],
    args: tuple = (),
    *,
    timeout_s: float,
    memory_bytes: int,
) -> Any:
    """``fn(*args)`` computed in a fresh worker process, within a time and a memory limit.

    Parameters
    ----------
    fn
        A module-level function (it is imported by name in the worker), whose arguments and
        result pickle.
    args
        Its positional arguments.
    timeout_s
        CPU-time limit in seconds for ``fn`` in the worker (interpreter start-up excluded, see
        :data:`STARTUP_TIMEOUT_S`); the wall-clock limit is ``WALL_FACTOR * timeout_s + 5``.
    memory_bytes
        How much memory the worker may allocate beyond its start-up footprint.

    Returns
    -------
    The value ``fn`` returned.

    Raises
    ------
    LimitExceeded
        ``fn`` ran past the time or memory limit (or recursed too deeply); the worker is killed.
    Exception
        Whatever ``fn`` raised, as the same type with the same message.
    TimeoutError
        The worker did not start within :data:`STARTUP_TIMEOUT_S`, or did not finish within
        the wall-clock limit though under its CPU-time limit (a busy machine: try again).
    """
    if not (isinstance(timeout_s, (int, float)) and 0 < timeout_s < float("inf")):
        raise ValueError(f"timeout_s must be a positive number of seconds, got {timeout_s!r}")
    if not (isinstance(memory_bytes, int) and memory_bytes > 0):
        raise ValueError(f"memory_bytes must be a positive integer, got {memory_bytes!r}")
    request = pickle.dumps((fn, args, memory_bytes, float(timeout_s)),
                           protocol=pickle.HIGHEST_PROTOCOL)
    # The worker imports what this process imports, from the same places.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(
            [sys.executable, "-m", "geomcore._bounded"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=errors, env=env, close_fds=True,
        )
        answers: queue.Queue[tuple[str, bytes]] = queue.Queue()
        reader = threading.Thread(target=_read, args=(proc, request, answers), daemon=True,
                                  name="geomcore-bounded-reader")
        reader.start()
        try:
            return _await(proc, answers, timeout_s, memory_bytes, errors)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)
            reader.join(timeout=10)


def _read(proc: subprocess.Popen, request: bytes, answers: queue.Queue) -> None:
    """Send the request, then pass on the worker's ready line and its answer."""
    try:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(request)
        proc.stdin.close()
        answers.put(("ready", proc.stdout.readline()))
        answers.put(("answer", proc.stdout.read()))
    except (OSError, ValueError):  # the worker was killed, or died, meanwhile
        answers.put(("answer", b""))


def _await(proc: subprocess.Popen, answers: queue.Queue, timeout_s: float, memory_bytes: int,
           errors: Any) -> Any:
    try:
        _, line = answers.get(timeout=STARTUP_TIMEOUT_S)
    except queue.Empty:
        raise TimeoutError(
            f"the worker process did not start within {STARTUP_TIMEOUT_S:g} s (is the machine "
            "overloaded?); try again"
        ) from None
    if not line.startswith(b"ready"):
        proc.wait(timeout=10)
        errors.seek(0)
        tail = errors.read()[-2000:].decode(errors="replace")
        raise RuntimeError(f"the worker process failed to start (exit code {proc.returncode}):"
                           f"\n{tail}")
    rlimited = line.strip().endswith(b"1")
    wall = WALL_FACTOR * timeout_s + 5.0
    deadline = time.monotonic() + wall
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(
                f"the machine is too busy: the worker had no answer after {wall:g} s of "
                f"wall-clock time, though still under its {timeout_s:g} s of computing; "
                "try again in a moment")
        try:
            _, payload = answers.get(timeout=remaining if rlimited else min(_POLL_S, remaining))
            break
        except queue.Empty:
            pass
        if not rlimited:  # no address-space limit in the worker: watch its resident size
            rss = _resident(proc.pid)
            if rss is not None and rss > memory_bytes:
                raise LimitExceeded("memory", f"{rss / 2**30:.2f} GiB resident")
    if not payload:
        proc.wait(timeout=10)
        if proc.returncode in (-signal.SIGXCPU, -signal.SIGKILL):  # the CPU-time limit
            raise LimitExceeded("time", f"{timeout_s:g} s")
        # the worker died without answering: under an address-space limit that is an
        # allocation that failed outside Python (or the system's OOM killer)
        raise LimitExceeded("memory", f"the worker ended with exit code {proc.returncode}")
    kind, value = pickle.loads(payload)  # our own worker's answer
    if kind == "ok":
        return value
    if kind == "limit":
        raise LimitExceeded(value)
    exc, trace = value
    if trace:
        exc.add_note("raised in the worker process:\n" + trace)
    raise exc


if __name__ == "__main__":
    _main()
