"""Hessian vs generalised Gauss–Newton vs Fisher, and Adam's second moment as a diagonal
empirical Fisher: closed-form identities, outside routes (autograd.functional, finite
differences, torch's own Adam state, enumeration of every mini-batch) and properties."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from geomcore.optim import compare, fisher_matrix, make_task, mlp, model_at
from geomcore.optim import curvature_views as cv


@pytest.fixture(scope="module")
def moons():
    return make_task("moons", n=200, noise=0.2, seed=0)


@pytest.fixture(scope="module")
def blobs():
    return make_task("blobs", n=120, seed=1)


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).max() / np.abs(b).max())


# -- H, GGN, F -------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["moons", "blobs"])
def test_gauss_newton_is_the_true_fisher(case, moons, blobs):
    # For softmax cross-entropy ∂²ℓ/∂z² = diag(p) − ppᵀ does not depend on the label, so
    # (1/n)ΣJᵀ(diag p − ppᵀ)J is the true Fisher: two routes (explicit Jacobian vs the
    # Householder factor of fisher_matrix) agree to round-off.
    task = moons if case == "moons" else blobs
    model = mlp([2, 8, 8, task.n_classes], "tanh", seed=3)
    mats = cv.curvature_matrices(model, task.X_train[:64], task.y_train[:64])
    assert _rel(mats.ggn, mats.fisher) < 1e-12
    assert mats.ggn.shape == (sum(p.numel() for p in model.parameters()),) * 2


def test_hessian_is_gauss_newton_plus_residual(moons):
    model = mlp([2, 8, 8, 2], "tanh", seed=1)
    X, y = moons.X_train[:64], moons.y_train[:64]
    mats = cv.curvature_matrices(model, X, y)
    R = cv.hessian_residual(model, X, y)
    assert _rel(mats.ggn + R, mats.hessian) < 1e-12
    # in a network the residual is not negligible away from a fit
    assert np.linalg.norm(R) > 0.3 * np.linalg.norm(mats.hessian)


def test_hessian_matches_autograd_functional_and_finite_differences(moons):
    model = mlp([2, 6, 2], "tanh", seed=2)
    X = torch.as_tensor(moons.X_train[:40])
    y = torch.as_tensor(moons.y_train[:40]).long()
    H = cv.curvature_matrices(model, X, y).hessian
    shapes = [(p.shape, p.numel()) for p in model.parameters()]
    names = [n for n, _ in model.named_parameters()]
    theta0 = torch.cat([p.detach().reshape(-1) for p in model.parameters()])

    def loss(theta: torch.Tensor) -> torch.Tensor:
        params, start = {}, 0
        for name, (shape, size) in zip(names, shapes, strict=True):
            params[name] = theta[start:start + size].view(shape)
            start += size
        logits = torch.func.functional_call(model, params, (X,))
        return torch.nn.functional.cross_entropy(logits, y)

    H_outside = torch.autograd.functional.hessian(loss, theta0).numpy()
    assert _rel(H, H_outside) < 1e-13  # measured 4e-16

    def grad(theta: torch.Tensor) -> np.ndarray:
        t = theta.clone().requires_grad_()
        return torch.autograd.grad(loss(t), t)[0].numpy()

    def central_differences(h: float) -> np.ndarray:
        return np.stack([(grad(theta0 + h * e) - grad(theta0 - h * e)) / (2 * h)
                         for e in torch.eye(theta0.numel(), dtype=torch.float64)])

    # Central differences of the gradient err by O(h²·‖∇³L‖): measured 6.8e-9 at h = 1e-4
    # and 6.8e-11 at h = 1e-5 (round-off, O(ε/h), is below that there). Second order:
    coarse, fine = _rel(H, central_differences(1e-4)), _rel(H, central_differences(1e-5))
    assert fine < 3e-10
    assert 80 < coarse / fine < 120


def test_softmax_regression_has_hessian_equal_to_gauss_newton_and_fisher(blobs):
    # Logits linear in θ: ∇²z = 0, so the residual vanishes and H = G = F.
    model = mlp([2, 3], seed=0)
    X, y = blobs.X_train[:80], blobs.y_train[:80]
    mats = cv.curvature_matrices(model, X, y)
    assert _rel(mats.hessian, mats.ggn) < 1e-12
    assert _rel(mats.hessian, mats.fisher) < 1e-12
    comp = cv.curvature_comparison(model, X, y)
    assert comp.hessian_ggn_gap < 1e-12 and comp.distances["hessian"] < 1e-12
    assert comp.negative_eigenvalues == 0


def test_network_hessian_is_indefinite_while_gauss_newton_and_fisher_are_psd(moons):
    model = mlp([2, 16, 16, 2], "tanh", seed=0)
    comp = cv.curvature_comparison(model, moons.X_train[:128], moons.y_train[:128])
    h = comp.eigenvalues["hessian"]
    assert comp.negative_eigenvalues > 10
    assert comp.most_negative == h[-1] < -0.05 * h[0]
    for name in ("ggn", "fisher", "empirical_fisher"):
        ev = comp.eigenvalues[name]
        assert ev[-1] >= -1e-13 * ev[0], name  # PSD up to round-off
        assert np.all(np.diff(ev) <= 0)  # descending
    assert comp.n_params == 354 and comp.n_points == 128


def test_residual_shrinks_near_a_good_fit(moons):
    runs = compare(moons, [2, 16, 16, 2], "tanh", optimizers={"Adam": {"kind": "adam"}},
                   steps=300, seed=0)
    h = runs["Adam"]
    assert h.loss[-1] < 0.05
    X, y = moons.X_train[:128], moons.y_train[:128]
    start = cv.curvature_comparison(model_at(h, 0), X, y)
    end = cv.curvature_comparison(model_at(h, -1), X, y)
    assert start.hessian_ggn_gap > 0.5
    assert end.hessian_ggn_gap < 0.25
    assert end.distances["hessian"] < 0.5 * start.distances["hessian"]


def test_empirical_fisher_is_the_true_fisher_averaged_over_model_labels(blobs):
    # E_{y_i ~ p_i}[F̂] = (1/n) Σ_i Σ_c p_ic ∇log p_c ∇log p_cᵀ = F; with the data's labels F̂
    # is a different matrix.
    model = mlp([2, 5, 3], "tanh", seed=4)
    X, y = blobs.X_train[:12], blobs.y_train[:12]
    with torch.no_grad():
        p = torch.softmax(model(torch.as_tensor(X)), dim=1).numpy()
    F = fisher_matrix(model, X, "true").numpy()
    expected = sum(p[i, c] * fisher_matrix(model, X[i:i + 1], "empirical", y=[c]).numpy()
                   for i in range(len(X)) for c in range(3)) / len(X)
    assert _rel(expected, F) < 1e-12
    comp = cv.curvature_comparison(model, X, y)
    assert comp.distances["empirical_fisher"] > 0.1


def test_bounds_are_enforced(moons):
    big = mlp([2, 40, 40, 2], seed=0)  # 1842 parameters
    with pytest.raises(cv.FisherError, match="P=1842"):
        cv.curvature_matrices(big, moons.X_train[:8], moons.y_train[:8])
    with pytest.raises(cv.FisherError, match="at most 512"):
        cv.curvature_matrices(mlp([2, 3, 2]), np.zeros((600, 2)), np.zeros(600, dtype=int))


# -- Adam ------------------------------------------------------------------------------------------


def _per_sample_gradients(model, X, y) -> np.ndarray:
    out = []
    for i in range(len(X)):
        model.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(torch.as_tensor(X[i:i + 1])),
                                                 torch.as_tensor(y[i:i + 1]).long())
        loss.backward()
        out.append(torch.cat([p.grad.reshape(-1) for p in model.parameters()]).numpy())
    return np.stack(out)


def test_plain_average_second_moment_is_the_empirical_fisher_diagonal(moons):
    # Batch size 1, one pass over a fixed batch, β₂ → 1 (the plain average): v̂ = diag F̂.
    model = mlp([2, 8, 2], "tanh", seed=5)
    X, y = moons.X_train[:32], moons.y_train[:32]
    g = _per_sample_gradients(model, X, y)
    diag = np.diag(fisher_matrix(model, X, "empirical", y=y).numpy())
    assert _rel(cv.adam_second_moment(g ** 2, 1.0), diag) < 1e-12
    # the limit: |v̂(β₂) − v̂(1)| = O(T (1 − β₂)) relative
    near = cv.adam_second_moment(g ** 2, 1 - 1e-6)
    assert 1e-9 < _rel(near, diag) < 32 * 1e-6


def test_second_moment_recursion_matches_torch_adam(moons):
    model = mlp([2, 8, 2], "tanh", seed=5)
    X, y = moons.X_train[:20], moons.y_train[:20]
    g = _per_sample_gradients(model, X, y)
    param = torch.zeros(g.shape[1], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([param], lr=1e-3, betas=(0.9, 0.95))
    for row in g:
        param.grad = torch.as_tensor(row)
        opt.step()
    state = opt.state[param]
    torch_v_hat = state["exp_avg_sq"].numpy() / (1 - 0.95 ** float(state["step"]))
    assert _rel(cv.adam_second_moment(g ** 2, 0.95), torch_v_hat) < 1e-12


@pytest.mark.parametrize("b", [1, 2, 3, 6])
def test_expected_scaled_square_over_every_batch(b):
    # Enumerate all C(6, b) batches: the mean of b·(batch mean)² is the closed form.
    rng = np.random.default_rng(b)
    g = rng.normal(size=(6, 5)) + rng.normal(size=5)
    exact = np.mean([b * g[list(B)].mean(0) ** 2
                     for B in itertools.combinations(range(6), b)], axis=0)
    formula = cv.expected_scaled_square((g ** 2).mean(0), g.mean(0), 6, b)
    assert _rel(formula, exact) < 1e-12
    if b == 1:
        assert _rel(formula, (g ** 2).mean(0)) < 1e-14  # an unbiased diag F̂
    if b == 6:
        assert _rel(formula, 6 * g.mean(0) ** 2) < 1e-14  # full batch: n ḡ²


def test_fisher_diagonals_match_fisher_matrix(blobs):
    model = mlp([2, 6, 3], "tanh", seed=6)
    X, y = blobs.X_train[:50], blobs.y_train[:50]
    emp, g_full, true, n_true = cv.fisher_diagonals(model, X, y, max_true_points=20)
    assert n_true == 20
    assert _rel(emp, np.diag(fisher_matrix(model, X, "empirical", y=y).numpy())) < 1e-12
    assert _rel(true, np.diag(fisher_matrix(model, X[:20], "true").numpy())) < 1e-12
    model.zero_grad()
    torch.nn.functional.cross_entropy(model(torch.as_tensor(X)),
                                      torch.as_tensor(y).long()).backward()
    grad = torch.cat([p.grad.reshape(-1) for p in model.parameters()]).numpy()
    assert _rel(g_full, grad) < 1e-12


@pytest.mark.parametrize("batch_size", [None, 16])
def test_replay_reproduces_the_adam_run(moons, batch_size):
    runs = compare(moons, [2, 8, 8, 2], "tanh",
                   optimizers={"SGD": {"kind": "sgd"}, "Adam": {"kind": "adam", "lr": 0.02}},
                   steps=40, batch_size=batch_size, seed=3, snapshot_every=10)
    stored = runs["Adam"].snapshots.copy()
    view = cv.adam_fisher_view(runs["Adam"], moons.X_train, moons.y_train,
                               batch_size=batch_size, seed=3, damping=1e-3)
    np.testing.assert_array_equal(runs["Adam"].snapshots, stored)  # the replay left them alone
    assert view.replay_error == 0.0
    assert list(view.steps) == [0, 10, 20, 30, 40]
    b = 200 if batch_size is None else 16
    assert view.batch_size == b and view.n_train == 200
    P = 8 * 2 + 8 + 8 * 8 + 8 + 8 * 2 + 2
    assert view.scaled_second_moment.shape == (5, P) == view.fisher_diagonal.shape
    # At state 0, v̂ after one update is g₀² exactly (bias correction), so b·v̂ = b·g₀².
    model = model_at(runs["Adam"], 0)
    idx = slice(None) if batch_size is None else cv.replay_batches(200, 16, 1, 3)[0]
    X, y = moons.X_train[idx], moons.y_train[idx]
    model.zero_grad(set_to_none=True)  # the stored network carries its last step's gradient
    torch.nn.functional.cross_entropy(model(torch.as_tensor(X)),
                                      torch.as_tensor(y).long()).backward()
    g0 = torch.cat([p.grad.reshape(-1) for p in model.parameters()]).numpy()
    assert _rel(view.scaled_second_moment[0], b * g0 ** 2) < 1e-12
    for values in view.cosines.values():
        assert values.shape == (5,) and np.all(np.abs(values) <= 1 + 1e-12)
    with pytest.raises(ValueError, match="not an Adam run"):
        cv.adam_fisher_view(runs["SGD"], moons.X_train, moons.y_train, batch_size=batch_size,
                            seed=3)


def test_parameters_are_subsampled_to_the_bound(moons):
    runs = compare(moons, [2, 8, 2], optimizers={"Adam": {"kind": "adam"}}, steps=3, seed=0)
    view = cv.adam_fisher_view(runs["Adam"], moons.X_train, moons.y_train, batch_size=None,
                               seed=0, max_params=10, max_true_points=7)
    assert view.parameter_index.size == 10 and view.scaled_second_moment.shape[1] == 10
    assert view.n_true_points == 7
