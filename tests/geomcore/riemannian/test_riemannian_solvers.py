"""Problems with known optima, the solvers' honest statuses, the Euclidean baselines, and the
same problems solved by pymanopt (steepest descent, conjugate gradient)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from geomcore.riemannian import SPD, ManifoldError, Sphere, Stiefel
from geomcore.riemannian.problems import (
    Problem,
    balanced_tree,
    brockett,
    embed_tree,
    karcher_mean,
    mean_average_precision,
    rayleigh_quotient,
    tree_distortion,
)
from geomcore.riemannian.solvers import ambient_gradient, minimize, projected_gradient


def _symmetric(n: int, seed: int) -> np.ndarray:
    b = np.random.default_rng(seed).normal(size=(n, n))
    return (b + b.T) / 2


@pytest.fixture(scope="module")
def a30() -> np.ndarray:
    return _symmetric(30, 0)


@pytest.mark.parametrize("method", ["gd", "cg"])
def test_rayleigh_quotient_reaches_the_top_eigenvalue(a30, method):
    problem = rayleigh_quotient(a30)
    w, v = np.linalg.eigh(a30)
    res = minimize(problem, Sphere(30).random_point(1), method, max_iter=3000, gtol=1e-6)
    assert res.status == "ok", res.message
    assert -res.f[-1] == pytest.approx(w[-1], abs=1e-11)
    # |⟨x, v_max⟩| → 1 with 1 - |cos| ~ gap-scaled gradient²
    assert abs(float(res.x.numpy() @ v[:, -1])) == pytest.approx(1.0, abs=1e-11)
    assert res.off_manifold.max() < 1e-14
    assert problem.f_star == pytest.approx(-w[-1], rel=1e-14)


def test_rayleigh_quotient_by_adam(a30):
    res = minimize(rayleigh_quotient(a30), Sphere(30).random_point(1), "adam", lr=0.02,
                   max_iter=5000, gtol=1e-6)
    assert res.status == "ok", res.message
    assert -res.f[-1] == pytest.approx(np.linalg.eigvalsh(a30)[-1], abs=1e-10)


def test_brockett_minimum_is_weighted_sum_of_smallest_eigenvalues():
    a = _symmetric(12, 3)
    weights = np.array([4.0, 3.0, 2.0, 1.0])
    w, v = np.linalg.eigh(a)
    problem = brockett(a, weights)
    assert problem.f_star == pytest.approx(float(weights @ w[:4]), rel=1e-14)
    res = minimize(problem, Stiefel(12, 4).random_point(0), "cg", max_iter=5000, gtol=1e-6)
    assert res.status == "ok", res.message
    assert res.f[-1] == pytest.approx(float(weights @ w[:4]), abs=1e-11)
    # at the eigenvectors, column j the (j+1)-th smallest, up to sign
    cos = np.abs(np.sum(res.x.numpy() * v[:, :4], axis=0))
    np.testing.assert_allclose(cos, 1.0, atol=1e-9)
    # another order of N permutes the columns alike
    shuffled = brockett(a, weights[[2, 0, 3, 1]])
    assert shuffled.f_star == pytest.approx(problem.f_star, rel=1e-14)
    assert shuffled.value(shuffled.solution) == pytest.approx(problem.f_star, rel=1e-12)


def test_karcher_mean_problem_agrees_with_the_fixed_point():
    spd = SPD(3)
    pts = spd.random_point(4, (8,))
    fixed = spd.frechet_mean(pts, tol=1e-12)
    res = minimize(karcher_mean(pts, spd), pts[0], "cg", max_iter=500, gtol=1e-7)
    assert res.status in ("ok", "stalled"), res.message
    assert res.grad_norm[-1] < 1e-6
    assert float(spd.dist(res.x, fixed.x)) < 1e-7
    with pytest.raises(ManifoldError, match="no closed-form log"):
        karcher_mean(pts, Stiefel(3, 2))  # type: ignore[arg-type]


def test_autograd_gradient_equals_the_given_one(a30):
    given = rayleigh_quotient(a30)
    plain = Problem(given.manifold, given.cost)
    x = Sphere(30).random_point(5)
    torch.testing.assert_close(plain.gradient(x), given.gradient(x), rtol=1e-13, atol=1e-13)


def test_hyperbolic_tree_embedding_beats_euclidean():
    tree = balanced_tree(4, 2)
    assert tree.n_nodes == 31 and tree.distances.max() == 8
    hyp = embed_tree(tree, "hyperbolic", seed=0)
    euc = embed_tree(tree, "euclidean", seed=0)
    assert hyp.status == "ok" and euc.status == "ok"
    assert hyp.mean_average_precision == pytest.approx(1.0)
    assert euc.mean_average_precision < 0.8
    assert hyp.distortion < 0.7 * euc.distortion
    assert np.linalg.norm(hyp.positions, axis=1).max() < 1


def test_tree_metrics_are_perfect_on_the_tree_metric_itself():
    tree = balanced_tree(3, 3)
    assert tree_distortion(tree, 2.5 * tree.distances) == pytest.approx(0.0, abs=1e-15)
    assert mean_average_precision(tree, tree.distances) == 1.0


# -- honest statuses -------------------------------------------------------------------------------
def test_max_iter_is_not_reported_as_converged(a30):
    res = minimize(rayleigh_quotient(a30), Sphere(30).random_point(1), "gd", max_iter=3,
                   gtol=1e-12)
    assert res.status == "max_iter" and not res.converged
    assert "not converged" in res.message and res.iterations == 3
    assert res.f.shape == res.grad_norm.shape == res.off_manifold.shape == (4,)


def test_too_large_fixed_step_is_reported():
    def cost(x: torch.Tensor) -> torch.Tensor:
        return (x**4).sum()
    from geomcore.riemannian.manifolds import Euclidean

    # x ← x - 4x³ from x = 1: 1, -3, 105, ... blows up
    res = minimize(Problem(Euclidean(2), cost), np.ones(2), "gd", lr=1.0, max_iter=50)
    assert res.status in ("nan", "diverged")
    assert np.isfinite(res.x.numpy()).all()
    assert "step" in res.message


def test_iterates_are_kept_when_asked(a30):
    res = minimize(rayleigh_quotient(a30), Sphere(30).random_point(1), "cg", max_iter=10,
                   return_iterates=True)
    assert res.iterates is not None and res.iterates.shape == (res.iterations + 1, 30)
    np.testing.assert_allclose(res.iterates[-1], res.x.numpy(), rtol=0, atol=0)


def test_bad_arguments_name_the_value(a30):
    p = rayleigh_quotient(a30)
    with pytest.raises(ManifoldError, match="'newton'"):
        minimize(p, Sphere(30).random_point(0), "newton")
    with pytest.raises(ManifoldError, match="lr=None"):
        minimize(p, Sphere(30).random_point(0), "cg", lr=0.1)
    with pytest.raises(ManifoldError, match="max_iter=-1"):
        minimize(p, Sphere(30).random_point(0), "gd", max_iter=-1)
    with pytest.raises(ManifoldError, match="symmetric"):
        rayleigh_quotient(np.triu(np.ones((3, 3))))
    with pytest.raises(ManifoldError, match="distinct"):
        brockett(np.eye(3), [1.0, 1.0])


# -- baselines -------------------------------------------------------------------------------------
def test_projected_gradient_stays_and_ambient_step_drifts_off(a30):
    p = rayleigh_quotient(a30)
    x0 = Sphere(30).random_point(1)
    projected = projected_gradient(p, x0, lr=0.01, max_iter=100)
    assert projected.off_manifold.max() < 1e-14
    assert projected.f[-1] < projected.f[0]
    ambient = ambient_gradient(p, x0, lr=0.01, max_iter=30)
    assert ambient.status == "off_manifold"
    assert ambient.off_manifold[-1] > 0.1
    assert np.all(np.diff(ambient.off_manifold[1:]) > 0)  # it only grows


# -- pymanopt on the same problem ------------------------------------------------------------------
def _pymanopt_rayleigh(a: np.ndarray):
    import pymanopt

    manifold = pymanopt.manifolds.Sphere(a.shape[0])

    @pymanopt.function.numpy(manifold)
    def cost(x):
        return -x @ a @ x

    @pymanopt.function.numpy(manifold)
    def egrad(x):
        return -2 * a @ x

    return pymanopt.Problem(manifold, cost, euclidean_gradient=egrad)


@pytest.mark.parametrize("method", ["gd", "cg"])
def test_same_iterates_as_pymanopt(a30, method):
    from pymanopt.optimizers import ConjugateGradient, SteepestDescent

    x0 = Sphere(30).random_point(2)
    iters = 10  # round-off differences grow about 3× per step: compare early iterates
    ours = minimize(rayleigh_quotient(a30), x0, method, max_iter=iters, gtol=0.0,
                    transport="projection")
    opt_cls = SteepestDescent if method == "gd" else ConjugateGradient
    # pymanopt's CG counts the start as its first iteration, its steepest descent does not
    ref = opt_cls(max_iterations=iters + (method == "cg"), min_gradient_norm=0.0, min_step_size=0.0,
                  verbosity=0, log_verbosity=0).run(_pymanopt_rayleigh(a30),
                                                    initial_point=x0.numpy())
    np.testing.assert_allclose(ours.x.numpy(), ref.point, rtol=0, atol=1e-10)
    assert ours.f[-1] == pytest.approx(ref.cost, abs=1e-11)


def test_same_optimum_as_pymanopt_cg_on_brockett():
    import pymanopt
    from pymanopt.optimizers import ConjugateGradient

    a = _symmetric(10, 4)
    weights = np.array([3.0, 2.0, 1.0])
    manifold = pymanopt.manifolds.Stiefel(10, 3)

    @pymanopt.function.numpy(manifold)
    def cost(x):
        return np.trace(x.T @ a @ x @ np.diag(weights))

    @pymanopt.function.numpy(manifold)
    def egrad(x):
        return 2 * a @ x @ np.diag(weights)

    x0 = Stiefel(10, 3).random_point(0)
    ref = ConjugateGradient(min_gradient_norm=1e-8, verbosity=0, log_verbosity=0).run(
        pymanopt.Problem(manifold, cost, euclidean_gradient=egrad), initial_point=x0.numpy())
    ours = minimize(brockett(a, weights), x0, "cg", max_iter=3000, gtol=1e-8)
    assert ours.f[-1] == pytest.approx(ref.cost, abs=1e-11)
    # the same subspace per column (signs may differ)
    cos = np.abs(np.sum(ours.x.numpy() * ref.point, axis=0))
    np.testing.assert_allclose(cos, 1.0, atol=1e-8)
