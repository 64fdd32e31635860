"""Manifold learning seen geometrically (the "Isomap vs GDE" lab).

Modules: :mod:`~geomcore.embedding.datasets` (points on known manifolds with their true
intrinsic coordinates), :mod:`~geomcore.embedding.graph` (k-NN graphs, graph-geodesic
distances, short-circuit edges), :mod:`~geomcore.embedding.methods` (PCA, Isomap, LLE, LTSA,
Hessian LLE, Laplacian eigenmaps, MDS, t-SNE and GDE behind one call),
:mod:`~geomcore.embedding.gde` (the Geometric Deep Encoder, a scikit-learn estimator) and
:mod:`~geomcore.embedding.quality` (trustworthiness, continuity, k-NN preservation, rank
correlations of distances)::

    from geomcore.embedding import datasets, embed, evaluate
    data = datasets.make("swiss_roll", n=1500)
    Y = embed("isomap", data.X, n_neighbors=10)
    evaluate(data.X, Y, n_neighbors=10, intrinsic=data.intrinsic)["intrinsic_spearman"]
"""

from geomcore.embedding import datasets, gde, graph, methods, quality
from geomcore.embedding.datasets import DATASET_NAMES, Dataset, DatasetError, make
from geomcore.embedding.gde import GDEHistory, GeometricDeepEncoder
from geomcore.embedding.graph import (
    EmbeddingError,
    geodesic_distances,
    geodesic_path,
    graph_distance_error,
    min_connecting_neighbors,
    neighbor_graph,
    short_circuit_edges,
)
from geomcore.embedding.methods import (
    METHOD_NAMES,
    OUT_OF_SAMPLE,
    embed,
    fit_embedding,
    make_estimator,
)
from geomcore.embedding.quality import (
    METRIC_NAMES,
    continuity,
    evaluate,
    intrinsic_spearman,
    knn_preservation,
    out_of_sample_offset,
    trustworthiness,
)

__all__ = [
    "DATASET_NAMES",
    "METHOD_NAMES",
    "METRIC_NAMES",
    "OUT_OF_SAMPLE",
    "Dataset",
    "DatasetError",
    "EmbeddingError",
    "GDEHistory",
    "GeometricDeepEncoder",
    "continuity",
    "datasets",
    "embed",
    "evaluate",
    "fit_embedding",
    "gde",
    "geodesic_distances",
    "geodesic_path",
    "graph",
    "graph_distance_error",
    "intrinsic_spearman",
    "knn_preservation",
    "make",
    "make_estimator",
    "methods",
    "min_connecting_neighbors",
    "neighbor_graph",
    "out_of_sample_offset",
    "quality",
    "short_circuit_edges",
    "trustworthiness",
]
