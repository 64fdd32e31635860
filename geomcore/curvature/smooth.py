"""How coarse curvature approximates the smooth one: the ε² law.

For the uniform measure on a small ball of radius ``ε`` in a ``d``-dimensional Riemannian
manifold, Ollivier (2009, Example 7) shows that for ``y`` close to ``x`` in direction ``v``

.. math:: \\kappa(x, y) = \\frac{\\varepsilon^2\\,\\mathrm{Ric}(v, v)}{2(d + 2)}
          + O(\\varepsilon^3 + \\varepsilon^2 d(x, y)),

and a lazy measure that keeps mass ``α`` at its centre scales this by ``1 − α``. On a surface
(``d = 2``) ``Ric(v, v) = K``, so ``κ ≈ (1 − α)·K·ε²/8``. On a kNN graph the measure is
uniform on the ``k`` nearest neighbours, a ball of radius ``ε`` = the distance to the k-th
neighbour. Sampling noise adds a bias that does not depend on ``K`` (a flat sample is not
exactly flat), so the law is checked on *differences*: the slope of node curvature against
``K``, or a curved sample against a flat one drawn from the same random numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from geomcore._validation import check_int
from geomcore.curvature._graph import CurvatureError

__all__ = ["EpsilonLaw", "epsilon_law", "predicted_slope"]


def predicted_slope(radius: float, alpha: float, dim: int = 2) -> float:
    """``(1 − α)·ε²/(2(d + 2))``: coarse curvature per unit of Ricci curvature."""
    dim = check_int("dim", dim, 1, error=CurvatureError)
    return (1.0 - float(alpha)) * float(radius) ** 2 / (2.0 * (dim + 2))


@dataclass(frozen=True)
class EpsilonLaw:
    """The ε² law checked on one sample.

    Attributes
    ----------
    epsilon : float
        Mean neighbourhood radius (distance to the k-th neighbour).
    predicted : float
        ``(1 − α) ε²/(2(d + 2))``, the slope the law predicts.
    measured : float
        The slope found: least squares of node curvature on ``K`` when ``K`` varies, else
        ``(mean κ − flat mean)/K`` against a flat reference; NaN when neither applies.
    intercept : float
        Node curvature at ``K = 0`` (the flat sampling bias): fitted, or the flat mean.
    correlation : float
        Pearson correlation of node curvature with ``K`` (NaN for constant ``K``).
    how : str
        ``"slope"``, ``"flat reference"`` or ``"none"``.
    """

    epsilon: float
    predicted: float
    measured: float
    intercept: float
    correlation: float
    how: str

    @property
    def ratio(self) -> float:
        """``measured / predicted`` (1 when the law holds exactly)."""
        return self.measured / self.predicted if self.predicted else float("nan")


def epsilon_law(K: np.ndarray, node_curvature: np.ndarray, radius: np.ndarray, alpha: float,
                *, dim: int = 2, flat_mean: float | None = None) -> EpsilonLaw:
    """Compare node curvature with the ε² law (see the module docstring).

    Parameters
    ----------
    K : ndarray, shape=[n]
        True Gaussian (for ``d = 2``, Ricci) curvature at each node.
    node_curvature, radius : ndarray, shape=[n]
        From a :class:`~geomcore.curvature.points.PointCurvature`.
    alpha : float
        The laziness used.
    flat_mean : float or None
        Mean edge curvature of a flat sample with the same ``n`` and ``k`` (used when ``K`` is
        constant, e.g. a sphere).
    """
    K = np.asarray(K, dtype=float)
    kappa = np.asarray(node_curvature, dtype=float)
    ok = np.isfinite(K) & np.isfinite(kappa)
    if ok.sum() < 3:
        raise CurvatureError("need at least 3 nodes with finite K and curvature")
    K, kappa = K[ok], kappa[ok]
    eps = float(np.nanmean(radius))
    pred = predicted_slope(eps, alpha, dim)
    spread = float(np.std(K))
    if spread > 1e-9 * max(1.0, float(np.max(np.abs(K)))):
        slope, intercept = np.polyfit(K, kappa, 1)
        corr = float(np.corrcoef(K, kappa)[0, 1])
        return EpsilonLaw(eps, pred, float(slope), float(intercept), corr, "slope")
    k0 = float(np.mean(K))
    if flat_mean is not None and abs(k0) > 0:
        return EpsilonLaw(eps, pred, (float(np.mean(kappa)) - flat_mean) / k0, flat_mean,
                          float("nan"), "flat reference")
    return EpsilonLaw(eps, pred, float("nan"), float(np.mean(kappa)), float("nan"), "none")
