"""Small float64 networks for the Natural-gradient lab, and their reparametrisation.

``mlp([d, h1, ..., C])`` is a stack of :class:`torch.nn.Linear` layers with an activation
between them; its output is the ``C`` logits of a softmax classifier, so ``mlp([d, C])`` is
softmax (multinomial logistic) regression.

:func:`reparametrize` returns the *same function* in different coordinates: its first layer is a
:class:`ScaledLinear` that stores ``W_stored = c W`` and computes ``x ↦ (W_stored / c) x + b``.
Euclidean gradient descent sees different gradients in the new coordinates
(``∂L/∂W_stored = (1/c) ∂L/∂W``, so a step moves ``W`` by ``1/c²`` as much), while an exact
natural-gradient step is invariant: the lab's headline demonstration.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence

import torch
from torch import nn

from geomcore._validation import check_seed

__all__ = [
    "ACTIVATIONS",
    "MAX_DEPTH",
    "MAX_WIDTH",
    "ModelError",
    "ScaledLinear",
    "count_parameters",
    "flat_parameters",
    "linear_layers",
    "mlp",
    "reparametrize",
    "set_flat_parameters",
]

ACTIVATIONS: tuple[str, ...] = ("tanh", "relu", "sigmoid", "gelu", "softplus")
"""Activation names accepted by :func:`mlp`."""
MAX_WIDTH = 256
"""Widest hidden layer :func:`mlp` builds (the page lets users choose widths)."""
MAX_DEPTH = 6
"""Most Linear layers in one :func:`mlp`."""
_MAX_IO = 1024  # input features / classes
_MAX_SCALE = 1e4


class ModelError(ValueError):
    """An invalid network specification."""


class ScaledLinear(nn.Linear):
    """A Linear layer whose weight is stored multiplied by ``scale``.

    Computes ``y = x (W_stored / scale)ᵀ + b`` with ``x`` of ``shape=[..., in_features]``.
    The function is that of an ``nn.Linear`` with weight ``W = W_stored / scale``; only the
    coordinates the optimiser sees differ. ``scale`` is a buffer, so it travels with
    ``state_dict`` and ``.to(device)``.
    """

    scale: torch.Tensor

    def __init__(
        self,
        in_features: int,
        out_features: int,
        scale: float,
        *,
        bias: bool = True,
        dtype: torch.dtype = torch.float64,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__(in_features, out_features, bias=bias, dtype=dtype, device=device)
        self.register_buffer("scale", torch.tensor(float(scale), dtype=dtype, device=device))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.linear(x, self.weight / self.scale, self.bias)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, scale={float(self.scale):g}"


def mlp(
    sizes: Sequence[int], activation: str = "tanh", *, seed: int = 0
) -> nn.Sequential:
    """A float64 multilayer perceptron returning logits.

    Parameters
    ----------
    sizes : sequence of int
        ``[d, h1, ..., hk, C]``: input dimension, hidden widths (each ``<= 256``), number of
        classes (``>= 2``); between 2 and 7 entries. ``[d, C]`` is softmax regression, a single
        ``nn.Linear(d, C)``.
    activation : str
        One of :data:`ACTIVATIONS`, applied after every layer but the last.
    seed : int
        Seed of the initial weights (the global torch RNG is not touched).

    Returns
    -------
    torch.nn.Sequential
        Maps ``shape=[n, d]`` to logits ``shape=[n, C]``. Parameters are ordered layer by layer,
        weight (``shape=[out, in]``, flattened row-major) then bias.

    Notes
    -----
    Weights are Glorot-uniform, ``U(-a, a)`` with ``a = gain·sqrt(6 / (in + out))`` (gain 5/3 for
    tanh, sqrt(2) for the ReLU family, 1 otherwise), biases ``U(-1/sqrt(in), 1/sqrt(in))``.
    """
    sizes = check_sizes(sizes)
    if activation not in ACTIVATIONS:
        raise ModelError(
            f"unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}"
        )
    generator = torch.Generator().manual_seed(check_seed(seed, error=ModelError))
    gain = {"tanh": 5.0 / 3.0, "relu": math.sqrt(2.0), "gelu": math.sqrt(2.0)}.get(activation, 1.0)
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        linear = nn.Linear(fan_in, fan_out, dtype=torch.float64)
        # The last layer has gain 1: it feeds a softmax, not an activation.
        g = gain if i < len(sizes) - 2 else 1.0
        bound = g * math.sqrt(6.0 / (fan_in + fan_out))
        with torch.no_grad():
            linear.weight.uniform_(-bound, bound, generator=generator)
            linear.bias.uniform_(-1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in),
                                 generator=generator)
        layers.append(linear)
        if i < len(sizes) - 2:
            layers.append(_activation(activation))
    return nn.Sequential(*layers)


def reparametrize(model: nn.Module, c: float) -> nn.Module:
    """The same network with its first Linear layer's weight stored scaled by ``c``.

    Parameters
    ----------
    model : nn.Module
        A network containing at least one ``nn.Linear`` (its first one, in module order, is
        replaced).
    c : float
        Positive finite scale, ``1e-4 <= c <= 1e4``. ``c = 1`` returns a plain deep copy.

    Returns
    -------
    nn.Module
        A deep copy computing the same function, with ``W_stored = c · W`` in a
        :class:`ScaledLinear`. ``model`` itself is not modified.
    """
    c = float(c)
    if not (math.isfinite(c) and 1.0 / _MAX_SCALE <= c <= _MAX_SCALE):
        raise ModelError(f"reparametrize={c!r} is out of range; use a value in [1e-4, 1e4]")
    new = copy.deepcopy(model)
    if c == 1.0:
        return new
    for parent in new.modules():
        for child_name, child in parent.named_children():
            if isinstance(child, nn.Linear):
                scaled = ScaledLinear(
                    child.in_features,
                    child.out_features,
                    c * (float(child.scale) if isinstance(child, ScaledLinear) else 1.0),
                    bias=child.bias is not None,
                    dtype=child.weight.dtype,
                    device=child.weight.device,
                )
                with torch.no_grad():
                    scaled.weight.copy_(child.weight * c)
                    if child.bias is not None:
                        scaled.bias.copy_(child.bias)
                setattr(parent, child_name, scaled)
                return new
    raise ModelError("reparametrize needs a model with at least one nn.Linear layer")


def linear_layers(model: nn.Module) -> list[nn.Linear]:
    """The ``nn.Linear`` modules of ``model`` in module order (ScaledLinear included)."""
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


def count_parameters(model: nn.Module) -> int:
    """Number ``P`` of scalar parameters in ``model.parameters()``."""
    return sum(p.numel() for p in model.parameters())


def flat_parameters(model: nn.Module) -> torch.Tensor:
    """All parameters concatenated in ``model.parameters()`` order, ``shape=[P]`` (a copy)."""
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


def set_flat_parameters(model: nn.Module, theta: torch.Tensor) -> None:
    """Write a flat vector ``shape=[P]`` (torch or numpy) into ``model``'s parameters."""
    params = list(model.parameters())
    theta = torch.as_tensor(theta, dtype=params[0].dtype, device=params[0].device).reshape(-1)
    total = sum(p.numel() for p in params)
    if theta.numel() != total:
        raise ModelError(f"expected a vector of {total} parameters, got {theta.numel()}")
    # Copy into the parameters' own storage: ``vector_to_parameters`` would make them views of
    # ``theta``, so training the model afterwards would overwrite the caller's vector (e.g. a
    # stored snapshot).
    with torch.no_grad():
        offset = 0
        for p in params:
            p.copy_(theta[offset:offset + p.numel()].view_as(p))
            offset += p.numel()


def check_sizes(sizes: Sequence[int]) -> list[int]:
    """Validate layer sizes ``[d, h1, ..., C]`` and return them as a list of ints."""
    try:
        sizes = [int(s) for s in sizes]
    except (TypeError, ValueError) as err:
        raise ModelError(f"sizes={sizes!r} must be a list of integers") from err
    if not 2 <= len(sizes) <= MAX_DEPTH + 1:
        raise ModelError(
            f"sizes={sizes} needs between 2 and {MAX_DEPTH + 1} entries: [inputs, hidden..., "
            "classes]"
        )
    if not 1 <= sizes[0] <= _MAX_IO:
        raise ModelError(f"input size {sizes[0]} is out of range; use 1..{_MAX_IO}")
    if not 2 <= sizes[-1] <= _MAX_IO:
        raise ModelError(f"number of classes {sizes[-1]} is out of range; use 2..{_MAX_IO}")
    for width in sizes[1:-1]:
        if not 1 <= width <= MAX_WIDTH:
            raise ModelError(f"hidden width {width} is out of range; use 1..{MAX_WIDTH}")
    return sizes


def _activation(name: str) -> nn.Module:
    return {
        "tanh": nn.Tanh,
        "relu": nn.ReLU,
        "sigmoid": nn.Sigmoid,
        "gelu": nn.GELU,
        "softplus": nn.Softplus,
    }[name]()
