"""Riemannian steepest descent, conjugate gradient and Adam on a :class:`Problem`, and the
Euclidean baselines they are contrasted with.

``minimize(problem, x0, method="gd"|"cg"|"adam")`` follows pymanopt's algorithms, so that the
two can be compared iteration by iteration:

* ``"gd"``: ``x ← R_x(-α grad f(x))`` with a backtracking Armijo line search
  (``f(R_x(αd)) <= f(x) + 10⁻⁴ α ⟨grad f, d⟩``; the first trial step is twice the previous
  decrease over the slope) or a fixed step ``lr``;
* ``"cg"``: directions ``d ← -grad f + β T(d)`` with the Hestenes–Stiefel ``β⁺``
  (``max(0, ⟨g⁺, g⁺ - T g⟩/⟨g⁺ - T g, T d⟩)``, ``T`` the manifold's transport), reset to
  ``-grad f`` when not a descent direction, and an adaptive Armijo search (sufficient
  decrease ½, halving, the next trial twice the last accepted step unless it took one halving);
* ``"adam"``: Riemannian Adam (Bécigneul & Ganea 2019) with a fixed ``lr``.

Each iteration reuses the cost and gradient of the point the line search accepted, so a CG
iteration costs one gradient and typically one or two cost evaluations.

The baselines, :func:`projected_gradient` (an ambient step, then ``project``) and
:func:`ambient_gradient` (an ambient step, never projected), show what the geometry buys.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from geomcore._validation import (
    check_choice,
    check_int,
    check_nonnegative_float,
    check_positive_float,
)
from geomcore.riemannian.manifolds import Manifold, ManifoldError
from geomcore.riemannian.optimizers import AdamState, radam_update
from geomcore.riemannian.problems import Problem

__all__ = [
    "METHODS",
    "OptimizationResult",
    "ambient_gradient",
    "minimize",
    "projected_gradient",
]

METHODS = ("gd", "cg", "adam")
MAX_ITER = 100_000
MIN_STEP = 1e-10
"""A line search whose accepted step ``‖αd‖`` falls below this has stalled (pymanopt's
``min_step_size``)."""
DIVERGED = 1e12
"""``|f|`` above this (relative to the start) counts as a diverging run."""

Progress = Callable[[float], None] | None


@dataclass
class OptimizationResult:
    """What a run produced.

    Attributes
    ----------
    x : torch.Tensor
        The final point (the last finite one if the run produced NaN).
    f, grad_norm, off_manifold : numpy.ndarray, ``shape=[iterations + 1]``
        Cost, Riemannian gradient norm and distance from the manifold at the start and after
        each iteration.
    iterations : int
    status : str
        ``"ok"`` (``grad_norm <= gtol``), ``"max_iter"``, ``"stalled"`` (the line search
        found no decrease), ``"nan"`` (NaN or infinity appeared), ``"diverged"`` (``|f|`` blew
        up) or ``"off_manifold"`` (a baseline ended off the manifold).
    message : str
        The status in words, with the numbers behind it.
    method : str
    iterates : numpy.ndarray or None
        ``[iterations + 1, *x.shape]`` when asked for.
    seconds : float
        Wall-clock time of the run.
    """

    x: torch.Tensor
    f: np.ndarray
    grad_norm: np.ndarray
    off_manifold: np.ndarray
    iterations: int
    status: str
    message: str
    method: str
    iterates: np.ndarray | None = field(default=None, repr=False)
    seconds: float = 0.0

    @property
    def converged(self) -> bool:
        return self.status == "ok"


class _Log:
    """Per-iteration records of a run."""

    def __init__(self, manifold: Manifold, keep_iterates: bool) -> None:
        self.manifold = manifold
        self.f: list[float] = []
        self.g: list[float] = []
        self.off: list[float] = []
        self.iterates: list[np.ndarray] | None = [] if keep_iterates else None

    def add(self, x: torch.Tensor, f: float, gnorm: float) -> None:
        self.f.append(f)
        self.g.append(gnorm)
        self.off.append(float(self.manifold.off_manifold(x).max()))
        if self.iterates is not None:
            self.iterates.append(x.detach().cpu().numpy().copy())

    def result(self, x: torch.Tensor, status: str, message: str, method: str,
               start: float) -> OptimizationResult:
        return OptimizationResult(
            x=x, f=np.array(self.f), grad_norm=np.array(self.g), off_manifold=np.array(self.off),
            iterations=len(self.f) - 1, status=status, message=message, method=method,
            iterates=None if self.iterates is None else np.stack(self.iterates),
            seconds=time.perf_counter() - start)


def _inner(m: Manifold, x: torch.Tensor, u: torch.Tensor, v: torch.Tensor) -> float:
    # summed: a batch of points is one point of the product manifold
    return float(m.inner(x, u, v).sum())


def _finite(*values: float) -> bool:
    return all(math.isfinite(v) for v in values)


def _check_common(problem: Problem, x0: object, max_iter: int, gtol: float) -> torch.Tensor:
    if not isinstance(problem, Problem):
        raise ManifoldError(f"problem must be a Problem, got {type(problem).__name__}")
    check_int("max_iter", max_iter, 0, MAX_ITER, error=ManifoldError)
    check_nonnegative_float("gtol", gtol, error=ManifoldError)
    x = problem.manifold.as_point(x0, "x0").detach().clone()
    if not bool(torch.isfinite(x).all()):
        raise ManifoldError("x0 has NaN or infinite entries")
    return x


def minimize(problem: Problem, x0: object, method: str = "cg", *, max_iter: int = 1000,
             gtol: float = 1e-6, lr: float | None = None, betas: tuple[float, float] = (0.9, 0.999),
             retraction: str | None = None, transport: str = "manifold",
             return_iterates: bool = False, progress: Progress = None) -> OptimizationResult:
    """Minimise ``problem`` from ``x0`` by Riemannian GD, CG or Adam.

    Parameters
    ----------
    problem : Problem
    x0 : array-like, ``shape=[..., *point_shape]``
        The start (projected on the manifold first).
    method : {"gd", "cg", "adam"}
    max_iter : int
        At most this many iterations (``0..100000``).
    gtol : float
        Stop when the Riemannian gradient norm ``<= gtol``.
    lr : float, optional
        ``"gd"``: a fixed step instead of the line search; ``"adam"``: the step (default 0.01);
        ``"cg"`` takes none.
    betas : (float, float)
        Adam's moment decay rates.
    retraction : str, optional
        One of ``problem.manifold.retractions`` (default: the manifold's first).
    transport : {"manifold", "projection"}
        How CG and Adam carry vectors to the new point: the manifold's ``transport`` (parallel
        where it has a closed form) or the projection ``to_tangent`` (pymanopt's choice).
    return_iterates : bool
        Keep every iterate in ``result.iterates``.
    progress : callable, optional
        Called with the fraction of ``max_iter`` done.
    """
    x = _check_common(problem, x0, max_iter, gtol)
    check_choice("method", method, METHODS, error=ManifoldError)
    check_choice("transport", transport, ("manifold", "projection"), error=ManifoldError)
    m = problem.manifold
    if retraction is not None:
        check_choice("retraction", retraction, m.retractions, error=ManifoldError)
    if lr is not None:
        check_positive_float("lr", lr, error=ManifoldError)
        if method == "cg":
            raise ManifoldError("method='cg' chooses its steps by line search; pass lr=None")
    x = m.project(x)
    log = _Log(m, return_iterates)
    start = time.perf_counter()
    f, g = problem.value_and_gradient(x)
    gnorm = math.sqrt(max(_inner(m, x, g, g), 0.0))
    log.add(x, f, gnorm)
    if not _finite(f, gnorm):
        return log.result(x, "nan", "the cost or its gradient is NaN at the start", method, start)
    runs: dict[str, Callable[..., OptimizationResult]] = {"gd": _gd, "cg": _cg, "adam": _adam}
    run = runs[method]
    move = m.transport if transport == "manifold" else _projection_transport(m)
    return run(problem, x, f, g, gnorm, log, max_iter=max_iter, gtol=gtol, lr=lr, betas=betas,
               retraction=retraction, progress=progress, start=start, move=move)


Transport = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def _projection_transport(m: Manifold) -> Transport:
    def move(x: torch.Tensor, y: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return m.to_tangent(y, u)
    return move


def _stop_message(status: str, it: int, gnorm: float, gtol: float) -> str:
    return {
        "ok": f"converged: gradient norm {gnorm:.2e} <= {gtol:g} after {it} iterations",
        "max_iter": f"not converged: gradient norm {gnorm:.2e} > {gtol:g} after {it} "
                    "iterations (raise max_iter or change the step)",
        "stalled": f"stalled after {it} iterations: the line search found no decrease "
                   f"(gradient norm {gnorm:.2e}, round-off level for this cost)",
    }[status]


def _nan_message(it: int) -> str:
    return (f"the iteration produced NaN or infinity at iteration {it}: the step is too large "
            "for this problem; x is the last finite point")


def _gd(problem: Problem, x: torch.Tensor, f: float, g: torch.Tensor, gnorm: float, log: _Log,
        *, max_iter: int, gtol: float, lr: float | None, retraction: str | None,
        progress: Progress, start: float, **_: object) -> OptimizationResult:
    m = problem.manifold
    f_start = abs(f) + 1.0
    old_f0: float | None = None
    for it in range(max_iter):
        if gnorm <= gtol:
            return log.result(x, "ok", _stop_message("ok", it, gnorm, gtol), "gd", start)
        d = -g
        df0 = -gnorm**2
        if lr is not None:
            alpha = lr
            new_x = m.retract(x, alpha * d, retraction)
            new_f, new_g = problem.value_and_gradient(new_x)
        else:
            # pymanopt's BackTrackingLineSearcher: contraction ½, sufficient decrease 1e-4,
            # optimism 2, at most 25 halvings
            alpha = (2.0 * 2.0 * (f - old_f0) / df0) if old_f0 is not None else 1.0 / gnorm
            new_x = m.retract(x, alpha * d, retraction)
            new_f, new_g = problem.value_and_gradient(new_x)
            count = 1
            while (not new_f <= f + 1e-4 * alpha * df0) and count <= 25:
                alpha *= 0.5
                new_x = m.retract(x, alpha * d, retraction)
                new_f, new_g = problem.value_and_gradient(new_x)
                count += 1
            old_f0 = f
            if not new_f <= f:
                return log.result(x, "stalled", _stop_message("stalled", it, gnorm, gtol),
                                  "gd", start)
        new_gnorm = math.sqrt(max(_inner(m, new_x, new_g, new_g), 0.0))
        if not (_finite(new_f, new_gnorm) and bool(torch.isfinite(new_x).all())):
            return log.result(x, "nan", _nan_message(it + 1), "gd", start)
        x, f, g, gnorm = new_x, new_f, new_g, new_gnorm
        log.add(x, f, gnorm)
        if abs(f) > DIVERGED * f_start:
            return log.result(x, "diverged", f"the cost reached {f:.3g} at iteration {it + 1}: "
                              "the step is too large", "gd", start)
        if lr is None and alpha * math.sqrt(-df0) < MIN_STEP and gnorm > gtol:
            return log.result(x, "stalled", _stop_message("stalled", it + 1, gnorm, gtol),
                              "gd", start)
        if progress is not None and it % 50 == 0:
            progress(it / max(max_iter, 1))
    status = "ok" if gnorm <= gtol else "max_iter"
    return log.result(x, status, _stop_message(status, max_iter, gnorm, gtol), "gd", start)


def _cg(problem: Problem, x: torch.Tensor, f: float, g: torch.Tensor, gnorm: float, log: _Log,
        *, max_iter: int, gtol: float, retraction: str | None, progress: Progress,
        start: float, move: Transport, **_: object) -> OptimizationResult:
    m = problem.manifold
    d = -g
    old_alpha: float | None = None
    for it in range(max_iter):
        if gnorm <= gtol:
            return log.result(x, "ok", _stop_message("ok", it, gnorm, gtol), "cg", start)
        df0 = _inner(m, x, g, d)
        if df0 >= 0:  # not a descent direction: restart
            d, df0 = -g, -gnorm**2
        # pymanopt's AdaptiveLineSearcher: sufficient decrease ½, contraction ½, 10 trials
        norm_d = math.sqrt(max(_inner(m, x, d, d), 0.0))
        alpha = old_alpha if old_alpha is not None else 1.0 / norm_d
        new_x = m.retract(x, alpha * d, retraction)
        new_f, new_g = problem.value_and_gradient(new_x)
        count = 1
        while (not new_f <= f + 0.5 * alpha * df0) and count <= 10:
            alpha *= 0.5
            new_x = m.retract(x, alpha * d, retraction)
            new_f, new_g = problem.value_and_gradient(new_x)
            count += 1
        if not new_f <= f:
            if not _finite(new_f):
                return log.result(x, "nan", _nan_message(it + 1), "cg", start)
            return log.result(x, "stalled", _stop_message("stalled", it, gnorm, gtol), "cg",
                              start)
        old_alpha = alpha if count == 2 else 2.0 * alpha
        new_gnorm = math.sqrt(max(_inner(m, new_x, new_g, new_g), 0.0))
        if not (_finite(new_f, new_gnorm) and bool(torch.isfinite(new_x).all())):
            return log.result(x, "nan", _nan_message(it + 1), "cg", start)
        old_g = move(x, new_x, g)
        t_d = move(x, new_x, d)
        diff = new_g - old_g
        denom = _inner(m, new_x, diff, t_d)
        beta = max(0.0, _inner(m, new_x, new_g, diff) / denom) if denom != 0 else 1.0
        d = -new_g + beta * t_d
        x, f, g, gnorm = new_x, new_f, new_g, new_gnorm
        log.add(x, f, gnorm)
        if alpha * norm_d < MIN_STEP and gnorm > gtol:
            return log.result(x, "stalled", _stop_message("stalled", it + 1, gnorm, gtol),
                              "cg", start)
        if progress is not None and it % 50 == 0:
            progress(it / max(max_iter, 1))
    status = "ok" if gnorm <= gtol else "max_iter"
    return log.result(x, status, _stop_message(status, max_iter, gnorm, gtol), "cg", start)


def _adam(problem: Problem, x: torch.Tensor, f: float, g: torch.Tensor, gnorm: float, log: _Log,
          *, max_iter: int, gtol: float, lr: float | None, betas: tuple[float, float],
          retraction: str | None, progress: Progress, start: float, move: Transport,
          **_: object) -> OptimizationResult:
    m = problem.manifold
    state = AdamState.zeros(x, m)
    f_start = abs(f) + 1.0
    step = 0.01 if lr is None else lr
    for it in range(max_iter):
        if gnorm <= gtol:
            return log.result(x, "ok", _stop_message("ok", it, gnorm, gtol), "adam", start)
        new_x = radam_update(m, x, g, state, lr=step, betas=betas, eps=1e-8,
                             retraction=retraction, transport=move)
        if not bool(torch.isfinite(new_x).all()):
            return log.result(x, "nan", _nan_message(it + 1), "adam", start)
        new_f, new_g = problem.value_and_gradient(new_x)
        new_gnorm = math.sqrt(max(_inner(m, new_x, new_g, new_g), 0.0))
        if not _finite(new_f, new_gnorm):
            return log.result(x, "nan", _nan_message(it + 1), "adam", start)
        x, f, g, gnorm = new_x, new_f, new_g, new_gnorm
        log.add(x, f, gnorm)
        if abs(f) > DIVERGED * f_start:
            return log.result(x, "diverged", f"the cost reached {f:.3g} at iteration {it + 1}",
                              "adam", start)
        if progress is not None and it % 50 == 0:
            progress(it / max(max_iter, 1))
    status = "ok" if gnorm <= gtol else "max_iter"
    return log.result(x, status, _stop_message(status, max_iter, gnorm, gtol), "adam", start)


# -- Euclidean baselines ---------------------------------------------------------------------------
def _baseline(problem: Problem, x0: object, lr: float, max_iter: int, project: bool,
              return_iterates: bool, off_tol: float) -> OptimizationResult:
    x = _check_common(problem, x0, max_iter, 0.0)
    check_positive_float("lr", lr, error=ManifoldError)
    m = problem.manifold
    name = "projected" if project else "ambient"
    x = m.project(x)
    log = _Log(m, return_iterates)
    start = time.perf_counter()
    f, eg = problem.value_and_euclidean_gradient(x)
    # the Riemannian gradient norm at the nearest manifold point, so that the curves compare
    log.add(x, f, float(m.norm(x, m.egrad_to_rgrad(x, eg)).sum()))
    f_start = abs(f) + 1.0
    for it in range(max_iter):
        new_x = x - lr * eg
        if project:
            new_x = m.project(new_x)
        if not bool(torch.isfinite(new_x).all()):
            return log.result(x, "nan", _nan_message(it + 1), name, start)
        f, eg = problem.value_and_euclidean_gradient(new_x)
        near = m.project(new_x)
        gnorm = float(m.norm(near, m.egrad_to_rgrad(near, eg)).sum())
        x = new_x
        log.add(x, f, gnorm)
        if not _finite(f, gnorm):
            return log.result(x, "nan", _nan_message(it + 1), name, start)
        if abs(f) > DIVERGED * f_start:
            return log.result(x, "diverged", f"the cost reached {f:.3g} at iteration {it + 1} "
                              f"and x is {log.off[-1]:.3g} off the manifold", name, start)
    off = log.off[-1]
    if off > off_tol:
        return log.result(x, "off_manifold", f"after {max_iter} steps x is {off:.3g} off the "
                          "manifold: the ambient step ignores the constraint", name, start)
    return log.result(x, "max_iter", f"{max_iter} steps of size {lr:g}; x is on the manifold "
                      f"to {off:.1e}", name, start)


def projected_gradient(problem: Problem, x0: object, *, lr: float, max_iter: int = 100,
                       return_iterates: bool = False) -> OptimizationResult:
    """Euclidean baseline: ``x ← project(x - lr ∇f(x))``, the ambient gradient step then back
    to the nearest manifold point (for the sphere: renormalise). ``grad_norm`` records the
    Riemannian gradient norm at the projected point."""
    return _baseline(problem, x0, lr, max_iter, True, return_iterates, 1e-8)


def ambient_gradient(problem: Problem, x0: object, *, lr: float, max_iter: int = 100,
                     return_iterates: bool = False, off_tol: float = 1e-8) -> OptimizationResult:
    """Euclidean baseline that ignores the manifold: ``x ← x - lr ∇f(x)``, never projected.
    ``off_manifold`` grows; the status is ``"off_manifold"`` when it ends above ``off_tol``."""
    return _baseline(problem, x0, lr, max_iter, False, return_iterates, off_tol)
