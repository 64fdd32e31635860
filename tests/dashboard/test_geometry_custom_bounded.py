"""A visitor's formulas are derived in a bounded worker: too-complex formulas are refused in
words within the limit, the refusal is cached, and the rest of the page keeps working."""

from __future__ import annotations

import time

import pytest

from dashboard.cached import geometry as cached
from tests.dashboard.conftest import problems

NESTED_TRIG = ("cos(sin(u)*cos(v))*(2+cos(sin(u+v)))", "sin(cos(u)*sin(v))*(2+sin(cos(u*v)))",
               "sin(sin(u)*cos(sin(v)))")


def _custom(at):
    at.radio(key="geo_kind").set_value("custom")
    at.run()
    return at


def _set_formulas(at, formulas):
    for axis, text in zip("xyz", formulas, strict=True):
        at.text_input(key=f"geo_custom_{axis}").set_value(text)
    at.run()


@pytest.mark.parametrize("formula", ["((u**12+v)**12+u)**12",
                                     "sin(sin(sin(sin(sin(sin(sin(u+v)))))))"])
def test_parser_limits_refuse_exploding_formulas_in_words(geometry_page, formula):
    at = _custom(geometry_page)
    start = time.perf_counter()
    at.text_input(key="geo_custom_z").set_value(formula)
    at.run()
    assert time.perf_counter() - start < 5.0
    assert not problems(at)
    messages = " ".join(e.value for e in at.error)
    assert "too complex" in messages or "nest" in messages, messages
    assert at.radio(key="geo_kind").value == "custom"


def test_derivation_past_its_time_limit_is_refused_once_then_cached(geometry_page,
                                                                      monkeypatch):
    monkeypatch.setattr(cached, "CUSTOM_TIMEOUT_S", 0.05)
    at = _custom(geometry_page)
    start = time.perf_counter()
    _set_formulas(at, NESTED_TRIG)
    first = time.perf_counter() - start
    assert not problems(at)
    messages = " ".join(e.value for e in at.error)
    assert "too complex to derive within" in messages, messages
    assert "Simplify" in messages
    assert first < 30.0
    # a rerun with the same formula answers from the cached refusal, without a new worker
    start = time.perf_counter()
    at.run()
    assert time.perf_counter() - start < 2.0
    assert "too complex to derive within" in " ".join(e.value for e in at.error)
    # the page stays usable: back to the catalog, everything renders
    at.radio(key="geo_kind").set_value("catalog")
    at.run()
    assert not problems(at)
    assert not at.error
