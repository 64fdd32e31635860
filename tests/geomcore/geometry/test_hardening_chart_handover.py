"""Chart hand-overs (issue 6 §2 speed work): a geodesic along a meridian, whose equations stay
regular at the pole, must still change charts there and never leave the chart's range; the
chord steps of the atlas's two-point solver reach the same geodesic as full Newton steps."""

import numpy as np
import pytest

from geomcore.geometry import surfaces
from geomcore.geometry.geodesics import exp_map, log_map, spray, unit_vector


@pytest.mark.parametrize("speed", [1.0, 4.0, 25.0])
@pytest.mark.parametrize(("name", "longitude"), [("sphere", 0.3), ("ellipsoid", 0.0)])
def test_meridian_through_both_poles_stays_in_range_and_changes_chart(name, longitude, speed):
    """A meridian that is a plane section through both poles (any on the sphere, the principal
    section y = 0 on the triaxial ellipsoid) is a geodesic: the integrator's steps along it
    are long (its equations are linear there: v̇ = 0), yet every sample lies in u ∈ [0, π]
    and the poles are crossed in the second chart."""
    s = surfaces.get(name)
    start = np.array([np.pi / 2, longitude])
    v = speed * unit_vector(s, start, np.pi)  # along −∂_u: northwards
    geo = exp_map(s, start, v, t=7.0 / speed, n_points=150)
    assert geo.status == "ok", geo.message
    assert np.all((geo.coords[:, 0] >= 0.0) & (geo.coords[:, 0] <= np.pi))
    assert set(geo.charts.tolist()) == {0, 1}
    normal = np.array([-np.sin(longitude), np.cos(longitude), 0.0])  # the meridian's plane
    assert np.max(np.abs(geo.xyz @ normal)) < 1e-8
    assert geo.length == pytest.approx(7.0, rel=1e-8)


def test_spray_from_the_equator_keeps_its_meridians_in_range():
    """Directions 0 and π of a spray from the equator are meridians through the poles."""
    geos = spray(surfaces.get("sphere"), (np.pi / 2, 1.0), 16, 3.0, n_points=80)
    for geo in geos:
        assert geo.status == "ok", geo.message
        assert np.all((geo.coords[:, 0] >= 0.0) & (geo.coords[:, 0] <= np.pi))
        np.testing.assert_allclose(np.linalg.norm(geo.xyz, axis=1), 1.0, atol=1e-12)
        assert geo.length == pytest.approx(3.0, rel=1e-7)


def test_log_map_on_the_oblate_spheroid_matches_the_meridian_arc():
    """Two points on one meridian of the oblate spheroid a = b = 1, c = 0.7, on either side of
    the north pole: the shortest path is the meridian arc over the pole, whose length is the
    elliptic integral ∫ sqrt(cos²u + c² sin²u) du (computed here by quadrature)."""
    c = 0.7
    s = surfaces.get("ellipsoid", a=1.0, b=1.0, c=c)
    p, q = np.array([0.6, 1.0]), np.array([0.9, 1.0 + np.pi])
    u = np.linspace(0.0, 1.0, 200001)

    def arc(a: float, b: float) -> float:
        x = a + (b - a) * u
        f = np.sqrt(np.cos(x) ** 2 + c**2 * np.sin(x) ** 2)
        return float((b - a) * np.sum(0.5 * (f[1:] + f[:-1])) / (len(u) - 1))

    geo = log_map(s, p, q)
    assert geo.status == "ok", geo.message
    assert geo.length == pytest.approx(arc(0.0, 0.6) + arc(0.0, 0.9), abs=1e-8)
    np.testing.assert_allclose(geo.xyz[-1], s.points(q), atol=1e-8)
