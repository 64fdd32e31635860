"""A metric family's symbolic derivations (``SymbolicMetric``) are shared between metrics,
publicly, and only with a metric of the same family."""

from __future__ import annotations

import numpy as np
import pytest

from geomcore.geometry import metrics, surfaces
from geomcore.geometry._symbolic import SymbolicMetric, latex_of
from geomcore.geometry.metrics import RiemannianMetric


def test_a_metric_reuses_the_derivations_it_is_given():
    hp = metrics.poincare_half_plane()
    m = RiemannianMetric(hp.matrix, hp.coords, domain=hp.domain, symbolic=hp.symbolic)
    assert isinstance(m.symbolic, SymbolicMetric)
    assert m.symbolic is hp.symbolic
    # K = -1 everywhere on the half-plane; the compiled formula is exact up to round-off
    K = m.gaussian_curvature(np.array([[0.3, 1.7], [-2.0, 0.05]]))
    np.testing.assert_allclose(K, -1.0, rtol=0, atol=1e-12)


@pytest.mark.parametrize("other", ["gaussian", "categorical"])
def test_a_metric_refuses_the_derivations_of_another_family(other):
    hp = metrics.poincare_half_plane()
    m = metrics.get(other)
    with pytest.raises(ValueError, match="symbolic must be the derivations of this matrix"):
        RiemannianMetric(m.matrix, m.coords, domain=m.domain, symbolic=hp.symbolic)


def test_a_surface_and_its_intrinsic_metric_write_the_same_latex():
    sphere = surfaces.get("sphere")
    metric = sphere.intrinsic_metric()
    tex = latex_of(metric.symbolic, ("u", "v"))
    assert tex["metric"] == sphere.latex()["metric"]
    assert tex["christoffel"] == sphere.latex()["christoffel"]
