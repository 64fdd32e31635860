"""The page's experiments: the swelling effect in numbers, the sphere runs' statuses, the
Stiefel runs and the error-floor grid."""

from __future__ import annotations

import numpy as np
import pytest

from geomcore.riemannian import ManifoldError
from geomcore.riemannian.demos import (
    METHOD_LABELS,
    brockett_demo,
    federated_floors,
    parse_spd_text,
    spd_examples,
    spd_means,
    sphere_demo,
)


def test_equal_determinant_examples_swell_under_the_arithmetic_mean():
    mats = spd_examples("equal_determinants", 3)
    np.testing.assert_allclose(np.linalg.det(mats), 1.0, rtol=1e-12)
    means = spd_means(mats)
    # rotations by 0.2 + kπ/3 of diag(3, 1/3) average to ((3 + 1/3)/2) I
    np.testing.assert_allclose(means.arithmetic, (5 / 3) * np.eye(2), atol=1e-12)
    assert means.determinants["arithmetic"] == pytest.approx(25 / 9, rel=1e-12)
    assert means.determinants["affine"] == pytest.approx(1.0, rel=1e-10)
    assert means.determinants["log_euclidean"] == pytest.approx(1.0, rel=1e-12)
    assert means.geodesics["affine"].shape == (2, 40, 2, 2)
    # geodesics start at A1 and end at the other inputs
    for key in ("euclidean", "log_euclidean", "affine"):
        np.testing.assert_allclose(means.geodesics[key][:, 0], np.broadcast_to(mats[0],
                                                                               (2, 2, 2)),
                                   atol=1e-12)
        np.testing.assert_allclose(means.geodesics[key][:, -1], mats[1:], atol=1e-10)


def test_geometric_means_keep_the_geometric_mean_of_the_determinants():
    mats = spd_examples("random", 6, seed=4)
    means = spd_means(mats)
    geo = float(np.exp(np.mean(np.log(np.linalg.det(mats)))))
    assert means.determinants["affine"] == pytest.approx(geo, rel=1e-10)
    assert means.determinants["log_euclidean"] == pytest.approx(geo, rel=1e-12)
    assert means.determinants["arithmetic"] >= geo  # log det is concave
    with pytest.raises(ManifoldError, match="positive definite"):
        spd_means(np.stack([np.eye(2), -np.eye(2)]))


def test_parse_spd_text():
    mats = parse_spd_text("2, 0.5, 1; 1 -0.2 3\n")
    np.testing.assert_array_equal(mats, [[[2, 0.5], [0.5, 1]], [[1, -0.2], [-0.2, 3]]])
    with pytest.raises(ManifoldError, match="matrix 2.*ac > b²"):
        parse_spd_text("1, 0, 1; 1, 2, 1")
    with pytest.raises(ManifoldError, match="three numbers"):
        parse_spd_text("1, 0; 1, 0, 1")
    with pytest.raises(ManifoldError, match="2..12 matrices"):
        parse_spd_text("1, 0, 1")


def test_sphere_demo_runs():
    demo = sphere_demo((3.0, 1.0, -1.0), lr=0.1, steps=80, seed=0)
    for key in ("exp", "projection", "renormalise"):
        tr = demo.runs[METHOD_LABELS[key]]
        assert tr.status in ("ok", "max_iter") and abs(tr.gap[-1]) < 1e-10
        assert tr.off_manifold.max() < 1e-14
    amb = demo.runs[METHOD_LABELS["ambient"]]
    assert amb.status in ("off_manifold", "diverged") and amb.off_manifold[-1] > 1
    with pytest.raises(ManifoldError, match="three finite numbers"):
        sphere_demo((1.0, 2.0))


def test_brockett_demo_reaches_the_minimum():
    runs = brockett_demo(10, 2, steps=150, seed=1)
    assert set(runs) == {"RSGD", "RAdam", "RCG"}
    assert runs["RCG"].gap[-1] < 1e-10 and runs["RCG"].angle[-1] < 1e-4
    assert runs["RSGD"].gap[-1] < 1e-6
    for tr in runs.values():
        assert tr.off_manifold.max() < 1e-12


def test_federated_floor_grid():
    floors = federated_floors([1, 10], [0.05, 0.2], n=8, p=2, n_clients=4, rounds=120)
    assert floors.shape == (2, 2)
    assert floors[1, 0] < floors[1, 1]   # the floor grows with the step size at τ = 10
    assert floors[0, 1] < floors[1, 1]   # and with τ at η = 0.2
