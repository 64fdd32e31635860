"""Natural-gradient optimizers as ``torch.optim.Optimizer`` subclasses: exact NGD and K-FAC.

Both need the *network function*, not only its parameter tensors, so they are built from the
model and step on a batch::

    opt = NaturalGradient(model, lr=0.5, damping=1e-4)
    for X, y in batches:
        loss = opt.step(X, y)        # computes the loss, the gradient and the update itself

``step(inputs, targets)`` returns the mean cross-entropy at the parameters *before* the update
and leaves the Euclidean gradient in each ``p.grad`` (so gradient norms and hooks work as
usual). They are otherwise ordinary optimizers: ``param_groups[0]["lr"]`` can be changed by a
learning-rate scheduler, and ``state_dict``/``load_state_dict`` round-trip (K-FAC's factors
and inverses, the step counter that seeds Monte-Carlo labels). SGD, momentum and Adam are
torch's own.

Hyperparameters are validated at construction; a bad value raises ``ValueError`` naming it.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from geomcore._validation import (
    MAX_SEED,
    check_choice,
    check_int,
    check_nonnegative_float,
    check_positive_float,
    check_seed,
)
from geomcore.optim._functional import (
    FISHER_KINDS,
    FisherKind,
    as_inputs,
    check_logits,
    output_factor,
    unflatten,
)
from geomcore.optim._layers import (
    basis_gradients,
    combine_gradients,
    forward_capture,
    linear_params_check,
    parameter_gradients,
)
from geomcore.optim.fisher import SOLVERS, FisherError, Solver, natural_gradient_step

__all__ = ["KFAC", "NaturalGradient"]


class _ModelOptimizer(torch.optim.Optimizer):
    """What both optimizers share: one parameter group over a model and a step counter."""

    def __init__(self, model: nn.Module, defaults: dict) -> None:
        super().__init__(model.parameters(), defaults)
        self.model = model
        self.last_info: dict[str, float | str | int] = {}

    def _begin_step(self) -> tuple[dict, list[torch.Tensor], dict, int]:
        """The group, its parameters, the state holding the step counter, and the step index."""
        group = self.param_groups[0]
        params = group["params"]
        counter = self.state[params[0]]
        return group, params, counter, int(counter.get("step", 0))


def _clipped_lr(group: dict, quadratic: float) -> tuple[float, float]:
    """The step size after KL clipping and the predicted KL ``η² q / 2`` of the step."""
    lr = float(group["lr"])
    predicted_kl = 0.5 * lr**2 * quadratic
    if group["kl_clip"] is not None and predicted_kl > group["kl_clip"]:
        lr = math.sqrt(2.0 * group["kl_clip"] / quadratic)
        predicted_kl = float(group["kl_clip"])
    return lr, predicted_kl


class NaturalGradient(_ModelOptimizer):
    """Damped natural-gradient descent, ``θ ← θ - η (F + λI)⁻¹ ∇L``.

    ``L`` is the mean cross-entropy of the batch and ``F`` its Fisher (see
    :mod:`geomcore.optim.fisher`), recomputed at every step on the same batch.

    Parameters
    ----------
    model : nn.Module
        The classifier (logits out); all of ``model.parameters()`` are optimised as one group.
    lr : float
        Step size ``η > 0``.
    damping : float
        Tikhonov damping ``λ >= 0`` (``> 0`` for the dual or CG solvers to be well posed).
    fisher : {"true", "empirical", "monte_carlo"}
        ``"true"`` (exact expectation over the model's predictions), ``"empirical"`` (the batch
        labels) or ``"monte_carlo"`` (``n_samples`` sampled labels per input).
    solver : {"exact", "cg", "auto"}
        ``"exact"`` (direct Cholesky solve), ``"cg"`` (matrix-free conjugate gradient, at most
        ``cg_iters`` iterations) or ``"auto"`` (direct while cheap, CG above
        :data:`~geomcore.optim.fisher.DIRECT_COST_LIMIT`).
    cg_iters : int
        CG iteration cap, ``1..10000``.
    kl_clip : float or None
        If set, the step size is reduced so that the predicted KL divergence of the step,
        ``η² dᵀFd / 2`` with ``d`` the natural gradient, is at most ``kl_clip``.
    n_samples : int
        Labels per input for ``fisher="monte_carlo"``.
    seed : int
        Seed of the Monte-Carlo labels; step ``k`` uses ``seed + k``.

    Attributes
    ----------
    last_info : dict
        Diagnostics of the last step: ``loss``, ``grad_norm``, ``lr`` (after KL clipping),
        ``predicted_kl``, ``solver``, ``cg_iterations``, ``relative_residual``.
    """

    def __init__(
        self,
        model: nn.Module,
        lr: float = 0.5,
        damping: float = 1e-3,
        *,
        fisher: FisherKind = "true",
        solver: Solver = "exact",
        cg_iters: int = 10,
        kl_clip: float | None = None,
        n_samples: int = 1,
        seed: int = 0,
    ) -> None:
        _check_model(model)
        check_positive_float("lr", lr)
        check_nonnegative_float("damping", damping)
        check_choice("fisher", fisher, FISHER_KINDS)
        check_choice("solver", solver, SOLVERS)
        check_int("cg_iters", cg_iters, 1, 10_000)
        _check_sampling(kl_clip, n_samples, seed)
        defaults = dict(lr=float(lr), damping=float(damping), fisher=fisher, solver=solver,
                        cg_iters=int(cg_iters), kl_clip=kl_clip, n_samples=int(n_samples),
                        seed=int(seed))
        super().__init__(model, defaults)

    def step(self, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        """One update on the batch ``(inputs [n, d], targets [n])``; returns the loss before it."""
        group, params, counter, k = self._begin_step()
        res = natural_gradient_step(
            self.model, inputs, targets, group["damping"], group["fisher"],
            solver=group["solver"], cg_iters=group["cg_iters"], n_samples=group["n_samples"],
            seed=(group["seed"] + k) % (MAX_SEED + 1),  # stays a valid seed near the limit
        )
        lr, predicted_kl = _clipped_lr(group, res.quadratic)
        named = dict(self.model.named_parameters())
        grads = unflatten(res.gradient, named)
        steps = unflatten(res.direction, named)
        with torch.no_grad():
            for name, p in named.items():
                p.grad = grads[name].clone()
                p.add_(steps[name], alpha=-lr)
        counter["step"] = torch.tensor(float(k + 1))
        self.last_info = {
            "loss": float(res.loss),
            "grad_norm": float(torch.linalg.vector_norm(res.gradient)),
            "lr": lr,
            "predicted_kl": predicted_kl,
            "solver": res.solver,
            "cg_iterations": res.cg_iterations,
            "relative_residual": res.relative_residual,
        }
        return res.loss


class KFAC(_ModelOptimizer):
    """Kronecker-factored approximate curvature (Martens & Grosse, 2015) for Linear layers.

    Each layer's Fisher block is approximated by ``G ⊗ A`` with ``A = E[ã ãᵀ]`` (inputs with a
    1 appended for the bias) and ``G = E[δ δᵀ]`` (log-likelihood gradients at the layer
    output; for ``fisher="true"`` the exact expectation over the classes). With factored
    Tikhonov damping the update of ``W̃ = [W | b]`` is

        ΔW̃ = (G + (√λ/π) I)⁻¹ ∇_W̃ L (A + π√λ I)⁻¹,    π = sqrt((tr A / dim A) / (tr G / dim G)),

    and ``θ ← θ - η ΔW̃``. Factors and their inverses are refreshed every ``update_interval``
    steps (optionally as an exponential moving average) and kept in ``state``.

    Parameters
    ----------
    model : nn.Module
        A classifier all of whose parameters belong to ``nn.Linear`` layers (each called once
        per forward); activations and other parameter-free modules may sit in between.
    lr : float
        Step size ``η > 0``.
    damping : float
        ``λ > 0``.
    update_interval : int
        Refresh factors and inverses every this many steps, ``1..1000``.
    fisher : {"true", "empirical", "monte_carlo"}
        ``"true"``, ``"empirical"`` or ``"monte_carlo"``: how ``G`` takes its label expectation.
    factor_decay : float
        ``0 <= ρ < 1``: new factor = ``ρ · old + (1 - ρ) · batch``; ``0`` uses the batch only.
    kl_clip : float or None
        Caps the predicted KL ``η² Σ_l ⟨ΔW̃_l, ∇_W̃_l L⟩ / 2`` of a step.
    n_samples, seed
        Monte-Carlo labels, as in :class:`NaturalGradient`.
    """

    def __init__(
        self,
        model: nn.Module,
        lr: float = 0.3,
        damping: float = 1e-2,
        update_interval: int = 1,
        *,
        fisher: FisherKind = "true",
        factor_decay: float = 0.0,
        kl_clip: float | None = None,
        n_samples: int = 1,
        seed: int = 0,
    ) -> None:
        _check_model(model)
        check_positive_float("lr", lr)
        check_positive_float("damping", damping)
        check_int("update_interval", update_interval, 1, 1000)
        check_choice("fisher", fisher, FISHER_KINDS)
        if not check_nonnegative_float("factor_decay", factor_decay) < 1.0:
            raise ValueError(f"factor_decay={factor_decay!r} must be in [0, 1)")
        _check_sampling(kl_clip, n_samples, seed)
        try:
            self.layers = linear_params_check(model)
        except FisherError as err:
            raise ValueError(str(err)) from err
        defaults = dict(lr=float(lr), damping=float(damping),
                        update_interval=int(update_interval), fisher=fisher,
                        factor_decay=float(factor_decay), kl_clip=kl_clip,
                        n_samples=int(n_samples), seed=int(seed))
        super().__init__(model, defaults)

    def step(self, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        """One update on the batch ``(inputs [n, d], targets [n])``; returns the loss before it."""
        group, params, counter, k = self._begin_step()
        X, y = as_inputs(self.model, inputs, targets)
        assert y is not None  # targets is a tensor, so as_inputs returned one
        refresh = k % group["update_interval"] == 0 or "A" not in self.state[self.layers[0].weight]
        with torch.enable_grad():
            logits, captures = forward_capture(self.model, X, self.layers)
            # One backward pass of the C - 1 simplex directions serves both the gradient and
            # the factors (every cotangent involved is orthogonal to 1; see _layers.py).
            basis = [d.detach() for d in basis_gradients(logits, captures)]
        logits = logits.detach()
        check_logits(logits, y)
        probs = torch.softmax(logits, dim=1)
        loss = nn.functional.cross_entropy(logits, y)
        C = probs.shape[1]
        u = (probs - nn.functional.one_hot(y, C).to(probs.dtype)) / X.shape[0]
        loss_deltas = [d[:, 0] for d in combine_gradients(basis, u.unsqueeze(2))]
        grads = parameter_gradients(captures, loss_deltas)
        if refresh:
            gen = torch.Generator(device=X.device).manual_seed(group["seed"] + k)
            R = output_factor(probs, group["fisher"], y=y, n_samples=group["n_samples"],
                              generator=gen)
            deltas = combine_gradients(basis, R)
        for p, g in zip(params, grads, strict=True):
            p.grad = g.clone()
        with torch.no_grad():
            if refresh:
                self._refresh(captures, deltas, X.shape[0], group)
            updates, quadratics = [], []
            for layer in self.layers:
                st = self.state[layer.weight]
                grad = layer.weight.grad
                assert grad is not None  # every parameter's .grad was set from ``grads`` above
                if layer.bias is not None:
                    assert layer.bias.grad is not None
                    grad = torch.cat([grad, layer.bias.grad.unsqueeze(1)], dim=1)
                delta = st["G_inv"] @ grad @ st["A_inv"]
                quadratics.append(torch.sum(delta * grad))
                updates.append(delta)
            quadratic = float(torch.stack(quadratics).sum())  # one sync for all layers
            lr, predicted_kl = _clipped_lr(group, quadratic)
            for layer, delta in zip(self.layers, updates, strict=True):
                layer.weight.add_(delta[:, : layer.in_features], alpha=-lr)
                if layer.bias is not None:
                    layer.bias.add_(delta[:, layer.in_features], alpha=-lr)
        counter["step"] = torch.tensor(float(k + 1))
        self.last_info = {
            "loss": float(loss),
            "grad_norm": float(torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))),
            "lr": lr,
            "predicted_kl": predicted_kl,
            "refreshed": int(refresh),
        }
        return loss

    def _refresh(self, captures: list, deltas: list[torch.Tensor], n: int, group: dict) -> None:
        rho = group["factor_decay"]
        sqrt_damping = math.sqrt(group["damping"])
        infos: int | torch.Tensor = 0  # LAPACK info codes, summed on the device
        for cap, delta in zip(captures, deltas, strict=True):
            st = self.state[cap.layer.weight]
            d = delta.reshape(-1, delta.shape[-1])
            A = cap.inputs.T @ cap.inputs / n
            G = d.T @ d / n
            if "A" in st and rho > 0:
                A = rho * st["A"] + (1 - rho) * A
                G = rho * st["G"] + (1 - rho) * G
            st["A"], st["G"] = A, G
            # π balances the damping between the factors so that it does not depend on how the
            # layer's scale is split between A and G (Martens & Grosse, section 6.3).
            tr_a = float(torch.trace(A)) / A.shape[0]
            tr_g = float(torch.trace(G)) / G.shape[0]
            pi = math.sqrt(tr_a / tr_g) if tr_a > 0 and tr_g > 0 else 1.0
            pi = pi if math.isfinite(pi) and pi > 0 else 1.0
            st["A_inv"], info_a = _spd_inverse(A, pi * sqrt_damping)
            st["G_inv"], info_g = _spd_inverse(G, sqrt_damping / pi)
            infos += info_a + info_g
        if int(infos) != 0:  # one device sync for all layers
            raise FisherError("a damped K-FAC factor is not positive definite (NaN in the "
                              "network?); increase the damping or lower the learning rate")


def _spd_inverse(M: torch.Tensor, shift: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``(M + shift·I)⁻¹`` for symmetric PSD ``M`` via Cholesky, and LAPACK's ``info``."""
    M = M.clone()
    M.diagonal().add_(shift)
    L, info = torch.linalg.cholesky_ex(M)
    return torch.cholesky_inverse(L), info


def _check_model(model: object) -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(
            f"expected the model (an nn.Module), got {type(model).__name__}; natural-gradient "
            "optimizers need the network function, not only its parameters"
        )
    if not any(True for _ in model.parameters()):
        raise ValueError("the model has no parameters to optimise")


def _check_sampling(kl_clip: object, n_samples: object, seed: object) -> None:
    """The ``kl_clip``, ``n_samples`` and ``seed`` arguments both optimizers take."""
    if kl_clip is not None:
        check_positive_float("kl_clip", kl_clip)
    check_int("n_samples", n_samples, 1, 1000)
    check_seed(seed)
