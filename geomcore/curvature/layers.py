"""Curvature of a network's representations, layer by layer and over training.

A classifier maps its inputs through hidden layers; each layer's activations are a point cloud
with its own kNN graph. :func:`layer_curvature` measures that graph's discrete Ricci curvature
at the input and after every hidden activation of a :func:`geomcore.optim.mlp`, together with
how well the classes separate there (the share of kNN edges joining points of one class, and
the silhouette score). :func:`curvature_over_training` repeats it at the snapshots of a
training run (:class:`geomcore.optim.TrainingHistory`), for an animation over epochs.

A trained layer often splits its data into class clusters, so its kNN graph may fall into
pieces: that is allowed here (Ollivier curvature is defined edge by edge) and reported as
``n_components``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch
from sklearn.metrics import silhouette_score
from torch import nn

from geomcore._validation import check_choice
from geomcore.curvature._graph import CurvatureError
from geomcore.curvature.graphs import check_neighbors, check_points
from geomcore.curvature.ollivier import DEFAULT_EPSILON
from geomcore.curvature.points import POINT_METHODS, point_curvature
from geomcore.optim.experiments import model_at
from geomcore.optim.training import TrainingHistory

__all__ = ["LAYER_METHODS", "LayerCurvature", "curvature_over_training", "hidden_activations",
           "layer_curvature"]

LAYER_METHODS = ("ollivier", *POINT_METHODS)
"""``"ollivier"`` is ``"exact"``."""
MAX_SNAPSHOTS = 40


@dataclass(frozen=True, eq=False)
class LayerCurvature:
    """One layer's representation and the curvature of its kNN graph.

    Attributes
    ----------
    layer : int
        0 for the input, ``i`` for the output of the i-th hidden activation.
    name : str
        ``"input"`` or ``"hidden i (width w)"``.
    step : int
        Training step of the network (−1 when not from a training history).
    projection : ndarray, shape=[n, 3]
        Activations projected on their first three principal axes (zero-padded below 3-D).
    explained : float
        Share of the activations' variance those axes keep.
    edges : ndarray, shape=[m, 2]
    edge_curvature : ndarray, shape=[m]
    node_curvature : ndarray, shape=[n]
    mean_curvature : float
    same_class_edges : float
        Share of kNN edges whose ends have the same label (1 = classes never touch).
    silhouette : float
        Silhouette score of the labels in the activations (−1 … 1, higher = better separated).
    n_components : int
        Pieces of the kNN graph.
    status, message : str
        ``"ok"``; ``"not_converged"`` (Sinkhorn) or ``"failed"`` (e.g. all activations equal)
        with the reason.
    """

    layer: int
    name: str
    step: int
    projection: np.ndarray
    explained: float
    edges: np.ndarray
    edge_curvature: np.ndarray
    node_curvature: np.ndarray
    mean_curvature: float
    same_class_edges: float
    silhouette: float
    n_components: int
    status: str = "ok"
    message: str = ""


def hidden_activations(model: nn.Module, X: np.ndarray) -> list[np.ndarray]:
    """``[X, h₁, …, h_L]``: the input and the output of each hidden activation of an MLP
    (``torch.nn.Sequential`` of Linear layers and activations), each shape=[n, width]."""
    if not isinstance(model, nn.Sequential):
        raise CurvatureError("model must be a torch.nn.Sequential MLP as geomcore.optim.mlp "
                             f"builds; got {type(model).__name__}")
    param = next(model.parameters())
    out = [np.asarray(X, dtype=float)]
    h = torch.as_tensor(X, dtype=param.dtype, device=param.device)
    modules = list(model)
    with torch.no_grad():
        for i, module in enumerate(modules):
            h = module(h)
            # The representation after an activation that is followed by another layer.
            if not isinstance(module, nn.Linear) and i < len(modules) - 1:
                out.append(h.detach().cpu().numpy().astype(float))
    return out


def _project(A: np.ndarray) -> tuple[np.ndarray, float]:
    centred = A - A.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    k = min(3, vt.shape[0])
    proj = np.zeros((A.shape[0], 3))
    proj[:, :k] = centred @ vt[:k].T
    total = float(np.sum(s**2))
    return proj, float(np.sum(s[:k] ** 2) / total) if total > 0 else 1.0


def _separation(A: np.ndarray, edges: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    same = float(np.mean(y[edges[:, 0]] == y[edges[:, 1]])) if edges.size else float("nan")
    try:
        sil = float(silhouette_score(A, y)) if 1 < np.unique(y).size < A.shape[0] else np.nan
    except ValueError:
        sil = float("nan")
    return same, sil


def _one_layer(i: int, A: np.ndarray, y: np.ndarray, step: int, k: int, method: str,
               alpha: float, mass: str, epsilon: float) -> LayerCurvature:
    name = "input" if i == 0 else f"hidden {i} (width {A.shape[1]})"
    proj, explained = _project(A)
    try:
        pc = point_curvature(A, k, method=method, alpha=alpha, mass=mass, epsilon=epsilon,
                             allow_disconnected=True)
    except CurvatureError as err:
        empty = np.zeros((0, 2), dtype=np.int64)
        return LayerCurvature(i, name, step, proj, explained, empty, np.zeros(0),
                              np.full(A.shape[0], np.nan), float("nan"), float("nan"),
                              float("nan"), 0, "failed", str(err))
    same, sil = _separation(A, pc.edges, y)
    return LayerCurvature(i, name, step, proj, explained, pc.edges, pc.edge_curvature,
                          pc.node_curvature, pc.mean, same, sil, pc.n_components, pc.status,
                          pc.message)


def layer_curvature(model: nn.Module, X: np.ndarray, y: np.ndarray, n_neighbors: int = 10,
                    method: str = "ollivier", *, alpha: float = 0.5, mass: str = "uniform",
                    epsilon: float = DEFAULT_EPSILON, step: int = -1,
                    include_input: bool = True) -> list[LayerCurvature]:
    """Curvature of the kNN graph of the input and of every hidden layer of ``model``.

    Parameters
    ----------
    model : torch.nn.Sequential
        An MLP from :func:`geomcore.optim.mlp` (trained or not).
    X : ndarray, shape=[n, d]
        Inputs.
    y : ndarray, shape=[n]
        Class labels (for the separation scores).
    n_neighbors : int
        ``k`` of every layer's kNN graph (``< n``).
    method : str
        ``"ollivier"`` (= ``"exact"``), ``"sinkhorn"``, ``"forman"`` or ``"forman_augmented"``.
    alpha, epsilon : float
        Ollivier's laziness and Sinkhorn's regularisation (in units of ``h``).
    mass : {"uniform", "gaussian"}
        Ollivier's neighbour measure.
    step : int
        Recorded in each result (the training step of ``model``).
    include_input : bool
        Whether the list starts with the input layer.

    Returns
    -------
    list of LayerCurvature
        Input first (unless ``include_input=False``), then each hidden layer.
    """
    check_choice("method", method, LAYER_METHODS, error=CurvatureError)
    point_method = "exact" if method == "ollivier" else method
    X = check_points(X)
    y = np.asarray(y)
    if y.shape != (X.shape[0],):
        raise CurvatureError(f"y must have one label per row of X (shape [{X.shape[0]}]); "
                             f"got shape {y.shape}")
    n_neighbors = check_neighbors(n_neighbors, X.shape[0])
    return [_one_layer(i, A, y, step, int(n_neighbors), point_method, alpha, mass, epsilon)
            for i, A in enumerate(hidden_activations(model, X)) if include_input or i > 0]


def curvature_over_training(history: TrainingHistory, X: np.ndarray, y: np.ndarray,
                            n_neighbors: int = 10, method: str = "ollivier", *,
                            alpha: float = 0.5, mass: str = "uniform",
                            epsilon: float = DEFAULT_EPSILON,
                            snapshots: Sequence[int] | None = None,
                            progress: Callable[[float], None] | None = None
                            ) -> list[list[LayerCurvature]]:
    """:func:`layer_curvature` at snapshots of a training run, one list of layers per snapshot.

    ``snapshots`` are indices into ``history.snapshots`` (default: all, at most
    :data:`MAX_SNAPSHOTS`); each list's layers carry the snapshot's training step.
    """
    count = int(history.snapshots.shape[0])
    if count == 0:
        raise CurvatureError("the training history has no snapshots; train with "
                             "snapshot_every set")
    chosen = list(range(count)) if snapshots is None else [int(s) for s in snapshots]
    if len(chosen) > MAX_SNAPSHOTS:
        raise CurvatureError(f"{len(chosen)} snapshots requested; use at most {MAX_SNAPSHOTS}")
    bad = [s for s in chosen if not 0 <= s < count]
    if bad:
        raise CurvatureError(f"snapshot index {bad[0]} is out of range; use 0..{count - 1}")
    out: list[list[LayerCurvature]] = []
    for j, s in enumerate(chosen):
        model = model_at(history, s)
        step = int(history.snapshot_steps[s])
        if out:  # the input layer does not change with training: measure it once
            first = out[0][0]
            hidden = layer_curvature(model, X, y, n_neighbors, method, alpha=alpha, mass=mass,
                                     epsilon=epsilon, step=step, include_input=False)
            out.append([replace(first, step=step), *hidden])
        else:
            out.append(layer_curvature(model, X, y, n_neighbors, method, alpha=alpha,
                                       mass=mass, epsilon=epsilon, step=step))
        if progress is not None:
            progress((j + 1) / len(chosen))
    return out
