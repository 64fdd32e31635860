"""Every embedding method of the lab behind one call, scikit-learn's implementations inside.

=============  ==============================================  =======================
method         implementation                                  uses n_neighbors
=============  ==============================================  =======================
pca            ``sklearn.decomposition.PCA``                   no
isomap         ``sklearn.manifold.Isomap``                     yes (geodesic graph)
lle            ``LocallyLinearEmbedding(method="standard")``   yes
ltsa           ``LocallyLinearEmbedding(method="ltsa")``       yes
hessian_lle    ``LocallyLinearEmbedding(method="hessian")``    yes
laplacian      ``sklearn.manifold.SpectralEmbedding``          yes (affinity graph)
mds            ``sklearn.manifold.MDS`` (SMACOF, 50 its)       no
tsne           ``sklearn.manifold.TSNE``                       no (perplexity 30)
gde            :class:`~geomcore.embedding.gde.GeometricDeepEncoder`   yes (geodesic graph)
=============  ==============================================  =======================

Settings scikit-learn would reject or silently repair are refused first with the fix in the
message: ``n_neighbors >= n``, too few neighbours for LLE/LTSA/Hessian LLE, and a disconnected
neighbour graph for the graph methods (which scikit-learn would patch with extra edges, or
embed piece by piece).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.decomposition import PCA
from sklearn.manifold import MDS, TSNE, Isomap, LocallyLinearEmbedding, SpectralEmbedding

from geomcore._validation import check_choice, check_int, check_seed
from geomcore.embedding.gde import GeometricDeepEncoder
from geomcore.embedding.graph import EmbeddingError, neighbor_graph

__all__ = ["GRAPH_METHODS", "METHOD_NAMES", "OUT_OF_SAMPLE", "embed", "fit_embedding",
           "make_estimator"]

METHOD_NAMES = ("pca", "isomap", "lle", "ltsa", "hessian_lle", "laplacian", "mds", "tsne", "gde")
"""Methods :func:`embed` knows."""
GRAPH_METHODS = ("isomap", "lle", "ltsa", "hessian_lle", "laplacian", "gde")
"""Methods that build a k-NN graph (``n_neighbors`` matters)."""
OUT_OF_SAMPLE = ("pca", "isomap", "lle", "ltsa", "hessian_lle", "gde")
"""Methods whose fitted estimator has ``transform`` for new points."""

_LLE_KIND = {"lle": "standard", "ltsa": "ltsa", "hessian_lle": "hessian"}


def _min_neighbors(method: str, n_components: int) -> int:
    """Fewest neighbours a local method needs, with the reason in words."""
    if method == "hessian_lle":
        # Hessian LLE fits, in each neighbourhood, the d linear and d(d+1)/2 quadratic terms
        # plus a constant: 1 + d + d(d+1)/2 = 1 + d(d+3)/2 coefficients (scikit-learn's rule).
        return n_components * (n_components + 3) // 2 + 1
    if method in ("lle", "ltsa"):
        # A neighbourhood of k points spans at most k - 1 directions; d are needed.
        return n_components + 1
    return 1


def make_estimator(method: str, *, n_components: int = 2, n_neighbors: int = 10,
                   seed: int = 0) -> BaseEstimator:
    """An unfitted scikit-learn-style estimator for ``method`` (see the module table).

    Use it when the fitted object is needed, e.g. ``transform`` of new points (for methods in
    :data:`OUT_OF_SAMPLE`). :func:`embed` adds the checks that need the data.
    """
    check_choice("method", method, METHOD_NAMES, error=EmbeddingError)
    d = check_int("n_components", n_components, 1, 64, error=EmbeddingError)
    k = check_int("n_neighbors", n_neighbors, 1, error=EmbeddingError)
    seed = check_seed(seed, error=EmbeddingError)
    need = _min_neighbors(method, d)
    if k < need:
        rule = ("n_neighbors > n_components·(n_components+3)/2" if method == "hessian_lle"
                else "n_neighbors > n_components")
        raise EmbeddingError(f"{method} needs {rule}: with n_components={d} use "
                             f"n_neighbors >= {need} (got {k})")
    if method == "pca":
        return PCA(n_components=d, svd_solver="full")
    if method == "isomap":
        return Isomap(n_neighbors=k, n_components=d)
    if method in _LLE_KIND:
        return LocallyLinearEmbedding(n_neighbors=k, n_components=d, method=_LLE_KIND[method],
                                      random_state=seed)
    if method == "laplacian":
        return SpectralEmbedding(n_components=d, affinity="nearest_neighbors", n_neighbors=k,
                                 random_state=seed)
    if method == "mds":
        return MDS(n_components=d, init="classical_mds", n_init=1, max_iter=50,
                   random_state=seed)
    if method == "tsne":
        return TSNE(n_components=d, init="pca", random_state=seed)
    return GeometricDeepEncoder(n_components=d, n_neighbors=k, random_state=seed)


def fit_embedding(method: str, X: np.ndarray, n_components: int = 2, n_neighbors: int = 10,
                  seed: int = 0, *, progress: Callable[[float], None] | None = None
                  ) -> tuple[BaseEstimator, np.ndarray]:
    """Fit ``method`` on ``X`` (shape=[n, D]); returns the fitted estimator and the embedding.

    The estimator is what :func:`make_estimator` gives, fitted: for methods in
    :data:`OUT_OF_SAMPLE` its ``transform`` embeds new points. ``progress(fraction)`` is
    reported by GDE after each epoch (the other methods give no intermediate progress).
    Parameters and errors are those of :func:`embed`.
    """
    est = make_estimator(method, n_components=n_components, n_neighbors=n_neighbors, seed=seed)
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or not np.all(np.isfinite(X)):
        raise EmbeddingError(f"X must be a finite 2-D array (shape=[n, D]); got shape {X.shape}")
    n = X.shape[0]
    if method == "pca" and n_components > min(X.shape):
        raise EmbeddingError(f"pca gives at most min(n, D) = {min(X.shape)} components; lower "
                             f"n_components={n_components}")
    if method in GRAPH_METHODS:
        # Raises for n_neighbors >= n and for a disconnected graph, with the fix.
        neighbor_graph(X, n_neighbors)
    if method == "tsne":
        if n < 4:
            raise EmbeddingError(f"tsne needs at least 4 points (got {n})")
        # scikit-learn requires perplexity < n; keep its default of 30 where possible.
        est.set_params(perplexity=min(30.0, (n - 1) / 3))
    with warnings.catch_warnings():
        # Isomap/Spectral warn about graph connectivity, which has been checked above.
        warnings.simplefilter("ignore", UserWarning)
        if isinstance(est, GeometricDeepEncoder):
            Y = est.fit_transform(X, progress=progress)
        else:
            Y = est.fit_transform(X)
    return est, np.asarray(Y, dtype=float)


def embed(method: str, X: np.ndarray, n_components: int = 2, n_neighbors: int = 10,
          seed: int = 0) -> np.ndarray:
    """Embed ``X`` (shape=[n, D]) with ``method``; returns shape=[n, n_components], float64.

    Parameters
    ----------
    method : str
        One of :data:`METHOD_NAMES`.
    X : ndarray, shape=[n, D]
    n_components : int
        Embedding dimension.
    n_neighbors : int
        Neighbourhood size of the graph methods (:data:`GRAPH_METHODS`); ignored by the others.
    seed : int
        Seed of the randomised methods.

    Raises
    ------
    EmbeddingError
        With the fix in the message: unknown method, ``n_neighbors >= n``, too few neighbours
        for the local methods, a disconnected neighbour graph, t-SNE on fewer than 4 points.
    """
    return fit_embedding(method, X, n_components, n_neighbors, seed)[1]
