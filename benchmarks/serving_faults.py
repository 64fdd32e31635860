"""Serving a class, continued: heavy jobs under load, memory over many sessions, and faults.

Drives a server started here on 127.0.0.1 with the protocol-level client of
:mod:`serving` (nothing leaves the machine; every loop is bounded)::

    .venv/bin/python benchmarks/serving_faults.py all          # everything below, one server
    .venv/bin/python benchmarks/serving_faults.py tab-close    # or one scenario at a time

Scenarios
---------
``tab-close``       a visitor starts the heaviest allowed training and closes the tab: how long
                    until the workers stop computing.
``replace``         a visitor starts it, then changes a setting: the same.
``killed-worker``   the worker computing a visitor's job is killed: what the visitor reads, and
                    whether the next job runs.
``tabs``            40 tabs opened and closed abruptly, twice: health, and memory after each
                    wave (the first raises a plateau the second reuses).
``burst``           10 sessions each send 10 slider changes within a second: runs completed,
                    time until every session shows its last value, health latency throughout.
``heavy-load``      30 sessions with 2–6 s think time on /geometry while one visitor trains the
                    heaviest allowed job on /optim: p50/p95.
``rss``             server memory before and after 200 sessions (20 at a time).

The workers are the server's child processes; their CPU time is read from ``/proc``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable

from serving import SCENARIOS, load
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from deploy.stclient import (
    Server,
    Session,
    busy_worker,
    seconds_until_idle,
    start_server,
    until_busy,
)


# -- the heaviest allowed job ----------------------------------------------------------------------
def _maximum(s: Session, key: str) -> float:
    return float(s.widgets[key].proto.max)


async def heavy_optim(port: int) -> Session:
    """A session on /optim with the heaviest training the page allows: digits, every point,
    three hidden layers of 64, conjugate-gradient NGD, and as many steps as the page's
    training budget admits (the page names that number when it refuses more). The last
    setting is staged, not sent: :meth:`Session.send` starts the job."""
    s = await Session.open(port)
    await s.goto("optim")
    tasks = list(s.widgets["optim_task"].proto.options)
    await s.set("optim_task", next(i for i, t in enumerate(tasks) if "igits" in t))
    s.stage("optim_n", _maximum(s, "optim_n"))
    s.stage("optim_hidden", HEAVIEST_HIDDEN)
    s.stage("optim_solver", len(s.widgets["optim_solver"].proto.options) - 1)
    s.stage("optim_steps", _maximum(s, "optim_steps"))
    await s.send()
    _, alerts = await s.drain(120)
    fit = next((int(m.group(1)) for a in alerts
                if (m := re.search(r"at most (\d+) steps", a))), None)
    if fit is not None:  # the budget's largest number of steps, on the slider's grid
        step = float(s.widgets["optim_steps"].proto.step)
        s.stage("optim_steps", max(float(s.widgets["optim_steps"].proto.min),
                                   step * (fit // step)))
    return s


HEAVIEST_HIDDEN = "64, 64, 64"


# -- scenarios -------------------------------------------------------------------------------------
async def tab_close(server: Server) -> str:
    s = await heavy_optim(server.port)
    await s.send()
    if not await until_busy(server):
        return "tab close: no job started (is the training refused at these settings?)"
    await asyncio.sleep(3)
    s.abort()
    idle = await seconds_until_idle(server)
    return f"tab closed 3 s into the heaviest training: workers idle {idle:.1f} s later"


async def replace(server: Server) -> str:
    s = await heavy_optim(server.port)
    await s.send()
    if not await until_busy(server):
        return "replace: no job started"
    await asyncio.sleep(3)
    s.stage("optim_task", 0)  # back to the first (2-D) task: a training of a second or two
    changed = time.perf_counter()
    await s.send()
    statuses, alerts = await s.drain(120)
    shown = time.perf_counter() - changed
    idle = await seconds_until_idle(server)
    await s.close()
    return (f"task changed 3 s into the heaviest training: the new page was drawn "
            f"{shown:.1f} s later (errors: {alerts or 'none'}), and the workers were idle "
            f"{shown + idle:.1f} s after the change")


async def killed_worker(server: Server) -> str:
    s = await heavy_optim(server.port)
    s.stage("optim_steps", 10)  # a job of its own (an earlier scenario's may be finished)
    await s.send()
    if not await until_busy(server):
        return "killed worker: no job started"
    await asyncio.sleep(2)
    pid = await asyncio.to_thread(busy_worker, server)
    if pid is None:
        return "killed worker: no busy worker found"
    os.kill(pid, signal.SIGKILL)
    _, alerts = await s.drain(60)
    s.stage("optim_steps", 20)
    await s.send()
    start = time.perf_counter()
    statuses, after = await s.drain(120)
    ok = statuses and statuses[-1] == ForwardMsg.FINISHED_SUCCESSFULLY and not after
    await s.close()
    return (f"worker {pid} killed mid-job: the visitor read {alerts!r}; the next job "
            f"{'ran' if ok else 'FAILED'} ({time.perf_counter() - start:.1f} s, a fresh worker "
            "included)")


async def tabs(server: Server, n: int = 40, rounds: int = 2) -> str:
    warm = await Session.open(server.port)  # the caches filled first: they are not sessions
    await warm.goto("geometry")
    await warm.close()
    await asyncio.sleep(2)
    report = [f"RSS {server.rss_mb():.0f} MB"]
    for _ in range(rounds):
        sessions = await asyncio.gather(*(Session.open(server.port) for _ in range(n)))
        await asyncio.gather(*(s.goto("geometry") for s in sessions))
        peak = server.rss_mb()
        for s in sessions:
            s.abort()
        await asyncio.sleep(10)
        report.append(f"{peak:.0f} MB open → {server.rss_mb():.0f} MB closed")
    health = max(server.health_seconds() for _ in range(5))
    return (f"{n} tabs opened on /geometry and closed abruptly, {rounds} times: "
            + ", then ".join(report) + f"; health {health * 1e3:.0f} ms")


_PROBE = """
import sys, time, urllib.request
url = sys.argv[1]
while True:
    start = time.perf_counter()
    try:
        urllib.request.urlopen(url, timeout=30).read()
        print(time.perf_counter() - start, flush=True)
    except OSError:
        print("inf", flush=True)
    time.sleep(0.1)
"""


class HealthProbe:
    """Polls the health endpoint every 0.1 s from a process of its own (this one is busy
    parsing the sessions' messages, which would delay a probe thread here); records each
    answer's latency in seconds."""

    def __init__(self, server: Server) -> None:
        self.url = f"http://127.0.0.1:{server.port}/_stcore/health"
        self.latencies: list[float] = []

    def __enter__(self) -> HealthProbe:
        self._proc = subprocess.Popen([sys.executable, "-c", _PROBE, self.url],
                                      stdout=subprocess.PIPE, text=True)
        assert self._proc.stdout is not None
        self._proc.stdout.readline()  # a first answer, before the load: imports, connection
        return self

    def __exit__(self, *exc: object) -> None:
        self._proc.terminate()
        out, _ = self._proc.communicate(timeout=30)
        self.latencies = [float(line) for line in out.split()]


async def burst(server: Server, n_sessions: int = 10, changes: int = 10) -> str:
    sessions = await asyncio.gather(*(Session.open(server.port) for _ in range(n_sessions)))
    await asyncio.gather(*(s.goto("geometry") for s in sessions))
    key = next(k for k in sessions[0].widgets if k.endswith("geo_angle"))

    async def one(k: int, s: Session) -> tuple[float, int]:
        for i in range(changes):
            s.stage(key, 10 + 7 * ((i + k) % 20))
            await s.send()
            await asyncio.sleep(0.1)
        sent = time.perf_counter()
        statuses, _ = await s.drain(120)
        # messages of runs that ended before the last send were read here too
        return time.perf_counter() - sent, sum(x == ForwardMsg.FINISHED_SUCCESSFULLY
                                               for x in statuses)

    with HealthProbe(server) as probe:
        results = await asyncio.gather(*(one(k, s) for k, s in enumerate(sessions)))
        await asyncio.sleep(0.5)
    for s in sessions:
        await s.close()
    settle = max(r[0] for r in results)
    return (f"burst: {n_sessions} sessions × {changes} changes at 0.1 s: every session showed "
            f"its last value within {settle:.2f} s of its last change; health answered in "
            f"{statistics.median(probe.latencies) * 1e3:.0f} ms (median), "
            f"{max(probe.latencies) * 1e3:.0f} ms at most, over {len(probe.latencies)} probes")


async def heavy_load(server: Server, n_sessions: int = 30, seconds: float = 60.0) -> str:
    async def heavy() -> str:
        s = await heavy_optim(server.port)
        await s.send()
        start = time.perf_counter()
        _, alerts = await s.drain(seconds + 120)
        await s.close()
        return (f"the heavy job ran {time.perf_counter() - start:.0f} s"
                + (f" and ended with {alerts}" if alerts else ""))

    job = asyncio.create_task(heavy())
    latencies = await load(server, n_sessions, seconds, "geometry")
    outcome = await job
    q = statistics.quantiles(latencies, n=20)
    return (f"{n_sessions} sessions on /geometry (2–6 s think) while one visitor trains the "
            f"heaviest /optim job: {len(latencies)} changes, p50 {statistics.median(latencies):.2f}"
            f" s, p95 {q[18]:.2f} s; {outcome}")


async def rss(server: Server, total: int = 200, at_once: int = 20) -> str:
    rss0 = server.rss_mb()
    change = SCENARIOS["geometry: direction"][1]

    async def visit(k: int) -> None:
        s = await Session.open(server.port)
        await s.goto("geometry")
        await change(s, k)
        await s.close()

    for start in range(0, total, at_once):
        await asyncio.gather(*(visit(k) for k in range(start, start + at_once)))
    await asyncio.sleep(10)
    return (f"{total} sessions on /geometry ({at_once} at a time), one change each: RSS "
            f"{rss0:.0f} → {server.rss_mb():.0f} MB")


SCENARIO_RUNNERS: dict[str, Callable[[Server], Awaitable[str]]] = {
    "tab-close": tab_close, "replace": replace, "killed-worker": killed_worker,
    "tabs": tabs, "burst": burst, "heavy-load": heavy_load, "rss": rss,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["all", *SCENARIO_RUNNERS])
    parser.add_argument("--server-option", action="append", default=[])
    args = parser.parse_args()
    server = start_server(args.server_option)
    try:
        names = list(SCENARIO_RUNNERS) if args.what == "all" else [args.what]
        for name in names:
            print(asyncio.run(SCENARIO_RUNNERS[name](server)), flush=True)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
