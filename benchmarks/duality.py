"""Benchmark of the duality lab: optimiser paths on the simplex, Fisher–Rao distances against
geomstats, and the page's warm rerun.

Run from the repository root::

    .venv/bin/python benchmarks/duality.py            # about 30 s on 2 busy cores
    .venv/bin/python benchmarks/duality.py --no-page  # without the AppTest rerun section

What it measures (medians of ``--repeats`` timings, ``time.perf_counter``, after a warm-up):

1. ``geomcore.duality.optimize``: 1000-step paths of all five methods (GD in θ, projected GD,
   mirror descent, NGD in θ, NGD in η) from one start on the 2-simplex, for three losses, with
   the closed-form gradient (a :class:`ClosedFormLoss`) and with torch autograd (the same loss
   as a plain function). Target: the five paths together ≤ 50 ms with the closed form. The
   column "EG − NGDθ" is the largest distance between those two paths (they are equal in
   exact arithmetic).
2. geomstats (the ``bench`` extra) against us on 1000 seeded random pairs in the same run:
   ``CategoricalDistributions(dim=2).metric.dist`` and
   ``UnivariateNormalDistributions().metric.dist`` (points ``(μ, σ)``) against
   ``fisher_rao_distance``; time ratio and the largest relative difference.
3. The page (streamlit AppTest, as ``benchmarks/dashboard.py`` measures the other labs): warm
   rerun of the whole script after one widget change per view, each to a value not seen
   before. Target ≤ 300 ms.

geomstats 2.8 imports ``numpy.trapz``, which numpy 2 removed; a one-line alias is installed
before geomstats is imported. Another process on the machine makes timings noisy: rerun.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from timing import timed

from geomcore.duality import (
    METHODS,
    Categorical,
    CrossEntropyLoss,
    Gaussian1D,
    LinearLoss,
    SquaredLoss,
    optimize,
)

TARGET_PATHS_MS = 50.0
TARGET_RERUN_MS = 300.0
STEPS = 1000
START = (0.8, 0.1, 0.1)

def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    print(f"\n### {title}\n")
    print("| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")


def paths_section(repeats: int) -> None:
    simplex = Categorical(3)
    target = np.array([0.2, 0.3, 0.5])
    losses = {"cross-entropy": CrossEntropyLoss(target), "squared": SquaredLoss(target),
              "linear": LinearLoss([1.0, 0.5, 2.0])}
    rows = []
    for name, loss in losses.items():
        for route, fn in (("closed form", loss), ("autograd", lambda p, f=loss: f(p))):
            reps = repeats if route == "closed form" else max(1, repeats // 3)

            def run_all(fn: Any = fn) -> dict[str, Any]:
                return {m: optimize(fn, simplex, START, m, STEPS, 0.1) for m in METHODS}

            seconds, paths = timed(run_all, reps)
            ms = 1e3 * seconds
            eg, ngd = paths["mirror_descent"], paths["ngd_natural"]
            n = min(eg.points.shape[0], ngd.points.shape[0])
            gap = float(np.abs(eg.points[:n] - ngd.points[:n]).max())
            statuses = ", ".join(sorted({p.status for p in paths.values()}))
            ok = "yes" if ms <= TARGET_PATHS_MS else "no"
            rows.append([name, route, f"{ms:.1f}", ok if route == "closed form" else "–",
                         f"{gap:.1e}", statuses])
    print_table(f"1. Five optimiser paths of {STEPS} steps together (target ≤ "
                f"{TARGET_PATHS_MS:g} ms with the closed form)",
                ["loss", "gradient", "ms (5 paths)", "≤ target", "EG − NGDθ", "statuses"], rows)


def _geomstats() -> Any:
    if not hasattr(np, "trapz"):
        np.trapz = np.trapezoid  # type: ignore[attr-defined]  # noqa: NPY201
    os.environ.setdefault("GEOMSTATS_BACKEND", "numpy")
    try:
        from geomstats.information_geometry.categorical import CategoricalDistributions
        from geomstats.information_geometry.normal import UnivariateNormalDistributions
    except ImportError:
        return None
    return CategoricalDistributions(dim=2), UnivariateNormalDistributions()


def fisher_rao_section(repeats: int, n: int = 1000) -> None:
    refs = _geomstats()
    if refs is None:
        print("\n### 2. Fisher–Rao distances vs geomstats\n\ngeomstats not installed, skipped")
        return
    cat_ref, normal_ref = refs
    rng = np.random.default_rng(0)
    p, q = rng.dirichlet(np.ones(3), n), rng.dirichlet(np.ones(3), n)
    a = np.column_stack([rng.uniform(-3, 3, n), rng.uniform(0.1, 4, n)])
    b = np.column_stack([rng.uniform(-3, 3, n), rng.uniform(0.1, 4, n)])
    rows = []
    for name, ours, theirs in (
        ("categorical (k = 3)", lambda: Categorical(3).fisher_rao_distance(p, q),
         lambda: cat_ref.metric.dist(p, q)),
        ("normal (μ, σ)", lambda: Gaussian1D().fisher_rao_distance(a, b),
         lambda: normal_ref.metric.dist(a, b)),
    ):
        ours_s, d_ours = timed(ours, repeats)
        ref_s, d_ref = timed(theirs, repeats)
        ours_ms, ref_ms = 1e3 * ours_s, 1e3 * ref_s
        rel = float(np.max(np.abs(d_ours - d_ref) / np.abs(d_ref)))
        rows.append([name, f"{ours_ms:.3f}", f"{ref_ms:.3f}", f"{ref_ms / ours_ms:.1f}×",
                     f"{rel:.1e}"])
    print_table(f"2. Fisher–Rao distance on {n} random pairs, one vectorised call each",
                ["family", "ours ms", "geomstats ms", "geomstats / ours", "max rel. diff"],
                rows)


def page_section(repeats: int) -> None:
    from streamlit.testing.v1 import AppTest

    # Run as a script, this folder is sys.path[0], and its dashboard.py (the other labs' rerun
    # benchmark) would shadow the `dashboard` package the app imports.
    here, root = Path(__file__).resolve().parent, Path(__file__).resolve().parents[1]
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    app = str(root / "dashboard" / "app.py")
    at = AppTest.from_file(app, default_timeout=300)
    at.run()
    at.switch_page("views/duality.py")
    at.run()

    def move_start(i: int) -> None:
        at.slider(key="dual_start_1").set_value(round(0.5 + 0.01 * i, 2))

    def view_only(i: int) -> None:
        at.toggle(key="dual_show_contours").set_value(i % 2 == 0)

    def alpha(i: int) -> None:
        at.slider(key="dual_alpha").set_value(round(-0.9 + 0.15 * i, 2))

    def pythagoras(i: int) -> None:
        at.slider(key="dual_r_w").set_value(round(-2.0 + 0.3 * i, 1))

    def em_step(i: int) -> None:
        at.slider(key="dual_em_step").set_value(1 + i)

    rows = []
    for view, name, change in (
            ("optimisers", "move the optimisers' start (5 new paths)", move_start),
            ("optimisers", "contour lines on/off (view only)", view_only),
            ("geodesics", "move the α slider (a new α-geodesic solve)", alpha),
            ("pythagoras", "move r along the family", pythagoras),
            ("em", "show another EM step (view only)", em_step)):
        at.radio(key="dual_view").set_value(view)
        at.run()
        times = []
        for i in range(repeats):
            change(i)
            t0 = time.perf_counter()
            at.run()
            times.append(1e3 * (time.perf_counter() - t0))
            if at.exception:
                raise RuntimeError(at.exception[0].value)
        ms = statistics.median(times)
        rows.append([name, f"{ms:.0f}", "yes" if ms <= TARGET_RERUN_MS else "no"])
    print_table(f"3. Page warm rerun (AppTest, median of {repeats}; target ≤ "
                f"{TARGET_RERUN_MS:g} ms)", ["change", "ms", "≤ target"], rows)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--no-page", action="store_true", help="skip the AppTest section")
    args = parser.parse_args(argv)
    paths_section(args.repeats)
    fisher_rao_section(args.repeats)
    if not args.no_page:
        page_section(args.repeats)


if __name__ == "__main__":
    main()
