"""Parametric surfaces: closed-form curvature, the metric, Theorema Egregium, Gauss–Bonnet."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geomcore.expr import ExpressionError
from geomcore.geometry import surfaces
from geomcore.geometry.surfaces import DegenerateSurfaceError, from_expressions, total_curvature

REQUIRED = ("sphere", "ellipsoid", "torus", "saddle", "monkey_saddle", "paraboloid", "catenoid",
            "helicoid", "pseudosphere", "gaussian_bump", "cylinder", "cone")

# Fractions of each parameter range kept clear of the edges, where some catalog surfaces are
# singular (a sphere's poles, a cone's apex, the pseudosphere's rim).
MARGIN = 0.06


def interior_grid(surface, n=9, margin=MARGIN):
    (u0, u1), (v0, v1) = surface.u_range, surface.v_range
    u = np.linspace(u0 + margin * (u1 - u0), u1 - margin * (u1 - u0), n)
    v = np.linspace(v0 + margin * (v1 - v0), v1 - margin * (v1 - v0), n)
    return np.meshgrid(u, v, indexing="ij")


def at_fraction(surface, a, b):
    (u0, u1), (v0, v1) = surface.u_range, surface.v_range
    return u0 + a * (u1 - u0), v0 + b * (v1 - v0)


# -- the catalog ---------------------------------------------------------------------------------
def test_catalog_has_the_required_surfaces():
    assert set(REQUIRED) <= set(surfaces.names())


@pytest.mark.parametrize("name", REQUIRED)
def test_catalog_surface_evaluates_with_the_right_shapes(name):
    s = surfaces.get(name)
    uu, vv = interior_grid(s, n=4)
    assert s.point(uu, vv).shape == (4, 4, 3)
    assert s.metric(uu, vv).shape == (4, 4, 2, 2)
    assert s.christoffel(uu, vv).shape == (4, 4, 2, 2, 2)
    assert s.gaussian_curvature(uu, vv).shape == (4, 4)
    assert s.mean_curvature(uu, vv).shape == (4, 4)
    assert np.all(np.isfinite(s.point(uu, vv)))


@pytest.mark.parametrize("name", ["torus", "paraboloid", "cone"])
def test_latex_has_every_part(name):
    # (only cheap surfaces: the ellipsoid's LaTeX takes seconds to simplify)
    latex = surfaces.get(name).latex()
    assert {"metric", "christoffel", "gaussian_curvature", "immersion"} <= set(latex)
    assert latex["gaussian_curvature"].startswith("K = ")
    assert latex["metric"].startswith("g = ")


def test_unknown_surface_and_parameter_are_refused_with_the_choices():
    with pytest.raises(ValueError, match="choose one of.*sphere"):
        surfaces.get("klein_bottle")
    with pytest.raises(ValueError, match="parameters are r"):
        surfaces.get("sphere", R=2.0)
    with pytest.raises(ValueError, match="finite"):
        surfaces.get("sphere", r=float("nan"))


def test_latex_of_the_sphere():
    latex = surfaces.get("sphere").latex()
    assert latex["gaussian_curvature"] == r"K = \frac{1}{r^{2}}"
    assert r"\sin^{2}" in latex["metric"]
    assert r"\Gamma^{u}_{vv}" in latex["christoffel"]
    assert r"\Gamma^{v}_{uv}" in latex["christoffel"]
    assert r"\Gamma^{u}_{uu}" not in latex["christoffel"]


# -- closed forms ---------------------------------------------------------------------------------
@pytest.mark.parametrize("r", [0.3, 1.0, 2.5])
def test_sphere_curvature_metric_and_mean_curvature(r):
    s = surfaces.get("sphere", r=r)
    uu, vv = interior_grid(s)
    np.testing.assert_allclose(s.gaussian_curvature(uu, vv), 1 / r**2, rtol=1e-12)
    # the normal r_u x r_v points outwards, so H = -1/r
    np.testing.assert_allclose(s.mean_curvature(uu, vv), -1 / r, rtol=1e-12)
    g = s.metric(uu, vv)
    np.testing.assert_allclose(g[..., 0, 0], r**2, rtol=1e-13)
    np.testing.assert_allclose(g[..., 1, 1], r**2 * np.sin(uu) ** 2, rtol=1e-12)
    np.testing.assert_allclose(g[..., 0, 1], 0.0, atol=1e-14)
    np.testing.assert_allclose(g[..., 1, 0], 0.0, atol=1e-14)
    np.testing.assert_allclose(np.linalg.norm(s.point(uu, vv), axis=-1), r, rtol=1e-13)


def test_sphere_christoffel_symbols():
    s = surfaces.get("sphere", r=1.7)  # Γ does not depend on the radius
    uu, vv = interior_grid(s)
    gam = s.christoffel(uu, vv)  # [..., k, i, j] = Γ^k_ij, 0 = u, 1 = v
    expected = np.zeros(uu.shape + (2, 2, 2))
    expected[..., 0, 1, 1] = -np.sin(uu) * np.cos(uu)
    expected[..., 1, 0, 1] = expected[..., 1, 1, 0] = np.cos(uu) / np.sin(uu)
    np.testing.assert_allclose(gam, expected, atol=1e-12)


@pytest.mark.parametrize(("R", "r"), [(2.0, 0.8), (3.0, 0.5), (1.2, 0.9)])
def test_torus_curvature(R, r):
    s = surfaces.get("torus", R=R, r=r)
    uu, vv = s.grid(13, 11)
    expected = np.cos(uu) / (r * (R + r * np.cos(uu)))
    np.testing.assert_allclose(s.gaussian_curvature(uu, vv), expected, rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("r", [0.5, 1.0, 2.0])
def test_pseudosphere_has_constant_negative_curvature(r):
    s = surfaces.get("pseudosphere", r=r)
    uu, vv = interior_grid(s)
    np.testing.assert_allclose(s.gaussian_curvature(uu, vv), -1 / r**2, rtol=1e-9)


@pytest.mark.parametrize("a", [0.1, 0.5, 1.7])
def test_paraboloid_and_saddle_at_the_vertex(a):
    par, sad = surfaces.get("paraboloid", a=a), surfaces.get("saddle", a=a)
    assert float(par.gaussian_curvature(0.0, 0.0)) == pytest.approx(4 * a**2, rel=1e-13)
    assert float(sad.gaussian_curvature(0.0, 0.0)) == pytest.approx(-4 * a**2, rel=1e-13)
    # the paraboloid z = a(u² + v²) is umbilic at the vertex: |H| = 2a
    assert abs(float(par.mean_curvature(0.0, 0.0))) == pytest.approx(2 * a, rel=1e-13)


@pytest.mark.parametrize(("name", "f"), [
    ("paraboloid", lambda u, v, a: (2 * a * u, 2 * a * v, 2 * a, 0 * u, 2 * a)),
    ("saddle", lambda u, v, a: (2 * a * u, -2 * a * v, 2 * a, 0 * u, -2 * a)),
    ("monkey_saddle", lambda u, v, a: (3 * a * (u**2 - v**2), -6 * a * u * v, 6 * a * u,
                                       -6 * a * v, -6 * a * u)),
])
def test_graph_surfaces_match_the_monge_patch_formula(name, f):
    """For z = f(u, v): K = (f_uu f_vv − f_uv²) / (1 + f_u² + f_v²)² everywhere."""
    a = 0.7
    s = surfaces.get(name, a=a)
    uu, vv = s.grid(9, 9)
    fu, fv, fuu, fuv, fvv = f(uu, vv, a)
    expected = (fuu * fvv - fuv**2) / (1 + fu**2 + fv**2) ** 2
    np.testing.assert_allclose(s.gaussian_curvature(uu, vv), expected, rtol=1e-11, atol=1e-14)


def test_monkey_saddle_is_flat_at_the_origin_and_nonpositive():
    s = surfaces.get("monkey_saddle")
    assert abs(float(s.gaussian_curvature(0.0, 0.0))) < 1e-15
    uu, vv = s.grid(21, 21)
    assert np.all(s.gaussian_curvature(uu, vv) <= 1e-15)


@pytest.mark.parametrize(("h", "sigma"), [(1.0, 0.6), (-1.5, 0.3)])
def test_gaussian_bump_top(h, sigma):
    s = surfaces.get("gaussian_bump", h=h, s=sigma)
    assert float(s.gaussian_curvature(0.0, 0.0)) == pytest.approx(h**2 / sigma**4, rel=1e-12)


@pytest.mark.parametrize("c", [0.5, 1.0, 2.0])
def test_catenoid_is_minimal_with_known_curvature(c):
    s = surfaces.get("catenoid", c=c)
    uu, vv = s.grid(11, 9)
    np.testing.assert_allclose(s.mean_curvature(uu, vv), 0.0, atol=1e-12)
    expected = -1 / (c**2 * np.cosh(uu / c) ** 4)
    np.testing.assert_allclose(s.gaussian_curvature(uu, vv), expected, rtol=1e-11)


@pytest.mark.parametrize("c", [0.3, 1.0])
def test_helicoid_is_minimal_with_known_curvature(c):
    s = surfaces.get("helicoid", c=c)
    uu, vv = s.grid(11, 9)
    np.testing.assert_allclose(s.mean_curvature(uu, vv), 0.0, atol=1e-12)
    np.testing.assert_allclose(s.gaussian_curvature(uu, vv), -(c**2) / (c**2 + uu**2) ** 2,
                               rtol=1e-11)


@pytest.mark.parametrize(("a", "b", "c"), [(1.6, 1.0, 0.7), (1.0, 2.0, 3.0)])
def test_ellipsoid_curvature(a, b, c):
    """K = 1 / (a²b²c² (x²/a⁴ + y²/b⁴ + z²/c⁴)²) at the point (x, y, z)."""
    s = surfaces.get("ellipsoid", a=a, b=b, c=c)
    uu, vv = interior_grid(s)
    x, y, z = np.moveaxis(s.point(uu, vv), -1, 0)
    expected = 1 / (a**2 * b**2 * c**2 * (x**2 / a**4 + y**2 / b**4 + z**2 / c**4) ** 2)
    np.testing.assert_allclose(s.gaussian_curvature(uu, vv), expected, rtol=1e-10)


@pytest.mark.parametrize(("name", "params"), [("cylinder", {"r": 0.7}), ("cone", {"k": 1.0}),
                                              ("cone", {"k": 2.5})])
def test_developable_surfaces_are_flat(name, params):
    s = surfaces.get(name, **params)
    uu, vv = interior_grid(s)
    np.testing.assert_allclose(s.gaussian_curvature(uu, vv), 0.0, atol=1e-12)
    np.testing.assert_allclose(s.intrinsic_metric().gaussian_curvature(np.stack([uu, vv], -1)),
                               0.0, atol=1e-12)


@pytest.mark.parametrize("r", [0.5, 2.0])
def test_mean_curvature_vector_points_to_the_axis(r):
    """H n is the same vector whatever the normal's orientation: inwards, |H| = 1/r or 1/(2r)."""
    for name, size in (("sphere", 1 / r), ("cylinder", 1 / (2 * r))):
        s = surfaces.get(name, r=r)
        uu, vv = interior_grid(s, n=5)
        hn = s.mean_curvature(uu, vv)[..., None] * s.normal(uu, vv)
        x = s.point(uu, vv)
        radial = x if name == "sphere" else x * np.array([1.0, 1.0, 0.0])
        inward = -radial / np.linalg.norm(radial, axis=-1, keepdims=True)
        np.testing.assert_allclose(hn, size * inward, atol=1e-12)


# -- two routes ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", REQUIRED)
def test_theorema_egregium_extrinsic_equals_intrinsic_curvature(name):
    """K from the second fundamental form equals K = R/2 of the first fundamental form alone."""
    s = surfaces.get(name)
    uu, vv = interior_grid(s, n=11)
    extrinsic = s.gaussian_curvature(uu, vv)
    intrinsic = s.intrinsic_metric().gaussian_curvature(np.stack([uu, vv], axis=-1))
    assert np.all(np.isfinite(extrinsic))
    np.testing.assert_allclose(intrinsic, extrinsic, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("name", REQUIRED)
def test_metric_equals_jacobian_gram_matrix_by_finite_differences(name):
    """g = JᵀJ with J = ∂r/∂(u, v) taken numerically from point() (central differences)."""
    s = surfaces.get(name)
    uu, vv = interior_grid(s, n=5)
    h = 1e-6
    ru = (s.point(uu + h, vv) - s.point(uu - h, vv)) / (2 * h)
    rv = (s.point(uu, vv + h) - s.point(uu, vv - h)) / (2 * h)
    jac = np.stack([ru, rv], axis=-1)  # (..., 3, 2)
    gram = np.einsum("...ai,...aj->...ij", jac, jac)
    g = s.metric(uu, vv)
    np.testing.assert_allclose(g, gram, rtol=1e-6, atol=1e-7 * np.max(np.abs(g)))
    # and the unit normal is orthogonal to both tangent vectors
    n = s.normal(uu, vv)
    np.testing.assert_allclose(np.linalg.norm(n, axis=-1), 1.0, rtol=1e-12)
    scale = np.linalg.norm(ru, axis=-1) + np.linalg.norm(rv, axis=-1)
    assert np.all(np.abs(np.einsum("...a,...a->...", n, ru)) < 1e-6 * scale)
    assert np.all(np.abs(np.einsum("...a,...a->...", n, rv)) < 1e-6 * scale)


@pytest.mark.parametrize("name", ["ellipsoid", "gaussian_bump", "torus", "catenoid"])
def test_christoffel_symbols_match_finite_differences_of_the_metric(name):
    """Γ^k_ij = ½ g^{kl}(∂_i g_lj + ∂_j g_li − ∂_l g_ij), with ∂g by central differences."""
    s = surfaces.get(name)
    uu, vv = interior_grid(s, n=5)
    h = 1e-5
    dg = np.stack([(s.metric(uu + h, vv) - s.metric(uu - h, vv)) / (2 * h),
                   (s.metric(uu, vv + h) - s.metric(uu, vv - h)) / (2 * h)], axis=-3)
    # dg[..., m, i, j] = ∂_m g_ij
    ginv = np.linalg.inv(s.metric(uu, vv))
    bracket = (np.einsum("...ilj->...lij", dg) + np.einsum("...jli->...lij", dg)
               - np.einsum("...lij->...lij", dg))
    numeric = 0.5 * np.einsum("...kl,...lij->...kij", ginv, bracket)
    np.testing.assert_allclose(s.christoffel(uu, vv), numeric, rtol=1e-6, atol=1e-7)


def test_with_params_reuses_the_derivation_and_changes_the_values():
    s = surfaces.get("sphere", r=1.0)
    t = s.with_params(r=2.0)
    assert t._sym is s._sym
    assert float(t.gaussian_curvature(1.0, 0.5)) == pytest.approx(0.25, rel=1e-13)
    assert float(s.gaussian_curvature(1.0, 0.5)) == pytest.approx(1.0, rel=1e-13)


def test_surface_metric_and_its_intrinsic_metric_agree():
    s = surfaces.get("torus", R=2.5, r=0.6)
    m = s.intrinsic_metric()
    uu, vv = s.grid(6, 7)
    x = np.stack([uu, vv], axis=-1)
    np.testing.assert_allclose(m.metric(x), s.metric(uu, vv), rtol=1e-14)
    np.testing.assert_allclose(m.christoffel(x), s.christoffel(uu, vv), rtol=1e-14)
    assert m.periodic == (True, True)
    assert m.domain == (s.u_range, s.v_range)


# -- Gauss–Bonnet --------------------------------------------------------------------------------
@pytest.mark.parametrize("r", [0.4, 1.0, 2.7])
def test_gauss_bonnet_sphere(r):
    assert total_curvature(surfaces.get("sphere", r=r)) == pytest.approx(4 * np.pi, rel=1e-9)


@pytest.mark.parametrize(("a", "b", "c"), [(1.6, 1.0, 0.7), (0.5, 2.0, 1.5), (3.0, 0.4, 0.4)])
def test_gauss_bonnet_ellipsoid(a, b, c):
    s = surfaces.get("ellipsoid", a=a, b=b, c=c)
    assert total_curvature(s) == pytest.approx(4 * np.pi, rel=1e-5)


@pytest.mark.parametrize(("R", "r"), [(2.0, 0.8), (1.5, 0.95), (4.0, 0.3)])
def test_gauss_bonnet_torus(R, r):
    s = surfaces.get("torus", R=R, r=r)
    assert abs(total_curvature(s)) < 1e-9
    # Zero because the halves cancel: K dA = cos u du dv, so the outer half carries +4π.
    outer = from_expressions("(R + r*cos(u))*cos(v)", "(R + r*cos(u))*sin(v)", "r*sin(u)",
                             (-np.pi / 2, np.pi / 2), (0.0, 2 * np.pi), {"R": R, "r": r})
    assert total_curvature(outer) == pytest.approx(4 * np.pi, rel=1e-9)


def test_total_curvature_of_an_open_surface_matches_direct_integration():
    """Catenoid: ∫∫K dA = ∫∫ −1/(c² cosh⁴(u/c)) · c cosh²(u/c) du dv = −(4π) tanh(U/c)."""
    c = 1.0
    s = surfaces.get("catenoid", c=c)
    u1 = s.u_range[1]
    assert total_curvature(s) == pytest.approx(-4 * np.pi * np.tanh(u1 / c), rel=1e-8)


# -- properties ----------------------------------------------------------------------------------
@settings(max_examples=60, deadline=None, derandomize=True)
@given(name=st.sampled_from(REQUIRED), a=st.floats(MARGIN, 1 - MARGIN),
       b=st.floats(MARGIN, 1 - MARGIN))
def test_metric_is_symmetric_positive_definite(name, a, b):
    s = surfaces.get(name)
    u, v = at_fraction(s, a, b)
    g = s.metric(u, v)
    assert g.shape == (2, 2)
    # g = JᵀJ of the immersion (symmetric by construction here, so compare with JᵀJ from
    # central differences of the points instead; measured 1.1e-10 relative, h = 1e-5)
    h = 1e-5
    J = np.stack([(s.point(u + h, v) - s.point(u - h, v)) / (2 * h),
                  (s.point(u, v + h) - s.point(u, v - h)) / (2 * h)], axis=-1)
    np.testing.assert_allclose(g, J.T @ J, rtol=0, atol=1e-8 * np.abs(g).max())
    eig = np.linalg.eigvalsh(g)
    assert eig[0] > 1e-8 * eig[1] > 0
    # Christoffel symbols Γ[k, i, j] are the Levi-Civita ones, ½ g^{kl}(∂_i g_lj + ∂_j g_li -
    # ∂_l g_ij), symmetric in i, j: compared with that formula on central differences of g
    # (measured 7e-10 relative to max(|Γ|, 1))
    gam = s.christoffel(u, v)
    dg = np.stack([(s.metric(u + h, v) - s.metric(u - h, v)) / (2 * h),
                   (s.metric(u, v + h) - s.metric(u, v - h)) / (2 * h)])  # [l, i, j] = ∂_l g_ij
    lowered = 0.5 * (np.einsum("ilj->lij", dg) + np.einsum("jli->lij", dg) - dg)
    expected = np.einsum("kl,lij->kij", np.linalg.inv(g), lowered)
    np.testing.assert_allclose(gam, expected, rtol=0, atol=1e-8 * max(np.abs(gam).max(), 1.0))


@settings(max_examples=30, deadline=None, derandomize=True)
@given(r=st.floats(0.2, 3.0), a=st.floats(0.05, 0.95), b=st.floats(0.0, 1.0))
def test_sphere_curvature_for_any_radius(r, a, b):
    s = surfaces.get("sphere", r=r)
    u, v = at_fraction(s, a, b)
    assert float(s.gaussian_curvature(u, v)) == pytest.approx(1 / r**2, rel=1e-10)


@settings(max_examples=25, deadline=None, derandomize=True)
@given(name=st.sampled_from(REQUIRED), a=st.floats(0.1, 0.9), b=st.floats(0.1, 0.9))
def test_vectorised_evaluation_matches_pointwise(name, a, b):
    s = surfaces.get(name)
    u, v = at_fraction(s, a, b)
    uu, vv = interior_grid(s, n=3)
    batch_u = np.append(uu.ravel(), u)
    batch_v = np.append(vv.ravel(), v)
    K = s.gaussian_curvature(batch_u, batch_v)
    assert K[-1] == pytest.approx(float(s.gaussian_curvature(u, v)), rel=1e-13, abs=1e-15)
    np.testing.assert_allclose(s.point(batch_u, batch_v)[-1], s.point(u, v), rtol=1e-14)


# -- custom surfaces -------------------------------------------------------------------------------
def test_custom_torus_reproduces_the_catalog_torus():
    R, r = 2.0, 0.8
    custom = from_expressions("(R + r*cos(u))*cos(v)", "(R + r*cos(u))*sin(v)", "r*sin(u)",
                              (0.0, 2 * np.pi), (0.0, 2 * np.pi), {"R": R, "r": r},
                              periodic=(True, True))
    torus = surfaces.get("torus", R=R, r=r)
    uu, vv = torus.grid(9, 9)
    np.testing.assert_allclose(custom.gaussian_curvature(uu, vv),
                               torus.gaussian_curvature(uu, vv), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(custom.gaussian_curvature(uu, vv),
                               np.cos(uu) / (r * (R + r * np.cos(uu))), rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(custom.point(uu, vv), torus.point(uu, vv), atol=1e-14)
    assert custom.periodic == (True, True)


def test_custom_surface_without_parameters():
    s = from_expressions("u", "v", "u^2 + v^2", (-1, 1), (-1, 1))
    assert float(s.gaussian_curvature(0.0, 0.0)) == pytest.approx(4.0)


@pytest.mark.parametrize(("xyz", "label"), [
    (("u", "v", "__import__('os')"), "z(u, v)"),
    (("u.real", "v", "u"), "x(u, v)"),
    (("u", "w", "u"), "y(u, v)"),
    (("u", "v", "9**9**9"), "z(u, v)"),
])
def test_invalid_custom_formula_names_the_coordinate(xyz, label):
    with pytest.raises(ExpressionError) as info:
        from_expressions(*xyz, (-1, 1), (-1, 1))
    assert str(info.value).startswith(label)


@pytest.mark.parametrize("xyz", [("u", "u", "u"), ("cos(u)", "sin(u)", "1"), ("u", "2*u", "0")])
def test_degenerate_custom_surface_is_refused(xyz):
    with pytest.raises(DegenerateSurfaceError, match="degenerate"):
        from_expressions(*xyz, (-1, 1), (0, 2))


def test_custom_surface_not_finite_on_its_domain_is_refused():
    with pytest.raises(DegenerateSurfaceError, match="not finite"):
        from_expressions("u", "v", "1/u", (0.0, 1.0), (0.0, 1.0))
    # the same formula away from u = 0 is fine
    s = from_expressions("u", "v", "1/u", (0.5, 1.0), (0.0, 1.0))
    assert np.isfinite(s.gaussian_curvature(0.7, 0.3))


def test_custom_surface_with_a_bad_range_is_refused():
    with pytest.raises(ValueError, match="low < high"):
        from_expressions("u", "v", "u*v", (1.0, 0.0), (0.0, 1.0))
