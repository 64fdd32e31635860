"""Private layer-level machinery for networks made of ``nn.Linear`` layers (K-FAC and the fast
Fisher route): each layer's input and output, and the output gradients ``δ``.

For a Linear layer ``s = W̃ ã`` with ``ã = [a, 1]`` (bias as the last column of ``W̃``), the
gradient of any per-sample scalar ``h_i`` is ``∂h_i/∂W̃ = δ_i ã_iᵀ`` with ``δ_i = ∂h_i/∂s_i``.
Samples do not interact in these networks, so back-propagating a whole batch of cotangents
through the batched graph yields every ``δ_i`` at once; no per-sample loop or vmap is needed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from geomcore.optim.models import ScaledLinear


class FisherError(ValueError):
    """An invalid Fisher request, or a Fisher system that cannot be solved as asked."""


@dataclass
class LinearCapture:
    """One Linear layer seen during a forward pass.

    ``inputs`` is ``ã`` of ``shape=[n, in+1]`` (or ``[n, in]`` without bias), already divided by
    the layer's ``scale`` for a :class:`ScaledLinear`, so that ``s = ã W̃_storedᵀ``; ``outputs``
    is ``s`` of ``shape=[n, out]``, still attached to the autograd graph.
    """

    layer: nn.Linear
    inputs: torch.Tensor
    outputs: torch.Tensor


def linear_params_check(model: nn.Module) -> list[nn.Linear]:
    """The Linear layers of ``model``; raises unless they own every parameter."""
    layers = [m for m in model.modules() if isinstance(m, nn.Linear)]
    owned = {id(p) for layer in layers for p in layer.parameters(recurse=False)}
    for name, p in model.named_parameters():
        if id(p) not in owned:
            raise FisherError(
                f"K-FAC handles networks whose parameters all belong to nn.Linear layers; "
                f"parameter {name!r} does not (use NaturalGradient instead)"
            )
    if not layers:
        raise FisherError("K-FAC needs at least one nn.Linear layer")
    return layers


def linear_network_layers(model: nn.Module) -> list[nn.Linear] | None:
    """The Linear layers if they own all parameters, in ``model.parameters()`` order, else None.

    Such a network gets its per-sample Jacobian rows layer by layer (:func:`rows_from_layers`).
    """
    try:
        layers = linear_params_check(model)
    except FisherError:
        return None
    order = [id(p) for layer in layers for p in layer.parameters(recurse=False)]
    if order != [id(p) for p in model.parameters()]:
        return None  # shared or re-ordered parameters: leave it to the generic route
    return layers


def forward_capture(
    model: nn.Module,
    X: torch.Tensor,
    layers: list[nn.Linear],
    *,
    run: Callable[[], torch.Tensor] | None = None,
) -> tuple[torch.Tensor, list[LinearCapture]]:
    """Run ``model(X)`` (or ``run()``, e.g. a ``functional_call``) recording each Linear layer.

    Raises :class:`FisherError` if a layer is called twice or never.
    """
    records: dict[int, LinearCapture] = {}

    def hook(module: nn.Linear, args: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        if id(module) in records:
            raise FisherError("K-FAC needs each nn.Linear layer to be called once per forward")
        a = args[0].reshape(-1, module.in_features)
        if isinstance(module, ScaledLinear):
            a = a / module.scale
        a = a.detach()
        if module.bias is not None:
            a = torch.cat([a, torch.ones_like(a[:, :1])], dim=1)
        records[id(module)] = LinearCapture(module, a, out)

    handles = [layer.register_forward_hook(hook) for layer in layers]
    try:
        logits = model(X) if run is None else run()
    finally:
        for h in handles:
            h.remove()
    missing = [layer for layer in layers if id(layer) not in records]
    if missing:
        raise FisherError("K-FAC found nn.Linear layers that the forward pass never used")
    return logits, [records[id(layer)] for layer in layers]


def output_gradients(
    logits: torch.Tensor, captures: list[LinearCapture], R: torch.Tensor
) -> list[torch.Tensor]:
    """``δ`` of every layer for each column of ``R`` (``shape=[n, C, r]``): ``[n, r, out]``.

    ``δ_ij = (∂f_i/∂s_i)ᵀ R_ij``, the backward pass of the cotangent ``R[:, :, j]``.
    """
    outs = [c.outputs for c in captures]
    r = R.shape[2]
    if r == 1:
        grads = torch.autograd.grad(logits, outs, R[:, :, 0], retain_graph=True)
        return [g.reshape(g.shape[0], 1, -1) for g in grads]
    # vmap over the r cotangents: one batched backward instead of r separate ones.
    grads = torch.autograd.grad(
        logits, outs, R.permute(2, 0, 1).contiguous(), retain_graph=True, is_grads_batched=True
    )
    return [g.reshape(r, g.shape[1], -1).transpose(0, 1) for g in grads]


def simplex_basis(C: int, *, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """Orthonormal basis ``Q`` of ``1^⊥ ⊂ R^C`` (Helmert), ``shape=[C, C-1]``; ``Q Qᵀ = I - 11ᵀ/C``.

    Every logit-space vector the softmax cross-entropy produces is orthogonal to ``1`` (adding a
    constant to all logits changes nothing): the loss cotangent ``p - e_y`` and every column of
    the Fisher factors ``R``. So ``C - 1`` backward passes of ``Q``'s columns give every layer's
    ``δ`` for all of them: ``δ_w = δ_Q (Qᵀ w)``. For two classes that is a single backward pass
    serving both the gradient and the Fisher.
    """
    key = (C, dtype, str(device))
    if key not in _BASES:
        k = torch.arange(1, C, dtype=dtype, device=device)  # column k: k entries 1, then -k
        rows = torch.arange(C, dtype=dtype, device=device)[:, None]
        Q = torch.where(rows < k, 1.0, torch.where(rows == k, -k, 0.0))
        _BASES[key] = Q / torch.sqrt(k * (k + 1))
    return _BASES[key]


_BASES: dict[tuple, torch.Tensor] = {}  # a handful of tiny constant matrices


def basis_gradients(
    logits: torch.Tensor, captures: list[LinearCapture], *, retain_graph: bool = False
) -> list[torch.Tensor]:
    """``δ`` of every layer for each column of :func:`simplex_basis`: ``[n, C-1, out]``."""
    n, C = logits.shape
    Q = simplex_basis(C, dtype=logits.dtype, device=logits.device)
    outs = [c.outputs for c in captures]
    if C == 2:
        grads = torch.autograd.grad(logits, outs, Q[:, 0].expand(n, C),
                                    retain_graph=retain_graph)
        return [g.reshape(n, 1, -1) for g in grads]
    grads = torch.autograd.grad(logits, outs, Q.T.unsqueeze(1).expand(C - 1, n, C),
                                is_grads_batched=True, retain_graph=retain_graph)
    return [g.reshape(C - 1, n, -1).transpose(0, 1) for g in grads]


def combine_gradients(basis: list[torch.Tensor], w: torch.Tensor) -> list[torch.Tensor]:
    """``δ`` for cotangents ``w ⊥ 1`` (``shape=[n, C, r]``) from :func:`basis_gradients`."""
    C = w.shape[1]
    Q = simplex_basis(C, dtype=w.dtype, device=w.device)
    coeff = (Q.T @ w).transpose(1, 2)  # [n, r, C-1]
    if C == 2:  # one basis direction: a broadcast product (bmm over n 1×1 matrices is slow)
        return [coeff * d for d in basis]
    return [(coeff.unsqueeze(3) * d.unsqueeze(1)).sum(dim=2) for d in basis]


def parameter_gradients(captures: list[LinearCapture], deltas: list[torch.Tensor]
                        ) -> list[torch.Tensor]:
    """``∂/∂W̃ = Σ_i δ_i ã_iᵀ`` per layer from ``δ`` of ``shape=[n, out]``, as (W, b) tensors.

    Hand-written (checked against autograd and by a Taylor test): lets one backward pass over
    the simplex basis serve both the loss gradient and the Fisher factors.
    """
    grads = []
    for cap, d in zip(captures, deltas, strict=True):
        block = d.T @ cap.inputs  # [out, in(+1)]
        in_f = cap.layer.in_features
        grads.append(block[:, :in_f])
        if cap.layer.bias is not None:
            grads.append(block[:, in_f])
    return grads


class LayerwiseFactor:
    """``G = [R_ijᵀ J_i]`` of a Linear network, kept factored per layer.

    Row ``(i, j)`` restricted to layer ``l`` is ``vec(δ_ijl ã_ilᵀ)``, so with ``V_l`` the layer's
    block of ``v`` reshaped to ``[out, in+1]``:

    * ``(G v)_ij = Σ_l δ_ijlᵀ V_l ã_il``  (one ``[n, in+1] × [in+1, out]`` matmul per layer),
    * ``Gᵀ u`` has layer blocks ``Σ_ij u_ij δ_ijl ã_ilᵀ`` (one matmul per layer),
    * ``(G Gᵀ)_{(ij),(i'j')} = Σ_l ⟨δ_ijl, δ_i'j'l⟩ ⟨ã_il, ã_i'l⟩``, ``O(m² Σ_l (in_l + out_l))``
      instead of ``O(m² P)``.

    None of these forms ``G`` (``m × P``), which for wide layers is memory-bound to stream.
    """

    def __init__(self, captures: list[LinearCapture], deltas: list[torch.Tensor]) -> None:
        self.inputs = [c.inputs for c in captures]  # [n, in(+1)]
        self.deltas = [d.detach() for d in deltas]  # [n, r, out]
        self.in_features = [c.layer.in_features for c in captures]
        self.has_bias = [c.layer.bias is not None for c in captures]
        self.n, self.r = self.deltas[0].shape[:2]
        self.sizes = [d.shape[2] * a.shape[1] for d, a in zip(self.deltas, self.inputs,
                                                              strict=True)]

    def _blocks(self, v: torch.Tensor) -> list[torch.Tensor]:
        """Split flat ``v`` (``(W row-major, b)`` per layer) into ``[out, in+1]`` matrices."""
        blocks, start = [], 0
        for d, in_f, bias in zip(self.deltas, self.in_features, self.has_bias, strict=True):
            out_f = d.shape[2]
            W = v[start:start + out_f * in_f].view(out_f, in_f)
            start += out_f * in_f
            if bias:
                W = torch.cat([W, v[start:start + out_f].unsqueeze(1)], dim=1)
                start += out_f
            blocks.append(W)
        return blocks

    def matvec(self, v: torch.Tensor) -> torch.Tensor:
        """``G v``, ``shape=[n, r]``."""
        out: torch.Tensor | None = None
        for a, d, W in zip(self.inputs, self.deltas, self._blocks(v), strict=True):
            # mul + sum instead of einsum: these are tiny tensors and einsum's overhead shows.
            term = (d * (a @ W.T).unsqueeze(1)).sum(dim=2)
            out = term if out is None else out + term
        assert out is not None  # a factor has at least one layer (linear_params_check)
        return out

    def rmatvec(self, u: torch.Tensor) -> torch.Tensor:
        """``Gᵀ u`` for ``u`` of ``shape=[n, r]``; flat ``shape=[P]``."""
        parts = []
        for a, d, in_f, bias in zip(self.inputs, self.deltas, self.in_features, self.has_bias,
                                    strict=True):
            block = (u.unsqueeze(2) * d).sum(dim=1).T @ a  # [out, in(+1)]
            parts.append(block[:, :in_f].reshape(-1))
            if bias:
                parts.append(block[:, in_f])
        return torch.cat(parts)

    def rows(self) -> torch.Tensor:
        """``G`` materialised, ``shape=[n, r, P]``, in ``model.parameters()`` order."""
        blocks = []
        for a, d, in_f, bias in zip(self.inputs, self.deltas, self.in_features, self.has_bias,
                                    strict=True):
            n, r, _ = d.shape
            blocks.append((d.unsqueeze(3) * a[:, None, None, :in_f]).reshape(n, r, -1))
            if bias:
                blocks.append(d)
        return torch.cat(blocks, dim=2)

    def gram(self) -> torch.Tensor:
        """``G Gᵀ``, ``shape=[n r, n r]`` (rows ordered sample-major)."""
        K: torch.Tensor | None = None
        for a, d in zip(self.inputs, self.deltas, strict=True):
            D = d.reshape(self.n * self.r, -1)
            A = a @ a.T
            if self.r > 1:
                A = A.repeat_interleave(self.r, 0).repeat_interleave(self.r, 1)
            term = (D @ D.T) * A
            K = term if K is None else K + term
        assert K is not None  # a factor has at least one layer (linear_params_check)
        return K

    def gram_cost(self, P: int) -> float:
        """Multiply-adds of :meth:`gram`."""
        widths = sum(a.shape[1] + d.shape[2] for a, d in zip(self.inputs, self.deltas,
                                                             strict=True))
        return float(self.n * self.r) ** 2 * widths


def kronecker_to_param_order(layer: nn.Linear) -> torch.Tensor:
    """Index map from the ``W̃ = [W | b]`` row-major order to ``(W row-major, b)`` order.

    Returns ``perm`` with ``perm[k]`` the position in ``vec(W̃)`` of parameter ``k``; a matrix
    ``M`` in ``vec(W̃)`` order becomes ``M[perm][:, perm]`` in ``layer.parameters()`` order.
    """
    out_f, in_f = layer.out_features, layer.in_features
    width = in_f + (1 if layer.bias is not None else 0)
    device = layer.weight.device
    rows = torch.arange(out_f, device=device)
    weight_pos = (rows[:, None] * width + torch.arange(in_f, device=device)[None, :]).reshape(-1)
    if layer.bias is None:
        return weight_pos
    return torch.cat([weight_pos, rows * width + in_f])
