"""Curvature of a network's layers: the right layers, shapes and steps; training a classifier
on two moons separates the classes in its last hidden layer; bad input is refused."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from geomcore.curvature import CurvatureError, curvature_over_training, layer_curvature
from geomcore.curvature.layers import hidden_activations
from geomcore.optim import compare, make_task, mlp


@pytest.fixture(scope="module")
def trained():
    task = make_task("moons", n=240, seed=0)
    history = compare(task, [2, 16, 16, 2], optimizers={"Adam": {"kind": "adam", "lr": 0.03}},
                      steps=150, snapshot_every=75)["Adam"]
    return task, history


def test_layers_of_an_mlp():
    model = mlp([2, 8, 5, 3, 2], seed=1)
    X = np.random.default_rng(0).normal(size=(80, 2))
    acts = hidden_activations(model, X)
    assert [a.shape for a in acts] == [(80, 2), (80, 8), (80, 5), (80, 3)]
    y = (X[:, 0] > 0).astype(int)
    layers = layer_curvature(model, X, y, 8)
    assert [lc.name for lc in layers] == ["input", "hidden 1 (width 8)", "hidden 2 (width 5)",
                                         "hidden 3 (width 3)"]
    for lc in layers:
        assert lc.status == "ok" and lc.step == -1
        assert lc.projection.shape == (80, 3) and 0 < lc.explained <= 1 + 1e-12
        assert lc.edge_curvature.shape == (lc.edges.shape[0],)
        assert lc.mean_curvature == pytest.approx(lc.edge_curvature.mean())
    assert np.allclose(layers[0].projection[:, 2], 0.0)  # 2-D input, zero-padded to 3-D


def test_training_separates_the_classes(trained):
    task, history = trained
    runs = curvature_over_training(history, task.X_train, task.y_train, 10)
    assert [layers[0].step for layers in runs] == [0, 75, 150]
    first, last = runs[0][-1], runs[-1][-1]
    assert last.silhouette > first.silhouette + 0.1
    assert last.same_class_edges > first.same_class_edges
    # The input layer does not change with training.
    assert np.array_equal(runs[0][0].edge_curvature, runs[-1][0].edge_curvature)
    assert all(lc.status == "ok" for layers in runs for lc in layers)


def test_bad_layer_requests(trained):
    task, history = trained
    with pytest.raises(CurvatureError, match="one label per row"):
        layer_curvature(history.model, task.X_train, task.y_train[:5], 10)
    with pytest.raises(CurvatureError, match="method"):
        layer_curvature(history.model, task.X_train, task.y_train, 10, method="ricci")
    with pytest.raises(CurvatureError, match="out of range"):
        curvature_over_training(history, task.X_train, task.y_train, snapshots=[7])
    # A layer whose activations all coincide is reported, not raised.
    model = mlp([2, 4, 2], activation="relu", seed=0)
    with torch.no_grad():
        model[0].weight.zero_()
        model[0].bias.fill_(-1.0)
    dead = layer_curvature(model, task.X_train, task.y_train, 5)[1]
    assert dead.status == "failed" and "duplicate" in dead.message
