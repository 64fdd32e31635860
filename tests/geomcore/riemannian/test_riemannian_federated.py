"""Federated learning on a manifold: one local step with everyone is centralised GD, RFedSVRG's
fixed point is the centralised solution, RFedAvg's error floor shrinks with the step size."""

from __future__ import annotations

import numpy as np
import pytest

from geomcore.riemannian.federated import FederatedError, client_covariances, run

SMALL = dict(n=12, p=3, n_clients=6, heterogeneity=1.0)


@pytest.mark.parametrize("problem", ["kpca", "sphere_eigenvector"])
def test_one_local_step_with_full_participation_is_centralised_gd(problem):
    kw = dict(SMALL, n=3) if problem == "sphere_eigenvector" else SMALL
    fed = run(problem, **kw, local_steps=1, rounds=40, lr=0.3, algorithm="rfedavg")
    central = run(problem, **kw, rounds=40, lr=0.3, algorithm="centralised")
    # the tangent mean of one step each, R⁻¹(R(-η gradᵢ)) = -η gradᵢ, is one step along the
    # mean gradient: the same iterates up to round-off
    np.testing.assert_allclose(fed.server, central.server, rtol=0, atol=1e-13)
    assert fed.status == central.status == "ok"
    # the Karcher mean of the clients' points is not that step (curvature), but close to it
    karcher = run(problem, **kw, local_steps=1, rounds=1, lr=0.3, aggregation="karcher")
    gap = np.abs(karcher.server[1] - central.server[1]).max()
    assert 0 < gap < 0.3**2


def test_rfedsvrg_fixed_point_is_the_centralised_solution():
    svrg = run("kpca", **SMALL, local_steps=10, rounds=150, lr=0.2, algorithm="rfedsvrg")
    central = run("kpca", **SMALL, rounds=600, lr=0.2, algorithm="centralised")
    assert svrg.gap[-1] < 1e-13 and central.gap[-1] < 1e-13
    assert svrg.principal_angles[-1].max() < 1e-7
    # same subspace as the centralised run's answer (rotations within it do not matter)
    proj = svrg.x @ svrg.x.T
    np.testing.assert_allclose(proj, central.x @ central.x.T, rtol=0, atol=1e-7)
    # restarted from there, a round of RFedSVRG does not move it: every correction cancels
    assert np.abs(svrg.server[-1] - svrg.server[-2]).max() < 1e-10


def test_rfedavg_error_floor_shrinks_with_the_step_size():
    floors = [run("kpca", **SMALL, local_steps=10, rounds=300, lr=lr).error_floor()
              for lr in (0.2, 0.1, 0.05)]
    assert floors[0] > 2 * floors[1] > 4 * floors[2] > 0
    assert floors[2] > 1e-6  # a floor, not convergence
    # and it grows with the number of local steps
    short = run("kpca", **SMALL, local_steps=2, rounds=300, lr=0.1).error_floor()
    assert short < floors[1]


def test_identical_clients_have_no_drift_and_heterogeneous_ones_do():
    same = run("kpca", **dict(SMALL, heterogeneity=0.0), local_steps=5, rounds=20, lr=0.1)
    diff = run("kpca", **SMALL, local_steps=5, rounds=20, lr=0.1)
    assert same.client_drift.max() < 1e-13
    assert diff.client_drift[1:].min() > 1e-3
    assert same.gap[-1] < 1e-8


def test_partial_participation_karcher_and_the_records():
    h = run("kpca", **SMALL, local_steps=3, rounds=25, lr=0.1, participation=0.5,
            aggregation="karcher", seed=3)
    assert h.status == "ok" and h.rounds == 25
    assert h.gap.shape == h.grad_norm.shape == h.client_drift.shape == h.bytes.shape == (26,)
    assert h.principal_angles.shape == (26, 3) and h.server.shape == (26, 12, 3)
    # three clients up and down per round, 8 bytes per entry of a 12×3 point
    np.testing.assert_allclose(np.diff(h.bytes), 3 * 2 * 8 * 36)
    assert h.gap[-1] < 0.1 * h.gap[0]
    orth = np.einsum("tij,tik->tjk", h.server, h.server)
    np.testing.assert_allclose(orth, np.broadcast_to(np.eye(3), orth.shape), atol=1e-12)


def test_paths_on_the_sphere():
    h = run("sphere_eigenvector", n=3, n_clients=4, heterogeneity=0.8, local_steps=5,
            rounds=6, lr=0.3, participation=0.5, keep_paths=True)
    assert h.client_paths is not None and h.client_ids is not None
    assert len(h.client_paths) == 6 and h.client_paths[0].shape == (2, 6, 3)
    for path, server in zip(h.client_paths, h.server[:-1], strict=True):
        np.testing.assert_allclose(path[:, 0], np.broadcast_to(server, (2, 3)), atol=0)
        np.testing.assert_allclose(np.linalg.norm(path, axis=-1), 1.0, atol=1e-14)


def test_covariances_share_the_principal_subspace():
    covs = client_covariances(10, 2, 5, 0.0, seed=1)
    np.testing.assert_allclose(covs, np.broadcast_to(covs[0], covs.shape), atol=0)
    w = np.linalg.eigvalsh(covs[0])
    np.testing.assert_allclose(w[-2:], [1.1, 2.1], rtol=1e-12)


@pytest.mark.parametrize("kwargs,pattern", [
    (dict(algorithm="fedprox"), "'fedprox'"),
    (dict(participation=1.5), "participation=1.5"),
    (dict(lr=0.0), "lr=0.0"),
    (dict(n=5, p=6), "p=6"),
    (dict(rounds=5000, local_steps=500, n_clients=200), "exceeds"),
])
def test_bad_settings_are_refused(kwargs, pattern):
    with pytest.raises(FederatedError, match=pattern):
        run("kpca", **kwargs)
