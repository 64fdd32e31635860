"""Fisher matrices, Fisher-vector products and natural gradients.

Closed forms (softmax regression), brute-force loops over samples, two routes through the code
(layer-wise factors vs torch.func vmap; autograd vs explicit products; primal vs dual vs CG), and
Taylor-remainder slopes for the derivatives written by hand.
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from geomcore.optim import fisher, models, tasks
from geomcore.optim._functional import (
    Linearization,
    functional_model,
    jacobian_rows,
    output_factor,
)

KINDS = ("true", "empirical", "monte_carlo")


class TanhFeatures(nn.Module):
    """A network whose parameters live outside nn.Linear: exercises the generic torch.func route."""

    def __init__(self, d: int, h: int, C: int, seed: int = 0) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.U = nn.Parameter(torch.randn(h, d, generator=g, dtype=torch.float64) * 0.8)
        self.c = nn.Parameter(torch.randn(h, generator=g, dtype=torch.float64) * 0.3)
        self.V = nn.Parameter(torch.randn(C, h, generator=g, dtype=torch.float64) * 0.8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(x @ self.U.T + self.c) @ self.V.T


def _data(n: int = 30, name: str = "blobs", seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    task = tasks.make_task(name, n=max(n, 10), seed=seed)
    return torch.tensor(task.X_train[:n]), torch.tensor(task.y_train[:n])


def _random_softmax_regression(d: int, C: int, seed: int = 1) -> nn.Module:
    net = models.mlp([d, C], seed=seed)
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(2.0)  # away from uniform predictions
    return net


def _per_sample_grads(model: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """Brute force: ∇_θ log p(c | x) for every class c, one sample, by plain autograd."""
    params = list(model.parameters())
    log_p = torch.log_softmax(model(x[None])[0], dim=0)
    return [
        torch.cat([g.reshape(-1) for g in torch.autograd.grad(log_p[c], params,
                                                              retain_graph=True)])
        for c in range(log_p.shape[0])
    ]


def _brute_force_fisher(model: nn.Module, X: torch.Tensor, kind: str, y: torch.Tensor,
                        n_samples: int, seed: int) -> torch.Tensor:
    """Python loops over samples and classes, straight from the definition."""
    P = models.count_parameters(model)
    F = torch.zeros(P, P, dtype=torch.float64)
    with torch.no_grad():
        probs = torch.softmax(model(X), dim=1)
    draws = torch.multinomial(probs, n_samples, replacement=True,
                              generator=torch.Generator().manual_seed(seed))
    for i in range(X.shape[0]):
        grads = _per_sample_grads(model, X[i])
        if kind == "true":
            for c, g in enumerate(grads):
                F += probs[i, c] * torch.outer(g, g)
        elif kind == "empirical":
            F += torch.outer(grads[y[i]], grads[y[i]])
        else:
            for s in range(n_samples):
                g = grads[draws[i, s]]
                F += torch.outer(g, g) / n_samples
    return F / X.shape[0]


def _loss_of_flat(model: nn.Module, X: torch.Tensor, y: torch.Tensor):
    params, f = functional_model(model)

    def loss(theta: torch.Tensor) -> torch.Tensor:
        parts, start = {}, 0
        for name, t in params.items():
            parts[name] = theta[start:start + t.numel()].view_as(t)
            start += t.numel()
        return nn.functional.cross_entropy(f(parts, X), y)

    return loss


# ---------------------------------------------------------------------------------------------
# closed forms


def test_softmax_regression_true_fisher_closed_form() -> None:
    X, _ = _data(25)
    C, d = 3, X.shape[1]
    net = _random_softmax_regression(d, C)
    F = fisher.fisher_matrix(net, X, "true").numpy()
    with torch.no_grad():
        P_ = torch.softmax(net(X), dim=1).numpy()
    expected = np.zeros_like(F)
    for x, p in zip(X.numpy(), P_, strict=True):
        # Logit Jacobian in parameter order: weight row-major (c, k) then bias (c).
        J = np.concatenate([np.kron(np.eye(C), x[None, :]), np.eye(C)], axis=1)
        expected += J.T @ (np.diag(p) - np.outer(p, p)) @ J
    expected /= X.shape[0]
    np.testing.assert_allclose(F, expected, rtol=1e-12, atol=1e-14)
    # Equivalently (diag(p) - ppᵀ) ⊗ x̃x̃ᵀ in [W | b] order.
    Xt = np.hstack([X.numpy(), np.ones((X.shape[0], 1))])
    kron = sum(np.kron(np.diag(p) - np.outer(p, p), np.outer(x, x))
               for x, p in zip(Xt, P_, strict=True)) / X.shape[0]
    perm = [c * (d + 1) + k for c in range(C) for k in range(d)] + [c * (d + 1) + d
                                                                  for c in range(C)]
    np.testing.assert_allclose(F, kron[np.ix_(perm, perm)], rtol=1e-12, atol=1e-14)


def test_softmax_regression_fisher_is_the_hessian() -> None:
    X, y = _data(40)
    net = _random_softmax_regression(X.shape[1], 3)
    theta = models.flat_parameters(net)
    H = torch.autograd.functional.hessian(_loss_of_flat(net, X, y), theta)
    F = fisher.fisher_matrix(net, X, "true")
    torch.testing.assert_close(F, H, rtol=1e-11, atol=1e-13)


def test_natural_gradient_is_the_newton_step_for_softmax_regression() -> None:
    X, y = _data(40)
    net = _random_softmax_regression(X.shape[1], 3)
    theta = models.flat_parameters(net)
    loss = _loss_of_flat(net, X, y)
    H = torch.autograd.functional.hessian(loss, theta)
    g = torch.func.grad(loss)(theta)
    eye = torch.eye(theta.numel(), dtype=torch.float64)
    # Same damping: the same linear system.
    d = fisher.natural_gradient(net, X, y, 1e-6)
    torch.testing.assert_close(d, torch.linalg.solve(H + 1e-6 * eye, g), rtol=1e-9, atol=1e-9)
    # Damping -> 0: the (pseudo-inverse) Newton step. The softmax Hessian is singular along
    # "add the same vector to every class", a direction the gradient has no component in.
    newton = torch.linalg.pinv(H, hermitian=True, rtol=1e-10) @ g
    for damping, tol in [(1e-6, 1e-4), (1e-9, 1e-7)]:
        d = fisher.natural_gradient(net, X, y, damping)
        assert float((d - newton).norm() / newton.norm()) < tol


# ---------------------------------------------------------------------------------------------
# brute force and two routes


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("route", ["layerwise", "generic"])
def test_fisher_matrix_matches_loops_over_samples(kind: str, route: str) -> None:
    X, y = _data(12)
    net = models.mlp([2, 4, 3], "tanh", seed=2) if route == "layerwise" else TanhFeatures(2, 4, 3)
    F = fisher.fisher_matrix(net, X, kind, y=y, n_samples=3, seed=5)
    expected = _brute_force_fisher(net, X, kind, y, n_samples=3, seed=5)
    torch.testing.assert_close(F, expected, rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("route", ["layerwise", "generic", "scaled"])
def test_fisher_vector_product_equals_matrix_product(kind: str, route: str) -> None:
    X, y = _data(30)
    if route == "generic":
        net = TanhFeatures(2, 6, 3, seed=1)
    else:
        net = models.mlp([2, 6, 6, 3], "softplus", seed=1)
        if route == "scaled":
            net = models.reparametrize(net, 7.0)
    F = fisher.fisher_matrix(net, X, kind, y=y, n_samples=2, seed=3)
    for seed in range(3):
        v = torch.randn(F.shape[0], dtype=torch.float64,
                        generator=torch.Generator().manual_seed(seed))
        Fv = fisher.fisher_vector_product(net, X, v, kind, y=y, n_samples=2, seed=3)
        torch.testing.assert_close(Fv, F @ v, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("r_columns", [1, 3])
def test_layerwise_rows_equal_vmap_rows(r_columns: int) -> None:
    X, _ = _data(15)
    net = models.reparametrize(models.mlp([2, 5, 4, 3], "gelu", seed=4), 3.0)
    params, f = functional_model(net)
    lin = Linearization(net, f, params, X)
    assert lin.layerwise
    R = torch.randn(15, 3, r_columns, dtype=torch.float64,
                    generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(lin.factor(R).rows(), jacobian_rows(f, params, X, R),
                               rtol=1e-11, atol=1e-13)


def test_monte_carlo_fisher_approaches_the_true_fisher() -> None:
    X, y = _data(20)
    net = models.mlp([2, 3, 3], seed=0)
    true = fisher.fisher_matrix(net, X, "true")
    mc = fisher.fisher_matrix(net, X, "monte_carlo", n_samples=1000, seed=0)
    assert float((mc - true).norm() / true.norm()) < 0.05
    emp = fisher.fisher_matrix(net, X, "empirical", y=y)
    assert float((emp - true).norm() / true.norm()) > 0.05  # a different matrix


@settings(max_examples=40, deadline=None)
@given(
    logits=st.lists(st.floats(-30, 30), min_size=2, max_size=7),
    rows=st.integers(1, 4),
)
def test_true_output_factor_squares_to_softmax_hessian(logits: list[float], rows: int) -> None:
    z = torch.tensor([logits] * rows, dtype=torch.float64)
    z = z + torch.arange(rows, dtype=torch.float64)[:, None] * torch.linspace(
        0, 1, len(logits), dtype=torch.float64)
    p = torch.softmax(z, dim=1)
    R = output_factor(p, "true")
    assert R.shape == (rows, len(logits), len(logits) - 1)
    A = torch.diag_embed(p) - p[:, :, None] * p[:, None, :]
    torch.testing.assert_close(R @ R.transpose(1, 2), A, rtol=0, atol=1e-14)


# ---------------------------------------------------------------------------------------------
# solvers


@pytest.mark.parametrize(
    ("sizes", "n", "kind"),
    [
        ([2, 6, 3], 40, "true"),  # primal (P <= n r)
        ([2, 32, 32, 2], 40, "true"),  # dual (P > n r), explicit-G CG
        ([2, 64, 64, 2], 300, "empirical"),  # dual, factored CG products
    ],
)
def test_cg_exact_and_dense_solves_agree(sizes: list[int], n: int, kind: str) -> None:
    name = "blobs" if sizes[-1] == 3 else "moons"
    X, y = _data(n, name)
    net = models.mlp(sizes, "tanh", seed=0)
    damping = 1e-2
    exact = fisher.natural_gradient(net, X, y, damping, kind, solver="exact")
    cg = fisher.natural_gradient(net, X, y, damping, kind, solver="cg", cg_iters=2000,
                                 cg_tol=1e-13)
    torch.testing.assert_close(cg, exact, rtol=1e-7, atol=1e-9)
    if models.count_parameters(net) <= 1300:
        F = fisher.fisher_matrix(net, X, kind, y=y)
        res = fisher.natural_gradient_step(net, X, y, damping, kind)
        dense = torch.linalg.solve(F + damping * torch.eye(F.shape[0], dtype=torch.float64),
                                   res.gradient)
        torch.testing.assert_close(exact, dense, rtol=1e-8, atol=1e-10)


def test_generic_route_cg_agrees_with_exact() -> None:
    X, y = _data(30)
    net = TanhFeatures(2, 8, 3)
    exact = fisher.natural_gradient(net, X, y, 1e-3)
    cg = fisher.natural_gradient(net, X, y, 1e-3, solver="cg", cg_iters=500, cg_tol=1e-13)
    torch.testing.assert_close(cg, exact, rtol=1e-7, atol=1e-9)


def test_auto_solver_and_diagnostics() -> None:
    X, y = _data(100, "moons")
    small = models.mlp([2, 8, 2])
    assert fisher.natural_gradient_step(small, X, y, 1e-3, solver="auto").solver == "exact"
    res = fisher.natural_gradient_step(small, X, y, 1e-3, solver="cg", cg_iters=3)
    assert res.solver == "cg" and res.cg_iterations == 3 and res.relative_residual > 0
    # dᵀFd from the solver equals the product computed directly.
    Fd = fisher.fisher_vector_product(small, X, res.direction)
    assert res.quadratic == pytest.approx(float(res.direction @ Fd), rel=1e-8)


def test_exact_solve_refuses_matrices_over_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    X, y = _data(40, "moons")
    net = models.mlp([2, 16, 2])
    monkeypatch.setattr(fisher, "MAX_DENSE_SIZE", 20)
    with pytest.raises(fisher.FisherError, match="use solver='cg'"):
        fisher.natural_gradient(net, X, y, 1e-3, solver="exact")
    with pytest.raises(fisher.FisherError, match="P=82"):
        fisher.fisher_matrix(net, X)
    # auto falls back to CG instead of raising.
    assert fisher.natural_gradient_step(net, X, y, 1e-3, solver="auto").solver == "cg"


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda net, X, y: fisher.fisher_matrix(net, X, "fancy"), "unknown Fisher kind 'fancy'"),
        (lambda net, X, y: fisher.fisher_matrix(net, X, "empirical"), "needs the labels"),
        (lambda net, X, y: fisher.fisher_matrix(net, X, "monte_carlo", n_samples=0),
         "n_samples=0"),
        (lambda net, X, y: fisher.natural_gradient(net, X, y, -1.0), "damping=-1.0"),
        (lambda net, X, y: fisher.natural_gradient(net, X, y, 1e-3, solver="lu"),
         "unknown solver 'lu'"),
        (lambda net, X, y: fisher.fisher_vector_product(net, X, torch.ones(3)), "v has 3"),
        (lambda net, X, y: fisher.natural_gradient(net, X, y[:3], 1e-3), "3 labels"),
    ],
)
def test_bad_fisher_requests_raise(call, match: str) -> None:
    X, y = _data(20)
    with pytest.raises(ValueError, match=match):
        call(models.mlp([2, 3]), X, y)


def test_singular_fisher_without_damping_is_reported() -> None:
    X, y = _data(20)
    net = models.mlp([2, 3])  # softmax redundancy: F is singular
    with pytest.raises(fisher.FisherError, match="increase the damping"):
        fisher.natural_gradient(net, X, y, 0.0)


# ---------------------------------------------------------------------------------------------
# Taylor-remainder slopes


def _slope(errors: np.ndarray, hs: np.ndarray) -> float:
    return float(np.polyfit(np.log(hs), np.log(errors), 1)[0])


def test_layerwise_jacobian_product_taylor_slope() -> None:
    """The hand-written layer-wise product ``J v`` (δ ã rows) is the derivative of the logits."""
    X, _ = _data(20)
    net = models.reparametrize(models.mlp([2, 6, 5, 3], "tanh", seed=3), 4.0)
    params, f = functional_model(net)
    lin = Linearization(net, f, params, X)
    eye = torch.eye(3, dtype=torch.float64).expand(20, 3, 3)
    theta = models.flat_parameters(net)
    v = torch.randn(theta.numel(), dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    Jv = lin.factor(eye).matvec(v)  # R = I: G v = J v
    hs = np.logspace(-5, -2, 6)
    probe = copy.deepcopy(net)
    errors = []
    for h in hs:
        models.set_flat_parameters(probe, theta + h * v)
        with torch.no_grad():
            errors.append(float((probe(X) - lin.logits - h * Jv).abs().max()))
    assert _slope(np.array(errors), hs) == pytest.approx(2.0, abs=0.1)


@pytest.mark.parametrize("name", ["moons", "blobs"])
def test_layerwise_loss_gradient_matches_autograd_and_taylor_slope(name: str) -> None:
    """The hand-written gradient (one backward pass over the simplex basis, then δ ãᵀ)."""
    X, y = _data(40, name)
    C = int(y.max()) + 1
    net = models.reparametrize(models.mlp([2, 6, 5, C], "softplus", seed=2), 2.5)
    theta = models.flat_parameters(net)
    loss = _loss_of_flat(net, X, y)
    g = fisher.natural_gradient_step(net, X, y, 1e-3).gradient
    torch.testing.assert_close(g, torch.func.grad(loss)(theta), rtol=1e-11, atol=1e-14)
    v = torch.randn(theta.numel(), dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    hs = np.logspace(-5, -2, 6)
    with torch.no_grad():
        errors = [abs(float(loss(theta + h * v) - loss(theta) - h * (g @ v))) for h in hs]
    assert _slope(np.array(errors), hs) == pytest.approx(2.0, abs=0.1)


def test_fisher_is_the_curvature_of_the_kl_taylor_slope() -> None:
    """KL(p_θ ‖ p_{θ+hv}) = h² vᵀFv / 2 + O(h³) (true Fisher)."""
    X, _ = _data(20)
    net = models.mlp([2, 5, 3], "tanh", seed=7)
    F = fisher.fisher_matrix(net, X)
    theta = models.flat_parameters(net)
    v = torch.randn(theta.numel(), dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        log_p = torch.log_softmax(net(X), dim=1)
    hs = np.logspace(-3.5, -1.5, 6)
    probe = copy.deepcopy(net)
    errors = []
    for h in hs:
        models.set_flat_parameters(probe, theta + h * v)
        with torch.no_grad():
            log_q = torch.log_softmax(probe(X), dim=1)
        kl = float((log_p.exp() * (log_p - log_q)).sum(dim=1).mean())
        errors.append(abs(kl - 0.5 * h**2 * float(v @ F @ v)))
    assert _slope(np.array(errors), hs) == pytest.approx(3.0, abs=0.15)


# ---------------------------------------------------------------------------------------------
# spectrum, K-FAC


@pytest.mark.parametrize("sizes", [[2, 4, 3], [2, 24, 3]])
def test_spectrum_matches_dense_eigenvalues(sizes: list[int]) -> None:
    X, _ = _data(12)
    net = models.mlp(sizes, seed=1)
    spec = fisher.fisher_spectrum(net, X)
    F = fisher.fisher_matrix(net, X)
    dense = np.sort(np.clip(np.linalg.eigvalsh(F.numpy()), 0, None))[::-1]
    assert spec.eigenvalues.shape == (F.shape[0],)
    np.testing.assert_allclose(spec.eigenvalues, dense, atol=1e-12)
    assert spec.rank <= min(F.shape[0], 12 * 2)
    kept = dense[dense > spec.rtol * dense[0]]
    assert spec.condition_number == pytest.approx(kept[0] / kept[-1], rel=1e-6)
    assert spec.damped_condition_number(1.0) < spec.condition_number


def test_kfac_is_exact_for_softmax_regression_with_equal_predictions() -> None:
    X, _ = _data(30)
    net = models.mlp([2, 3])
    with torch.no_grad():
        for p in net.parameters():
            p.zero_()  # every p_i uniform, so every G_i is the same and G ⊗ A is exact
    torch.testing.assert_close(fisher.kfac_matrix(net, X), fisher.fisher_matrix(net, X),
                               rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kind", ["true", "empirical"])
def test_kfac_factors_analytic_for_softmax_regression(kind: str) -> None:
    X, y = _data(30)
    net = _random_softmax_regression(2, 3)
    (fac,) = fisher.kfac_factors(net, X, kind, y=y)
    Xt = torch.cat([X, torch.ones(30, 1, dtype=torch.float64)], dim=1)
    torch.testing.assert_close(fac.A, Xt.T @ Xt / 30)
    with torch.no_grad():
        p = torch.softmax(net(X), dim=1)
    if kind == "true":
        expected = (torch.diag_embed(p) - p[:, :, None] * p[:, None, :]).mean(dim=0)
    else:
        e = nn.functional.one_hot(y, 3).double() - p
        expected = e.T @ e / 30
    torch.testing.assert_close(fac.G, expected, rtol=1e-12, atol=1e-14)


def test_kfac_blocks_are_exact_for_one_sample() -> None:
    X, _ = _data(1)
    net = models.mlp([2, 4, 3, 3], "sigmoid", seed=5)
    F = fisher.fisher_matrix(net, X)
    K = fisher.kfac_matrix(net, X)
    start = 0
    for layer in models.linear_layers(net):
        size = layer.weight.numel() + layer.bias.numel()
        block = slice(start, start + size)
        torch.testing.assert_close(K[block, block], F[block, block], rtol=1e-11, atol=1e-14)
        start += size
    off_diagonal = F.clone()
    off_diagonal[K != 0] = 0
    assert float(off_diagonal.abs().max()) > 1e-6  # K-FAC drops the cross-layer blocks


def test_against_backpack() -> None:
    """BackPACK's exact GGN square root (= true Fisher here) and KFLR factors."""
    backpack = pytest.importorskip("backpack")
    from backpack.extensions import KFLR, SqrtGGNExact

    X, y = _data(25)
    net = models.mlp([2, 5, 3], seed=3)
    ext = backpack.extend(copy.deepcopy(net))
    loss = backpack.extend(nn.CrossEntropyLoss())(ext(X), y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # BackPACK's full-backward-hook notice
        with backpack.backpack(KFLR(), SqrtGGNExact()):
            loss.backward()
    # sqrt_ggn_exact has shape [C, N, *param]: GGN = V Vᵀ with V's columns over (c, n).
    V = torch.cat([p.sqrt_ggn_exact.reshape(3 * 25, -1) for p in ext.parameters()], dim=1)
    torch.testing.assert_close(fisher.fisher_matrix(net, X), V.T @ V, rtol=1e-11, atol=1e-14)
    for fac, layer in zip(fisher.kfac_factors(net, X), models.linear_layers(ext), strict=True):
        G_bp, A_bp = layer.weight.kflr
        torch.testing.assert_close(fac.G, G_bp, rtol=1e-11, atol=1e-14)
        torch.testing.assert_close(fac.A[:-1, :-1], A_bp, rtol=1e-11, atol=1e-14)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu() -> None:
    X, y = _data(50, "moons")
    net = models.mlp([2, 8, 2])
    cpu = fisher.natural_gradient(net, X, y, 1e-3)
    gpu = fisher.natural_gradient(copy.deepcopy(net).cuda(), X.cuda(), y.cuda(), 1e-3)
    assert gpu.device.type == "cuda"
    torch.testing.assert_close(gpu.cpu(), cpu, rtol=1e-8, atol=1e-10)
