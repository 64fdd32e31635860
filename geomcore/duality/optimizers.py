"""Five optimisers on the probability simplex, and why two pairs of them are the same.

With ``g = ∇_p L`` the gradient of the loss in the full probability vector ``p`` (``shape=[k]``),
minimal natural parameters ``θᵢ = log(pᵢ/p_k)`` and expectation parameters ``ηᵢ = pᵢ``
(``i < k``), the methods are:

``"gd_natural"``       ``θ ← θ − lr ∇_θL``, with ``(∇_θL)ᵢ = pᵢ(gᵢ − ⟨p, g⟩)`` (chain rule);
``"ngd_natural"``      ``θ ← θ − lr G(θ)⁻¹∇_θL``, ``G = ∇²ψ = diag(η) − ηηᵀ`` the Fisher metric,
                       its inverse applied in closed form as ``∇²φ(η) = diag(1/η) + 11ᵀ/p_k``;
``"mirror_descent"``   exponentiated gradient ``p ← p ⊙ e^{−lr g} / Z`` (mirror descent with the
                       entropy as mirror map), computed in log-space;
``"ngd_expectation"``  ``η ← η − lr [∇²φ(η)]⁻¹∇_ηL̃``, ``L̃(η) = L(η, 1 − Σ η)``, i.e.
                       ``η ← η − lr G (g_{<k} − g_k)``;
``"projected_gd"``     ``p ← Π_Δ(p − lr g)``, the Euclidean projection onto the simplex.

Mirror descent with mirror map ψ is natural-gradient descent in the dual chart (Raskutti &
Mukherjee, 2015): exponentiated gradient and NGD in θ produce the same iterates, and mirror
descent in θ (``∇ψ(θ') = ∇ψ(θ) − lr ∇_θL``) is NGD in η. The routes here are written
independently, so the tests can compare them iterate by iterate.

The loss is any function of a torch tensor ``p`` (``shape=[k]``, float64) returning a scalar;
its gradient comes from torch autograd. A :class:`ClosedFormLoss` (cross-entropy, squared,
linear) also gives its gradient in numpy, which :func:`optimize` then uses (about ten times
faster; the result is the same to round-off).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from geomcore._validation import check_choice, check_int, check_positive_float
from geomcore.duality.families import Categorical, DualityError, as_float_array

__all__ = [
    "BOUNDARY",
    "METHODS",
    "MAX_STEPS",
    "ClosedFormLoss",
    "CrossEntropyLoss",
    "LinearLoss",
    "Method",
    "OptimizationPath",
    "SquaredLoss",
    "optimize",
    "project_to_simplex",
]

Method = Literal["gd_natural", "projected_gd", "mirror_descent", "ngd_natural",
                 "ngd_expectation"]
METHODS: tuple[str, ...] = ("gd_natural", "projected_gd", "mirror_descent", "ngd_natural",
                            "ngd_expectation")
MAX_STEPS = 100_000
BOUNDARY = 1e-300
"""A probability below this is on the boundary in float64: its reciprocal (in the Fisher
metric of η) overflows and its logarithm (θ) is meaningless. Methods that live in θ or η stop
there with ``status="boundary"``."""


class ClosedFormLoss(ABC):
    """A loss on the simplex that is a torch loss (callable on a tensor) and also knows its
    value and gradient in numpy, vectorised over leading axes (``p`` of ``shape=[..., k]``)."""

    @abstractmethod
    def __call__(self, p: torch.Tensor) -> torch.Tensor:
        """The loss of a torch probability vector, a scalar tensor."""

    @abstractmethod
    def value(self, p: np.ndarray) -> np.ndarray:
        """``L(p)``, ``shape=[...]``."""

    @abstractmethod
    def gradient(self, p: np.ndarray) -> np.ndarray:
        """``∇_p L(p)``, ``shape=[..., k]``."""

    def gradient_list(self, p: list[float]) -> list[float]:
        """``∇_p L`` of one point given as a list of floats (what :func:`optimize`'s loops
        use); override with plain-float arithmetic for speed."""
        return np.asarray(self.gradient(np.asarray(p)), dtype=float).tolist()


def _target(target: object, name: str) -> np.ndarray:
    a = as_float_array(target, name).reshape(-1)
    if a.size < 2:
        raise DualityError(f"{name} must have at least 2 entries")
    return a


class CrossEntropyLoss(ClosedFormLoss):
    """``L(p) = −Σ tᵢ log pᵢ = KL(t‖p) + H(t)``, minimised at ``p = t``; ``∇L = −t/p``."""

    def __init__(self, target: object) -> None:
        t = _target(target, "target")
        self.target = Categorical(t.size).check_point(t, "target")
        self._target_list = self.target.tolist()

    def __call__(self, p: torch.Tensor) -> torch.Tensor:
        t = torch.as_tensor(self.target, dtype=p.dtype)
        return -(torch.xlogy(t, p)).sum()

    def value(self, p: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(self.target > 0, self.target * np.log(p), 0.0)
        return -terms.sum(axis=-1)

    def gradient(self, p: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.target > 0, -self.target / p, 0.0)

    def gradient_list(self, p: list[float]) -> list[float]:
        return [(-t / x if x > 0 else -math.inf) if t > 0 else 0.0
                for t, x in zip(self._target_list, p, strict=True)]


class SquaredLoss(ClosedFormLoss):
    """``L(p) = ½‖p − t‖²``; ``∇L = p − t``."""

    def __init__(self, target: object) -> None:
        self.target = _target(target, "target")
        self._target_list = self.target.tolist()

    def __call__(self, p: torch.Tensor) -> torch.Tensor:
        return 0.5 * ((p - torch.as_tensor(self.target, dtype=p.dtype)) ** 2).sum()

    def value(self, p: np.ndarray) -> np.ndarray:
        return 0.5 * np.sum((p - self.target) ** 2, axis=-1)

    def gradient(self, p: np.ndarray) -> np.ndarray:
        return p - self.target

    def gradient_list(self, p: list[float]) -> list[float]:
        return [x - t for x, t in zip(p, self._target_list, strict=True)]


class LinearLoss(ClosedFormLoss):
    """``L(p) = ⟨c, p⟩`` (an expected cost), minimised at the vertex of the smallest ``cᵢ``
    (on the boundary: methods in θ approach it without reaching it)."""

    def __init__(self, c: object) -> None:
        self.c = _target(c, "c")
        self._c_list = self.c.tolist()

    def __call__(self, p: torch.Tensor) -> torch.Tensor:
        return (p * torch.as_tensor(self.c, dtype=p.dtype)).sum()

    def value(self, p: np.ndarray) -> np.ndarray:
        return np.asarray(p) @ self.c

    def gradient(self, p: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.c, np.shape(p)).copy()

    def gradient_list(self, p: list[float]) -> list[float]:
        return list(self._c_list)


@dataclass(frozen=True)
class OptimizationPath:
    """The iterates of one optimiser on the simplex.

    Attributes
    ----------
    method : str
        One of :data:`METHODS`.
    lr : float
        The learning rate.
    points : np.ndarray
        Probability vectors ``p₀ … p_n``, ``shape=[n + 1, k]``; ``n = steps`` unless the run
        stopped early.
    loss : np.ndarray
        ``L(pₜ)``, ``shape=[n + 1]``.
    status : str
        ``"ok"``; ``"boundary"`` (an iterate reached the boundary of the simplex where the
        method's chart is infinite, or the loss became infinite there); ``"left_simplex"``
        (an NGD-in-η step left the simplex); ``"diverged"`` (NaN/inf gradient or loss).
    message : str
        What happened and at which step; also set for ``"ok"`` runs of projected GD that
        reached a face of the simplex (a normal event for that method).
    """

    method: str
    lr: float
    points: np.ndarray
    loss: np.ndarray
    status: str = "ok"
    message: str = ""

    @property
    def steps(self) -> int:
        """Steps taken (``len(points) − 1``)."""
        return self.points.shape[0] - 1


def project_to_simplex(v: np.ndarray) -> np.ndarray:
    """Euclidean projection of ``v`` (``shape=[..., k]``) onto the probability simplex.

    ``Π(v) = max(v − τ, 0)`` with the threshold ``τ`` found by sorting (Duchi et al., 2008).
    """
    v = np.asarray(v, dtype=float)
    u = -np.sort(-v, axis=-1)
    css = np.cumsum(u, axis=-1) - 1.0
    idx = np.arange(1, v.shape[-1] + 1)
    rho = np.sum(u - css / idx > 0, axis=-1, keepdims=True)
    tau = np.take_along_axis(css, rho - 1, axis=-1) / rho
    return np.maximum(v - tau, 0.0)


def _autograd(loss: Callable[[torch.Tensor], torch.Tensor], k: int, values: list[float]
              ) -> Callable[[list[float]], list[float]]:
    """∇_p L by torch autograd; each call appends L(p) to ``values``."""
    def grad(p: list[float]) -> list[float]:
        pt = torch.tensor(p, dtype=torch.float64, requires_grad=True)
        out = loss(pt)
        if not isinstance(out, torch.Tensor) or out.numel() != 1:
            raise DualityError("the loss must return a scalar torch tensor; got "
                               f"{type(out).__name__}")
        (g,) = torch.autograd.grad(out, pt, allow_unused=True)
        values.append(float(out.detach()))
        return [0.0] * k if g is None else g.detach().tolist()
    return grad


def optimize(loss: Callable[[torch.Tensor], torch.Tensor], family: Categorical,
             start: object, method: Method, steps: int, lr: float, *,
             closed_form: bool = True) -> OptimizationPath:
    """Minimise ``loss`` over the simplex of ``family`` with one of :data:`METHODS`.

    Parameters
    ----------
    loss : callable
        ``p ↦ L(p)`` on a torch float64 tensor ``shape=[k]``, returning a scalar tensor.
    family : Categorical
        The simplex (:class:`~geomcore.duality.families.Categorical` or ``Bernoulli``).
    start : array_like
        Interior probability vector ``shape=[k]`` (all ``pᵢ > 0``: θ is infinite on the
        boundary).
    method : str
        ``"gd_natural"``, ``"projected_gd"``, ``"mirror_descent"``, ``"ngd_natural"`` or
        ``"ngd_expectation"`` (see the module docstring).
    steps : int
        ``0 ≤ steps ≤ MAX_STEPS``.
    lr : float
        Learning rate ``> 0``.
    closed_form : bool
        Use the numpy gradient of a :class:`ClosedFormLoss` instead of autograd.

    Returns
    -------
    OptimizationPath
        ``points`` of ``shape=[steps + 1, k]`` (fewer rows if the run stopped, see
        ``status``) and the loss at each.
    """
    if not isinstance(family, Categorical):
        raise DualityError(f"optimize runs on the simplex: family must be a Categorical (or "
                           f"Bernoulli); got {family!r}")
    method = check_choice("method", method, METHODS, error=DualityError)  # type: ignore[assignment]
    n_steps = check_int("steps", steps, 0, MAX_STEPS, error=DualityError)
    lr = check_positive_float("lr", lr, error=DualityError)
    p0 = family.check_point(start, "start", interior=True)
    if p0.ndim != 1:
        raise DualityError(f"start must be one probability vector, shape [{family.k}]")
    if not callable(loss):
        raise DualityError("loss must be a callable taking a torch tensor p")
    known = closed_form and isinstance(loss, ClosedFormLoss)
    vals: list[float] = []
    grad: _Grad
    if known:
        assert isinstance(loss, ClosedFormLoss)
        grad = loss.gradient_list
    else:
        grad = _autograd(loss, family.k, vals)
    out: list[list[float]] = [p0.tolist()]
    if method in ("gd_natural", "ngd_natural"):
        status, message = _run_theta(method == "ngd_natural", grad, n_steps, lr, out)
    else:
        runner = {"mirror_descent": _run_eg, "ngd_expectation": _run_eta,
                  "projected_gd": _run_projected}[method]
        status, message = runner(grad, n_steps, lr, out)
    points = np.array(out)
    with np.errstate(all="ignore"):
        if known:
            assert isinstance(loss, ClosedFormLoss)
            values = np.asarray(loss.value(points), dtype=float)
        else:  # the loop computed every loss but the last point's with its gradient
            grad(out[-1])
            values = np.array(vals[: len(out) - 1] + vals[-1:])
    if status == "ok" and not np.all(np.isfinite(values)):
        bad = int(np.argmin(np.isfinite(values)))
        if method == "projected_gd":
            status = "boundary"
            message = (f"projected GD reached a face of the simplex at step {bad} where the "
                       "loss is infinite (a zero probability under a log); the path stops "
                       "before it")
        else:
            status, message = "diverged", f"the loss is not finite at step {bad}"
        points, values = points[:bad], values[:bad]
    return OptimizationPath(method=method, lr=lr, points=points, loss=values, status=status,
                            message=message)


_Grad = Callable[[list[float]], list[float]]
# The loops below run on Python floats: for the small k of the page a numpy call costs more
# than the arithmetic it does (about 1 µs each), and a step needs a dozen of them. A gradient
# with a NaN or ±inf entry has a non-finite sum (inf − inf is NaN), which ``_bad`` detects with
# one sum instead of a test per entry.


def _bad(g: list[float]) -> bool:
    s = sum(g)
    return s - s != 0.0


def _boundary(step: int, what: str) -> tuple[str, str]:
    return "boundary", (f"{what} reached the boundary of the simplex at step {step} (a "
                        f"probability below {BOUNDARY:g}, where the natural parameters are "
                        "infinite); the path stops there")


def _diverged(step: int) -> tuple[str, str]:
    return "diverged", f"the gradient is not finite at step {step}"


def _run_theta(natural: bool, grad: _Grad, steps: int, lr: float,
               out: list[list[float]]) -> tuple[str, str]:
    """GD or NGD in the minimal natural parameters θ (state: θ, length k − 1)."""
    p = out[0]
    last = math.log(p[-1])
    theta = [math.log(x) - last for x in p[:-1]]
    km = len(theta)
    exp = math.exp
    for s in range(steps):
        g = grad(p)
        if _bad(g):
            return _diverged(s)
        pg = sum([a * b for a, b in zip(p, g, strict=False)])
        # ∇_θL by the chain rule ∂pⱼ/∂θᵢ = pⱼ(δᵢⱼ − pᵢ)
        if natural:
            # G⁻¹u with G⁻¹ = ∇²φ(η) = diag(1/η) + 11ᵀ/p_k and u = ∇_θL:
            # (G⁻¹u)ᵢ = uᵢ/pᵢ + 1ᵀu/p_k, where 1ᵀu = −p_k(g_k − ⟨p, g⟩) because the
            # chain-rule terms of all k outcomes sum to zero. (Summing u directly cancels O(1)
            # terms down to p_k·(…), and dividing by a tiny p_k would amplify that round-off.)
            su = pg - g[-1]
            theta = [theta[i] - lr * ((p[i] * (g[i] - pg)) / p[i] + su) for i in range(km)]
        else:
            theta = [theta[i] - lr * (p[i] * (g[i] - pg)) for i in range(km)]
        m = max(max(theta), 0.0)
        e = [exp(t - m) for t in theta]
        e.append(exp(-m))
        z = sum(e)
        p = [x / z for x in e]
        if min(p) < BOUNDARY or z - z != 0.0:
            return _boundary(s + 1, "NGD in θ" if natural else "GD in θ")
        out.append(p)
    return "ok", ""


def _run_eg(grad: _Grad, steps: int, lr: float, out: list[list[float]]) -> tuple[str, str]:
    """Exponentiated gradient p ← p·e^{−lr g}/Z, in log-space so that tiny probabilities do
    not underflow early."""
    p = out[0]
    logp = [math.log(x) for x in p]
    exp, log = math.exp, math.log
    for s in range(steps):
        g = grad(p)
        if _bad(g):
            return _diverged(s)
        logp = [a - lr * b for a, b in zip(logp, g, strict=False)]
        m = max(logp)
        lse = m + log(sum([exp(a - m) for a in logp]))
        logp = [a - lse for a in logp]
        p = [exp(a) for a in logp]
        if min(p) < BOUNDARY:
            return _boundary(s + 1, "Exponentiated gradient")
        out.append(p)
    return "ok", ""


def _run_eta(grad: _Grad, steps: int, lr: float, out: list[list[float]]) -> tuple[str, str]:
    """NGD in the expectation parameters η = p[:-1] (mixture coordinates)."""
    p = out[0]
    km = len(p) - 1
    for s in range(steps):
        g = grad(p)
        if _bad(g):
            return _diverged(s)
        gk = g[-1]
        d = [g[i] - gk for i in range(km)]  # ∇_η L̃
        ed = sum([p[i] * d[i] for i in range(km)])
        # [∇²φ]⁻¹ d = (diag(η) − ηηᵀ) d
        new = [p[i] - lr * (p[i] * d[i] - p[i] * ed) for i in range(km)]
        new.append(1.0 - sum(new))
        low = min(new)
        if low <= 0:
            i = new.index(low)
            return "left_simplex", (
                f"NGD in η stepped out of the simplex at step {s + 1} (p_{i + 1} would be "
                f"{low:.3g}): a straight step in the mixture coordinates can overshoot the "
                "boundary; lower the learning rate")
        if low < BOUNDARY:
            return _boundary(s + 1, "NGD in η")
        p = new
        out.append(p)
    return "ok", ""


def _project(v: list[float]) -> list[float]:
    # Duchi et al. (2008): the largest ρ with u_ρ > (Σ_{j≤ρ} u_j − 1)/ρ sets the threshold.
    css, tau = 0.0, 0.0
    for j, x in enumerate(sorted(v, reverse=True), start=1):
        css += x
        t = (css - 1.0) / j
        if x > t:
            tau = t
    return [x - tau if x > tau else 0.0 for x in v]


def _run_projected(grad: _Grad, steps: int, lr: float,
                   out: list[list[float]]) -> tuple[str, str]:
    """Projected gradient descent in p; faces of the simplex are allowed (p may have zeros)."""
    p = out[0]
    first_face = -1
    for s in range(steps):
        g = grad(p)
        if _bad(g):
            if min(p) == 0.0 and s > 0:
                out.pop()
                return "boundary", (
                    f"projected GD reached a face of the simplex at step {s} where the loss "
                    "and its gradient are infinite (a zero probability under a log); the path "
                    "stops before it")
            return _diverged(s)
        p = _project([a - lr * b for a, b in zip(p, g, strict=False)])
        if first_face < 0 and min(p) == 0.0:
            first_face = s + 1
        out.append(p)
    message = "" if first_face < 0 else (
        f"projected GD reached a face of the simplex at step {first_face} (a probability "
        "exactly 0) and moved along the boundary from there")
    return "ok", message
