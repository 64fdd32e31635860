"""Figures built in one step: the shortcuts that save server time draw the same pictures."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

from dashboard.figures import geometry as geo_figs
from dashboard.figures import theme
from geomcore.geometry import surfaces


def test_merge_matches_successive_update_layout_calls():
    parts = [
        dict(legend=dict(orientation="h", y=-0.12), xaxis=dict(title=dict(text="u"),
                                                               range=[0, 1])),
        theme.base_layout("A long title that wraps onto two lines", height=480,
                          title_width=20),
        dict(margin=dict(b=110), xaxis=dict(range=[0, 2]), annotations=[dict(text="a")]),
        dict(legend=dict(y=-0.2), annotations=[dict(text="b")]),
    ]
    chained = go.Figure()
    for part in parts:
        chained.update_layout(part)
    merged = go.Figure(layout=theme.merge(*parts))
    assert merged.layout.to_plotly_json() == chained.layout.to_plotly_json()
    # nested dictionaries merge, lists and numbers replace
    assert merged.layout.legend.orientation == "h" and merged.layout.legend.y == -0.2
    assert merged.layout.margin.b == 110 and merged.layout.margin.l == 60
    assert merged.layout.xaxis.range == (0, 2) and merged.layout.xaxis.title.text == "u"
    assert [a.text for a in merged.layout.annotations] == ["b"]


def test_merge_leaves_its_inputs_alone():
    first = dict(margin=dict(l=1), legend=dict(y=0))
    theme.merge(first, dict(margin=dict(r=2)), None)
    assert first == dict(margin=dict(l=1), legend=dict(y=0))


def test_apply_layout_and_base_layout_agree():
    applied = theme.apply_layout(go.Figure(), "Title", height=400, title_width=44)
    built = theme.figure([], theme.base_layout("Title", height=400, title_width=44))
    assert applied.layout.to_plotly_json() == built.layout.to_plotly_json()


def test_a_reused_mesh_draws_the_same_surface_as_a_fresh_one():
    """The coloured mesh is computed once per surface object; moving the point, or asking for
    the other field, must give exactly what a freshly built surface gives."""
    torus = surfaces.get("torus")
    for field in ("gaussian", "mean", "gaussian"):
        for uv in ((1.0, 1.0), (2.0, 0.5)):
            points = [(uv, "start")]
            fresh = surfaces.get("torus")
            for build in (geo_figs.make_surface_figure, geo_figs.make_parameter_map):
                again = build(torus, field=field, points=points)
                new = build(fresh, field=field, points=points)
                assert pio.to_json(again) == pio.to_json(new)
    gaussian = geo_figs.make_parameter_map(torus, field="gaussian").data[0].z
    mean = geo_figs.make_parameter_map(torus, field="mean").data[0].z
    assert not np.allclose(gaussian, mean)  # the field is part of the key


def test_wrap_title_keeps_settings_on_one_line():
    title = "Torus, 600 points: Ollivier (exact transport), k = 30, α = 0.5, uniform mass"
    for width in range(12, len(title)):
        lines = theme.wrap_title(title, width).split("<br>")
        assert not any(line.endswith("=") or line.startswith("=") for line in lines), width
        assert " ".join(lines).replace("\u00a0", " ") == title


def test_wrap_title_breaks_chinese_between_characters():
    title = "环面，600 个点：Ollivier 曲率（精确运输），k = 30，α = 0.5，均匀质量"
    for width in range(14, theme.display_width(title) + 2):
        lines = theme.wrap_title(title, width).split("<br>")
        # only closing signs, which stay on their line, may reach past the width
        assert all(theme.display_width(line.rstrip("，：）")) <= width for line in lines
                   if not line.startswith("Ollivier")), (width, lines)
        assert not any(line[0] in "，：）" for line in lines), (width, lines)
        assert not any(line.endswith("=") for line in lines), width
        rebuilt = "".join(lines).replace("\u00a0", " ")
        assert rebuilt.replace(" ", "") == title.replace(" ", "")
    assert theme.wrap_title(title, 200) == title.replace(" = ", "\u00a0=\u00a0")
    assert theme.display_width("测地线 K") == 8
