"""The Latent-geometry figure builders without Streamlit: structure (titles, axes, colour bars,
legends, a clickable grid) and maths facts (ellipses are metric unit circles, strips show the
decoded images, the surface is the decoded grid)."""

from __future__ import annotations

import numpy as np
import pytest

from dashboard.figures import latent as figs
from geomcore.latent import decoders, indicatrices, pullback_metric

U = np.linspace(-2, 2, 12)
V = np.linspace(-1, 1, 8)
LOG_MAG = np.add.outer(V, U)  # [nv, nu]
RNG = np.random.default_rng(0)
Z = RNG.uniform(-1, 1, (30, 2))


def _path(name: str, dash: str = "solid") -> figs.LatentPath:
    pts = np.linspace([-1.0, -0.5], [1.0, 0.5], 9)
    return figs.LatentPath(pts, np.column_stack([pts, pts[:, :1]]), name, dash)


def test_latent_plane_structure_with_classes():
    labels = np.repeat(np.arange(3), 10)
    fig = figs.make_latent_plane(U, V, LOG_MAG, Z, labels, classes=True, color_title="digit",
                                 paths=[_path("straight line", "dash"), _path("geodesic")],
                                 ends=(np.array([-1.0, -0.5]), np.array([1.0, 0.5])))
    heat = fig.data[0]
    assert heat.type == "heatmap" and heat.colorbar.title.text == "log₁₀ √det M"
    assert heat.zmin == pytest.approx(LOG_MAG.min()) and heat.zmax == pytest.approx(LOG_MAG.max())
    names = [t.name for t in fig.data]
    assert [n for n in names if n and n.startswith("digit")] == ["digit 0", "digit 1", "digit 2"]
    assert {"straight line", "geodesic", "start", "end", "click to choose a point"} <= set(names)
    start = next(t for t in fig.data if t.name == "start")
    assert (start.x[0], start.y[0]) == (-1.0, -0.5)
    assert fig.layout.xaxis.title.text and fig.layout.yaxis.title.text
    assert fig.layout.title.text and fig.layout.clickmode == "event+select"
    # the click grid covers the whole plane
    grid = next(t for t in fig.data if t.name == "click to choose a point")
    assert min(grid.x) == U[0] and max(grid.x) == U[-1] and max(grid.y) == V[-1]


def test_latent_plane_with_a_continuous_colour_has_two_colour_bars():
    fig = figs.make_latent_plane(U, V, LOG_MAG, Z, Z[:, 0], classes=False,
                                 color_title="intrinsic")
    data = next(t for t in fig.data if t.name == "encoded data")
    assert data.marker.showscale and data.marker.colorbar.title.text == "intrinsic"
    assert data.marker.colorbar.x > fig.data[0].colorbar.x


def test_a_singular_plane_still_draws():
    blank = np.full_like(LOG_MAG, np.nan)
    fig = figs.make_latent_plane(U, V, blank, Z, Z[:, 0], classes=False, color_title="c")
    assert fig.data[0].zmin < fig.data[0].zmax


def test_ellipses_are_scaled_metric_unit_circles():
    g = decoders.sphere_chart()
    centers = np.array([[0.0, 0.0], [0.5, 1.0], [1.0, -2.0]])
    vectors = indicatrices(g, centers, n_angles=24)
    line = figs.ellipse_polyline(centers, vectors, cell=0.5)
    pieces = np.split(line, np.where(np.isnan(line[:, 0]))[0])
    pieces = [p[~np.isnan(p[:, 0])] for p in pieces if np.any(~np.isnan(p[:, 0]))]
    assert len(pieces) == 3
    M = pullback_metric(g, centers)
    radii = []
    for c, piece, m in zip(centers, pieces, M, strict=True):
        w = piece - c
        radii.append(np.einsum("ai,ij,aj->a", w, m, w))
    # one common scale s: every ellipse is {w : wᵀMw = s²} unless it was shrunk to fit
    largest = max(np.max(np.linalg.norm(p - c, axis=1)) for p, c in zip(pieces, centers,
                                                                          strict=True))
    assert largest <= 0.45 * 0.5 + 1e-12
    for r in radii:
        np.testing.assert_allclose(r, r[0], rtol=1e-10)


def test_image_strips_show_the_decoded_images():
    images = RNG.uniform(0, 20, (4, 64))
    fig = figs.make_image_strips([("straight line", images), ("geodesic", images[::-1])])
    heat = fig.data[0]
    mosaic = np.asarray(heat.z)[::-1]
    assert mosaic.shape == (8, 4 * 9 - 1)
    np.testing.assert_allclose(mosaic[:, :8], np.clip(images[0].reshape(8, 8), 0, 16))
    assert np.all(np.isnan(mosaic[:, 8]))  # the gap between images
    assert heat.showscale and not fig.data[1].showscale
    assert [a.text for a in fig.layout.annotations] == ["straight line", "geodesic"]


def test_pick_frames_runs_from_first_to_last():
    decoded = np.arange(32)[:, None] * np.ones((1, 3))
    frames = figs.pick_frames(decoded, 10)
    assert frames.shape == (10, 3) and frames[0, 0] == 0 and frames[-1, 0] == 31


def test_decoded_surface_is_the_decoded_grid():
    decoded = RNG.normal(size=(8, 12, 3))
    fig = figs.make_decoded_surface(decoded, LOG_MAG, RNG.normal(size=(20, 3)),
                                    np.arange(20.0), paths=[_path("geodesic")])
    surf = fig.data[0]
    np.testing.assert_array_equal(np.asarray(surf.z), decoded[..., 2])
    assert surf.colorbar.title.text == "log₁₀ √det M"
    assert fig.layout.scene.xaxis.title.text == "x"
    assert [t.name for t in fig.data[1:]] == ["data", "geodesic"]


def test_plane_csv_holds_the_data_paths_and_ends_only():
    labels = np.repeat(np.arange(3), 10)
    ellipses = np.array([[0.0, 0.0], [0.1, 0.0], [np.nan, np.nan]])
    fig = figs.make_latent_plane(U, V, LOG_MAG, Z, labels, classes=True, color_title="digit",
                                 paths=[_path("straight line", "dash"), _path("geodesic")],
                                 ends=(np.array([-1.0, -0.5]), np.array([1.0, 0.5])),
                                 ellipses=ellipses)
    names = [fig.data[i].name for i in figs.plane_csv_traces(fig)]
    assert names == ["digit 0", "digit 1", "digit 2", "straight line", "geodesic", "start", "end"]


def test_the_axes_widen_to_show_points_beyond_the_grid():
    inside = figs.make_latent_plane(U, V, LOG_MAG, Z, Z[:, 0], classes=False, color_title="c",
                                    ends=(np.array([0.0, 0.0]), np.array([1.0, 0.5])))
    assert list(inside.layout.xaxis.range) == [U[0], U[-1]]
    assert list(inside.layout.yaxis.range) == [V[0], V[-1]]
    outside = figs.make_latent_plane(U, V, LOG_MAG, Z, Z[:, 0], classes=False, color_title="c",
                                     ends=(np.array([0.0, 0.0]), np.array([5.0, -3.0])))
    lo, hi = outside.layout.xaxis.range
    assert lo == U[0] and hi > 5.0
    lo, hi = outside.layout.yaxis.range
    assert lo < -3.0 and hi == V[-1]


def test_figure_texts_in_chinese():
    from dashboard.i18n import use_language

    with use_language("zh"):
        fig = figs.make_latent_plane(U, V, LOG_MAG, Z, Z[:, 0], classes=False,
                                     color_title="内蕴坐标")
        strips = figs.make_image_strips([("直线", RNG.uniform(0, 16, (3, 64)))])
    assert fig.layout.title.text.startswith("隐平面")
    assert fig.layout.xaxis.title.text == "隐变量 z₁"
    assert strips.layout.title.text == "沿两条路径解码出的图像"


def test_plane_csv_rows_are_the_drawn_points():
    labels = np.repeat(np.arange(3), 10)
    fig = figs.make_latent_plane(U, V, LOG_MAG, Z, labels, classes=True, color_title="digit",
                                 paths=[_path("geodesic")],
                                 ends=(np.array([-1.0, -0.5]), np.array([1.0, 0.5])))
    lines = figs.plane_csv(fig).splitlines()
    assert lines[0] == "trace,x,y"
    assert len(lines) == 1 + len(Z) + 9 + 2
    assert lines[-1] == "end,1.0,0.5"
