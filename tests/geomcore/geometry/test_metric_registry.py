"""The statistical-manifold registry in geomcore.geometry.metrics (names/spec/get)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as hst

from geomcore.geometry import geodesics, metrics


def test_names_are_the_presets_in_display_order() -> None:
    assert metrics.names() == ["poincare", "gaussian", "categorical"]


@pytest.mark.parametrize(("name", "K"),
                         [("poincare", -1.0), ("gaussian", -0.5), ("categorical", 0.25)])
def test_get_builds_the_metric_with_its_known_curvature(name: str, K: float) -> None:
    metric = metrics.get(name)
    assert isinstance(metric, metrics.RiemannianMetric)
    x = np.array([[0.3, 1.2], [1.2, 0.4]])
    np.testing.assert_allclose(metric.gaussian_curvature(x), K, rtol=1e-12)
    assert metrics.spec(name).title


def test_unknown_name_lists_the_choices() -> None:
    with pytest.raises(ValueError, match="poincare, gaussian"):
        metrics.get("klein")


def test_categorical_coordinates_give_probability_vectors() -> None:
    rng = np.random.default_rng(0)
    c = rng.uniform(0.01, np.pi / 2 - 0.01, size=(50, 2))
    p = metrics.categorical_probabilities(c)
    assert np.all(p > 0)
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, atol=1e-15)


def test_categorical_metric_is_the_fisher_information_of_the_family() -> None:
    """g_ab = Σ_i ∂_a p_i ∂_b p_i / p_i, by finite differences of the probabilities."""
    metric = metrics.categorical_fisher()
    c = np.array([0.7, 0.5])
    h = 1e-6
    jac = np.stack([(metrics.categorical_probabilities(c + h * e)
                     - metrics.categorical_probabilities(c - h * e)) / (2 * h)
                    for e in np.eye(2)], axis=0)          # (2, 3)
    p = metrics.categorical_probabilities(c)
    fisher = (jac / p) @ jac.T
    np.testing.assert_allclose(metric.metric(c), fisher, rtol=1e-8, atol=1e-9)


_angle = hst.floats(0.15, np.pi / 2 - 0.15)


@settings(max_examples=15, deadline=None)
@given(_angle, _angle, _angle, _angle)
def test_categorical_geodesic_distance_is_the_closed_form(a: float, b: float, c: float,
                                                          d: float) -> None:
    """Fisher–Rao distance of categorical distributions: 2 arccos Σ √(p_i q_i)."""
    assume(np.hypot(a - c, b - d) > 0.05)
    metric = metrics.categorical_fisher()
    x, y = np.array([a, b]), np.array([c, d])
    p, q = metrics.categorical_probabilities(x), metrics.categorical_probabilities(y)
    expected = 2 * np.arccos(np.clip(np.sum(np.sqrt(p * q)), -1.0, 1.0))
    geo = geodesics.log_map(metric, x, y)
    assert geo.ok, geo.message
    np.testing.assert_allclose(geo.length, expected, rtol=1e-6, atol=1e-8)
