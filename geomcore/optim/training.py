"""Train one network with several optimizers side by side and record what the lab plots.

:func:`compare` starts every optimizer from the same initial weights and feeds it the same
mini-batches, so differences in the curves come from the optimizers alone. Each run returns a
:class:`TrainingHistory`; a run that produces NaN/inf stops with ``status="diverged"`` while the
others go on. Inputs come from a web page, so every size is validated and bounded.
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from geomcore._validation import check_int, check_seed
from geomcore.optim import models
from geomcore.optim._functional import MAX_DENSE_SIZE, FisherError
from geomcore.optim._specs import (
    OPTIMIZER_KINDS,
    OptimizerKind,
    TrainingError,
    build_optimizer,
    resolve_specs,
)
from geomcore.optim.fisher import DIRECT_COST_LIMIT, MAX_G_ENTRIES
from geomcore.optim.optimizers import KFAC, NaturalGradient
from geomcore.optim.tasks import Task

__all__ = [
    "DEFAULT_OPTIMIZERS",
    "MAX_STEPS",
    "OPTIMIZER_KINDS",
    "OptimizerKind",
    "RunStatus",
    "TrainingError",
    "TrainingHistory",
    "compare",
    "summary_table",
    "check_budget",
    "training_seconds",
]

MAX_STEPS = 2000
"""Most training steps :func:`compare` runs per optimizer."""
DIVERGENCE_FACTOR = 100.0
"""A run also counts as diverged once its training loss exceeds ``100·log C``: a hundred times
the loss of the uniform prediction, where saturated logits keep the loss finite but huge."""

DEFAULT_OPTIMIZERS: dict[str, dict[str, Any]] = {
    "SGD": {"kind": "sgd", "lr": 1.0},
    "Momentum": {"kind": "momentum", "lr": 0.1, "momentum": 0.9},
    "Adam": {"kind": "adam", "lr": 0.03},
    "NGD": {"kind": "ngd", "lr": 0.5, "damping": 1e-3, "fisher": "true", "solver": "exact",
            "kl_clip": 0.05},
    "K-FAC": {"kind": "kfac", "lr": 0.3, "damping": 1e-2, "update_interval": 1,
              "kl_clip": 0.05},
}
"""The page's defaults, one per kind, each tuned to reach a training loss of 0.1 within 300
full-batch steps on ``make_task("moons")`` with a 2-16-16-2 tanh MLP (see the tests)."""

RunStatus = Literal["ok", "diverged", "failed"]
"""How a run ended (see :attr:`TrainingHistory.status`)."""


@dataclass
class TrainingHistory:
    """The record of one optimizer's run.

    Indexing: ``loss``, ``train_accuracy`` and ``test_accuracy`` have one entry per parameter
    state, ``k = 0 .. steps`` (entry 0 is the shared initial network); ``wall_time``,
    ``grad_norm``, ``step_norm`` and ``kl`` have one entry per step (entry ``k`` is the step from
    state ``k`` to ``k + 1``). Use :attr:`elapsed` to plot loss against time.

    Attributes
    ----------
    name : str
        Display name (the key in ``optimizers``).
    spec : dict
        The full spec used, defaults filled in.
    loss : list of float
        Mean cross-entropy on the whole training set.
    train_accuracy, test_accuracy : list of float
        Fraction of correctly classified training / test points.
    wall_time : list of float
        Seconds spent in each optimizer step (forward, backward and update; not the evaluation).
    grad_norm : list of float
        ``‖∇L_batch‖`` at the start of each step.
    step_norm : list of float
        ``‖θ_{k+1} - θ_k‖`` (in the stored coordinates).
    kl : list of float
        ``mean_i KL(p_k(·|x_i) ‖ p_{k+1}(·|x_i))`` over the training inputs.
    snapshots : np.ndarray
        Flattened parameters, ``shape=[S, P]``, at :attr:`snapshot_steps`.
    snapshot_steps : np.ndarray
        Step index of each snapshot, ``shape=[S]`` (0, every ``snapshot_every``, and the last).
    status : str
        ``"ok"``, ``"diverged"`` (NaN/inf loss or parameters, or a loss above
        ``DIVERGENCE_FACTOR · log C``) or ``"failed"`` (the step raised,
        e.g. a Fisher that the damping cannot make positive definite).
    message : str
        Why the run stopped early, naming the step; empty when ``status == "ok"``.
    model : nn.Module
        The network after the last completed step.
    """

    name: str
    spec: dict[str, Any]
    model: nn.Module
    loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    wall_time: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    step_norm: list[float] = field(default_factory=list)
    kl: list[float] = field(default_factory=list)
    snapshots: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    snapshot_steps: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    status: RunStatus = "ok"
    message: str = ""

    @property
    def steps(self) -> int:
        """Number of completed steps."""
        return len(self.wall_time)

    @property
    def elapsed(self) -> np.ndarray:
        """Cumulative step time in seconds, aligned with :attr:`loss` (starts at 0)."""
        return np.concatenate([[0.0], np.cumsum(self.wall_time)])

    def steps_to_loss(self, target: float) -> int | None:
        """First step count ``k`` with ``loss[k] <= target``, or ``None`` if never reached."""
        hits = np.flatnonzero(np.asarray(self.loss) <= target)
        return int(hits[0]) if hits.size else None


def compare(
    task: Task,
    sizes: list[int] | tuple[int, ...],
    activation: str = "tanh",
    *,
    optimizers: Mapping[str, Mapping[str, Any]] | None = None,
    steps: int = 200,
    batch_size: int | None = None,
    seed: int = 0,
    reparametrize: float = 1.0,
    snapshot_every: int = 10,
    progress: Callable[[float], None] | None = None,
    device: str = "cpu",
    max_seconds: float | None = None,
) -> dict[str, TrainingHistory]:
    """Train ``mlp(sizes, activation)`` on ``task`` once per optimizer, from the same start.

    Parameters
    ----------
    task : Task
        Data; ``sizes[0]`` must equal its number of features and ``sizes[-1]`` its classes.
    sizes : list of int
        Layer sizes for :func:`~geomcore.optim.models.mlp` (hidden widths ``<= 256``).
    activation : str
        Hidden activation.
    optimizers : mapping or None
        Display name → spec, e.g. ``{"kind": "ngd", "lr": 0.5, "damping": 1e-4,
        "fisher": "true", "solver": "exact"}``. Kinds and their keys (defaults in brackets):
        ``sgd``: lr [1.0]; ``momentum``: lr [0.1], momentum [0.9], nesterov [False]; ``adam``:
        lr [0.03], beta1 [0.9], beta2 [0.999], eps [1e-8]; ``ngd``: lr [0.5], damping [1e-3],
        fisher ["true"], solver ["exact"], cg_iters [10], kl_clip [None], n_samples [1];
        ``kfac``: lr [0.3], damping [1e-2], update_interval [1], fisher ["true"], factor_decay
        [0], kl_clip [None], n_samples [1].
        ``None`` uses :data:`DEFAULT_OPTIMIZERS`. At most 8.
    steps : int
        Steps per optimizer, ``1..2000``.
    batch_size : int or None
        Mini-batch size (``1..n_train``); ``None`` is full batch. Batches are drawn by epochs of
        a seeded permutation, the same sequence for every optimizer.
    seed : int
        Seed of the initial weights, the batches and Monte-Carlo Fisher labels.
    reparametrize : float
        ``c`` in ``[1e-3, 1e3]``: train the same network with its first-layer weight stored as
        ``c·W`` (see :func:`~geomcore.optim.models.reparametrize`).
    snapshot_every : int
        Keep the flattened parameters every this many steps (``1..2000``).
    progress : callable or None
        Called with the fraction of all steps done, in ``[0, 1]``, ending with ``1.0``.
    device : str
        ``"cpu"`` or ``"cuda"`` (when available); the networks and data live there, histories
        come back as numpy/CPU floats.
    max_seconds : float or None
        Refuse (:class:`TrainingError`, naming the most steps that fit) a request whose
        :func:`training_seconds` estimate exceeds this; ``None``: no bound.

    Returns
    -------
    dict of str to TrainingHistory
        In the order of ``optimizers``.
    """
    if not isinstance(task, Task):
        raise TrainingError(f"task must be a Task from make_task, got {type(task).__name__}")
    try:
        sizes = models.check_sizes(sizes)
    except models.ModelError as err:
        raise TrainingError(str(err)) from err
    if sizes[0] != task.n_features:
        raise TrainingError(
            f"sizes[0]={sizes[0]} does not match the task's {task.n_features} input features"
        )
    if sizes[-1] != task.n_classes:
        raise TrainingError(
            f"sizes[-1]={sizes[-1]} does not match the task's {task.n_classes} classes"
        )
    steps = check_int("steps", steps, 1, MAX_STEPS, error=TrainingError)
    if batch_size is not None:
        batch_size = check_int("batch_size", batch_size, 1, task.n_train, error=TrainingError)
    seed = check_seed(seed, error=TrainingError)
    snapshot_every = check_int("snapshot_every", snapshot_every, 1, MAX_STEPS,
                               error=TrainingError)
    c = float(reparametrize)
    if not (math.isfinite(c) and 1e-3 <= c <= 1e3):
        raise TrainingError(f"reparametrize={reparametrize!r} is out of range; use [1e-3, 1e3]")
    specs = resolve_specs(DEFAULT_OPTIMIZERS if optimizers is None else optimizers)
    if max_seconds is not None:
        check_budget(task, sizes, specs, steps, batch_size, max_seconds)
    if device not in ("cpu", "cuda") or (device == "cuda" and not torch.cuda.is_available()):
        raise TrainingError(f"device={device!r} is not available; use 'cpu'"
                            + (" or 'cuda'" if torch.cuda.is_available() else ""))

    try:
        base: nn.Module = models.mlp(sizes, activation, seed=seed)
    except models.ModelError as err:
        raise TrainingError(str(err)) from err
    base = models.reparametrize(base, c).to(device)
    # Build every optimizer before training so that a bad spec fails fast with its name.
    runs = []
    for name, spec in specs.items():
        model = copy.deepcopy(base)
        runs.append((name, spec, model, build_optimizer(name, spec, model, task, batch_size,
                                                          seed)))

    data = _Data(task, base)
    total = steps * len(runs)
    report = _Progress(progress, total)
    histories: dict[str, TrainingHistory] = {}
    with single_threaded(data.cuda):
        for i, (name, spec, model, opt) in enumerate(runs):
            histories[name] = _train_one(
                name, spec, model, opt, data, steps, batch_size, seed, snapshot_every,
                report.offset(i * steps),
            )
            report((i + 1) * steps)
    report.finish()
    return histories


STEP_OVERHEAD_S = 1.2e-3
"""CPU seconds of one optimizer step of a tiny network (Python and torch overhead, with the
evaluation after it), measured on the 2-core machine the lab is served from (SGD, Momentum and
Adam on moons with 2-16-16-2: 1.1-1.25 ms a step)."""
CURVATURE_STEP_OVERHEAD_S = 1.5e-3
"""Extra CPU seconds of an NGD or K-FAC step of a tiny network (building the Fisher factor,
the solve's bookkeeping)."""
DENSE_S_PER_MA = 0.08e-9
"""CPU seconds per multiply-add of NGD's Fisher factor and solve (large matrix products and
Cholesky factorisations, at BLAS speed on one core)."""
OTHER_S_PER_MA = 0.3e-9
"""CPU seconds per multiply-add of everything else (forward, backward, evaluation, K-FAC's
factors): smaller products, slower per multiply-add. Both rates are fitted to one-thread runs
of every optimizer kind on moons (n = 500, 5000) and digits (n = 500, 1500) with networks up
to 64-64-64; the estimate is 1-2.5 times the measured time (the first steps a process runs also
pay torch's warm-up, about 0.7 s once)."""


def training_seconds(
    task: Task,
    sizes: list[int] | tuple[int, ...],
    optimizers: Mapping[str, Mapping[str, Any]],
    steps: int,
    batch_size: int | None = None,
) -> float:
    """Estimated CPU seconds of :func:`compare` on one thread, for bounding requests.

    With ``P = Σ_l (in_l + 1)·out_l`` parameters, ``b`` inputs per batch, ``n_e`` training and
    test inputs (evaluated after every step) and ``m = b·r`` Fisher rows (``r = C − 1`` for
    the true Fisher, ``n_samples`` for Monte-Carlo, 1 for the empirical one), one step of one
    optimizer costs :data:`STEP_OVERHEAD_S` (and :data:`CURVATURE_STEP_OVERHEAD_S` for NGD and
    K-FAC) plus, in multiply-adds,

    * every kind: ``(n_e + 3b)·P`` (forward, backward, evaluation);
    * NGD, at :data:`DENSE_S_PER_MA`: ``2mP`` (the Fisher factor) and the solve, as
      :func:`~geomcore.optim.fisher.natural_gradient_step` chooses it: ``P²m/2 + P³/3``
      (primal, half of a symmetric product) or ``m²·Σ_l(in_l + 1 + out_l) + m³/3`` (dual)
      for a direct solve, ``2mP`` per CG iteration (and ``2bP`` at the other rate);
    * K-FAC: ``2mP + Σ_l b(in_l + 1)² + m·out_l² + out_l(in_l + 1)(in_l + 1 + out_l)`` and
      ``((in_l + 1)³ + out_l³)/interval`` for the factor inverses;

    the rest at :data:`OTHER_S_PER_MA`. ``sizes`` and ``optimizers`` as in :func:`compare`.
    """
    specs = resolve_specs(optimizers)
    layers = list(zip(sizes[:-1], sizes[1:], strict=True))
    P = float(sum((i + 1) * o for i, o in layers))
    b = float(task.n_train if batch_size is None else batch_size)
    base = (task.n_train + task.X_test.shape[0] + 3 * b) * P
    C = sizes[-1]
    total = 0.0
    for spec in specs.values():
        other, dense, overhead = base, 0.0, STEP_OVERHEAD_S
        if spec["kind"] in ("ngd", "kfac"):
            overhead += CURVATURE_STEP_OVERHEAD_S
            r = {"true": max(C - 1, 1), "empirical": 1}.get(spec["fisher"], spec["n_samples"])
            m = b * r
            if spec["kind"] == "ngd":
                widths = float(sum(i + 1 + o for i, o in layers))
                solve_dense, solve_other = _ngd_solve_work(spec, P, m, b, widths)
                dense = 2 * m * P + solve_dense
                other += solve_other
            else:
                interval = float(spec["update_interval"])
                other += 2 * m * P + sum(
                    b * (i + 1) ** 2 + m * o ** 2 + o * (i + 1) * (i + 1 + o)
                    + ((i + 1) ** 3 + o ** 3) / interval for i, o in layers)
        total += steps * (overhead + OTHER_S_PER_MA * other + DENSE_S_PER_MA * dense)
    return total


def _ngd_solve_work(spec: Mapping[str, Any], P: float, m: float, b: float, widths: float
                    ) -> tuple[float, float]:
    """Multiply-adds of one natural-gradient solve (dense, other), with the solver that
    :func:`~geomcore.optim.fisher.natural_gradient_step` picks (the same tests)."""
    primal = P <= m
    if primal:
        fits = P <= MAX_DENSE_SIZE and m * P <= MAX_G_ENTRIES
        direct = P ** 2 * m + P ** 3 / 3
    else:
        fits = m <= MAX_DENSE_SIZE
        direct = m ** 2 * widths + m ** 3 / 3
    solver = spec["solver"]
    if solver == "auto":
        solver = "exact" if fits and direct <= DIRECT_COST_LIMIT and (
            primal or spec["damping"] > 0) else "cg"
    if solver == "exact":
        if not fits:
            return 0.0, 0.0  # too large: the run fails at its first step
        # The primal Gram GᵀG is symmetric and only its lower half is formed (lower_gram).
        return (P ** 2 * m / 2 + P ** 3 / 3 if primal else direct), 0.0
    # A CG iteration multiplies by G and Gᵀ: 2mP at matrix speed, and per-sample work on
    # the b inputs (2bP) that does not batch as well (fitted on moons and digits).
    iters = float(spec["cg_iters"])
    return iters * 2 * m * P, iters * 2 * b * P


def check_budget(task: Task, sizes: list[int] | tuple[int, ...],
                 optimizers: Mapping[str, Mapping[str, Any]], steps: int,
                 batch_size: int | None, max_seconds: float, *, trainings: int = 1) -> None:
    """Raise :class:`TrainingError` if ``trainings`` runs of :func:`compare` would take more
    than ``max_seconds`` by :func:`training_seconds`, naming the most steps that fit (or saying
    that not even one does)."""
    seconds = trainings * training_seconds(task, sizes, optimizers, steps, batch_size)
    if seconds <= max_seconds:
        return
    fit = int(max_seconds // (seconds / steps))
    hint = f"use at most {fit} steps" if fit >= 1 else "not even one step fits"
    runs = f"{len(optimizers)} optimizer(s)" + (f" × {trainings} trainings" if trainings > 1
                                                 else "")
    raise TrainingError(
        f"{runs} × {steps} steps on {task.n_train} points with this network would take about "
        f"{seconds:.0f} s of computing, over the {max_seconds:.0f} s one request may use: "
        f"{hint}, or choose fewer points, a smaller network, mini-batches or fewer optimizers "
        "(an exact NGD solve on many points is the dearest)")


@contextlib.contextmanager
def single_threaded(cuda: bool = False) -> Iterator[None]:
    """Run CPU training with one intra-op thread, restoring the previous setting afterwards.

    These networks are tiny: a second thread saves little per step, and on a busy 2-core
    machine (a web server, ``pytest -n 2``) OpenMP's waiting threads made the default
    experiment 3-10× slower in wall time (benchmarks/optim.py measures both). The setting is
    process-wide, so concurrent runs may see it; it changes speed only, never results.
    """
    previous = torch.get_num_threads()
    if not cuda:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def summary_table(
    histories: Mapping[str, TrainingHistory], *, target_loss: float = 0.1,
    reference: str | None = None,
) -> list[dict[str, Any]]:
    """One row per optimizer for the page's table.

    Columns: ``name``, ``status``, ``final_loss``, ``test_accuracy`` (final), ``steps_to_target``
    (``None`` if not reached), ``time_to_target`` (seconds of step time, or ``None``),
    ``ms_per_step`` (median), ``relative_cost`` (median step time over that of ``reference``,
    default the first plain-SGD run, else the first run).
    """
    names = list(histories)
    if reference is None:
        sgd = [n for n in names if histories[n].spec.get("kind") == "sgd"]
        reference = sgd[0] if sgd else (names[0] if names else None)
    ref_ms = (_median_ms(histories[reference]) if reference is not None and reference in histories
              else float("nan"))
    rows = []
    for name, h in histories.items():
        k = h.steps_to_loss(target_loss)
        ms = _median_ms(h)
        rows.append({
            "name": name,
            "status": h.status,
            "final_loss": h.loss[-1] if h.loss else float("nan"),
            "test_accuracy": h.test_accuracy[-1] if h.test_accuracy else float("nan"),
            "steps_to_target": k,
            "time_to_target": None if k is None else float(h.elapsed[k]),
            "ms_per_step": ms,
            "relative_cost": ms / ref_ms if ref_ms > 0 else float("nan"),
        })
    return rows


def _median_ms(h: TrainingHistory) -> float:
    return float(np.median(h.wall_time) * 1e3) if h.wall_time else float("nan")


class _Data:
    """The task's arrays as tensors on the model's device, built once for all optimizers."""

    def __init__(self, task: Task, model: nn.Module) -> None:
        ref = next(model.parameters())
        self.X = torch.as_tensor(task.X_train, dtype=ref.dtype, device=ref.device)
        self.y = torch.as_tensor(task.y_train, device=ref.device).long()
        self.X_test = torch.as_tensor(task.X_test, dtype=ref.dtype, device=ref.device)
        self.y_test = torch.as_tensor(task.y_test, device=ref.device).long()
        self.cuda = ref.device.type == "cuda"


class _Progress:
    def __init__(self, callback: Callable[[float], None] | None, total: int) -> None:
        self.callback = callback
        self.total = max(total, 1)
        self.every = max(1, self.total // 100)  # at most ~100 calls: each may redraw a widget
        self.last = -1

    def __call__(self, done: int) -> None:
        if self.callback is not None and done // self.every != self.last:
            self.last = done // self.every
            self.callback(min(1.0, done / self.total))

    def offset(self, start: int) -> Callable[[int], None]:
        """A callback reporting ``start + k`` steps done when called with ``k``."""
        return lambda k: self(start + k)

    def finish(self) -> None:
        if self.callback is not None:
            self.callback(1.0)


def _train_one(
    name: str, spec: dict[str, Any], model: nn.Module, opt: torch.optim.Optimizer, data: _Data,
    steps: int, batch_size: int | None, seed: int, snapshot_every: int,
    tick: Callable[[int], None],
) -> TrainingHistory:
    h = TrainingHistory(name=name, spec=dict(spec), model=model)
    theta = models.flat_parameters(model)
    log_p, train_acc, loss = _evaluate(model, data.X, data.y)
    h.loss.append(loss)
    h.train_accuracy.append(train_acc)
    h.test_accuracy.append(_evaluate(model, data.X_test, data.y_test)[1])
    snaps, snap_steps = [theta.cpu().numpy()], [0]
    limit = DIVERGENCE_FACTOR * math.log(log_p.shape[1])
    for k, idx in enumerate(_batches(data.X.shape[0], batch_size, steps, seed)):
        if idx is not None:
            idx = idx.to(data.X.device)
        Xb, yb = (data.X, data.y) if idx is None else (data.X[idx], data.y[idx])
        try:
            if data.cuda:
                torch.cuda.synchronize()
            start = time.perf_counter()
            if isinstance(opt, NaturalGradient | KFAC):  # they take the batch, not a closure
                opt.step(Xb, yb)
            else:
                opt.zero_grad(set_to_none=True)
                nn.functional.cross_entropy(model(Xb), yb).backward()
                opt.step()
            if data.cuda:
                torch.cuda.synchronize()
            elapsed = time.perf_counter() - start
        except (FisherError, RuntimeError) as err:  # torch.linalg errors are RuntimeErrors
            h.status, h.message = "failed", f"{name} failed at step {k + 1}: {err}"
            break
        new_theta = models.flat_parameters(model)
        new_log_p, train_acc, loss = _evaluate(model, data.X, data.y)
        what = _divergence(loss, new_theta, limit)
        if what:
            h.status = "diverged"
            h.message = (f"{name} diverged at step {k + 1}: {what}; lower its learning rate "
                         "(or raise its damping)")
            break
        grads = [p.grad for p in model.parameters() if p.grad is not None]
        h.wall_time.append(elapsed)
        h.grad_norm.append(float(torch.sqrt(torch.stack([torch.sum(g * g) for g in grads]).sum()))
                           if grads else 0.0)
        h.step_norm.append(float(torch.linalg.vector_norm(new_theta - theta)))
        h.kl.append(float(torch.sum(log_p.exp() * (log_p - new_log_p), dim=1).mean()))
        h.loss.append(loss)
        h.train_accuracy.append(train_acc)
        h.test_accuracy.append(_evaluate(model, data.X_test, data.y_test)[1])
        theta, log_p = new_theta, new_log_p
        if (k + 1) % snapshot_every == 0 or k + 1 == steps:
            snaps.append(theta.cpu().numpy())
            snap_steps.append(k + 1)
        tick(k + 1)
    if snap_steps[-1] != h.steps:  # stopped early: keep the last good state too
        snaps.append(theta.cpu().numpy())
        snap_steps.append(h.steps)
    h.snapshots = np.stack(snaps)
    h.snapshot_steps = np.asarray(snap_steps, dtype=np.int64)
    return h


def _divergence(loss: float, theta: torch.Tensor, limit: float) -> str:
    """Why a state counts as diverged, or ``""``."""
    if not math.isfinite(loss):
        return f"the training loss became {loss}"
    if not bool(torch.isfinite(theta).all()):
        return "the parameters became non-finite"
    if loss > limit:
        return f"the training loss reached {loss:.4g} (over {limit:.3g})"
    return ""


@torch.no_grad()
def _evaluate(model: nn.Module, X: torch.Tensor, y: torch.Tensor
              ) -> tuple[torch.Tensor, float, float]:
    """Log-probabilities ``[n, C]``, accuracy and mean cross-entropy on ``(X, y)``."""
    log_p = torch.log_softmax(model(X), dim=1)
    loss = float(nn.functional.nll_loss(log_p, y))
    acc = float((log_p.argmax(dim=1) == y).double().mean())
    return log_p, acc, loss


def _batches(n: int, batch_size: int | None, steps: int, seed: int
             ) -> Iterator[torch.Tensor | None]:
    """Index tensors of each step's batch (``None`` = full batch), the same for every run."""
    if batch_size is None:
        for _ in range(steps):
            yield None
        return
    rng = np.random.default_rng(seed)
    order, pos = rng.permutation(n), 0
    for _ in range(steps):
        if pos + batch_size > n:  # a new epoch; the incomplete tail is dropped
            order, pos = rng.permutation(n), 0
        yield torch.from_numpy(order[pos:pos + batch_size])
        pos += batch_size
