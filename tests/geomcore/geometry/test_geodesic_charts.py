"""Geodesics through coordinate singularities (issue 7 §1): the atlas of the sphere and the
ellipsoid (geomcore.geometry.charts), and sprays whose geodesics stop one at a time."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import ellipe

from geomcore.geometry import surfaces
from geomcore.geometry.charts import atlas_for
from geomcore.geometry.geodesics import exp_map, log_map, spray, unit_vector


def _sphere_uv(X: np.ndarray) -> np.ndarray:
    return np.array([np.arccos(np.clip(X[2], -1.0, 1.0)), np.mod(np.arctan2(X[1], X[0]),
                                                                  2 * np.pi)])


# -- the atlas ----------------------------------------------------------------------------------
def test_atlas_charts_invert_and_agree_in_orientation():
    ell = surfaces.get("ellipsoid")
    atlas = atlas_for(ell)
    assert atlas is not None and len(atlas) == 2
    assert atlas_for(surfaces.get("torus")) is None
    rng = np.random.default_rng(0)
    x = np.stack([rng.uniform(0.2, np.pi - 0.2, 50), rng.uniform(0, 2 * np.pi, 50)], axis=-1)
    X = atlas.charts[0].points(x)
    for chart in atlas.charts:
        y = chart.coordinates(X)
        np.testing.assert_allclose(chart.points(y), X, atol=1e-14)
        # r_u × r_v points outwards (along ∇(x²/a² + y²/b² + z²/c²)) in every chart
        D = chart.jacobian(y)
        outward = X / np.array([1.6, 1.0, 0.7]) ** 2
        assert np.all(np.einsum("na,na->n", np.cross(D[..., 0], D[..., 1]), outward) > 0)
    # the second chart's poles lie on the x-axis
    np.testing.assert_allclose(atlas.charts[1].points(np.array([0.0, 0.3])), [1.6, 0, 0],
                               atol=1e-15)


def test_transfer_of_a_variational_state_is_the_derivative_of_the_transferred_geodesic():
    """Φ moved to the other chart by the Jacobi-field rule equals ∂(x', ẋ')/∂ẋ(0) of the
    geodesics moved there (central differences)."""
    ell = surfaces.get("ellipsoid")
    atlas = atlas_for(ell)
    p, v = np.array([0.9, 0.4]), np.array([-0.7, 0.5])
    t = 1.3
    phi0 = np.concatenate([np.zeros((2, 2)), np.eye(2)]).ravel()
    from scipy.integrate import odeint  # noqa: PLC0415  (only this test integrates by hand)

    rhs = ell.intrinsic_metric().symbolic.variational_system.scalar_rhs(
        ell.intrinsic_metric().param_values)
    state = odeint(rhs, np.concatenate([p, v, phi0]), [0, t], rtol=1e-12, atol=1e-13)[-1]
    moved = atlas.transfer(state, 0, 1)
    h = 1e-6
    cols = []
    for k in range(2):
        dv = np.zeros(2)
        dv[k] = h
        ends = [atlas.transfer(odeint(rhs, np.concatenate([p, v + s * dv, phi0]), [0, t],
                                      rtol=1e-12, atol=1e-13)[-1], 0, 1)[:4] for s in (1, -1)]
        cols.append((ends[0] - ends[1]) / (2 * h))
    np.testing.assert_allclose(moved[4:].reshape(4, 2), np.stack(cols, axis=1), atol=1e-6)
    np.testing.assert_allclose(atlas.transfer(moved, 1, 0), state, atol=1e-12)


# -- sprays and single geodesics over the poles -------------------------------------------------
@pytest.mark.parametrize("p", [(1.0, 0.5), (np.pi / 2, 4.0), (0.05, 1.0), (np.pi - 0.02, 2.0)])
def test_sphere_spray_refocuses_at_the_antipode(p):
    s = surfaces.get("sphere")
    radius = np.pi - 0.01
    geos = spray(s, p, 48, radius, n_points=121)
    X0 = s.points(np.asarray(p))
    for geo in geos:
        assert geo.status == "ok", geo.message
        assert geo.length == pytest.approx(radius, rel=1e-6)
        assert geo.energy_drift < 1e-6
        # the closed form: the great circle from X0 with the spray's initial direction
        w = geo.xyz[1] - geo.xyz[0]
        w = w - (w @ X0) * X0
        w /= np.linalg.norm(w)
        np.testing.assert_allclose(geo.xyz[-1], np.cos(radius) * X0 + np.sin(radius) * w,
                                   atol=1e-6)
        # so every end is 0.01 (geodesic distance) from the antipode: all 48 meet there
        assert np.linalg.norm(geo.xyz[-1] + X0) < 0.01 + 1e-6


def test_sphere_spray_of_radius_3_reaches_its_full_length():
    geos = spray(surfaces.get("sphere"), (1.0, 0.5), 48, 3.0, n_points=121)
    assert [g.status for g in geos] == ["ok"] * 48
    np.testing.assert_allclose([g.length for g in geos], 3.0, rtol=1e-6)


def test_great_circle_through_both_poles_returns_to_its_start():
    s = surfaces.get("sphere")
    start = (np.pi / 2, 0.3)
    geo = exp_map(s, start, (-1.0, 0.0), t=2 * np.pi, n_points=200)  # heading north
    assert geo.status == "ok"
    assert set(geo.charts.tolist()) == {0, 1}
    np.testing.assert_allclose(geo.xyz[-1], geo.xyz[0], atol=1e-6)
    normal = np.array([-np.sin(0.3), np.cos(0.3), 0.0])  # the meridian plane of v = 0.3
    assert np.max(np.abs(geo.xyz @ normal)) < 1e-8
    assert geo.length == pytest.approx(2 * np.pi, rel=1e-9)
    assert geo.energy_drift < 1e-8
    # the xyz polyline is continuous across the poles (steps of 2π/199 along the circle)
    steps = np.linalg.norm(np.diff(geo.xyz, axis=0), axis=1)
    np.testing.assert_allclose(steps, 2 * np.sin(np.pi / 199), rtol=1e-6)


def test_ellipsoid_principal_section_through_the_poles_closes_after_its_perimeter():
    """The section y = 0 of the ellipsoid is a geodesic through both poles (a plane of
    symmetry); after its perimeter 4aE(1 − c²/a²) it is back at the start."""
    a, c = 1.6, 0.7
    ell = surfaces.get("ellipsoid")
    perimeter = 4 * a * ellipe(1 - c**2 / a**2)
    start = (np.pi / 2, 0.0)
    v = unit_vector(ell, np.array(start), np.pi)  # along −∂_u: northwards
    geo = exp_map(ell, start, v, t=perimeter, n_points=300)
    assert geo.status == "ok"
    np.testing.assert_allclose(geo.xyz[-1], geo.xyz[0], atol=1e-6)
    assert np.max(np.abs(geo.xyz[:, 1])) < 1e-8
    assert geo.energy_drift < 1e-7


def test_ellipsoid_spray_crosses_the_poles_at_full_length():
    """A triaxial spray long past its conjugate locus (the caustic folds the geodesic circles):
    every geodesic reaches its length, with constant speed, on the surface."""
    ell = surfaces.get("ellipsoid")
    geos = spray(ell, (0.6, 0.8), 48, 6.0, n_points=121)
    crossed = 0
    for geo in geos:
        assert geo.status == "ok", geo.message
        assert geo.length == pytest.approx(6.0, rel=1e-6)
        assert geo.energy_drift < 1e-6
        on = np.sum(geo.xyz**2 / np.array([1.6, 1.0, 0.7]) ** 2, axis=1)
        np.testing.assert_allclose(on, 1.0, atol=1e-9)
        crossed += int(1 in geo.charts)
    assert crossed >= 10  # many of them pass close to a pole of the first chart


def test_oblate_spheroid_spray_from_the_equator_meets_at_the_antipodal_caustic():
    """On an oblate spheroid (a = b = 1, c = 0.7) the meridians from a point of the equator
    meet again at its antipode after half a meridian's perimeter, where they all cross."""
    ell = surfaces.get("ellipsoid", a=1.0, b=1.0, c=0.7)
    half = 2 * ellipe(1 - 0.7**2)
    north = exp_map(ell, (np.pi / 2, 0.0), unit_vector(ell, np.array([np.pi / 2, 0.0]), np.pi),
                    t=half, n_points=100)
    south = exp_map(ell, (np.pi / 2, 0.0), unit_vector(ell, np.array([np.pi / 2, 0.0]), 0.0),
                    t=half, n_points=100)
    for geo in (north, south):
        assert geo.status == "ok"
        np.testing.assert_allclose(geo.xyz[-1], [-1.0, 0.0, 0.0], atol=1e-7)


# -- the two-point problem ----------------------------------------------------------------------
def test_log_map_on_random_sphere_pairs_gives_the_great_circle_distance():
    s = surfaces.get("sphere")
    rng = np.random.default_rng(11)
    P = rng.normal(size=(200, 3))
    Q = rng.normal(size=(200, 3))
    P /= np.linalg.norm(P, axis=1, keepdims=True)
    Q /= np.linalg.norm(Q, axis=1, keepdims=True)
    for a, b in zip(P, Q, strict=True):
        geo = log_map(s, _sphere_uv(a), _sphere_uv(b))
        assert geo.status == "ok", geo.message
        assert geo.length == pytest.approx(np.arccos(np.clip(a @ b, -1, 1)), abs=1e-7)


@pytest.mark.parametrize("offset", [0.0, 1e-6, -1e-4])
def test_log_map_over_a_pole(offset):
    """Pairs on opposite meridians: the shortest path runs through (or within 1e-6 of) the
    pole, where the single chart could not follow it."""
    s = surfaces.get("sphere")
    rng = np.random.default_rng(5)
    for _ in range(8):
        p = np.array([rng.uniform(0.1, 1.2), rng.uniform(0, 2 * np.pi)])
        q = np.array([rng.uniform(0.1, 1.2), np.mod(p[1] + np.pi + offset, 2 * np.pi)])
        if rng.random() < 0.5:  # the south pole
            p[0], q[0] = np.pi - p[0], np.pi - q[0]
        geo = log_map(s, p, q)
        assert geo.status == "ok", geo.message
        a, b = s.points(p), s.points(q)
        assert geo.length == pytest.approx(np.arccos(np.clip(a @ b, -1, 1)), abs=1e-7)
        np.testing.assert_allclose(geo.xyz[-1], b, atol=1e-7)


# -- one geodesic that stops never stops the others --------------------------------------------
@pytest.mark.parametrize(("p", "length"), [((1.5, 0.3 * np.pi), 2.5),  # the page's default
                                           ((0.66, 0.3 * np.pi), 6.0)])  # the old default
def test_pseudosphere_spray_stops_each_geodesic_at_the_rim_only(p, length):
    ps = surfaces.get("pseudosphere")
    n_points = 121
    step = length / (n_points - 1)
    geos = spray(ps, p, 48, length, n_points=n_points)
    for geo in geos:
        u_end = geo.coords[-1, 0]
        if geo.ok:
            assert geo.length == pytest.approx(length, rel=1e-6)
        elif geo.status == "singular":
            # stopped on arrival at the rim u = 0, whose distance is ln cosh u
            assert np.log(np.cosh(u_end)) < 1.5 * step, (u_end, geo.length)
        else:
            assert geo.status == "left_domain"
            assert 3.0 - u_end < 1.5 * step  # through the top edge u = 3 of the chart
        assert geo.energy_drift < 1e-5
    if length == 2.5:
        assert sum(g.ok for g in geos) >= 5  # those that head round the surface go on
