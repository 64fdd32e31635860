"""Memory of one replica: start `serve_class` with one replica, open Home and each lab once in
headless Chromium through nginx, and print the replica's resident set size after each page.

    python -m deploy.measure_rss [--port 18700]

Needs nginx and chromium (the browser tests' Playwright). The figure goes into the README's
"Serving a class" section: a department multiplies it by REPLICAS.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dashboard.labs import LABS
from deploy.serve_class import ROOT

# Same idea as tests/e2e/helpers.wait_idle: no running indicator, twice.
_IDLE_JS = ("() => !document.querySelector('[data-testid=\"stStatusWidget\"] "
            "[data-testid=\"stStatusWidgetRunningIcon\"]')")


def rss_mib(pid: int) -> float:
    """Resident set size of ``pid`` in MiB, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (nginx's workers), from /proc."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=18700)
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per page, at most")
    args = ap.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("chromium not found", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    run_dir = Path(tempfile.mkdtemp(prefix="measure-rss-"))
    proc = subprocess.Popen([sys.executable, "-m", "deploy.serve_class", "--replicas", "1",
                             "--port", str(args.port), "--listen", "127.0.0.1",
                             "--run-dir", str(run_dir)], cwd=ROOT)
    try:
        deadline = time.monotonic() + 180
        while not (run_dir / "state.json").exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                print("serve_class did not start", file=sys.stderr)
                return 1
            time.sleep(0.3)
        state = json.loads((run_dir / "state.json").read_text())
        pid = state["replicas"][0]["pid"]
        url = f"http://127.0.0.1:{args.port}"
        print(f"{'after':<32} {'replica RSS':>12}  {'page opened in':>14}")
        print(f"{'start (no session)':<32} {rss_mib(pid):>8.0f} MiB")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, headless=True,
                                         args=["--no-sandbox", "--disable-gpu",
                                               "--disable-dev-shm-usage"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            for title, path in [("Home", ""), *((lab.title, lab.slug) for lab in LABS)]:
                t0 = time.perf_counter()
                page.goto(f"{url}/{path}", wait_until="domcontentloaded")
                page.wait_for_selector('[data-testid="stApp"]', timeout=args.timeout * 1000)
                if path:  # a lab: wait for its first chart, then for the page to settle
                    page.wait_for_selector(".js-plotly-plot .main-svg",
                                           timeout=args.timeout * 1000)
                for _ in range(2):
                    page.wait_for_timeout(1000)
                    page.wait_for_function(_IDLE_JS, timeout=args.timeout * 1000)
                elapsed = time.perf_counter() - t0
                charts = page.locator(".js-plotly-plot").count()
                print(f"{title:<32} {rss_mib(pid):>8.0f} MiB  {elapsed:>12.1f} s"
                      f"  {charts} chart(s)", flush=True)
            browser.close()
        nginx = [state["nginx_pid"], *children(state["nginx_pid"])]
        print(f"nginx (master and {len(nginx) - 1} worker): "
              f"{sum(rss_mib(p) for p in nginx):.1f} MiB")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(run_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
