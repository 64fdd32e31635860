"""Discrete Ricci curvature of graphs, point clouds and network layers (the Ricci-curvature lab).

Modules: :mod:`~geomcore.curvature.graphs` (kNN graphs), :mod:`~geomcore.curvature.ollivier`
(Ollivier's coarse curvature by optimal transport, exact or Sinkhorn),
:mod:`~geomcore.curvature.forman` (Forman's combinatorial curvature, plain and augmented),
:mod:`~geomcore.curvature.points` (one call per point cloud), :mod:`~geomcore.curvature.sampling`
(surfaces with known Gaussian curvature), :mod:`~geomcore.curvature.smooth` (the ε² law
linking coarse and smooth curvature) and :mod:`~geomcore.curvature.layers` (the activations
of a network, layer by layer and over training)::

    from geomcore.curvature import knn_graph, ollivier_ricci, node_curvature
    G = knn_graph(X, n_neighbors=10)
    kappa = ollivier_ricci(G, alpha=0.5)
"""

from geomcore.curvature import forman, graphs, layers, ollivier, points, sampling, smooth
from geomcore.curvature._graph import CurvatureError
from geomcore.curvature.forman import forman_ricci
from geomcore.curvature.graphs import knn_graph
from geomcore.curvature.layers import LayerCurvature, curvature_over_training, layer_curvature
from geomcore.curvature.ollivier import SinkhornConvergenceWarning, ollivier_ricci
from geomcore.curvature.points import (
    POINT_METHODS,
    PointCurvature,
    forman_ricci_points,
    node_curvature,
    ollivier_ricci_points,
    point_curvature,
)
from geomcore.curvature.sampling import SurfaceSample, sample_surface, sphere_and_flat_torus
from geomcore.curvature.smooth import EpsilonLaw, epsilon_law, predicted_slope

__all__ = [
    "POINT_METHODS",
    "CurvatureError",
    "EpsilonLaw",
    "LayerCurvature",
    "PointCurvature",
    "SinkhornConvergenceWarning",
    "SurfaceSample",
    "curvature_over_training",
    "epsilon_law",
    "forman",
    "forman_ricci",
    "forman_ricci_points",
    "graphs",
    "knn_graph",
    "layer_curvature",
    "layers",
    "node_curvature",
    "ollivier",
    "ollivier_ricci",
    "ollivier_ricci_points",
    "point_curvature",
    "points",
    "predicted_slope",
    "sample_surface",
    "sampling",
    "smooth",
    "sphere_and_flat_torus",
]
