"""Benchmark of the Ricci-curvature lab: Ollivier–Ricci (exact, Sinkhorn) and Forman on kNN
graphs (k = 10) of sphere samples, against GraphRicciCurvature on the same graph in the same run.

Run from the repository root::

    .venv/bin/python benchmarks/curvature.py                      # n = 500, 1000, 2000, 5000
    .venv/bin/python benchmarks/curvature.py --sizes 1000 --repeats 5

Targets (issue 9), 1000 sphere samples, k = 10, medians on this 2-core machine: exact
Ollivier–Ricci <= 1.5 s and at least 2x faster than GraphRicciCurvature; Sinkhorn <= 0.5 s;
Forman <= 0.1 s. Every time is a whole call from the networkx graph to the dict of edge
curvatures (``ollivier_ricci(G)``, ``forman_ricci(G)``), the reference's
``OllivierRicci(G, method="OTD", exp_power=0, proc=1).compute_ricci_curvature_edges()``
(uniform measures as ours, one worker process as ours uses one core). Ours and the reference
run alternately (paired), since other processes on a shared machine move single timings by
several times. The reference is run up to ``--reference-max`` points (default 2000): at 5000
its all-pairs distance matrix is built as 25 million Python floats (about 1 GB) and one run
takes minutes, so it is left out there and the table says so.
"""

from __future__ import annotations

import argparse
import logging
import warnings

import numpy as np
from timing import paired, timed

from geomcore.curvature import forman_ricci, knn_graph, ollivier_ricci, sample_surface

K = 10
def _max_diff(a: dict, b: dict) -> float:
    return max(abs(v - (b[e] if e in b else b[(e[1], e[0])])) for e, v in a.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 1000, 2000, 5000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--reference-max", type=int, default=2000)
    args = parser.parse_args()

    from GraphRicciCurvature.OllivierRicci import OllivierRicci
    logging.getLogger("GraphRicciCurvature").setLevel(logging.ERROR)

    header = (f"{'n':>5} {'edges':>6} | {'exact s':>8} {'GRC s':>8} {'GRC/ours':>8} "
              f"{'max|Δκ|':>8} | {'Sinkhorn s':>10} {'max|Δκ|':>8} {'mean Δκ':>8} | "
              f"{'Forman s':>8} {'F# s':>7}")
    print(f"Sphere samples, kNN graph k = {K}, alpha = 0.5, uniform measures; medians of "
          f"{args.repeats} runs")
    print(header)
    print("-" * len(header))
    for n in args.sizes:
        G = knn_graph(sample_surface("sphere", n, seed=0).X, K)
        repeats = args.repeats if n <= 2000 else 1
        ours = lambda G=G: ollivier_ricci(G, alpha=0.5, method="exact")  # noqa: E731
        if n <= args.reference_max:
            def ref(G=G):
                return OllivierRicci(G, alpha=0.5, method="OTD", exp_power=0, proc=1,
                                     verbose="ERROR").compute_ricci_curvature_edges()
            t_ours, k_ours, t_ref, k_ref = paired(ours, ref, repeats)
            ref_cols = f"{t_ref:8.3f} {t_ref / t_ours:8.1f} {_max_diff(k_ours, k_ref):8.1e}"
        else:
            t_ours, k_ours = timed(ours, repeats)
            ref_cols = f"{'—':>8} {'—':>8} {'—':>8}"
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a Sinkhorn that did not converge fails loudly
            t_sink, k_sink = timed(
                lambda G=G: ollivier_ricci(G, alpha=0.5, method="sinkhorn"), repeats)
        diffs = np.array([k_sink[e] - k_ours[e] for e in k_ours])
        t_forman, _ = timed(lambda G=G: forman_ricci(G), repeats)
        t_aug, _ = timed(lambda G=G: forman_ricci(G, augmented=True), repeats)
        print(f"{n:>5} {G.number_of_edges():>6} | {t_ours:8.3f} {ref_cols} | {t_sink:10.3f} "
              f"{np.abs(diffs).max():8.1e} {diffs.mean():8.1e} | {t_forman:8.3f} {t_aug:7.3f}",
              flush=True)
    print(f"GRC = GraphRicciCurvature (exact, proc=1), run for n <= {args.reference_max} only "
          "(— above: its n² Python-list distance matrix). Δκ: against our exact values.")


if __name__ == "__main__":
    main()
