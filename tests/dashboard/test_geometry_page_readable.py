"""Issue 7 on the Surfaces & geodesics page (AppTest): clean defaults, words not status codes,
widgets that agree with the picture, and formulas computed only on demand."""

from __future__ import annotations

import json
import re

import pytest

from geomcore.geometry import surfaces
from tests.dashboard.conftest import problems

STATUS_CODES = ("left_domain", "not_converged", "singular", "status")


def _page_text(at) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [w.value for w in at.warning] + [e.value for e in at.error]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    return " ".join(parts)


@pytest.mark.parametrize("name", surfaces.names())
def test_every_catalog_surface_opens_without_a_warning(geometry_page, name):
    at = geometry_page
    at.selectbox(key="geo_surface").set_value(name)
    at.run()
    assert not problems(at)
    assert not at.warning, [w.value for w in at.warning]
    assert not at.error, [e.value for e in at.error]


def test_a_stopped_geodesic_is_described_in_words(geometry_page):
    at = geometry_page
    at.selectbox(key="geo_surface").set_value("saddle")
    at.run()
    at.slider(key="geo_length").set_value(20.0)
    at.run()
    assert not problems(at)
    warning = " ".join(w.value for w in at.warning)
    assert re.search(r"reached the edge of the chart after length \d+\.\d\d", warning)
    text = _page_text(at)
    assert not [code for code in STATUS_CODES if code in text], text


def test_transport_shows_holonomy_and_curvature_in_the_same_unit(geometry_page):
    at = geometry_page
    at.radio(key="geo_mode").set_value("transport")
    at.run()
    at.radio(key="geo_loop_kind").set_value("parallel")
    at.run()
    assert not problems(at)
    values = {m.label: m.value for m in at.metric}
    holonomy = values["Holonomy angle"]
    total = values["Gauss–Bonnet: ∬ K dA (mod 360°)"]
    assert holonomy.endswith("°") and total.endswith("°")
    assert float(total[:-1]) == pytest.approx(float(holonomy[:-1]), abs=0.05)
    assert -180 < float(total[:-1]) <= 180


def _start_in_map(at) -> tuple[float, float]:
    """The start point as drawn in the parameter map (the trace hovering 'start …')."""
    chart = [c for c in at.get("plotly_chart") if "geo_map_" in str(c.proto.id)
             or "click to choose" in c.proto.spec][-1]
    fig = json.loads(chart.proto.spec)
    start = [t for t in fig["data"] if t.get("name") == "start"][0]
    return float(start["x"][0]), float(start["y"][0])


def test_after_fixing_a_formula_the_sliders_and_the_picture_agree(geometry_page):
    at = geometry_page
    at.radio(key="geo_kind").set_value("custom")
    at.run()
    key_u = [s.key for s in at.slider if s.label == "Start point: u"][0]
    at.slider(key=key_u).set_value(2.5)
    at.run()
    assert _start_in_map(at)[0] == pytest.approx(2.5)
    at.text_input(key="geo_custom_z").set_value("sin(u) + __import__('os')")
    at.run()
    assert at.error
    at.text_input(key="geo_custom_z").set_value("0.8*sin(u)")
    at.run()
    assert not problems(at) and not at.error
    drawn = _start_in_map(at)
    shown = (at.slider(key=key_u).value, at.slider(key=key_u.replace("_pu", "_pv")).value)
    assert drawn == pytest.approx(shown)
    assert drawn[0] == pytest.approx(2.5)  # the chosen point survived the invalid formula


def test_formulas_are_not_computed_while_their_panel_is_closed(geometry_page):
    at = geometry_page
    assert not problems(at)
    assert not [x for x in at.latex if "gathered" in x.value]
    assert any("Formulas" in e.label for e in at.expander)


def test_formula_length_is_checked_without_a_counter(geometry_page):
    at = geometry_page
    at.radio(key="geo_kind").set_value("custom")
    at.run()
    assert at.text_input(key="geo_custom_z").max_chars in (None, 0)
    at.text_input(key="geo_custom_z").set_value("u+" * 160 + "u")
    at.run()
    assert not problems(at)
    assert any("shorten it" in e.value for e in at.error)


def test_gaussian_family_text_describes_half_ellipses(geometry_page):
    at = geometry_page
    at.radio(key="geo_kind").set_value("statistical")
    at.run()
    at.selectbox(key="geo_stat").set_value("gaussian")
    at.radio(key="geo_mode").set_value("spray")
    at.run()
    text = " ".join(m.value for m in at.markdown)
    assert "half-ellipses" in text and "μ-axis" in text
    assert "semicircle centred on the x-axis" not in text


def test_the_opened_formulas_panel_shows_the_formulas_and_stays_open_across_a_warning(
        geometry_page):
    at = geometry_page
    at.selectbox(key="geo_surface").set_value("sphere")
    at.run()
    at.session_state["geo_formulas"] = True  # the visitor opens the panel
    at.run()
    assert not problems(at)
    shown = " ".join(el.value for el in at.latex)
    assert r"\Gamma" in shown and "K" in shown
    assert any("Total curvature" in md.value for md in at.markdown)
    # a rerun with other settings above it (another mode) leaves it open, with its formulas
    at.radio(key="geo_mode").set_value("spray")
    at.run()
    assert at.session_state["geo_formulas"] is True
    assert any(r"\Gamma" in el.value for el in at.latex)
