"""Benchmark of bounded symbolic work on custom surfaces (issue 6 §1).

Run from the repository root::

    .venv/bin/python benchmarks/symbolic.py            # about 2 minutes on 2 busy cores
    .venv/bin/python benchmarks/symbolic.py --timeout 5

What it measures (wall-clock, ``time.perf_counter``, one run per formula):

1. For two or three formulas of each class that used to stall the server (nested powers,
   nested trigonometric compositions in x, y and z, deep nesting in z, variable exponents),
   the page's pipeline: :func:`~geomcore.geometry.surfaces.from_expressions_bounded` (the
   worker's start-up, its derivation and the caller's restoring), the first geodesic
   (``exp_map``, which compiles what the worker derived) and ``.latex()``; or the time to
   the ``FormulaTooComplex`` refusal, and why.
2. The worker's start-up alone (a trivial surface ``z = u v``).
3. The latency of a cheap job (one ``exp_map`` on the catalog sphere, 200 points), alone and
   while another thread waits on a derivation stuck in its worker until its 3 s CPU limit (from the
   worker's start to its kill): median and 95th percentile.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' formula list

from geomcore.expr import FormulaTooComplex  # noqa: E402
from geomcore.geometry import geodesics, surfaces  # noqa: E402
from tests.geomcore.geometry.test_hardening_symbolic import FORMULAS  # noqa: E402

# The formula classes are the ones the tests run through the same pipeline (one list, so the
# benchmark times exactly what the tests check).
CLASSES = FORMULAS


def pipeline(xyz: tuple[str, str, str], u_range: tuple[float, float],
             v_range: tuple[float, float], timeout_s: float) -> str:
    t0 = time.perf_counter()
    try:
        surf = surfaces.from_expressions_bounded(*xyz, u_range, v_range, timeout_s=timeout_s)
    except FormulaTooComplex as exc:
        why = str(exc).split(". Simplify")[0].split(";")[0]
        why = why.split("could not be worked out")[0].rstrip(": ,")
        why = why.removeprefix("z(u, v): ").removeprefix("the formula is too complex")[:80]
        return f"refused after {time.perf_counter() - t0:6.2f} s: {why.strip(' :')}"
    t1 = time.perf_counter()
    p = (0.5 * sum(u_range), 0.5 * sum(v_range))
    geo = geodesics.exp_map(surf, p, (0.1, 0.05), 1.0, n_points=300)
    t2 = time.perf_counter()
    surf.latex()
    t3 = time.perf_counter()
    return (f"derive {t1 - t0:6.2f} s   exp_map {t2 - t1:5.2f} s ({geo.status})   "
            f"latex {1e3 * (t3 - t2):5.2f} ms   total {t3 - t0:6.2f} s")


def cheap_latencies(seconds: float) -> list[float]:
    sphere = surfaces.get("sphere")
    out = []
    stop = time.perf_counter() + seconds
    while time.perf_counter() < stop:
        t0 = time.perf_counter()
        geodesics.exp_map(sphere, (1.0, 0.5), (0.3, 0.2), 1.0)
        out.append(time.perf_counter() - t0)
    return out


def summary(lat: list[float]) -> str:
    return (f"median {1e3 * statistics.median(lat):6.2f} ms   "
            f"p95 {1e3 * float(np.percentile(lat, 95)):6.2f} ms   ({len(lat)} runs)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=10.0, help="time limit, seconds")
    args = parser.parse_args()

    print(f"time limit {args.timeout:g} s, memory limit 2 GiB\n")
    t0 = time.perf_counter()
    surfaces.from_expressions_bounded("u", "v", "u*v", (-1, 1), (-1, 1))
    print(f"worker start-up + trivial derivation (z = u v): {time.perf_counter() - t0:.2f} s\n")
    for kind, cases in CLASSES.items():
        print(kind)
        for xyz, u_range, v_range in cases:
            label = xyz[2] if xyz[:2] == ("u", "v") else " | ".join(xyz)
            print(f"  {label[:70]:70s}\n      {pipeline(xyz, u_range, v_range, args.timeout)}")
    print()

    geodesics.exp_map(surfaces.get("sphere"), (1.0, 0.5), (0.3, 0.2), 1.0)  # compile
    print("cheap job alone:           " + summary(cheap_latencies(3.0)))
    z = "sqrt(1+sqrt(1+sqrt(1+sqrt(1+sqrt(1+sqrt(1+u**2+v**2))))))"  # 5-10 s to derive

    def stuck() -> None:
        try:
            surfaces.from_expressions_bounded("u", "v", z, (-1, 1), (-1, 1), timeout_s=3.0)
        except FormulaTooComplex:
            pass

    thread = threading.Thread(target=stuck)
    thread.start()
    during = []
    sphere = surfaces.get("sphere")
    while thread.is_alive():  # the worker's start-up, 3 s of derivation, the kill
        t1 = time.perf_counter()
        geodesics.exp_map(sphere, (1.0, 0.5), (0.3, 0.2), 1.0)
        during.append(time.perf_counter() - t1)
    print("cheap job, worker stuck:   " + summary(during))


if __name__ == "__main__":
    main()
