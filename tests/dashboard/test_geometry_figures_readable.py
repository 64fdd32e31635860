"""Issue 7, Surfaces & geodesics: the figures read on a projector and nothing misleads.

Defaults stay inside their chart, stopping curves are described in words, transport pictures
mark the start, the first and the last vector and the angle between them, flat regions keep a
zero colour, and the 3-D scene is unclipped, equal in scale and turned towards the start point.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

from dashboard.figures import geometry as figs
from geomcore.geometry import analysis, geodesics, metrics, surfaces

GEOMETRY_SRC = Path(__file__).resolve().parents[2] / "geomcore" / "geometry"


def _default_geodesic(space, name: str) -> geodesics.Geodesic:
    d = figs.start_defaults(name)
    if isinstance(space, surfaces.ParametricSurface):
        (u0, u1), (v0, v1) = space.u_range, space.v_range
    else:
        (u0, u1), (v0, v1) = figs.finite_domain(space)
    # the page rounds the start point to 3 decimals
    p = np.array([round(u0 + d.u_frac * (u1 - u0), 3), round(v0 + d.v_frac * (v1 - v0), 3)])
    v = geodesics.unit_vector(space, p, math.radians(d.angle)) * d.length
    return geodesics.exp_map(space, p, v, 1.0, n_points=300)


@pytest.mark.parametrize("name", surfaces.names())
def test_every_catalog_surface_opens_with_a_geodesic_inside_its_chart(name):
    geo = _default_geodesic(surfaces.get(name), name)
    assert geo.status == "ok", (name, geo.message)
    assert geo.length == pytest.approx(figs.start_defaults(name).length, rel=1e-3)


@pytest.mark.parametrize("name", metrics.names())
def test_every_statistical_manifold_opens_with_a_geodesic_inside_its_domain(name):
    geo = _default_geodesic(metrics.get(name), name)
    assert geo.status == "ok", (name, geo.message)


def _statuses_in_geomcore() -> set[str]:
    """Every status string geomcore/geometry assigns or documents (status=…, st = …, the
    Geodesic docstring's list)."""
    found: set[str] = set()
    for path in GEOMETRY_SRC.glob("*.py"):
        for line in path.read_text().splitlines():
            if "status" in line or re.search(r"\bst = ", line):
                found |= set(re.findall(r"[\"`]{1,2}([a-z]+_[a-z_]+|ok|singular)[\"`]{1,2}",
                                        line))
    return found


def test_the_status_grep_finds_the_known_codes():
    assert {"ok", "left_domain", "singular", "not_converged"} <= _statuses_in_geomcore()


@pytest.mark.parametrize("status", sorted(_statuses_in_geomcore() | {"some_new_code"}))
def test_every_status_becomes_a_sentence_without_the_code(status):
    geo = geodesics.Geodesic(coords=np.zeros((2, 2)), velocities=np.zeros((2, 2)),
                             times=np.array([0.0, 0.47]), xyz=None, length=0.4712,
                             status=status, message="internal")
    text = figs.stop_sentence(geo)
    assert status not in text
    assert "0.47" in text and text.endswith(".") and text[0].isupper()
    if status != "ok":
        assert "drawn up to there" in text


def test_a_geodesic_off_the_saddle_says_where_it_stopped():
    saddle = surfaces.get("saddle")
    geo = geodesics.exp_map(saddle, (0.0, 0.0), (1.0, 0.0), 10.0)
    assert geo.status == "left_domain"
    assert figs.stop_sentence(geo) == (
        f"The geodesic reached the edge of the chart after length {geo.length:.2f}; it is "
        "drawn up to there.")


def test_reduce_angle_lands_in_the_holonomy_range():
    assert figs.reduce_angle(6.17154) == pytest.approx(6.17154 - 2 * np.pi, abs=1e-12)
    assert figs.reduce_angle(-np.pi) == pytest.approx(np.pi)
    assert figs.reduce_angle(np.pi) == pytest.approx(np.pi)
    assert figs.reduce_angle(0.3) == pytest.approx(0.3)


def test_torus_parallel_holonomy_and_curvature_agree_in_degrees():
    torus = surfaces.get("torus")
    tr = analysis.transport_around(torus, geodesics.coordinate_loop(torus, 1.382, n_points=361))
    total = tr.gauss_bonnet_total
    # the same unit, the same range: the two numbers shown side by side agree
    assert math.degrees(figs.reduce_angle(total)) == pytest.approx(
        math.degrees(tr.holonomy), abs=0.1)


def test_transport_drawing_marks_first_last_and_the_angle_between():
    sphere = surfaces.get("sphere")
    loop = geodesics.coordinate_circle((1.0, 1.0), 0.4, n_points=361)
    tr = analysis.transport_around(sphere, loop)
    d = figs.transport_drawing(tr, length_3d=0.3)
    np.testing.assert_allclose(d.first.base_xyz, tr.loop_xyz[0])
    np.testing.assert_allclose(d.last.base_xyz, tr.loop_xyz[0])
    # the arc turns from the first vector to the last: its end directions make the holonomy
    a, b = d.arc_xyz[0] - tr.loop_xyz[0], d.arc_xyz[-1] - tr.loop_xyz[0]
    angle = np.arccos(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
    assert angle == pytest.approx(abs(tr.holonomy), abs=1e-6)
    fig = figs.make_surface_figure(sphere, transport=d, points=[((1.0, 1.0), "centre")],
                                   resolution=20)
    names = {t.name for t in fig.data}
    assert {"first vector", "after one turn", "holonomy angle"} <= names
    assert sum(t.type == "cone" for t in fig.data) == 3  # arrowheads, not sticks
    texts = [a.text for a in fig.layout.scene.annotations]
    assert "loop starts here" in texts and "centre" in texts
    assert f"{math.degrees(tr.holonomy):.1f}°" in texts
    flat = figs.make_parameter_map(sphere, transport=d, resolution=20)
    assert "loop starts here" in [a.text for a in flat.layout.annotations]


def test_point_labels_sit_in_boxes_in_both_views():
    torus = surfaces.get("torus")
    pts = [((1.0, 1.0), "start"), ((2.0, 2.0), "end")]
    for fig, notes in [
        (figs.make_surface_figure(torus, points=pts, resolution=20), "scene"),
        (figs.make_parameter_map(torus, points=pts, resolution=20), "layout"),
    ]:
        ann = fig.layout.scene.annotations if notes == "scene" else fig.layout.annotations
        assert [a.text for a in ann] == ["start", "end"]
        assert all(a.bgcolor and a.bgcolor.startswith("rgba(255,255,255") for a in ann)
        assert not any("text" in (getattr(t, "mode", None) or "") for t in fig.data)


def _rgb(hex_colour: str) -> np.ndarray:
    return np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)], float)


def test_geodesic_ink_contrasts_with_both_ends_of_the_scale():
    ink = _rgb(figs.curve_ink(0))
    navy, dark_red = _rgb("#053061"), _rgb("#67001F")
    assert np.linalg.norm(ink - navy) > 200 and np.linalg.norm(ink - dark_red) > 150


@pytest.mark.parametrize("name", ["cylinder", "cone"])
def test_flat_surfaces_show_zero_as_zero(name):
    fig = figs.make_surface_figure(surfaces.get(name), resolution=24)
    surf = fig.data[0]
    assert np.all(np.asarray(surf.surfacecolor) == 0.0)
    assert (surf.cmin, surf.cmax) == (-1.0, 1.0)
    middle = dict(surf.colorscale)[0.5]
    assert middle != "rgb(247,247,247)" and _rgb(middle).max() < 240  # grey, not white


def test_a_flat_custom_plane_is_visible_and_not_clipped():
    plane = surfaces.from_expressions("u", "v", "0", (-1.0, 1.0), (-1.0, 1.0))
    fig = figs.make_surface_figure(plane, resolution=12)
    scene = fig.layout.scene
    assert scene.zaxis.range[1] - scene.zaxis.range[0] > 0.3  # not a sheet of zero height
    assert np.all(np.asarray(fig.data[0].surfacecolor) == 0.0)


@pytest.mark.parametrize("name", ["saddle", "torus", "gaussian_bump"])
def test_scene_ranges_cover_the_surface_with_equal_scales(name):
    surf = surfaces.get(name)
    fig = figs.make_surface_figure(surf, resolution=24)
    s, trace = fig.layout.scene, fig.data[0]
    ranges, ratios = [], []
    for axis, data, ratio in [(s.xaxis, trace.x, s.aspectratio.x),
                              (s.yaxis, trace.y, s.aspectratio.y),
                              (s.zaxis, trace.z, s.aspectratio.z)]:
        data = np.asarray(data, float)
        lo, hi = axis.range
        assert lo < data.min() and data.max() < hi  # a margin on both sides: no clipping
        ranges.append(hi - lo)
        ratios.append(ratio)
    np.testing.assert_allclose(np.array(ratios) / max(ratios),
                               np.array(ranges) / max(ranges), rtol=1e-9)
    assert s.xaxis.nticks <= 5


@pytest.mark.parametrize("name, uv", [("torus", (np.pi, 1.0)), ("torus", (1.38, 0.9)),
                                      ("sphere", (2.5, 4.0)), ("ellipsoid", (1.0, 3.5)),
                                      ("saddle", (0.0, 0.0))])
def test_camera_turns_towards_the_start_point(name, uv):
    surf = surfaces.get(name)
    fig = figs.make_surface_figure(surf, points=[(np.array(uv), "start")], resolution=48)
    eye = fig.layout.scene.camera.eye
    d = np.array([eye.x, eye.y, eye.z])
    d /= np.linalg.norm(d)
    # nothing of the surface lies on the line of sight from the point towards the camera
    uu, vv = surf.grid(48, 48)
    grid = surf.point(uu, vv).reshape(-1, 3)
    size = np.ptp(grid, axis=0).max()
    ray = surf.points(np.array(uv)) + np.linspace(0.06, 2.5, 60)[:, None] * size * d
    gap = np.sqrt(((ray[:, None] - grid[None]) ** 2).sum(-1)).min()
    assert gap > 0.02 * size
    assert not np.allclose(d, np.array([1.3, 1.3, 1.45]) / np.linalg.norm([1.3, 1.3, 1.45]))


def test_half_planes_do_not_show_negative_y():
    for m in (metrics.poincare_half_plane(), metrics.gaussian_fisher()):
        fig = figs.make_metric_plane(m)
        assert fig.layout.yaxis.range[0] == 0.0
        assert fig.layout.yaxis.constrain == "domain" and fig.layout.xaxis.constrain == "domain"
        assert "not true size" in fig.data[0].name
        assert "<br>K = " in fig.layout.title.text  # two short lines, never cut off


def test_long_titles_wrap():
    fig = figs.make_surface_figure(surfaces.get("monkey_saddle"), field="mean", resolution=12)
    lines = fig.layout.title.text.split("<br>")
    assert len(lines) >= 1 and all(len(line) <= 44 for line in lines)


def test_the_sphere_mesh_has_no_collapsed_row_at_its_poles():
    """A row of the mesh collapsed to the pole has degenerate triangles (a stray dot in
    WebGL): the edge rows sit just inside the poles, and the mesh still closes to 1e-3."""
    sphere = surfaces.get("sphere")
    fig = figs.make_surface_figure(sphere)
    mesh = fig.data[0]
    x, y, z = (np.asarray(getattr(mesh, c), dtype=float) for c in "xyz")
    for row in (0, -1):
        spread = max(np.ptp(x[row]), np.ptp(y[row]))
        assert spread > 1e-6
        assert abs(abs(z[row]).max() - 1.0) < 1e-3
