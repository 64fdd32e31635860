"""Our closed-form Fisher–Rao distances against geomstats' on random pairs: the categorical
distributions (``CategoricalDistributions``, points on the simplex) and the univariate normals
(``UnivariateNormalDistributions``, points ``(μ, σ)`` with σ the standard deviation, as ours).
geomstats is the `test` extra; under CI a missing install fails (tests/conftest.py).

Measured on these pairs: categorical ≤ 1.2e-14, normal ≤ 2.8e-14 relative (RTOL is 1e-12).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from geomcore.duality import Categorical, Gaussian1D

N_PAIRS = 200
RTOL = 1e-12


@pytest.fixture(scope="module")
def geomstats() -> SimpleNamespace:
    with pytest.MonkeyPatch.context() as mp:
        # geomstats 2.8 imports numpy.trapz, which numpy 2 removed: alias it during the import
        # only (the bound names survive; numpy is left as it was).
        if not hasattr(np, "trapz"):
            mp.setattr(np, "trapz", np.trapezoid, raising=False)
        mp.setenv("GEOMSTATS_BACKEND", "numpy")
        pytest.importorskip("geomstats")
        from geomstats.information_geometry.categorical import CategoricalDistributions
        from geomstats.information_geometry.normal import UnivariateNormalDistributions
    return SimpleNamespace(categorical=CategoricalDistributions,
                           normal=UnivariateNormalDistributions())


@pytest.mark.parametrize("k", [2, 3, 6])
def test_categorical_fisher_rao_distance_matches_geomstats(geomstats, k):
    rng = np.random.default_rng(k)
    p, q = rng.dirichlet(np.ones(k), N_PAIRS), rng.dirichlet(np.ones(k), N_PAIRS)
    # geomstats' `dim` is the simplex's dimension, k − 1
    expected = geomstats.categorical(dim=k - 1).metric.dist(p, q)
    np.testing.assert_allclose(Categorical(k).fisher_rao_distance(p, q), expected, rtol=RTOL)


def test_normal_fisher_rao_distance_matches_geomstats(geomstats):
    rng = np.random.default_rng(7)
    p = np.column_stack([rng.uniform(-3, 3, N_PAIRS), rng.uniform(0.1, 4, N_PAIRS)])
    q = np.column_stack([rng.uniform(-3, 3, N_PAIRS), rng.uniform(0.1, 4, N_PAIRS)])
    expected = geomstats.normal.metric.dist(p, q)
    np.testing.assert_allclose(Gaussian1D().fisher_rao_distance(p, q), expected, rtol=RTOL)
    # σ, not σ²: with the variance in the second slot the distances would differ
    variance = np.column_stack([p[:, 0], p[:, 1] ** 2])
    assert not np.allclose(Gaussian1D().fisher_rao_distance(variance, q), expected, rtol=1e-3)
