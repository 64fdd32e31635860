"""A small VAE (or deterministic autoencoder) and the RBF variance network of Arvanitidis et al.

:func:`train_vae` fits an encoder ``q(z | x) = N(m(x), diag s(x)²)`` and a decoder mean
``μ(z)`` (a Gaussian likelihood with one learned noise level per data dimension) by the
ELBO, or a deterministic autoencoder by squared error. The model is trained in standardised
units but decodes to data units: ``VAE.decoder`` is a torch float64 decoder for
:mod:`geomcore.latent.metric` and :mod:`geomcore.latent.geodesics`.

A VAE's own decoder variance is learned only where there are data; away from them it is
arbitrary (here: a constant), so the expected metric ``J_μᵀJ_μ + J_σᵀJ_σ`` says nothing about
where the model is unreliable. :func:`fit_rbf_variance` (Arvanitidis, Hansen & Hauberg,
"Latent Space Oddity", ICLR 2018, section 4) replaces it with a precision network

    β(z) = V φ(z) + ζ,     φ_k(z) = exp(−λ_k |z − c_k|²),     σ(z) = β(z)^{−1/2},

with ``c_k`` the k-means centres of the encoded data, ``λ_k`` from each cluster's spread, ``V``
non-negative (a softplus), ``ζ > 0`` small and a noise floor of 1 % of the data's spread: near
the data ``σ`` is the residual noise, far from them ``β → ζ`` and ``σ`` grows to ``ζ^{−1/2}``,
so latent curves pay for leaving the
data. Fitted models are frozen (``requires_grad=False``, eval mode) and never change again.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch
from torch import nn
from torch.nn import functional as F

from geomcore._validation import check_int, check_positive_float, check_seed
from geomcore.latent.decoders import LatentDecoder
from geomcore.optim.training import single_threaded  # one intra-op thread: tiny networks

__all__ = [
    "MAX_EPOCHS",
    "MAX_HIDDEN",
    "VAE",
    "ModelError",
    "RBFVariance",
    "fit_rbf_variance",
    "single_threaded",
    "train_vae",
]

MAX_EPOCHS = 2000
MAX_HIDDEN = 512
"""Widest hidden layer."""
_MAX_SAMPLES = 20_000
_NOISE_FLOOR = 0.01  # the smallest σ fit_rbf_variance fits, as a fraction of std(X)


class ModelError(ValueError):
    """Bad training input (shapes, sizes, non-finite data) or settings."""


def _mlp(sizes: Sequence[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(a, b, dtype=torch.float64))
        if i < len(sizes) - 2:
            # smooth: the bvp geodesic method needs the decoder's second derivatives
            layers.append(nn.Tanh())
    return nn.Sequential(*layers)


class VAE(nn.Module):
    """Encoder mean (and log-variance), decoder mean, in float64.

    Attributes
    ----------
    latent_dim, data_dim : int
    deterministic : bool
        A plain autoencoder (no encoder variance, no KL term).
    losses : ndarray, shape=[epochs]
        Training loss per epoch (negative ELBO per point, or mean squared error, in
        standardised units).
    """

    x_mean: torch.Tensor
    x_scale: torch.Tensor

    def __init__(self, data_dim: int, latent_dim: int, hidden: tuple[int, ...], *,
                 deterministic: bool, x_mean: np.ndarray, x_scale: float) -> None:
        super().__init__()
        self.latent_dim = int(latent_dim)
        self.data_dim = int(data_dim)
        self.hidden = tuple(hidden)
        self.deterministic = bool(deterministic)
        out = latent_dim if deterministic else 2 * latent_dim
        self.encoder = _mlp([data_dim, *hidden, out])
        self.decoder_net = _mlp([latent_dim, *reversed(hidden), data_dim])
        # the Gaussian likelihood's noise level per data dimension (standardised units)
        self.log_noise = nn.Parameter(torch.zeros(data_dim, dtype=torch.float64))
        self.register_buffer("x_mean", torch.as_tensor(np.asarray(x_mean, dtype=float)))
        self.register_buffer("x_scale", torch.tensor(float(x_scale), dtype=torch.float64))
        self.losses = np.zeros(0)

    def _encode_std(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.encoder((x - self.x_mean) / self.x_scale)
        if self.deterministic:
            return h, torch.zeros_like(h)
        mean, log_var = h.split(self.latent_dim, dim=-1)
        return mean, log_var.clamp(-20.0, 10.0)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Decoder mean ``μ(z)`` in data units, ``[..., d] -> [..., D]``."""
        return self.decoder_net(z) * self.x_scale + self.x_mean

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.decode(z)

    @property
    def decoder(self) -> LatentDecoder:
        """``μ`` as a :class:`~geomcore.latent.decoders.LatentDecoder`."""
        return LatentDecoder(self.decode, latent_dim=self.latent_dim, data_dim=self.data_dim,
                             name="vae" if not self.deterministic else "autoencoder")

    def encode(self, X: npt.ArrayLike) -> np.ndarray:
        """Encoder means ``m(x)`` of the rows of ``X`` (n, D): shape (n, d)."""
        Xt = _data(X, self.data_dim)
        with torch.no_grad():
            return self._encode_std(Xt)[0].numpy()

    def reconstruct(self, X: npt.ArrayLike) -> np.ndarray:
        """``μ(m(x))`` for the rows of ``X``: shape (n, D), data units."""
        Xt = _data(X, self.data_dim)
        with torch.no_grad():
            return self.decode(self._encode_std(Xt)[0]).numpy()

    def noise_std(self) -> np.ndarray:
        """The likelihood's learned standard deviation per data dimension (data units)."""
        with torch.no_grad():
            return (torch.exp(self.log_noise) * self.x_scale).numpy()


def _data(X: npt.ArrayLike, dim: int | None = None) -> torch.Tensor:
    arr = np.asarray(X, dtype=float)
    if arr.ndim != 2 or arr.shape[0] < 1 or (dim is not None and arr.shape[1] != dim):
        want = f"(n, {dim})" if dim is not None else "(n, D)"
        raise ModelError(f"data must have shape {want}, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ModelError("data must be finite numbers")
    return torch.as_tensor(arr)


def _freeze(module: nn.Module) -> None:
    module.eval()
    for p in module.parameters():
        p.requires_grad_(False)


def train_vae(X: npt.ArrayLike, latent_dim: int = 2, hidden: Sequence[int] = (64, 32), *,
              epochs: int = 150, seed: int = 0, deterministic: bool = False,
              batch_size: int = 128, lr: float = 3e-3, beta: float = 1.0,
              progress: Callable[[float], None] | None = None) -> VAE:
    """Train a VAE (or, with ``deterministic=True``, an autoencoder) on the rows of ``X``.

    Loss per point, in units standardised by the data's mean and overall standard deviation:
    the negative ELBO ``−E_q[log N(x | μ(z), diag e^{2ℓ})] + β KL(q(z|x) ‖ N(0, I))`` with one
    sample of ``z`` (reparametrised) and the learned log noise level ``ℓ``; or
    ``|x − μ(m(x))|²`` for the autoencoder. Adam, mini-batches, fixed ``seed``.

    Parameters
    ----------
    X : array_like, shape=[n, D]
        2 ≤ n ≤ 20000.
    latent_dim : int
        1 … 16.
    hidden : sequence of int
        Encoder widths (the decoder mirrors them), 0 … 4 layers of 1 … :data:`MAX_HIDDEN`.
    epochs : int
        1 … :data:`MAX_EPOCHS`.
    progress : callable, optional
        Called with the fraction done after every epoch.

    Returns
    -------
    VAE
        Frozen (no parameter requires a gradient), with ``losses`` per epoch.
    """
    Xt = _data(X)
    n, D = Xt.shape
    check_int("number of points", n, 2, _MAX_SAMPLES, error=ModelError)
    latent_dim = check_int("latent_dim", latent_dim, 1, 16, error=ModelError)
    hidden = tuple(check_int("hidden width", h, 1, MAX_HIDDEN, error=ModelError)
                   for h in hidden)
    if len(hidden) > 4:
        raise ModelError(f"{len(hidden)} hidden layers requested; use at most 4")
    epochs = check_int("epochs", epochs, 1, MAX_EPOCHS, error=ModelError)
    seed = check_seed(seed, error=ModelError)
    batch_size = check_int("batch_size", batch_size, 1, _MAX_SAMPLES, error=ModelError)
    lr = check_positive_float("lr", lr, error=ModelError)
    beta = check_positive_float("beta", beta, error=ModelError)
    x_mean = Xt.mean(0).numpy()
    x_scale = float(Xt.std(correction=0))
    if not x_scale > 0:
        raise ModelError("the data are constant; there is nothing to encode")
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)  # the layers' initial weights
    model = VAE(D, latent_dim, hidden, deterministic=deterministic, x_mean=x_mean,
                x_scale=x_scale)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    Xs = (Xt - model.x_mean) / model.x_scale
    losses = np.empty(epochs)
    for epoch in range(epochs):
        order = torch.randperm(n, generator=gen)
        total = 0.0
        for i in range(0, n, batch_size):
            xb = Xs[order[i:i + batch_size]]
            h = model.encoder(xb)
            if deterministic:
                loss = ((model.decoder_net(h) - xb) ** 2).sum(-1).mean()
            else:
                mean, log_var = h.split(latent_dim, dim=-1)
                log_var = log_var.clamp(-20.0, 10.0)
                eps = torch.randn(mean.shape, generator=gen, dtype=mean.dtype)
                z = mean + torch.exp(0.5 * log_var) * eps
                log_noise = model.log_noise
                nll = 0.5 * (((model.decoder_net(z) - xb) * torch.exp(-log_noise)) ** 2
                             + 2.0 * log_noise + math.log(2.0 * math.pi)).sum(-1)
                kl = 0.5 * (mean**2 + log_var.exp() - 1.0 - log_var).sum(-1)
                loss = (nll + beta * kl).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * xb.shape[0]
        losses[epoch] = total / n
        if not math.isfinite(losses[epoch]):
            raise ModelError(f"training diverged at epoch {epoch + 1} (the loss is not "
                             "finite); lower the learning rate")
        if progress is not None:
            progress((epoch + 1) / epochs)
    model.losses = losses
    _freeze(model)
    return model


class RBFVariance(nn.Module):
    """``σ(z) = (V φ(z) + ζ)^{−1/2}`` with Gaussian RBFs ``φ_k(z) = exp(−λ_k |z − c_k|²)``.

    Attributes
    ----------
    centers : Tensor, shape=[K, d]
    bandwidths : Tensor, shape=[K]
        The ``λ_k``.
    zeta : float
        The precision far from every centre; ``σ → ζ^{−1/2}`` there.
    """

    centers: torch.Tensor
    bandwidths: torch.Tensor

    def __init__(self, centers: torch.Tensor, bandwidths: torch.Tensor, data_dim: int,
                 zeta: float) -> None:
        super().__init__()
        self.register_buffer("centers", centers)
        self.register_buffer("bandwidths", bandwidths)
        self.raw_weights = nn.Parameter(torch.zeros(data_dim, centers.shape[0],
                                                    dtype=torch.float64))
        self.zeta = float(zeta)

    def precision(self, z: torch.Tensor) -> torch.Tensor:
        """``β(z) = V φ(z) + ζ``, shape [..., D]."""
        sq = ((z[..., None, :] - self.centers) ** 2).sum(-1)  # [..., K]
        phi = torch.exp(-self.bandwidths * sq)
        return phi @ F.softplus(self.raw_weights).T + self.zeta

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.rsqrt(self.precision(z))


@dataclass(frozen=True)
class _Clusters:
    centers: np.ndarray
    spreads: np.ndarray


def _kmeans(Z: np.ndarray, k: int, seed: int) -> _Clusters:
    from sklearn.cluster import KMeans

    km = KMeans(n_clusters=k, n_init=4, random_state=seed).fit(Z)
    centers = km.cluster_centers_
    dist = np.linalg.norm(Z - centers[km.labels_], axis=1)
    spreads = np.array([dist[km.labels_ == j].mean() if np.any(km.labels_ == j) else 0.0
                        for j in range(k)])
    # a cluster of one point (or of identical points) has no spread: borrow the typical one
    typical = float(np.median(spreads[spreads > 0])) if np.any(spreads > 0) else 1.0
    return _Clusters(centers, np.where(spreads > 0, spreads, typical))


def fit_rbf_variance(vae: VAE, X: npt.ArrayLike, n_centers: int = 64, *,
                     curvature: float = 1.0, far_std: float = 5.0, steps: int = 100,
                     seed: int = 0) -> RBFVariance:
    """The decoder precision network of Arvanitidis et al., fitted to ``vae``'s residuals.

    The centres ``c_k`` are the k-means centres of the encoded data; ``λ_k = ½ (a s_k)^{−2}``
    with ``s_k`` the mean distance of cluster ``k``'s points to its centre and ``a =
    curvature``; ``ζ = 1 / (far_std · std(X))²``, so that far from the data ``σ`` is
    ``far_std`` times the data's overall standard deviation. ``V ≥ 0`` maximises the Gaussian
    likelihood ``Σ log N(x | μ(m(x)), diag σ(m(x))²)`` with the decoder mean fixed (Adam,
    full batch, ``steps`` steps).

    Parameters
    ----------
    vae : VAE
        A trained model (not changed).
    X : array_like, shape=[n, D]
        The data it was trained on.
    n_centers : int
        2 … 256, at most n.

    Returns
    -------
    RBFVariance
        Frozen; pass it as ``variance=`` to the metric and geodesic routines.
    """
    Xt = _data(X, vae.data_dim)
    n_centers = check_int("n_centers", n_centers, 2, min(256, Xt.shape[0]), error=ModelError)
    curvature = check_positive_float("curvature", curvature, error=ModelError)
    far_std = check_positive_float("far_std", far_std, error=ModelError)
    steps = check_int("steps", steps, 1, 5000, error=ModelError)
    seed = check_seed(seed, error=ModelError)
    Z = vae.encode(Xt.numpy())
    clusters = _kmeans(Z, n_centers, seed)
    bandwidths = 0.5 / (curvature * clusters.spreads) ** 2
    zeta = 1.0 / (far_std * float(Xt.std(correction=0))) ** 2
    rbf = RBFVariance(torch.as_tensor(clusters.centers), torch.as_tensor(bandwidths),
                      vae.data_dim, zeta)
    with torch.no_grad():
        Zt = torch.as_tensor(Z)
        # A noise floor of 1 % of the data's spread: a dimension the decoder reproduces
        # exactly (a digit's always-blank corner pixel) would otherwise have an unbounded
        # likelihood (β → ∞), and its σ a cliff between the data and ζ^{-1/2}.
        floor = (_NOISE_FLOOR * float(Xt.std(correction=0))) ** 2
        sq_res = (Xt - vae.decode(Zt)) ** 2 + floor  # [n, D]
        # start V at the precision that fits each dimension's mean residual (softplus⁻¹,
        # written to stay finite for large values)
        start = 1.0 / sq_res.mean(0)
        raw = start + torch.log(-torch.expm1(-start))
        rbf.raw_weights.copy_(raw[:, None].expand(-1, n_centers))
    opt = torch.optim.Adam(rbf.parameters(), lr=0.05)
    for _ in range(steps):
        beta_z = rbf.precision(Zt)
        # negative log-likelihood per point (constants dropped)
        loss = 0.5 * (beta_z * sq_res - torch.log(beta_z)).sum(-1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    if not bool(torch.isfinite(rbf.raw_weights).all()):
        raise ModelError("fitting the variance network diverged; use fewer centres")
    _freeze(rbf)
    return copy.deepcopy(rbf)
