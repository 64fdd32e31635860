"""Manifolds: closed forms, properties on random points (hypothesis) and comparisons with
pymanopt and geoopt on the same inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from geomcore.riemannian import (
    SPD,
    Grassmann,
    ManifoldError,
    PoincareBall,
    Sphere,
    Stiefel,
    principal_angles,
)

MANIFOLDS = {
    "sphere": lambda: Sphere(5),
    "stiefel": lambda: Stiefel(6, 3),
    "grassmann": lambda: Grassmann(6, 2),
    "spd": lambda: SPD(3),
    "spd_le": lambda: SPD(3, metric="log_euclidean"),
    "poincare": lambda: PoincareBall(3),
}
WITH_LOG = [k for k in MANIFOLDS if k != "stiefel"]
# Closed-form parallel transport (Stiefel and Grassmann transport by projection).
PARALLEL = [k for k in WITH_LOG if k != "grassmann"]
# Retractions that match exp to second order (error O(t³)); every other one to first (O(t²)).
SECOND_ORDER = {("sphere", "projection"), ("stiefel", "projection"),
                ("grassmann", "projection"), ("spd", "second_order")}
RETRACTIONS = [(name, kind) for name, make in MANIFOLDS.items()
               for kind in make().retractions if kind != "exp"]
seeds = st.integers(0, 10_000)


def _slope(ts: np.ndarray, errs: np.ndarray) -> float:
    return float(np.polyfit(np.log(ts), np.log(errs), 1)[0])


def _cost(x: torch.Tensor) -> torch.Tensor:
    """A generic smooth cost on any point shape (no symmetry the manifolds could hide)."""
    flat = x.reshape(-1)
    c = torch.linspace(0.3, 1.7, flat.numel(), dtype=torch.float64)
    return torch.sin(c * flat).sum() + 0.5 * (flat @ c) ** 2


# -- closed forms ----------------------------------------------------------------------------------
def test_poincare_distance_closed_form():
    ball = PoincareBall(4)
    x, y = ball.random_point(3, (50,)), ball.random_point(4, (50,))
    nx, ny = (x**2).sum(-1), (y**2).sum(-1)
    expected = torch.arccosh(1 + 2 * ((x - y) ** 2).sum(-1) / ((1 - nx) * (1 - ny)))
    torch.testing.assert_close(ball.dist(x, y), expected, rtol=1e-12, atol=1e-12)
    # from the origin: 2 artanh ‖y‖
    torch.testing.assert_close(ball.dist(torch.zeros(4), y), 2 * torch.atanh(ny.sqrt()),
                               rtol=1e-13, atol=1e-13)


def test_spd_geodesic_midpoint_is_the_geometric_mean():
    spd = SPD(4)
    a, b = spd.random_point(0).numpy(), spd.random_point(1).numpy()
    ra = scipy.linalg.sqrtm(a).real
    ria = np.linalg.inv(ra)
    expected = ra @ scipy.linalg.sqrtm(ria @ b @ ria).real @ ra   # A # B
    midpoint = spd.exp(a, 0.5 * spd.log(a, b))
    np.testing.assert_allclose(midpoint.numpy(), expected, rtol=1e-10, atol=1e-11)
    mean = spd.frechet_mean(np.stack([a, b]), tol=1e-13)
    assert mean.status == "ok"
    np.testing.assert_allclose(mean.x.numpy(), expected, rtol=1e-10, atol=1e-11)


@pytest.mark.parametrize("metric", ["affine", "log_euclidean"])
def test_karcher_mean_of_commuting_spd_matrices(metric):
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    logs = rng.normal(size=(7, 5))
    points = np.stack([q @ np.diag(np.exp(d)) @ q.T for d in logs])
    expected = q @ np.diag(np.exp(logs.mean(0))) @ q.T
    mean = SPD(5, metric=metric).frechet_mean(points, tol=1e-12)
    assert mean.status == "ok", mean.message
    np.testing.assert_allclose(mean.x.numpy(), expected, rtol=1e-10, atol=1e-11)


def test_log_euclidean_mean_is_expm_of_mean_logm():
    spd = SPD(3, metric="log_euclidean")
    points = spd.random_point(5, (6,)).numpy()
    expected = scipy.linalg.expm(np.mean([scipy.linalg.logm(p).real for p in points], axis=0))
    mean = spd.frechet_mean(points, tol=1e-12)
    np.testing.assert_allclose(mean.x.numpy(), expected, rtol=1e-10, atol=1e-11)


def test_symmetric_configuration_has_its_mean_at_the_pole():
    phi = np.arange(6) * 2 * np.pi / 6
    polar = 0.9
    pts = np.stack([np.sin(polar) * np.cos(phi), np.sin(polar) * np.sin(phi),
                    np.full(6, np.cos(polar))], axis=1)
    mean = Sphere(3).frechet_mean(pts, tol=1e-13)
    np.testing.assert_allclose(mean.x.numpy(), [0, 0, 1], atol=1e-13)
    # the same on the Poincaré disk: a configuration symmetric about the origin
    disk = PoincareBall(2)
    ring = 0.6 * np.stack([np.cos(phi + 0.3), np.sin(phi + 0.3)], axis=1)
    centre = disk.frechet_mean(np.concatenate([ring, 0.5 * ring]), tol=1e-13)
    np.testing.assert_allclose(centre.x.numpy(), [0, 0], atol=1e-13)


def test_sphere_exp_quarter_turn_and_antipodal_distance():
    s = Sphere(3)
    x = torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64)
    u = torch.tensor([math.pi / 2, 0.0, 0.0], dtype=torch.float64)
    torch.testing.assert_close(s.exp(x, u), torch.tensor([1.0, 0, 0], dtype=torch.float64),
                               atol=1e-15, rtol=0)
    assert float(s.dist(x, -x)) == pytest.approx(math.pi, abs=1e-15)
    # near points keep full relative precision (atan2, not arccos)
    y = s.exp(x, torch.tensor([1e-9, 0, 0], dtype=torch.float64))
    assert float(s.dist(x, y)) == pytest.approx(1e-9, rel=1e-12)


def test_stiefel_with_one_column_is_the_sphere():
    st1, sphere = Stiefel(5, 1), Sphere(5)
    x = sphere.random_point(2, (8,))
    u = 1.3 * sphere.random_tangent(x, 3)
    torch.testing.assert_close(st1.exp(x[..., None], u[..., None])[..., 0], sphere.exp(x, u),
                               rtol=1e-12, atol=1e-12)


def test_grassmann_distance_is_the_norm_of_the_principal_angles():
    gr = Grassmann(7, 3)
    x = gr.random_point(0)
    u = 0.4 * gr.random_tangent(x, 1)
    y = gr.exp(x, u)
    # exp along u turns the subspace by the singular values of u
    expected = torch.linalg.svdvals(u).flip(-1)
    torch.testing.assert_close(principal_angles(x, y), expected, rtol=1e-12, atol=1e-13)
    # and y rotated within its span is the same point
    q, _ = torch.linalg.qr(torch.randn(3, 3, dtype=torch.float64,
                                       generator=torch.Generator().manual_seed(0)))
    assert float(gr.dist(y, y @ q)) < 1e-7
    torch.testing.assert_close(gr.log(x, y @ q), gr.log(x, y), rtol=1e-11, atol=1e-12)


def test_stiefel_inverse_polar_retraction():
    stf = Stiefel(8, 3)
    x = stf.random_point(1, (5,))
    u = 0.7 * stf.random_tangent(x, 2)
    v = stf.inverse_retract(x, stf.retract(x, u, "projection"))
    torch.testing.assert_close(v, u, rtol=1e-11, atol=1e-12)
    # the retraction-based mean of points spread symmetrically around x in its tangent space
    # (y = R_x(±u)) is x itself
    tangents = torch.stack([u[0], 0.5 * stf.random_tangent(x[0], 3)])
    ys = torch.cat([stf.retract(x[0], tangents, "projection"),
                    stf.retract(x[0], -tangents, "projection")])
    mean = stf.frechet_mean(ys, tol=1e-13)
    assert mean.status == "ok"
    torch.testing.assert_close(mean.x, x[0], rtol=0, atol=1e-12)


# -- properties (hypothesis) -----------------------------------------------------------------------
@pytest.mark.parametrize("name,kind", RETRACTIONS + [(n, "exp") for n in MANIFOLDS])
@settings(max_examples=2, deadline=None, derandomize=True)
@given(seed=seeds, scale=st.floats(0.01, 0.3))
def test_points_stay_on_the_manifold_after_1000_steps(name, kind, seed, scale):
    m = MANIFOLDS[name]()
    x = m.random_point(seed, (4,))
    for k in range(1000):
        x = m.retract(x, scale * m.random_tangent(x, seed + k), kind)
    assert float(m.off_manifold(x).max()) <= 1e-12
    assert bool(torch.isfinite(x).all())


@pytest.mark.parametrize("name", WITH_LOG)
@settings(max_examples=10, deadline=None, derandomize=True)
@given(seed=seeds, length=st.floats(0.05, 1.2))
def test_exp_log_round_trip(name, seed, length):
    m = MANIFOLDS[name]()
    x = m.random_point(seed, (3,))
    u = length * m.random_tangent(x, seed + 1)
    y = m.exp(x, u)
    torch.testing.assert_close(m.log(x, y), u, rtol=1e-9, atol=1e-10)
    torch.testing.assert_close(m.dist(x, y), m.norm(x, u), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name", PARALLEL)
@settings(max_examples=10, deadline=None, derandomize=True)
@given(seed=seeds, length=st.floats(0.05, 1.2))
def test_parallel_transport_preserves_inner_products(name, seed, length):
    m = MANIFOLDS[name]()
    x = m.random_point(seed, (3,))
    y = m.exp(x, length * m.random_tangent(x, seed + 1))
    u, v = m.random_tangent(x, seed + 2), m.random_tangent(x, seed + 3)
    pu, pv = m.transport(x, y, u), m.transport(x, y, v)
    torch.testing.assert_close(m.inner(y, pu, pv), m.inner(x, u, v), rtol=1e-10, atol=1e-11)
    # and it carries the geodesic's own velocity to its velocity at y (minus log_y(x))
    w = m.log(x, y)
    torch.testing.assert_close(m.transport(x, y, w), -m.log(y, x), rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("name,kind", RETRACTIONS)
@settings(max_examples=3, deadline=None, derandomize=True)
@given(seed=seeds)
def test_retraction_agrees_with_exp_to_its_order(name, kind, seed):
    m = MANIFOLDS[name]()
    x = m.random_point(seed)
    u = m.random_tangent(x, seed + 1)
    ts = np.geomspace(1e-2, 1e-3, 6)
    errs = np.array([float(torch.linalg.vector_norm(m.retract(x, t * u, kind) - m.exp(x, t * u)))
                     for t in ts])
    order = 3 if (name, kind) in SECOND_ORDER else 2
    assert _slope(ts, errs) == pytest.approx(order, abs=0.1)


@pytest.mark.parametrize("name", list(MANIFOLDS))
@settings(max_examples=4, deadline=None, derandomize=True)
@given(seed=seeds)
def test_riemannian_gradient_taylor_remainder_has_slope_2(name, seed):
    m = MANIFOLDS[name]()
    x = m.random_point(seed)
    xg = x.clone().requires_grad_(True)
    (egrad,) = torch.autograd.grad(_cost(xg), xg)
    rgrad = m.egrad_to_rgrad(x, egrad)
    xi = m.random_tangent(x, seed + 1)
    f0, slope0 = float(_cost(x)), float(m.inner(x, rgrad, xi))
    ts = np.geomspace(1e-2, 1e-4, 5)
    kind = "exp" if m.has_log else "projection"
    rem = np.array([abs(float(_cost(m.retract(x, t * xi, kind))) - f0 - t * slope0)
                    for t in ts])
    assert _slope(ts, rem) == pytest.approx(2.0, abs=0.1)


@pytest.mark.parametrize("name", list(MANIFOLDS))
@settings(max_examples=5, deadline=None, derandomize=True)
@given(seed=seeds)
def test_riemannian_gradient_is_tangent(name, seed):
    m = MANIFOLDS[name]()
    x = m.random_point(seed, (2,))
    g = torch.randn(x.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    r = m.egrad_to_rgrad(x, g)
    torch.testing.assert_close(m.to_tangent(x, r), r, rtol=0, atol=1e-13)


# -- conversions and errors ------------------------------------------------------------------------
def test_numpy_input_and_batching():
    s = Sphere(3)
    x = np.array([[1.0, 0, 0], [0, 1.0, 0]])
    out = s.exp(x, np.array([[0, 0.1, 0], [0.2, 0, 0]]))
    assert out.dtype == torch.float64 and out.shape == (2, 3)
    torch.testing.assert_close(out[1], s.exp(x[1], np.array([0.2, 0, 0])), rtol=0, atol=0)


def test_bad_sizes_and_options_are_refused_with_the_value():
    with pytest.raises(ManifoldError, match="p=4 > n=3"):
        Stiefel(3, 4)
    with pytest.raises(ManifoldError, match="n=1"):
        Sphere(1)
    with pytest.raises(ManifoldError, match="'bogus'"):
        Sphere(3).retract(np.array([1.0, 0, 0]), np.zeros(3), kind="bogus")
    with pytest.raises(ManifoldError, match=r"shape \(4,\)"):
        Sphere(3).project(np.ones(4))
    with pytest.raises(ManifoldError, match="metric='frob'"):
        SPD(2, metric="frob")  # type: ignore[arg-type]
    with pytest.raises(NotImplementedError, match="inverse_retract"):
        Stiefel(3, 2).log(np.eye(3)[:, :2], np.eye(3)[:, :2])


# -- comparisons with pymanopt and geoopt ----------------------------------------------------------
def test_spd_agrees_with_pymanopt():
    from pymanopt.manifolds import SymmetricPositiveDefinite

    ref, ours = SymmetricPositiveDefinite(4), SPD(4)
    x, y = ours.random_point(0).numpy(), ours.random_point(1).numpy()
    u = ours.random_tangent(x, 2).numpy()
    np.testing.assert_allclose(ours.exp(x, u).numpy(), ref.exp(x, u), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.log(x, y).numpy(), ref.log(x, y), rtol=1e-10, atol=1e-12)
    assert float(ours.dist(x, y)) == pytest.approx(ref.dist(x, y), rel=1e-12)
    assert float(ours.inner(x, u, u)) == pytest.approx(ref.inner_product(x, u, u), rel=1e-12)


def test_stiefel_and_grassmann_agree_with_pymanopt():
    from pymanopt.manifolds import Grassmann as RefGrassmann
    from pymanopt.manifolds import Stiefel as RefStiefel

    stf = Stiefel(7, 3)
    x = stf.random_point(0).numpy()
    u = stf.random_tangent(x, 1).numpy()
    np.testing.assert_allclose(stf.exp(x, u).numpy(), RefStiefel(7, 3).exp(x, u),
                               rtol=1e-10, atol=1e-12)
    gr = Grassmann(7, 3)
    y = gr.exp(x, 0.5 * gr.random_tangent(x, 2)).numpy()
    ref = RefGrassmann(7, 3)
    np.testing.assert_allclose(gr.log(x, y).numpy(), ref.log(x, y), rtol=1e-9, atol=1e-11)
    assert float(gr.dist(x, y)) == pytest.approx(ref.dist(x, y), rel=1e-8)


def test_poincare_ball_agrees_with_geoopt():
    import geoopt

    ref, ours = geoopt.PoincareBall(c=1.0), PoincareBall(3)
    x, y = ours.random_point(0, (10,)), ours.random_point(1, (10,))
    u = ours.random_tangent(x, 2)
    torch.testing.assert_close(ours.exp(x, u), ref.expmap(x, u), rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(ours.log(x, y), ref.logmap(x, y), rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(ours.dist(x, y), ref.dist(x, y), rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(ours.transport(x, y, u), ref.transp(x, y, u),
                               rtol=1e-10, atol=1e-12)
