"""Figure builders of the geometry lab: structure and mathematical facts, no Streamlit."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.figures import geometry as figs
from geomcore.geometry import analysis, geodesics, metrics, surfaces


def _traces(fig: go.Figure, kind: str) -> list:
    return [t for t in fig.data if t.type == kind]


@pytest.mark.parametrize("r", [0.5, 1.0, 2.5])
def test_sphere_figure_points_lie_on_the_sphere(r):
    sphere = surfaces.get("sphere", r=r)
    fig = figs.make_surface_figure(sphere, resolution=30)
    surf = _traces(fig, "surface")[0]
    xyz = np.stack([np.asarray(surf.x), np.asarray(surf.y), np.asarray(surf.z)], axis=-1)
    np.testing.assert_allclose(np.linalg.norm(xyz, axis=-1), r, rtol=1e-12)
    # K = 1/r² everywhere; the diverging scale is centred on zero and covers it
    np.testing.assert_allclose(np.asarray(surf.surfacecolor), 1 / r**2, rtol=1e-9)
    assert surf.cmid == 0.0 and surf.cmin == -surf.cmax
    assert surf.cmax >= 1 / r**2 - 1e-12


def test_surface_figure_is_labelled():
    fig = figs.make_surface_figure(surfaces.get("torus"), field="mean", resolution=20)
    assert "Mean curvature" in fig.layout.title.text
    assert fig.layout.scene.xaxis.title.text == "x"
    assert fig.layout.scene.zaxis.title.text == "z"
    assert _traces(fig, "surface")[0].colorbar.title.text == "H"


def test_torus_colour_is_signed_curvature():
    torus = surfaces.get("torus", R=2.0, r=0.8)
    fig = figs.make_surface_figure(torus, resolution=25)
    surf = _traces(fig, "surface")[0]
    uu, _ = torus.grid(25, 25)
    expected = np.cos(uu) / (0.8 * (2.0 + 0.8 * np.cos(uu)))
    np.testing.assert_allclose(np.asarray(surf.surfacecolor), expected, atol=1e-12)


def test_curves_are_drawn_on_the_surface():
    sphere = surfaces.get("sphere")
    geo = geodesics.exp_map(sphere, (1.0, 0.5), (0.3, 0.8))
    fig = figs.make_surface_figure(sphere, curves=[figs.Curve(geo.coords, "g", geo.xyz)],
                                   resolution=20)
    line = _traces(fig, "scatter3d")[0]
    pts = np.stack([line.x, line.y, line.z], axis=-1).astype(float)
    # lifted slightly off the surface along the normal (towards the camera), never far from it
    radius = np.linalg.norm(pts, axis=-1)
    assert np.all(np.abs(radius - 1.0) > 1e-4) and np.all(np.abs(radius - 1.0) < 0.02)
    towards_camera = pts - geo.xyz
    assert np.all(towards_camera @ np.array([1.3, 1.3, 1.45]) > 0)


def test_parameter_map_heatmap_is_the_curvature():
    saddle = surfaces.get("saddle", a=0.5)
    fig = figs.make_parameter_map(saddle, resolution=31)
    heat = _traces(fig, "heatmap")[0]
    x, y, z = np.asarray(heat.x), np.asarray(heat.y), np.asarray(heat.z)
    uu, vv = np.meshgrid(x, y, indexing="ij")
    np.testing.assert_allclose(z.T, saddle.gaussian_curvature(uu, vv), rtol=1e-12)
    assert heat.zmid == 0.0
    assert fig.layout.xaxis.title.text == "u" and fig.layout.yaxis.title.text == "v"
    assert all(v <= 0 for v in z.ravel())  # a saddle has K < 0 everywhere


def test_parameter_map_has_a_clickable_grid():
    fig = figs.make_parameter_map(surfaces.get("torus"), resolution=20)
    grid = [t for t in fig.data if t.type == "scatter" and t.mode == "markers"]
    assert grid and len(grid[0].x) > 100
    assert fig.layout.clickmode == "event+select"


@given(st.lists(st.floats(0, 2 * np.pi - 1e-9), min_size=2, max_size=40))
@settings(max_examples=60, deadline=None)
def test_split_periodic_breaks_only_at_wraps(values):
    coords = np.stack([np.asarray(values), np.zeros(len(values))], axis=-1)
    out = figs.split_periodic(coords, [2 * np.pi, 0.0])
    finite = out[np.isfinite(out[:, 0])]
    np.testing.assert_array_equal(finite, coords)  # nothing lost or moved
    jumps = np.sum(np.abs(np.diff(coords[:, 0])) > np.pi)
    assert np.sum(~np.isfinite(out[:, 0])) == jumps
    # within each run between breaks no step is longer than half a period
    for seg in np.split(out[:, 0], np.where(~np.isfinite(out[:, 0]))[0]):
        seg = seg[np.isfinite(seg)]
        assert np.all(np.abs(np.diff(seg)) <= np.pi)


def test_indicatrices_are_unit_circles_of_the_metric():
    hp = metrics.poincare_half_plane()
    ell = figs.indicatrices(hp, n=5)
    pieces = np.split(ell, np.where(np.isnan(ell[:, 0]))[0])
    radii = []
    for piece in pieces:
        piece = piece[np.isfinite(piece[:, 0])]
        if len(piece) == 0:
            continue
        piece = piece[:-1]  # the closing sample repeats the first
        centre = piece.mean(axis=0)
        r = np.linalg.norm(piece - centre, axis=1)
        np.testing.assert_allclose(r, r[0], rtol=1e-12)  # conformal: circles (measured 1.6e-14)
        radii.append((centre[1], r[0]))
    radii = np.array(radii)
    # g = (dx² + dy²)/y²: the Euclidean radius of a g-circle grows like y
    np.testing.assert_allclose(radii[:, 1] / radii[:, 0], radii[0, 1] / radii[0, 0],
                               rtol=1e-12)  # measured 1e-14


def test_gaussian_family_ellipses_are_sqrt2_elongated():
    ell = figs.indicatrices(metrics.gaussian_fisher(), n=3)
    piece = ell[: np.where(np.isnan(ell[:, 0]))[0][0]][:-1]  # the closing sample repeats
    # g = (dμ² + 2dσ²)/σ²: unit circle has semi-axes σ and σ/√2. Samples equally spaced in the
    # ellipse's angle parameter have second moments in the ratio of the squared semi-axes
    # exactly (the extent of the samples would miss the extremes by 8e-4); measured 2e-16.
    centred = piece - piece.mean(axis=0)
    assert np.var(centred[:, 0]) / np.var(centred[:, 1]) == pytest.approx(2.0, rel=1e-12)


def test_gaussian_path_densities_integrate_to_one():
    path = np.stack([np.linspace(-1, 1, 50), np.linspace(0.5, 1.5, 50)], axis=-1)
    fig = figs.make_gaussian_path_figure(path, n_curves=5)
    assert len(fig.data) == 5
    for tr in fig.data:
        x, y = np.asarray(tr.x), np.asarray(tr.y)
        assert np.trapezoid(y, x) == pytest.approx(1.0, abs=2e-3)
    assert fig.layout.yaxis.title.text.startswith("density")


def test_transport_arrows_keep_their_length_on_the_sphere():
    sphere = surfaces.get("sphere")
    tr = analysis.transport_around(sphere, geodesics.coordinate_loop(sphere, 0.9))
    arrows = figs.transport_arrows(tr, n_arrows=12, length_3d=0.3)
    assert 12 <= len(arrows) <= 13
    lengths = [np.linalg.norm(a.vector_xyz) for a in arrows]
    np.testing.assert_allclose(lengths, 0.3, rtol=1e-4)  # parallel transport is an isometry
    for a in arrows:  # tangent to the sphere: orthogonal to the radius
        assert abs(np.dot(a.vector_xyz, a.base_xyz)) < 1e-4


def test_metric_plane_title_states_the_curvature():
    fig = figs.make_metric_plane(metrics.gaussian_fisher())
    assert "-0.5" in fig.layout.title.text
    assert fig.layout.xaxis.title.text == "μ"
    assert fig.layout.yaxis.scaleanchor == "x"
