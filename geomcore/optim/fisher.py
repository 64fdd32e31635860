"""The Fisher information of a softmax classifier: dense, matrix-free, and natural gradients.

For a network with logits ``f(θ, x) ∈ R^C`` and predictive ``p(y|x, θ) = softmax(f)``, on inputs
``x_1..x_n`` the Fisher is

    F = (1/n) Σ_i E_{y∼q_i}[∇_θ log p(y|x_i) ∇_θ log p(y|x_i)ᵀ]      (shape=[P, P])

with parameters flattened in ``model.parameters()`` order (each tensor row-major). The kinds:

* ``"true"``: ``q_i = p(·|x_i, θ)``, the exact expectation over the model's own predictive
  distribution (a sum over the classes, no sampling). It equals
  ``(1/n) Σ J_iᵀ (diag(p_i) - p_i p_iᵀ) J_i``, the generalised Gauss-Newton matrix of the mean
  cross-entropy.
* ``"empirical"``: ``q_i`` is a point mass at the given label ``y_i``. Not a metric of the model
  (it depends on the labels and vanishes at a perfect fit); shown for contrast.
* ``"monte_carlo"``: ``n_samples`` labels drawn from ``p(·|x_i)`` with a seeded generator, an
  unbiased estimate of the true Fisher.

Every kind is ``F = GᵀG / n`` with ``G`` the stacked per-sample rows ``R_ijᵀ J_i`` (see
``_functional.py``; for the true Fisher ``r = C - 1`` rows per sample, one for two classes).
Networks made only of ``nn.Linear`` layers (with any parameter-free modules between them) get
``G`` layer by layer from one forward and one backward pass (rows ``δ ⊗ ã``, as BackPACK does);
any other network gets it from ``torch.func`` (``vmap`` over per-sample ``grad``/``jacrev``) and
its Fisher-vector products from autograd (``J v`` by double backward, ``Jᵀ u`` by backward). Both
routes agree to round-off (tests).

The natural gradient is ``(F + λI)⁻¹ ∇L`` with ``L`` the mean cross-entropy. Solvers: a direct
Cholesky solve on the smaller of the ``P×P`` (primal) and ``m×m`` (dual, via the Woodbury
identity, ``m = n·r`` rows of ``G``) Gram matrices, or conjugate gradient with Fisher-vector
products, which never forms ``F``. ``solver="auto"`` solves directly while that costs less than
:data:`DIRECT_COST_LIMIT` multiply-adds (about the cost of 10 CG iterations, measured in
``benchmarks/optim.py``) and switches to CG above; no matrix larger than
:data:`MAX_DENSE_SIZE` a side is ever formed. Everything follows the device and dtype of the
model's parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import torch
from torch import nn

from geomcore._validation import check_int
from geomcore.optim._functional import (
    FISHER_KINDS,
    MAX_DENSE_SIZE,
    FisherError,
    FisherKind,
    Linearization,
    as_inputs,
    check_finite,
    check_kind,
    cholesky_solve,
    conjugate_gradient,
    fisher_product,
    functional_model,
    lower_gram,
    seeded_output_factor,
)
from geomcore.optim._kfac import KroneckerFactors, kfac_factors, kfac_matrix

__all__ = [
    "DIRECT_COST_LIMIT",
    "FISHER_KINDS",
    "FisherError",
    "FisherKind",
    "FisherSpectrum",
    "KroneckerFactors",
    "MAX_DENSE_SIZE",
    "NaturalGradientResult",
    "SOLVERS",
    "Solver",
    "fisher_matrix",
    "fisher_spectrum",
    "fisher_vector_product",
    "kfac_factors",
    "kfac_matrix",
    "natural_gradient",
    "natural_gradient_step",
]

Solver = Literal["exact", "cg", "auto"]
"""How :func:`natural_gradient` solves ``(F + λI) d = g`` (see its ``solver``)."""
SOLVERS: tuple[Solver, ...] = get_args(Solver)
"""Solvers accepted by :func:`natural_gradient`."""


DIRECT_COST_LIMIT = 1.5e8
"""``solver="auto"`` solves directly while the estimated multiply-adds (``P²m + P³/3`` primal,
``m² Σ_l(in_l + out_l) + m³/3`` dual for Linear networks) stay below this: 10-20 ms on one core
of our 2-core CPU, where a 10-iteration CG step of the same network costs about as much."""

MAX_G_ENTRIES = 1 << 25
"""Most entries of the Fisher factor G formed densely (268 MB of float64), e.g. for the dual
(Woodbury) route."""
_CG_DENSE_G_ENTRIES = 1 << 20  # 8 MB: CG multiplies by an explicit G up to this size


def fisher_matrix(
    model: nn.Module,
    X: np.ndarray | torch.Tensor,
    kind: FisherKind = "true",
    *,
    y: np.ndarray | torch.Tensor | None = None,
    n_samples: int = 1,
    seed: int = 0,
) -> torch.Tensor:
    """The ``P×P`` Fisher matrix ``F = GᵀG / n``.

    Parameters
    ----------
    model : nn.Module
        A classifier returning logits ``shape=[n, C]`` for inputs ``shape=[n, d]``.
    X : array, ``shape=[n, d]``
        Inputs the expectation runs over.
    kind : {"true", "empirical", "monte_carlo"}
        ``"true"``, ``"empirical"`` (needs ``y``) or ``"monte_carlo"``.
    y : array of int, ``shape=[n]``, optional
        Labels, for ``kind="empirical"``.
    n_samples : int
        Labels drawn per input for ``kind="monte_carlo"``.
    seed : int
        Seed of the Monte-Carlo draws.

    Returns
    -------
    Tensor
        ``shape=[P, P]``, symmetric positive semi-definite, on the model's device.
    """
    params, f = functional_model(model)
    X_t, y_t = as_inputs(model, X, y)
    check_kind(kind, y_t, n_samples)
    P = _n_params(params)
    if P > MAX_DENSE_SIZE:
        raise FisherError(
            f"the model has P={P} parameters; a {P}×{P} Fisher would not fit the memory budget "
            f"(P <= {MAX_DENSE_SIZE}); use fisher_vector_product or a smaller network"
        )
    lin = Linearization(model, f, params, X_t)
    _, R = seeded_output_factor(lin.logits, kind, y_t, n_samples, X_t, seed)
    m = X_t.shape[0] * R.shape[2]
    if m * P > MAX_G_ENTRIES:
        raise FisherError(
            f"forming F needs the {m}×{P} factor G, over the budget of {MAX_G_ENTRIES} entries; "
            "use fewer inputs or fisher_vector_product"
        )
    G = lin.factor(R).rows().reshape(m, P)
    return G.T @ G / X_t.shape[0]


def fisher_vector_product(
    model: nn.Module,
    X: np.ndarray | torch.Tensor,
    v: np.ndarray | torch.Tensor,
    kind: FisherKind = "true",
    *,
    y: np.ndarray | torch.Tensor | None = None,
    n_samples: int = 1,
    seed: int = 0,
) -> torch.Tensor:
    """``F v`` without forming ``F``: ``(1/n) Jᵀ R Rᵀ (J v)``.

    ``J v`` and ``Jᵀ u`` are autograd products (double backward and backward), or, for a
    network of Linear layers, products with the layer-wise factors of ``G`` (two small matmuls
    per layer).

    Parameters are as in :func:`fisher_matrix`; ``v`` has ``shape=[P]``. The same ``seed``
    gives the same Monte-Carlo labels as :func:`fisher_matrix`, so the two agree exactly.

    Returns
    -------
    Tensor
        ``shape=[P]``.
    """
    params, f = functional_model(model)
    X_t, y_t = as_inputs(model, X, y)
    check_kind(kind, y_t, n_samples)
    v_t = _as_vector(v, params)
    lin = Linearization(model, f, params, X_t)
    _, R = seeded_output_factor(lin.logits, kind, y_t, n_samples, X_t, seed)
    return fisher_product(lin.factor(R), v_t)


@dataclass(frozen=True)
class NaturalGradientResult:
    """Everything one natural-gradient computation produced (used by the optimizer).

    ``direction`` is ``d = (F + λI)⁻¹ g`` and ``quadratic`` is ``dᵀ F d`` (so a step ``-η d``
    changes the predictive distribution by a KL of about ``η² dᵀFd / 2``).
    """

    direction: torch.Tensor
    gradient: torch.Tensor
    loss: torch.Tensor
    logits: torch.Tensor
    quadratic: float
    solver: Literal["exact", "cg"]
    cg_iterations: int
    relative_residual: float


def natural_gradient(
    model: nn.Module,
    X: np.ndarray | torch.Tensor,
    y: np.ndarray | torch.Tensor,
    damping: float,
    kind: FisherKind = "true",
    *,
    solver: Solver = "exact",
    cg_iters: int = 50,
    cg_tol: float = 1e-10,
    n_samples: int = 1,
    seed: int = 0,
) -> torch.Tensor:
    """The damped natural gradient ``(F + λI)⁻¹ ∇L`` of the mean cross-entropy ``L``.

    Parameters
    ----------
    model, X, kind, n_samples, seed
        As in :func:`fisher_matrix`.
    y : array of int, ``shape=[n]``
        Labels of the loss ``L = -(1/n) Σ log p(y_i|x_i)``.
    damping : float
        ``λ >= 0``; the direct solvers need ``F + λI`` positive definite.
    solver : {"exact", "cg", "auto"}
        ``"exact"``: Cholesky solve of the primal ``(F + λI)`` or, when ``m = n·r < P``, of the
        dual ``(nλI + GGᵀ)`` through ``(F + λI)⁻¹ = (I - Gᵀ(nλI + GGᵀ)⁻¹G)/λ`` (needs
        ``λ > 0``); raises :class:`FisherError` if the smaller side exceeds
        :data:`MAX_DENSE_SIZE`. ``"cg"``: conjugate gradient with Fisher-vector products (at most
        ``cg_iters`` iterations, relative residual ``cg_tol``). ``"auto"``: ``"exact"`` below
        :data:`DIRECT_COST_LIMIT`, else ``"cg"``.

    Returns
    -------
    Tensor
        ``shape=[P]``, in ``model.parameters()`` order.
    """
    return natural_gradient_step(
        model, X, y, damping, kind, solver=solver, cg_iters=cg_iters, cg_tol=cg_tol,
        n_samples=n_samples, seed=seed,
    ).direction


def natural_gradient_step(
    model: nn.Module,
    X: np.ndarray | torch.Tensor,
    y: np.ndarray | torch.Tensor,
    damping: float,
    kind: FisherKind = "true",
    *,
    solver: Solver = "exact",
    cg_iters: int = 50,
    cg_tol: float = 1e-10,
    n_samples: int = 1,
    seed: int = 0,
) -> NaturalGradientResult:
    """:func:`natural_gradient` with its by-products (loss, gradient, ``dᵀFd``, solver used)."""
    if solver not in SOLVERS:
        raise FisherError(f"unknown solver {solver!r}; choose one of {', '.join(SOLVERS)}")
    damping = float(damping)
    if not (np.isfinite(damping) and damping >= 0):
        raise FisherError(f"damping={damping!r} must be a finite number >= 0")
    params, f = functional_model(model)
    X_t, y_t = as_inputs(model, X, y)
    if y_t is None:
        raise FisherError("natural_gradient needs the labels y")
    check_kind(kind, y_t, n_samples)
    n = X_t.shape[0]
    P = _n_params(params)

    # One forward pass serves the loss, the gradient (a vjp) and every CG product.
    lin = Linearization(model, f, params, X_t)
    logits = lin.logits
    probs, R = seeded_output_factor(logits, kind, y_t, n_samples, X_t, seed)
    C = probs.shape[1]
    onehot = nn.functional.one_hot(y_t, C).to(probs.dtype)
    loss = nn.functional.cross_entropy(logits, y_t)
    g = lin.gradient((probs - onehot) / n)
    # Finite inputs, parameters and logits can still overflow in the backward pass.
    check_finite("the gradient", g, "rescale the inputs or the weights")
    m = n * R.shape[2]
    factor = lin.factor(R)

    # Direct solves: the primal P×P system when P <= m, else the dual m×m one (Woodbury).
    primal = P <= m
    if primal:
        fits = P <= MAX_DENSE_SIZE and m * P <= MAX_G_ENTRIES
        direct_cost = float(P) ** 2 * m + float(P) ** 3 / 3
    else:
        fits = m <= MAX_DENSE_SIZE and (lin.layerwise or m * P <= MAX_G_ENTRIES)
        direct_cost = factor.gram_cost(P) + float(m) ** 3 / 3
    if solver == "auto":
        solver = "exact" if fits and direct_cost <= DIRECT_COST_LIMIT and (
            primal or damping > 0) else "cg"

    iters, residual = 0, 0.0
    if solver == "exact":
        if not fits:
            raise FisherError(
                f"an exact solve needs a {min(P, m)}×{min(P, m)} matrix (P={P}, n·r={m}), over "
                f"the budget of {MAX_DENSE_SIZE}; use solver='cg' or 'auto'"
            )
        if primal:
            A = lower_gram(factor.rows().reshape(m, P))
            A.div_(n).diagonal().add_(damping)
            d = cholesky_solve(A, g, damping)
        else:
            if damping <= 0:
                raise FisherError(
                    f"with P={P} parameters and only {m} Fisher rows the Fisher is singular; "
                    "use damping > 0"
                )
            # Woodbury: (GᵀG/n + λI)⁻¹ g = (g - Gᵀ (nλI + GGᵀ)⁻¹ G g) / λ, an m×m system.
            K = factor.gram()
            K.diagonal().add_(n * damping)
            u = cholesky_solve(K, factor.matvec(g).reshape(m), damping)
            d = (g - factor.rmatvec(u.view(n, -1))) / damping
        quadratic = float(torch.dot(d, g) - damping * torch.dot(d, d))
    else:
        check_int("cg_iters", cg_iters, 1, error=FisherError)
        if m * P <= _CG_DENSE_G_ENTRIES:
            # A cache-sized G: two matrix-vector products per iteration beat the factored ones,
            # whose cost at this size is Python overhead. F itself is still never formed.
            G = factor.rows().reshape(m, P)

            def matvec(v: torch.Tensor) -> torch.Tensor:
                return G.T @ (G @ v) / n + damping * v
        else:
            def matvec(v: torch.Tensor) -> torch.Tensor:
                return fisher_product(factor, v) + damping * v

        d, r, iters = conjugate_gradient(matvec, g, max_iter=cg_iters, tol=cg_tol)
        # (F + λI)d = g - r, so dᵀFd = dᵀ(g - r) - λ dᵀd without another product.
        quadratic = float(torch.dot(d, g - r) - damping * torch.dot(d, d))
        g_norm = float(torch.linalg.vector_norm(g))
        residual = float(torch.linalg.vector_norm(r)) / g_norm if g_norm > 0 else 0.0
    return NaturalGradientResult(
        direction=d, gradient=g, loss=loss.detach(), logits=logits, quadratic=quadratic,
        solver=solver, cg_iterations=iters, relative_residual=residual,
    )


@dataclass(frozen=True)
class FisherSpectrum:
    """Eigenvalues of a Fisher matrix, for the page's spectrum plot.

    Attributes
    ----------
    eigenvalues : np.ndarray
        ``shape=[P]``, descending, clipped at 0 (the Fisher is PSD; tiny negative values are
        round-off). When ``n·r < P`` only ``n·r`` can be nonzero; the rest are exact zeros.
    rank : int
        Number of eigenvalues above ``rtol · λ_max``.
    condition_number : float
        ``λ_max / λ_min`` over those eigenvalues (``inf`` if the Fisher is zero).
    rtol : float
        The relative threshold used for ``rank``.
    """

    eigenvalues: np.ndarray
    rank: int
    condition_number: float
    rtol: float

    def damped_condition_number(self, damping: float) -> float:
        """Condition number of ``F + λI``, what a solver actually faces."""
        ev = self.eigenvalues
        return float((ev[0] + damping) / (ev[-1] + damping)) if damping > 0 else (
            float(ev[0] / ev[-1]) if ev[-1] > 0 else float("inf")
        )


def fisher_spectrum(
    model: nn.Module,
    X: np.ndarray | torch.Tensor,
    kind: FisherKind = "true",
    *,
    y: np.ndarray | torch.Tensor | None = None,
    n_samples: int = 1,
    seed: int = 0,
    rtol: float = 1e-10,
) -> FisherSpectrum:
    """Eigenvalues of the Fisher, from the smaller of ``GᵀG/n`` and ``GGᵀ/n``.

    The two Gram matrices share their nonzero eigenvalues, so a wide network (``P > n·r``)
    needs only an ``m×m`` eigen-decomposition. Parameters as in :func:`fisher_matrix`.
    """
    params, f = functional_model(model)
    X_t, y_t = as_inputs(model, X, y)
    check_kind(kind, y_t, n_samples)
    P = _n_params(params)
    lin = Linearization(model, f, params, X_t)
    _, R = seeded_output_factor(lin.logits, kind, y_t, n_samples, X_t, seed)
    m = X_t.shape[0] * R.shape[2]
    if min(P, m) > MAX_DENSE_SIZE or (not lin.layerwise and m * P > MAX_G_ENTRIES):
        raise FisherError(
            f"the Fisher spectrum needs a {min(P, m)}-sided eigenproblem (P={P}, n·r={m}); "
            "use fewer inputs or a smaller network"
        )
    factor = lin.factor(R)
    if P <= m:
        G = factor.rows().reshape(m, P)
        gram = G.T @ G
    else:
        gram = factor.gram()
    ev = torch.linalg.eigvalsh(gram / X_t.shape[0]).flip(0).clamp_min(0).cpu().numpy()
    eigenvalues = np.zeros(P)
    eigenvalues[: ev.shape[0]] = ev[:P]
    top = eigenvalues[0]
    kept = eigenvalues[eigenvalues > rtol * top] if top > 0 else eigenvalues[:0]
    cond = float(kept[0] / kept[-1]) if kept.size else float("inf")
    return FisherSpectrum(eigenvalues=eigenvalues, rank=int(kept.size), condition_number=cond,
                          rtol=rtol)


def _n_params(params: dict[str, torch.Tensor]) -> int:
    return sum(t.numel() for t in params.values())


def _as_vector(v: object, params: dict[str, torch.Tensor]) -> torch.Tensor:
    ref = next(iter(params.values()))
    v_t = torch.as_tensor(v, dtype=ref.dtype, device=ref.device).reshape(-1)
    P = _n_params(params)
    if v_t.shape[0] != P:
        raise FisherError(f"v has {v_t.shape[0]} entries; the model has P={P} parameters")
    check_finite("the vector v", v_t, "pass a finite vector")
    return v_t



