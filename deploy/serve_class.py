"""Serve DiffGeo Lab to a class: N Streamlit replicas on 127.0.0.1 behind nginx.

``make serve-class REPLICAS=N PORT=8080`` runs ``python -m deploy.serve_class``, which

1. starts N ``streamlit run dashboard/app.py`` replicas on consecutive loopback ports
   (``--replica-base-port``, by default PORT+1), headless, without a file watcher;
2. waits until every replica's ``/_stcore/health`` answers 200 (bounded by ``--start-timeout``);
3. renders ``deploy/nginx.conf.template`` into the run directory and starts nginx in the
   foreground, listening on ``--listen``:PORT, with cookie affinity and websocket upgrade;
4. watches them: a replica that dies is reported (nginx sends its visitors to the others), nginx
   dying stops everything; Ctrl-C or SIGTERM stops nginx and every replica.

Only the standard library is used. Everything written at run time (rendered config, pid files,
logs, ``state.json`` with the processes' ids and ports) goes under ``--run-dir``.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import time
import types
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = Path(__file__).with_name("nginx.conf.template")
APP = ROOT / "dashboard" / "app.py"
# The affinity cookie nginx sets (the template's @COOKIE@).
AFFINITY_COOKIE = "dgl_replica"
# Passive health checks of the upstream block: failures within the window, and how long a
# failed replica is then left out.
MAX_FAILS = 2
FAIL_TIMEOUT = "15s"
MAX_REPLICAS = 64
# Where nginx may live when the PATH of an unprivileged user lacks /usr/sbin (Debian's case).
NGINX_CANDIDATES = ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx")
# Thread pools sized per replica, so N replicas do not each start one thread per core.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


class ServeError(RuntimeError):
    """A replica or nginx could not be started; the message says what to check."""


def find_nginx() -> str | None:
    """The nginx executable: on PATH, else in the usual sbin folders; None when absent."""
    import shutil

    found = shutil.which("nginx")
    if found:
        return found
    for candidate in NGINX_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def render_config(template: str, *, listen: str, port: int, replica_ports: Sequence[int],
                  run_dir: Path) -> str:
    """The nginx configuration for ``replica_ports`` on 127.0.0.1, served on ``listen:port``.

    Parameters
    ----------
    template
        Text of ``nginx.conf.template`` with ``@NAME@`` fields.
    listen, port
        Address and port nginx listens on (``0.0.0.0`` for every interface).
    replica_ports
        Loopback ports of the Streamlit replicas, one ``server`` line each.
    run_dir
        Absolute directory for nginx's pid, logs and temporary files.

    Returns
    -------
    str
        The configuration, with no ``@NAME@`` field left.
    """
    if not replica_ports:
        raise ValueError("render_config needs at least one replica port")
    servers = "\n".join(
        f"        server 127.0.0.1:{p} max_fails={MAX_FAILS} fail_timeout={FAIL_TIMEOUT};"
        for p in replica_ports)
    fields = {"RUN_DIR": str(run_dir.resolve()), "LISTEN": listen, "PORT": str(port),
              "SERVERS": servers, "COOKIE": AFFINITY_COOKIE, "MAX_FAILS": str(MAX_FAILS),
              "FAIL_TIMEOUT": FAIL_TIMEOUT}
    text = template
    for name, value in fields.items():
        text = text.replace(f"@{name}@", value)
    leftover = [line for line in text.splitlines()
                if "@" in line and not line.lstrip().startswith("#")]
    if leftover:
        raise ValueError(f"nginx template has unknown fields: {leftover[0].strip()!r}")
    return text


def replica_command(port: int, python: str = sys.executable) -> list[str]:
    """``streamlit run`` for one replica on 127.0.0.1:``port``.

    CORS and XSRF protection stay on (Streamlit's defaults, stated here so a config file cannot
    turn them off unnoticed): nginx passes the browser's Host header through, so the websocket's
    Origin matches it and the same-origin check passes behind the proxy.
    """
    return [python, "-m", "streamlit", "run", str(APP),
            "--server.address", "127.0.0.1", "--server.port", str(port),
            "--server.headless", "true", "--browser.gatherUsageStats", "false",
            "--server.fileWatcherType", "none", "--server.runOnSave", "false",
            "--server.enableCORS", "true", "--server.enableXsrfProtection", "true"]


def _die_with_parent() -> None:
    # Linux: the child gets SIGTERM if the supervisor dies without cleaning up (SIGKILL).
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _healthy(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return bool(r.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass
class Replica:
    """One Streamlit process on 127.0.0.1:``port``."""

    index: int
    port: int
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    reported_dead: bool = False

    @property
    def health_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/_stcore/health"


@dataclass
class ClassServer:
    """N replicas and nginx, started and stopped together (see the module docstring)."""

    replicas: int
    port: int
    listen: str
    replica_base_port: int
    run_dir: Path
    nginx: str
    start_timeout: float = 180.0
    threads_per_replica: int = 1
    python: str = sys.executable
    members: list[Replica] = field(default_factory=list)
    nginx_proc: subprocess.Popen[bytes] | None = None

    def check(self) -> None:
        """Raise :class:`ServeError` for sizes out of range or ports already taken."""
        if not 1 <= self.replicas <= MAX_REPLICAS:
            raise ServeError(f"REPLICAS must be between 1 and {MAX_REPLICAS}, got "
                             f"{self.replicas}; one replica per core is a good start.")
        last = self.replica_base_port + self.replicas - 1
        for p in (self.port, self.replica_base_port, last):
            if not 1 <= p <= 65535:
                raise ServeError(f"port {p} is outside 1–65535; choose a smaller PORT or "
                                 "REPLICA_PORT.")
        if self.replica_base_port <= self.port <= last:
            raise ServeError(f"the proxy port {self.port} falls among the replica ports "
                             f"{self.replica_base_port}–{last}; set REPLICA_PORT elsewhere.")
        taken = [p for p in range(self.replica_base_port, last + 1)
                 if not _port_free("127.0.0.1", p)]
        if not _port_free(self.listen, self.port):
            taken.insert(0, self.port)
        if taken:
            raise ServeError(f"port(s) {taken} already in use; stop what holds them or pick "
                             "other PORT / REPLICA_PORT values.")

    def start(self) -> None:
        """Start the replicas, wait for their health, then start nginx; raise on failure."""
        self.check()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / "temp").mkdir(exist_ok=True)
        env = dict(os.environ)
        for name in THREAD_VARIABLES:
            env.setdefault(name, str(self.threads_per_replica))
        # each replica's pool of worker processes gets its share of the cores
        env.setdefault("DIFFGEO_WORKERS", str(self.threads_per_replica))
        for i in range(self.replicas):
            rep = Replica(i, self.replica_base_port + i, self.run_dir / f"replica-{i}.log")
            with open(rep.log, "wb") as out:
                rep.proc = subprocess.Popen(
                    replica_command(rep.port, self.python), cwd=ROOT, env=env,
                    stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                    preexec_fn=_die_with_parent)
            self.members.append(rep)
        self._wait_for_replicas()
        self._start_nginx()
        self._write_state()

    def _wait_for_replicas(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        pending = list(self.members)
        while pending:
            for rep in list(pending):
                assert rep.proc is not None
                if rep.proc.poll() is not None:
                    raise ServeError(f"replica {rep.index} (port {rep.port}) exited with code "
                                     f"{rep.proc.returncode} while starting; its log "
                                     f"{rep.log} ends with:\n{_tail(rep.log)}")
                if _healthy(rep.health_url):
                    pending.remove(rep)
            if pending and time.monotonic() > deadline:
                raise ServeError(f"replica(s) {[r.index for r in pending]} not healthy after "
                                 f"{self.start_timeout:.0f} s; see {self.run_dir}/replica-*.log")
            if pending:
                time.sleep(0.3)

    def _start_nginx(self) -> None:
        conf = self.run_dir / "nginx.conf"
        conf.write_text(render_config(TEMPLATE.read_text(), listen=self.listen, port=self.port,
                                      replica_ports=[r.port for r in self.members],
                                      run_dir=self.run_dir))
        base = [self.nginx, "-p", str(self.run_dir.resolve()), "-c", str(conf.resolve()),
                "-e", str((self.run_dir / "nginx-error.log").resolve())]
        test = subprocess.run([*base, "-t", "-q"], capture_output=True, text=True, timeout=30)
        if test.returncode != 0:
            raise ServeError(f"nginx rejected {conf}:\n{test.stderr.strip()}")
        with open(self.run_dir / "nginx.out", "wb") as out:
            self.nginx_proc = subprocess.Popen([*base, "-g", "daemon off;"], cwd=self.run_dir,
                                               stdin=subprocess.DEVNULL, stdout=out,
                                               stderr=subprocess.STDOUT,
                                               preexec_fn=_die_with_parent)
        url = f"http://{_client_host(self.listen)}:{self.port}/_stcore/health"
        deadline = time.monotonic() + 30
        while not _healthy(url):
            if self.nginx_proc.poll() is not None:
                raise ServeError("nginx exited at start; "
                                 f"{self.run_dir}/nginx-error.log ends with:\n"
                                 f"{_tail(self.run_dir / 'nginx-error.log')}")
            if time.monotonic() > deadline:
                raise ServeError(f"nginx answers no health check on {url} after 30 s")
            time.sleep(0.2)

    def _write_state(self) -> None:
        assert self.nginx_proc is not None
        state = {"supervisor_pid": os.getpid(), "nginx_pid": self.nginx_proc.pid,
                 "listen": self.listen, "port": self.port,
                 "replicas": [{"index": r.index, "port": r.port,
                               "pid": r.proc.pid if r.proc else None, "log": str(r.log)}
                              for r in self.members]}
        tmp = self.run_dir / "state.json.tmp"
        tmp.write_text(json.dumps(state, indent=2))
        tmp.replace(self.run_dir / "state.json")  # readers never see half a file

    def watch(self, poll: float = 1.0) -> int:
        """Block until nginx exits (return its code); report replicas that die meanwhile."""
        assert self.nginx_proc is not None
        while True:
            code = self.nginx_proc.poll()
            if code is not None:
                print(f"nginx exited with code {code}; stopping the replicas.",
                      file=sys.stderr, flush=True)
                return code or 1
            for rep in self.members:
                if rep.proc and rep.proc.poll() is not None and not rep.reported_dead:
                    rep.reported_dead = True
                    alive = sum(r.proc is not None and r.proc.poll() is None
                                for r in self.members)
                    print(f"replica {rep.index} (port {rep.port}) exited with code "
                          f"{rep.proc.returncode}; nginx sends its visitors to the {alive} "
                          f"left. Log: {rep.log}", file=sys.stderr, flush=True)
            time.sleep(poll)

    def stop(self, grace: float = 10.0) -> None:
        """Stop nginx (fast shutdown) and every replica; kill what outlives ``grace`` s."""
        procs = [p for p in [self.nginx_proc, *(r.proc for r in self.members)] if p]
        for p in procs:
            if p.poll() is None:
                p.terminate()
        deadline = time.monotonic() + grace
        for p in procs:
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)
        (self.run_dir / "state.json").unlink(missing_ok=True)


def _client_host(listen: str) -> str:
    # A wildcard address is not one to connect to; its loopback is.
    return "127.0.0.1" if listen in ("0.0.0.0", "") else listen


class _Stop(Exception):
    pass


def _raise_stop(signum: int, frame: types.FrameType | None) -> None:
    raise _Stop(signal.Signals(signum).name)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    cores = os.cpu_count() or 1
    ap = argparse.ArgumentParser(prog="python -m deploy.serve_class", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--replicas", type=int, default=cores,
                    help="Streamlit processes (default: one per core, %(default)s here)")
    ap.add_argument("--port", type=int, default=8501, help="port nginx listens on")
    ap.add_argument("--listen", default="0.0.0.0",  # students connect from other machines
                    help="address nginx listens on (default every interface; 127.0.0.1 for "
                         "this machine only)")
    ap.add_argument("--replica-base-port", type=int, default=None,
                    help="first replica port on 127.0.0.1 (default PORT+1)")
    ap.add_argument("--run-dir", type=Path, default=ROOT / "build" / "serve-class",
                    help="where the rendered config, logs and pid files go")
    ap.add_argument("--start-timeout", type=float, default=180.0,
                    help="seconds to wait for the replicas' health checks")
    ap.add_argument("--nginx", default=None, help="nginx executable (default: found on PATH "
                                                 "or in /usr/sbin)")
    args = ap.parse_args(argv)
    if args.replica_base_port is None:
        args.replica_base_port = args.port + 1
    args.threads = max(1, cores // max(1, args.replicas))
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    nginx = args.nginx or find_nginx()
    if nginx is None:
        print("nginx not found: install it (Debian: apt-get install nginx) or pass --nginx.",
              file=sys.stderr)
        return 2
    server = ClassServer(replicas=args.replicas, port=args.port, listen=args.listen,
                         replica_base_port=args.replica_base_port, run_dir=args.run_dir,
                         nginx=nginx, start_timeout=args.start_timeout,
                         threads_per_replica=args.threads)
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, _raise_stop)
    try:
        server.start()
        last = args.replica_base_port + args.replicas - 1
        print(f"DiffGeo Lab: {args.replicas} replica(s) on 127.0.0.1:{args.replica_base_port}"
              f"–{last} behind nginx on http://{_client_host(args.listen)}:{args.port} "
              f"(listening on {args.listen}). Logs in {args.run_dir}. Ctrl-C stops all.",
              flush=True)
        return server.watch()
    except _Stop:
        return 0
    except ServeError as exc:
        print(f"serve-class: {exc}", file=sys.stderr)
        return 1
    finally:
        # Signals during shutdown must not interrupt it.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
