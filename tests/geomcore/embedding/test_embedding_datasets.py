"""Datasets: shapes, determinism, bounds, and that ``intrinsic`` really is isometric where the
dataset says so (closed-form arc length, local distance ratios)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import quad

from geomcore.embedding import DATASET_NAMES, DatasetError, datasets, make


@pytest.mark.parametrize("name", DATASET_NAMES)
def test_every_dataset_has_the_documented_shapes(name):
    d = make(name, n=300, noise=0.0, seed=1)
    assert d.name == name and d.description
    assert d.X.shape[0] == 300 and d.color.shape == (300,)
    assert d.X.dtype == np.float64 and np.all(np.isfinite(d.X))
    if name == "digits":
        assert d.X.shape[1] == 64 and d.intrinsic is None
        assert set(np.unique(d.color)) <= set(range(10))
    else:
        assert d.X.shape[1] == 3 and d.intrinsic.shape[0] == 300
        assert np.all(np.isfinite(d.intrinsic))


@pytest.mark.parametrize("name", ["swiss_roll", "torus", "digits"])
def test_a_seed_fixes_the_sample_and_another_changes_it(name):
    a, b, c = make(name, 200, 0.1, seed=3), make(name, 200, 0.1, seed=3), make(name, 200, 0.1, 4)
    assert np.array_equal(a.X, b.X) and np.array_equal(a.color, b.color)
    assert not np.array_equal(a.X, c.X)


def test_noise_moves_x_only_by_its_standard_deviation():
    clean, noisy = make("swiss_roll", 2000, 0.0, seed=5), make("swiss_roll", 2000, 0.5, seed=5)
    # Same draws of the manifold points (noise comes after them from the same stream).
    assert np.array_equal(clean.intrinsic, noisy.intrinsic)
    # std of 6000 N(0, 0.5²) samples: 0.5 within 5 standard errors (0.5/sqrt(2·6000)).
    assert np.std(noisy.X - clean.X) == pytest.approx(0.5, abs=5 * 0.5 / np.sqrt(12000))


def test_swiss_roll_arc_length_matches_quadrature():
    for t in (0.5, 1.5 * np.pi, 4.5 * np.pi):
        exact, _ = quad(lambda u: np.sqrt(1 + u * u), 0.0, t, epsabs=1e-13, epsrel=1e-13)
        assert datasets.swiss_roll_arc_length(t) == pytest.approx(exact, rel=1e-12)


# Largest curvature of the curve each flat dataset is rolled along: the Archimedean spiral
# r = t has κ = (t² + 2)/(t² + 1)^{3/2}, largest at t = 1.5π; the S-curve is made of unit
# circles; the helix (cos t, sin t, t/2) has κ = 1/(1 + 1/4).
_T0 = datasets.SWISS_ROLL_T[0]
_KAPPA = {"swiss_roll": (_T0**2 + 2) / (_T0**2 + 1) ** 1.5, "swiss_roll_hole":
          (_T0**2 + 2) / (_T0**2 + 1) ** 1.5, "s_curve": 1.0, "helix": 0.8}


@pytest.mark.parametrize("name", sorted(_KAPPA))
def test_isometric_coordinates_bound_every_chord(name):
    """Isometric intrinsic coordinates, checked on every pair of 800 points.

    The 3-D chord never exceeds the intrinsic (geodesic) distance, and by Schur's comparison
    theorem a curve with curvature ≤ κ has chord ≥ (2/κ)·sin(κs/2) over arc length s ≤ π/κ;
    the straight height direction adds in quadrature. Both hold to rounding.
    """
    d = make(name, 800, seed=0)
    assert d.isometric
    kappa = _KAPPA[name]
    dx = np.linalg.norm(d.X[:, None] - d.X[None], axis=-1)
    dz = np.abs(d.intrinsic[:, None] - d.intrinsic[None])
    ds = dz[..., 0]
    dh = dz[..., 1] if dz.shape[-1] > 1 else np.zeros_like(ds)
    geodesic = np.hypot(ds, dh)
    assert np.all(dx <= geodesic * (1 + 1e-12) + 1e-12)
    ok = kappa * ds <= np.pi
    schur = np.hypot(2 / kappa * np.sin(kappa * ds / 2), dh)
    assert np.all(dx[ok] >= schur[ok] * (1 - 1e-12) - 1e-12)
    # Locally the chord is the geodesic: the relative gap of close pairs is O((κ s)²).
    close = (geodesic > 0) & (ds < 0.05 / kappa)
    assert np.max(1 - dx[close] / geodesic[close]) < (0.05**2) / 24 * 1.01


def test_swiss_roll_angle_is_not_the_intrinsic_coordinate():
    """intrinsic[:, 0] is arc length, a convex function of the spiral angle, not the angle."""
    d = make("swiss_roll", 500, seed=0)
    t = np.hypot(d.X[:, 0], d.X[:, 2])  # r = t on the Archimedean spiral
    np.testing.assert_allclose(d.intrinsic[:, 0], datasets.swiss_roll_arc_length(t), rtol=1e-12)
    np.testing.assert_allclose(d.intrinsic[:, 1], d.X[:, 1], rtol=0, atol=0)


def test_swiss_roll_hole_has_its_hole():
    d = make("swiss_roll_hole", 2000, seed=0)
    s, h = d.intrinsic.T
    s0, s1 = datasets.swiss_roll_arc_length(np.array(datasets.SWISS_ROLL_T))
    centre = (np.abs(s - (s0 + s1) / 2) < 0.2 * (s1 - s0)) & (np.abs(h - 10.5) < 3.0)
    assert not centre.any()


def test_digits_cap_and_full_set():
    assert make("digits", 1797).X.shape == (1797, 64)
    with pytest.raises(DatasetError, match=r"n <= 1797"):
        make("digits", 1798)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"name": "klein_bottle"}, "not one of"),
    ({"name": "swiss_roll", "n": 9}, r"10 <= n <= 5000"),
    ({"name": "swiss_roll", "n": 5001}, r"10 <= n <= 5000"),
    ({"name": "swiss_roll", "n": 100.0}, "must be an integer"),
    ({"name": "swiss_roll", "noise": -0.1}, ">= 0"),
    ({"name": "swiss_roll", "seed": -1}, "seed"),
])
def test_bad_requests_are_refused_with_the_range(kwargs, match):
    with pytest.raises(DatasetError, match=match):
        make(**kwargs)
