"""The pieces of the teaching convention on their own: catalogs and placeholders, the URL
codecs of the widgets, lesson verdicts, projector scaling and curve CSV."""

from __future__ import annotations

import csv
import io
import math

import plotly.graph_objects as go
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dashboard import i18n, links
from dashboard.figures.presenting import PROJECTOR_FONT, PROJECTOR_MARKS, curves_csv, enlarge
from dashboard.figures.theme import base_layout, figure
from dashboard.lessons import Claim, check

# -- i18n -----------------------------------------------------------------------------------------


def test_fill_replaces_only_named_placeholders_and_keeps_latex():
    text = r"angle {angle:.3f} rad, $\sqrt{x}$ and e^{t} stay"
    assert i18n.fill(text, {"angle": math.pi}) == r"angle 3.142 rad, $\sqrt{x}$ and e^{t} stay"
    assert i18n.placeholders(text) == {"angle", "x", "t"}


def test_t_speaks_the_chosen_language_and_marks_missing_keys():
    assert i18n.t("common.projector") == "Projector mode"
    with i18n.use_language("zh"):
        assert i18n.t("common.projector") == "投影模式"
        assert i18n.language() == "zh"
    assert i18n.language() == "en"
    assert i18n.t("no.such.key") == "⟦no.such.key⟧"
    with pytest.raises(ValueError, match="unknown language"), i18n.use_language("fr"):
        pass


@pytest.mark.parametrize(("locale", "lang"), [
    ("zh-CN", "zh"), ("zh", "zh"), ("zh-TW", "zh"), ("ZH-hans", "zh"), ("en-US", "en"),
    ("de-DE", "en"), (None, "en"), ("", "en"),
])
def test_browser_locale_picks_the_language(locale, lang):
    assert i18n.language_from_locale(locale) == lang


def test_options_of_a_table():
    with i18n.use_language("zh"):
        errors = i18n.options("common.errors")
    assert errors["unexpected"] == i18n.catalog("zh")["common.errors.unexpected"]
    assert "could_not" in errors


# -- URL codecs -----------------------------------------------------------------------------------

@given(st.floats(-5, 5, allow_nan=False))
def test_number_codec_round_trips_within_bounds(x):
    codec = links.number_codec(-5, 5, integer=False)
    assert codec.decode(codec.encode(x)) == x


@given(st.integers(1, 500))
def test_integer_codec_round_trips(n):
    codec = links.number_codec(1, 500, integer=True)
    assert codec.decode(codec.encode(n)) == n
    assert 1 <= codec.other(n) <= 500 and codec.other(n) != n


@pytest.mark.parametrize("raw", ["nan", "NaN", "inf", "-inf", "1e308", "-6", "5.0000001", "",
                                 "1_0", "0x10", "x" * 5000, "__import__('os')", "2.5"])
def test_integer_codec_refuses_what_the_widget_cannot_hold(raw):
    codec = links.number_codec(-5, 5, integer=True)
    with pytest.raises(ValueError):
        codec.decode(raw)


def test_choice_codecs():
    one = links.choice_codec(["sphere", "torus", 3])
    assert one.decode("torus") == "torus" and one.decode("3") == 3
    assert one.other("torus") == 3 and one.other(3) == "sphere"
    for raw in ("Torus", "", "sphere,torus", "x" * 3000):
        with pytest.raises(ValueError):
            one.decode(raw)
    many = links.choices_codec(["sgd", "adam", "ngd"], max_selections=2)
    assert many.decode("adam,sgd") == ["adam", "sgd"] and many.decode("") == []
    assert many.encode(["sgd", "ngd"]) == "sgd,ngd"
    for raw in ("adam,adam", "adam,nope", "sgd,adam,ngd"):
        with pytest.raises(ValueError):
            many.decode(raw)
    assert many.other(["sgd", "adam"]) == ["sgd"]
    with pytest.raises(ValueError, match="commas"):
        links.choices_codec(["a,b"])


def test_flag_and_text_codecs():
    flag = links.flag_codec()
    assert flag.decode("1") is True and flag.decode("False") is False
    with pytest.raises(ValueError):
        flag.decode("maybe")

    def no_digits(text: str) -> None:
        if any(c.isdigit() for c in text):
            raise ValueError("digits")

    text = links.text_codec(10, no_digits)
    assert text.decode("sin(u)") == "sin(u)"
    for raw in ("x" * 11, "a\x00b", "u**9"):
        with pytest.raises(ValueError):
            text.decode(raw)


# -- lessons --------------------------------------------------------------------------------------

def test_claim_verdicts():
    facts = {"angle": 1.0000004, "area": 1.0, "ratio": 1.3, "ok": True, "bad": math.nan}
    assert check(Claim("a", "angle", "close", "area", tol=1e-6), facts).holds is True
    assert check(Claim("a", "angle", "close", "area", tol=1e-7), facts).holds is False
    assert check(Claim("a", "angle", "close", 2.0, rtol=0.6), facts).holds is True
    assert check(Claim("r", "ratio", "greater", 1.0), facts).holds is True
    assert check(Claim("r", "ratio", "less", 1.0), facts).holds is False
    assert check(Claim("o", "ok", "true"), facts).holds is True
    assert check(Claim("n", "bad", "close", "area", tol=1e9), facts).holds is False
    assert check(Claim("m", "missing", "less", 1.0), facts).holds is None


# -- projector and CSV ----------------------------------------------------------------------------

def _sample() -> go.Figure:
    return figure(
        [dict(type="scatter", x=[0, 1, 2], y=[1, 0, 1], mode="lines", name="loss"),
         dict(type="scatter", x=[0.5], y=[0.2], mode="markers", marker=dict(size=[8]),
              name="start"),
         dict(type="heatmap", z=[[0, 1], [1, 0]], colorbar=dict(title=dict(
             text="K", font=dict(size=12))))],
        base_layout("Loss", height=400),
        dict(xaxis=dict(title=dict(text="step"), tickfont=dict(size=10)),
             annotations=[dict(text="note", x=0, y=0, font=dict(size=11))]))


def test_enlarge_scales_text_marks_and_lines():
    fig = _sample()
    big = enlarge(fig)
    assert big.layout.font.size == pytest.approx(14 * PROJECTOR_FONT)
    assert big.layout.title.font.size == pytest.approx(18 * PROJECTOR_FONT)
    assert big.layout.xaxis.tickfont.size == pytest.approx(10 * PROJECTOR_FONT)
    assert big.layout.annotations[0].font.size == pytest.approx(11 * PROJECTOR_FONT)
    assert big.data[2].colorbar.title.font.size == pytest.approx(12 * PROJECTOR_FONT)
    assert big.data[0].line.width == pytest.approx(2 * PROJECTOR_MARKS)
    assert list(big.data[1].marker.size) == pytest.approx([8 * PROJECTOR_MARKS])
    assert big.layout.height > fig.layout.height and big.layout.margin.t > fig.layout.margin.t
    # sizes Streamlit's theme would otherwise choose are set
    assert big.layout.yaxis.tickfont.size == pytest.approx(14 * PROJECTOR_FONT * 0.9)
    assert big.layout.xaxis.title.font.size == pytest.approx(14 * PROJECTOR_FONT)
    assert big.data[2].colorbar.tickfont.size == pytest.approx(14 * PROJECTOR_FONT * 0.9)
    # the figure on screen is untouched
    assert fig.layout.font.size == 14 and fig.data[0].line.width is None


def test_enlarge_thins_the_ticks_of_a_3d_scene():
    fig = go.Figure([go.Scatter3d(x=[0, 1], y=[0, 1], z=[0, 1])],
                    layout=dict(scene=dict(xaxis=dict(nticks=9), yaxis=dict(nticks=3))))
    scene = enlarge(fig).layout.scene
    assert (scene.xaxis.nticks, scene.yaxis.nticks, scene.zaxis.nticks) == (4, 3, 4)
    assert scene.xaxis.tickfont.size == pytest.approx(14 * 1.15)


def test_curves_csv_lists_every_point_of_every_curve():
    rows = list(csv.reader(io.StringIO(curves_csv(_sample()))))
    assert rows[0] == ["trace", "x", "y"]
    assert rows[1:] == [["loss", "0", "1"], ["loss", "1", "0"], ["loss", "2", "1"],
                        ["start", "0.5", "0.2"]]
    three = go.Figure([go.Scatter3d(x=[1.0], y=[2.0], z=[3.0], name="path")])
    assert curves_csv(three).splitlines() == ["trace,x,y,z", "path,1.0,2.0,3.0"]


def test_codecs_fit_a_kept_value_to_the_widget_as_drawn_now():
    steps = links.number_codec(0, 12, integer=True)
    assert steps.fit(40, 3) == 12 and steps.fit(-2, 3) == 0 and steps.fit(7, 3) == 7
    assert links.number_codec(0.0, 1.0, integer=False).fit(2.5, 0.5) == 1.0
    layer = links.choice_codec(["input", "hidden 1"])
    assert layer.fit("hidden 2", "input") == "input"
    assert layer.fit("hidden 1", "input") == "hidden 1"
    runs = links.choices_codec(["sgd", "adam"])
    assert runs.fit(["sgd", "ngd", "adam"], []) == ["sgd", "adam"]
