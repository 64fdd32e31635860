"""Safe parsing of user formulas into sympy expressions.

User text never reaches ``eval``, ``exec``, ``sympify`` or ``parse_expr``. The text is parsed
by Python's :mod:`ast` (which only builds a tree and executes nothing), every node is checked
against a whitelist, and the sympy expression is assembled node by node from that tree.

Accepted: numbers, the named variables and parameters, the constants ``pi`` and ``e``, the
operators ``+ - * / **`` (exponents bounded), unary ``+``/``-``, parentheses and calls of the
elementary functions in :data:`FUNCTIONS`. Everything else (attribute access, subscripts,
lambdas, comprehensions, strings, comparisons, keyword arguments, unknown names, overlong
input, absurd exponents) is rejected with an :class:`ExpressionError` that says what and where.

What the limits bound, and what they do not
-------------------------------------------
The limits on length, syntax-tree nodes, nesting, exponents (each one, and their product along
a chain of nested powers) and function-nesting depth bound the size of the *parsed* expression
and keep parsing itself fast. They do **not** bound the symbolic work that follows: derivatives
of a short formula can still be large (each differentiation may multiply the size of a nested
composition), and simplifying them can be slower still. Callers that derive from user formulas
must bound that work themselves; :func:`geomcore.geometry.surfaces.from_expressions_bounded`
does it in a separate process with a time and a memory limit and raises
:class:`FormulaTooComplex` past them.

The parsed expression is later compiled with :func:`sympy.lambdify`, which generates Python
source code from the expression tree and executes it. That code is generated only from the
whitelisted tree built here (numbers, the declared symbols and the functions of
:data:`FUNCTIONS`), never from the user's text, so it can call nothing else.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Mapping
from fractions import Fraction

import numpy as np
import sympy as sp

__all__ = [
    "ExpressionError",
    "FormulaTooComplex",
    "FUNCTIONS",
    "CONSTANTS",
    "MAX_LENGTH",
    "MAX_NODES",
    "MAX_EXPONENT",
    "MAX_EXPONENT_PRODUCT",
    "MAX_FUNCTION_DEPTH",
    "parse_expression",
]

MAX_LENGTH = 300
"""Longest accepted formula, in characters."""
MAX_NODES = 200
"""Most syntax-tree nodes in one formula.

This bounds the size of the parsed expression, not the symbolic work that follows (see the
module docstring)."""
MAX_EXPONENT = 12
"""Largest absolute value of a constant exponent."""
MAX_EXPONENT_PRODUCT = 144
"""Largest product of the constant exponents along a chain of nested powers.

``((u**12 + v)**12 + u)**12`` has the product 1728: a polynomial of that degree, which any
attempt to expand or cancel turns into thousands of terms. Each single exponent is bounded by
:data:`MAX_EXPONENT`; this bounds their nesting."""
MAX_FUNCTION_DEPTH = 6
"""Deepest nesting of functions (``sin(sin(u))`` has depth 2); a root or a power with a
non-integer or variable exponent counts as a function.

Every derivative of ``f(g(h(u)))`` multiplies out by the chain rule; the geodesic equations
need three derivatives of the immersion, so the size grows quickly with this depth."""
MAX_LITERAL = 1e6
"""Largest absolute value of a numeric literal."""
MAX_DEPTH = 30
"""Deepest nesting of operations."""
MAX_BITS = 1100
"""Largest exact number a power may create, in bits (2**1024 is already beyond float64).

Each power's exponent is bounded by :data:`MAX_EXPONENT`, but nesting them, as in
``((999999**12)**12)**12...``, would make sympy build integers with millions of digits."""

FUNCTIONS: dict[str, Callable[..., sp.Expr]] = {
    "sin": sp.sin,
    "cos": sp.cos,
    "tan": sp.tan,
    "cot": sp.cot,
    "sec": sp.sec,
    "csc": sp.csc,
    "asin": sp.asin,
    "acos": sp.acos,
    "atan": sp.atan,
    "arcsin": sp.asin,
    "arccos": sp.acos,
    "arctan": sp.atan,
    "sinh": sp.sinh,
    "cosh": sp.cosh,
    "tanh": sp.tanh,
    "sech": sp.sech,
    "csch": sp.csch,
    "coth": sp.coth,
    "asinh": sp.asinh,
    "acosh": sp.acosh,
    "atanh": sp.atanh,
    "exp": sp.exp,
    "log": sp.log,
    "ln": sp.log,
    "sqrt": sp.sqrt,
    "abs": sp.Abs,
}
"""Elementary functions a formula may call, each with one argument."""

CONSTANTS: dict[str, sp.Expr] = {"pi": sp.pi, "e": sp.E}

_BINARY = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
}


class ExpressionError(ValueError):
    """A formula was rejected. The message says what is wrong and where."""


class FormulaTooComplex(ExpressionError):
    """A formula is valid but too complex to derive from within the limits.

    Raised by the parser for nesting beyond :data:`MAX_EXPONENT_PRODUCT` or
    :data:`MAX_FUNCTION_DEPTH`, and by bounded derivations (e.g.
    :func:`geomcore.geometry.surfaces.from_expressions_bounded`) that run past their time or
    memory limit. A subclass of :class:`ExpressionError`, so ``except ExpressionError`` catches
    it; the message says how to simplify the formula.
    """


def _where(node: ast.AST) -> str:
    col = getattr(node, "col_offset", None)
    return f" at column {col + 1}" if col is not None else ""


def _reserved(names: Iterable[str]) -> None:
    for name in names:
        if not name.isidentifier():
            raise ExpressionError(f"{name!r} is not a valid variable or parameter name")
        if name in FUNCTIONS or name in CONSTANTS:
            raise ExpressionError(f"{name!r} is reserved (a function or constant name)")


class _Builder:
    """Turns a whitelisted ``ast`` tree into a sympy expression (never executes it)."""

    def __init__(self, symbols: Mapping[str, sp.Symbol]):
        self.symbols = symbols

    def build(self, node: ast.AST, depth: int = 0) -> sp.Expr:
        if depth > MAX_DEPTH:
            raise ExpressionError(f"formula is nested too deeply (more than {MAX_DEPTH} levels)")
        if isinstance(node, ast.Constant):
            return self._number(node)
        if isinstance(node, ast.Name):
            return self._name(node)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            operand = self.build(node.operand, depth + 1)
            return -operand if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            left = self.build(node.left, depth + 1)
            right = self.build(node.right, depth + 1)
            return _BINARY[type(node.op)](left, right)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            return self._power(node, depth)
        if isinstance(node, ast.Call):
            return self._call(node, depth)
        if isinstance(node, ast.BinOp):
            op = type(node.op).__name__
            raise ExpressionError(f"operator {op} is not allowed{_where(node)}; use + - * / **")
        raise ExpressionError(f"{_describe(node)} is not allowed{_where(node)}")

    def _number(self, node: ast.Constant) -> sp.Expr:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ExpressionError(f"{_describe(node)} is not allowed{_where(node)}")
        if abs(value) > MAX_LITERAL:
            raise ExpressionError(
                f"number {value:g}{_where(node)} is too large (at most {MAX_LITERAL:g})"
            )
        if isinstance(value, int):
            return sp.Integer(value)
        # repr gives the shortest decimal that round-trips, so 0.1 becomes exactly 1/10.
        frac = Fraction(repr(value))
        return sp.Rational(frac.numerator, frac.denominator)

    def _name(self, node: ast.Name) -> sp.Expr:
        if node.id in self.symbols:
            return self.symbols[node.id]
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        if node.id in FUNCTIONS:
            raise ExpressionError(f"function {node.id!r}{_where(node)} needs an argument")
        allowed = ", ".join(sorted(self.symbols)) or "none"
        raise ExpressionError(
            f"unknown name {node.id!r}{_where(node)}; variables and parameters here: {allowed}"
        )

    def _power(self, node: ast.BinOp, depth: int) -> sp.Expr:
        base = self.build(node.left, depth + 1)
        exponent = self.build(node.right, depth + 1)
        if exponent.is_number:
            value = _double(exponent)
            if not abs(value) <= MAX_EXPONENT:  # also rejects NaN (complex or undefined)
                raise ExpressionError(
                    f"exponent{_where(node.right)} must be a real number of size at most "
                    f"{MAX_EXPONENT}"
                )
            bits = max((_bits(a) for a in base.atoms(sp.Rational)), default=0)
            if bits * abs(value) > MAX_BITS:
                raise ExpressionError(
                    f"the power{_where(node)} makes a number too large to compute with"
                )
        elif _contains_power(node.right):
            raise ExpressionError(f"nested powers in an exponent are not allowed{_where(node)}")
        result = base**exponent
        product = _exponent_product(result)
        if product > MAX_EXPONENT_PRODUCT:
            raise FormulaTooComplex(
                f"the powers nested{_where(node)} multiply their exponents to {product:g} (at "
                f"most {MAX_EXPONENT_PRODUCT}); use lower exponents or fewer nested powers, "
                "e.g. (u**2 + v)**3 rather than ((u**12 + v)**12 + u)**12"
            )
        _check_function_depth(result, node)
        return result

    def _call(self, node: ast.Call, depth: int) -> sp.Expr:
        if not isinstance(node.func, ast.Name):
            raise ExpressionError(f"only plain function names may be called{_where(node)}")
        name = node.func.id
        if name not in FUNCTIONS:
            known = ", ".join(sorted(FUNCTIONS))
            raise ExpressionError(f"unknown function {name!r}{_where(node)}; known: {known}")
        if node.keywords or len(node.args) != 1 or isinstance(node.args[0], ast.Starred):
            raise ExpressionError(f"{name}(...){_where(node)} takes exactly one argument")
        result = FUNCTIONS[name](self.build(node.args[0], depth + 1))
        _check_function_depth(result, node)
        return result


def _exponent_product(expr: sp.Expr) -> float:
    """The largest product of constant exponents along a chain of nested powers in ``expr``.

    ``((u**12 + v)**12 + u)**12`` gives 1728; a root counts as 1 (it does not raise a degree).
    """
    if expr.is_Pow and expr.exp.is_number:
        return max(1.0, abs(_double(expr.exp))) * _exponent_product(expr.base)
    return max((_exponent_product(a) for a in expr.args), default=1.0)


def _function_depth(expr: sp.Expr) -> int:
    """How deeply functions nest in ``expr``; a non-integer or variable power counts as one."""
    if not expr.args:
        return 0
    inner = max(_function_depth(a) for a in expr.args)
    if isinstance(expr, sp.Function) or (expr.is_Pow and not expr.exp.is_Integer):
        return inner + 1
    return inner


def _check_function_depth(expr: sp.Expr, node: ast.AST) -> None:
    depth = _function_depth(expr)
    if depth > MAX_FUNCTION_DEPTH:
        raise FormulaTooComplex(
            f"functions are nested {depth} deep{_where(node)} (at most {MAX_FUNCTION_DEPTH}; "
            "roots and powers with a non-integer or variable exponent count as functions); "
            "nest fewer, e.g. sin(sin(u)) rather than sin(sin(sin(sin(sin(sin(sin(u)))))))"
        )


def _double(expr: sp.Expr) -> float:
    """Value of a constant expression in double precision (NaN if not real or not known).

    ``expr.evalf()`` works in arbitrary precision and can run for minutes on a short formula
    such as ``exp(exp(exp(100)))`` or ``sin(exp(exp(100)))``; float64 overflows to inf or NaN
    at once. The tree is walked here rather than compiled, so that nothing is executed.
    """
    with np.errstate(all="ignore"):
        value = _double_of(expr)
    return float(value)


def _double_of(expr: sp.Expr) -> np.float64:
    if expr.is_Rational:
        try:
            return np.float64(int(expr.p) / int(expr.q))
        except OverflowError:
            return np.float64(np.inf if expr.p > 0 else -np.inf)
    if expr is sp.pi:
        return np.float64(np.pi)
    if expr is sp.E:
        return np.float64(np.e)
    if expr.is_Add:
        return np.float64(np.sum([_double_of(a) for a in expr.args]))
    if expr.is_Mul:
        return np.float64(np.prod([_double_of(a) for a in expr.args]))
    if expr.is_Pow:
        return np.power(_double_of(expr.base), _double_of(expr.exp))
    fn = _NUMERIC.get(expr.func)
    if fn is not None and len(expr.args) == 1:
        return np.float64(fn(_double_of(expr.args[0])))
    return np.float64(np.nan)  # the imaginary unit, infinities, anything unexpected


_NUMERIC: dict[type, Callable[[np.float64], np.float64]] = {
    sp.sin: np.sin,
    sp.cos: np.cos,
    sp.tan: np.tan,
    sp.cot: lambda x: 1.0 / np.tan(x),
    sp.sec: lambda x: 1.0 / np.cos(x),
    sp.csc: lambda x: 1.0 / np.sin(x),
    sp.asin: np.arcsin,
    sp.acos: np.arccos,
    sp.atan: np.arctan,
    sp.sinh: np.sinh,
    sp.cosh: np.cosh,
    sp.tanh: np.tanh,
    sp.sech: lambda x: 1.0 / np.cosh(x),
    sp.csch: lambda x: 1.0 / np.sinh(x),
    sp.coth: lambda x: 1.0 / np.tanh(x),
    sp.asinh: np.arcsinh,
    sp.acosh: np.arccosh,
    sp.atanh: np.arctanh,
    sp.exp: np.exp,
    sp.log: np.log,
    sp.Abs: np.abs,
}


def _bits(number: sp.Rational) -> int:
    return max(abs(int(number.p)).bit_length(), int(number.q).bit_length())


def _contains_power(node: ast.AST) -> bool:
    return any(
        isinstance(n, ast.BinOp) and isinstance(n.op, ast.Pow) for n in ast.walk(node)
    )


def _describe(node: ast.AST) -> str:
    kinds = {
        ast.Attribute: "attribute access",
        ast.Subscript: "indexing",
        ast.Lambda: "lambda",
        ast.ListComp: "a comprehension",
        ast.GeneratorExp: "a generator",
        ast.Compare: "a comparison",
        ast.BoolOp: "a boolean operation",
        ast.IfExp: "a conditional expression",
        ast.NamedExpr: "an assignment",
        ast.JoinedStr: "an f-string",
        ast.Tuple: "a tuple",
        ast.List: "a list",
        ast.Dict: "a dict",
        ast.Set: "a set",
        ast.Starred: "unpacking",
    }
    if isinstance(node, ast.Constant):
        return f"constant {node.value!r:.20}"
    return kinds.get(type(node), f"syntax {type(node).__name__}")


def parse_expression(
    text: str,
    variables: Iterable[str] = ("u", "v"),
    params: Mapping[str, float] | Iterable[str] | None = None,
) -> sp.Expr:
    """Parse a formula such as ``"(2 + cos(u)) * cos(v)"`` into a sympy expression.

    Parameters
    ----------
    text
        The formula, in Python syntax (``**`` for powers; ``^`` is accepted as a power too).
    variables
        Names that become real sympy symbols (``sympy.Symbol(name, real=True)``).
    params
        Extra names that become real symbols as well (a mapping's keys, or names). Their values
        are substituted by the caller; the parser only needs the names.

    Returns
    -------
    sympy.Expr
        The expression, built from the whitelisted syntax tree.

    Raises
    ------
    ExpressionError
        If the text is empty, too long, not valid syntax, or uses anything outside the whitelist.
    """
    if not isinstance(text, str):
        raise ExpressionError(f"a formula must be text, got {type(text).__name__}")
    stripped = text.strip()
    if not stripped:
        raise ExpressionError("the formula is empty")
    if len(stripped) > MAX_LENGTH:
        raise ExpressionError(
            f"the formula has {len(stripped)} characters; at most {MAX_LENGTH} are allowed"
        )
    if not stripped.isascii() or not stripped.isprintable():
        raise ExpressionError("the formula may only use printable ASCII characters")
    variables = tuple(variables)
    param_names = tuple(params or ())
    _reserved(variables + param_names)
    # '^' is what most people type for a power; Python would read it as xor.
    source = stripped.replace("^", "**")
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        col = f" at column {exc.offset}" if exc.offset else ""
        raise ExpressionError(f"not a valid formula{col}: {exc.msg}") from None
    except (ValueError, RecursionError, MemoryError):
        raise ExpressionError("not a valid formula") from None
    n_nodes = sum(1 for _ in ast.walk(tree))
    if n_nodes > MAX_NODES:
        raise ExpressionError(f"the formula is too complex ({n_nodes} parts; at most {MAX_NODES})")
    symbols = {name: sp.Symbol(name, real=True) for name in variables + param_names}
    try:
        expr = _Builder(symbols).build(tree.body)
    except (ZeroDivisionError, OverflowError):
        raise ExpressionError("the formula divides by zero or overflows") from None
    if expr.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        raise ExpressionError("the formula is infinite or undefined everywhere (e.g. 1/0)")
    if expr.has(sp.I):
        # numpy would drop the imaginary part when the surface is evaluated, silently.
        raise ExpressionError("the formula takes complex values (e.g. sqrt(-1)); use real ones")
    return expr
