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
import os
import random
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

ROOT = Path(__file__).resolve().parents[1]
TICKS = os.sysconf("SC_CLK_TCK")


# -- the server ------------------------------------------------------------------------------------
@dataclass
class Server:
    port: int
    proc: subprocess.Popen

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def health_seconds(self) -> float:
        start = time.perf_counter()
        urllib.request.urlopen(f"http://127.0.0.1:{self.port}/_stcore/health", timeout=60)
        return time.perf_counter() - start

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def start_server(options: list[str]) -> Server:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard" / "app.py"),
            "--server.address", "127.0.0.1", "--server.port", str(port),
            "--server.headless", "true", "--browser.gatherUsageStats", "false"]
    for opt in options:
        key, _, value = opt.partition("=")
        args += [f"--{key}", value]
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = Server(port, proc)
    for _ in range(240):
        try:
            server.health_seconds()
            return server
        except OSError:
            time.sleep(0.25)
    server.stop()
    raise RuntimeError("the server did not answer its health endpoint")


# -- one browser-like session ----------------------------------------------------------------------
@dataclass
class Widget:
    id: str
    kind: str
    proto: Any
    fragment_id: str = ""  # the fragment that drew it: a change reruns only that fragment


@dataclass
class Session:
    """One websocket session: knows the page's widgets and their current values."""

    ws: Any
    pages: dict[str, str] = field(default_factory=dict)
    page_hash: str = ""
    widgets: dict[str, Widget] = field(default_factory=dict)  # by user key
    states: dict[str, WidgetState] = field(default_factory=dict)  # by widget id
    received: int = 0

    @classmethod
    async def open(cls, port: int) -> Session:
        ws = await websockets.connect(f"ws://127.0.0.1:{port}/_stcore/stream",
                                      subprotocols=["streamlit"], max_size=None)
        session = cls(ws)
        await session._rerun()
        return session

    async def close(self) -> None:
        await self.ws.close()

    async def _rerun(self, fragment_id: str = "") -> float:
        msg = BackMsg()
        msg.rerun_script.page_script_hash = self.page_hash
        msg.rerun_script.widget_states.widgets.extend(self.states.values())
        if fragment_id:
            msg.rerun_script.fragment_id = fragment_id
        start = time.perf_counter()
        await self.ws.send(msg.SerializeToString())
        while True:
            raw = await self.ws.recv()
            self.received += len(raw)
            fwd = ForwardMsg()
            fwd.ParseFromString(raw)
            kind = fwd.WhichOneof("type")
            if kind == "navigation":
                self.pages = {p.url_pathname: p.page_script_hash
                              for p in fwd.navigation.app_pages}
            elif kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
                el = fwd.delta.new_element
                which = el.WhichOneof("type")
                proto = getattr(el, which)
                wid = getattr(proto, "id", "")
                if isinstance(wid, str) and wid.startswith("$$ID-") and "-" in wid[5:]:
                    key = wid.split("-", 2)[2]
                    self.widgets[key] = Widget(wid, which, proto, fwd.delta.fragment_id)
            elif kind == "script_finished" and (
                    fwd.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN):
                # a run stopped early for a rerun (st.rerun in a callback) is followed by
                # the run that answers the change
                return time.perf_counter() - start
            if os.environ.get("SERVING_DEBUG") and kind == "delta":
                el = fwd.delta.new_element
                print(fwd.delta.WhichOneof("type"), el.WhichOneof("type") if
                      fwd.delta.WhichOneof("type") == "new_element" else "", str(el)[:200])

    async def goto(self, page: str) -> float:
        self.page_hash = self.pages[page]
        self.widgets, self.states = {}, {}
        return await self._rerun()

    async def set(self, key: str, value: Any) -> float:
        """Set the widget with user key ``key`` (slider: a number; radio and selectbox: the
        index of an option; checkbox and toggle: a bool).

        As the browser does, a widget drawn inside an ``st.fragment`` sends the fragment's id
        with the rerun request, so that only the fragment reruns."""
        w = self.widgets[key]
        state = WidgetState(id=w.id)
        if w.kind == "slider":
            state.double_array_value.data.extend([float(value)])
        elif w.kind in ("radio", "selectbox"):
            # Sent as the option's label (what the browser shows), not as an index.
            state.string_value = w.proto.options[int(value)]
        elif w.kind == "checkbox":
            state.bool_value = bool(value)
        else:
            raise ValueError(f"unsupported widget kind {w.kind}")
        self.states[w.id] = state
        return await self._rerun(w.fragment_id)


# -- scenarios -------------------------------------------------------------------------------------
Change = Callable[[Session, int], Any]


def _slider_by_suffix(suffix: str, lo: float, step: float) -> Change:
    def change(s: Session, i: int) -> Any:
        key = next(k for k in s.widgets if k.endswith(suffix))
        return s.set(key, lo + step * (i % 20))
    return change


def _radio(key: str, n_options: int) -> Change:
    def change(s: Session, i: int) -> Any:
        return s.set(key, (i + 1) % n_options)
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
    "embedding: switch view (view only)": ("embedding", _radio("emb_view", 6), 100.0),
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
