"""Symbolic -> numeric: turn sympy arrays into vectorised numpy functions.

The metric, Christoffel symbols and curvature are derived symbolically once per family of
spaces (shape parameters stay symbols), then compiled with :func:`sympy.lambdify` (with common
sub-expression elimination) so that moving a slider never re-derives anything.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import sympy as sp

__all__ = ["ArrayFunction", "ScalarSystem", "simplify_light"]


def simplify_light(expr: sp.Expr, max_ops: int = 60) -> sp.Expr:
    """Simplify a small expression; leave a big one as it is.

    ``sympy.simplify`` can take minutes on a large expression (a user's formula can produce
    one), so only expressions with at most ``max_ops`` operations are simplified, with the
    cheaper ``trigsimp`` + ``cancel``.
    """
    if sp.count_ops(expr) > max_ops:
        return expr
    try:
        out = sp.trigsimp(sp.cancel(expr))
    except (sp.PolynomialError, RecursionError, TypeError):
        return expr
    return out if sp.count_ops(out) <= sp.count_ops(expr) else expr


class ArrayFunction:
    """A sympy array of expressions in ``coords`` compiled into a vectorised numpy function.

    Calling it with ``x`` of shape ``(..., d)`` and the parameter values returns an array of
    shape ``(..., *shape)``. Constant entries (e.g. an off-diagonal zero) are broadcast.
    """

    def __init__(
        self,
        exprs: sp.Array | sp.Matrix | Sequence,
        coords: Sequence[sp.Symbol],
        params: Sequence[sp.Symbol] = (),
    ):
        arr = sp.Array(exprs)
        self.shape: tuple[int, ...] = tuple(arr.shape)
        flat = list(arr.reshape(len(arr)).tolist()) if arr.shape else [arr[()]]
        self.dim = len(coords)
        self._fn = sp.lambdify((*coords, *params), flat, modules="numpy", cse=True)

    def __call__(self, x: np.ndarray, param_values: Sequence[float] = ()) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        if x.shape[-1] != self.dim:
            raise ValueError(f"expected points of shape (..., {self.dim}), got {x.shape}")
        cols = [x[..., i] for i in range(self.dim)]
        with np.errstate(all="ignore"):
            values = self._fn(*cols, *param_values)
        lead = x.shape[:-1]
        out = np.empty(lead + (len(values),), dtype=float)
        for i, val in enumerate(values):
            out[..., i] = val
        return out.reshape(lead + self.shape)


class ScalarSystem:
    """A first-order ODE system ``y' = f(y)`` compiled twice.

    * ``scalar(y, t)``: plain-float version (``math`` module) for one trajectory; this is the
      right-hand side handed to ``scipy.integrate.odeint``, whose Fortran loop calls back once
      per evaluation, so per-call overhead is what matters. Math-domain errors become NaN so
      that the integrator stops and the caller can report a singularity.
    * ``batch(Y)``: numpy version for ``Y`` of shape ``(n_state, m)``, used for a spray of many
      trajectories integrated as one system and by ``scipy.integrate.solve_bvp``.
    """

    def __init__(
        self,
        state: Sequence[sp.Symbol],
        rhs: Sequence[sp.Expr],
        params: Sequence[sp.Symbol] = (),
    ):
        self.n = len(state)
        rhs = list(rhs)
        self._math = sp.lambdify((*state, *params), rhs, modules="math", cse=True)
        self._numpy = sp.lambdify((*state, *params), rhs, modules="numpy", cse=True)
        self._nan = [math.nan] * self.n

    def scalar_rhs(self, param_values: Sequence[float]) -> Callable[[np.ndarray, float], list]:
        fn, pv, nan = self._math, tuple(float(p) for p in param_values), self._nan

        def rhs(y: np.ndarray, t: float) -> list:
            try:
                return fn(*y, *pv)
            except (ValueError, ZeroDivisionError, OverflowError):
                return nan

        return rhs

    def batch(self, Y: np.ndarray, param_values: Sequence[float]) -> np.ndarray:
        """Evaluate on ``Y`` of shape ``(n_state, ...)``; returns the same shape."""
        with np.errstate(all="ignore"):
            values = self._numpy(*Y, *param_values)
        out = np.empty(Y.shape, dtype=float)
        for i, val in enumerate(values):
            out[i] = val  # broadcasts a component that comes back as a scalar
        return out
