"""A bounded pool of worker processes for the labs' heavy computations.

A Streamlit server runs every visitor's script in a thread of one process: a training run on the
script thread holds the GIL for seconds, and a run nobody waits for any more cannot be stopped.
:class:`WorkerPool` moves such work into a few long-lived worker processes:

* **Bounded.** At most ``workers`` jobs compute at once (one per worker); the rest wait in a
  first-in, first-out queue and can say how many jobs are ahead of them. Workers run at a lower
  scheduling priority (``nice``) and with one torch/BLAS thread each, so that the server's
  script threads (every visitor's slider changes) keep the CPU they need.
* **Spawned, not forked.** Workers are started with ``multiprocessing``'s ``spawn`` start method:
  fresh interpreters, safe to start from any thread of a process that has torch, OpenMP and a web
  server running (forking such a process can deadlock).
* **Shared.** Jobs are identified by a key (by default a hash of the pickled call): a second
  visitor asking for the same computation while it runs joins the running job, and a job that
  finished a moment ago is answered at once (the lasting cache of results is the caller's, e.g.
  ``st.cache_data``).
* **Cancelled when nobody waits.** Each job has owners (the sessions waiting for it). A session
  owns at most one job: submitting another detaches it from the first. A job left without owners
  for :attr:`WorkerPool.grace_s` (long enough for a rerun to ask for the same job again) is
  dropped from the queue or, if running, cancelled: the worker's progress callback raises at its
  next call and, if the job does not call it within a second, the worker is killed and replaced.
  An owner can also be dropped because its ``alive()`` check fails (a closed browser tab).
* **Limited and fault-tolerant.** A job past its CPU-time or memory limit is killed
  (:class:`JobLimitExceeded`); a worker that dies mid-job (killed, out of memory) fails its job
  with :class:`WorkerLost` and is replaced. Neither affects other jobs.

The module is independent of Streamlit; ``dashboard/cached/common.py`` connects it to a page
(sessions as owners, the queue position and progress in a progress bar).

Examples
--------
>>> pool = WorkerPool(workers=1)                                     # doctest: +SKIP
>>> job = pool.submit(math.factorial, (20,), owner="me", progress_kw=None)  # doctest: +SKIP
>>> job.wait(10) and job.result()                                    # doctest: +SKIP
2432902008176640000
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import multiprocessing as mp
import os
import pickle
import sys
import threading
import time
import traceback
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "Job",
    "JobCancelled",
    "JobError",
    "JobLimitExceeded",
    "JobState",
    "WorkerLost",
    "WorkerPool",
]

JobState = Literal["queued", "running", "done", "failed", "cancelled"]

_log = logging.getLogger("diffgeo.jobs")
_NOBODY_WAITS = ("it was cancelled because nobody waited for it any more (the settings changed "
                 "or the page was closed); run it again")
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


class JobError(RuntimeError):
    """The pool could not deliver a job's result; the message is written for the visitor."""


class JobCancelled(JobError):
    """The job was cancelled: every session waiting for it left or asked for something else."""


class JobLimitExceeded(JobError):
    """The job ran past its CPU-time or memory limit and its worker was stopped.

    Attributes
    ----------
    kind : {"time", "memory"}
    """

    def __init__(self, kind: Literal["time", "memory"], detail: str) -> None:
        super().__init__(detail)
        self.kind = kind


class WorkerLost(JobError):
    """The worker process computing the job ended without answering (killed, out of memory)."""


class _Cancel(BaseException):
    """Raised inside a worker by the progress callback of a cancelled job (a BaseException, so
    that the job's own ``except Exception`` clauses do not swallow it)."""


# -- the worker process ---------------------------------------------------------------------------
def _worker_main(conn: Connection, nice: int) -> None:
    """Entry point of a worker: run jobs sent over ``conn`` until told to stop.

    Messages in: ``("run", job_id, payload, progress_kw)``, ``("cancel", job_id)``, ``("stop",)``.
    Messages out: ``("progress", job_id, fraction)``, then ``("done", job_id, result_bytes)``,
    ``("failed", job_id, error_bytes)`` or ``("cancelled", job_id, b"")``.
    """
    if nice:
        try:
            os.nice(nice)
        except OSError:  # not permitted here: run at normal priority
            pass
    # one thread each: the pool's size, not the libraries' threading, decides the parallelism
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = "1"
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):  # the server went away
            return
        if msg[0] == "stop":
            return
        if msg[0] != "run":  # a cancel for a job already finished
            continue
        _, job_id, payload, progress_kw = msg
        conn.send(_run_job(conn, job_id, payload, progress_kw))


def _run_job(conn: Connection, job_id: int, payload: bytes, progress_kw: str | None
             ) -> tuple[str, int, bytes]:
    last = [-1.0, 0.0]  # last fraction sent, and when

    def progress(fraction: float) -> None:
        while conn.poll():  # a cancel for this job? (others are stale: ignore them)
            msg = conn.recv()
            if msg[0] == "cancel" and msg[1] == job_id:
                raise _Cancel
        now = time.monotonic()
        fraction = float(fraction)
        if fraction - last[0] >= 0.005 or now - last[1] >= 0.25:  # a few messages a second
            last[0], last[1] = fraction, now
            conn.send(("progress", job_id, fraction))

    try:
        fn, args, kwargs = pickle.loads(payload)
        _single_thread_torch()
        if progress_kw is not None:
            kwargs = {**kwargs, progress_kw: progress}
        result = fn(*args, **kwargs)
        return ("done", job_id, pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
    except _Cancel:
        return ("cancelled", job_id, b"")
    except Exception as exc:  # sent back to be re-raised in the server, message intact
        trace = traceback.format_exc()
        try:
            return ("failed", job_id, pickle.dumps((exc, trace)))
        except Exception:  # an exception that does not pickle
            return ("failed", job_id,
                    pickle.dumps((RuntimeError(f"{type(exc).__name__}: {exc}"), trace)))


def _single_thread_torch() -> None:
    torch = sys.modules.get("torch")
    if torch is not None and torch.get_num_threads() != 1:
        torch.set_num_threads(1)


# -- the server side ------------------------------------------------------------------------------
@dataclass(eq=False)
class Job:
    """One computation in a :class:`WorkerPool` (see :meth:`WorkerPool.submit`).

    Read ``state``, ``progress`` and :meth:`WorkerPool.ahead`; wait with :meth:`wait`; collect
    with :meth:`result`.
    """

    id: int
    key: Hashable
    payload: bytes = field(repr=False)
    progress_kw: str | None
    cpu_limit_s: float
    memory_bytes: int
    state: JobState = "queued"
    progress: float = 0.0
    owners: dict[str, Callable[[], bool]] = field(default_factory=dict, repr=False)
    orphaned_at: float | None = None
    finished_at: float | None = None
    _result: bytes | None = field(default=None, repr=False)
    _error: BaseException | None = field(default=None, repr=False)
    _done: threading.Event = field(default_factory=threading.Event, repr=False)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job has finished (in any way) or ``timeout`` seconds have passed;
        return whether it has finished."""
        return self._done.wait(timeout)

    @property
    def finished(self) -> bool:
        return self._done.is_set()

    def result(self) -> Any:
        """The value the function returned (a fresh copy each call).

        Raises
        ------
        Exception
            Whatever the function raised (same type and message, the worker's traceback as a
            note); :class:`JobCancelled`, :class:`JobLimitExceeded` or :class:`WorkerLost`.
        RuntimeError
            The job has not finished yet.
        """
        if not self._done.is_set():
            raise RuntimeError("the job has not finished yet; wait() for it first")
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return pickle.loads(self._result)  # our own worker's answer

    def _cancel(self, reason: str = "") -> None:
        self._finish("cancelled", error=JobCancelled(reason or _NOBODY_WAITS))

    def _finish(self, state: JobState, *, result: bytes | None = None,
                error: BaseException | None = None) -> None:
        self.state, self._result, self._error = state, result, error
        self.payload = b""
        self.finished_at = time.monotonic()
        self._done.set()


@dataclass(eq=False)
class _Worker:
    process: Any  # multiprocessing's SpawnProcess
    conn: Connection
    job: Job | None = None
    started_cpu: float = 0.0
    cancel_sent_at: float | None = None

    def cpu_seconds(self) -> float:
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / _TICKS
        except (OSError, IndexError, ValueError):
            return 0.0

    def resident_bytes(self) -> int:
        try:
            return int(Path(f"/proc/{self.process.pid}/statm").read_text().split()[1]) * _PAGE
        except (OSError, IndexError, ValueError):
            return 0


class WorkerPool:
    """A bounded pool of spawned worker processes with a shared, cancellable job queue.

    Parameters
    ----------
    workers
        Number of worker processes (jobs computing at once), at least 1. Workers start on
        demand and stay for later jobs.
    cpu_limit_s
        Default CPU-time limit of a job, in seconds of the worker's CPU (load-independent).
    memory_bytes
        Default limit on a worker's resident memory while it computes a job.
    grace_s
        How long a job left without owners waits for one before it is cancelled.
    keep_s, keep_jobs
        A finished job answers a new submission of its key for ``keep_s`` seconds; at most
        ``keep_jobs`` finished jobs are kept (their results are in memory).
    nice
        Scheduling-priority increment of the workers (0 keeps the server's).
    poll_s
        How often the pool checks owners and limits.
    """

    def __init__(self, workers: int, *, cpu_limit_s: float = 120.0,
                 memory_bytes: int = 3 * 2**30, grace_s: float = 2.0, keep_s: float = 120.0,
                 keep_jobs: int = 16, nice: int = 10, poll_s: float = 0.1) -> None:
        if not (isinstance(workers, int) and workers >= 1):
            raise ValueError(f"workers must be a positive integer, got {workers!r}")
        self.workers = workers
        self.cpu_limit_s = float(cpu_limit_s)
        self.memory_bytes = int(memory_bytes)
        self.grace_s = float(grace_s)
        self.keep_s = float(keep_s)
        self.keep_jobs = int(keep_jobs)
        self.nice = int(nice)
        self.poll_s = float(poll_s)
        self._ctx = mp.get_context("spawn")
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._queue: deque[Job] = deque()
        self._live: dict[Hashable, Job] = {}  # queued or running, by key
        self._kept: OrderedDict[Hashable, Job] = OrderedDict()  # finished, by key
        self._owned: dict[str, Job] = {}  # each owner's one job
        self._workers: list[_Worker] = []
        self._closed = False
        self._wake_r, self._wake_w = self._ctx.Pipe(duplex=False)
        self._thread = threading.Thread(target=self._loop, name="diffgeo-worker-pool",
                                        daemon=True)
        self._thread.start()

    # -- public ----------------------------------------------------------------------------------
    def submit(self, fn: Callable[..., Any], args: tuple = (),
               kwargs: Mapping[str, Any] | None = None, *, owner: str,
               alive: Callable[[], bool] | None = None, key: Hashable | None = None,
               progress_kw: str | None = "progress", cpu_limit_s: float | None = None,
               memory_bytes: int | None = None) -> Job:
        """Ask for ``fn(*args, **kwargs)``, computed in a worker, on behalf of ``owner``.

        Parameters
        ----------
        fn
            A module-level function (workers import it by name); arguments and result must
            pickle.
        owner
            Who waits for the result (a session id). An owner has at most one job: submitting
            another detaches it from the previous one.
        alive
            Called from time to time while the job is pending; ``False`` detaches the owner
            (a closed tab).
        key
            Identifies the computation; jobs with equal keys are shared. Default: a hash of
            the pickled call.
        progress_kw
            Name of ``fn``'s progress-callback argument (``fraction ∈ [0, 1]``), or None if it
            has none (such a job can only be cancelled by killing its worker).
        cpu_limit_s, memory_bytes
            This job's limits (default: the pool's).
        """
        payload = pickle.dumps((fn, tuple(args), dict(kwargs or {})),
                               protocol=pickle.HIGHEST_PROTOCOL)
        if key is None:
            key = (getattr(fn, "__module__", ""), getattr(fn, "__qualname__", repr(fn)),
                   hashlib.sha256(payload).hexdigest())
        with self._lock:
            if self._closed:
                raise RuntimeError("the worker pool is shut down")
            job = self._live.get(key)
            if job is None:
                kept = self._kept.get(key)
                if kept is not None and kept.state == "done":
                    self._kept.move_to_end(key)
                    self._detach(owner)
                    return kept
                job = Job(next(self._ids), key, payload, progress_kw,
                          self.cpu_limit_s if cpu_limit_s is None else float(cpu_limit_s),
                          self.memory_bytes if memory_bytes is None else int(memory_bytes))
                self._live[key] = job
                self._queue.append(job)
            if self._owned.get(owner) is not job:
                self._detach(owner)
            job.owners[owner] = alive or _always
            job.orphaned_at = None
            self._owned[owner] = job
        self._wake()
        return job

    def detach(self, owner: str, job: Job | None = None) -> None:
        """``owner`` no longer waits for ``job`` (default: for its job, whichever it is)."""
        with self._lock:
            if job is None or self._owned.get(owner) is job:
                self._detach(owner)
        self._wake()

    def ahead(self, job: Job) -> int:
        """How many queued jobs will start before ``job`` (0 once it runs)."""
        with self._lock:
            if job.state != "queued":
                return 0
            for i, queued in enumerate(self._queue):
                if queued is job:
                    return i
            return 0

    def stats(self) -> dict[str, int]:
        """Counts of queued and running jobs, workers and owners."""
        with self._lock:
            return {"queued": len(self._queue),
                    "running": sum(w.job is not None for w in self._workers),
                    "workers": len(self._workers), "owners": len(self._owned)}

    def worker_pids(self) -> list[int]:
        with self._lock:
            return [w.process.pid for w in self._workers if w.process.pid is not None]

    def shutdown(self) -> None:
        """Cancel every job and stop the workers."""
        with self._lock:
            self._closed = True
            for job in list(self._queue):
                job._cancel("the server is shutting down")
            self._queue.clear()
            for worker in self._workers:
                if worker.job is not None:
                    worker.job._cancel("the server is shutting down")
                worker.process.kill()
            self._workers.clear()
            self._live.clear()
        self._wake()
        self._thread.join(timeout=5)
        for worker_process in self._ctx.active_children():
            worker_process.join(timeout=1)

    # -- the dispatcher thread -------------------------------------------------------------------
    def _wake(self) -> None:
        try:
            self._wake_w.send_bytes(b"")
        except OSError:
            pass

    def _unlist(self, job: Job) -> None:
        """Stop offering ``job`` to new submissions of its key (it is finishing or finished; a
        new submission then starts a new job)."""
        if self._live.get(job.key) is job:
            del self._live[job.key]

    def _detach(self, owner: str) -> None:
        job = self._owned.pop(owner, None)
        if job is not None and job.owners.pop(owner, None) is not None and not job.owners:
            job.orphaned_at = time.monotonic()

    def _loop(self) -> None:
        last_owner_check = 0.0
        while True:
            with self._lock:
                if self._closed:
                    return
                waitables: list[Any] = [self._wake_r]
                for worker in self._workers:
                    waitables += [worker.conn, worker.process.sentinel]
            ready = wait(waitables, timeout=self.poll_s)
            with self._lock:
                if self._closed:
                    return
                if self._wake_r in ready:
                    while self._wake_r.poll():
                        self._wake_r.recv_bytes()
                for worker in list(self._workers):
                    if worker.conn in ready:
                        self._receive(worker)
                    if worker.process.sentinel in ready or not worker.process.is_alive():
                        self._lost(worker)
                now = time.monotonic()
                if now - last_owner_check >= 0.5:
                    last_owner_check = now
                    self._check_owners()
                self._check_orphans(now)
                self._check_limits()
                self._forget_old(now)
                self._dispatch()

    def _receive(self, worker: _Worker) -> None:
        try:
            while worker.conn.poll():
                kind, job_id, value = worker.conn.recv()
                job = worker.job
                if job is None or job.id != job_id:
                    continue  # a stale message from a job cancelled meanwhile
                if kind == "progress":
                    job.progress = min(max(float(value), 0.0), 1.0)
                    continue
                worker.job, worker.cancel_sent_at = None, None
                self._unlist(job)
                if kind == "done":
                    job.progress = 1.0
                    job._finish("done", result=value)
                    self._keep(job)
                elif kind == "failed":
                    exc, trace = pickle.loads(value)
                    if trace:
                        exc.add_note("raised in a worker process:\n" + trace)
                    job._finish("failed", error=exc)
                else:
                    job._cancel()
        except (EOFError, OSError):
            self._lost(worker)

    def _lost(self, worker: _Worker) -> None:
        if worker not in self._workers:
            return
        self._workers.remove(worker)
        if worker.process.is_alive():  # its pipe broke: it is of no more use
            worker.process.kill()
        worker.process.join(timeout=0.1)
        job = worker.job
        if job is not None and not job.finished:
            self._unlist(job)
            if worker.cancel_sent_at is not None:
                job._cancel()
            else:
                _log.warning("worker %s ended with exit code %s during job %s",
                             worker.process.pid, worker.process.exitcode, job.key)
                job._finish("failed", error=WorkerLost(
                    "the worker process computing this stopped without an answer (it was "
                    "killed, or ran out of memory); try again"))

    def _kill(self, worker: _Worker, job_error: BaseException | None) -> None:
        """Stop ``worker`` (and fail its job with ``job_error``, or cancel it)."""
        job = worker.job
        worker.process.kill()
        if job is not None and not job.finished:
            self._unlist(job)
            if job_error is None:
                job._cancel()
            else:
                job._finish("failed", error=job_error)
        worker.job = None
        self._lost(worker)

    def _check_owners(self) -> None:
        for job in list(self._live.values()):
            for owner, alive in list(job.owners.items()):
                try:
                    ok = bool(alive())
                except Exception:
                    ok = False
                if not ok:
                    self._detach(owner)

    def _check_orphans(self, now: float) -> None:
        for queued in list(self._queue):
            if queued.orphaned_at is not None and now - queued.orphaned_at >= self.grace_s:
                self._queue.remove(queued)
                self._unlist(queued)
                queued._cancel()
        for worker in list(self._workers):
            job = worker.job
            if job is None or job.orphaned_at is None or now - job.orphaned_at < self.grace_s:
                continue
            if worker.cancel_sent_at is None and job.progress_kw is not None:
                worker.cancel_sent_at = now
                self._unlist(job)  # a session asking for it from now on gets a new job
                try:
                    worker.conn.send(("cancel", job.id))
                except OSError:
                    self._lost(worker)
            elif worker.cancel_sent_at is None or now - worker.cancel_sent_at >= 1.0:
                self._kill(worker, None)

    def _check_limits(self) -> None:
        for worker in list(self._workers):
            job = worker.job
            if job is None:
                continue
            used = worker.cpu_seconds() - worker.started_cpu
            if used > job.cpu_limit_s:
                self._kill(worker, JobLimitExceeded(
                    "time", f"the computation ran past its limit of {job.cpu_limit_s:g} s of "
                    "computing and was stopped; choose smaller settings"))
                continue
            resident = worker.resident_bytes()
            if resident > job.memory_bytes:
                self._kill(worker, JobLimitExceeded(
                    "memory", f"the computation used more than {job.memory_bytes / 2**30:.1f} "
                    "GiB of memory and was stopped; choose smaller settings"))

    def _keep(self, job: Job) -> None:
        self._kept[job.key] = job
        self._kept.move_to_end(job.key)
        while len(self._kept) > self.keep_jobs:
            self._kept.popitem(last=False)

    def _forget_old(self, now: float) -> None:
        for key, job in list(self._kept.items()):
            if job.finished_at is not None and now - job.finished_at > self.keep_s:
                del self._kept[key]

    def _dispatch(self) -> None:
        while self._queue:
            idle = next((w for w in self._workers if w.job is None), None)
            if idle is None:
                if len(self._workers) >= self.workers:
                    return
                idle = self._spawn()
            job = self._queue.popleft()
            try:
                idle.conn.send(("run", job.id, job.payload, job.progress_kw))
            except OSError:
                self._queue.appendleft(job)
                self._lost(idle)
                continue
            job.state = "running"
            idle.job, idle.cancel_sent_at = job, None
            idle.started_cpu = idle.cpu_seconds()

    def _spawn(self) -> _Worker:
        ours, theirs = self._ctx.Pipe()
        process = self._ctx.Process(target=_worker_main, args=(theirs, self.nice), daemon=True,
                                    name="diffgeo-worker")
        with _main_hidden():
            process.start()
        theirs.close()
        worker = _Worker(process, ours)
        self._workers.append(worker)
        return worker


def _always() -> bool:
    return True


_MAIN_LOCK = threading.Lock()


@contextmanager
def _main_hidden() -> Iterator[None]:
    """Start a spawned process without making it run this process's main script.

    ``spawn`` re-imports the parent's ``__main__`` in the child (by path, or by module name
    under ``python -m``), so that functions defined there can be unpickled. Our workers only
    run module-level functions of importable modules, and re-running an arbitrary main script
    is harmful: one without an ``if __name__ == "__main__"`` guard would run again in every
    worker (the page script Streamlit's AppTest leaves as ``__main__`` fails there). With
    neither ``__file__`` nor ``__spec__`` the child imports nothing, as for an interactive
    session.
    """
    main = sys.modules.get("__main__")
    if main is None:
        yield
        return
    with _MAIN_LOCK:
        saved = {k: main.__dict__.pop(k) for k in ("__file__",) if k in main.__dict__}
        spec = getattr(main, "__spec__", None)
        main.__spec__ = None
        try:
            yield
        finally:
            main.__dict__.update(saved)
            main.__spec__ = spec
