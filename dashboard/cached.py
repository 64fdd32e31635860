"""All of the dashboard's caching, in one place.

Cache keys are frozen dataclasses and primitives only. ``st.cache_resource`` holds objects with
compiled functions that are never mutated (a surface, a metric); ``st.cache_data`` holds
results (geodesics, transports, training histories), which are pickled per caller. Every cache
has ``max_entries`` so one visitor cannot fill the server's memory.
"""

from __future__ import annotations

import contextvars
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from dashboard.figures import optim as optim_figures
from geomcore import optim
from geomcore.geometry import analysis, geodesics, metrics, surfaces

Space = surfaces.ParametricSurface | metrics.RiemannianMetric

STATISTICAL_MANIFOLDS = {
    "poincare": ("Poincaré half-plane", metrics.poincare_half_plane),
    "gaussian": ("Gaussian family N(μ, σ²), Fisher metric", metrics.gaussian_fisher),
}


@dataclass(frozen=True)
class SpaceConfig:
    """Which space the geometry page shows.

    ``kind`` is "catalog" (``name`` a catalog surface, ``params`` its shape parameters),
    "custom" (``formulas`` for x, y, z with ``u_range``, ``v_range``, ``periodic``) or
    "statistical" (``name`` a key of :data:`STATISTICAL_MANIFOLDS`).
    """

    kind: str
    name: str
    params: tuple[tuple[str, float], ...] = ()
    formulas: tuple[str, str, str] = ("", "", "")
    u_range: tuple[float, float] = (0.0, 1.0)
    v_range: tuple[float, float] = (0.0, 1.0)
    periodic: tuple[bool, bool] = (False, False)

    @property
    def key(self) -> str:
        """A short stable string naming this space's domain, for widget keys."""
        if self.kind == "custom":
            return f"custom_{self.u_range}_{self.v_range}".replace(" ", "")
        return f"{self.kind}_{self.name}"


@st.cache_resource(max_entries=48, show_spinner="Deriving the metric and curvature…")
def space_for(cfg: SpaceConfig) -> Space:
    """The surface or metric for ``cfg`` (symbolic derivation happens once per family)."""
    if cfg.kind == "catalog":
        return surfaces.get(cfg.name, **dict(cfg.params))
    if cfg.kind == "custom":
        return surfaces.from_expressions(*cfg.formulas, cfg.u_range, cfg.v_range,
                                         periodic=cfg.periodic)
    if cfg.kind == "statistical":
        return STATISTICAL_MANIFOLDS[cfg.name][1]()
    raise ValueError(f"unknown space kind {cfg.kind!r}")


@st.cache_data(max_entries=48, show_spinner="Simplifying the formulas…")
def latex_for(cfg: SpaceConfig) -> dict[str, str]:
    return space_for(cfg).latex()


@st.cache_data(max_entries=48, show_spinner=False)
def total_curvature_for(cfg: SpaceConfig) -> float:
    space = space_for(cfg)
    if not isinstance(space, surfaces.ParametricSurface):
        return float("nan")
    return surfaces.total_curvature(space)


@st.cache_data(max_entries=128, show_spinner=False)
def geodesic_for(cfg: SpaceConfig, p: tuple[float, float], angle: float,
                 length: float) -> geodesics.Geodesic:
    """The geodesic from p leaving at ``angle`` (from ∂_1, g-orthonormal frame) up to length."""
    space = space_for(cfg)
    v = geodesics.unit_vector(space, np.asarray(p), angle) * length
    return geodesics.exp_map(space, p, v, 1.0, n_points=300)


@st.cache_data(max_entries=64, show_spinner="Integrating the spray…")
def spray_for(cfg: SpaceConfig, p: tuple[float, float], n_directions: int, length: float,
              n_circles: int) -> tuple[list[geodesics.Geodesic], list[analysis.GeodesicCircle]]:
    space = space_for(cfg)
    spray = geodesics.spray(space, p, n_directions, length, n_points=121)
    return spray, analysis.geodesic_circles(spray, n_circles)


@st.cache_data(max_entries=64, show_spinner="Solving the two-point problem…")
def shortest_for(cfg: SpaceConfig, p: tuple[float, float],
                 q: tuple[float, float]) -> analysis.ShortestPath:
    return analysis.shortest_path(space_for(cfg), p, q)


@st.cache_data(max_entries=64, show_spinner="Transporting the vector…")
def transport_for(cfg: SpaceConfig, loop: tuple) -> analysis.Transport:
    """``loop`` is ("circle", u, v, radius) or ("parallel", u0)."""
    space = space_for(cfg)
    if loop[0] == "circle":
        path = geodesics.coordinate_circle(loop[1:3], loop[3], n_points=361)
    else:
        path = geodesics.coordinate_loop(space, loop[1], n_points=361)
    return analysis.transport_around(space, path)


# ------------------------------------------------------------------------------------------------
# The Natural-gradient lab (dashboard/views/optim.py).
#
# One cached training call per experiment (``histories_for``); every picture's data is cached on
# the same config, so a view-only change reruns the page against cache hits and never retrains.
# Training histories are plain data plus a small float64 network: they pickle (about 0.5 MB for
# the default experiment), so they live in ``st.cache_data`` like every other result.


MAX_TRAIN_STEPS = 1000
MAX_SNAPSHOTS = 30
SPECTRUM_POINTS = 500

SpecItems = tuple[tuple[str, Any], ...]


def freeze_specs(specs: Mapping[str, Mapping[str, Any]]) -> tuple[tuple[str, SpecItems], ...]:
    """Optimizer specs as nested tuples, so that they can be part of a frozen cache key."""
    return tuple((name, tuple(sorted(spec.items()))) for name, spec in specs.items())


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


class ProgressBar:
    """A ``st.progress`` bar that a cached training call drives through its callback.

    Streamlit records every element a cached function draws and replays it on a cache hit; a
    bar created outside the function and updated inside it cannot be replayed
    (``CacheReplayClosureError`` on the next hit). The updates therefore run in the context
    captured here, outside the cached call, where Streamlit records nothing: on a miss the bar
    moves, on a hit it is never touched. Pass it as the cached function's ``_progress``
    argument (ignored by the cache key: it does not change the result), then call
    :meth:`clear`.
    """

    def __init__(self, text: str) -> None:
        self._context = contextvars.copy_context()
        self._slot = st.empty()
        self._text = text

    def __call__(self, fraction: float) -> None:
        fraction = min(max(float(fraction), 0.0), 1.0)
        self._context.run(self._slot.progress, fraction, text=f"{self._text} {fraction:.0%}")

    def clear(self) -> None:
        self._slot.empty()


@st.cache_data(max_entries=32, show_spinner=False)
def task_for(cfg: TaskConfig) -> optim.Task:
    return optim.make_task(cfg.name, n=cfg.n, noise=cfg.noise, seed=cfg.seed)


@st.cache_data(max_entries=16, show_spinner=False)
def histories_for(cfg: TrainConfig, _progress: Callable[[float], None] | None = None
                  ) -> dict[str, optim.TrainingHistory]:
    """The experiment: one :func:`geomcore.optim.compare` call (the slow part of the page)."""
    task = task_for(cfg.task)
    return optim.compare(task, cfg.sizes(task), cfg.activation, optimizers=cfg.specs(),
                         steps=cfg.steps, batch_size=cfg.batch_size, seed=cfg.seed,
                         snapshot_every=cfg.snapshot_every, progress=_progress)


DECISION_CELLS = 160_000
"""Grid cells over all panels and frames of the decision-boundary animation: about 0.9 MB of
float32 sent to the browser, whatever the number of optimizers and snapshots."""


def decision_resolution(snapshot_steps: Mapping[str, np.ndarray]) -> int:
    """Grid points per axis that keep the animation (one panel per run, one frame per distinct
    snapshot step) within :data:`DECISION_CELLS`."""
    frames = np.unique(np.concatenate([np.asarray(s) for s in snapshot_steps.values()])).size
    cells = max(1, len(snapshot_steps) * frames)
    return int(np.clip(math.isqrt(DECISION_CELLS // cells), 24, 60))


@st.cache_data(max_entries=16, show_spinner="Evaluating the decision boundaries…")
def decision_grids_for(cfg: TrainConfig, resolution: int = 40) -> dict[str, optim.DecisionGrid]:
    """Class probabilities on a grid at every snapshot of every run (2-d tasks only)."""
    task = task_for(cfg.task)
    runs = histories_for(cfg)
    X = np.concatenate([task.X_train, task.X_test])
    with optim.single_threaded():
        return {name: optim.decision_grid(h.model, X, snapshots=h.snapshots,
                                          resolution=resolution)
                for name, h in runs.items()}


@st.cache_resource(max_entries=8, show_spinner="Drawing the decision boundaries…")
def decision_animation_for(cfg: TrainConfig) -> go.Figure:
    """The decision-boundary animation of an experiment, built once.

    It is the heaviest figure on the page (one heat map per run and snapshot); keeping the
    built figure (never mutated afterwards) makes a view-only rerun skip its construction.
    """
    task = task_for(cfg.task)
    runs = histories_for(cfg)
    steps_of = {name: h.snapshot_steps for name, h in runs.items()}
    grids = decision_grids_for(cfg, decision_resolution(steps_of))
    stopped = {name: h.steps + 1 for name, h in runs.items() if h.status != "ok"}
    return optim_figures.make_decision_animation(
        grids, steps_of, task.X_train, task.y_train, colors=optim_figures.colors_for(runs),
        stopped=stopped)


@st.cache_data(max_entries=32, show_spinner="Projecting the trajectories…")
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


@st.cache_data(max_entries=16, show_spinner="Computing Fisher spectra…")
def spectra_for(cfg: TrainConfig, kind: str) -> dict[str, optim.FisherSpectrum]:
    """Fisher eigenvalues at the shared initial network and at each run's last state, on the
    first :data:`SPECTRUM_POINTS` training inputs. Key ``""`` is the initial network."""
    task = task_for(cfg.task)
    runs = histories_for(cfg)
    X, y = task.X_train[:SPECTRUM_POINTS], task.y_train[:SPECTRUM_POINTS]
    out: dict[str, optim.FisherSpectrum] = {}
    with optim.single_threaded():
        first = next(iter(runs.values()))
        out[""] = optim.fisher_spectrum(optim.model_at(first, 0), X, kind, y=y, seed=cfg.seed)
        for name, h in runs.items():
            out[name] = optim.fisher_spectrum(optim.model_at(h, -1), X, kind, y=y,
                                              seed=cfg.seed)
    return out


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
    solver: str = "exact"
    steps: int = 50
    c: float = 10.0
    seed: int = 0


@st.cache_data(max_entries=16, show_spinner=False)
def reparam_for(cfg: ReparamConfig, _progress: Callable[[float], None] | None = None
                ) -> optim.ReparametrizationDemo:
    """SGD and NGD in coordinates c = 1 and c (two trainings, hence the progress bar)."""
    return optim.reparametrization_demo(
        task_for(cfg.task), cfg.hidden, cfg.activation, c=cfg.c, sgd_lr=cfg.sgd_lr,
        ngd_lr=cfg.ngd_lr, damping=cfg.damping, kl_clip=cfg.kl_clip, solver=cfg.solver,
        steps=cfg.steps, seed=cfg.seed, max_snapshots=MAX_SNAPSHOTS, progress=_progress)
