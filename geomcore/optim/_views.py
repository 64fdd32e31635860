"""Numpy data for the Natural-gradient page's pictures (pure: arrays in, dataclasses out).

* :func:`decision_grid` — class probabilities of a 2-d classifier on a grid, per snapshot.
* :func:`predict_snapshots` / :func:`prediction_gap` — predictions along a run, and the largest
  difference between two runs (the reparametrisation demo).
* :func:`trajectory_pca` — parameter trajectories projected on their first two principal
  directions, with the training loss evaluated on that plane.

The two-weight logistic regression of the indicatrix picture lives in ``_logistic.py``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, vmap

from geomcore._validation import check_int
from geomcore.optim import models

if TYPE_CHECKING:  # only for annotations: training does not need this module to import
    from geomcore.optim.training import TrainingHistory

__all__ = [
    "MAX_RESOLUTION",
    "DecisionGrid",
    "TrajectoryPCA",
    "ViewError",
    "check_resolution",
    "decision_grid",
    "predict_snapshots",
    "prediction_gap",
    "trajectory_pca",
]

MAX_RESOLUTION = 400
"""Most grid points per axis of a picture (``resolution`` of :func:`decision_grid`, ...)."""
_MAX_GRID_EVALS = 4_000_000  # points × snapshots evaluated by decision_grid


class ViewError(ValueError):
    """An invalid request for a picture's data."""


@dataclass(frozen=True)
class DecisionGrid:
    """Class probabilities on a 2-d grid.

    ``probs[s, i, j, c]`` is ``p(c | (xs[j], ys[i]))`` under snapshot ``s``;
    ``shape=[S, ny, nx, C]`` (``S = 1`` without snapshots).
    """

    xs: np.ndarray
    ys: np.ndarray
    probs: np.ndarray


def decision_grid(
    model: nn.Module,
    X: np.ndarray,
    *,
    snapshots: np.ndarray | None = None,
    resolution: int = 60,
    padding: float = 0.15,
) -> DecisionGrid:
    """Predicted probabilities of a 2-input classifier on a grid covering ``X``.

    Parameters
    ----------
    model : nn.Module
        Classifier with 2 inputs; its own parameters are used when ``snapshots`` is ``None``
        (it is never modified).
    X : array, ``shape=[n, 2]``
        Points whose bounding box, widened by ``padding`` times its size, the grid covers.
    snapshots : array, ``shape=[S, P]``, optional
        Flattened parameter vectors (``TrainingHistory.snapshots``).
    resolution : int
        Grid points per axis, ``2..400``.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ViewError(f"decision boundaries need 2-d inputs, got shape {X.shape}")
    resolution = check_resolution(resolution)
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = padding * np.maximum(hi - lo, 1e-9)
    xs = np.linspace(lo[0] - pad[0], hi[0] + pad[0], resolution)
    ys = np.linspace(lo[1] - pad[1], hi[1] + pad[1], resolution)
    grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    thetas = (models.flat_parameters(model).cpu().numpy()[None] if snapshots is None
              else np.asarray(snapshots, dtype=np.float64))
    if thetas.shape[0] * grid.shape[0] > _MAX_GRID_EVALS:
        raise ViewError(
            f"{thetas.shape[0]} snapshots × {grid.shape[0]} grid points is too many; "
            "lower the resolution or keep fewer snapshots"
        )
    probs = _predict(model, thetas, grid)
    return DecisionGrid(xs=xs, ys=ys, probs=probs.reshape(thetas.shape[0], resolution,
                                                          resolution, -1))


def predict_snapshots(history: TrainingHistory, X: np.ndarray) -> np.ndarray:
    """Predicted probabilities at every snapshot of a run, ``shape=[S, n, C]``.

    ``history`` is a :class:`~geomcore.optim.training.TrainingHistory` (its ``model`` gives the
    architecture and parametrisation, its ``snapshots`` the parameters).
    """
    return _predict(history.model, history.snapshots, np.asarray(X, dtype=np.float64))


def prediction_gap(history_a: TrainingHistory, history_b: TrainingHistory,
                   X: np.ndarray) -> np.ndarray:
    """Largest ``|p_a - p_b|`` over inputs and classes at each shared snapshot step.

    Two runs of the same optimizer in different coordinates (``compare(..., reparametrize=c)``)
    compute different parameters but, for an invariant method, the same function: this is
    the gap the reparametrisation demo shows. Returns ``shape=[S]`` over the snapshot steps
    both runs have, in order.
    """
    common, ia, ib = np.intersect1d(history_a.snapshot_steps, history_b.snapshot_steps,
                                    return_indices=True)
    if common.size == 0:
        return np.zeros(0)
    pa = _predict(history_a.model, history_a.snapshots[ia], np.asarray(X, dtype=np.float64))
    pb = _predict(history_b.model, history_b.snapshots[ib], np.asarray(X, dtype=np.float64))
    return np.abs(pa - pb).max(axis=(1, 2))


@dataclass(frozen=True)
class TrajectoryPCA:
    """Trajectories in the plane of their first two principal directions.

    ``θ(a, b) = center + a·components[0] + b·components[1]``; ``loss[i, j]`` is the training
    loss at ``(a[j], b[i])``, ``shape=[len(b), len(a)]``; ``paths[name]`` is ``shape=[S, 2]``.
    ``explained_variance_ratio`` is the share of the snapshots' variance in each direction.
    """

    center: np.ndarray
    components: np.ndarray
    explained_variance_ratio: np.ndarray
    paths: dict[str, np.ndarray]
    a: np.ndarray
    b: np.ndarray
    loss: np.ndarray


def trajectory_pca(
    histories: Mapping[str, TrainingHistory],
    X: np.ndarray,
    y: np.ndarray,
    *,
    resolution: int = 30,
    padding: float = 0.2,
) -> TrajectoryPCA:
    """Project every run's snapshots on one PCA plane and evaluate the loss there.

    Parameters
    ----------
    histories : mapping of name to TrainingHistory
        Runs of the same architecture (same ``P``); all snapshots together define the plane
        (centered at their mean).
    X, y : arrays
        Data of the loss (mean cross-entropy) drawn as contours.
    resolution : int
        Grid points per axis, ``2..400``.
    padding : float
        Margin around the paths' bounding box, as a fraction of its size.
    """
    resolution = check_resolution(resolution)
    if not histories:
        raise ViewError("trajectory_pca needs at least one run")
    first = next(iter(histories.values()))
    sizes = {h.snapshots.shape[1] for h in histories.values()}
    if len(sizes) != 1:
        raise ViewError(f"runs have different parameter counts {sorted(sizes)}")
    allsnaps = np.concatenate([h.snapshots for h in histories.values()])
    center = allsnaps.mean(axis=0)
    _, s, vt = np.linalg.svd(allsnaps - center, full_matrices=False)
    components = np.zeros((2, allsnaps.shape[1]))
    k = min(2, vt.shape[0])
    components[:k] = vt[:k]
    var = s**2
    ratio = np.zeros(2)
    if var.sum() > 0:
        ratio[:k] = var[:k] / var.sum()
    paths = {name: (h.snapshots - center) @ components.T for name, h in histories.items()}
    coords = np.concatenate(list(paths.values()))
    lo, hi = coords.min(axis=0), coords.max(axis=0)
    pad = padding * np.maximum(hi - lo, 1e-6)
    a = np.linspace(lo[0] - pad[0], hi[0] + pad[0], resolution)
    b = np.linspace(lo[1] - pad[1], hi[1] + pad[1], resolution)
    A, B = np.meshgrid(a, b)
    thetas = center + A.reshape(-1, 1) * components[0] + B.reshape(-1, 1) * components[1]
    probs = _predict(first.model, thetas, np.asarray(X, dtype=np.float64))
    y = np.asarray(y, dtype=np.int64)
    picked = probs[:, np.arange(y.shape[0]), y]
    loss = -np.log(np.clip(picked, 1e-300, None)).mean(axis=1)
    return TrajectoryPCA(center=center, components=components, explained_variance_ratio=ratio,
                         paths=paths, a=a, b=b, loss=loss.reshape(resolution, resolution))


def _predict(model: nn.Module, thetas: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Softmax outputs for each parameter vector: ``[S, P] × [n, d] -> [S, n, C]``.

    Uses ``vmap`` over parameter vectors with ``functional_call`` on a private copy, in chunks
    that keep ``S_chunk · n · (widest layer)`` bounded.
    """
    model = copy.deepcopy(model)
    ref = next(model.parameters())
    like = {name: p.detach() for name, p in model.named_parameters()}
    P = sum(t.numel() for t in like.values())
    thetas_t = torch.as_tensor(np.atleast_2d(thetas), dtype=ref.dtype, device=ref.device)
    if thetas_t.shape[1] != P:
        raise ViewError(f"snapshots have {thetas_t.shape[1]} parameters, the model has {P}")
    X_t = torch.as_tensor(X, dtype=ref.dtype, device=ref.device)
    widest = max([m.out_features for m in models.linear_layers(model)] or [1])
    chunk = max(1, int(2_000_000 // max(1, X_t.shape[0] * widest)))

    def probs_at(flat: torch.Tensor) -> torch.Tensor:
        params, start = {}, 0
        for name, t in like.items():
            params[name] = flat[start:start + t.numel()].view_as(t)
            start += t.numel()
        return torch.softmax(functional_call(model, params, (X_t,)), dim=-1)

    out = []
    with torch.no_grad():
        for s in range(0, thetas_t.shape[0], chunk):
            out.append(vmap(probs_at)(thetas_t[s:s + chunk]))
    return torch.cat(out).cpu().numpy()


def check_resolution(resolution: object) -> int:
    """``resolution`` as an ``int`` if it is an integer in ``2..MAX_RESOLUTION`` (points per
    axis of a picture's grid); raises :class:`ViewError` otherwise."""
    return check_int("resolution", resolution, 2, MAX_RESOLUTION, error=ViewError)
