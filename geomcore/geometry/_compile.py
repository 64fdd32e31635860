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

__all__ = [
    "CSE",
    "ArrayFunction",
    "ScalarSystem",
    "common_subexpressions",
    "cse_size",
    "degree_bound",
    "flatten",
    "simplify_light",
]


_TRIG = (sp.sin, sp.cos, sp.tan, sp.cot, sp.sec, sp.csc,
         sp.sinh, sp.cosh, sp.tanh, sp.coth, sp.sech, sp.csch)

MAX_CANCEL_DEGREE = 24
"""Largest degree bound (:func:`degree_bound`) at which :func:`simplify_light` cancels."""


def simplify_light(expr: sp.Expr, max_ops: int = 60) -> sp.Expr:
    """Simplify a small expression with bounded effort; leave anything else as it is.

    ``sympy.simplify`` can take minutes, and so can its parts on the wrong input: ``cancel``
    expands numerator and denominator into polynomials (``((u**12 + v)**12 + u)**12`` has
    degree 1728, so thousands of terms and gigabytes), and ``trigsimp`` on nested trigonometric
    compositions (``cos(sin(u) + cos(v))``) searches for minutes. So, for an expression with at
    most ``max_ops`` operations,

    * ``cancel`` runs only when :func:`degree_bound` is at most :data:`MAX_CANCEL_DEGREE`;
    * ``trigsimp`` runs only when the expression has trigonometric or hyperbolic functions and
      none of their arguments contains a function or a root (``sin(u)**2 + cos(u)**2``, not
      ``sin(sin(u))``).

    The result is kept only if it has no more operations than ``expr``.
    """
    if not isinstance(expr, sp.Basic) or not expr.args:
        return expr
    ops = sp.count_ops(expr)
    if ops > max_ops:
        return expr
    out = expr
    try:
        if degree_bound(out) <= MAX_CANCEL_DEGREE:
            out = sp.cancel(out)
        if _plain_trig(out):
            out = sp.trigsimp(out)
    except (sp.PolynomialError, RecursionError, TypeError):
        return expr
    return out if sp.count_ops(out) <= ops else expr


def degree_bound(expr: sp.Expr) -> float:
    """An upper bound on the degree of ``expr`` as a rational function, without expanding it.

    Symbols, functions and roots count as degree-1 generators; a sum takes the largest degree
    of its terms, a product adds them, an integer power multiplies by its exponent's size.
    """
    if expr.is_Number or not expr.free_symbols:
        return 0.0
    if expr.is_Symbol or not expr.args:
        return 1.0
    if expr.is_Add:
        return max(degree_bound(a) for a in expr.args)
    if expr.is_Mul:
        return float(sum(degree_bound(a) for a in expr.args))
    if expr.is_Pow and expr.exp.is_Integer:
        return abs(int(expr.exp)) * degree_bound(expr.base)
    if expr.is_Pow and expr.exp.is_Rational:
        # a generator base**(1/q) raised to p: degree |p| in it
        return float(abs(int(expr.exp.p)))
    return 1.0


def _plain_trig(expr: sp.Expr) -> bool:
    """True if ``expr`` has trigonometric/hyperbolic functions of function-free arguments."""
    calls = [f for f in expr.atoms(sp.Function) if isinstance(f, _TRIG)]
    if not calls:
        return False
    for call in calls:
        arg = call.args[0]
        if arg.atoms(sp.Function) or any(
            p.is_Pow and not p.exp.is_Integer for p in sp.preorder_traversal(arg)
        ):
            return False
    return True


CSE = tuple[list[tuple[sp.Symbol, sp.Expr]], list[sp.Expr]]
"""Common sub-expressions of a list of expressions: (replacements, reduced expressions)."""


def flatten(exprs: sp.Array | sp.Matrix | Sequence) -> list[sp.Expr]:
    """The entries of an array of expressions, row-major (as :class:`ArrayFunction` compiles
    them)."""
    arr = sp.Array(exprs)
    return list(arr.reshape(len(arr)).tolist()) if arr.shape else [arr[()]]


def common_subexpressions(exprs: Sequence[sp.Expr]) -> CSE:
    """``sympy.cse`` of ``exprs``: what ``lambdify(..., cse=True)`` would compute.

    Computing it beforehand (in a bounded worker) and handing it to :class:`ArrayFunction` or
    :class:`ScalarSystem` leaves ``lambdify`` only the printing, which is linear in the size of
    the result. (A derived expression is a shared tree: counted as a tree it can have a
    hundred times more nodes than it has distinct sub-expressions, and ``cse`` has to walk it.)
    """
    replacements, reduced = sp.cse(list(exprs), symbols=sp.numbered_symbols("_cse"))
    return list(replacements), list(reduced)


def cse_size(plan: CSE) -> int:
    """Operations left to compile after common sub-expression elimination."""
    replacements, reduced = plan
    return int(sum(sp.count_ops(e) for _, e in replacements)
               + sum(sp.count_ops(e) for e in reduced))


def _lambdify(args: Sequence[sp.Symbol], exprs: list[sp.Expr], module: str,
              plan: CSE | None) -> Callable[..., list]:
    """``lambdify(args, exprs, module, cse=True)``, or with the precomputed ``plan``.

    With a plan, ``lambdify`` is handed the reduced expressions (small trees) and told not to
    look for implemented functions, a walk of the whole, unshared, tree otherwise.
    """
    if plan is None:
        return sp.lambdify(args, exprs, modules=module, cse=True)
    replacements, reduced = plan
    if len(reduced) != len(exprs):
        raise ValueError(f"the precomputed sub-expressions are for {len(reduced)} expressions, "
                         f"not {len(exprs)}")
    return sp.lambdify(args, list(reduced), modules=module, use_imps=False,
                       cse=lambda _exprs: (replacements, list(reduced)))


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
        *,
        cse: CSE | None = None,
    ):
        arr = sp.Array(exprs)
        self.shape: tuple[int, ...] = tuple(arr.shape)
        flat = flatten(arr)
        self.dim = len(coords)
        self._fn = _lambdify((*coords, *params), flat, "numpy", cse)

    def __call__(self, x: np.ndarray, param_values: Sequence[float] = ()) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        if x.shape[-1] != self.dim:
            raise ValueError(f"expected points of shape (..., {self.dim}), got {x.shape}")
        cols = [x[..., i] for i in range(self.dim)]
        # numpy scalars, not Python floats: a term in the parameters alone (r**4 for r = 1e80)
        # then overflows to inf like any array entry instead of raising OverflowError.
        pv = [np.float64(p) for p in param_values]
        with np.errstate(all="ignore"):
            values = self._fn(*cols, *pv)
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
        *,
        cse: CSE | None = None,
    ):
        self.n = len(state)
        rhs = list(rhs)
        if cse is None:  # once for both compilations
            cse = common_subexpressions(rhs)
        self._math = _lambdify((*state, *params), rhs, "math", cse)
        self._numpy = _lambdify((*state, *params), rhs, "numpy", cse)
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
        pv = [np.float64(p) for p in param_values]  # overflow to inf, not OverflowError
        with np.errstate(all="ignore"):
            values = self._numpy(*Y, *pv)
        out = np.empty(Y.shape, dtype=float)
        for i, val in enumerate(values):
            out[i] = val  # broadcasts a component that comes back as a scalar
        return out
