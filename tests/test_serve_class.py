"""deploy/serve_class.py without a browser: the rendered nginx configuration and the checks that
run before anything starts. (tests/e2e/test_serving_replicas.py runs the whole thing.)"""

from __future__ import annotations

import os
import re
import socket
import subprocess
from pathlib import Path

import pytest

from deploy.serve_class import (
    AFFINITY_COOKIE,
    TEMPLATE,
    ClassServer,
    ServeError,
    find_nginx,
    parse_args,
    render_config,
    replica_command,
)


def _render(tmp_path: Path, ports: list[int]) -> str:
    return render_config(TEMPLATE.read_text(), listen="127.0.0.1", port=18080,
                         replica_ports=ports, run_dir=tmp_path)


def test_config_lists_each_replica_once_and_keeps_everything_under_the_run_dir(tmp_path):
    text = _render(tmp_path, [18081, 18082, 18083])
    servers = re.findall(r"^\s*server (127\.0\.0\.1:\d+) max_fails=\d+ fail_timeout=\w+;",
                         text, flags=re.M)
    assert servers == ["127.0.0.1:18081", "127.0.0.1:18082", "127.0.0.1:18083"]
    assert re.findall(r"@[A-Z_]+@", text) == ["@NAME@"]  # only the header comment's mention
    assert "listen 127.0.0.1:18080;" in text
    assert f"hash $cookie_{AFFINITY_COOKIE}" not in text  # the key falls back to $request_id
    assert f"map $cookie_{AFFINITY_COOKIE} $affinity_key" in text
    assert "proxy_set_header Host $http_host;" in text
    # every path nginx writes: pid, logs, temporary files
    paths = re.findall(r"^\s*(?:pid|error_log|access_log|\w+_temp_path) (\S+)", text, flags=re.M)
    assert len(paths) == 8
    assert all(p.rstrip(";").startswith(str(tmp_path.resolve())) for p in paths), paths
    # self-contained: nothing read from /etc/nginx
    assert re.search(r"^\s*include\b", text, flags=re.M) is None


def test_config_is_accepted_by_nginx(tmp_path):
    nginx = find_nginx()
    if nginx is None:
        if os.environ.get("CI"):
            pytest.fail("nginx is missing under CI; .ci/run should have installed it")
        pytest.skip("no nginx: install Debian's nginx")
    (tmp_path / "temp").mkdir()
    conf = tmp_path / "nginx.conf"
    conf.write_text(_render(tmp_path, [18081, 18082]))
    out = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-c", str(conf),
                          "-e", str(tmp_path / "error.log")],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr


def test_render_refuses_no_replicas(tmp_path):
    with pytest.raises(ValueError, match="at least one replica"):
        _render(tmp_path, [])


def test_replica_listens_on_loopback_headless_with_cors_and_xsrf_on():
    cmd = replica_command(18081)
    pairs = dict(zip(cmd[5::2], cmd[6::2], strict=True))
    assert pairs["--server.address"] == "127.0.0.1"
    assert pairs["--server.port"] == "18081"
    assert pairs["--server.headless"] == "true"
    assert pairs["--server.enableCORS"] == "true"
    assert pairs["--server.enableXsrfProtection"] == "true"


def _server(tmp_path: Path, **kw) -> ClassServer:
    args = {"replicas": 2, "port": 18080, "listen": "127.0.0.1", "replica_base_port": 18081,
            "run_dir": tmp_path, "nginx": "nginx"}
    args.update(kw)
    return ClassServer(**args)


@pytest.mark.parametrize("replicas", [0, -1, 65])
def test_replica_count_is_bounded(tmp_path, replicas):
    with pytest.raises(ServeError, match="REPLICAS must be between 1 and 64"):
        _server(tmp_path, replicas=replicas).check()


def test_ports_past_65535_and_overlaps_are_refused(tmp_path):
    with pytest.raises(ServeError, match="outside 1–65535"):
        _server(tmp_path, replica_base_port=65535).check()
    with pytest.raises(ServeError, match="falls among the replica ports"):
        _server(tmp_path, port=18082).check()


def test_a_taken_port_is_named(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        taken = s.getsockname()[1]
        with pytest.raises(ServeError, match=rf"\[{taken}\] already in use"):
            _server(tmp_path, port=taken, replica_base_port=taken - 10 if taken > 1034
                    else taken + 10).check()


def test_defaults_put_the_replicas_right_after_the_proxy_port():
    args = parse_args(["--replicas", "3", "--port", "8080"])
    assert (args.replicas, args.port, args.replica_base_port) == (3, 8080, 8081)
    assert args.threads >= 1
