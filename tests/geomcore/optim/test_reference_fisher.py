"""Fisher, natural gradient and K-FAC against two outside libraries on the same network:
BackPACK (exact GGN square root, per-sample gradients, KFLR factors) and nngeometry (dense and
K-FAC Fisher). Both are the `test` extra (installed --no-deps by the Makefile); under CI a
missing one fails (tests/conftest.py).

Measured agreement (relative to the largest entry, this network, float64): dense true Fisher
6e-16 (BackPACK) and 1.4e-15 (nngeometry), empirical Fisher 4e-16, KFLR factors 1e-15, K-FAC
matrix 8e-16 (nngeometry), natural gradient 3e-14 (damping 1e-3, condition number ~1e5).
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Iterator

import numpy as np
import pytest
import torch
from torch import nn

from geomcore.optim import fisher, models

N, C = 30, 3
MATRIX_RTOL = 1e-13  # measured 1.4e-15 at worst
SOLVE_RTOL = 1e-12  # measured 3.9e-14: the damped system's conditioning amplifies round-off
DAMPING = 1e-3


def _max_rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max())


@pytest.fixture(scope="module")
def problem() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(0)
    X = torch.as_tensor(rng.normal(size=(N, 2)))
    y = torch.as_tensor(rng.integers(0, C, N))
    return models.mlp([2, 5, 4, C], "tanh", seed=3), X, y


@pytest.fixture(scope="module")
def backpacked(problem: tuple) -> nn.Module:
    """A BackPACK-extended copy of the network after one backward pass with its extensions."""
    backpack = pytest.importorskip("backpack")
    from backpack.extensions import KFLR, BatchGrad, SqrtGGNExact

    net, X, y = problem
    ext = backpack.extend(copy.deepcopy(net))
    loss = backpack.extend(nn.CrossEntropyLoss())(ext(X), y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # BackPACK's full-backward-hook notice
        with backpack.backpack(KFLR(), SqrtGGNExact(), BatchGrad()):
            loss.backward()
    return ext


def _backpack_ggn(ext: nn.Module) -> torch.Tensor:
    # sqrt_ggn_exact has shape [C, N, *param]: GGN = V Vᵀ with V's columns over (c, n).
    V = torch.cat([p.sqrt_ggn_exact.reshape(C * N, -1) for p in ext.parameters()], dim=1)
    return V.T @ V


def test_true_fisher_matches_backpack_ggn(problem: tuple, backpacked: nn.Module) -> None:
    net, X, _ = problem
    assert _max_rel(fisher.fisher_matrix(net, X), _backpack_ggn(backpacked)) < MATRIX_RTOL


def test_empirical_fisher_matches_backpack_batch_gradients(problem: tuple,
                                                           backpacked: nn.Module) -> None:
    # BatchGrad of the mean loss gives g_i / n, so (1/n) Σ g_i g_iᵀ = n Σ (g_i/n)(g_i/n)ᵀ.
    net, X, y = problem
    B = torch.cat([p.grad_batch.reshape(N, -1) for p in backpacked.parameters()], dim=1)
    F = fisher.fisher_matrix(net, X, "empirical", y=y)
    assert _max_rel(F, N * B.T @ B) < MATRIX_RTOL


@pytest.mark.parametrize("solver", ["exact", "cg"])
def test_natural_gradient_matches_a_solve_with_backpack(problem: tuple, backpacked: nn.Module,
                                                        solver: str) -> None:
    net, X, y = problem
    g = torch.cat([p.grad.reshape(-1) for p in backpacked.parameters()])
    F = _backpack_ggn(backpacked)
    expected = torch.linalg.solve(F + DAMPING * torch.eye(F.shape[0], dtype=F.dtype), g)
    d = fisher.natural_gradient(net, X, y, DAMPING, solver=solver, cg_iters=500, cg_tol=1e-14)
    assert _max_rel(d, expected) < SOLVE_RTOL


def test_kfac_factors_match_backpack_kflr(problem: tuple, backpacked: nn.Module) -> None:
    net, X, _ = problem
    factors = fisher.kfac_factors(net, X)
    layers = models.linear_layers(backpacked)
    assert len(factors) == len(layers) == 3
    for fac, layer in zip(factors, layers, strict=True):
        G_bp, A_bp = layer.weight.kflr  # A without the bias row/column
        assert _max_rel(fac.G, G_bp) < MATRIX_RTOL
        assert _max_rel(fac.A[:-1, :-1], A_bp) < MATRIX_RTOL


@pytest.fixture
def float64_default() -> Iterator[None]:
    # nngeometry builds helper tensors in the default dtype (and uses torch.finfo() for an
    # epsilon): float64 here, restored afterwards.
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def _nngeometry_fim(problem: tuple, representation_name: str) -> torch.Tensor:
    pytest.importorskip("nngeometry")
    from nngeometry import object as pspace
    from nngeometry.metrics import FIM
    from torch.utils.data import DataLoader, TensorDataset

    net, X, y = problem
    loader = DataLoader(TensorDataset(X, y), batch_size=N)
    representation = getattr(pspace, representation_name)
    return FIM(net, loader, representation, variant="classif_logits").to_torch()


@pytest.mark.usefixtures("float64_default")
def test_true_fisher_matches_nngeometry_dense(problem: tuple) -> None:
    net, X, _ = problem
    assert _max_rel(fisher.fisher_matrix(net, X), _nngeometry_fim(problem, "PMatDense")) \
        < MATRIX_RTOL


@pytest.mark.usefixtures("float64_default")
def test_kfac_matrix_matches_nngeometry_kfac(problem: tuple) -> None:
    # nngeometry orders each layer's parameters weight (row-major) then bias, as we do.
    net, X, _ = problem
    K = fisher.kfac_matrix(net, X)
    assert _max_rel(K, _nngeometry_fim(problem, "PMatKFAC")) < MATRIX_RTOL
    assert float((K - fisher.fisher_matrix(net, X)).abs().max()) > 1e-6  # not the dense Fisher
