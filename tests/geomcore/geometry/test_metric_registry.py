"""The statistical-manifold registry in geomcore.geometry.metrics (names/spec/get)."""

from __future__ import annotations

import numpy as np
import pytest

from geomcore.geometry import metrics


def test_names_are_the_presets_in_display_order() -> None:
    assert metrics.names() == ["poincare", "gaussian"]


@pytest.mark.parametrize(("name", "K"), [("poincare", -1.0), ("gaussian", -0.5)])
def test_get_builds_the_metric_with_its_known_curvature(name: str, K: float) -> None:
    metric = metrics.get(name)
    assert isinstance(metric, metrics.RiemannianMetric)
    x = np.array([[0.3, 1.7], [-1.2, 0.4]])
    np.testing.assert_allclose(metric.gaussian_curvature(x), K, rtol=1e-12)
    assert metrics.spec(name).title


def test_unknown_name_lists_the_choices() -> None:
    with pytest.raises(ValueError, match="poincare, gaussian"):
        metrics.get("klein")
