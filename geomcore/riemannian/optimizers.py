"""Riemannian SGD and Adam as ``torch.optim.Optimizer`` subclasses acting on
:class:`ManifoldParameter` s.

A ``ManifoldParameter`` is an ``nn.Parameter`` that knows its manifold; a plain tensor in the
same optimizer is treated as Euclidean (the update is then torch's SGD/Adam)::

    x = ManifoldParameter(Sphere(3).random_point(seed=0), Sphere(3))
    opt = RiemannianSGD([x], lr=0.1)
    for _ in range(100):
        opt.zero_grad()
        loss = -(x @ A @ x)
        loss.backward()
        opt.step()                     # x stays on the sphere

Each step turns the Euclidean gradient in ``p.grad`` into the Riemannian one
(``manifold.egrad_to_rgrad``), moves by a retraction and carries the momentum to the new point
by the manifold's vector transport. ``stabilize=N`` re-projects the parameters (and their
momenta onto the tangent spaces) every N steps, against slow drift from round-off. A step whose
result is NaN or infinite leaves the parameter at its last finite value and raises
:class:`NonFiniteStepError` naming the parameter and the step.

Hyperparameters are validated at construction; a bad value raises ``ValueError`` naming it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from geomcore._validation import check_choice, check_int, check_nonnegative_float
from geomcore.riemannian.manifolds import Euclidean, Manifold, as_tensor

__all__ = [
    "AdamState",
    "ManifoldParameter",
    "NonFiniteStepError",
    "RiemannianAdam",
    "RiemannianSGD",
    "radam_update",
]


class NonFiniteStepError(FloatingPointError):
    """An update produced NaN or infinity; the parameter keeps its last finite value."""


class ManifoldParameter(nn.Parameter):
    """An ``nn.Parameter`` on a manifold: ``ManifoldParameter(data, manifold)``.

    ``data`` (numpy or torch) is converted to float64 and must have the manifold's point shape
    in its trailing axes; it is not projected (call ``manifold.project`` first if needed).
    """

    manifold: Manifold

    def __new__(cls, data: object, manifold: Manifold,
                requires_grad: bool = True) -> ManifoldParameter:
        if not isinstance(manifold, Manifold):
            raise ValueError(f"manifold must be a Manifold, got {type(manifold).__name__}")
        tensor = manifold.as_point(data, "data").detach().clone()
        instance = nn.Parameter._make_subclass(cls, tensor, requires_grad)
        instance.manifold = manifold
        return instance

    def __deepcopy__(self, memo: dict) -> ManifoldParameter:
        if id(self) in memo:
            return memo[id(self)]
        result = type(self)(self.data.clone(), copy.deepcopy(self.manifold, memo),
                            self.requires_grad)
        memo[id(self)] = result
        return result

    def __reduce_ex__(self, proto: Any) -> tuple:  # pickling (torch.save of a model)
        return _rebuild_manifold_parameter, (self.data, self.manifold, self.requires_grad)

    def __repr__(self, *, tensor_contents: Any = None) -> Any:  # type: ignore[override]
        return f"ManifoldParameter on {self.manifold.name} containing:\n{self.data!r}"


def _rebuild_manifold_parameter(data: torch.Tensor, manifold: Manifold,
                                requires_grad: bool) -> ManifoldParameter:
    return ManifoldParameter(data, manifold, requires_grad)


def _manifold_of(p: torch.Tensor) -> Manifold:
    if isinstance(p, ManifoldParameter):
        return p.manifold
    return Euclidean(p.numel())


def _check_lr(lr: object) -> float:
    if isinstance(lr, bool) or not isinstance(lr, int | float) or not 0 < float(lr) < float("inf"):
        raise ValueError(f"lr={lr!r} must be a finite number > 0")
    return float(lr)


def _check_retraction(params: list[torch.Tensor], retraction: str | None) -> None:
    if retraction is None:
        return
    for p in params:
        if isinstance(p, ManifoldParameter):
            check_choice("retraction", retraction, p.manifold.retractions)


def _check_stabilize(stabilize: object) -> int | None:
    return None if stabilize is None else check_int("stabilize", stabilize, 1, 10**9)


class _RiemannianOptimizer(torch.optim.Optimizer):
    """Shared: parameter flattening for plain tensors, the NaN guard and stabilisation."""

    def _geometry(self, p: torch.Tensor) -> tuple[Manifold, torch.Tensor, torch.Tensor]:
        """The manifold, the point and the gradient in the manifold's shape (a plain tensor of
        any shape is a flat vector of Euclidean space)."""
        m = _manifold_of(p)
        grad = as_tensor(p.grad)
        if isinstance(p, ManifoldParameter):
            return m, p.data, grad
        return m, p.data.reshape(-1), grad.reshape(-1)

    def _commit(self, p: torch.Tensor, new: torch.Tensor, index: int, step: int) -> None:
        if not bool(torch.isfinite(new).all()):
            raise NonFiniteStepError(
                f"step {step} of parameter {index} produced NaN or infinity (the gradient "
                f"or the step lr={self.param_groups[0]['lr']:g} is too large); the parameter "
                "keeps its last finite value")
        p.data.copy_(new.reshape(p.shape).to(p.dtype))

    def _stabilize(self, group: dict, buffers: tuple[str, ...]) -> None:
        for p in group["params"]:
            if not isinstance(p, ManifoldParameter):
                continue
            p.data.copy_(p.manifold.project(p.data))
            state = self.state[p]
            for name in buffers:
                if name in state:
                    state[name].copy_(p.manifold.to_tangent(p.data, state[name]))


class RiemannianSGD(_RiemannianOptimizer):
    """Riemannian SGD with momentum:
    ``m ← μ m + grad f(x)``, ``x⁺ = R_x(-η m)``, ``m ← T_{x→x⁺}(m)``.

    Parameters
    ----------
    params : iterable of tensors or dicts
        ``ManifoldParameter`` s (plain tensors are Euclidean).
    lr : float
        ``η > 0``.
    momentum : float
        ``0 <= μ < 1``.
    retraction : str, optional
        A ``kind`` every manifold parameter's ``retract`` accepts (default: each manifold's
        first).
    stabilize : int, optional
        Re-project every this many steps.
    """

    def __init__(self, params: Iterable[Any], lr: float, momentum: float = 0.0, *,
                 retraction: str | None = None, stabilize: int | None = None) -> None:
        lr = _check_lr(lr)
        momentum = check_nonnegative_float("momentum", momentum)
        if momentum >= 1:
            raise ValueError(f"momentum={momentum!r} must be < 1")
        stabilize = _check_stabilize(stabilize)
        defaults = dict(lr=lr, momentum=momentum, retraction=retraction, stabilize=stabilize)
        super().__init__(params, defaults)
        for group in self.param_groups:
            _check_retraction(group["params"], group["retraction"])

    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, mu = group["lr"], group["momentum"]
            for i, p in enumerate(group["params"]):
                if p.grad is None:
                    continue
                m, x, eg = self._geometry(p)
                state = self.state[p]
                k = int(state.get("step", 0)) + 1
                direction = m.egrad_to_rgrad(x, eg)
                if mu > 0:
                    buf = state.get("momentum_buffer")
                    direction = direction.clone() if buf is None else mu * buf + direction
                new = m.retract(x, -lr * direction, group["retraction"])
                self._commit(p, new, i, k)
                if mu > 0:
                    state["momentum_buffer"] = m.transport(x, new, direction)
                state["step"] = k
            if group["stabilize"] and all(
                    int(self.state[p].get("step", 0)) % group["stabilize"] == 0
                    for p in group["params"] if p.grad is not None):
                self._stabilize(group, ("momentum_buffer",))
        return loss


@dataclass
class AdamState:
    """Riemannian Adam's state for one point: the step count, the first moment (a tangent
    vector) and the second moment ``v`` (one number per point of the batch: the squared
    Riemannian norm of the gradient, Bécigneul & Ganea 2019; elementwise on Euclidean space)."""

    step: int
    exp_avg: torch.Tensor
    exp_avg_sq: torch.Tensor

    @classmethod
    def zeros(cls, x: torch.Tensor, manifold: Manifold) -> AdamState:
        if isinstance(manifold, Euclidean):
            sq = torch.zeros_like(x)
        else:
            sq = torch.zeros(x.shape[: x.ndim - len(manifold.point_shape)], dtype=x.dtype,
                             device=x.device)
        return cls(0, torch.zeros_like(x), sq)


def radam_update(manifold: Manifold, x: torch.Tensor, rgrad: torch.Tensor, state: AdamState, *,
                 lr: float, betas: tuple[float, float], eps: float,
                 retraction: str | None = None,
                 transport: Callable[[torch.Tensor, torch.Tensor, torch.Tensor],
                                     torch.Tensor] | None = None) -> torch.Tensor:
    """One Riemannian Adam step from ``x`` with the Riemannian gradient ``rgrad``; returns the
    new point and updates ``state`` in place (the first moment is transported to it).

    ``m ← β₁m + (1-β₁)g``, ``v ← β₂v + (1-β₂)‖g‖²_x``,
    ``x⁺ = R_x(-η (m/(1-β₁ᵏ)) / (sqrt(v/(1-β₂ᵏ)) + ε))``, ``m ← T_{x→x⁺}(m)`` with ``T``
    the manifold's transport unless ``transport(x, x⁺, m)`` is given.
    """
    b1, b2 = betas
    state.step += 1
    state.exp_avg = b1 * state.exp_avg + (1 - b1) * rgrad
    # Euclidean space: elementwise, as torch's Adam; a manifold: one number per point
    sq = rgrad * rgrad if isinstance(manifold, Euclidean) else manifold.inner(x, rgrad, rgrad)
    state.exp_avg_sq = b2 * state.exp_avg_sq + (1 - b2) * sq
    denom = torch.sqrt(state.exp_avg_sq / (1 - b2**state.step)) + eps
    if not isinstance(manifold, Euclidean):
        denom = manifold.expand(denom)
    direction = (state.exp_avg / (1 - b1**state.step)) / denom
    new = manifold.retract(x, -lr * direction, retraction)
    state.exp_avg = (manifold.transport if transport is None else transport)(x, new,
                                                                             state.exp_avg)
    return new


class RiemannianAdam(_RiemannianOptimizer):
    """Riemannian Adam (Bécigneul & Ganea 2019), see :func:`radam_update`.

    Parameters
    ----------
    params : iterable of tensors or dicts
    lr : float
        ``η > 0``.
    betas : (float, float)
        Each in ``[0, 1)``.
    eps : float
        ``ε >= 0`` added to the root of the second moment.
    retraction : str, optional
    stabilize : int, optional
        Re-project every this many steps.
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, *,
                 retraction: str | None = None, stabilize: int | None = None) -> None:
        lr = _check_lr(lr)
        if (not isinstance(betas, tuple | list) or len(betas) != 2
                or not all(isinstance(b, int | float) and 0 <= b < 1 for b in betas)):
            raise ValueError(f"betas={betas!r} must be two numbers in [0, 1)")
        eps = check_nonnegative_float("eps", eps)
        stabilize = _check_stabilize(stabilize)
        defaults = dict(lr=lr, betas=(float(betas[0]), float(betas[1])), eps=eps,
                        retraction=retraction, stabilize=stabilize)
        super().__init__(params, defaults)
        for group in self.param_groups:
            _check_retraction(group["params"], group["retraction"])

    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for i, p in enumerate(group["params"]):
                if p.grad is None:
                    continue
                m, x, eg = self._geometry(p)
                st = self.state[p]
                state = (AdamState(int(st["step"]), st["exp_avg"], st["exp_avg_sq"])
                         if "step" in st else AdamState.zeros(x, m))
                new = radam_update(m, x, m.egrad_to_rgrad(x, eg), state, lr=group["lr"],
                                   betas=group["betas"], eps=group["eps"],
                                   retraction=group["retraction"])
                self._commit(p, new, i, state.step)
                st["step"] = state.step
                st["exp_avg"] = state.exp_avg
                st["exp_avg_sq"] = state.exp_avg_sq
            if group["stabilize"] and all(
                    int(self.state[p].get("step", 0)) % group["stabilize"] == 0
                    for p in group["params"] if p.grad is not None):
                self._stabilize(group, ("exp_avg",))
        return loss
