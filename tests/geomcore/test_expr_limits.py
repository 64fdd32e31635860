"""Parser limits that bound the size of what a formula can make: nested exponents and nested
functions (issue 6 §1)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import sympy as sp

import geomcore
from geomcore import expr as gexpr
from geomcore.expr import (
    MAX_EXPONENT_PRODUCT,
    MAX_FUNCTION_DEPTH,
    ExpressionError,
    FormulaTooComplex,
    parse_expression,
)

U, V = sp.symbols("u v", real=True)


def test_formula_too_complex_is_an_expression_error_exported_everywhere():
    import geomcore.geometry as geometry

    assert issubclass(FormulaTooComplex, ExpressionError)
    assert geomcore.FormulaTooComplex is FormulaTooComplex
    assert geometry.FormulaTooComplex is FormulaTooComplex
    assert "FormulaTooComplex" in gexpr.__all__


@pytest.mark.parametrize(("text", "product"), [
    ("((u**12+v)**12+u)**12", 1728),
    ("((u**3 + v)**4 + u)**3 * ((v**12 + 1)**12 + u)**2", 288),
    ("(u**12)**12 * v**2 + ((v**2)**2)**2", None),  # 144 and 8: at the limit, accepted
    ("1/((1 + u**2)**6 + v)**12", 144),
])
def test_nested_exponents_multiply_up_to_a_limit(text, product):
    if product is None or product <= MAX_EXPONENT_PRODUCT:
        parse_expression(text)
        return
    parse_expression("sin(u) + (v**2 + 1)**3")  # warm up sympy's lazily imported parts
    start = time.perf_counter()
    with pytest.raises(FormulaTooComplex) as info:
        parse_expression(text)
    assert time.perf_counter() - start < 0.05
    message = str(info.value)
    assert f"multiply their exponents to {product}" in message
    assert f"at most {MAX_EXPONENT_PRODUCT}" in message
    assert "at column" in message


def test_the_exponent_product_is_checked_on_the_built_expression():
    # sympy folds (u**12)**12 into u**144; the product is seen either way
    assert parse_expression("(u**12)**12") == U**144
    with pytest.raises(FormulaTooComplex, match="1728"):
        parse_expression("((u**12)**12)**12")


@pytest.mark.parametrize(("text", "depth"), [
    ("sin(sin(sin(sin(sin(sin(u))))))", 6),
    ("sin(sin(sin(sin(sin(sin(sin(u)))))))", 7),
    ("sqrt(1+sqrt(1+sqrt(1+sqrt(1+sqrt(1+sqrt(1+sqrt(1+u)))))))", 7),
    ("(1+(1+(1+(1+(1+(1+(1+u)**0.5)**0.5)**0.5)**0.5)**0.5)**0.5)**0.5", 7),
    ("exp(cos(sin(tan(log(1+u**v)))))", 6),
    ("exp(cos(sin(tan(log(1+u**sqrt(v))))))", 7),
])
def test_function_nesting_is_limited(text, depth):
    if depth <= MAX_FUNCTION_DEPTH:
        parse_expression(text)
        return
    with pytest.raises(FormulaTooComplex) as info:
        parse_expression(text)
    assert f"nested {depth} deep" in str(info.value)
    assert f"at most {MAX_FUNCTION_DEPTH}" in str(info.value)


def test_the_docstrings_do_not_claim_the_node_limit_bounds_the_symbolic_work():
    source = Path(gexpr.__file__).read_text(encoding="utf-8")
    assert "bounds the symbolic work" not in source
    assert "do **not** bound the symbolic work" in gexpr.__doc__
    assert "lambdify" in gexpr.__doc__ and "executes it" in gexpr.__doc__
