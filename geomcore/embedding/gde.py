"""The Geometric Deep Encoder: an autoencoder whose latent distances match geodesic distances.

An encoder ``f: R^D → R^d`` and a decoder ``g: R^d → R^D`` (MLPs) are trained on

    L = stress_weight · S + reconstruction_weight · R,

    S = Σ_{(i,j) ∈ B} (‖f(x_i) − f(x_j)‖ − δ_ij)² / Σ_{(i,j) ∈ B} δ_ij²,
    R = mean_{i ∈ B} ‖g(f(x_i)) − x_i‖² / mean_{all i} ‖x_i − x̄‖²,

where ``δ_ij`` are graph-geodesic distances (:func:`~geomcore.embedding.graph.geodesic_distances`,
the same as Isomap's) and ``B`` is a mini-batch: ``batch_size`` points and every pair among
them. Memory for training is O(batch_size²), not O(n²) (the geodesic matrix itself is n²
float32, 100 MB at n = 5000). Unlike Isomap, the result is a *map*: :meth:`transform` embeds
new points and :meth:`inverse_transform` decodes latent points back into data space.

Why the stress and not the often-quoted ``L = Σ d(f(x_i), f(x_j))``: that sum alone is
minimised by sending every point to one spot. ``loss="distance_sum"`` trains on exactly that
(``S`` replaced by the mean latent distance) to show the collapse.

Latent coordinates are in the data's units (latent distance ≈ geodesic distance). Inside,
data are centred and divided by one scale (isotropically, so the geometry is kept), and the
networks run in float32: twice the matrix throughput of float64 on a CPU, and the stress,
normalised to order 1, needs nothing like float64's precision. Arrays in and out are float64.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data
from torch import nn

from geomcore._validation import (
    check_choice,
    check_int,
    check_nonnegative_float,
    check_positive_float,
    check_seed,
)
from geomcore.embedding.graph import EmbeddingError, geodesic_distances
from geomcore.optim import single_threaded

__all__ = ["LOSSES", "MAX_EPOCHS", "GDEHistory", "GeometricDeepEncoder"]

LOSSES = ("stress", "distance_sum")
"""Distance terms :class:`GeometricDeepEncoder` trains on (see the module docstring)."""
MAX_EPOCHS = 5000
"""Most epochs one fit may run (inputs come from a web page)."""
MAX_HIDDEN = 1024
"""Widest hidden layer accepted."""


@dataclass(frozen=True, eq=False)
class GDEHistory:
    """Per-epoch means of the training losses, each shape=[epochs].

    Attributes
    ----------
    loss : ndarray
        The objective trained on.
    stress : ndarray
        Normalised stress ``S`` (recorded in both modes: with ``loss="distance_sum"`` it shows
        the geometry being lost).
    distance_sum : ndarray
        Mean latent distance ``mean ‖f(x_i) − f(x_j)‖`` over the batch pairs, in data units.
    reconstruction : ndarray
        Normalised reconstruction error ``R``.
    seconds : float
        Wall time of training (without the geodesic distances).
    """

    loss: np.ndarray
    stress: np.ndarray
    distance_sum: np.ndarray
    reconstruction: np.ndarray
    seconds: float


def _mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [nn.Linear(a, b), nn.SiLU()]
    return nn.Sequential(*layers[:-1])  # linear output layer


class GeometricDeepEncoder(TransformerMixin, BaseEstimator):
    """Encoder/decoder trained so that latent distances match graph-geodesic distances.

    Parameters
    ----------
    n_components : int
        Latent dimension d.
    n_neighbors : int
        Neighbours of the k-NN graph whose shortest paths are the target distances.
    hidden : tuple of int
        Hidden layer widths of the encoder (the decoder mirrors them).
    epochs : int
        Passes over the data; each is ``ceil(n / batch_size)`` Adam steps.
    batch_size : int
        Points per step; the stress uses every pair among them.
    stress_weight, reconstruction_weight : float
        Weights of the distance term and of the reconstruction term (≥ 0, not both 0).
    lr : float
        Adam's learning rate at the start; it decays to zero on a cosine.
    loss : {"stress", "distance_sum"}
        The distance term: the normalised stress, or the bare mean latent distance (which
        collapses the embedding: for the demonstration).
    random_state : int
        Seed of the weights and of the batches: a fixed seed gives identical results.

    Attributes
    ----------
    n_features_in_ : int
    embedding_ : ndarray, shape=[n, d]
        The training points' latent coordinates, float64.
    history_ : GDEHistory
        Per-epoch losses.
    encoder_, decoder_ : torch.nn.Module
        The trained networks (float32, on the CPU, in scaled units: use ``transform``).
    center_ : ndarray, shape=[D]
    scale_ : float
        Data are standardised as ``(x − center_) / scale_`` inside.
    """

    def __init__(self, n_components: int = 2, n_neighbors: int = 10,
                 hidden: tuple[int, ...] = (128, 128), epochs: int = 100, batch_size: int = 256,
                 stress_weight: float = 1.0, reconstruction_weight: float = 1.0,
                 lr: float = 3e-3, loss: str = "stress", random_state: int = 0) -> None:
        self.n_components = n_components
        self.n_neighbors = n_neighbors
        self.hidden = hidden
        self.epochs = epochs
        self.batch_size = batch_size
        self.stress_weight = stress_weight
        self.reconstruction_weight = reconstruction_weight
        self.lr = lr
        self.loss = loss
        self.random_state = random_state

    def _checked_params(self) -> dict:
        E = EmbeddingError
        p = {
            "n_components": check_int("n_components", self.n_components, 1, 64, error=E),
            "n_neighbors": check_int("n_neighbors", self.n_neighbors, 1, error=E),
            "epochs": check_int("epochs", self.epochs, 1, MAX_EPOCHS, error=E),
            "batch_size": check_int("batch_size", self.batch_size, 2, 4096, error=E),
            "stress_weight": check_nonnegative_float("stress_weight", self.stress_weight,
                                                     error=E),
            "reconstruction_weight": check_nonnegative_float(
                "reconstruction_weight", self.reconstruction_weight, error=E),
            "lr": check_positive_float("lr", self.lr, error=E),
            "loss": check_choice("loss", self.loss, LOSSES, error=E),
            "random_state": check_seed(self.random_state, "random_state", error=E),
        }
        try:
            hidden = tuple(self.hidden)
        except TypeError:
            raise E(f"hidden={self.hidden!r} must be a tuple of layer widths, e.g. (128, 128)"
                    ) from None
        p["hidden"] = tuple(check_int("hidden width", h, 1, MAX_HIDDEN, error=E) for h in hidden)
        if p["stress_weight"] == 0 and p["reconstruction_weight"] == 0:
            raise E("stress_weight and reconstruction_weight are both 0, so there is nothing "
                    "to train; make at least one positive")
        return p

    def fit(self, X: np.ndarray, y: object = None, *,
            progress: Callable[[float], None] | None = None) -> GeometricDeepEncoder:
        """Train on ``X`` (shape=[n, D]); ``progress(fraction)`` is called after each epoch.

        Raises
        ------
        EmbeddingError
            (a ``ValueError``) on bad parameters, ``n_neighbors >= n`` or a disconnected
            neighbour graph, with the fix in the message.
        """
        p = self._checked_params()
        X = validate_data(self, X, dtype=np.float64, ensure_min_samples=2)
        n = X.shape[0]
        if p["n_neighbors"] >= n:
            raise EmbeddingError(f"n_neighbors={p['n_neighbors']} must be smaller than the "
                                 f"number of samples n={n}; use n_neighbors <= {n - 1}")
        D = geodesic_distances(X, p["n_neighbors"])

        self.center_ = X.mean(axis=0)
        spread = float(np.sqrt(np.mean(np.sum((X - self.center_) ** 2, axis=1))))
        self.scale_ = spread if spread > 0 else 1.0
        Xs = torch.from_numpy((X - self.center_) / self.scale_).float()
        Ds = torch.from_numpy(D / self.scale_).float()

        with single_threaded(), torch.random.fork_rng(devices=[]):
            torch.manual_seed(p["random_state"])
            self.history_ = self._train(Xs, Ds, p, progress)
            with torch.no_grad():
                self.embedding_ = self.encoder_(Xs).double().numpy() * self.scale_
        return self

    def _train(self, Xs: torch.Tensor, Ds: torch.Tensor, p: dict,
               progress: Callable[[float], None] | None) -> GDEHistory:
        n, dim = Xs.shape
        d = p["n_components"]
        self.encoder_ = _mlp([dim, *p["hidden"], d])
        self.decoder_ = _mlp([d, *reversed(p["hidden"]), dim])
        params = [*self.encoder_.parameters(), *self.decoder_.parameters()]
        opt = torch.optim.Adam(params, lr=p["lr"])
        batch = min(p["batch_size"], n)
        steps_per_epoch = math.ceil(n / batch)
        total = p["epochs"] * steps_per_epoch
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: 0.5 * (1.0 + math.cos(math.pi * min(s, total) / total)))
        gen = torch.Generator().manual_seed(p["random_state"])
        upper = torch.triu(torch.ones(batch, batch), diagonal=1)
        n_pairs = batch * (batch - 1) / 2
        ws, wr = p["stress_weight"], p["reconstruction_weight"]
        collapse = p["loss"] == "distance_sum"
        # Total variance of the standardised data is 1 by construction of scale_.
        curves = np.zeros((4, p["epochs"]))
        start = time.perf_counter()
        for epoch in range(p["epochs"]):
            perm = torch.randperm(n, generator=gen)
            sums = torch.zeros(4)
            for s in range(steps_per_epoch):
                # The last batch wraps around so that every step sees `batch` points.
                idx = perm[torch.arange(s * batch, (s + 1) * batch) % n]
                x = Xs[idx]
                z = self.encoder_(x)
                # All batch pairs at once as a dense [batch, batch] block: a matrix product
                # is far cheaper than gathering the pairs; the diagonal and lower half are
                # masked out (cdist's gradient at a zero distance is 0, not NaN).
                dz = torch.cdist(z, z)
                target = Ds[idx[:, None], idx[None, :]]
                stress = (torch.sum(((dz - target) ** 2) * upper)
                          / torch.sum(target**2 * upper).clamp_min(1e-12))
                mean_dist = torch.sum(dz * upper) / n_pairs
                recon = torch.mean(torch.sum((self.decoder_(z) - x) ** 2, dim=1))
                term = mean_dist if collapse else stress
                loss = ws * term + wr * recon
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                sums += torch.stack([loss, stress, mean_dist, recon]).detach()
            curves[:, epoch] = (sums / steps_per_epoch).numpy()
            if not np.all(np.isfinite(curves[:, epoch])):
                raise EmbeddingError(f"training diverged at epoch {epoch + 1} (non-finite loss); "
                                     f"lower lr={p['lr']:g}")
            if progress is not None:
                progress((epoch + 1) / p["epochs"])
        seconds = time.perf_counter() - start
        self.encoder_.eval()
        self.decoder_.eval()
        return GDEHistory(loss=curves[0], stress=curves[1], distance_sum=curves[2] * self.scale_,
                          reconstruction=curves[3], seconds=seconds)

    def fit_transform(self, X: np.ndarray, y: object = None, *,
                      progress: Callable[[float], None] | None = None) -> np.ndarray:
        """Train on ``X`` and return the training points' latent coordinates, shape=[n, d]."""
        return self.fit(X, y, progress=progress).embedding_

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Encode points (shape=[m, D]) into the latent space, shape=[m, d], data units."""
        check_is_fitted(self, "encoder_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        Xs = torch.from_numpy((X - self.center_) / self.scale_).float()
        with torch.no_grad():
            return self.encoder_(Xs).double().numpy() * self.scale_

    def inverse_transform(self, Z: np.ndarray) -> np.ndarray:
        """Decode latent points (shape=[m, d]) back into data space, shape=[m, D]."""
        check_is_fitted(self, "decoder_")
        Z = np.asarray(Z, dtype=np.float64)
        d = self.embedding_.shape[1]
        if Z.ndim != 2 or Z.shape[1] != d:
            raise EmbeddingError(f"Z must have shape [m, {d}] (the latent dimension); got "
                                 f"{Z.shape}")
        if not np.all(np.isfinite(Z)):
            raise EmbeddingError("Z contains NaN or infinite values")
        Zs = torch.from_numpy(Z / self.scale_).float()
        with torch.no_grad():
            return self.decoder_(Zs).double().numpy() * self.scale_ + self.center_
