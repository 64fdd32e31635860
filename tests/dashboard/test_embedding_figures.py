"""The Representations lab's figure builders, without Streamlit: titles, labelled axes,
colour bars, the metrics table's best cells, and pictures that carry the right data."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from dashboard.figures import embedding as figs
from dashboard.i18n import use_language
from geomcore.embedding import make


@pytest.fixture(scope="module")
def roll():
    return make("swiss_roll", n=300, seed=0)


def _titled(fig) -> None:
    assert fig.layout.title.text


def test_coloring_is_continuous_for_surfaces_and_ten_bands_for_digits(roll):
    c = figs.coloring_for(roll)
    assert not c.categorical and c.title == "arc length"
    m = c.marker()
    assert m["cmin"] == pytest.approx(roll.color.min()) and m["showscale"]
    d = figs.coloring_for(make("digits", n=100))
    md = d.marker()
    assert d.categorical and md["cmin"] == -0.5 and md["cmax"] == 9.5
    # A stepwise scale: label k maps to one colour across its whole band.
    scale = md["colorscale"]
    assert len(scale) == 20 and scale[6][1] == scale[7][1] == figs.DIGIT_COLORS[3]


def test_metrics_table_marks_the_best_of_each_measure():
    frame = figs.metrics_frame(
        {"isomap": {"trustworthiness": 0.99, "residual_variance": 0.01},
         "gde": {"trustworthiness": 0.97, "residual_variance": 0.002}},
        {"isomap": 0.5, "gde": 3.0})
    assert list(frame.columns) == ["Isomap", "GDE"]
    # Measures that apply to no method are dropped; times and residual variance: lower wins.
    assert list(frame.index) == ["time (s)", "trustworthiness", "residual variance"]
    best = figs.best_cells(frame)
    assert best == {"time (s)": [0], "trustworthiness": [0], "residual variance": [1]}
    html = figs.styled_metrics(frame).to_html()
    # pandas groups the cells of one style into one CSS rule: read back which cells it names.
    rule = re.search(r"([^{}]+)\{\s*background-color: #c7ebd5", html).group(1)
    assert set(re.findall(r"row(\d)_col(\d)", rule)) == {("0", "0"), ("1", "0"), ("2", "1")}
    assert "0.500" not in html and "0.50" in html  # times with two decimals


def test_ties_within_printed_precision_are_all_best():
    frame = figs.metrics_frame({"a": {"continuity": 0.9991}, "b": {"continuity": 0.9994}},
                               {"a": 1.0, "b": 2.0})
    assert figs.best_cells(frame)["continuity"] == [0, 1]


def test_embedding_and_data_figures_are_labelled(roll):
    c = figs.coloring_for(roll)
    fig = figs.make_embedding_figure(roll.intrinsic, c, title="Isomap (0.1 s)")
    _titled(fig)
    assert fig.layout.xaxis.title.text == "component 1"
    assert fig.layout.yaxis.scaleanchor == "x"  # equal units: distances are not distorted
    assert fig.data[0].marker.colorbar.title.text == "arc length"
    d = figs.make_data_figure(roll.X, c, title="The data")
    _titled(d)
    assert d.layout.scene.xaxis.title.text == "x"
    # A 1-D embedding (the helix) is drawn against zero, not refused.
    one = figs.make_embedding_figure(roll.intrinsic[:, :1], c, title="1-D")
    assert np.all(np.asarray(one.data[0].y) == 0)


def test_decoder_figure_leaves_holes_where_the_grid_left_the_data(roll):
    grid = np.random.default_rng(0).normal(size=(6, 6, 3))
    grid[0, :] = np.nan
    fig = figs.make_decoder_figure(roll.X, figs.coloring_for(roll), grid)
    _titled(fig)
    surface = fig.data[1]
    assert np.isnan(np.asarray(surface.z, dtype=float)[0]).all()
    assert {t.name for t in fig.data} >= {"data", "latent grid lines"}


def test_digit_mosaic_places_each_tile_by_its_latent_coordinates():
    g = 3
    decoded = np.zeros((g, g, 64))
    decoded[2, 0] = 16.0  # largest u, smallest v: bottom-right tile
    fig = figs.make_digit_mosaic(decoded, np.arange(g), np.arange(g))
    z = np.asarray(fig.data[0].z, dtype=float)
    assert z.shape == (g * 9 - 1, g * 9 - 1)
    # Heatmap rows run bottom-up: row 0 is the picture's bottom row.
    assert np.nanmax(z[:8, 18:]) == 16.0 and np.nansum(z) == 16.0 * 64
    assert fig.layout.xaxis.title.text == "latent component 1"


def test_pair_figure_draws_path_and_chord_with_their_lengths(roll):
    fig = figs.make_pair_figure(roll.X, np.array([0, 5, 9]), 0, 9, graph_length=12.3,
                                chord=4.56)
    names = [t.name for t in fig.data]
    assert "graph geodesic, length 12.3" in names and "straight chord, length 4.56" in names
    assert len(fig.data[1].x) == 3


def test_graph_figure_counts_short_circuits_and_error_curve_marks_k(roll):
    edges = np.array([[0, 1], [1, 2], [2, 3]])
    fig = figs.make_graph_figure(roll.X, edges, edges[:1], n_neighbors=10, drawn_every=2)
    assert fig.data[1].name == "short circuits: 1"
    assert "1 in 2 drawn" in fig.data[0].name
    # Three edges: three segments and three NaN breaks.
    assert np.isnan(np.asarray(fig.data[0].x, dtype=float)).sum() == 3
    curve = figs.make_error_curve(np.array([4, 8, 12]), np.array([0.2, 0.05, 0.3]),
                                  np.array([0, 0, 4]), current_k=8)
    _titled(curve)
    assert curve.layout.yaxis.title.text == "graph-distance error (%)"
    assert curve.layout.yaxis2.title.text == "short circuits"
    assert np.allclose(curve.data[0].y, [20, 5, 30])
    text = figs.short_circuit_caption(np.array([4, 8, 12]), np.array([0.2, 0.05, 0.3]),
                                      np.array([0, 0, 4]), 4)
    assert "first short circuit appears at k = 12" in text and "smallest at k = 8" in text


def test_collapse_figures(roll):
    c = figs.coloring_for(roll)
    scatter = figs.make_collapse_scatter(roll.intrinsic, np.zeros((roll.n, 2)), c)
    _titled(scatter)
    curve = figs.make_collapse_curve(np.geomspace(1.0, 1e-3, 20), data_spread=10.0)
    assert curve.layout.yaxis.type == "log"
    assert curve.layout.shapes[0].y0 == 10.0
    assert figs.spread(np.array([[0.0, 0.0], [2.0, 0.0]])) == pytest.approx(1.0)
    assert math.isfinite(figs.spread(roll.X))


def test_figures_and_tables_speak_chinese(roll):
    with use_language("zh"):
        curve = figs.make_error_curve(np.array([4, 8, 12]), np.array([0.2, 0.05, 0.3]),
                                      np.array([0, 0, 4]), current_k=8)
        assert curve.layout.title.text.startswith("Isomap 的失效方式")
        assert curve.layout.yaxis2.title.text == "短路边数"
        assert figs.coloring_for(roll).title == "弧长"
        frame = figs.metrics_frame(
            {"isomap": {"trustworthiness": 0.99, "residual_variance": 0.01},
             "laplacian": {"trustworthiness": 0.97, "residual_variance": 0.002}},
            {"isomap": 0.5, "laplacian": 3.0})
        assert list(frame.columns) == ["Isomap", "拉普拉斯特征映射"]
        assert list(frame.index) == ["用时（秒）", "可信度", "残差方差"]
        # lower is better for the time and the residual variance, whatever their names
        assert figs.best_cells(frame) == {"用时（秒）": [0], "可信度": [0], "残差方差": [1]}
        text = figs.short_circuit_caption(np.array([4, 8, 12]), np.array([0.2, 0.05, 0.3]),
                                          np.array([0, 0, 4]), 4)
        assert "k = 12" in text and "k = 8" in text and "短路边" in text
    # English again outside the block
    assert figs.coloring_for(roll).title == "arc length"


def test_error_curve_csv_keeps_the_short_circuit_counts():
    text = figs.error_curve_csv(np.array([4, 8, 12]), np.array([0.2, 0.05, 0.3]),
                                np.array([0, 0, 4]))
    lines = text.splitlines()
    assert lines[0] == "k,graph_distance_error,short_circuit_edges"
    assert lines[1:] == ["4,0.2,0", "8,0.05,0", "12,0.3,4"]
