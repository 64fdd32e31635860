"""The safe formula parser: what it accepts, what it refuses, and that it never runs anything."""

from __future__ import annotations

import builtins
import math
import os
import re
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
import sympy.parsing.sympy_parser as sympy_parser

from geomcore.expr import FUNCTIONS, MAX_LENGTH, ExpressionError, parse_expression

ROOT = Path(__file__).resolve().parents[2]
U, V = sp.symbols("u v", real=True)


def _value(expr: sp.Expr, **values: float) -> float:
    subs = {sp.Symbol(k, real=True): val for k, val in values.items()}
    return float(expr.subs(subs).evalf(30))


# -- accepted formulas ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "point", "expected"),
    [
        ("(2 + cos(u)) * cos(v)", {"u": 0.3, "v": 1.1}, (2 + math.cos(0.3)) * math.cos(1.1)),
        ("u^2 + v^3", {"u": 1.5, "v": -0.5}, 1.5**2 + (-0.5) ** 3),
        ("u**2 - 3*u*v**2", {"u": 0.7, "v": 0.4}, 0.7**2 - 3 * 0.7 * 0.4**2),
        ("sqrt(u) + exp(-v)/2", {"u": 2.0, "v": 0.5}, math.sqrt(2.0) + math.exp(-0.5) / 2),
        ("pi * e", {}, math.pi * math.e),
        ("e^u", {"u": 0.25}, math.exp(0.25)),
        ("-u + +v", {"u": 2.0, "v": 5.0}, 3.0),
        ("1/(1 + u**2)", {"u": 3.0}, 0.1),
        ("0.1 + 0.2", {}, 0.3),
        ("2.5e-3 * u", {"u": 4.0}, 0.01),
        ("cosh(u/2)*sin(v) - tanh(u)", {"u": 0.8, "v": 0.2},
         math.cosh(0.4) * math.sin(0.2) - math.tanh(0.8)),
        ("log(u) + ln(v)", {"u": 2.0, "v": 3.0}, math.log(6.0)),
        ("abs(u - v)", {"u": 1.0, "v": 4.0}, 3.0),
        ("atan(u) + arctan(v)", {"u": 1.0, "v": 1.0}, math.pi / 2),
        ("asin(u) + arccos(u)", {"u": 0.3}, math.pi / 2),
        ("sec(u)**2 - tan(u)**2", {"u": 0.9}, 1.0),
        ("u**-2", {"u": 2.0}, 0.25),
        ("u**(1/2)", {"u": 9.0}, 3.0),
        ("(10**6)**2", {}, 1e12),
        ("2**0.5**2", {}, 2**0.25),  # right-associative, like Python
    ],
)
def test_accepted_formulas_evaluate_to_the_right_value(text, point, expected):
    expr = parse_expression(text)
    assert isinstance(expr, sp.Expr)
    assert _value(expr, **point) == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_caret_is_a_power_not_xor():
    assert parse_expression("u^3") == U**3


def test_parameters_become_real_symbols_and_evaluate():
    expr = parse_expression("R + r*cos(u)", params={"R": 2.0, "r": 0.5})
    names = {s.name for s in expr.free_symbols}
    assert names == {"R", "r", "u"}
    assert all(s.is_real for s in expr.free_symbols)
    assert _value(expr, R=2.0, r=0.5, u=0.0) == pytest.approx(2.5)
    # params may also be given as plain names
    assert parse_expression("a*u", params=["a"]).free_symbols == {sp.Symbol("a", real=True), U}


def test_other_variable_names():
    expr = parse_expression("mu**2 / sigma", variables=("mu", "sigma"))
    assert _value(expr, mu=3.0, sigma=2.0) == pytest.approx(4.5)
    with pytest.raises(ExpressionError, match="unknown name 'u'"):
        parse_expression("u", variables=("mu", "sigma"))


def test_decimal_literals_are_exact_rationals():
    assert parse_expression("0.1") == sp.Rational(1, 10)
    assert parse_expression("0.1 + 0.2") == sp.Rational(3, 10)


def test_every_listed_function_is_callable_from_text():
    for name in FUNCTIONS:
        arg = "2" if name in ("acosh",) else "1/3"
        expr = parse_expression(f"{name}({arg})")
        assert math.isfinite(float(expr.evalf())), name


@pytest.mark.parametrize("name", ["e", "pi", "sin", "sqrt", "1a", "a-b", "a b"])
def test_reserved_or_invalid_parameter_names_are_refused(name):
    with pytest.raises(ExpressionError, match=re.escape(repr(name))):
        parse_expression("1", params=[name])


# -- hostile input -------------------------------------------------------------------------------
HOSTILE = [
    "__import__('os').system('x')",
    "__import__",
    "__builtins__",
    "u.__class__",
    "u.__class__.__bases__[0].__subclasses__()",
    "().__class__",
    "u[0]",
    "(u, v)[0]",
    "lambda: 1",
    "(lambda x: x)(u)",
    "[x for x in (1, 2)]",
    "sum(x for x in (1, 2))",
    "{x for x in (1,)}",
    "'abc'",
    "b'abc'",
    "f'{u}'",
    "(x := 1)",
    "sin(x=u)",
    "sin(*u)",
    "sin(**u)",
    "sin(u, v)",
    "sin()",
    "foo(u)",
    "w + u",
    "exec",
    "eval",
    "open",
    "exec('1')",
    "eval('1')",
    "open('/etc/passwd')",
    "globals()",
    "getattr(u, 'real')",
    "9**9**9",
    "2**1000",
    "u**13",
    "u**-100",
    "u**v**2",
    "((999999**12)**12)**12",
    "((((((999999*u)**12)**12)**12)**12)**12)**12",
    "u**exp(exp(exp(100)))",
    "u**sin(exp(exp(100)))",
    "1e400",
    "123456789012345678901234567890",
    "9" * 1000,
    "u + " * 100 + "u",
    "sin(" * 40 + "u" + ")" * 40,
    "(" * 40 + "u" + "+1)" * 40,
    "-" * 40 + "u",
    "u ü",
    "sin(\u00fc)",
    "u\u00b2",
    "\uff55",
    "u\x00",
    "u < v",
    "u == v",
    "u and v",
    "not u",
    "u if v else 1",
    "[u, v]",
    "{u: v}",
    "{u}",
    "u @ v",
    "u // v",
    "u % v",
    "u << 2",
    "~u",
    "u | v",
    "True",
    "None",
    "...",
    "1j",
    "1/0",
    "0**-1",
    "sqrt(-1)",
    "(-1)**0.5",
    "log(-1)",
    "",
    "   ",
    "u +",
    "yield u",
    "await u",
    "import os",
    "u; import os",
    "u\nimport os",
    "__class__",
    "_",
    "sin",
]


def test_there_are_many_hostile_inputs():
    assert len(HOSTILE) >= 25
    assert len(set(HOSTILE)) == len(HOSTILE)


@pytest.fixture
def tripwires(monkeypatch):
    """Replace everything a successful attack would have to call by a recorder."""
    calls: list[tuple[str, tuple]] = []
    real_import = builtins.__import__
    forbidden_modules = {"os", "subprocess", "sys", "shutil", "socket", "posix", "builtins",
                         "importlib", "ctypes", "pty"}

    def recorder(name):
        def record(*args, **kwargs):
            calls.append((name, args))
            raise RuntimeError(f"tripwire {name}")

        return record

    def guarded_import(name, *args, **kwargs):
        if name.split(".")[0] in forbidden_modules:
            calls.append(("__import__", (name,)))
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", guarded_import)
    # (not compile: ast.parse calls it, with PyCF_ONLY_AST, which builds a tree and runs nothing)
    for name in ("eval", "exec", "open", "globals", "vars", "breakpoint", "input"):
        monkeypatch.setattr(builtins, name, recorder(name))
    monkeypatch.setattr(os, "system", recorder("os.system"))
    monkeypatch.setattr(os, "popen", recorder("os.popen"))
    monkeypatch.setattr(subprocess, "Popen", recorder("subprocess.Popen"))
    monkeypatch.setattr(sympy_parser, "parse_expr", recorder("parse_expr"))
    monkeypatch.setattr(sp, "sympify", recorder("sympy.sympify"))
    return calls


def test_tripwires_do_fire(tripwires):
    """The fixture must be able to catch a call, or the tests below would prove nothing."""
    with pytest.raises(RuntimeError, match="tripwire"):
        os.system("true")
    with pytest.raises(RuntimeError, match="tripwire"):
        sp.sympify("u + 1")
    with pytest.raises(RuntimeError, match="tripwire"):
        builtins.eval("1")  # noqa: S307 (the patched recorder, which refuses to run it)
    assert [name for name, _ in tripwires] == ["os.system", "sympy.sympify", "eval"]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_input_is_refused_quickly_without_running_anything(text, tripwires):
    parse_expression("sin(u) + v**2")  # warm up the lazily imported parts of sympy/numpy
    start = time.perf_counter()
    with pytest.raises(ExpressionError) as info:
        parse_expression(text)
    elapsed = time.perf_counter() - start
    assert str(info.value), "the message must say what is wrong"
    assert tripwires == []
    assert elapsed < 0.05, f"refusing {text[:40]!r} took {elapsed * 1e3:.1f} ms"


def test_refusals_are_value_errors_with_a_location():
    with pytest.raises(ValueError, match=r"attribute access is not allowed at column 5"):
        parse_expression("1 + u.real")
    with pytest.raises(ExpressionError, match=r"unknown function 'foo' at column 5"):
        parse_expression("1 + foo(u)")
    with pytest.raises(ExpressionError, match=r"unknown name 'w'.*u, v"):
        parse_expression("w")
    with pytest.raises(ExpressionError, match=str(MAX_LENGTH)):
        parse_expression("u+" * 200 + "u")
    with pytest.raises(ExpressionError, match="must be text"):
        parse_expression(42)  # type: ignore[arg-type]


def test_bounded_exponents_at_the_limit():
    assert parse_expression("u**12") == U**12
    assert parse_expression("u**-12") == U**-12
    with pytest.raises(ExpressionError, match="exponent"):
        parse_expression("u**12.5")


def test_parsed_surface_formula_compiles_to_numbers():
    expr = parse_expression("(R + r*cos(u))*cos(v)", params={"R": 2.0, "r": 0.5})
    fn = sp.lambdify(sorted(expr.free_symbols, key=lambda s: s.name), expr, "numpy")
    # sorted names: R, r, u, v
    got = fn(2.0, 0.5, np.array([0.0, np.pi]), np.array([0.0, 0.0]))
    assert np.allclose(got, [2.5, 1.5])


# -- no dynamic evaluation anywhere in the code --------------------------------------------------
DYNAMIC = re.compile(r"(^|[^.\w])(eval|exec)\(|sympify\(|parse_expr\(")


def test_the_source_scan_pattern_catches_what_it_should():
    for bad in ("x = eval(text)", "exec(code)", "sp.sympify(text)", "parse_expr(t)"):
        assert DYNAMIC.search(bad), bad
    for fine in ("model.eval()", "torch.no_grad()", "node.exec_count", "evaluate(x)"):
        assert not DYNAMIC.search(fine), fine


def test_no_eval_exec_sympify_or_parse_expr_in_the_sources():
    files = sorted((ROOT / "geomcore").rglob("*.py")) + sorted((ROOT / "dashboard").rglob("*.py"))
    assert any(f.name == "expr.py" for f in files)
    offenders = []
    for path in files:
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if DYNAMIC.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{lineno}: {line.strip()}")
    assert offenders == []
