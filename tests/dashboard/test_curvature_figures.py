"""Figure builders of the Ricci-curvature page, without Streamlit: structure and the facts they
draw (edges join the right points, the colour scale is centred on 0, the ε² line has the
predicted slope), never golden floats."""

from __future__ import annotations

import numpy as np
import pytest

from dashboard.figures import curvature as figs
from dashboard.i18n import use_language
from geomcore.curvature import EpsilonLaw, layer_curvature, point_curvature
from geomcore.optim import mlp


@pytest.fixture(scope="module")
def cloud():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    return X, point_curvature(X, 8)


def test_to_3d_pads_and_projects():
    X2 = np.arange(10.0).reshape(5, 2)
    assert np.array_equal(figs.to_3d(X2), np.column_stack([X2, np.zeros(5)]))
    rng = np.random.default_rng(1)
    X5 = rng.normal(size=(50, 5)) * [5, 3, 1, 0.1, 0.01]
    P = figs.to_3d(X5)
    assert P.shape == (50, 3)
    # distances shrink under an orthogonal projection, and nearly all variance is kept
    d5 = np.linalg.norm(X5[:, None] - X5[None], axis=-1)
    d3 = np.linalg.norm(P[:, None] - P[None], axis=-1)
    assert np.all(d3 <= d5 + 1e-9) and np.sum(P.var(0)) > 0.99 * np.sum(X5.var(0))


def test_edge_polyline_joins_the_edge_ends(cloud):
    X, pc = cloud
    xyz, vals = figs.edge_polyline(X, pc.edges, pc.edge_curvature)
    assert xyz.shape == (3 * len(pc.edges), 3)
    assert np.array_equal(xyz[0::3], X[pc.edges[:, 0]])
    assert np.array_equal(xyz[1::3], X[pc.edges[:, 1]])
    assert np.all(np.isnan(xyz[2::3]))
    assert np.array_equal(vals[0::3], pc.edge_curvature)


def test_graph_figure_is_centred_on_zero(cloud):
    X, pc = cloud
    fig = figs.make_graph_figure(X, pc.edges, pc.edge_curvature, title="a graph")
    line = fig.data[0].line
    assert line.cmid == 0 and line.cmax > 0 and line.cmin == -line.cmax
    assert line.colorbar.title.text == "edge κ"
    assert fig.layout.title.text == "a graph"
    assert fig.layout.scene.xaxis.title.text == "x₁"


def test_graph_figure_draws_a_subset_of_huge_graphs(cloud, monkeypatch):
    X, pc = cloud
    monkeypatch.setattr(figs, "MAX_DRAWN_EDGES", 100)
    fig = figs.make_graph_figure(X, pc.edges, pc.edge_curvature, title="t")
    assert len(fig.data[0].x) == 300
    assert f"100 of {len(pc.edges):,} edges drawn" in fig.layout.title.text


def test_k_scatter_draws_the_law():
    rng = np.random.default_rng(2)
    K = rng.uniform(-1, 1, 200)
    kappa = 0.01 + 0.05 * K + rng.normal(0, 0.01, 200)
    law = EpsilonLaw(epsilon=0.6, predicted=0.045, measured=0.05, intercept=0.01,
                     correlation=0.9, how="slope")
    fig = figs.make_k_scatter(K, kappa, law, title="scatter")
    names = [t.name for t in fig.data]
    assert names[1].startswith("ε² law") and names[2].startswith("least squares")
    x, y = np.asarray(fig.data[1].x), np.asarray(fig.data[1].y)
    assert (y[1] - y[0]) / (x[1] - x[0]) == pytest.approx(0.045)
    assert fig.layout.xaxis.title.text == "true Gaussian curvature K"
    assert fig.data[0].marker.cmid == 0


def test_histogram_and_layer_figures():
    fig = figs.make_histogram({"a": np.array([-0.1, 0.0, 0.2]), "b": np.array([0.5, np.nan])},
                              title="h")
    assert [t.name for t in fig.data] == ["a (mean 0.0333)", "b (mean 0.5)"]
    assert fig.layout.yaxis.title.text == "share of edges"
    X = np.random.default_rng(0).normal(size=(60, 2))
    y = (X[:, 0] > 0).astype(int)
    runs = [layer_curvature(mlp([2, 6, 2], seed=s), X, y, 6, step=10 * s) for s in (0, 1)]
    fig = figs.make_layer_curves(runs, title="layers")
    assert len(fig.data) == 4  # two layers × (curvature, silhouette)
    assert list(fig.data[0].x) == [0, 10]
    rows = figs.layer_summary_rows(runs[-1])
    assert [r["layer"] for r in rows] == ["input", "hidden 1 (width 6)"]
    assert all(r["status"] == "ok" for r in rows)


def test_figures_speak_chinese():
    X = np.random.default_rng(0).normal(size=(60, 2))
    y = (X[:, 0] > 0).astype(int)
    runs = [layer_curvature(mlp([2, 6, 2], seed=s), X, y, 6, step=10 * s) for s in (0, 1)]
    law = EpsilonLaw(epsilon=0.6, predicted=0.045, measured=0.05, intercept=0.01,
                     correlation=0.9, how="slope")
    with use_language("zh"):
        scatter = figs.make_k_scatter(np.array([-1.0, 0.0, 1.0]), np.array([-0.1, 0.0, 0.1]),
                                      law, title="t")
        curves = figs.make_layer_curves(runs, title="t")
        rows = figs.layer_summary_rows(runs[-1])
        hist = figs.make_histogram({"a": np.array([0.1, 0.2])}, title="t")
        assert figs.method_title("forman_augmented") == "Forman 增广版（计入三角形）"
    assert scatter.layout.xaxis.title.text == "真实高斯曲率 K"
    assert scatter.data[1].name.startswith("ε² 规律")
    assert [trace.name for trace in curves.data[::2]] == ["输入层", "隐藏层 1（宽度 6）"]
    assert "第 %{x} 步" in curves.data[0].hovertemplate
    assert [r["层"] for r in rows] == ["输入层", "隐藏层 1（宽度 6）"]
    assert all(r["状态"] == "正常" for r in rows)
    assert hist.layout.xaxis.title.text == "边曲率 κ" and hist.data[0].name == "a（均值 0.15）"


def test_layer_titles_leave_unknown_names_alone():
    assert figs.layer_title("hidden 2 (width 16)") == "hidden 2 (width 16)"
    assert figs.layer_title("output") == "output"


def test_a_long_chinese_title_is_broken_into_lines_that_fit():
    title = ("边曲率：环面，600 个点：Ollivier（精确最优传输），k = 30，α = 0.5，均匀质量"
             "（画出 20,000 条边中的 12,000 条）")
    with use_language("zh"):
        fig = figs.make_histogram({"a": np.array([0.1, 0.2])}, title=title)
    lines = fig.layout.title.text.split("<br>")
    assert len(lines) >= 2
    assert "".join(lines).replace("\u00a0", " ") == title
    # a Chinese character is about twice as wide as a Latin one
    assert all(len(line) + sum(ch >= "\u3000" for ch in line) <= figs.CJK_TITLE_WIDTH
               for line in lines), lines
    assert all(not line.startswith(("，", "：", "）")) for line in lines), lines


def test_edges_and_histograms_export_their_values(cloud):
    import csv
    import io

    X, pc = cloud
    rows = list(csv.reader(io.StringIO(figs.edges_csv(pc.edges, pc.edge_curvature))))
    assert rows[0] == ["node_a", "node_b", "edge_curvature"]
    assert len(rows) == len(pc.edges) + 1
    assert [int(rows[1][0]), int(rows[1][1])] == list(pc.edges[0])
    assert float(rows[1][2]) == pytest.approx(pc.edge_curvature[0])
    fig = figs.make_histogram({"a": np.array([-0.1, 0.2]), "b": np.array([0.5, np.nan])},
                              title="h")
    rows = list(csv.reader(io.StringIO(figs.histogram_csv(fig))))
    assert rows[0] == ["group", "edge_curvature"]
    assert [(r[0], float(r[1])) for r in rows[1:]] == [
        ("a (mean 0.05)", -0.1), ("a (mean 0.05)", 0.2), ("b (mean 0.5)", 0.5)]
    with use_language("zh"):
        assert figs.histogram_csv(fig).splitlines()[0] == "分组,边曲率"
