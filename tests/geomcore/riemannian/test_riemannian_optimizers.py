"""RiemannianSGD and RiemannianAdam: convergence, the torch.optim contract (validation,
state_dict, plain tensors), stabilisation, NaN reporting, and geoopt on the same problem."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from geomcore.riemannian import Sphere, Stiefel
from geomcore.riemannian.optimizers import (
    ManifoldParameter,
    NonFiniteStepError,
    RiemannianAdam,
    RiemannianSGD,
)


def _symmetric(n: int, seed: int) -> torch.Tensor:
    b = np.random.default_rng(seed).normal(size=(n, n))
    return torch.as_tensor((b + b.T) / 2)


A = _symmetric(8, 0)
WEIGHTS = torch.tensor([3.0, 2.0, 1.0], dtype=torch.float64)


def _rayleigh(x: torch.Tensor) -> torch.Tensor:
    return -(x @ A @ x)


def _brockett(x: torch.Tensor) -> torch.Tensor:
    return ((x * (A @ x)) * WEIGHTS).sum()


def _run(opt: torch.optim.Optimizer, param: torch.Tensor, cost, steps: int) -> list[np.ndarray]:
    path = []
    for _ in range(steps):
        opt.zero_grad()
        cost(param).backward()
        opt.step()
        path.append(param.detach().numpy().copy())
    return path


@pytest.mark.parametrize("make", [
    lambda p: RiemannianSGD([p], lr=0.05, momentum=0.5),
    lambda p: RiemannianAdam([p], lr=0.05),
])
def test_rayleigh_on_the_sphere_reaches_the_top_eigenvector(make):
    sphere = Sphere(8)
    x = ManifoldParameter(sphere.random_point(3), sphere)
    opt = make(x)
    _run(opt, x, _rayleigh, 600)
    w, v = torch.linalg.eigh(A)
    assert float(-_rayleigh(x.detach())) == pytest.approx(float(w[-1]), abs=1e-8)
    assert abs(float(x.detach() @ v[:, -1])) == pytest.approx(1.0, abs=1e-8)
    assert float(sphere.off_manifold(x.detach())) < 1e-14


def test_same_iterates_as_geoopt_rsgd():
    import geoopt

    sphere = Sphere(8)
    x0 = sphere.random_point(1)
    ours = ManifoldParameter(x0, sphere)
    ref = geoopt.ManifoldParameter(x0.clone(), manifold=geoopt.Sphere())
    a = _run(RiemannianSGD([ours], lr=0.1), ours, _rayleigh, 40)
    b = _run(geoopt.optim.RiemannianSGD([ref], lr=0.1), ref, _rayleigh, 40)
    np.testing.assert_allclose(np.array(a), np.array(b), rtol=0, atol=1e-13)


def test_same_iterates_as_geoopt_radam_on_stiefel():
    import geoopt

    stiefel = Stiefel(8, 3)
    x0 = stiefel.random_point(2)
    ours = ManifoldParameter(x0, stiefel)
    ref = geoopt.ManifoldParameter(x0.clone(), manifold=geoopt.Stiefel(canonical=False))
    a = _run(RiemannianAdam([ours], lr=0.1), ours, _brockett, 600)
    b = _run(geoopt.optim.RiemannianAdam([ref], lr=0.1), ref, _brockett, 600)
    np.testing.assert_allclose(np.array(a), np.array(b), rtol=0, atol=1e-10)
    # and both reach Brockett's minimum Σ Nᵢ λᵢ
    f_star = float((WEIGHTS * torch.linalg.eigvalsh(A)[:3]).sum())
    assert float(_brockett(ours.detach())) == pytest.approx(f_star, abs=1e-12)


def test_plain_tensors_are_euclidean():
    w0 = torch.randn(3, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    ours, ref = w0.clone().requires_grad_(True), w0.clone().requires_grad_(True)

    def cost(w: torch.Tensor) -> torch.Tensor:
        return (w**4).sum() + w.sum()

    a = _run(RiemannianAdam([ours], lr=0.01), ours, cost, 20)
    b = _run(torch.optim.Adam([ref], lr=0.01), ref, cost, 20)
    np.testing.assert_allclose(np.array(a), np.array(b), rtol=0, atol=1e-14)


@pytest.mark.parametrize("cls", [RiemannianSGD, RiemannianAdam])
def test_state_dict_round_trip(cls):
    sphere = Sphere(8)
    x = ManifoldParameter(sphere.random_point(4), sphere)
    kwargs = {"lr": 0.05, "momentum": 0.9} if cls is RiemannianSGD else {"lr": 0.05}
    opt = cls([x], **kwargs)
    _run(opt, x, _rayleigh, 5)
    y = ManifoldParameter(x.detach().clone(), sphere)
    twin = cls([y], **kwargs)
    twin.load_state_dict(copy.deepcopy(opt.state_dict()))
    a = _run(opt, x, _rayleigh, 5)
    b = _run(twin, y, _rayleigh, 5)
    np.testing.assert_array_equal(np.array(a), np.array(b))
    fresh = ManifoldParameter(x.detach().clone(), sphere)
    c = _run(cls([fresh], **kwargs), fresh, _rayleigh, 5)
    assert np.abs(np.array(c) - np.array(b)).max() > 1e-6  # the state mattered


def test_stabilize_reprojects_every_n_steps():
    sphere = Sphere(8)
    x = ManifoldParameter(sphere.random_point(5), sphere)
    opt = RiemannianSGD([x], lr=1e-3, momentum=0.5, stabilize=2, retraction="exp")
    _run(opt, x, _rayleigh, 1)
    with torch.no_grad():
        x.mul_(1.01)  # knocked off the sphere (exp does not renormalise)
    _run(opt, x, _rayleigh, 1)   # step 2: re-projected
    assert float(sphere.off_manifold(x.detach())) < 1e-15
    momentum = opt.state[x]["momentum_buffer"]
    assert abs(float(momentum @ x.detach())) < 1e-15


def test_nan_is_detected_and_the_parameter_kept():
    sphere = Sphere(3)
    x = ManifoldParameter(sphere.random_point(0), sphere)
    before = x.detach().clone()
    opt = RiemannianSGD([x], lr=0.1)
    x.grad = torch.tensor([float("nan"), 0.0, 0.0], dtype=torch.float64)
    with pytest.raises(NonFiniteStepError, match="step 1 of parameter 0"):
        opt.step()
    torch.testing.assert_close(x.detach(), before, rtol=0, atol=0)


@pytest.mark.parametrize("make,pattern", [
    (lambda p: RiemannianSGD([p], lr=-0.1), "lr=-0.1"),
    (lambda p: RiemannianSGD([p], lr=0.1, momentum=1.5), "momentum=1.5"),
    (lambda p: RiemannianSGD([p], lr=0.1, retraction="cayley"), "'cayley'"),
    (lambda p: RiemannianSGD([p], lr=0.1, stabilize=0), "stabilize=0"),
    (lambda p: RiemannianAdam([p], lr=0.1, betas=(0.9, 1.2)), r"betas=\(0.9, 1.2\)"),
    (lambda p: RiemannianAdam([p], lr=0.1, eps=-1.0), "eps=-1.0"),
    (lambda p: RiemannianAdam([p], lr=float("nan")), "lr=nan"),
])
def test_bad_hyperparameters_name_the_value(make, pattern):
    sphere = Sphere(3)
    with pytest.raises(ValueError, match=pattern):
        make(ManifoldParameter(sphere.random_point(0), sphere))


def test_manifold_parameter_keeps_its_manifold():
    stiefel = Stiefel(4, 2)
    p = ManifoldParameter(stiefel.random_point(0), stiefel)
    q = copy.deepcopy(p)
    assert isinstance(q, ManifoldParameter) and q.manifold.point_shape == (4, 2)
    assert q.dtype == torch.float64 and q.requires_grad
    torch.testing.assert_close(q.detach(), p.detach(), rtol=0, atol=0)
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        ManifoldParameter(np.ones(3), stiefel)
