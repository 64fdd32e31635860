"""The categorical family on the geometry page: its distributions figure."""

from __future__ import annotations

import numpy as np

from dashboard.figures import geometry as figs
from geomcore.geometry import geodesics, metrics


def test_bars_are_the_path_distributions_and_sum_to_one() -> None:
    metric = metrics.categorical_fisher()
    geo = geodesics.log_map(metric, (0.4, 0.3), (1.2, 1.1))
    fig = figs.make_categorical_path_figure(geo.coords, n_bars=5)
    heights = np.array([tr.y for tr in fig.data], dtype=float)   # (3 outcomes, 5 positions)
    np.testing.assert_allclose(heights.sum(axis=0), 1.0, atol=1e-12)
    np.testing.assert_allclose(heights[:, 0], metrics.categorical_probabilities(geo.coords[0]),
                               atol=1e-12)
    np.testing.assert_allclose(heights[:, -1],
                               metrics.categorical_probabilities(geo.coords[-1]), atol=1e-12)
    assert fig.layout.barmode == "stack"
    assert fig.layout.title.text and fig.layout.xaxis.title.text and fig.layout.yaxis.title.text
    assert [tr.name for tr in fig.data] == ["p₁", "p₂", "p₃"]


def test_metric_plane_title_states_the_constant_curvature() -> None:
    fig = figs.make_metric_plane(metrics.categorical_fisher())
    assert "K = 0.25 everywhere" in fig.layout.title.text
