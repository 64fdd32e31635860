"""A client that speaks Streamlit's websocket protocol, and the server it talks to.

It drives the app as a browser would, without one: it opens a page, changes a widget by sending
the full widget state (with the widget's fragment id, as the browser does), and reads the
answer (``protobuf`` ``BackMsg``/``ForwardMsg`` on ``/_stcore/stream``). The serving benchmarks
(``benchmarks/serving*.py``) and the serving tests (``tests/e2e/test_serving_pool.py``) use it;
everything runs on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websockets
from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.typing import Subprotocol

ROOT = Path(__file__).resolve().parents[1]
TICKS = os.sysconf("SC_CLK_TCK")
IDLE_RATE = 0.05
"""Worker CPU seconds per second below which the workers count as idle."""


# -- the server ------------------------------------------------------------------------------------
@dataclass
class Server:
    """A Streamlit server of the app on 127.0.0.1 (see :func:`start_server`)."""

    port: int
    proc: subprocess.Popen

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far (its workers not included)."""
        return _cpu(self.proc.pid)

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


def start_server(options: Sequence[str] = (), env: dict[str, str] | None = None) -> Server:
    """Start the app on a free port of 127.0.0.1 and wait for its health endpoint.

    ``options`` are Streamlit settings as ``"section.name=value"``; ``env`` is added to this
    process's environment (``{"DIFFGEO_WORKERS": "1"}``, say)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard" / "app.py"),
            "--server.address", "127.0.0.1", "--server.port", str(port),
            "--server.headless", "true", "--browser.gatherUsageStats", "false"]
    for opt in options:
        key, _, value = opt.partition("=")
        args += [f"--{key}", value]
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, **(env or {})})
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
    progress_texts: list[str] = field(default_factory=list)  # see drain()

    @classmethod
    async def open(cls, port: int) -> Session:
        ws = await websockets.connect(f"ws://127.0.0.1:{port}/_stcore/stream",
                                      subprotocols=[Subprotocol("streamlit")], max_size=None)
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
                which = el.WhichOneof("type") or ""
                proto = getattr(el, which, None)
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
        self.stage(key, value)
        return await self._rerun(self.widgets[key].fragment_id)

    def stage(self, key: str, value: Any) -> None:
        """Put a new value of widget ``key`` among the widget states sent with the next rerun:
        a slider's number; a radio's or selectbox's option index, or its label; a checkbox's
        or toggle's bool; a text input's text."""
        w = self.widgets[key]
        state = WidgetState(id=w.id)
        if w.kind == "slider":
            state.double_array_value.data.extend([float(value)])
        elif w.kind in ("radio", "selectbox"):
            # Sent as the option's label (what the browser shows), not as an index.
            state.string_value = (value if isinstance(value, str)
                                  else w.proto.options[int(value)])
        elif w.kind in ("checkbox", "toggle"):
            state.bool_value = bool(value)
        elif w.kind == "text_input":
            state.string_value = str(value)
        else:
            raise ValueError(f"unsupported widget kind {w.kind}")
        self.states[w.id] = state

    async def send(self) -> None:
        """Ask for a rerun of the whole page with the staged widget states; do not wait."""
        msg = BackMsg()
        msg.rerun_script.page_script_hash = self.page_hash
        msg.rerun_script.widget_states.widgets.extend(self.states.values())
        await self.ws.send(msg.SerializeToString())

    async def drain(self, limit: float) -> tuple[list[int], list[str]]:
        """Read messages for up to ``limit`` seconds, until a run finishes successfully;
        return the statuses of the runs that ended and the texts of the error boxes drawn.
        The texts of progress bars go to :attr:`progress_texts`."""
        statuses: list[int] = []
        alerts: list[str] = []
        end = time.perf_counter() + limit
        while (remaining := end - time.perf_counter()) > 0:
            try:
                raw = await asyncio.wait_for(self.ws.recv(), remaining)
            except TimeoutError:
                break
            fwd = ForwardMsg()
            fwd.ParseFromString(raw)
            kind = fwd.WhichOneof("type")
            if kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
                el = fwd.delta.new_element
                if el.WhichOneof("type") == "alert" and el.alert.format == Alert.ERROR:
                    alerts.append(el.alert.body)
                elif el.WhichOneof("type") == "progress":
                    self.progress_texts.append(el.progress.text)
            elif kind == "script_finished":
                statuses.append(fwd.script_finished)
                if fwd.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY:
                    break
        return statuses, alerts

    def abort(self) -> None:
        """Close the tab abruptly: drop the connection without a closing handshake."""
        self.ws.transport.abort()


# -- the workers -----------------------------------------------------------------------------------
def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def _cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS
    except (OSError, IndexError, ValueError):
        return 0.0


def worker_cpu(server: Server) -> dict[int, float]:
    """CPU seconds of each of the server's child processes (the worker pool)."""
    return {pid: _cpu(pid) for pid in _children(server.proc.pid)}


def busy_worker(server: Server, window: float = 0.5) -> int | None:
    """The child process that computed most during ``window`` seconds, if any did."""
    a = worker_cpu(server)
    time.sleep(window)
    b = worker_cpu(server)
    rates = {pid: (b[pid] - a.get(pid, 0.0)) / window for pid in b}
    pid = max(rates, key=rates.__getitem__, default=None)
    return pid if pid is not None and rates[pid] > 0.3 else None


async def seconds_until_idle(server: Server, limit: float = 60.0) -> float:
    """Seconds until the workers, together, compute less than :data:`IDLE_RATE` of a core
    over half a second (``limit`` if they never do)."""
    start = time.perf_counter()
    prev = sum(worker_cpu(server).values())
    while time.perf_counter() - start < limit:
        await asyncio.sleep(0.5)
        now = sum(worker_cpu(server).values())
        if (now - prev) / 0.5 < IDLE_RATE:
            return time.perf_counter() - start - 0.5
        prev = now
    return limit


async def until_busy(server: Server, limit: float = 60.0) -> bool:
    """Wait until some worker computes (a job started)."""
    end = time.perf_counter() + limit
    while time.perf_counter() < end:
        if await asyncio.to_thread(busy_worker, server, 0.3) is not None:
            return True
    return False
