"""Caching for the Natural-gradient lab (``dashboard/views/optim.py``).

One cached training call per experiment (``histories_for``); every picture's data is cached on
the same config, so a view-only change reruns the page against cache hits and never retrains.
Training histories are plain data plus a small float64 network: they pickle (about 0.5 MB for
the default experiment), so they live in ``st.cache_data`` like every other result.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import streamlit as st

from dashboard.cached.common import SpecItems, in_worker
from geomcore import optim
from geomcore.optim.fisher import FisherKind, Solver

MAX_TRAIN_STEPS = 1000
MAX_TRAIN_SECONDS = 17.0
"""Most estimated CPU seconds (:func:`geomcore.optim.training_seconds`) of the training one
request may start, for the experiment and for the reparametrisation demo each. The widgets
alone allowed far more: digits, 1500 points, 64-64-64, 1000 steps, CG took 572 s, and an exact
NGD solve on digits with 1500 points takes about 1 s a step. The estimate is 1-2.5 times the
measured time for every optimizer kind (benchmarks/worst_case.py runs the dearest settings it
accepts: 11-14 s); the default experiment (moons, 500 points, 16-16, five optimizers) is
estimated at 14.3 s for the slider's 1000 steps (measured 11 s), so it stays allowed."""
MAX_SNAPSHOTS = 30
SPECTRUM_POINTS = 500
SPECTRUM_ROWS = 2000
"""Most rows (inputs × (classes − 1)) of the Fisher factor whose spectrum the page computes:
the eigenproblem is that large a side (when the network has more parameters), once for the
initial network and once per finished run. On digits, 500 inputs made 4500 rows and the view
took 36 s of CPU for six states; 2000 rows (222 digits) take about 3 s."""


def spectrum_points(task: optim.Task) -> int:
    """Training inputs of the Fisher spectra: the first :data:`SPECTRUM_POINTS`, fewer when
    their :data:`SPECTRUM_ROWS` bound binds (many classes)."""
    rows_per_point = max(task.n_classes - 1, 1)
    return min(SPECTRUM_POINTS, SPECTRUM_ROWS // rows_per_point, task.n_train)


@dataclass(frozen=True)
class TaskConfig:
    """Arguments of :func:`geomcore.optim.make_task`."""

    name: str = "moons"
    n: int = 500
    noise: float = 0.2
    seed: int = 0


@dataclass(frozen=True)
class TrainConfig:
    """One experiment of the Natural-gradient page: everything that changes the training."""

    task: TaskConfig
    hidden: tuple[int, ...] = (16, 16)
    activation: str = "tanh"
    optimizers: tuple[tuple[str, SpecItems], ...] = ()
    batch_size: int | None = None
    steps: int = 300
    seed: int = 0

    @property
    def snapshot_every(self) -> int:
        """Keep about :data:`MAX_SNAPSHOTS` snapshots: the animation's frames."""
        return max(1, math.ceil(self.steps / MAX_SNAPSHOTS))

    def specs(self) -> dict[str, dict[str, Any]]:
        return {name: dict(items) for name, items in self.optimizers}

    def sizes(self, task: optim.Task) -> list[int]:
        return [task.n_features, *self.hidden, task.n_classes]


@st.cache_data(max_entries=32, show_spinner=False)
def task_for(cfg: TaskConfig) -> optim.Task:
    return optim.make_task(cfg.name, n=cfg.n, noise=cfg.noise, seed=cfg.seed)


@st.cache_data(max_entries=16, show_spinner=False)
def histories_for(cfg: TrainConfig, _progress: Callable[[float], None] | None = None
                  ) -> dict[str, optim.TrainingHistory]:
    """The experiment: one :func:`geomcore.optim.compare` call (the slow part of the page),
    computed in the server's worker pool."""
    task = task_for(cfg.task)
    return in_worker(optim.compare, task, cfg.sizes(task), cfg.activation,
                     optimizers=cfg.specs(), steps=cfg.steps, batch_size=cfg.batch_size,
                     seed=cfg.seed, snapshot_every=cfg.snapshot_every, progress=_progress,
                     max_seconds=MAX_TRAIN_SECONDS)


DECISION_CELLS = 160_000
"""Grid cells over all panels and frames of the decision-boundary animation: about 0.9 MB of
float32 sent to the browser, whatever the number of optimizers and snapshots."""


def decision_resolution(snapshot_steps: Mapping[str, np.ndarray]) -> int:
    """Grid points per axis that keep the animation (one panel per run, one frame per distinct
    snapshot step) within :data:`DECISION_CELLS`."""
    frames = np.unique(np.concatenate([np.asarray(s) for s in snapshot_steps.values()])).size
    cells = max(1, len(snapshot_steps) * frames)
    return int(np.clip(math.isqrt(DECISION_CELLS // cells), 24, 60))


@st.cache_data(max_entries=16, show_spinner=False)
def decision_grids_for(cfg: TrainConfig, resolution: int = 40) -> dict[str, optim.DecisionGrid]:
    """Class probabilities on a grid at every snapshot of every run (2-d tasks only)."""
    task = task_for(cfg.task)
    runs = histories_for(cfg)
    X = np.concatenate([task.X_train, task.X_test])
    with optim.single_threaded():
        return {name: optim.decision_grid(h.model, X, snapshots=h.snapshots,
                                          resolution=resolution)
                for name, h in runs.items()}


@dataclass(frozen=True)
class DecisionAnimationData:
    """What the decision-boundary animation draws: grids per run, their steps, the data."""

    grids: dict[str, optim.DecisionGrid]
    snapshot_steps: dict[str, np.ndarray]
    X: np.ndarray
    y: np.ndarray
    stopped: dict[str, int]


def decision_animation_data_for(cfg: TrainConfig) -> DecisionAnimationData:
    """The decision grids of every run at every snapshot, at a resolution that keeps the
    animation within :data:`DECISION_CELLS`; ``stopped`` maps a run that stopped early to the
    step after its last."""
    task = task_for(cfg.task)
    runs = histories_for(cfg)
    steps_of = {name: h.snapshot_steps for name, h in runs.items()}
    grids = decision_grids_for(cfg, decision_resolution(steps_of))
    stopped = {name: h.steps + 1 for name, h in runs.items() if h.status != "ok"}
    return DecisionAnimationData(grids, steps_of, task.X_train, task.y_train, stopped)


@st.cache_data(max_entries=32, show_spinner=False)
def trajectories_for(cfg: TrainConfig, names: tuple[str, ...] | None = None
                     ) -> tuple[optim.TrajectoryPCA, tuple[str, ...]]:
    """The PCA plane of the runs ``names`` (default all) that finished (a diverged run's huge
    last state would flatten the others); returns the projection and the names left out for
    having stopped early."""
    task = task_for(cfg.task)
    runs = histories_for(cfg)
    chosen = {name: h for name, h in runs.items() if names is None or name in names}
    kept = {name: h for name, h in chosen.items() if h.status == "ok"} or chosen or runs
    left_out = tuple(name for name in chosen if name not in kept)
    with optim.single_threaded():
        return optim.trajectory_pca(kept, task.X_train, task.y_train), left_out


@st.cache_data(max_entries=16, show_spinner=False)
def spectra_for(cfg: TrainConfig, kind: FisherKind
                ) -> tuple[dict[str, optim.FisherSpectrum], tuple[str, ...]]:
    """Fisher eigenvalues at the shared initial network and at the last state of each run that
    finished, on the first :func:`spectrum_points` training inputs. Key ``""`` is the initial
    network. Also returns the names of the runs left out for having stopped early: a diverged
    run's last finite network is saturated, its Fisher numerically zero, its κ meaningless."""
    task = task_for(cfg.task)
    runs = histories_for(cfg)
    k = spectrum_points(task)
    X, y = task.X_train[:k], task.y_train[:k]
    out: dict[str, optim.FisherSpectrum] = {}
    with optim.single_threaded():
        first = next(iter(runs.values()))
        out[""] = optim.fisher_spectrum(optim.model_at(first, 0), X, kind, y=y, seed=cfg.seed)
        for name, h in runs.items():
            if h.status == "ok":
                out[name] = optim.fisher_spectrum(optim.model_at(h, -1), X, kind, y=y,
                                                  seed=cfg.seed)
    return out, tuple(name for name, h in runs.items() if h.status != "ok")


@st.cache_data(max_entries=32, show_spinner=False)
def linear_floor_for(cfg: TaskConfig) -> float:
    """The lowest training loss softmax regression reaches on the task (the plateau of a
    network without hidden layers)."""
    return optim.linear_model_floor(task_for(cfg))


@st.cache_data(max_entries=32, show_spinner=False)
def logistic_for(lr_gd: float, lr_ngd: float, steps: int) -> optim.LogisticGeometry:
    return optim.logistic_geometry(lr_gd=lr_gd, lr_ngd=lr_ngd, steps=steps)


@dataclass(frozen=True)
class ReparamConfig:
    """The reparametrisation demo: SGD and NGD trained in coordinates ``c = 1`` and ``c``."""

    task: TaskConfig
    hidden: tuple[int, ...] = ()
    activation: str = "tanh"
    sgd_lr: float = 1.0
    ngd_lr: float = 0.5
    damping: float = 1e-8
    kl_clip: float | None = 0.1
    solver: Solver = "exact"
    steps: int = 50
    c: float = 10.0
    seed: int = 0


@st.cache_data(max_entries=16, show_spinner=False)
def reparam_for(cfg: ReparamConfig, _progress: Callable[[float], None] | None = None
                ) -> optim.ReparametrizationDemo:
    """SGD and NGD in coordinates c = 1 and c (two trainings, hence the progress bar), computed
    in the server's worker pool."""
    return in_worker(
        optim.reparametrization_demo, task_for(cfg.task), cfg.hidden, cfg.activation, c=cfg.c,
        sgd_lr=cfg.sgd_lr, ngd_lr=cfg.ngd_lr, damping=cfg.damping, kl_clip=cfg.kl_clip,
        solver=cfg.solver, steps=cfg.steps, seed=cfg.seed, max_snapshots=MAX_SNAPSHOTS,
        progress=_progress, max_seconds=MAX_TRAIN_SECONDS)


CURVATURE_POINTS = 256
"""Training inputs of the Hessian / Gauss–Newton / Fisher comparison (the first ones): the
default network's four 354×354 matrices take about 0.2 s per state on one core (0.15–0.5 s
measured on the shared 2-core machine)."""


@st.cache_data(max_entries=32, show_spinner=False)
def curvature_for(cfg: TrainConfig, name: str) -> optim.CurvatureComparison:
    """``H``, ``G``, ``F`` and ``F̂`` compared on the first :data:`CURVATURE_POINTS` training
    inputs, at the shared initial network (``name == ""``) or at the last state of run
    ``name`` (which must have finished)."""
    task = task_for(cfg.task)
    runs = histories_for(cfg)
    if name and name not in runs:
        raise ValueError(f"there is no run named {name!r}; choose one of {', '.join(runs)}")
    if name and runs[name].status != "ok":
        raise ValueError(f"{name} stopped early; choose a run that finished")
    history = runs[name] if name else next(iter(runs.values()))
    X, y = task.X_train[:CURVATURE_POINTS], task.y_train[:CURVATURE_POINTS]
    with optim.single_threaded():
        return optim.curvature_comparison(optim.model_at(history, -1 if name else 0), X, y)


ADAM_MAX_PARAMS = 2000
"""Parameters drawn per state in the Adam scatter (evenly spaced when the network has more)."""
ADAM_TRUE_FISHER_POINTS = 256
"""Training inputs of the true-Fisher diagonal in the Adam view."""


@st.cache_data(max_entries=16, show_spinner=False)
def adam_fisher_for(cfg: TrainConfig, name: str, damping: float) -> optim.AdamFisherView:
    """The Adam run ``name`` replayed with its second moment against the Fisher diagonals at
    every snapshot (see :func:`geomcore.optim.adam_fisher_view`)."""
    task = task_for(cfg.task)
    runs = histories_for(cfg)
    if name not in runs:
        raise ValueError(f"there is no run named {name!r}; choose one of {', '.join(runs)}")
    return optim.adam_fisher_view(runs[name], task.X_train, task.y_train,
                                  batch_size=cfg.batch_size, seed=cfg.seed, damping=damping,
                                  max_params=ADAM_MAX_PARAMS,
                                  max_true_points=ADAM_TRUE_FISHER_POINTS)
