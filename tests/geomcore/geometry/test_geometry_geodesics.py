"""Geodesics: the exponential and logarithm maps, sprays, distances and how curves stop."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

from geomcore.geometry import geodesics, metrics, surfaces
from geomcore.geometry.geodesics import (
    MAX_POINTS,
    Geodesic,
    GeodesicError,
    distance,
    exp_map,
    log_map,
    spray,
)
from geomcore.geometry.metrics import gaussian_fisher, poincare_half_plane

TWO_PI = 2 * np.pi


def sphere_frame(p):
    """Unit-sphere point and the tangent vectors r_u, r_v at p = (polar angle, longitude)."""
    u, v = p
    x = np.array([np.sin(u) * np.cos(v), np.sin(u) * np.sin(v), np.cos(u)])
    ru = np.array([np.cos(u) * np.cos(v), np.cos(u) * np.sin(v), -np.sin(u)])
    rv = np.array([-np.sin(u) * np.sin(v), np.sin(u) * np.cos(v), 0.0])
    return x, ru, rv


def great_circle(p, v, t):
    """exp on the unit sphere in R³: x(t) = cos(|w|t) x0 + sin(|w|t) w/|w|,
    w = v^u r_u + v^v r_v."""
    x0, ru, rv = sphere_frame(p)
    w = v[0] * ru + v[1] * rv
    speed = np.linalg.norm(w)
    return np.cos(speed * t)[:, None] * x0 + np.sin(speed * t)[:, None] * (w / speed)


def unit_sphere_xyz(uv):
    uv = np.asarray(uv, float)
    return np.stack([np.sin(uv[..., 0]) * np.cos(uv[..., 1]),
                     np.sin(uv[..., 0]) * np.sin(uv[..., 1]), np.cos(uv[..., 0])], axis=-1)


def energy(space, geo):
    """g(ẋ, ẋ) along the curve, recomputed here from the metric (not from the Geodesic)."""
    m = space.intrinsic_metric() if isinstance(space, surfaces.ParametricSurface) else space
    x = geo.unwrapped
    return np.einsum("ni,nij,nj->n", geo.velocities, m.metric(x), geo.velocities)


# -- closed forms --------------------------------------------------------------------------------
@pytest.mark.parametrize(("p", "v", "t"), [
    ((1.0, 0.5), (0.3, 0.8), 2.0),
    ((np.pi / 2, 0.0), (0.0, 1.0), TWO_PI),  # the equator, once around
    ((0.7, 4.0), (-0.4, 0.2), 1.5),
    ((2.2, 1.0), (0.5, -0.3), 1.0),
])
def test_exp_map_on_the_sphere_is_a_great_circle(p, v, t):
    s = surfaces.get("sphere")
    geo = exp_map(s, p, v, t=t, n_points=120)
    assert geo.status == "ok", geo.message
    assert geo.coords.shape == (120, 2) and geo.velocities.shape == (120, 2)
    assert geo.xyz.shape == (120, 3)
    np.testing.assert_allclose(geo.times, np.linspace(0, t, 120))
    np.testing.assert_allclose(geo.xyz, great_circle(p, v, geo.times), atol=1e-8)
    speed = np.sqrt(v[0] ** 2 + np.sin(p[0]) ** 2 * v[1] ** 2)
    assert geo.length == pytest.approx(speed * t, rel=1e-8)
    np.testing.assert_allclose(geo.start, p, atol=1e-15)


@pytest.mark.parametrize("r", [0.5, 2.0])
def test_exp_map_scales_with_the_sphere_radius(r):
    """On a sphere of radius r the same coordinate velocity traces the same circle, r times
    longer."""
    geo = exp_map(surfaces.get("sphere", r=r), (1.0, 0.5), (0.3, 0.8), t=2.0)
    unit = exp_map(surfaces.get("sphere"), (1.0, 0.5), (0.3, 0.8), t=2.0)
    np.testing.assert_allclose(geo.xyz, r * unit.xyz, atol=1e-9)
    assert geo.length == pytest.approx(r * unit.length, rel=1e-10)


def test_log_map_distance_on_the_sphere_is_the_arc_length():
    rng = np.random.default_rng(0)
    s = surfaces.get("sphere")
    for _ in range(12):
        p = np.array([rng.uniform(0.4, np.pi - 0.4), rng.uniform(0, TWO_PI)])
        q = np.array([rng.uniform(0.4, np.pi - 0.4), rng.uniform(0, TWO_PI)])
        arc = np.arccos(np.clip(unit_sphere_xyz(p) @ unit_sphere_xyz(q), -1, 1))
        geo = log_map(s, p, q)
        assert geo.status == "ok", geo.message
        assert geo.length == pytest.approx(arc, rel=1e-7)
        np.testing.assert_allclose(geo.xyz[-1], unit_sphere_xyz(q), atol=1e-7)
        np.testing.assert_allclose(geo.xyz, great_circle(p, geo.velocities[0], geo.times),
                                   atol=1e-7)


def test_distance_on_a_sphere_of_radius_r():
    r = 1.8
    p, q = np.array([0.9, 0.3]), np.array([1.9, 2.0])
    arc = np.arccos(unit_sphere_xyz(p) @ unit_sphere_xyz(q))
    assert distance(surfaces.get("sphere", r=r), p, q) == pytest.approx(r * arc, rel=1e-7)


@pytest.mark.parametrize(("R", "r", "p", "v"), [
    (2.0, 0.8, (0.4, 1.0), (0.7, 0.5)),
    (2.0, 0.8, (3.0, 0.0), (0.2, 0.9)),
    (3.0, 0.5, (1.0, 2.0), (-1.5, 0.3)),
])
def test_clairaut_constant_is_conserved_on_the_torus(R, r, p, v):
    """The torus is a surface of revolution, so (R + r cos u)² v̇ is a first integral."""
    torus = surfaces.get("torus", R=R, r=r)
    geo = exp_map(torus, p, v, t=10.0, n_points=500)
    assert geo.status == "ok"
    u = geo.coords[:, 0]
    clairaut = (R + r * np.cos(u)) ** 2 * geo.velocities[:, 1]
    assert np.ptp(clairaut) < 1e-8 * abs(clairaut[0])
    assert np.ptp(u) > 0.1  # the geodesic really moves across parallels


def _fit_circle_centred_on_the_axis(x, y):
    """(c, ρ) minimising the residual of (x − c)² + y² = ρ²; linear least squares."""
    A = np.stack([2 * x, np.ones_like(x)], axis=1)
    c, k = np.linalg.lstsq(A, x**2 + y**2, rcond=None)[0]
    return c, np.sqrt(k + c**2)


@pytest.mark.parametrize(("p", "v"), [((0.0, 1.0), (1.0, 0.5)), ((-1.0, 0.5), (0.2, -0.1)),
                                      ((0.5, 2.0), (-2.0, 1.0))])
def test_poincare_half_plane_geodesic_is_a_semicircle_centred_on_the_axis(p, v):
    hp = poincare_half_plane()
    geo = exp_map(hp, p, v, t=1.5)
    assert geo.status == "ok" and geo.xyz is None
    x, y = geo.coords.T
    c, rho = _fit_circle_centred_on_the_axis(x, y)
    np.testing.assert_allclose(np.hypot(x - c, y), rho, rtol=1e-9)
    # the circle meets the axis at right angles: its centre lies where the tangent line's
    # normal through p hits y = 0, i.e. c = x0 + y0 v_y / v_x
    assert c == pytest.approx(p[0] + p[1] * v[1] / v[0], rel=1e-9, abs=1e-9)
    assert geo.length == pytest.approx(1.5 * np.hypot(*v) / p[1], rel=1e-9)


def test_poincare_half_plane_vertical_geodesic():
    hp = poincare_half_plane()
    geo = exp_map(hp, (0.5, 1.0), (0.0, 1.0), t=1.5)
    assert geo.status == "ok"
    np.testing.assert_allclose(geo.coords[:, 0], 0.5, atol=1e-13)
    np.testing.assert_allclose(geo.coords[:, 1], np.exp(geo.times), rtol=1e-9)


def test_poincare_half_plane_distance_closed_form():
    hp = poincare_half_plane()
    rng = np.random.default_rng(1)
    for _ in range(6):
        p = rng.uniform([-2.0, 0.5], [2.0, 3.0])
        q = rng.uniform([-2.0, 0.5], [2.0, 3.0])
        exact = np.arccosh(1 + np.sum((p - q) ** 2) / (2 * p[1] * q[1]))
        geo = log_map(hp, p, q)
        assert geo.status == "ok"
        assert geo.length == pytest.approx(exact, rel=1e-7)


def test_fisher_rao_distance_is_sqrt2_times_the_half_plane_distance():
    """With μ = √2 x the Fisher metric is 2 × the half-plane metric."""
    gf = gaussian_fisher()
    p, q = np.array([-0.5, 0.8]), np.array([1.0, 1.5])
    xp, xq = np.array([p[0] / np.sqrt(2), p[1]]), np.array([q[0] / np.sqrt(2), q[1]])
    d_h = np.arccosh(1 + np.sum((xp - xq) ** 2) / (2 * xp[1] * xq[1]))
    assert distance(gf, p, q) == pytest.approx(np.sqrt(2) * d_h, rel=1e-7)


def test_euclidean_geodesics_are_straight_lines():
    geo = exp_map(metrics.euclidean_plane(), (1.0, -2.0), (0.5, 3.0), t=2.0, n_points=11)
    np.testing.assert_allclose(geo.coords, [1.0, -2.0] + geo.times[:, None] * [0.5, 3.0],
                               atol=1e-10)
    assert geo.length == pytest.approx(2.0 * np.hypot(0.5, 3.0), rel=1e-12)


def test_cylinder_geodesics_are_helices():
    """Unrolled, a cylinder is a plane: (u, r v) moves on a straight line at constant speed."""
    r = 1.3
    geo = exp_map(surfaces.get("cylinder", r=r), (-1.0, 0.5), (0.4, 0.7), t=2.0)
    assert geo.status == "ok"
    np.testing.assert_allclose(geo.unwrapped, [-1.0, 0.5] + geo.times[:, None] * [0.4, 0.7],
                               atol=1e-9)


# -- spray ---------------------------------------------------------------------------------------
def test_spray_matches_single_geodesics_and_traces_geodesic_circles():
    s = surfaces.get("sphere")
    p = np.array([1.2, 0.4])
    length = 1.0
    fan = spray(s, p, 12, length, n_points=60)
    assert len(fan) == 12
    m = s.intrinsic_metric()
    for geo in fan:
        assert geo.status == "ok"
        assert float(m.norm(p, geo.velocities[0])) == pytest.approx(length, rel=1e-12)
        assert geo.length == pytest.approx(length, rel=1e-7)
        # the points at time 1 lie on the geodesic circle of radius `length` about p
        arc = np.arccos(np.clip(unit_sphere_xyz(p) @ geo.xyz[-1], -1, 1))
        assert arc == pytest.approx(length, rel=1e-6)
        single = exp_map(s, p, geo.velocities[0], t=1.0, n_points=60)
        np.testing.assert_allclose(geo.coords, single.coords, atol=1e-7)
    # equally spaced directions: consecutive initial velocities make equal angles
    v0 = np.array([g.velocities[0] for g in fan])
    cos = np.einsum("ni,ij,nj->n", v0, m.metric(p), np.roll(v0, -1, axis=0)) / length**2
    np.testing.assert_allclose(cos, np.cos(TWO_PI / 12), atol=1e-12)


def test_spray_on_the_torus_keeps_each_energy():
    torus = surfaces.get("torus")
    fan = spray(torus, (0.5, 1.0), 16, 3.0, n_points=80)
    assert [g.status for g in fan] == ["ok"] * 16
    for geo in fan:
        e = energy(torus, geo)
        assert np.ptp(e) < 1e-6 * e[0]


# -- properties ----------------------------------------------------------------------------------
GEODESIC_SURFACES = ["sphere", "ellipsoid", "torus", "saddle", "monkey_saddle", "paraboloid",
                     "catenoid", "helicoid", "pseudosphere", "gaussian_bump", "cylinder", "cone"]


@settings(max_examples=40, deadline=None, derandomize=True)
@given(name=st.sampled_from(GEODESIC_SURFACES), a=st.floats(0.2, 0.8), b=st.floats(0.0, 1.0),
       angle=st.floats(0.0, TWO_PI), speed=st.floats(0.1, 1.5))
def test_speed_is_conserved_along_geodesics(name, a, b, angle, speed):
    s = surfaces.get(name)
    m = s.intrinsic_metric()
    (u0, u1), (v0, v1) = s.u_range, s.v_range
    p = np.array([u0 + a * (u1 - u0), v0 + b * (v1 - v0)])
    v = speed * geodesics.unit_vector(m, p, angle)
    geo = exp_map(s, p, v, t=1.0, n_points=100)
    assert geo.status in ("ok", "left_domain", "singular")
    assume(len(geo.coords) >= 5)
    e = energy(s, geo)
    assert np.max(np.abs(e - speed**2)) < 1e-8 * speed**2
    assert geo.energy_drift < 1e-8
    assert geo.length == pytest.approx(speed * geo.times[-1], rel=1e-8)


@settings(max_examples=25, deadline=None, derandomize=True)
@given(a=st.floats(0.6, np.pi - 0.6), b=st.floats(0.0, TWO_PI), angle=st.floats(0.0, TWO_PI),
       size=st.floats(0.05, 0.45))
def test_exp_log_round_trip_on_the_sphere(a, b, angle, size):
    s = surfaces.get("sphere")
    p = np.array([a, b])
    v = size * geodesics.unit_vector(s.intrinsic_metric(), p, angle)
    end = exp_map(s, p, v).end
    back = log_map(s, p, end)
    assert back.status == "ok"
    np.testing.assert_allclose(back.velocities[0], v, atol=1e-6)
    assert back.length == pytest.approx(size, rel=1e-6)


@settings(max_examples=25, deadline=None, derandomize=True)
@given(a=st.floats(0.0, TWO_PI), b=st.floats(0.0, TWO_PI), angle=st.floats(0.0, TWO_PI),
       size=st.floats(0.05, 1.2))
def test_exp_log_round_trip_on_the_torus(a, b, angle, size):
    """Within the injectivity radius (< πr = 2.5 for r = 0.8) log_p inverts exp_p."""
    torus = surfaces.get("torus")
    p = np.array([a, b])
    v = size * geodesics.unit_vector(torus.intrinsic_metric(), p, angle)
    end = exp_map(torus, p, v).end
    back = log_map(torus, p, end)
    assert back.status == "ok"
    np.testing.assert_allclose(back.velocities[0], v, atol=1e-6)
    assert back.length == pytest.approx(size, rel=1e-6)


@settings(max_examples=12, deadline=None, derandomize=True)
@given(p=st.tuples(st.floats(0.0, TWO_PI), st.floats(0.0, TWO_PI)),
       du=st.floats(-1.2, 1.2), dv=st.floats(-0.9, 0.9))
def test_distance_is_symmetric_and_positive_on_the_torus(p, du, dv):
    torus = surfaces.get("torus")
    # q apart from p but within the injectivity radius, where the shortest geodesic is unique
    # (built from an offset rather than filtered, so that no input is wasted)
    assume(abs(du) + abs(dv) > 0.02)
    q = (p[0] + du, p[1] + dv)
    d_pq, d_qp = distance(torus, p, q), distance(torus, q, p)
    assert d_pq > 0
    assert d_pq == pytest.approx(d_qp, rel=1e-7)


@settings(max_examples=10, deadline=None, derandomize=True)
@given(p=st.tuples(st.floats(0.5, 2.6), st.floats(0.0, TWO_PI)),
       q=st.tuples(st.floats(0.5, 2.6), st.floats(0.0, TWO_PI)))
def test_distance_is_symmetric_on_the_sphere(p, q):
    # apart, and not nearly antipodal: there (at the cut locus) log_map may return a longer
    # geodesic than π, the limitation test_torus_distance_is_minimising_... documents
    arc = np.arccos(np.clip(unit_sphere_xyz(p) @ unit_sphere_xyz(q), -1, 1))
    assume(0.01 < arc < 2.6)
    s = surfaces.get("sphere")
    assert distance(s, p, q) == pytest.approx(distance(s, q, p), rel=1e-7)


# -- comparison of two routes -----------------------------------------------------------------
def _torus_graph(torus, n_u, n_v):
    """Grid graph on the torus with a 16-neighbour stencil; edge = metric length of the step
    (midpoint rule)."""
    hu, hv = TWO_PI / n_u, TWO_PI / n_v
    iu, iv = np.meshgrid(np.arange(n_u), np.arange(n_v), indexing="ij")
    index = iu * n_v + iv
    rows, cols, weights = [], [], []
    for a, b in [(1, 0), (0, 1), (1, 1), (1, -1), (1, 2), (2, 1), (1, -2), (2, -1)]:
        step = np.array([a * hu, b * hv])
        g = torus.metric((iu + a / 2) * hu, (iv + b / 2) * hv)
        weights.append(np.sqrt(np.einsum("i,...ij,j->...", step, g, step)).ravel())
        rows.append(index.ravel())
        cols.append((((iu + a) % n_u) * n_v + (iv + b) % n_v).ravel())
    n = n_u * n_v
    graph = coo_matrix((np.concatenate(weights), (np.concatenate(rows), np.concatenate(cols))),
                       shape=(n, n)).tocsr()
    return graph, hu, hv


def test_torus_distance_agrees_with_a_graph_shortest_path():
    """Dijkstra on a fine grid gives an upper bound within a few % of the true distance, so our
    geodesic must not be longer than it (it would not be the shortest) nor much shorter (it
    would not be a curve between the two points)."""
    torus = surfaces.get("torus")  # R = 2, r = 0.8
    n_u, n_v = 100, 250  # steps of similar metric length: r h_u ≈ R h_v
    graph, hu, hv = _torus_graph(torus, n_u, n_v)
    rng = np.random.default_rng(3)
    sources = rng.integers(0, [n_u, n_v], size=(4, 2))
    dist = dijkstra(graph, directed=False, indices=sources[:, 0] * n_v + sources[:, 1])
    checked = 0
    for k, src in enumerate(sources):
        # pairs within the injectivity radius (< π r ≈ 2.5), where the geodesic is unique
        near = np.flatnonzero((dist[k] > 0.3) & (dist[k] < 2.3))
        for node in rng.choice(near, size=6, replace=False):
            p = src * [hu, hv]
            q = np.array([node // n_v, node % n_v]) * [hu, hv]
            ours = distance(torus, p, q)
            graph_d = dist[k, node]
            assert graph_d >= ours * (1 - 1e-3), (p, q, ours, graph_d)
            assert graph_d <= ours * 1.06, (p, q, ours, graph_d)
            checked += 1
    assert checked == 24


def test_torus_distance_is_minimising_for_far_points():
    """(0, 0) to (0, π) on the outer equator: the equator arc (R + r)π = 8.80 passes a
    conjugate point (K = 1/(r(R + r)) there), so it is not shortest; Dijkstra finds ≈ 7.2."""
    torus = surfaces.get("torus")
    graph, hu, hv = _torus_graph(torus, 100, 250)
    graph_d = dijkstra(graph, directed=False, indices=0)[125]  # node (0, 125) = (0, π)
    assert graph_d < 7.3
    assert distance(torus, (0.0, 0.0), (0.0, np.pi)) <= graph_d * (1 + 1e-3)


@pytest.mark.parametrize(("name", "p", "q"), [
    ("sphere", (1.0, 0.5), (1.6, 1.4)),
    ("torus", (1.0, 0.5), (1.6, 1.4)),
    ("ellipsoid", (0.8, 0.2), (1.9, 1.1)),
    ("gaussian_bump", (-1.5, -1.0), (-0.5, -1.6)),
    ("gaussian_bump", (0.3, 0.2), (-0.4, 0.5)),
    ("catenoid", (-0.5, 0.3), (0.8, 1.5)),
    ("pseudosphere", (0.5, 0.3), (1.5, 1.2)),
    ("helicoid", (0.5, -1.0), (-0.4, 1.0)),
])
def test_log_map_velocity_agrees_with_the_boundary_value_solver(name, p, q):
    """Shooting (Newton on exp_p) and scipy's solve_bvp find the same initial velocity."""
    s = surfaces.get(name)
    geo = log_map(s, p, q)
    assert geo.status == "ok"
    v_bvp = geodesics._bvp(s.intrinsic_metric(), np.asarray(p, float), np.asarray(q, float))
    assert v_bvp is not None
    np.testing.assert_allclose(geo.velocities[0], v_bvp, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(geo.coords[-1], q, atol=1e-7)


def test_log_map_keeps_the_shorter_of_two_geodesics():
    """Across the Gaussian bump two geodesics join these points; solve_bvp from the straight
    segment finds the longer one, log_map must return the shorter."""
    s = surfaces.get("gaussian_bump")
    p, q = np.array([-1.0, -0.5]), np.array([1.0, 0.8])
    m = s.intrinsic_metric()
    v_bvp = geodesics._bvp(m, p, q)
    geo = log_map(s, p, q)
    assert geo.status == "ok"
    np.testing.assert_allclose(exp_map(s, p, v_bvp).end, q, atol=1e-6)  # a genuine geodesic
    assert geo.length < float(m.norm(p, v_bvp)) - 0.1


def test_log_map_falls_back_to_the_boundary_value_solver(monkeypatch):
    """With shooting disabled, solve_bvp alone still finds the geodesic."""
    s = surfaces.get("sphere")
    p, q = np.array([1.0, 0.5]), np.array([1.6, 1.4])
    expected = log_map(s, p, q).velocities[0]
    monkeypatch.setattr(geodesics, "_shoot", lambda *args, **kwargs: None)
    geo = log_map(s, p, q)
    assert geo.status == "ok"
    np.testing.assert_allclose(geo.velocities[0], expected, rtol=1e-6)


def test_log_map_reports_failure_when_no_solver_converges(monkeypatch):
    s = surfaces.get("sphere")
    monkeypatch.setattr(geodesics, "_shoot", lambda *args, **kwargs: None)
    monkeypatch.setattr(geodesics, "_shoot_atlas", lambda *args, **kwargs: None)  # the sphere's
    monkeypatch.setattr(geodesics, "_bvp", lambda *args, **kwargs: None)
    geo = log_map(s, (1.0, 0.5), (1.6, 1.4), n_points=30)
    assert geo.status == "not_converged"
    assert "try points closer together" in geo.message
    assert np.isnan(geo.length)
    assert geo.coords.shape == (30, 2)
    np.testing.assert_allclose(geo.coords[[0, -1]], [(1.0, 0.5), (1.6, 1.4)])
    with pytest.raises(GeodesicError, match="no geodesic"):
        distance(s, (1.0, 0.5), (1.6, 1.4))


def test_log_map_uses_the_nearest_periodic_image():
    """Across the seam v = 0 ≡ 2π the short way round is taken."""
    torus = surfaces.get("torus")
    geo = log_map(torus, (0.0, 0.1), (0.0, TWO_PI - 0.1))
    assert geo.status == "ok"
    assert geo.length == pytest.approx(0.2 * (2.0 + 0.8), rel=1e-7)  # along the outer equator
    assert geo.velocities[0][1] < 0


def test_log_map_with_tied_periodic_images():
    """(0, 0) → (π, 0): the meridian arcs over the top and under the bottom tie in length."""
    torus = surfaces.get("torus")
    geo = log_map(torus, (0.0, 0.0), (np.pi, 0.0))
    assert geo.status == "ok"
    assert geo.length == pytest.approx(0.8 * np.pi, rel=1e-7)


# -- stopping cleanly ------------------------------------------------------------------------
def test_geodesic_into_the_sphere_pole_crosses_it():
    """The pole is a singularity of the coordinates only (issue 7): the meridian geodesic
    continues through it in the atlas's second chart, down the opposite meridian."""
    s = surfaces.get("sphere")
    geo = exp_map(s, (0.5, 0.0), (-1.0, 0.0), t=2.0, n_points=200)
    assert geo.status == "ok"
    assert geo.length == pytest.approx(2.0, rel=1e-9)
    # after the pole: polar angle t − 0.5 on the meridian v = π
    after = geo.times > 0.6
    np.testing.assert_allclose(geo.coords[after, 0], geo.times[after] - 0.5, atol=1e-8)
    np.testing.assert_allclose(geo.coords[after, 1], np.pi, atol=1e-8)


def test_geodesic_into_the_cone_apex_stops_as_singular():
    cone = surfaces.get("cone")
    geo = exp_map(cone, (1.0, 0.0), (-1.0, 0.0), t=2.0, n_points=200)
    assert geo.status == "singular"
    assert geo.coords[-1, 0] < 0.05
    assert np.all(geo.coords[:, 0] >= 0.0)


def test_geodesic_leaving_the_saddle_square_stops_inside_it():
    saddle = surfaces.get("saddle")
    geo = exp_map(saddle, (0.0, 0.0), (1.0, 0.3), t=5.0, n_points=200)
    assert geo.status == "left_domain"
    assert "left the parameter domain" in geo.message
    assert 10 < len(geo.coords) < 200
    (u0, u1), (v0, v1) = saddle.u_range, saddle.v_range
    assert np.all((geo.coords[:, 0] >= u0) & (geo.coords[:, 0] <= u1))
    assert np.all((geo.coords[:, 1] >= v0) & (geo.coords[:, 1] <= v1))
    assert geo.coords[-1, 0] > 0.9 * u1  # it got close to the edge it was heading for
    assert len(geo.velocities) == len(geo.times) == len(geo.xyz) == len(geo.coords)


def test_geodesic_leaving_the_half_plane_window_stops():
    geo = exp_map(poincare_half_plane(), (0.5, 1.0), (0.0, 1.0), t=3.0)
    assert geo.status == "left_domain"
    assert geo.coords[-1, 1] <= 6.0


def test_periodic_coordinates_wrap_into_range():
    torus = surfaces.get("torus")
    geo = exp_map(torus, (0.1, 6.2), (-1.0, 1.0), t=2.0)
    assert geo.status == "ok"
    assert np.all((geo.coords >= 0.0) & (geo.coords < TWO_PI))
    # the unwrapped curve crossed both seams, and wrapping it gives the stored coordinates
    assert geo.unwrapped[:, 0].min() < 0 and geo.unwrapped[:, 1].max() > TWO_PI
    np.testing.assert_allclose(geo.coords, np.mod(geo.unwrapped, TWO_PI), atol=1e-12)
    np.testing.assert_allclose(geo.xyz, torus.points(geo.unwrapped), atol=1e-12)


def test_start_point_is_wrapped_too():
    torus = surfaces.get("torus")
    geo = exp_map(torus, (TWO_PI + 0.5, -0.5), (0.1, 0.1), t=1.0)
    np.testing.assert_allclose(geo.start, (0.5, TWO_PI - 0.5), atol=1e-12)


def _odeint_with_mxstep(monkeypatch, mxstep):
    real = geodesics.odeint
    monkeypatch.setattr(geodesics, "odeint",
                        lambda *args, **kwargs: real(*args, **{**kwargs, "mxstep": mxstep}))


def test_integrator_failure_keeps_only_the_part_it_reached(monkeypatch):
    """odeint leaves the rows after a failure uninitialised; they must not become the curve."""
    torus = surfaces.get("torus")
    full = exp_map(torus, (0.5, 0.5), (1.0, 1.0), t=50.0, n_points=20)
    _odeint_with_mxstep(monkeypatch, 30)  # too few steps to reach the first output time
    geo = exp_map(torus, (0.5, 0.5), (1.0, 1.0), t=50.0, n_points=20)
    assert geo.status != "ok"
    assert geo.message
    assert 1 <= len(geo.coords) < 20
    assert len(geo.times) == len(geo.velocities) == len(geo.xyz) == len(geo.coords)
    np.testing.assert_allclose(geo.coords, full.coords[: len(geo.coords)], atol=1e-9)
    np.testing.assert_allclose(geo.times, full.times[: len(geo.coords)])


def test_spray_integrator_failure_keeps_only_the_part_it_reached(monkeypatch):
    torus = surfaces.get("torus")
    _odeint_with_mxstep(monkeypatch, 30)
    fan = spray(torus, (0.5, 0.5), 4, 30.0, n_points=20)
    for geo in fan:
        assert geo.status == "not_converged"
        assert 1 <= len(geo.coords) < 20
        np.testing.assert_allclose(geo.coords[0], (0.5, 0.5))
        # a real initial velocity, not garbage: g-length = the spray's length
        assert float(torus.intrinsic_metric().norm(geo.coords[0], geo.velocities[0])) == \
            pytest.approx(30.0, rel=1e-12)


def test_singular_right_hand_side_stops_the_curve_there(monkeypatch):
    """Where the right-hand side turns NaN (a math-domain error) the curve ends, cleanly."""
    torus = surfaces.get("torus")
    full = exp_map(torus, (0.5, 0.5), (1.0, 1.0), t=20.0, n_points=200)
    real = geodesics.odeint

    def nan_after_ten(rhs, y0, t, **kwargs):
        return real(lambda y, s: [np.nan] * len(y) if s > 10.0 else rhs(y, s), y0, t, **kwargs)

    monkeypatch.setattr(geodesics, "odeint", nan_after_ten)
    geo = exp_map(torus, (0.5, 0.5), (1.0, 1.0), t=20.0, n_points=200)
    assert geo.status == "singular"
    assert 9.0 < geo.times[-1] <= 10.0
    assert np.all(np.isfinite(geo.coords))
    np.testing.assert_allclose(geo.coords, full.coords[: len(geo.coords)], atol=1e-9)


# -- bad input -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("p", "v", "kwargs", "match"), [
    ((4.0, 0.0), (0.1, 0.1), {}, "outside its range"),
    ((-0.1, 0.0), (0.1, 0.1), {}, "outside its range"),
    ((1.0, 0.0, 0.0), (0.1, 0.1), {}, "2 finite coordinates"),
    ((), (0.1, 0.1), {}, "2 finite coordinates"),
    ((np.nan, 0.0), (0.1, 0.1), {}, "finite"),
    ((1.0, np.inf), (0.1, 0.1), {}, "finite"),
    ((1.0, 0.0), (0.1, np.nan), {}, "velocity"),
    ((1.0, 0.0), (0.1,), {}, "velocity"),
    ((1.0, 0.0), (0.1, 0.1), {"n_points": MAX_POINTS + 1}, "n_points"),
    ((1.0, 0.0), (0.1, 0.1), {"n_points": 0}, "n_points"),
    ((1.0, 0.0), (0.1, 0.1), {"n_points": 1}, "n_points"),
    ((1.0, 0.0), (0.1, 0.1), {"n_points": 10.5}, "n_points"),
    ((1.0, 0.0), (0.1, 0.1), {"t": 0.0}, "positive"),
    ((1.0, 0.0), (0.1, 0.1), {"t": -1.0}, "positive"),
    ((1.0, 0.0), (0.1, 0.1), {"t": np.nan}, "positive"),
    ((0.0, 0.0), (0.1, 0.1), {}, "singular"),  # the north pole itself
])
def test_bad_exp_map_input_raises_a_geodesic_error(p, v, kwargs, match):
    with pytest.raises(GeodesicError, match=match):
        exp_map(surfaces.get("sphere"), p, v, **kwargs)


def test_geodesic_error_is_a_value_error():
    assert issubclass(GeodesicError, ValueError)


def test_wrong_space_type_is_refused():
    with pytest.raises(TypeError, match="ParametricSurface or RiemannianMetric"):
        exp_map("sphere", (1.0, 0.0), (0.1, 0.1))  # type: ignore[arg-type]


@pytest.mark.parametrize(("args", "match"), [
    (((1.0, 0.0), 0, 1.0), "n_directions"),
    (((1.0, 0.0), geodesics.MAX_DIRECTIONS + 1, 1.0), "n_directions"),
    (((1.0, 0.0), 8, 0.0), "length"),
    (((1.0, 0.0), 8, np.inf), "length"),
    (((5.0, 0.0), 8, 1.0), "outside"),
])
def test_bad_spray_input_raises(args, match):
    with pytest.raises(GeodesicError, match=match):
        spray(surfaces.get("sphere"), *args)


def test_log_map_of_coinciding_points_raises():
    with pytest.raises(GeodesicError, match="coincide"):
        log_map(surfaces.get("sphere"), (1.0, 0.5), (1.0, 0.5))
    # the same point written with another period of v
    with pytest.raises(GeodesicError, match="coincide"):
        log_map(surfaces.get("torus"), (0.5, 0.5), (0.5, 0.5 + TWO_PI))


@pytest.mark.parametrize(("p", "q", "kwargs", "match"), [
    ((1.0, 0.5), (4.0, 0.5), {}, "end point"),
    ((np.nan, 0.5), (1.0, 0.5), {}, "start point"),
    ((1.0, 0.5), (1.0,), {}, "end point"),
    ((1.0, 0.5), (1.2, 0.5), {"n_points": MAX_POINTS + 1}, "n_points"),
    ((1.0, 0.5), (1.2, 0.5), {"n_starts": 0}, "n_starts"),
])
def test_bad_log_map_input_raises(p, q, kwargs, match):
    with pytest.raises(GeodesicError, match=match):
        log_map(surfaces.get("sphere"), p, q, **kwargs)


def test_geodesic_result_fields():
    geo = exp_map(surfaces.get("torus"), (0.5, 0.5), (0.3, 0.2), n_points=17)
    assert isinstance(geo, Geodesic)
    assert geo.ok and geo.status == "ok" and geo.message == ""
    assert geo.coords.shape == geo.velocities.shape == geo.unwrapped.shape == (17, 2)
    assert geo.times.shape == (17,)
    np.testing.assert_allclose(geo.end, geo.coords[-1])
