"""K-FAC's Kronecker factors as plain functions (the optimizer lives in ``optimizers.py``).

Re-exported by :mod:`geomcore.optim.fisher`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from geomcore.optim._functional import (
    MAX_DENSE_SIZE,
    FisherKind,
    as_inputs,
    check_kind,
    seeded_output_factor,
)
from geomcore.optim._layers import (
    FisherError,
    forward_capture,
    kronecker_to_param_order,
    linear_params_check,
    output_gradients,
)


@dataclass(frozen=True)
class KroneckerFactors:
    """K-FAC's factors of one Linear layer, ``F_layer ≈ G ⊗ A`` in ``vec(W̃)`` row-major order.

    Attributes
    ----------
    A : Tensor
        ``E[ã ãᵀ]``, ``shape=[in+1, in+1]``: second moment of the layer input with a 1 appended
        for the bias (divided by ``scale`` for a ``ScaledLinear``).
    G : Tensor
        ``E[Σ_j δ_j δ_jᵀ]``, ``shape=[out, out]``: second moment of the log-likelihood
        gradients at the layer output, with the Fisher kind's expectation over labels (for
        ``"true"``, exact over the classes: ``δ_ij = ∂f_i/∂s_iᵀ R_ij``).
    layer : nn.Linear
        The layer they belong to.
    """

    A: torch.Tensor
    G: torch.Tensor
    layer: nn.Linear


def kfac_factors(
    model: nn.Module,
    X: np.ndarray | torch.Tensor,
    kind: FisherKind = "true",
    *,
    y: np.ndarray | torch.Tensor | None = None,
    n_samples: int = 1,
    seed: int = 0,
) -> list[KroneckerFactors]:
    """Kronecker factors ``(A, G)`` of every Linear layer (Martens & Grosse, 2015).

    The exact layer block is ``(1/n) Σ_i (Σ_j δ_ij δ_ijᵀ) ⊗ ã_i ã_iᵀ``; K-FAC replaces the mean of
    Kronecker products by the Kronecker product of the means, ``G ⊗ A``. It is exact when every
    sample has the same ``G_i`` (e.g. softmax regression at zero weights) or ``n = 1``.
    Parameters as in :func:`fisher_matrix`; the model's parameters must all be in Linear layers.

    Returns
    -------
    list of KroneckerFactors
        One per ``nn.Linear``, in module order.
    """
    layers = linear_params_check(model)
    X_t, y_t = as_inputs(model, X, y)
    check_kind(kind, y_t, n_samples)
    n = X_t.shape[0]
    with torch.enable_grad():
        logits, captures = forward_capture(model, X_t, layers)
        _, R = seeded_output_factor(logits.detach(), kind, y_t, n_samples, X_t, seed)
        deltas = output_gradients(logits, captures, R)
    factors = []
    for cap, delta in zip(captures, deltas, strict=True):
        d = delta.reshape(-1, delta.shape[-1])
        factors.append(KroneckerFactors(A=cap.inputs.T @ cap.inputs / n, G=d.T @ d / n,
                                        layer=cap.layer))
    return factors


def kfac_matrix(
    model: nn.Module,
    X: np.ndarray | torch.Tensor,
    kind: FisherKind = "true",
    *,
    y: np.ndarray | torch.Tensor | None = None,
    n_samples: int = 1,
    seed: int = 0,
) -> torch.Tensor:
    """K-FAC's block-diagonal Fisher approximation as a dense ``P×P`` matrix.

    Block ``l`` is ``G_l ⊗ A_l`` permuted from ``vec(W̃)`` order to ``(W row-major, b)`` order, so
    the result is comparable entry by entry with :func:`fisher_matrix`. For tests and pictures;
    the optimizer never forms it.
    """
    factors = kfac_factors(model, X, kind, y=y, n_samples=n_samples, seed=seed)
    P = sum(p.numel() for p in model.parameters())
    if P > MAX_DENSE_SIZE:
        raise FisherError(f"P={P} is over the dense budget of {MAX_DENSE_SIZE} parameters")
    ref = factors[0].A
    out = torch.zeros(P, P, dtype=ref.dtype, device=ref.device)
    offsets, start = {}, 0
    for p in model.parameters():
        offsets[id(p)] = start
        start += p.numel()
    for fac in factors:
        perm = kronecker_to_param_order(fac.layer)
        block = torch.kron(fac.G, fac.A)[perm][:, perm]
        # A layer's parameters are contiguous in model.parameters(): weight then bias.
        first = offsets[id(fac.layer.weight)]
        size = block.shape[0]
        out[first:first + size, first:first + size] = block
    return out
