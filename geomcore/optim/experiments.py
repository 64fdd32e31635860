"""Experiments built from :func:`~geomcore.optim.training.compare` for the lab's pictures."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import minimize
from scipy.special import log_softmax, logsumexp
from torch import nn

from geomcore.optim import models
from geomcore.optim._views import predict_snapshots, prediction_gap
from geomcore.optim.fisher import Solver
from geomcore.optim.tasks import Task
from geomcore.optim.training import TrainingHistory, check_budget, compare, single_threaded

__all__ = ["ReparametrizationDemo", "linear_model_floor", "model_at", "reparametrization_demo"]


def model_at(history: TrainingHistory, index: int) -> nn.Module:
    """A private copy of the run's network holding snapshot ``index``.

    (The stored model of a diverged run holds the non-finite parameters that stopped it; its
    snapshots are finite.)
    """
    model = copy.deepcopy(history.model)
    theta = torch.as_tensor(history.snapshots[index], dtype=next(model.parameters()).dtype)
    models.set_flat_parameters(model, theta)
    return model


def linear_model_floor(task: Task, *, tol: float = 1e-10) -> float:
    """The lowest mean training cross-entropy that softmax regression (no hidden layer) can
    reach on ``task``: what a network without hidden layers plateaus at however long it trains.

    .. math:: \\min_{W, b}\\; \\frac1n \\sum_i \\Big(\\log \\sum_c e^{(W x_i + b)_c}
              - (W x_i + b)_{y_i}\\Big),\\qquad W \\in \\mathbb{R}^{C\\times d}

    The objective is convex, so L-BFGS from zero finds its minimum; on linearly separable data
    the infimum is 0 (not attained) and the value returned is where L-BFGS stops, close to 0.

    Parameters
    ----------
    task : Task
        ``X_train`` ``shape=[n, d]``, ``y_train`` ``shape=[n]`` with ``C`` classes.
    tol : float
        Gradient tolerance of L-BFGS.
    """
    X = np.asarray(task.X_train, dtype=np.float64)
    y = np.asarray(task.y_train, dtype=np.int64)
    n, d = X.shape
    C = int(task.n_classes)
    Xb = np.hstack([X, np.ones((n, 1))])  # the bias as a last weight column
    onehot = np.eye(C)[y]

    def loss_and_grad(flat: np.ndarray) -> tuple[float, np.ndarray]:
        W = flat.reshape(d + 1, C)
        logits = Xb @ W
        loss = float(np.mean(logsumexp(logits, axis=1) - logits[np.arange(n), y]))
        grad = Xb.T @ (np.exp(log_softmax(logits, axis=1)) - onehot) / n
        return loss, grad.ravel()

    result = minimize(loss_and_grad, np.zeros((d + 1) * C), jac=True, method="L-BFGS-B",
                      options=dict(gtol=tol, maxiter=5000))
    return float(result.fun)


@dataclass(frozen=True)
class ReparametrizationDemo:
    """The same network trained in coordinates ``c = 1`` and ``c`` by SGD and by NGD.

    ``probs[(optimizer, c)]`` are the predicted probabilities on the training inputs at the
    run's snapshot steps ``steps[(optimizer, c)]`` (``shape=[S, n, C]``); ``gaps[optimizer]``
    the largest ``|p_1 − p_c|`` at the snapshot steps ``gap_steps[optimizer]`` both runs have;
    ``loss[(optimizer, c)]`` the training loss per step; ``messages`` why a run stopped early.
    """

    c: float
    probs: dict[tuple[str, float], np.ndarray]
    steps: dict[tuple[str, float], np.ndarray]
    gaps: dict[str, np.ndarray]
    gap_steps: dict[str, np.ndarray]
    loss: dict[tuple[str, float], list[float]]
    messages: tuple[str, ...]


def reparametrization_demo(
    task: Task,
    hidden: Sequence[int] = (),
    activation: str = "tanh",
    *,
    c: float = 10.0,
    sgd_lr: float = 1.0,
    ngd_lr: float = 0.5,
    damping: float = 1e-8,
    kl_clip: float | None = 0.1,
    solver: Solver = "exact",
    steps: int = 50,
    seed: int = 0,
    max_snapshots: int = 30,
    progress: Callable[[float], None] | None = None,
    max_seconds: float | None = None,
) -> ReparametrizationDemo:
    """Train SGD and exact-Fisher NGD on the network stored with first-layer weights scaled by
    1 and by ``c`` (same function, other coordinates) and measure how far their predictions
    drift apart. The undamped natural gradient is a property of the function, not of the
    coordinates; SGD's step is not. The damping breaks the invariance: ``F + λI`` adds the
    Euclidean metric of the current coordinates, so NGD's predictions drift apart in proportion
    to ``λ``, far above round-off. Measured on ``make_task("moons")`` with softmax regression,
    ``c = 10`` and 50 steps, the largest NGD gap is about ``390·λ``: 3.9e-6 at the default
    ``λ = 1e-8``, 3.9e-8 at ``1e-10``, 3.9e-4 at ``1e-6``, against 0.86 for SGD.

    ``max_seconds`` (None: no bound) refuses, with :class:`TrainingError`, a demo whose two
    trainings' :func:`~geomcore.optim.training.training_seconds` estimate exceeds it.
    """
    sizes = [task.n_features, *hidden, task.n_classes]
    specs = {
        "SGD": {"kind": "sgd", "lr": sgd_lr},
        "NGD": {"kind": "ngd", "lr": ngd_lr, "damping": damping, "fisher": "true",
                "solver": solver, "kl_clip": kl_clip},
    }
    every = max(1, math.ceil(steps / max_snapshots))
    if max_seconds is not None:  # two trainings of the same cost, one per coordinate system
        check_budget(task, sizes, specs, steps, None, max_seconds, trainings=2)
    runs: dict[float, dict[str, TrainingHistory]] = {}
    for i, scale in enumerate((1.0, float(c))):
        def part(f: float, i: int = i) -> None:
            if progress is not None:
                progress((i + f) / 2)

        runs[scale] = compare(task, sizes, activation, optimizers=specs, steps=steps, seed=seed,
                              reparametrize=scale, snapshot_every=every, progress=part)
    a, b = runs[1.0], runs[float(c)]
    with single_threaded():
        gaps = {name: prediction_gap(a[name], b[name], task.X_train) for name in specs}
        probs = {(name, s): predict_snapshots(runs[s][name], task.X_train)
                 for s in runs for name in specs}
    return ReparametrizationDemo(
        c=float(c), probs=probs,
        steps={(name, s): runs[s][name].snapshot_steps for s in runs for name in specs},
        gaps=gaps,
        gap_steps={name: np.intersect1d(a[name].snapshot_steps, b[name].snapshot_steps)
                   for name in specs},
        loss={(name, s): list(runs[s][name].loss) for s in runs for name in specs},
        messages=tuple(h.message for r in runs.values() for h in r.values() if h.message),
    )
