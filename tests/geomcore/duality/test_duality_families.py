"""Families in their two charts: closed forms, Legendre duality, KL = Bregman, the Fisher metric
in θ and η, Fisher–Rao distances and geodesics, and what the families refuse.

Measured errors (float64, 3000 random pairs per family): KL vs Bregman ≤ 1.7e-13 relative
for KL > 1e-3, with an absolute floor ≤ 1.1e-12 (the potentials cancel);
Fisher(θ)·Fisher(η) − I ≤ 1e-13; α-geodesic boundary-value solve vs the e/m/Fisher–Rao
closed forms ≤ 1e-13; the Fisher length of the sampled Fisher–Rao geodesic vs its
closed-form distance ≤ 1e-6 (trapezoid on 2001 samples, error O(h²)).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from geomcore.duality import Bernoulli, Categorical, DualityError, Gaussian1D
from geomcore.duality.families import SIGMA_MAX, SIGMA_MIN

SETTINGS = settings(max_examples=30, deadline=None, derandomize=True)


def _simplex(k: int, low: float = 0.02) -> st.SearchStrategy[np.ndarray]:
    """Interior probability vectors with every entry ≥ ``low / k``-ish (well inside)."""
    return st.lists(st.floats(low, 1.0), min_size=k, max_size=k).filter(
        lambda w: sum(w) > 0.1).map(lambda w: np.asarray(w) / np.sum(w))


GAUSS = st.tuples(st.floats(-3.0, 3.0), st.floats(0.2, 4.0)).map(np.array)
BERN = st.floats(0.02, 0.98)

FAMILIES = [
    (Categorical(3), _simplex(3)),
    (Categorical(5), _simplex(5)),
    (Bernoulli(), BERN),
    (Gaussian1D(), GAUSS),
]
IDS = ["categorical3", "categorical5", "bernoulli", "gaussian"]


def _pair(strategy):
    return st.tuples(strategy, strategy)


# -- closed forms ------------------------------------------------------------------------------
def test_categorical_charts_closed_form():
    fam = Categorical(3)
    p = np.array([0.2, 0.3, 0.5])
    np.testing.assert_allclose(fam.to_natural(p), [math.log(0.4), math.log(0.6)], rtol=1e-15)
    np.testing.assert_allclose(fam.to_expectation(p), [0.2, 0.3], rtol=0)
    theta = fam.to_natural(p)
    assert fam.psi(theta) == pytest.approx(-math.log(0.5), rel=1e-15)  # log(1 + Σe^θ) = −log p_k
    assert fam.phi([0.2, 0.3]) == pytest.approx(-scipy.stats.entropy(p), rel=1e-15)


def test_gaussian_charts_closed_form():
    fam = Gaussian1D()
    point = np.array([1.5, 0.5])
    np.testing.assert_allclose(fam.to_natural(point), [6.0, -2.0], rtol=1e-15)
    np.testing.assert_allclose(fam.to_expectation(point), [1.5, 2.5], rtol=1e-15)
    assert fam.phi(fam.to_expectation(point)) == pytest.approx(
        -scipy.stats.norm(1.5, 0.5).entropy(), rel=1e-14)
    np.testing.assert_allclose(fam.fisher_natural(fam.to_natural(point)),
                               [[0.25, 0.75], [0.75, 2 * 0.0625 + 4 * 2.25 * 0.25]], rtol=1e-15)


def test_bernoulli_is_logit_and_accepts_both_forms():
    fam = Bernoulli()
    assert fam.to_natural(0.8) == pytest.approx([math.log(4.0)], rel=1e-15)
    np.testing.assert_allclose(fam.check_point(0.8), fam.check_point([0.2, 0.8]), rtol=1e-15)
    np.testing.assert_allclose(fam.from_natural([0.0]), [0.5, 0.5], rtol=0)
    np.testing.assert_allclose(fam.to_expectation([0.2, 0.8]), [0.8], rtol=0)


@pytest.mark.parametrize("fam, strategy", FAMILIES, ids=IDS)
def test_round_trips_and_legendre_identity(fam, strategy):
    @SETTINGS
    @given(strategy)
    def check(point):
        point = fam.check_point(point)
        theta, eta = fam.to_natural(point), fam.to_expectation(point)
        np.testing.assert_allclose(fam.from_natural(theta), point, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(fam.from_expectation(eta), point, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(fam.natural_to_expectation(theta), eta, rtol=1e-12,
                                   atol=1e-14)
        np.testing.assert_allclose(fam.expectation_to_natural(eta), theta, rtol=1e-10,
                                   atol=1e-12)
        # ψ(θ) + φ(η) = ⟨θ, η⟩ (Fenchel–Young with equality at dual points)
        assert fam.psi(theta) + fam.phi(eta) == pytest.approx(float(theta @ eta), abs=1e-12)

    check()


# -- KL = Bregman --------------------------------------------------------------------------------
@pytest.mark.parametrize("fam, strategy", FAMILIES, ids=IDS)
def test_kl_is_the_bregman_divergence_of_psi_and_of_phi(fam, strategy):
    @SETTINGS
    @given(_pair(strategy))
    def check(pair):
        p, q = pair
        kl = float(fam.kl(p, q))
        tp, tq = fam.to_natural(p), fam.to_natural(q)
        ep, eq = fam.to_expectation(p), fam.to_expectation(q)
        assert kl >= 0
        # the potentials cancel: an absolute floor of a few ulps of ψ (σ = 0.2: ψ ≈ 50)
        assert fam.bregman(tq, tp) == pytest.approx(kl, rel=1e-12, abs=5e-12)  # swapped order
        assert fam.bregman_dual(ep, eq) == pytest.approx(kl, rel=1e-12, abs=5e-12)

    check()


def test_kl_argument_order_against_scipy_torch_and_their_reversed_label():
    p, q = np.array([0.7, 0.2, 0.1]), np.array([0.2, 0.5, 0.3])
    ours = float(Categorical(3).kl(p, q))
    assert ours == pytest.approx(scipy.stats.entropy(p, q), rel=1e-14)  # entropy(pk, qk)
    # torch.nn.functional.kl_div(input, target) is KL(target‖exp(input)): the arguments are
    # reversed with respect to the name's usual reading.
    reversed_label = torch.nn.functional.kl_div(torch.tensor(np.log(q)), torch.tensor(p),
                                                reduction="sum")
    assert float(reversed_label) == pytest.approx(ours, rel=1e-14)
    assert float(Categorical(3).kl(q, p)) != pytest.approx(ours, rel=1e-3)  # not symmetric
    normal = torch.distributions.kl_divergence(
        torch.distributions.Normal(torch.tensor(0.3, dtype=torch.float64),
                                   torch.tensor(1.7, dtype=torch.float64)),
        torch.distributions.Normal(torch.tensor(-1.0, dtype=torch.float64),
                                   torch.tensor(0.6, dtype=torch.float64)))
    assert float(Gaussian1D().kl([0.3, 1.7], [-1.0, 0.6])) == pytest.approx(float(normal),
                                                                            rel=1e-14)


def test_kl_on_the_boundary_of_the_simplex():
    fam = Categorical(3)
    assert fam.kl([0.5, 0.5, 0.0], [0.25, 0.25, 0.5]) == pytest.approx(math.log(2), rel=1e-15)
    assert fam.kl([0.25, 0.25, 0.5], [0.5, 0.5, 0.0]) == math.inf
    assert fam.kl([0.0, 1.0, 0.0], [0.0, 1.0, 0.0]) == 0.0


# -- the Fisher metric ---------------------------------------------------------------------------
@pytest.mark.parametrize("fam, strategy", FAMILIES, ids=IDS)
def test_fisher_in_theta_is_the_inverse_of_fisher_in_eta(fam, strategy):
    @SETTINGS
    @given(strategy)
    def check(point):
        g_theta = fam.fisher_natural(fam.to_natural(point))
        g_eta = fam.fisher_expectation(fam.to_expectation(point))
        scale = np.linalg.cond(g_theta)
        np.testing.assert_allclose(g_theta @ g_eta, np.eye(fam.dim), atol=1e-14 * scale)

    check()


def _torch_psi(fam, theta: torch.Tensor) -> torch.Tensor:
    if isinstance(fam, Gaussian1D):
        return -theta[0] ** 2 / (4 * theta[1]) + 0.5 * torch.log(math.pi / -theta[1])
    return torch.logsumexp(torch.cat([theta, theta.new_zeros(1)]), 0)


@pytest.mark.parametrize("fam, point", [(Categorical(4), [0.1, 0.2, 0.3, 0.4]),
                                        (Gaussian1D(), [0.7, 1.3]), (Bernoulli(), 0.3)],
                         ids=["categorical", "gaussian", "bernoulli"])
def test_fisher_and_cubic_tensor_match_autograd_derivatives_of_psi(fam, point):
    theta = torch.tensor(fam.to_natural(point), dtype=torch.float64)
    hess = torch.autograd.functional.hessian(lambda t: _torch_psi(fam, t), theta).numpy()
    np.testing.assert_allclose(fam.fisher_natural(theta.numpy()), hess, rtol=1e-12, atol=1e-15)
    v = np.array([0.3, -1.1, 0.4])[: fam.dim]
    vt = torch.tensor(v)

    def second_directional(t: torch.Tensor) -> torch.Tensor:  # vᵀ∇²ψ(t)v
        h = torch.autograd.functional.hessian(lambda s: _torch_psi(fam, s), t,
                                              create_graph=True)
        return vt @ h @ vt

    # the gradient of vᵀ∇²ψ v with respect to θ is T(v, v, ·)
    t_req = theta.clone().requires_grad_()
    (third_vv,) = torch.autograd.grad(second_directional(t_req), t_req)
    np.testing.assert_allclose(fam.cubic_contract(theta.numpy(), v), third_vv.numpy(),
                               rtol=1e-11, atol=1e-14)


# -- Fisher–Rao ---------------------------------------------------------------------------------
@SETTINGS
@given(_pair(_simplex(4, low=0.0)))
def test_categorical_fisher_rao_closed_form(pair):
    p, q = pair
    expected = 2 * math.acos(min(1.0, float(np.sum(np.sqrt(p * q)))))
    # arccos loses half the digits near 1 (arccos(1 − ε) ≈ √(2ε), ε a few ulps): the reference
    # formula itself is only good to about 1e-7 there; ours is accurate (see the next test).
    assert Categorical(4).fisher_rao_distance(p, q) == pytest.approx(expected, abs=1e-7)


@SETTINGS
@given(_pair(BERN))
def test_bernoulli_fisher_rao_is_twice_the_arcsine_gap(pair):
    p, q = pair
    expected = 2 * abs(math.asin(math.sqrt(p)) - math.asin(math.sqrt(q)))
    assert Bernoulli().fisher_rao_distance(p, q) == pytest.approx(expected, rel=1e-12,
                                                                  abs=1e-15)


@SETTINGS
@given(_pair(GAUSS))
def test_gaussian_fisher_rao_closed_form(pair):
    (m1, s1), (m2, s2) = pair
    expected = math.sqrt(2) * math.acosh(1 + ((m1 - m2) ** 2 / 2 + (s1 - s2) ** 2) / (2 * s1 * s2))
    assert Gaussian1D().fisher_rao_distance(pair[0], pair[1]) == pytest.approx(
        expected, rel=1e-10, abs=3e-8)


def test_fisher_rao_distance_is_accurate_for_nearby_points():
    d = 1e-9
    # categorical: first-order length √(δᵀ diag(1/p) δ) of the displacement δ
    p = np.array([0.2, 0.3, 0.5])
    delta = np.array([d, -d, 0.0])
    assert Categorical(3).fisher_rao_distance(p, p + delta) == pytest.approx(
        math.sqrt(float(delta**2 @ (1 / p))), rel=1e-6)
    # gaussian: √(dμ²/σ² + 2dσ²/σ²)
    assert Gaussian1D().fisher_rao_distance([0.0, 2.0], [d, 2.0 + d]) == pytest.approx(
        math.sqrt(3) * d / 2, rel=1e-6)


def _fisher_length(fam, points: np.ndarray) -> float:
    """∫ √(θ'ᵀ G(θ) θ') dt along the sampled curve (trapezoid, central differences)."""
    theta = fam.to_natural(points)
    t = np.linspace(0, 1, len(points))
    dtheta = np.gradient(theta, t, axis=0, edge_order=2)
    speed = np.sqrt(np.einsum("ni,nij,nj->n", dtheta, fam.fisher_natural(theta), dtheta))
    return float(np.trapezoid(speed, t))


@pytest.mark.parametrize("fam, p, q, shorter", [
    (Categorical(3), [0.2, 0.3, 0.5], [0.6, 0.1, 0.3], True),
    (Gaussian1D(), [0.1, 1.2], [1.0, 0.5], True),
    # Equal means: the e- and m-geodesics run along the same vertical line (θ₁ = −2μθ₂ and
    # η₂ = μ² + σ² are straight there), as does every curve of the one-dimensional Bernoulli.
    (Gaussian1D(), [0.5, 0.4], [0.5, 2.0], False),
    (Bernoulli(), 0.1, 0.8, False),
], ids=["categorical", "gaussian", "gaussian-vertical", "bernoulli"])
def test_fisher_rao_geodesic_has_the_closed_form_length_and_is_shortest(fam, p, q, shorter):
    fr = fam.geodesic(p, q, "fisher_rao", n_points=2001)
    dist = float(fam.fisher_rao_distance(p, q))
    assert _fisher_length(fam, fr.points) == pytest.approx(dist, rel=1e-6)
    # constant speed: equal Fisher–Rao distances between consecutive samples
    steps = fam.fisher_rao_distance(fr.points[:-1], fr.points[1:])
    np.testing.assert_allclose(steps, dist / 2000, rtol=1e-6)
    for kind in ("e", "m"):
        pts = fam.geodesic(p, q, kind, n_points=401).points
        # the polygon's Fisher–Rao length: equal to the distance exactly when the points lie
        # in order on the Fisher–Rao geodesic, longer otherwise
        polygon = float(np.sum(fam.fisher_rao_distance(pts[:-1], pts[1:])))
        if shorter:
            assert polygon > dist * (1 + 1e-3)
        else:  # the same curve, run at another speed
            assert polygon == pytest.approx(dist, rel=1e-12)


# -- geodesics -----------------------------------------------------------------------------------
@pytest.mark.parametrize("fam, p, q", [
    (Categorical(3), [0.2, 0.3, 0.5], [0.6, 0.1, 0.3]),
    (Categorical(4), [0.1, 0.2, 0.3, 0.4], [0.4, 0.4, 0.1, 0.1]),
    (Gaussian1D(), [0.1, 1.2], [1.0, 0.5]),
    (Bernoulli(), 0.3, 0.8),
], ids=["categorical3", "categorical4", "gaussian", "bernoulli"])
def test_geodesics_hit_their_endpoints(fam, p, q):
    for kind in ("e", "m", "fisher_rao"):
        c = fam.geodesic(p, q, kind, n_points=17)
        assert c.points.shape == (17, np.shape(fam.check_point(p))[-1])
        np.testing.assert_allclose(c.points[0], fam.check_point(p), rtol=0, atol=1e-14)
        np.testing.assert_allclose(c.points[-1], fam.check_point(q), rtol=0, atol=1e-14)
    for alpha in (-0.5, 0.3):
        c = fam.geodesic(p, q, alpha=alpha, n_points=17)
        assert c.status == "ok", c.message
        ends = np.stack([fam.check_point(p), fam.check_point(q)])
        np.testing.assert_allclose(c.points[[0, -1]], ends, rtol=0, atol=1e-14)


def test_e_and_m_geodesics_of_the_categorical_in_closed_form():
    fam = Categorical(3)
    p, q = np.array([0.2, 0.3, 0.5]), np.array([0.6, 0.1, 0.3])
    t = np.linspace(0, 1, 11)[:, None]
    geometric = p ** (1 - t) * q**t
    np.testing.assert_allclose(fam.geodesic(p, q, "e", n_points=11).points,
                               geometric / geometric.sum(axis=1, keepdims=True), rtol=1e-13)
    np.testing.assert_allclose(fam.geodesic(p, q, "m", n_points=11).points,
                               (1 - t) * p + t * q, rtol=1e-13)


def test_gaussian_m_geodesic_is_the_moment_matched_mixture():
    fam = Gaussian1D()
    (m1, s1), (m2, s2) = (0.1, 1.2), (1.0, 0.5)
    c = fam.geodesic([m1, s1], [m2, s2], "m", n_points=5)
    for t, (mu, sigma) in zip(c.t, c.points, strict=True):
        mean = (1 - t) * m1 + t * m2
        second = (1 - t) * (m1**2 + s1**2) + t * (m2**2 + s2**2)
        assert mu == pytest.approx(mean, rel=1e-14, abs=1e-15)
        assert sigma == pytest.approx(math.sqrt(second - mean**2), rel=1e-14)


@pytest.mark.parametrize("fam, theta0, direction, w1, w2", [
    (Categorical(3), [0.0, 0.0], [-2.0, -1.0], -0.8, 1.3),  # tilted uniform e^{w f(x)}, f=0,1,2
    (Categorical(4), [0.3, -0.2, 0.1], [1.0, 0.0, -1.0], -1.0, 2.0),
    (Gaussian1D(), [0.0, -0.5], [1.0, 0.0], -2.0, 3.0),  # σ = 1 fixed: the means
    (Gaussian1D(), [1.0, -0.5], [0.0, -1.0], 0.2, 4.0),  # a fixed mean-over-variance ratio
], ids=["tilted3", "tilted4", "unit-variance", "fixed-ratio"])
def test_e_geodesic_stays_in_an_e_flat_subfamily(fam, theta0, direction, w1, w2):
    th0, a = np.array(theta0), np.array(direction)
    p, q = fam.from_natural(th0 + w1 * a), fam.from_natural(th0 + w2 * a)
    theta = fam.to_natural(fam.geodesic(p, q, "e", n_points=21).points)
    # every θ(t) is θ₀ + w(t)·a: the residual orthogonal to a vanishes
    rel = theta - th0
    w = rel @ a / (a @ a)
    np.testing.assert_allclose(rel, w[:, None] * a, rtol=0, atol=1e-12)
    assert np.all(np.diff(w) * np.sign(w2 - w1) > 0)


@pytest.mark.parametrize("fam, p, q", [
    (Categorical(3), [0.2, 0.3, 0.5], [0.6, 0.1, 0.3]),
    (Gaussian1D(), [0.1, 1.2], [1.0, 0.5]),
    (Bernoulli(), 0.2, 0.9),
], ids=["categorical", "gaussian", "bernoulli"])
def test_alpha_geodesic_solve_reproduces_the_closed_forms(fam, p, q):
    """The α-connection boundary-value solve and the closed forms are two routes: α = 1 is the
    e-geodesic, α = −1 the m-geodesic and α = 0 the Fisher–Rao (Levi-Civita) geodesic, all
    affinely parametrised."""
    for alpha, kind in ((1.0, "e"), (-1.0, "m"), (0.0, "fisher_rao")):
        solved = fam.geodesic(p, q, alpha=alpha, n_points=21)
        assert solved.status == "ok", solved.message
        np.testing.assert_allclose(solved.points, fam.geodesic(p, q, kind, n_points=21).points,
                                   rtol=0, atol=1e-11)


def test_alpha_geodesic_at_a_loose_tolerance_stays_close():
    fam = Categorical(3)
    p, q = [0.04, 0.16, 0.8], [0.7, 0.26, 0.04]
    tight = fam.geodesic(p, q, alpha=0.35, n_points=51)
    loose = fam.geodesic(p, q, alpha=0.35, n_points=51, tol=1e-6)
    assert tight.status == loose.status == "ok"
    np.testing.assert_allclose(loose.points, tight.points, rtol=0, atol=1e-7)  # measured 9e-11


def test_a_failed_alpha_solve_says_so():
    """Normals 30 standard-deviation ratios apart, α near −1: the solver's Newton steps leave
    θ₂ < 0. The curve is reported as failed (only its endpoints), never drawn wrong."""
    c = Gaussian1D().geodesic([3.0, 0.1], [-3.0, 3.0], alpha=-0.95, n_points=51, tol=1e-6)
    assert c.status == "failed"
    assert "α = -0.95" in c.message
    np.testing.assert_array_equal(c.points, [[3.0, 0.1], [-3.0, 3.0]])


def test_alpha_geodesics_move_monotonically_between_m_and_e():
    fam = Categorical(3)
    p, q = [0.05, 0.15, 0.8], [0.7, 0.25, 0.05]
    mids = [fam.geodesic(p, q, alpha=a, n_points=3).points[1] for a in (-1.0, -0.5, 0.0, 0.5,
                                                                        1.0)]
    third = [m[2] for m in mids]
    assert all(np.diff(third) < 0)  # the e-midpoint p^½q^½ is lower in p₃ than the mixture's


# -- hostile inputs ------------------------------------------------------------------------------
@pytest.mark.parametrize("bad, words", [
    ([0.5, 0.5, np.nan], "NaN"),
    ([0.5, 0.6, -0.1], "negative"),
    ([0.5, 0.6, 0.2], "sums to"),
    ([0.5, 0.5], "length 3"),
    ("abc", "array of numbers"),
    ([[0.2, 0.8, 0.0], [np.inf, 0.0, 0.0]], "NaN or inf"),
])
def test_categorical_refuses_non_probabilities(bad, words):
    with pytest.raises(DualityError, match=words):
        Categorical(3).kl(bad, [1 / 3, 1 / 3, 1 / 3])


def test_zero_probabilities_are_refused_only_where_theta_is_needed():
    fam, p, q = Categorical(3), [0.0, 0.4, 0.6], [0.3, 0.3, 0.4]
    with pytest.raises(DualityError, match="natural parameters"):
        fam.to_natural(p)
    with pytest.raises(DualityError, match="natural parameters"):
        fam.geodesic(p, q, "e")
    with pytest.raises(DualityError, match="boundary"):
        fam.fisher_expectation([0.0, 0.4])
    assert np.isfinite(fam.fisher_rao_distance(p, q))
    m = fam.geodesic(p, q, "m", n_points=5).points
    fr = fam.geodesic(p, q, "fisher_rao", n_points=5).points
    assert m[0, 0] == 0.0 and fr[0, 0] == 0.0 and np.all(fr[1:, 0] > 0)
    np.testing.assert_allclose(fr.sum(axis=1), 1.0, rtol=0, atol=1e-15)


@pytest.mark.parametrize("sigma", [0.0, -1.0, SIGMA_MIN / 10, SIGMA_MAX * 10, np.nan])
def test_gaussian_refuses_bad_sigma(sigma):
    with pytest.raises(DualityError, match="sigma|NaN"):
        Gaussian1D().to_natural([0.0, sigma])


def test_gaussian_at_tiny_and_huge_sigma_stays_finite():
    fam = Gaussian1D()
    for s in (1e-60, 1e60):
        p, q = [0.0, s], [s, 2 * s]
        theta = fam.to_natural(p)
        assert np.all(np.isfinite(theta)) and np.all(np.isfinite(fam.fisher_natural(theta)))
        # scale-invariant quantities do not depend on s
        assert fam.kl(p, q) == pytest.approx(fam.kl([0, 1], [1, 2]), rel=1e-12)
        assert fam.fisher_rao_distance(p, q) == pytest.approx(
            fam.fisher_rao_distance([0, 1], [1, 2]), rel=1e-12)
        np.testing.assert_allclose(fam.from_natural(theta), p, rtol=1e-12)


def test_geodesic_refuses_bad_options():
    fam = Categorical(3)
    p, q = [0.2, 0.3, 0.5], [0.6, 0.1, 0.3]
    with pytest.raises(DualityError, match="either a kind or an alpha"):
        fam.geodesic(p, q, "m", alpha=0.5)
    with pytest.raises(DualityError, match="out of range"):
        fam.geodesic(p, q, alpha=1.5)
    with pytest.raises(DualityError, match="not one of"):
        fam.geodesic(p, q, "straight")  # type: ignore[arg-type]
    with pytest.raises(DualityError, match="n_points"):
        fam.geodesic(p, q, "m", n_points=10**7)
    with pytest.raises(DualityError, match="tol"):
        fam.geodesic(p, q, alpha=0.5, tol=0.1)
    with pytest.raises(DualityError, match="k"):
        Categorical(1)
