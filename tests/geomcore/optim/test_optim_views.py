"""Data for the page's pictures: grids, PCA planes, the two-weight logistic regression."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from geomcore.optim import (
    decision_grid,
    fisher,
    logistic_fisher,
    logistic_geometry,
    logistic_gradient,
    logistic_loss,
    models,
    predict_snapshots,
    tasks,
    trajectory_pca,
)
from geomcore.optim.training import compare

MOONS = tasks.make_task("moons", n=200)


@pytest.fixture(scope="module")
def runs():
    specs = {"SGD": {"kind": "sgd", "lr": 0.5},
             "NGD": {"kind": "ngd", "lr": 0.3, "damping": 1e-3}}
    return compare(MOONS, [2, 6, 2], optimizers=specs, steps=20, snapshot_every=5)


def test_decision_grid_covers_the_data_and_gives_probabilities(runs) -> None:
    h = runs["NGD"]
    grid = decision_grid(h.model, MOONS.X_train, snapshots=h.snapshots, resolution=25)
    assert grid.probs.shape == (5, 25, 25, 2)
    np.testing.assert_allclose(grid.probs.sum(axis=-1), 1.0, atol=1e-12)
    assert grid.xs[0] < MOONS.X_train[:, 0].min() and grid.xs[-1] > MOONS.X_train[:, 0].max()
    # The last snapshot is the trained model: the same predictions at a grid point.
    point = torch.tensor([[grid.xs[3], grid.ys[7]]])
    with torch.no_grad():
        expected = torch.softmax(h.model(point), dim=1).numpy()[0]
    np.testing.assert_allclose(grid.probs[-1, 7, 3], expected, atol=1e-12)
    with pytest.raises(ValueError, match="2-d inputs"):
        decision_grid(h.model, np.zeros((5, 3)))
    with pytest.raises(ValueError, match="resolution=1"):
        decision_grid(h.model, MOONS.X_train, resolution=1)


def test_predict_snapshots_matches_the_model(runs) -> None:
    h = runs["SGD"]
    probs = predict_snapshots(h, MOONS.X_test[:10])
    assert probs.shape == (5, 10, 2)
    with torch.no_grad():
        final = torch.softmax(h.model(torch.tensor(MOONS.X_test[:10])), dim=1).numpy()
    np.testing.assert_allclose(probs[-1], final, atol=1e-12)


def test_trajectory_pca_plane_and_loss(runs) -> None:
    pca = trajectory_pca(runs, MOONS.X_train, MOONS.y_train, resolution=12)
    assert pca.components.shape == (2, models.count_parameters(runs["SGD"].model))
    np.testing.assert_allclose(pca.components @ pca.components.T, np.eye(2), atol=1e-10)
    assert 0 < pca.explained_variance_ratio.sum() <= 1 + 1e-12
    assert pca.loss.shape == (12, 12) and np.all(np.isfinite(pca.loss))
    for name, h in runs.items():
        path = pca.paths[name]
        assert path.shape == (h.snapshots.shape[0], 2)
        assert pca.a[0] <= path[:, 0].min() and path[:, 0].max() <= pca.a[-1]
    # The explained variance is the snapshots' variance within the plane (measured: 0.988 of it
    # here, so the snapshots are not on the plane and their recorded losses are no reference).
    snaps = np.concatenate([h.snapshots for h in runs.values()])
    centred = snaps - pca.center
    in_plane = ((centred @ pca.components.T) ** 2).sum(axis=0) / (centred**2).sum()
    np.testing.assert_allclose(pca.explained_variance_ratio, in_plane, rtol=1e-12)
    # The loss grid is the training loss of the network at θ(a, b) on the plane, point by point.
    net = copy.deepcopy(runs["SGD"].model)
    X, y = torch.as_tensor(MOONS.X_train), torch.as_tensor(MOONS.y_train)
    for i, j in [(0, 0), (3, 8), (11, 5), (6, 11)]:
        theta = pca.center + pca.a[j] * pca.components[0] + pca.b[i] * pca.components[1]
        models.set_flat_parameters(net, torch.as_tensor(theta))
        with torch.no_grad():
            expected = float(nn.functional.cross_entropy(net(X), y))
        assert pca.loss[i, j] == pytest.approx(expected, rel=1e-12)


@settings(max_examples=15, deadline=None, derandomize=True)
@given(w=st.tuples(st.floats(-4, 4), st.floats(-4, 4)), seed=st.integers(0, 50))
def test_logistic_gradient_taylor_slope(w: tuple[float, float], seed: int) -> None:
    """Hand-written gradient and Fisher (= Hessian) of the two-weight model."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((50, 2)) * [2.0, 0.5]
    y = (rng.uniform(size=50) < 0.5).astype(float)
    w0 = np.asarray(w)
    v = rng.standard_normal(2)
    L0, slope = logistic_loss(w0, X, y), logistic_gradient(w0, X, y) @ v
    curvature = v @ logistic_fisher(w0, X) @ v
    # Step ranges where each remainder stands above the round-off of L (~1e-15) in every case:
    # over 300 random cases the smallest remainders were 1.5e-12 and 3.6e-15 and the fitted
    # slopes 2 ± 0.003 and 3 ± 0.11 (a wrong gradient or Hessian gives slope 1 or 2; where the
    # third derivative vanishes, as at w = 0, the second remainder is O(h⁴): slope 4).
    hs1, hs2 = np.logspace(-4, -2, 5), np.logspace(-3, -2, 5)
    first = [abs(logistic_loss(w0 + h * v, X, y) - L0 - h * slope) for h in hs1]
    second = [abs(logistic_loss(w0 + h * v, X, y) - L0 - h * slope - 0.5 * h**2 * curvature)
              for h in hs2]
    assert np.polyfit(np.log(hs1), np.log(first), 1)[0] == pytest.approx(2.0, abs=0.02)
    assert 2.8 < np.polyfit(np.log(hs2), np.log(second), 1)[0] < 4.2


class _TwoWeights(nn.Module):
    """p(y=1|x) = σ(wᵀx) written as softmax over the logits [0, wᵀx]."""

    def __init__(self, w: np.ndarray) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.tensor(w, dtype=torch.float64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = x @ self.w
        return torch.stack([torch.zeros_like(z), z], dim=1)


def test_logistic_fisher_matches_fisher_matrix() -> None:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 2))
    w = np.array([0.7, -1.3])
    expected = fisher.fisher_matrix(_TwoWeights(w), torch.tensor(X)).numpy()
    np.testing.assert_allclose(logistic_fisher(w, X), expected, rtol=1e-12)
    # Vectorised over leading axes.
    W = np.stack([w, 2 * w, -w])
    assert logistic_fisher(W, X).shape == (3, 2, 2)
    np.testing.assert_allclose(logistic_fisher(W, X)[1], logistic_fisher(2 * w, X))


def test_logistic_geometry_paths_and_indicatrices() -> None:
    geo = logistic_geometry(steps=30, resolution=40, ellipse_grid=5, ellipse_points=32)
    assert geo.loss.shape == (40, 40) and geo.ellipses.shape == (25, 32, 2)
    # Each outline satisfies vᵀ F(c) v = r².
    v = geo.ellipses - geo.centers[:, None, :]
    quad = np.einsum("kmi,kij,kmj->km", v, geo.fisher, v)
    np.testing.assert_allclose(quad, geo.ellipse_radius**2, rtol=1e-8)
    # The optimum is a stationary point, and NGD gets much closer to it than GD.
    assert np.linalg.norm(logistic_gradient(geo.optimum, geo.X, geo.y)) < 1e-10
    gd_err = np.linalg.norm(geo.gd_path[-1] - geo.optimum)
    ngd_err = np.linalg.norm(geo.ngd_path[-1] - geo.optimum)
    assert ngd_err < 1e-3 < gd_err
    assert logistic_loss(geo.ngd_path[-1], geo.X, geo.y) < logistic_loss(geo.gd_path[0],
                                                                          geo.X, geo.y)
    with pytest.raises(ValueError, match="labels must be 0 or 1"):
        logistic_geometry(np.zeros((4, 2)), np.array([0, 1, 2, 1]))
