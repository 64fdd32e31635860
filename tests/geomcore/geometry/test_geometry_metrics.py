"""RiemannianMetric: Christoffel symbols, Riemann, Ricci and scalar curvature; the presets."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from geomcore.geometry import metrics, surfaces
from geomcore.geometry.metrics import RiemannianMetric, gaussian_fisher, poincare_half_plane

U, V, W = sp.symbols("u v w", real=True)
RADIUS = sp.Symbol("r", positive=True)


def sphere_metric(r: float) -> RiemannianMetric:
    return RiemannianMetric(sp.diag(RADIUS**2, RADIUS**2 * sp.sin(U) ** 2), (U, V),
                            params={"r": r}, domain=[(0.0, np.pi), (0.0, 2 * np.pi)],
                            periodic=[False, True])


def points(rng, n, low=(0.2, 0.0), high=(2.9, 6.2)):
    return rng.uniform(low, high, size=(n, len(low)))


# -- the sphere as an abstract metric --------------------------------------------------------
@pytest.mark.parametrize("r", [0.5, 1.0, 2.0])
def test_sphere_metric_curvatures(r):
    m = sphere_metric(r)
    x = points(np.random.default_rng(0), 7)
    u = x[:, 0]
    np.testing.assert_allclose(m.scalar_curvature(x), 2 / r**2, rtol=1e-12)
    np.testing.assert_allclose(m.gaussian_curvature(x), 1 / r**2, rtol=1e-12)
    # Ricci = K g in two dimensions
    np.testing.assert_allclose(m.ricci(x), m.metric(x) / r**2, rtol=1e-12, atol=1e-14)
    # R^u_{vuv} = sin²u (independent of r), R^v_{uvu} = 1, antisymmetric in the last pair
    riem = m.riemann(x)
    np.testing.assert_allclose(riem[:, 0, 1, 0, 1], np.sin(u) ** 2, rtol=1e-12)
    np.testing.assert_allclose(riem[:, 0, 1, 1, 0], -np.sin(u) ** 2, rtol=1e-12)
    np.testing.assert_allclose(riem[:, 1, 0, 1, 0], 1.0, rtol=1e-12)
    np.testing.assert_allclose(riem[:, 0, 0], 0.0, atol=1e-14)  # R^u_{u..} = 0
    np.testing.assert_allclose(riem, -np.swapaxes(riem, -1, -2), atol=1e-14)


def test_sphere_metric_christoffel_symbols():
    m = sphere_metric(1.3)
    x = points(np.random.default_rng(1), 6)
    u = x[:, 0]
    gam = m.christoffel(x)
    expected = np.zeros((len(x), 2, 2, 2))
    expected[:, 0, 1, 1] = -np.sin(u) * np.cos(u)
    expected[:, 1, 0, 1] = expected[:, 1, 1, 0] = 1 / np.tan(u)
    np.testing.assert_allclose(gam, expected, atol=1e-12)


def test_three_sphere_is_einstein_with_scalar_curvature_six_over_r_squared():
    """S³ of radius r: Ric = (n−1)/r² g and R = n(n−1)/r² with n = 3."""
    r = 1.5
    m = RiemannianMetric(
        sp.diag(RADIUS**2, RADIUS**2 * sp.sin(U) ** 2, RADIUS**2 * sp.sin(U) ** 2 * sp.sin(V) ** 2),
        (U, V, W), params={"r": r},
    )
    x = np.random.default_rng(2).uniform([0.3, 0.3, 0.0], [2.8, 2.8, 6.0], size=(5, 3))
    np.testing.assert_allclose(m.scalar_curvature(x), 6 / r**2, rtol=1e-11)
    np.testing.assert_allclose(m.ricci(x), 2 / r**2 * m.metric(x), rtol=1e-11, atol=1e-13)
    assert m.christoffel(x).shape == (5, 3, 3, 3)
    assert m.riemann(x).shape == (5, 3, 3, 3, 3)
    with pytest.raises(ValueError, match="two-dimensional"):
        m.gaussian_curvature(x)


def test_flat_metric_in_polar_coordinates_has_zero_curvature():
    rho, th = sp.symbols("rho theta", positive=True)
    m = RiemannianMetric(sp.diag(1, rho**2), (rho, th))
    x = np.random.default_rng(3).uniform([0.2, 0.0], [3.0, 6.0], size=(6, 2))
    np.testing.assert_allclose(m.riemann(x), 0.0, atol=1e-13)
    np.testing.assert_allclose(m.scalar_curvature(x), 0.0, atol=1e-13)
    gam = m.christoffel(x)
    np.testing.assert_allclose(gam[:, 0, 1, 1], -x[:, 0], rtol=1e-14)  # Γ^ρ_θθ = −ρ
    np.testing.assert_allclose(gam[:, 1, 0, 1], 1 / x[:, 0], rtol=1e-14)  # Γ^θ_ρθ = 1/ρ


def test_euclidean_plane():
    m = metrics.euclidean_plane()
    x = np.random.default_rng(4).normal(size=(4, 2))
    np.testing.assert_allclose(m.metric(x), np.broadcast_to(np.eye(2), (4, 2, 2)))
    np.testing.assert_allclose(m.christoffel(x), 0.0)
    np.testing.assert_allclose(m.gaussian_curvature(x), 0.0)


# -- presets -----------------------------------------------------------------------------------
def test_poincare_half_plane():
    hp = poincare_half_plane()
    x = np.random.default_rng(5).uniform([-3.0, 0.1], [3.0, 5.0], size=(8, 2))
    y = x[:, 1]
    np.testing.assert_allclose(hp.gaussian_curvature(x), -1.0, rtol=1e-13)
    np.testing.assert_allclose(hp.metric(x)[:, 0, 0], 1 / y**2, rtol=1e-14)
    gam = hp.christoffel(x)
    expected = np.zeros((len(x), 2, 2, 2))
    expected[:, 0, 0, 1] = expected[:, 0, 1, 0] = -1 / y  # Γ^x_xy
    expected[:, 1, 0, 0] = 1 / y  # Γ^y_xx
    expected[:, 1, 1, 1] = -1 / y  # Γ^y_yy
    np.testing.assert_allclose(gam, expected, rtol=1e-13, atol=1e-15)
    assert hp.domain[1][0] == 0.0


def test_gaussian_fisher_metric_curvature_and_christoffel():
    """g = (dμ² + 2dσ²)/σ²: K = −1/2, Γ^μ_μσ = −1/σ, Γ^σ_μμ = 1/(2σ), Γ^σ_σσ = −1/σ."""
    gf = gaussian_fisher()
    x = np.random.default_rng(6).uniform([-3.0, 0.2], [3.0, 5.0], size=(8, 2))
    s = x[:, 1]
    np.testing.assert_allclose(gf.gaussian_curvature(x), -0.5, rtol=1e-13)
    np.testing.assert_allclose(gf.metric(x)[:, 0, 0], 1 / s**2, rtol=1e-14)
    np.testing.assert_allclose(gf.metric(x)[:, 1, 1], 2 / s**2, rtol=1e-14)
    gam = gf.christoffel(x)
    expected = np.zeros((len(x), 2, 2, 2))
    expected[:, 0, 0, 1] = expected[:, 0, 1, 0] = -1 / s
    expected[:, 1, 0, 0] = 1 / (2 * s)
    expected[:, 1, 1, 1] = -1 / s
    np.testing.assert_allclose(gam, expected, rtol=1e-13, atol=1e-15)
    assert gf.coord_labels == (r"\mu", r"\sigma")


def test_gaussian_fisher_is_the_fisher_information_of_the_normal_family():
    """Monte-Carlo-free check: F_ij = E[∂_i log p ∂_j log p] by quadrature at one (μ, σ)."""
    mu, sigma = 0.7, 1.3
    z = np.linspace(-12, 12, 20001)
    x = mu + sigma * z
    pdf = np.exp(-0.5 * z**2) / (np.sqrt(2 * np.pi) * sigma)
    score = np.stack([(x - mu) / sigma**2, -1 / sigma + (x - mu) ** 2 / sigma**3])
    fisher = np.trapezoid(score[:, None] * score[None, :] * pdf, x, axis=-1)
    np.testing.assert_allclose(gaussian_fisher().metric(np.array([mu, sigma])), fisher,
                               rtol=1e-8, atol=1e-10)


# -- latex and parameters ------------------------------------------------------------------------
def test_latex_of_the_half_plane():
    latex = poincare_half_plane().latex()
    assert latex["gaussian_curvature"] == "K = -1"
    assert r"\Gamma^{y}_{xx} = \frac{1}{y}" in latex["christoffel"]


def test_with_params_keeps_the_derivation():
    m = sphere_metric(1.0)
    m2 = m.with_params(r=3.0)
    assert m2.symbolic is m.symbolic
    x = np.array([1.0, 0.5])
    assert float(m2.scalar_curvature(x)) == pytest.approx(2 / 9, rel=1e-12)
    assert float(m.scalar_curvature(x)) == pytest.approx(2.0, rel=1e-12)


# -- validation ----------------------------------------------------------------------------------
def test_invalid_metrics_are_refused():
    with pytest.raises(ValueError, match="symmetric"):
        RiemannianMetric(sp.Matrix([[1, U], [0, 1]]), (U, V))
    with pytest.raises(ValueError, match="2x2"):
        RiemannianMetric(sp.eye(3), (U, V))
    with pytest.raises(ValueError, match="parameter"):
        RiemannianMetric(sp.diag(RADIUS**2, 1), (U, V))
    with pytest.raises(ValueError, match="empty coordinate range"):
        RiemannianMetric(sp.eye(2), (U, V), domain=[(1.0, 0.0), (0.0, 1.0)])
    with pytest.raises(ValueError, match="periodic coordinate needs a finite range"):
        RiemannianMetric(sp.eye(2), (U, V), periodic=[True, False])


# -- properties ----------------------------------------------------------------------------------
@settings(max_examples=40, deadline=None, derandomize=True)
@given(name=st.sampled_from(["sphere", "torus", "ellipsoid", "catenoid", "pseudosphere",
                             "gaussian_bump", "saddle", "helicoid"]),
       a=st.floats(0.08, 0.92), b=st.floats(0.08, 0.92))
def test_ricci_equals_k_times_g_on_every_surface(name, a, b):
    """In two dimensions Ric = K g and R = 2K, with K the (extrinsic) Gaussian curvature."""
    s = surfaces.get(name)
    (u0, u1), (v0, v1) = s.u_range, s.v_range
    x = np.array([u0 + a * (u1 - u0), v0 + b * (v1 - v0)])
    m = s.intrinsic_metric()
    K = float(s.gaussian_curvature(x[0], x[1]))
    g = m.metric(x)
    np.testing.assert_allclose(m.ricci(x), K * g, rtol=1e-8, atol=1e-10 * np.abs(g).max())
    assert float(m.scalar_curvature(x)) == pytest.approx(2 * K, rel=1e-8, abs=1e-10)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(x=st.floats(-3.5, 3.5), y=st.floats(0.05, 5.5), scale=st.floats(0.1, 10.0))
def test_half_plane_metric_is_invariant_under_dilation(x, y, scale):
    """z ↦ λz is an isometry: g(λp)(λa, λa) = g(p)(a, a)."""
    hp = poincare_half_plane()
    p = np.array([x, y])
    a = np.array([0.3, -1.1])
    assert float(hp.inner(scale * p, scale * a, scale * a)) == pytest.approx(
        float(hp.inner(p, a, a)), rel=1e-12)
