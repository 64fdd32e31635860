"""Decoders with closed-form geometry, for checking the latent-geometry routines.

A *decoder* is any torch callable ``g(z) -> x`` on float64 tensors, ``shape=[..., d] ->
shape=[..., D]``, that also accepts a single point of ``shape=[d]`` (``torch.func.vmap`` feeds
it one point at a time). The three below have known pullback metrics ``M(z) = J_g(z)ᵀ J_g(z)``:

* :func:`linear`: ``g(z) = W z + b``, so ``M = WᵀW`` everywhere and geodesics are straight;
* :func:`sphere_chart`: the latitude–longitude chart of a sphere of radius ``r``,
  ``M = diag(r², r² cos² φ)``, geodesic distance ``r · arccos⟨x, y⟩ / r²``;
* :func:`from_surface`: a catalog surface of the Geometry lab, whose immersion ``r(u, v)`` *is*
  a decoder from 2-D to 3-D; ``M`` is then its first fundamental form.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import sympy as sp
import torch

from geomcore._validation import check_positive_float
from geomcore.geometry.surfaces import ParametricSurface

__all__ = ["Decoder", "DecoderError", "LatentDecoder", "from_surface", "linear", "sphere_chart"]

Decoder = Callable[[torch.Tensor], torch.Tensor]
"""A map from latent points ``shape=[..., d]`` to data points ``shape=[..., D]`` (float64)."""


class DecoderError(ValueError):
    """A decoder cannot be built from the given input (bad shapes, non-finite values)."""


class LatentDecoder:
    """A named decoder with its latent and data dimensions.

    Calling it evaluates ``g(z)``; ``z`` is converted to float64 if it is not a tensor yet.

    Attributes
    ----------
    latent_dim, data_dim : int
        ``d`` and ``D``.
    name : str
    """

    def __init__(self, fn: Decoder, *, latent_dim: int, data_dim: int, name: str) -> None:
        self._fn = fn
        self.latent_dim = int(latent_dim)
        self.data_dim = int(data_dim)
        self.name = name

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        if not isinstance(z, torch.Tensor):
            z = torch.as_tensor(np.asarray(z, dtype=float))
        return self._fn(z)

    def __repr__(self) -> str:
        return f"LatentDecoder({self.name!r}, {self.latent_dim} -> {self.data_dim})"


def linear(W: npt.ArrayLike, b: npt.ArrayLike | None = None) -> LatentDecoder:
    """The affine decoder ``g(z) = W z + b``.

    Parameters
    ----------
    W : array_like, shape=[D, d]
    b : array_like, shape=[D], optional (zero)

    Returns
    -------
    LatentDecoder
        Its pullback metric is the constant ``WᵀW`` (singular when ``rank W < d``).
    """
    W_arr = np.asarray(W, dtype=float)
    if W_arr.ndim != 2 or min(W_arr.shape) < 1 or not np.all(np.isfinite(W_arr)):
        raise DecoderError(f"W must be a finite matrix of shape (D, d), got shape {W_arr.shape}")
    b_arr = np.zeros(W_arr.shape[0]) if b is None else np.asarray(b, dtype=float)
    if b_arr.shape != (W_arr.shape[0],) or not np.all(np.isfinite(b_arr)):
        raise DecoderError(f"b must be a finite vector of length D = {W_arr.shape[0]}, got "
                           f"shape {b_arr.shape}")
    Wt = torch.as_tensor(W_arr)
    bt = torch.as_tensor(b_arr)

    def g(z: torch.Tensor) -> torch.Tensor:
        return z @ Wt.to(z).T + bt.to(z)

    return LatentDecoder(g, latent_dim=W_arr.shape[1], data_dim=W_arr.shape[0], name="linear")


def sphere_chart(radius: float = 1.0) -> LatentDecoder:
    """The latitude–longitude chart ``z = (φ, λ) ↦ r (cos φ cos λ, cos φ sin λ, sin φ)``.

    Its pullback metric is ``diag(r², r² cos² φ)``, singular at the poles ``φ = ±π/2``; the
    geodesic distance between the images ``x, y`` is ``r arccos(⟨x, y⟩ / r²)``.
    """
    r = check_positive_float("radius", radius, error=DecoderError)

    def g(z: torch.Tensor) -> torch.Tensor:
        lat, lon = z[..., 0], z[..., 1]
        return r * torch.stack([torch.cos(lat) * torch.cos(lon), torch.cos(lat) * torch.sin(lon),
                                torch.sin(lat)], dim=-1)

    return LatentDecoder(g, latent_dim=2, data_dim=3, name="sphere_chart")


def from_surface(surface: ParametricSurface) -> LatentDecoder:
    """A Geometry-lab surface's immersion ``r(u, v)`` as a torch decoder, ``z = (u, v)``.

    The surface's sympy formulas (with its shape parameters substituted) are compiled with
    ``sympy.lambdify(..., modules="torch")``, so the decoder is the same closed form as
    ``surface.points`` (equal to round-off) and torch differentiates it exactly. Periodic
    coordinates are not wrapped: the decoder is the formula itself, defined on all of R².
    """
    if not isinstance(surface, ParametricSurface):
        raise DecoderError(f"expected a geomcore.geometry ParametricSurface, got "
                           f"{type(surface).__name__}")
    u, v = sp.symbols("u v", real=True)
    values = {sp.Symbol(name, real=True): value for name, value in surface.params.items()}
    # Already sympy expressions (parsed by geomcore.expr when user-typed): never re-parsed.
    exprs = [e.subs(values) for e in surface.xyz_expressions]
    extra = set().union(*(e.free_symbols for e in exprs)) - {u, v}
    if extra:
        raise DecoderError(f"the surface's formulas still contain {sorted(map(str, extra))} "
                           "after substituting its parameters")
    compiled = sp.lambdify((u, v), exprs, modules="torch")

    def g(z: torch.Tensor) -> torch.Tensor:
        parts = [torch.as_tensor(c, dtype=z.dtype, device=z.device)
                 for c in compiled(z[..., 0], z[..., 1])]
        return torch.stack(torch.broadcast_tensors(*parts, z[..., 0])[:3], dim=-1)

    return LatentDecoder(g, latent_dim=2, data_dim=3, name=surface.name)
