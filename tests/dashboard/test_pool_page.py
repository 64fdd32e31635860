"""Pages computing their heavy results in the worker pool (as a served app does) show the same
pictures as when they compute on the script thread."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import numpy as np
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard.cached.common import worker_pool
from tests.dashboard.conftest import errors, problems, run_page

_DURATION = re.compile(r"\d+(\.\d+)?\s*(s|ms)\b")


def _figures(at) -> list[Any]:
    """The page's Plotly figures as plain data, except those drawn against wall-clock time
    (which differs from run to run)."""
    specs = [chart.proto.spec for chart in at.get("plotly_chart")]
    return [json.loads(spec) for spec in specs if "} s:" not in spec]


def _same(a: Any, b: Any, where: str = "") -> None:
    """Equal up to the last bits of floating point (the worker runs BLAS on one thread) and up
    to the durations quoted in titles."""
    if isinstance(a, dict) and "bdata" in a:
        x = np.frombuffer(base64.b64decode(a["bdata"]), dtype=a["dtype"])
        y = np.frombuffer(base64.b64decode(b["bdata"]), dtype=b["dtype"])
        np.testing.assert_allclose(y, x, rtol=1e-9, atol=1e-11, err_msg=where)
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), where
        for k in a:
            _same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{where}[{i}]")
    elif isinstance(a, float):
        assert b == pytest.approx(a, rel=1e-9, abs=1e-11), where
    elif isinstance(a, str):
        assert _DURATION.sub("…", b) == _DURATION.sub("…", a), where
    else:
        assert a == b, where


@pytest.mark.parametrize("page", ["optim", "embedding", "curvature", "latent"])
def test_page_from_the_pool_equals_page_inline(page, monkeypatch):
    st.cache_data.clear()
    st.cache_resource.clear()
    inline = run_page(page)
    assert not problems(inline)
    st.cache_data.clear()
    st.cache_resource.clear()
    monkeypatch.setenv("DIFFGEO_WORKERS", "1")
    pool = worker_pool()
    assert pool is not None and pool.workers == 1
    try:
        pooled = run_page(page)
        assert not problems(pooled)
        assert pool.worker_pids(), "nothing was computed in a worker"
    finally:
        pool.shutdown()
        st.cache_resource.clear()
    expected = _figures(inline)
    assert expected, "no figure to compare"
    _same(expected, _figures(pooled))


def test_pool_failures_are_shown_in_words_and_the_page_goes_on():
    def page() -> None:
        import streamlit as st

        from dashboard.jobs import JobLimitExceeded, WorkerLost
        from dashboard.widgets import guarded

        with guarded("the training"):
            raise WorkerLost("the worker process computing this stopped without an answer")
        with guarded("the sweep"):
            raise JobLimitExceeded("time", "it ran past its limit of 120 s of computing")
        st.write("the rest of the page")

    at = AppTest.from_function(page).run()
    assert not problems(at)
    assert errors(at) == [
        "Could not compute the training: the worker process computing this stopped without "
        "an answer",
        "Could not compute the sweep: it ran past its limit of 120 s of computing"]
    assert at.markdown[0].value == "the rest of the page"


def test_spray_from_the_pool_equals_spray_inline(monkeypatch):
    from dashboard.cached import geometry as cached

    cfg = cached.SpaceConfig("catalog", "ellipsoid")
    st.cache_data.clear()
    inline, inline_circles = cached.spray_for(cfg, (0.3, 0.4), 12, 2.0, 3)
    st.cache_data.clear()
    monkeypatch.setenv("DIFFGEO_WORKERS", "1")
    pool = worker_pool()
    assert pool is not None
    try:
        pooled, pooled_circles = cached.spray_for(cfg, (0.3, 0.4), 12, 2.0, 3)
        assert pool.worker_pids(), "the spray was not computed in a worker"
    finally:
        pool.shutdown()
        st.cache_resource.clear()
    assert len(pooled) == len(inline) == 12 and len(pooled_circles) == len(inline_circles)
    for a, b in zip(inline, pooled, strict=True):
        np.testing.assert_allclose(b.coords, a.coords, rtol=0, atol=1e-12)
        assert b.status == a.status
