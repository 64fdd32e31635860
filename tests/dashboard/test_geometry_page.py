"""The Surfaces & geodesics page under streamlit's AppTest: every surface, mode and bad input."""

from __future__ import annotations

import pytest

from geomcore.geometry import surfaces
from tests.dashboard.conftest import problems, run_page

MODES = ["geodesic", "spray", "shortest", "transport"]


def test_home_page_links_every_lab():
    at = run_page("home")
    assert not problems(at)
    text = " ".join(m.value for m in at.markdown) + " ".join(c.value for c in at.caption)
    assert "What you will see" in text


@pytest.mark.parametrize("name", surfaces.names())
def test_every_catalog_surface_renders(geometry_page, name):
    at = geometry_page
    at.selectbox(key="geo_surface").set_value(name)
    at.run()
    assert not problems(at)
    assert not at.error, [e.value for e in at.error]
    labels = [m.label for m in at.metric]
    assert "Length" in labels


@pytest.mark.parametrize("mode", MODES)
def test_every_mode_on_the_torus(geometry_page, mode):
    at = geometry_page
    at.radio(key="geo_mode").set_value(mode)
    at.run()
    assert not problems(at)
    assert not at.error, [e.value for e in at.error]
    assert len(at.metric) >= 2


def test_transport_metrics_satisfy_gauss_bonnet(geometry_page):
    at = geometry_page
    at.radio(key="geo_mode").set_value("transport")
    at.run()
    values = {m.label: m.value for m in at.metric}
    gap = float(values["Gauss–Bonnet gap (mod 2π)"])
    assert gap < 1e-3


def test_shortest_path_lengths_are_ordered(geometry_page):
    at = geometry_page
    at.radio(key="geo_mode").set_value("shortest")
    at.run()
    values = {m.label: float(m.value) for m in at.metric}
    assert values["Chord in R³"] <= values["Geodesic length"] + 1e-9
    assert values["Geodesic length"] <= values["Straight segment"] + 1e-9


@pytest.mark.parametrize("manifold", ["poincare", "gaussian", "categorical"])
@pytest.mark.parametrize("mode", MODES)
def test_statistical_manifolds(geometry_page, manifold, mode):
    at = geometry_page
    at.radio(key="geo_kind").set_value("statistical")
    at.run()
    at.selectbox(key="geo_stat").set_value(manifold)
    at.radio(key="geo_mode").set_value(mode)
    at.run()
    assert not problems(at)
    assert not at.error, [e.value for e in at.error]


def _custom(at):
    at.radio(key="geo_kind").set_value("custom")
    at.run()
    return at


def test_custom_surface_renders(geometry_page):
    at = _custom(geometry_page)
    assert not problems(at)
    assert not at.error
    assert any(m.label == "Length" for m in at.metric)


@pytest.mark.parametrize("formula, fragment", [
    ("cos(u", "never closed"),
    ("__import__('os').system('echo hacked')", "only plain function names"),
    ("u.__class__", "attribute"),
    ("foo(u)", "unknown function"),
    ("u ** 99", "exponent"),
])
def test_invalid_formula_shows_an_error_and_keeps_the_page(geometry_page, formula, fragment):
    at = _custom(geometry_page)
    at.text_input(key="geo_custom_z").set_value(formula)
    at.run()
    assert not problems(at)
    messages = " ".join(e.value for e in at.error)
    assert fragment in messages
    assert "z(u, v)" in messages
    # the sidebar and the explanation stay usable
    assert at.radio(key="geo_kind").value == "custom"
    assert any("Explain" in e.label for e in at.expander)


def test_degenerate_surface_is_reported(geometry_page):
    at = _custom(geometry_page)
    for axis in "xyz":
        at.text_input(key=f"geo_custom_{axis}").set_value("u")
    at.run()
    assert not problems(at)
    assert any("degenerate" in e.value for e in at.error)


def test_empty_range_is_reported(geometry_page):
    at = _custom(geometry_page)
    at.number_input(key="geo_custom_u1").set_value(-1.0)
    at.run()
    assert not problems(at)
    assert any("'from' < 'to'" in e.value for e in at.error)


def test_geodesic_over_the_pole_crosses_it(geometry_page):
    """Straight up the meridian: the geodesic crosses the pole (second chart) and reaches its
    full length, with no warning."""
    at = geometry_page
    at.selectbox(key="geo_surface").set_value("sphere")
    at.run()
    at.slider(key="geo_angle").set_value(180)  # straight up the meridian, towards u = 0
    at.slider(key="geo_length").set_value(6.0)
    at.run()
    assert not problems(at)
    assert not at.warning, [w.value for w in at.warning]
    length = next(m.value for m in at.metric if m.label == "Length")
    assert float(length) == pytest.approx(6.0, abs=1e-6)
