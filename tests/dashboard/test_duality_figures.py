"""Figure builders of the Dual-geometry lab, without Streamlit: the triangle's coordinates, what
each figure draws, and that titles, axes and legends are there."""

from __future__ import annotations

import numpy as np
import pytest

from dashboard.figures import duality as figs
from geomcore.duality import (
    METHODS,
    Categorical,
    CrossEntropyLoss,
    Gaussian1D,
    em_gaussian_mixture,
    mixture_sample,
    optimize,
)


def test_vertices_and_barycentric_coordinates():
    np.testing.assert_allclose(figs.to_xy(np.eye(3)), figs.VERTICES, atol=0)
    centre = figs.to_xy(np.full(3, 1 / 3))
    np.testing.assert_allclose(centre, figs.VERTICES.mean(axis=0), atol=1e-15)
    x, y, p = figs.simplex_grid(41)
    inside = ~np.isnan(p[..., 0])
    np.testing.assert_allclose(p[inside].sum(axis=-1), 1.0, atol=1e-12)
    xx, yy = np.meshgrid(x, y)
    np.testing.assert_allclose(figs.to_xy(p[inside]), np.column_stack([xx[inside], yy[inside]]),
                               atol=1e-12)
    assert inside.mean() == pytest.approx(0.5, abs=0.05)  # the triangle is half its box


@pytest.fixture(scope="module")
def paths():
    loss = CrossEntropyLoss([0.2, 0.3, 0.5])
    return {m: optimize(loss, Categorical(3), [0.8, 0.1, 0.1], m, 50, 0.1) for m in METHODS}


def test_simplex_loss_figure_draws_every_path_and_overlays_eg(paths):
    x, y, p = figs.simplex_grid(41)
    z = CrossEntropyLoss([0.2, 0.3, 0.5]).value(p)
    fig = figs.make_simplex_loss_figure(x, y, z, paths, loss_name="cross-entropy",
                                        target=np.array([0.2, 0.3, 0.5]))
    names = [t.name for t in fig.data]
    for method in METHODS:
        assert figs.method_title(method) in names
    eg = next(t for t in fig.data if t.name == figs.method_title("mirror_descent"))
    ngd = next(t for t in fig.data if t.name == figs.method_title("ngd_natural"))
    assert eg.mode == "markers" and ngd.mode == "lines"
    np.testing.assert_allclose(eg.x, ngd.x, atol=1e-12)
    np.testing.assert_allclose(eg.y, ngd.y, atol=1e-12)
    contour = fig.data[0]
    assert contour.type == "contour" and contour.colorbar.title.text == "loss"
    assert "cross-entropy" in fig.layout.title.text
    # the path points are drawn where their probabilities put them
    start = next(t for t in fig.data if t.name == "start")
    np.testing.assert_allclose([start.x[0], start.y[0]], figs.to_xy([0.8, 0.1, 0.1]))


def test_loss_curves_are_log_scale_and_positive(paths):
    fig = figs.make_loss_curves_figure(paths, floor=float(
        CrossEntropyLoss([0.2, 0.3, 0.5]).value(np.array([0.2, 0.3, 0.5]))))
    assert fig.layout.yaxis.type == "log" and fig.layout.xaxis.title.text == "step t"
    assert all(np.all(np.asarray(t.y) > 0) for t in fig.data)
    assert len(fig.data) == len(METHODS)


def test_geodesic_figures_join_the_two_points():
    fam = Categorical(3)
    p, q = np.array([0.1, 0.2, 0.7]), np.array([0.6, 0.3, 0.1])
    curves = {k: fam.geodesic(p, q, k, n_points=31).points for k in ("e", "m", "fisher_rao")}
    fig = figs.make_simplex_geodesics_figure(curves, p, q)
    for trace in fig.data:
        if trace.name in (figs.curve_title(k) for k in curves):
            np.testing.assert_allclose([trace.x[0], trace.y[0]], figs.to_xy(p), atol=1e-14)
            np.testing.assert_allclose([trace.x[-1], trace.y[-1]], figs.to_xy(q), atol=1e-14)
    g = Gaussian1D()
    gp, gq = np.array([-1.0, 0.5]), np.array([1.0, 1.5])
    gcurves = {k: g.geodesic(gp, gq, k, n_points=31).points for k in ("e", "m", "fisher_rao")}
    gfig = figs.make_gaussian_geodesics_figure(gcurves, gp, gq, alpha=None)
    assert gfig.layout.xaxis.title.text == "μ (mean)"
    assert gfig.layout.yaxis.title.text.startswith("σ")
    assert gfig.layout.yaxis.range[0] == 0  # the half-plane's edge σ = 0 is shown


def test_em_figures():
    x = mixture_sample(200, seed=0)
    res = em_gaussian_mixture(x, steps=10)
    fit = figs.make_em_fit_figure(x, res, 4)
    assert "step 4" in fit.layout.title.text
    mixture = next(t for t in fit.data if t.name == "mixture")
    assert np.trapezoid(mixture.y, mixture.x) == pytest.approx(1.0, abs=0.02)
    div = figs.make_em_divergence_figure(res, 4)
    e_pts = next(t for t in div.data if t.name and "E-step" in t.name)
    m_pts = next(t for t in div.data if t.name and "M-step" in t.name)
    assert len(e_pts.y) == len(m_pts.y) == 10
    assert np.all(np.diff(np.asarray(div.data[0].y)) <= 1e-13)


def test_simplex_csv_gives_the_named_curves_in_probabilities(paths):
    fam = Categorical(3)
    p, q = np.array([0.1, 0.2, 0.7]), np.array([0.6, 0.3, 0.1])
    curves = {k: fam.geodesic(p, q, k, n_points=31).points for k in ("e", "m")}
    text = figs.simplex_csv(figs.make_simplex_geodesics_figure(curves, p, q))
    lines = text.strip().split("\n")
    assert lines[0] == "trace,p1,p2,p3"
    rows = [line.rsplit(",", 3) for line in lines[1:]]
    names = {r[0] for r in rows}
    assert names == {figs.curve_title("e"), figs.curve_title("m"), "p", "q"}  # no frame
    values = np.array([[float(v) for v in r[1:]] for r in rows])
    np.testing.assert_allclose(values.sum(axis=1), 1.0, atol=1e-12)
    m_rows = values[[r[0] == figs.curve_title("m") for r in rows]]
    np.testing.assert_allclose(m_rows, curves["m"], atol=1e-12)


def test_figures_speak_chinese(paths):
    from dashboard.i18n import use_language

    with use_language("zh"):
        fig = figs.make_loss_curves_figure(paths, floor=0.0)
        assert fig.layout.title.text == "每步损失与最小值之差"
        assert {t.name for t in fig.data} >= {"镜像下降（EG）", "θ 中的 NGD"}
        x = mixture_sample(100, seed=1)
        div = figs.make_em_divergence_figure(em_gaussian_mixture(x, steps=3))
        assert div.layout.xaxis.title.text.startswith("EM 步")
