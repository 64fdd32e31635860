"""Surfaces, Riemannian metrics and geodesics (the Surfaces & geodesics lab)."""

from geomcore.geometry import geodesics, metrics, surfaces
from geomcore.geometry.geodesics import (  # noqa: F401
    Geodesic,
    distance,
    exp_map,
    holonomy_angle,
    log_map,
    parallel_transport,
    spray,
)
from geomcore.geometry.metrics import RiemannianMetric, gaussian_fisher, poincare_half_plane
from geomcore.geometry.surfaces import (
    FormulaTooComplex,
    ParametricSurface,
    from_expressions,
    from_expressions_bounded,
    total_curvature,
)

__all__ = [
    "FormulaTooComplex",
    "Geodesic",
    "ParametricSurface",
    "RiemannianMetric",
    "distance",
    "exp_map",
    "from_expressions",
    "from_expressions_bounded",
    "gaussian_fisher",
    "geodesics",
    "holonomy_angle",
    "log_map",
    "metrics",
    "parallel_transport",
    "poincare_half_plane",
    "spray",
    "surfaces",
    "total_curvature",
]
