"""Serving a class: two Streamlit replicas behind Debian's nginx, started by `make serve-class`'s
module (deploy/serve_class.py), driven by headless Chromium on loopback only.

One browser session opens Home, follows the link to /geometry and moves a slider: the page
draws, the rerun comes back over the websocket, and nginx's access log shows that every request
of that session, the websocket included, went to one replica. That replica is then killed, and a
new browser session is served by the other one. Finally SIGTERM to the supervisor stops nginx and
the replicas.

nginx listens on 127.0.0.2, a loopback address that Streamlit does not allow-list: its websocket
is accepted only because nginx passes the browser's Host header on (the Origin then matches it),
so a proxy that rewrote Host would fail here rather than in a classroom.

Without nginx the test is skipped locally; under CI (CI=true) that is an error, since `.ci/run`
installs it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import pytest

from deploy.serve_class import AFFINITY_COOKIE, find_nginx
from tests.e2e.helpers import ARTIFACTS, error_texts, open_and_settle, screenshot, wait_idle

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.2"
# One line of the template's `affinity` log format.
LOG_LINE = re.compile(r'key=(?P<key>\S+) "(?P<method>\S+) (?P<path>\S+)[^"]*" (?P<status>\d+) '
                      r"upstream=(?P<upstream>.*?) upstream_status=")


@dataclass
class ClassServer:
    proc: subprocess.Popen[bytes]
    url: str
    run_dir: Path
    state: dict
    log: Path

    @property
    def access_log(self) -> Path:
        return self.run_dir / "nginx-access.log"


@pytest.fixture()
def nginx_exe() -> str:
    exe = find_nginx()
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("nginx is missing under CI; .ci/run should have installed it")
        pytest.skip("no nginx: install Debian's nginx to run the serving test")
    return exe


def _free(host: str, port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _ports(replicas: int) -> tuple[int, int]:
    """A free proxy port on HOST and the first of ``replicas`` consecutive free loopback ports."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        if base + replicas > 65535:
            continue
        if all(_free("127.0.0.1", base + i) for i in range(replicas)) \
                and _free(HOST, base + replicas):
            return base + replicas, base
    raise RuntimeError("no run of free loopback ports found")


@pytest.fixture()
def class_server(nginx_exe, tmp_path) -> Iterator[ClassServer]:
    port, base = _ports(2)
    run_dir = tmp_path / "serve-class"
    ARTIFACTS.mkdir(exist_ok=True)
    log = ARTIFACTS / "serve-class.log"
    with open(log, "wb") as out:
        # Its own process group, so teardown can reach nginx and the replicas even if the
        # supervisor is gone.
        proc = subprocess.Popen(
            [sys.executable, "-m", "deploy.serve_class", "--replicas", "2", "--port", str(port),
             "--listen", HOST, "--replica-base-port", str(base), "--run-dir", str(run_dir),
             "--nginx", nginx_exe, "--start-timeout", "90"],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        state_file = run_dir / "state.json"
        deadline = time.monotonic() + 100
        while not state_file.exists():
            if proc.poll() is not None:
                pytest.fail(f"serve_class exited with {proc.returncode}:\n{log.read_text()}")
            if time.monotonic() > deadline:
                pytest.fail(f"serve_class not ready after 100 s:\n{log.read_text()}")
            time.sleep(0.2)
        yield ClassServer(proc, f"http://{HOST}:{port}", run_dir,
                          json.loads(state_file.read_text()), log)
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
        try:  # whatever is left of the group (nothing, when the supervisor cleaned up)
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)
        for name in ("nginx-access.log", "nginx-error.log", "replica-0.log", "replica-1.log"):
            if (run_dir / name).exists():
                (ARTIFACTS / f"serve-class-{name}").write_bytes((run_dir / name).read_bytes())


def _log_lines(server: ClassServer) -> list[str]:
    return server.access_log.read_text().splitlines()


def _entries(lines: list[str]) -> list[dict[str, str]]:
    out = []
    for line in lines:
        m = LOG_LINE.search(line)
        assert m, f"unexpected access-log line: {line}"
        out.append(m.groupdict())
    return out


def _wait_for_stream_entry(server: ClassServer, start: int, key: str) -> list[dict[str, str]]:
    """Access-log entries after line ``start``, once the websocket of ``key`` is logged (nginx
    logs a websocket when it closes)."""
    deadline = time.monotonic() + 15
    while True:
        entries = _entries(_log_lines(server)[start:])
        if any(e["key"] == key and e["path"] == "/_stcore/stream" for e in entries):
            return entries
        assert time.monotonic() < deadline, f"no websocket entry for {key}: {entries}"
        time.sleep(0.2)


def _final(upstream: str) -> str:
    # "$upstream_addr" lists every replica tried, the one that answered last.
    return upstream.split(",")[-1].strip()


def _new_session(browser, url: str, affinity: str | None = None):
    """A fresh browser context (its own cookies, with ``affinity`` as nginx's cookie if given)
    that records each response's X-Upstream and every request leaving the proxy's host."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, device_scale_factor=1)
    if affinity is not None:
        ctx.add_cookies([{"name": AFFINITY_COOKIE, "value": affinity, "url": url}])
    upstreams: list[str] = []
    outside: list[str] = []
    ctx.on("response", lambda r: upstreams.append(r.headers.get("x-upstream", "missing"))
           if r.url.startswith(url) else None)
    ctx.on("request", lambda r: outside.append(r.url)
           if urlparse(r.url).hostname not in (HOST, None)
           and not r.url.startswith(("data:", "blob:")) else None)
    page = ctx.new_page()
    page.set_default_timeout(60_000)
    return ctx, page, upstreams, outside


def _metric(page, label: str) -> str:
    return page.locator('[data-testid="stMetric"]').filter(has_text=label).first.locator(
        '[data-testid="stMetricValue"]').inner_text()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (exited, not yet reaped by the supervisor) no longer serves
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")


def test_two_replicas_behind_nginx_keep_sessions_and_survive_one_death(browser, class_server):
    server = class_server
    url = server.url
    replica_addr = {f"127.0.0.1:{r['port']}": r for r in server.state["replicas"]}

    # -- session A: Home, then /geometry through the link, then a slider --------------------
    start = len(_log_lines(server))
    ctx, page, upstreams, outside = _new_session(browser, url)
    open_and_settle(page, url)
    assert "DiffGeo Lab" in page.locator("h1").first.inner_text()
    page.locator('[data-testid="stPageLink"]').get_by_text("Surfaces & geodesics").click()
    page.wait_for_url("**/geometry")
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot .main-svg')"
                           ".length >= 2", timeout=90_000)
    wait_idle(page, 90_000)
    assert page.locator(".js-plotly-plot").count() >= 2
    before = float(_metric(page, "Length"))
    # one keyboard step of the "Length" slider: +0.1; the metric is computed on the server, so
    # its new value arrives only through a rerun over the websocket
    page.locator('[data-testid="stSlider"] input[aria-label="Length"]').press("ArrowRight")
    page.wait_for_function(
        "b => { const m = Array.from(document.querySelectorAll('[data-testid=\"stMetric\"]'))"
        ".find(e => e.innerText.includes('Length'));"
        " return m && parseFloat(m.querySelector('[data-testid=\"stMetricValue\"]').innerText)"
        " !== b; }", arg=before, timeout=60_000)
    wait_idle(page, 60_000)
    after = float(_metric(page, "Length"))
    assert after == pytest.approx(before + 0.1, abs=1e-3)
    assert error_texts(page) == []
    screenshot(page, "serve-class-geometry")
    cookie = {c["name"]: c["value"] for c in ctx.cookies()}[AFFINITY_COOKIE]
    ctx.close()

    # Every request of session A, from the first page to the websocket, reached one replica.
    assert outside == []
    served = {_final(u) for u in upstreams}
    assert len(served) == 1 and served <= replica_addr.keys(), upstreams
    entries = _wait_for_stream_entry(server, start, cookie)
    assert {e["key"] for e in entries} == {cookie}, "a request of session A lacked its cookie"
    assert {e["upstream"] for e in entries} == served, entries
    assert any(e["path"] == "/_stcore/stream" and e["status"] == "101" for e in entries)
    assert len(entries) >= 5  # the page, its scripts and styles, the health check, the websocket

    # -- kill that replica; a new session goes to the other one --------------------------------
    dead_addr = served.pop()
    dead = replica_addr[dead_addr]
    (survivor_addr,) = set(replica_addr) - {dead_addr}
    os.kill(dead["pid"], signal.SIGKILL)
    deadline = time.monotonic() + 10
    while _alive(dead["pid"]):
        assert time.monotonic() < deadline, "the killed replica is still running"
        time.sleep(0.1)

    # B: the student of session A reloads (its cookie points at the dead replica), so nginx
    # must fail over; C: a newcomer without a cookie.
    for name, old_cookie in (("B", cookie), ("C", None)):
        start = len(_log_lines(server))
        ctx, page, upstreams, outside = _new_session(browser, url, old_cookie)
        open_and_settle(page, url)
        assert "DiffGeo Lab" in page.locator("h1").first.inner_text(), name
        assert page.locator('[data-testid="stPageLink"]').count() >= 3  # sent over the websocket
        assert error_texts(page) == [], name
        key = {c["name"]: c["value"] for c in ctx.cookies()}[AFFINITY_COOKIE]
        ctx.close()
        assert outside == [], name
        assert {_final(u) for u in upstreams} == {survivor_addr}, (name, upstreams)
        entries = [e for e in _wait_for_stream_entry(server, start, key) if e["key"] == key]
        assert {_final(e["upstream"]) for e in entries} == {survivor_addr}, (name, entries)
        streams = [e for e in entries if e["path"] == "/_stcore/stream"]
        assert [e["status"] for e in streams] == ["101"], (name, streams)
        if old_cookie is not None:
            assert key == old_cookie  # nginx keeps the cookie: the hash moves, not the key
            # the first request tried the dead replica, then the survivor answered
            assert entries[0]["upstream"] == f"{dead_addr}, {survivor_addr}", entries[0]

    # The supervisor noticed, kept serving, and stops everything on SIGTERM.
    deadline = time.monotonic() + 10
    while f"replica {dead['index']} (port {dead['port']}) exited" not in server.log.read_text():
        assert time.monotonic() < deadline, server.log.read_text()
        time.sleep(0.2)
    assert server.proc.poll() is None
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(timeout=30) == 0
    pids = [server.state["nginx_pid"], *(r["pid"] for r in server.state["replicas"])]
    assert [pid for pid in pids if _alive(pid)] == []
