"""Latent geometry: the metric a decoder pulls back onto its latent space, and its geodesics.

Modules: :mod:`~geomcore.latent.decoders` (decoders with closed-form geometry),
:mod:`~geomcore.latent.metric` (pullback metric, magnification factor, indicatrices),
:mod:`~geomcore.latent.geodesics` (latent geodesics by energy minimisation or a boundary-value
solve, the straight baseline) and :mod:`~geomcore.latent.models` (a small VAE and the RBF
variance network of Arvanitidis, Hansen & Hauberg, "Latent Space Oddity", ICLR 2018)::

    from geomcore.latent import decoders, latent_geodesic, pullback_metric
    g = decoders.sphere_chart()
    curve = latent_geodesic(g, [0.1, 0.0], [0.5, 1.2], n_points=32)
    curve.length, curve.status
"""

from geomcore.latent import decoders, geodesics, metric, models
from geomcore.latent.decoders import Decoder, DecoderError, LatentDecoder
from geomcore.latent.geodesics import (
    GeodesicError,
    LatentCurve,
    curve_energy,
    curve_length,
    latent_geodesic,
    straight_line,
)
from geomcore.latent.metric import (
    MetricError,
    indicatrices,
    jacobian,
    magnification,
    pullback_metric,
    singular,
)
from geomcore.latent.models import VAE, ModelError, RBFVariance, fit_rbf_variance, train_vae

__all__ = [
    "Decoder",
    "DecoderError",
    "GeodesicError",
    "LatentCurve",
    "LatentDecoder",
    "MetricError",
    "curve_energy",
    "curve_length",
    "decoders",
    "geodesics",
    "indicatrices",
    "jacobian",
    "latent_geodesic",
    "magnification",
    "metric",
    "models",
    "ModelError",
    "RBFVariance",
    "VAE",
    "fit_rbf_variance",
    "train_vae",
    "pullback_metric",
    "singular",
    "straight_line",
]
