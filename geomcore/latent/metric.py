"""The Riemannian metric a decoder pulls back onto its latent space.

For a decoder ``g: Z ⊂ R^d → R^D`` the length of a latent curve is the length of its image, so
the latent space carries the *pullback metric*

    M(z) = J_g(z)ᵀ J_g(z),        J_g(z) = ∂g/∂z  (shape [D, d]).

A stochastic decoder ``x = μ(z) + σ(z) ⊙ ε`` has the expected metric (Arvanitidis, Hansen &
Hauberg, "Latent Space Oddity", ICLR 2018)

    M(z) = J_μ(z)ᵀ J_μ(z) + J_σ(z)ᵀ J_σ(z),

which is the pullback metric of the deterministic embedding ``z ↦ (μ(z), σ(z)) ∈ R^{2D}``:
every routine here and in :mod:`~geomcore.latent.geodesics` uses that embedding when a
``variance`` (the standard deviation ``σ``) is given. Jacobians come from ``torch.func.jacfwd``
vectorised with ``torch.func.vmap`` (forward mode: ``d`` is small, ``D`` may be large).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import torch
from torch.func import jacfwd, vmap

from geomcore._validation import check_int
from geomcore.latent.decoders import Decoder

__all__ = [
    "MAX_POINTS",
    "SINGULAR_RTOL",
    "MetricError",
    "batched_jacobians",
    "embedding",
    "indicatrices",
    "jacobian",
    "magnification",
    "pullback_metric",
    "singular",
]

MAX_POINTS = 250_000
"""Most latent points one call evaluates (a 500×500 grid)."""
SINGULAR_RTOL = 1e-10
"""``M(z)`` counts as singular where its smallest eigenvalue is at most this times its largest
(a decoder flat in some direction, up to round-off of ``JᵀJ`` in float64), or where ``M = 0``."""
_CHUNK = 8192  # points per vmap call: bounds the memory of the batched Jacobians


class MetricError(ValueError):
    """Bad latent points (wrong shape, not finite, too many) or a decoder that fails on them."""


def embedding(decoder: Decoder, variance: Decoder | None = None) -> Decoder:
    """The map whose pullback metric is the (expected) latent metric.

    ``decoder`` alone, or ``z ↦ concat(μ(z), σ(z))`` with ``σ = variance`` (shape [..., 2D]).
    """
    if variance is None:
        return decoder

    def stacked(z: torch.Tensor) -> torch.Tensor:
        return torch.cat([decoder(z), variance(z)], dim=-1)

    return stacked


def latent_points(Z: npt.ArrayLike | torch.Tensor, *, max_points: int = MAX_POINTS
                  ) -> torch.Tensor:
    """``Z`` as a float64 tensor of shape [..., d], checked (finite, at most ``max_points``)."""
    Zt = Z.detach().to(torch.float64) if isinstance(Z, torch.Tensor) else \
        torch.as_tensor(np.asarray(Z, dtype=float))
    if Zt.ndim < 1 or Zt.shape[-1] < 1:
        raise MetricError(f"latent points must have shape (..., d) with d ≥ 1, got "
                          f"{tuple(Zt.shape)}")
    n = int(np.prod(Zt.shape[:-1], dtype=np.int64))
    if n > max_points:
        raise MetricError(f"{n} latent points requested; use at most {max_points} (a coarser "
                          "grid)")
    if not bool(torch.isfinite(Zt).all()):
        raise MetricError("latent points must be finite numbers")
    return Zt


def batched_jacobians(f: Decoder, Z: torch.Tensor) -> torch.Tensor:
    """``∂f/∂z`` at the rows of ``Z`` (n, d) in torch, by ``vmap(jacfwd(f))`` in chunks:
    shape (n, D, d). Raises :class:`MetricError` where it is not finite."""
    jac = vmap(jacfwd(f))
    parts = [jac(Z[i:i + _CHUNK]) for i in range(0, Z.shape[0], _CHUNK)]
    J = torch.cat(parts) if parts else Z.new_zeros((0, 0, Z.shape[-1]))
    if not bool(torch.isfinite(J).all()):
        raise MetricError("the decoder's Jacobian is not finite at some latent points (the "
                          "decoder overflows or divides by zero there); stay inside its domain")
    return J


def jacobian(decoder: Decoder, Z: npt.ArrayLike, *, variance: Decoder | None = None
             ) -> np.ndarray:
    """Jacobian of the embedding (see :func:`embedding`) at ``Z``.

    Parameters
    ----------
    decoder : Decoder
    Z : array_like, shape=[..., d]
    variance : Decoder, optional
        The decoder's standard deviation ``σ(z)``, shape [..., D].

    Returns
    -------
    ndarray, shape=[..., D, d] (``[..., 2D, d]`` with ``variance``)
    """
    Zt = latent_points(Z)
    flat = Zt.reshape(-1, Zt.shape[-1])
    with torch.no_grad():
        J = batched_jacobians(embedding(decoder, variance), flat)
    return J.reshape(*Zt.shape[:-1], *J.shape[1:]).numpy()


def metric_tensor(f: Decoder, Z: torch.Tensor) -> torch.Tensor:
    """``JᵀJ`` of ``f`` at the rows of ``Z`` (n, d) in torch: shape (n, d, d)."""
    J = batched_jacobians(f, Z)
    return J.transpose(-1, -2) @ J


def pullback_metric(decoder: Decoder, Z: npt.ArrayLike, variance: Decoder | None = None
                    ) -> np.ndarray:
    """``M(z) = J_μᵀJ_μ (+ J_σᵀJ_σ)`` at every latent point.

    Parameters
    ----------
    decoder : Decoder
        The mean ``μ``, torch float64 ``[..., d] -> [..., D]``.
    Z : array_like, shape=[..., d]
        At most :data:`MAX_POINTS` points.
    variance : Decoder, optional
        The standard deviation ``σ(z)``, shape [..., D]; adds ``J_σᵀJ_σ``.

    Returns
    -------
    ndarray, shape=[..., d, d]
        Symmetric positive semi-definite (singular where the decoder is flat in some
        direction: see :func:`singular`).
    """
    Zt = latent_points(Z)
    flat = Zt.reshape(-1, Zt.shape[-1])
    with torch.no_grad():
        M = metric_tensor(embedding(decoder, variance), flat)
    M = 0.5 * (M + M.transpose(-1, -2))  # exactly symmetric
    return M.reshape(*Zt.shape[:-1], *M.shape[1:]).numpy()


def magnification(decoder: Decoder, Z: npt.ArrayLike, variance: Decoder | None = None
                  ) -> np.ndarray:
    """Magnification factor ``√det M(z)``: how much the decoder stretches latent area
    (volume for d > 2). Shape [...] for ``Z`` of shape [..., d]; 0 where ``M`` is singular."""
    M = pullback_metric(decoder, Z, variance)
    return np.sqrt(np.maximum(np.linalg.det(M), 0.0))


def singular(M: np.ndarray, rtol: float = SINGULAR_RTOL) -> np.ndarray:
    """Where a metric ``M`` (..., d, d) is singular: smallest eigenvalue ≤ ``rtol`` × largest
    (or all zero, or not finite). Returns a bool array of shape [...]."""
    M = np.asarray(M, dtype=float)
    finite = np.all(np.isfinite(M), axis=(-2, -1))
    lam = np.linalg.eigvalsh(np.where(finite[..., None, None], M, 0.0))
    return ~finite | (lam[..., -1] <= 0.0) | (lam[..., 0] <= rtol * lam[..., -1])


def indicatrices(decoder: Decoder, Z: npt.ArrayLike, *, variance: Decoder | None = None,
                 n_angles: int = 48) -> np.ndarray:
    """The metric's unit circles (Tissot indicatrices) at 2-D latent points.

    At ``z`` the indicatrix is ``{v : vᵀ M(z) v = 1}``, an ellipse whose axes are the
    eigenvectors of ``M`` with half-lengths ``λ^{-1/2}``: long where the decoder is slack
    (latent steps cost little), short where it stretches. With ``M = QΛQᵀ``,
    ``v(θ) = Q Λ^{-1/2} (cos θ, sin θ)``.

    Returns
    -------
    ndarray, shape=[..., n_angles, 2]
        The vectors ``v(θ)`` (add them to ``z`` to draw, scaled); NaN where ``M`` is singular
        (the unit circle is unbounded there).
    """
    n_angles = check_int("n_angles", n_angles, 4, 720, error=MetricError)
    M = pullback_metric(decoder, Z, variance)
    if M.shape[-1] != 2:
        raise MetricError(f"indicatrices are drawn for a 2-D latent space, got d = {M.shape[-1]}")
    lam, Q = np.linalg.eigh(M)
    bad = singular(M)
    with np.errstate(divide="ignore", invalid="ignore"):
        half = np.where(bad[..., None], np.nan, 1.0 / np.sqrt(np.maximum(lam, 0.0)))
    theta = np.linspace(0.0, 2.0 * np.pi, n_angles)
    circle = np.stack([np.cos(theta), np.sin(theta)], axis=-1)  # (n_angles, 2)
    # v = Q diag(half) c for each angle: (..., 2, 2) @ (2, n_angles) -> (..., 2, n_angles)
    v = (Q * half[..., None, :]) @ circle.T
    return np.swapaxes(v, -1, -2)
