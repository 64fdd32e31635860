"""Degenerate input to the Fisher routines and optimizers: a clear FisherError, never NaN or a
silent no-op (issue 6, section 3)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch

from geomcore.optim import KFAC, NaturalGradient, make_task, mlp, reparametrization_demo
from geomcore.optim.fisher import (
    FisherError,
    fisher_matrix,
    fisher_spectrum,
    fisher_vector_product,
    kfac_factors,
    natural_gradient,
    natural_gradient_step,
)

N_CLASSES = 3


@pytest.fixture
def data() -> tuple[torch.nn.Module, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(8, 2))
    y = rng.integers(0, N_CLASSES, 8)
    return mlp([2, 4, N_CLASSES], seed=0), X, y


def _with(X: np.ndarray, value: float) -> np.ndarray:
    X = X.copy()
    X[3, 1] = value
    return X


ROUTINES: dict[str, Callable] = {
    "fisher_matrix": lambda net, X, y: fisher_matrix(net, X, "empirical", y=y),
    "fisher_matrix_true": lambda net, X, y: fisher_matrix(net, X),
    "fisher_vector_product": lambda net, X, y: fisher_vector_product(
        net, X, np.ones(sum(p.numel() for p in net.parameters())), "empirical", y=y),
    "fisher_spectrum": lambda net, X, y: fisher_spectrum(net, X, "empirical", y=y),
    "kfac_factors": lambda net, X, y: kfac_factors(net, X, "empirical", y=y),
    "natural_gradient_exact": lambda net, X, y: natural_gradient(net, X, y, 1e-3),
    "natural_gradient_cg": lambda net, X, y: natural_gradient(net, X, y, 1e-3, solver="cg"),
}


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("routine", list(ROUTINES))
def test_non_finite_inputs_are_named(data: tuple, routine: str, value: float) -> None:
    net, X, y = data
    with pytest.raises(FisherError, match=r"inputs X .*row 3"):
        ROUTINES[routine](net, _with(X, value), y)


def test_cg_on_nan_inputs_no_longer_reports_a_converged_zero_step(data: tuple) -> None:
    # Before: direction 0, 0 iterations, relative residual 0 (a "converged" no-op).
    net, X, y = data
    with pytest.raises(FisherError, match="inputs X"):
        natural_gradient_step(net, _with(X, np.nan), y, 1e-3, solver="cg")


@pytest.mark.parametrize("routine", list(ROUTINES))
def test_non_finite_parameters_are_named(data: tuple, routine: str) -> None:
    net, X, y = data
    with torch.no_grad():
        net[0].weight[1, 0] = float("nan")
    with pytest.raises(FisherError, match=r"parameter 0\.weight"):
        ROUTINES[routine](net, X, y)


def test_overflowing_logits_are_reported(data: tuple) -> None:
    # Finite parameters and inputs whose logits overflow: the message says what overflowed.
    net, X, y = data
    with torch.no_grad():
        net[2].weight.fill_(1e308)
    with pytest.raises(FisherError, match="logits"):
        fisher_matrix(net, X)


def test_non_finite_vector_is_named(data: tuple) -> None:
    net, X, _ = data
    v = np.ones(sum(p.numel() for p in net.parameters()))
    v[2] = np.inf
    with pytest.raises(FisherError, match=r"vector v .*entry 2"):
        fisher_vector_product(net, X, v)


@pytest.mark.parametrize("solver", ["cg", "exact"])
def test_natural_gradient_optimizer_refuses_nan_batch(data: tuple, solver: str) -> None:
    # Before: with solver="cg" the step left the weights unchanged and reported nothing.
    net, X, y = data
    before = [p.detach().clone() for p in net.parameters()]
    opt = NaturalGradient(net, lr=0.5, damping=1e-3, solver=solver)
    with pytest.raises(FisherError, match="inputs X"):
        opt.step(torch.as_tensor(_with(X, np.nan)), torch.as_tensor(y))
    for p, q in zip(net.parameters(), before, strict=True):
        assert torch.equal(p.detach(), q)  # the refused step did not touch the weights


def test_kfac_optimizer_refuses_nan_batch(data: tuple) -> None:
    net, X, y = data
    opt = KFAC(net, lr=0.3, damping=1e-2)
    with pytest.raises(FisherError, match="inputs X"):
        opt.step(torch.as_tensor(_with(X, np.nan)), torch.as_tensor(y))


@pytest.mark.parametrize("bad", [-1, N_CLASSES, 99])
@pytest.mark.parametrize("routine", ["fisher_matrix", "natural_gradient_exact",
                                     "natural_gradient_cg", "kfac_factors"])
def test_out_of_range_labels(data: tuple, routine: str, bad: int) -> None:
    # Before: torch's "Class values must be smaller than num_classes" (a RuntimeError) or an
    # IndexError from one_hot; negative labels wrapped around silently in places.
    net, X, y = data
    y = y.copy()
    y[5] = bad
    with pytest.raises(FisherError, match=rf"labels y .*0 \.\. {N_CLASSES - 1} .*y\[5\] = {bad}$"):
        ROUTINES[routine](net, X, y)


def test_kfac_optimizer_out_of_range_labels(data: tuple) -> None:
    net, X, y = data
    y = y.copy()
    y[0] = N_CLASSES
    with pytest.raises(FisherError, match="labels y"):
        KFAC(net).step(torch.as_tensor(X), torch.as_tensor(y))


@pytest.mark.parametrize("routine", ["fisher_matrix", "natural_gradient_exact", "kfac_factors"])
def test_fractional_labels_are_refused(data: tuple, routine: str) -> None:
    # Before: 0.5 was truncated to 0 by .long() and the Fisher computed for the wrong labels.
    net, X, y = data
    y = y.astype(float)
    y[2] = 0.5
    with pytest.raises(FisherError, match=r"labels y .*integer.*0\.5"):
        ROUTINES[routine](net, X, y)


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_labels_are_refused(data: tuple, value: float) -> None:
    net, X, y = data
    y = y.astype(float)
    y[1] = value
    with pytest.raises(FisherError, match="labels y"):
        fisher_matrix(net, X, "empirical", y=y)


def test_integer_valued_float_labels_are_accepted(data: tuple) -> None:
    net, X, y = data
    F_int = fisher_matrix(net, X, "empirical", y=y)
    F_float = fisher_matrix(net, X, "empirical", y=y.astype(float))
    assert torch.equal(F_int, F_float)


def test_non_finite_damping_is_refused(data: tuple) -> None:
    net, X, y = data
    with pytest.raises(FisherError, match="damping"):
        natural_gradient(net, X, y, float("nan"))


def test_reparametrization_gap_is_set_by_the_damping() -> None:
    # The demo's docstring: NGD's predictions in the two coordinates differ by about 390·λ
    # (3.9e-6 at the default λ = 1e-8), the damping's effect, not round-off.
    task = make_task("moons")
    gaps = {lam: float(np.max(reparametrization_demo(task, damping=lam).gaps["NGD"]))
            for lam in (1e-8, 1e-10)}
    assert gaps[1e-8] == pytest.approx(3.87e-6, rel=0.01)
    assert gaps[1e-8] / gaps[1e-10] == pytest.approx(100.0, rel=0.01)
