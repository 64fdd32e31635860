"""Serving a class: server CPU per interaction and latency under many sessions.

A client that speaks Streamlit's own websocket protocol (protobuf ``BackMsg``/``ForwardMsg`` on
``/_stcore/stream``) drives a server started here on 127.0.0.1, as a browser would: it opens a
page, then changes a widget by sending the full widget state, and waits for the run to finish.
Nothing leaves the machine.

Run from the repository root::

    .venv/bin/python benchmarks/serving.py cpu            # CPU per interaction, every page
    .venv/bin/python benchmarks/serving.py load --sessions 30 --seconds 60
    .venv/bin/python benchmarks/serving.py cpu --server-option runner.postScriptGC=true  # as before

CPU is the server process's user + system time (``/proc/<pid>/stat``) over a run of
interactions of one session, divided by their number: it does not depend on what else the
machine runs. Latency is wall time from sending a change to the end of its run.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from deploy.stclient import Server, Session, start_server

# -- scenarios -------------------------------------------------------------------------------------
Change = Callable[[Session, int], Any]


def _slider_by_suffix(suffix: str, lo: float, step: float) -> Change:
    def change(s: Session, i: int) -> Any:
        key = next(k for k in s.widgets if k.endswith(suffix))
        return s.set(key, lo + step * (i % 20))
    return change


def _radio(prefix: str) -> Change:
    """Cycle through the options of the radio whose key starts with ``prefix``."""
    def change(s: Session, i: int) -> Any:
        key = next(k for k in s.widgets if k.startswith(prefix))
        return s.set(key, (i + 1) % len(s.widgets[key].proto.options))
    return change


def _slider_cycle(key: str) -> Change:
    """Walk slider ``key`` through its first values (at most 20), one step at a time."""
    def change(s: Session, i: int) -> Any:
        proto = s.widgets[key].proto
        count = min(20, int(round((proto.max - proto.min) / proto.step)) + 1)
        return s.set(key, proto.min + proto.step * (i % count))
    return change


def _toggle(key: str) -> Change:
    def change(s: Session, i: int) -> Any:
        return s.set(key, i % 2 == 0)
    return change


SCENARIOS: dict[str, tuple[str, Change, float]] = {
    # name: (page, change, target ms of server CPU)
    "geometry: move start point": ("geometry", _slider_by_suffix("_pu", 1.0, 0.013), 60.0),
    "geometry: direction": ("geometry", _slider_by_suffix("geo_angle", 10, 7), 60.0),
    "optim: log-scale toggle (view only)": ("optim", _toggle("optim_log_y"), 100.0),
    "embedding: switch view (view only)": ("embedding", _radio("emb_view"), 100.0),
    "curvature: switch view (view only)": ("curvature", _radio("curv_view_"), 100.0),
    "riemannian: iteration with arrows": ("riemannian", _slider_cycle("riem_sphere_k"), 100.0),
    "latent: metric unit circles": ("latent", _toggle("latent_ellipses"), 100.0),
    "duality: contour lines": ("duality", _toggle("dual_show_contours"), 100.0),
}


async def cpu_per_interaction(server: Server, repeats: int) -> list[tuple[str, float, float,
                                                                           float]]:
    rows = []
    for name, (page, change, target) in SCENARIOS.items():
        s = await Session.open(server.port)
        await s.goto(page)
        for i in range(repeats):  # warm: the timed loop visits the same values again
            await change(s, i)
        cpu0, sent0 = server.cpu_seconds(), s.received
        latencies = [await change(s, i) for i in range(repeats)]
        cpu = (server.cpu_seconds() - cpu0) / repeats
        rows.append((name, 1e3 * cpu, target, (s.received - sent0) / repeats / 1e3))
        del latencies
        await s.close()
    return rows


async def load(server: Server, n_sessions: int, seconds: float, page: str,
               seed: int = 0) -> list[float]:
    """``n_sessions`` sessions on ``page``, each changing a slider after 2–6 s of thought."""
    rng = random.Random(seed)
    change = SCENARIOS["geometry: direction"][1] if page == "geometry" else \
        SCENARIOS["optim: log-scale toggle (view only)"][1]
    latencies: list[float] = []
    stop_at = time.perf_counter() + seconds

    async def student(k: int) -> None:
        await asyncio.sleep(rng.uniform(0, 3))
        s = await Session.open(server.port)
        await s.goto(page)
        i = 0
        while time.perf_counter() < stop_at:
            await asyncio.sleep(rng.uniform(2, 6))
            latencies.append(await change(s, i + 7 * k))
            i += 1
        await s.close()

    await asyncio.gather(*(student(k) for k in range(n_sessions)))
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["cpu", "load"])
    parser.add_argument("--repeats", type=int, default=12)
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--page", default="geometry")
    parser.add_argument("--server-option", action="append", default=[],
                        help="e.g. runner.postScriptGC=true (repeatable)")
    args = parser.parse_args()
    server = start_server(args.server_option)
    try:
        if args.what == "cpu":
            rows = asyncio.run(cpu_per_interaction(server, args.repeats))
            print(f"{'interaction':40s} {'CPU ms':>8s} {'target':>7s} {'KB sent':>8s}  met")
            for name, ms, target, kb in rows:
                print(f"{name:40s} {ms:8.1f} {target:7.0f} {kb:8.1f}  "
                      f"{'yes' if ms <= target else 'NO'}")
        else:
            rss0 = server.rss_mb()
            lat = asyncio.run(load(server, args.sessions, args.seconds, args.page))
            q = statistics.quantiles(lat, n=20)
            print(f"{args.sessions} sessions on /{args.page}, 2–6 s think time, "
                  f"{len(lat)} changes: p50 {statistics.median(lat):.2f} s, p95 {q[18]:.2f} s; "
                  f"RSS {rss0:.0f} → {server.rss_mb():.0f} MB; health "
                  f"{server.health_seconds() * 1e3:.0f} ms")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
