"""Properties of the pullback metric and of latent curves on random inputs (hypothesis), and
the honest statuses: singular metrics, stalled optimisers, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from geomcore.geometry import surfaces
from geomcore.latent import (
    GeodesicError,
    LatentDecoder,
    MetricError,
    curve_energy,
    curve_length,
    decoders,
    indicatrices,
    latent_geodesic,
    magnification,
    pullback_metric,
    singular,
    straight_line,
)

TORUS = decoders.from_surface(surfaces.get("torus"))
SPHERE = decoders.sphere_chart()


def _bumpy(z: torch.Tensor) -> torch.Tensor:
    """A curved 2-D → 4-D decoder without closed-form geodesics."""
    a, b = z[..., 0], z[..., 1]
    return torch.stack([a, b, torch.sin(2 * a) * torch.cos(b), torch.exp(-(a**2 + b**2))],
                       dim=-1)


BUMPY = LatentDecoder(_bumpy, latent_dim=2, data_dim=4, name="bumpy")
coord = st.floats(-1.2, 1.2, allow_nan=False)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(pts=st.lists(st.tuples(coord, coord), min_size=2, max_size=12))
def test_energy_at_least_length_squared(pts):
    Z = np.array(pts, dtype=float)
    length = curve_length(BUMPY, Z)
    energy = curve_energy(BUMPY, Z)
    assert energy >= length**2 * (1 - 1e-12)


def test_energy_equals_length_squared_at_constant_speed():
    # a latent segment at equal steps under a linear decoder has equal image steps
    g = decoders.linear(np.array([[1.0, 2.0], [0.5, -1.0], [3.0, 0.0]]))
    Z = np.linspace([0.0, 0.0], [1.0, -2.0], 17)
    assert curve_energy(g, Z) == pytest.approx(curve_length(g, Z) ** 2, rel=1e-13)
    # and a geodesic found by the energy method is at constant speed too
    geo = latent_geodesic(BUMPY, [-1.0, -0.5], [1.0, 0.8], 32)
    # to the optimiser's tolerance (gtol = 1e-5; measured 1.4e-6)
    assert geo.energy == pytest.approx(geo.length**2, rel=1e-5)


def _rotation(angles: tuple[float, float, float]) -> np.ndarray:
    a, b, c = angles
    rz = np.array([[np.cos(a), -np.sin(a), 0, 0], [np.sin(a), np.cos(a), 0, 0], [0, 0, 1, 0],
                   [0, 0, 0, 1]])
    rx = np.array([[1, 0, 0, 0], [0, np.cos(b), -np.sin(b), 0], [0, np.sin(b), np.cos(b), 0],
                   [0, 0, 0, 1]])
    rw = np.array([[np.cos(c), 0, 0, -np.sin(c)], [0, 1, 0, 0], [0, 0, 1, 0],
                   [np.sin(c), 0, 0, np.cos(c)]])
    return rz @ rx @ rw


angle = st.floats(-np.pi, np.pi, allow_nan=False)


@settings(max_examples=25, deadline=None, derandomize=True)
@given(angles=st.tuples(angle, angle, angle), shift=st.floats(-5, 5))
def test_orthogonal_map_after_the_decoder_leaves_the_metric_unchanged(angles, shift):
    Q = torch.as_tensor(_rotation(angles))

    def turned(z: torch.Tensor) -> torch.Tensor:
        return _bumpy(z) @ Q.T + shift

    Z = np.random.default_rng(0).uniform(-1.5, 1.5, (20, 2))
    np.testing.assert_allclose(pullback_metric(turned, Z), pullback_metric(BUMPY, Z),
                               rtol=1e-12, atol=1e-12)


@settings(max_examples=20, deadline=None, derandomize=True)
@given(c=st.floats(0.05, 20.0))
def test_scaling_the_decoder_scales_lengths_and_magnification(c):
    def scaled(z: torch.Tensor) -> torch.Tensor:
        return c * _bumpy(z)

    Z = np.random.default_rng(1).uniform(-1.5, 1.5, (15, 2))
    np.testing.assert_allclose(magnification(scaled, Z), c**2 * magnification(BUMPY, Z),
                               rtol=1e-12)
    line = np.linspace([-1.0, 0.3], [1.1, -0.4], 9)
    assert curve_length(scaled, line) == pytest.approx(c * curve_length(BUMPY, line),
                                                       rel=1e-12)


def test_scaled_geodesic_is_the_same_curve():
    def scaled(z: torch.Tensor) -> torch.Tensor:
        return 3.0 * _bumpy(z)

    a, b = [-1.0, -0.5], [1.0, 0.8]
    one = latent_geodesic(BUMPY, a, b, 24)
    three = latent_geodesic(scaled, a, b, 24)
    assert three.length == pytest.approx(3.0 * one.length, rel=1e-7)
    assert np.max(np.abs(three.points - one.points)) < 1e-3


@settings(max_examples=12, deadline=None, derandomize=True)
@given(a=st.tuples(st.floats(0.2, 2.8), st.floats(0.2, 2.8)),
       b=st.tuples(st.floats(3.2, 6.0), st.floats(3.2, 6.0)))
def test_geodesic_never_longer_than_its_straight_start(a, b):
    geo = latent_geodesic(TORUS, a, b, 24)
    line = straight_line(TORUS, a, b, 24)
    assert geo.status == "ok", geo.message
    assert geo.length <= line.length * (1 + 1e-12)
    assert geo.energy <= line.energy * (1 + 1e-12)
    np.testing.assert_array_equal(geo.points[[0, -1]], [a, b])


@settings(max_examples=15, deadline=None, derandomize=True)
@given(z=st.tuples(st.floats(-1.3, 1.3), st.floats(-3, 3)))
def test_indicatrix_vectors_have_unit_metric_length(z):
    v = indicatrices(SPHERE, np.array([z]), n_angles=16)[0]
    M = pullback_metric(SPHERE, np.array(z))
    np.testing.assert_allclose(np.einsum("ai,ij,aj->a", v, M, v), 1.0, rtol=1e-10)


def test_bvp_and_energy_methods_agree():
    a, b = [-1.0, -0.5], [1.0, 0.8]
    energy = latent_geodesic(BUMPY, a, b, 48)
    bvp = latent_geodesic(BUMPY, a, b, 48, method="bvp")
    assert bvp.status == "ok", bvp.message
    # both lengths are chord sums of 48-gons; measured difference 2e-8 relative
    assert bvp.length == pytest.approx(energy.length, rel=1e-6)
    assert np.max(np.abs(bvp.points - energy.points)) < 2e-3


# -- singular metrics and stalls ---------------------------------------------------------------
def test_rank_deficient_decoder_is_reported_singular():
    g = decoders.linear(np.array([[1.0, 2.0], [2.0, 4.0], [0.0, 0.0]]))  # rank 1
    assert singular(pullback_metric(g, np.zeros((1, 2))))[0]
    assert magnification(g, np.zeros((3, 2))) == pytest.approx(np.zeros(3), abs=1e-7)
    assert np.all(np.isnan(indicatrices(g, np.zeros((2, 2)))))
    geo = latent_geodesic(g, [0.0, 0.0], [1.0, 1.0], 16)
    assert geo.status == "singular"
    assert "singular" in geo.message and "flat" in geo.message


def test_constant_decoder_along_the_segment_is_singular_not_ok():
    def plateau(z: torch.Tensor) -> torch.Tensor:
        # constant where |z| > 1: the whole segment below lies there
        r2 = (z * z).sum(-1, keepdim=True)
        return torch.where(r2 > 1.0, torch.ones_like(r2), r2).expand(*z.shape[:-1], 3)

    geo = latent_geodesic(plateau, [2.0, 2.0], [3.0, -2.0], 16)
    assert geo.status == "singular"
    assert geo.length == 0.0
    assert "constant" in geo.message


def test_a_stalled_optimiser_says_so():
    geo = latent_geodesic(TORUS, [0.3, 0.2], [4.0, 5.0], 64, max_iter=2)
    assert geo.status == "not_converged"
    assert "L-BFGS stopped after" in geo.message and "from above" in geo.message
    # still a curve between the two points, never longer than the straight one
    assert geo.length <= straight_line(TORUS, [0.3, 0.2], [4.0, 5.0], 64).length


def test_non_finite_decoder_fails_plainly():
    def blows_up(z: torch.Tensor) -> torch.Tensor:
        return torch.stack([z[..., 0], 1.0 / z[..., 1], z[..., 0]], dim=-1)

    line = straight_line(blows_up, [0.0, -1.0], [0.0, 1.0], 3)  # passes z₂ = 0
    assert line.status == "failed"
    with pytest.raises(MetricError, match="not finite"):
        pullback_metric(blows_up, np.array([[0.0, 0.0]]))


@pytest.mark.parametrize("kwargs, match", [
    (dict(z0=[0.5, 0.5], z1=[0.5, 0.5]), "coincide"),
    (dict(z0=[0.5, 0.5], z1=[0.5, np.nan]), "finite"),
    (dict(z0=[0.5, 0.5], z1=[0.5, 0.2, 0.1]), "same length"),
    (dict(z0=[0.5, 0.5], z1=[1.0, 1.0], n_points=2), "n_points"),
    (dict(z0=[0.5, 0.5], z1=[1.0, 1.0], method="shooting"), "method"),
])
def test_bad_input_is_refused_with_a_message(kwargs, match):
    with pytest.raises(GeodesicError, match=match):
        latent_geodesic(TORUS, **kwargs)


def test_too_many_points_are_refused():
    with pytest.raises(MetricError, match="at most"):
        pullback_metric(TORUS, np.zeros((600, 600, 2)))
