"""Benchmark of the Natural-gradient lab: step costs, the default experiment, and BackPACK.

Prints tables of medians. Run from the repository root::

    .venv/bin/python benchmarks/optim.py            # one intra-op thread, as compare() trains
    .venv/bin/python benchmarks/optim.py --threads 2
    python benchmarks/optim.py --device cuda     # where a GPU is present (no BackPACK part)

Targets (issue 3), MLP 2-16-16-2 on moons (n=500, full batch): an exact true-Fisher NGD step
<= 15× an SGD step, CG(10) <= 15×, a K-FAC step <= 4×; 2-64-64-2 (P = 4482) an NGD step
<= 30 ms; compare() with the default optimizers × 300 steps <= 5 s. The reference library
(BackPACK, the ``bench`` extra) computes the same Fisher and K-FAC factors on the same input in
the same run; we print value differences and time ratios.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
import warnings
from collections.abc import Callable

import torch
from torch import nn

from geomcore.optim import fisher, models, tasks
from geomcore.optim.optimizers import KFAC, NaturalGradient
from geomcore.optim.training import DEFAULT_OPTIMIZERS, compare

DEVICE = "cpu"


def _sync() -> None:
    if DEVICE == "cuda":
        torch.cuda.synchronize()


def median_ms(fn: Callable[[], object], *, repeats: int = 50, warmup: int = 5) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        _sync()
        start = time.perf_counter()
        fn()
        _sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def table(title: str, header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    print(f"\n{title}")
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))


def sgd_step(net: nn.Module, X: torch.Tensor, y: torch.Tensor) -> Callable[[], None]:
    opt = torch.optim.SGD(net.parameters(), lr=1e-6)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(net(X), y).backward()
        opt.step()

    return step


def step_costs(X: torch.Tensor, y: torch.Tensor, repeats: int) -> None:
    rows = []
    for sizes, targets in [
        ([2, 16, 16, 2], {"exact": 15.0, "cg": 15.0, "kfac": 4.0}),
        ([2, 64, 64, 2], {"auto": "30 ms"}),
    ]:
        base = models.mlp(sizes, seed=0).to(DEVICE)
        P = models.count_parameters(base)
        sgd_ms = median_ms(sgd_step(copy.deepcopy(base), X, y), repeats=repeats)
        rows.append([f"{sizes}", f"{P}", "SGD", f"{sgd_ms:.3f}", "1.0", "", ""])
        # Tiny learning rates: the parameters stay put, so every repetition does the same work.
        configs = [
            ("NGD exact (true Fisher)", "exact", lambda n: NaturalGradient(n, 1e-9, 1e-3)),
            ("NGD CG(10)", "cg", lambda n: NaturalGradient(n, 1e-9, 1e-3, solver="cg",
                                                           cg_iters=10)),
            ("NGD auto", "auto", lambda n: NaturalGradient(n, 1e-9, 1e-3, solver="auto")),
            ("NGD empirical exact", "", lambda n: NaturalGradient(n, 1e-9, 1e-3,
                                                                  fisher="empirical")),
            ("K-FAC (interval 1)", "kfac", lambda n: KFAC(n, 1e-9, 1e-2, 1)),
            ("K-FAC (interval 10)", "", lambda n: KFAC(n, 1e-9, 1e-2, 10)),
        ]
        for label, key, make in configs:
            opt = make(copy.deepcopy(base))
            reps = repeats if P < 1000 or "K-FAC" in label else max(10, repeats // 3)
            ms = median_ms(lambda opt=opt: opt.step(X, y), repeats=reps)
            target = targets.get(key)
            if target is None:
                verdict, shown = "", ""
            elif isinstance(target, str):
                verdict, shown = ("ok" if ms <= 30.0 else "MISSED"), f"<= {target}"
            else:
                verdict, shown = ("ok" if ms / sgd_ms <= target else "MISSED"), f"<= {target}×"
            solver = getattr(opt, "last_info", {}).get("solver", "")
            rows.append([f"{sizes}", f"{P}", label + (f" [{solver}]" if solver else ""),
                         f"{ms:.3f}", f"{ms / sgd_ms:.1f}", shown, verdict])
    table("Step cost, moons n=500 full batch (median ms; ratio to an SGD step)",
          ["sizes", "P", "step", "ms", "×SGD", "target", ""], rows)


def solver_crossover(X: torch.Tensor, y: torch.Tensor) -> None:
    """Direct solve vs CG(10) as the network widens: where solver='auto' should switch."""
    rows = []
    for width in (8, 16, 32, 64, 96, 128):
        net = models.mlp([2, width, width, 2], seed=0).to(DEVICE)
        P = models.count_parameters(net)
        m = X.shape[0]
        cost = (float(P) ** 2 * m + P**3 / 3) if P <= m else (
            float(m) ** 2 * (3 + 2 * width + 2 + 2 * width + 2) + m**3 / 3)
        exact = median_ms(lambda net=net: fisher.natural_gradient(net, X, y, 1e-3), repeats=9,
                          warmup=2)
        cg = median_ms(lambda net=net: fisher.natural_gradient(net, X, y, 1e-3, solver="cg",
                                                               cg_iters=10),
                       repeats=9, warmup=2)
        auto = fisher.natural_gradient_step(net, X, y, 1e-3, solver="auto").solver
        rows.append([str(width), str(P), "primal" if P <= m else "dual", f"{cost:.2e}",
                     f"{exact:.2f}", f"{cg:.2f}", auto])
    table(f"Direct vs CG(10) natural gradient (ms); auto switches above "
          f"{fisher.DIRECT_COST_LIMIT:.1e} multiply-adds",
          ["width", "P", "direct", "cost", "exact ms", "cg10 ms", "auto picks"], rows)


def default_experiment() -> None:
    task = tasks.make_task("moons")
    start = time.perf_counter()
    runs = compare(task, [2, 16, 16, 2], steps=300, device=DEVICE)
    total = time.perf_counter() - start
    sgd_ms = statistics.median(runs["SGD"].wall_time) * 1e3
    rows = []
    for name, h in runs.items():
        ms = statistics.median(h.wall_time) * 1e3
        k = h.steps_to_loss(0.1)
        rows.append([name, h.status, f"{h.loss[-1]:.4f}", f"{h.test_accuracy[-1]:.3f}",
                     str(k), f"{h.elapsed[k]:.3f}" if k is not None else "-", f"{ms:.3f}",
                     f"{ms / sgd_ms:.1f}"])
    table(f"compare(moons, [2,16,16,2], defaults, 300 steps): {total:.2f} s total "
          f"(target <= 5 s: {'ok' if total <= 5 else 'MISSED'})",
          ["optimizer", "status", "final loss", "test acc", "steps to 0.1", "s to 0.1",
           "ms/step", "×SGD"], rows)
    print("spec:", {k: v for k, v in DEFAULT_OPTIMIZERS.items()})


def reparametrisation_gaps() -> None:
    from geomcore.optim import prediction_gap

    task = tasks.make_task("moons")
    rows = []
    for sizes, specs in [
        ([2, 2], {"NGD (λ=1e-8)": {"kind": "ngd", "lr": 0.5, "damping": 1e-8},
                  "SGD": {"kind": "sgd", "lr": 0.5}}),
        ([2, 16, 16, 2], {k: v for k, v in DEFAULT_OPTIMIZERS.items()}),
    ]:
        runs = {c: compare(task, sizes, optimizers=specs, steps=20, reparametrize=c,
                           snapshot_every=20, device=DEVICE) for c in (1.0, 10.0)}
        for name in specs:
            gap = prediction_gap(runs[1.0][name], runs[10.0][name], task.X_train)
            rows.append([str(sizes), name, f"{gap[-1]:.2e}"])
    table("Reparametrisation gap: max |p(c=1) - p(c=10)| on training inputs after 20 steps",
          ["sizes", "optimizer", "gap"], rows)


def _backpack_routes(net: nn.Module, X: torch.Tensor, y: torch.Tensor) -> dict:
    """BackPACK computations of the quantities we compare, on a private extended copy."""
    from backpack import backpack, extend
    from backpack.extensions import KFLR, BatchGrad, SqrtGGNExact

    ext = extend(copy.deepcopy(net))
    loss_fn = extend(nn.CrossEntropyLoss())
    n = X.shape[0]

    def run(extension: object) -> None:
        ext.zero_grad()
        with backpack(extension):
            loss_fn(ext(X), y).backward()

    def true_fisher() -> torch.Tensor:
        run(SqrtGGNExact())
        # sqrt_ggn_exact: [C, N, *param] with GGN (= true Fisher for softmax CE) = V Vᵀ.
        V = torch.cat([p.sqrt_ggn_exact.reshape(-1, p.numel()) for p in ext.parameters()],
                      dim=1)
        return V.T @ V

    def empirical_fisher() -> torch.Tensor:
        run(BatchGrad())
        # grad_batch holds per-sample gradients of the *mean* loss: scale back by n.
        B = torch.cat([p.grad_batch.reshape(n, -1) for p in ext.parameters()], dim=1)
        return B.T @ B * n

    def kflr() -> list:
        run(KFLR())
        return [layer.weight.kflr for layer in models.linear_layers(ext)]

    return {"true": true_fisher, "empirical": empirical_fisher, "kfac": kflr}


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max())


def backpack_comparison(X: torch.Tensor, y: torch.Tensor, repeats: int) -> None:
    try:
        import backpack  # noqa: F401
    except ImportError:
        print("\nBackPACK is not installed (pip install the 'bench' extra); skipping.")
        return
    warnings.filterwarnings("ignore", message="Full backward hook")
    rows = []
    for sizes in ([2, 16, 16, 2], [2, 64, 64, 2]):
        net = models.mlp(sizes, seed=0)
        ref = _backpack_routes(net, X, y)
        ours = {
            "true": lambda net=net: fisher.fisher_matrix(net, X),
            "empirical": lambda net=net: fisher.fisher_matrix(net, X, "empirical", y=y),
            "kfac": lambda net=net: fisher.kfac_factors(net, X),
        }
        diffs = {
            "true": _rel,
            "empirical": _rel,
            "kfac": lambda a, b: max(max(_rel(f.G, g), _rel(f.A[:-1, :-1], aa))
                                     for f, (g, aa) in zip(a, b, strict=True)),
        }
        labels = {"true": "true Fisher (P×P)", "empirical": "empirical Fisher (P×P)",
                  "kfac": "K-FAC factors (true/KFLR)"}
        for key, label in labels.items():
            reps = repeats if sizes[1] <= 16 else max(5, repeats // 10)
            t_ours = median_ms(ours[key], repeats=reps, warmup=2)
            t_ref = median_ms(ref[key], repeats=reps, warmup=2)
            rows.append([str(sizes), label, f"{t_ours:.2f}", f"{t_ref:.2f}",
                         f"{t_ours / t_ref:.2f}", f"{diffs[key](ours[key](), ref[key]()):.1e}"])
    table("Against BackPACK (same input, same run): time ratio < 1 means we are faster",
          ["sizes", "quantity", "ours ms", "BackPACK ms", "ours/BackPACK", "max rel diff"],
          rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads for the step timings (compare() uses 1)")
    parser.add_argument("--repeats", type=int, default=60)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    args = parser.parse_args()
    global DEVICE
    DEVICE = args.device
    torch.set_num_threads(args.threads)
    task = tasks.make_task("moons")
    X = torch.tensor(task.X_train, device=DEVICE)
    y = torch.tensor(task.y_train, device=DEVICE)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), "
          f"device {DEVICE}" + (f" ({torch.cuda.get_device_name()})" if DEVICE == "cuda"
                                 else "") + ", float64")
    step_costs(X, y, args.repeats)
    solver_crossover(X, y)
    default_experiment()
    reparametrisation_gaps()
    if DEVICE == "cpu":
        backpack_comparison(X, y, args.repeats)


if __name__ == "__main__":
    main()
