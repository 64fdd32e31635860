"""Matrix manifolds for Riemannian optimisation: sphere, Stiefel, Grassmann, SPD, Poincaré ball.

Size conventions are pymanopt's: ``Sphere(n)`` is the unit sphere in ``Rⁿ`` (points are
n-vectors), ``Stiefel(n, p)`` and ``Grassmann(n, p)`` hold ``n×p`` matrices with orthonormal
columns, ``SPD(n)`` holds ``n×n`` symmetric positive-definite matrices, ``PoincareBall(n)``
the points of ``Rⁿ`` of norm < 1.

Every method takes float64 torch tensors (numpy arrays and nested lists are converted) and is
batched over leading axes: a point has ``shape=[..., *point_shape]`` and a tangent vector the
same shape as its base point; scalar results (``inner``, ``norm``, ``dist``, ``off_manifold``)
have ``shape=[...]``. The optimizers only see the geometry through these methods:

* ``project(x)``: the nearest point of the manifold (of its closure for the open ones);
* ``to_tangent(x, u)``: the orthogonal projection of an ambient ``u`` on ``T_x M``;
* ``egrad_to_rgrad(x, g)``: the Riemannian gradient from the Euclidean one, the vector
  ``grad f`` with ``⟨grad f, v⟩_x = ⟨g, v⟩_F`` for every tangent ``v``;
* ``inner``, ``norm``, ``dist``;
* ``exp(x, u)``, ``log(x, y)`` (where a closed form exists) and ``retract(x, u, kind=...)``;
* ``transport(x, y, u)``: parallel transport along the geodesic where a closed form exists,
  otherwise the projection ``to_tangent(y, u)``;
* ``off_manifold(x)``: the distance from ``x`` to the manifold, the quantity an unprojected
  ambient step lets grow.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from geomcore._validation import (
    check_choice,
    check_int,
    check_positive_float,
    check_seed,
)

__all__ = [
    "SPD",
    "Euclidean",
    "Grassmann",
    "Manifold",
    "ManifoldError",
    "MeanResult",
    "PoincareBall",
    "Sphere",
    "Stiefel",
    "as_tensor",
    "principal_angles",
]

DTYPE = torch.float64
MAX_SIZE = 4096
"""Largest accepted ``n`` (and ``p``): a dense ``n×n`` float64 matrix then fits in 128 MiB."""
BALL_MARGIN = 1e-7
"""``PoincareBall.project`` keeps points at norm ``<= 1 - BALL_MARGIN``: closer to the boundary
the conformal factor ``2/(1-‖x‖²)`` exceeds 10⁷ and float64 distances lose their digits."""
SPD_FLOOR = 1e-12
"""``SPD.project`` raises eigenvalues to at least ``SPD_FLOOR · max(1, λ_max)``: the nearest
point of the open cone does not exist for a matrix on its boundary; this is the nearest matrix
whose condition number stays below 10¹²."""


class ManifoldError(ValueError):
    """A size, a shape or an option that the manifold cannot take; the message says which."""


def as_tensor(x: object) -> torch.Tensor:
    """``x`` as a float64 torch tensor (numpy arrays and lists are converted, tensors cast).

    A tensor that already is float64 is returned as it is (no copy), so autograd still flows.
    """
    if isinstance(x, torch.Tensor):
        return x if x.dtype == DTYPE else x.to(DTYPE)
    try:
        return torch.as_tensor(np.asarray(x, dtype=np.float64))
    except (TypeError, ValueError) as exc:
        raise ManifoldError(f"cannot read {type(x).__name__} as an array of reals: {exc}") from None


def _generator(seed: int, stream: int) -> torch.Generator:
    """A torch generator for ``seed`` in its own ``stream``: points and tangent vectors drawn
    with the same seed must not be the same Gaussian (the tangent part would then vanish)."""
    state = np.random.SeedSequence([check_seed(seed, error=ManifoldError), stream])
    return torch.Generator().manual_seed(int(state.generate_state(1)[0]))


def _sym(a: torch.Tensor) -> torch.Tensor:
    return 0.5 * (a + a.mT)


def _sym_fun(x: torch.Tensor, f: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """``Q f(Λ) Qᵀ`` for the symmetric ``x = Q Λ Qᵀ``."""
    w, q = torch.linalg.eigh(x)
    return (q * f(w).unsqueeze(-2)) @ q.mT


def _vec_inner(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return (u * v).sum(-1)


def _mat_inner(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return (u * v).sum((-2, -1))


def _sign_fixed_qr(a: torch.Tensor) -> torch.Tensor:
    """The Q factor of ``a = QR`` with ``diag(R) > 0`` (the unique one; the QR retraction)."""
    q, r = torch.linalg.qr(a)
    signs = torch.sign(torch.diagonal(r, dim1=-2, dim2=-1))
    signs = torch.where(signs == 0, torch.ones_like(signs), signs)
    return q * signs.unsqueeze(-2)


def _polar(a: torch.Tensor) -> torch.Tensor:
    """The orthonormal polar factor ``U Vᵀ`` of ``a = U Σ Vᵀ`` (nearest orthonormal frame)."""
    u, _, vh = torch.linalg.svd(a, full_matrices=False)
    return u @ vh


def _polar_step(x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """The polar factor of ``M = X + U`` for a tangent ``U`` (``XᵀU`` skew), as
    ``M (MᵀM)^{-½}`` with ``MᵀM = I + UᵀU``: a ``p×p`` eigendecomposition instead of the
    ``n×p`` SVD, and well conditioned (eigenvalues ``>= 1``)."""
    m = x + u
    w, q = torch.linalg.eigh(_sym(m.mT @ m))
    return m @ ((q * torch.rsqrt(w).unsqueeze(-2)) @ q.mT)


@dataclass(frozen=True)
class MeanResult:
    """A Fréchet (Karcher) mean: the point, the Riemannian gradient norm of
    ``½ Σ wᵢ dist²(x, yᵢ)`` there, the iterations used, ``status`` ("ok" or "not_converged")
    and a ``message``."""

    x: torch.Tensor
    grad_norm: float
    iterations: int
    status: str
    message: str


class Manifold:
    """What every manifold provides; see the module docstring for the contract.

    Attributes
    ----------
    name : str
        For messages and legends, e.g. ``"St(10, 3)"``.
    point_shape : tuple of int
        Trailing shape of a point.
    dim : int
        The manifold's dimension.
    retractions : tuple of str
        The ``kind`` values :meth:`retract` accepts; the first is the default.
    has_log : bool
        Whether :meth:`log` has a closed form (else :meth:`inverse_retract` stands in).
    """

    name: str = "M"
    point_shape: tuple[int, ...] = ()
    dim: int = 0
    retractions: tuple[str, ...] = ("exp",)
    has_log: bool = True
    inverse_retraction_of: str = "exp"
    """The retraction that :meth:`inverse_retract` inverts (``"exp"``: it is the log)."""

    # -- conversion and random points ------------------------------------------------------------
    def as_point(self, x: object, what: str = "x") -> torch.Tensor:
        """``x`` as float64 tensor whose trailing shape is :attr:`point_shape`."""
        t = as_tensor(x)
        k = len(self.point_shape)
        if t.ndim < k or tuple(t.shape[t.ndim - k:]) != self.point_shape:
            raise ManifoldError(
                f"{what} has shape {tuple(t.shape)}; {self.name} needs shape "
                f"[..., {', '.join(map(str, self.point_shape))}]")
        return t

    def random_point(self, seed: int = 0, batch_shape: Sequence[int] = ()) -> torch.Tensor:
        """A random point (distribution per manifold), ``shape=[*batch_shape, *point_shape]``."""
        g = _generator(seed, 0)
        shape = (*_batch(batch_shape), *self.point_shape)
        return self._random_point(torch.randn(shape, generator=g, dtype=DTYPE))

    def random_tangent(self, x: object, seed: int = 0) -> torch.Tensor:
        """A random tangent vector at ``x`` of unit Riemannian norm, same shape as ``x``."""
        xt = self.as_point(x)
        g = _generator(seed, 1)
        u = self.to_tangent(xt, torch.randn(xt.shape, generator=g, dtype=DTYPE).to(xt.device))
        return u / self.expand(self.norm(xt, u))

    def expand(self, s: torch.Tensor) -> torch.Tensor:
        """A ``[...]`` scalar field (one number per point) shaped to broadcast against
        ``[..., *point_shape]``."""
        return s.reshape(*s.shape, *([1] * len(self.point_shape)))

    # -- geometry (overridden) -------------------------------------------------------------------
    def _random_point(self, z: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def project(self, x: object) -> torch.Tensor:
        raise NotImplementedError

    def to_tangent(self, x: object, u: object) -> torch.Tensor:
        raise NotImplementedError

    def egrad_to_rgrad(self, x: object, g: object) -> torch.Tensor:
        raise NotImplementedError

    def inner(self, x: object, u: object, v: object) -> torch.Tensor:
        raise NotImplementedError

    def norm(self, x: object, u: object) -> torch.Tensor:
        """``‖u‖_x = sqrt(⟨u, u⟩_x)``, ``shape=[...]``."""
        return torch.sqrt(torch.clamp(self.inner(x, u, u), min=0.0))

    def exp(self, x: object, u: object) -> torch.Tensor:
        raise NotImplementedError

    def log(self, x: object, y: object) -> torch.Tensor:
        raise NotImplementedError

    def dist(self, x: object, y: object) -> torch.Tensor:
        raise NotImplementedError

    def off_manifold(self, x: object) -> torch.Tensor:
        raise NotImplementedError

    def transport(self, x: object, y: object, u: object) -> torch.Tensor:
        raise NotImplementedError

    def _retract(self, x: torch.Tensor, u: torch.Tensor, kind: str) -> torch.Tensor:
        raise NotImplementedError

    # -- shared ------------------------------------------------------------------------------------
    def retract(self, x: object, u: object, kind: str | None = None) -> torch.Tensor:
        """``R_x(u)``: a point of the manifold that agrees with ``exp_x(u)`` to first order.

        ``kind`` is one of :attr:`retractions` (``None``: the first, the cheapest).
        """
        kind = self.retractions[0] if kind is None else check_choice(
            "retraction", kind, self.retractions, error=ManifoldError)
        xt, ut = self.as_point(x), as_tensor(u)
        if kind == "exp":
            return self.exp(xt, ut)
        return self._retract(xt, ut, kind)

    def inverse_retract(self, x: object, y: object) -> torch.Tensor:
        """A tangent vector ``u`` at ``x`` with ``R_x(u) = y``: ``log_x(y)`` by default."""
        return self.log(x, y)

    def frechet_mean(self, points: object, weights: object | None = None, *,
                     tol: float = 1e-10, max_iter: int = 200) -> MeanResult:
        """The Karcher mean ``argmin_x ½ Σᵢ wᵢ dist²(x, yᵢ)`` of ``points [k, *point_shape]``.

        Karcher's fixed point ``x ← exp_x(Σᵢ wᵢ log_x(yᵢ))`` (Riemannian gradient descent with
        step 1, since the gradient is ``-Σ wᵢ log_x(yᵢ)`` for weights summing to 1), started at
        the point of largest weight. On manifolds without a closed-form log (Stiefel) the
        inverse retraction and the retraction stand in: the result is then the fixed point of
        that scheme, which is not the exact Karcher mean. Stops when ``‖grad‖_x <= tol``.
        """
        y = self.as_point(points, "points")
        if y.ndim != len(self.point_shape) + 1 or y.shape[0] < 1:
            raise ManifoldError(f"points must have shape [k, {self.point_shape}] with k >= 1; "
                                f"got {tuple(y.shape)}")
        check_positive_float("tol", tol, error=ManifoldError)
        max_iter = check_int("max_iter", max_iter, 1, 100_000, error=ManifoldError)
        k = y.shape[0]
        w = (torch.full((k,), 1.0 / k, dtype=DTYPE, device=y.device) if weights is None
             else as_tensor(weights).reshape(k).to(y.device))
        if bool((w < 0).any()) or not float(w.sum()) > 0:
            raise ManifoldError("weights must be non-negative with a positive sum")
        w = w / w.sum()
        wx = w.reshape(k, *([1] * len(self.point_shape)))
        x = y[int(torch.argmax(w))]
        grad_norm = math.inf
        for it in range(1, max_iter + 1):
            step = (wx * self.inverse_retract(x.expand_as(y), y)).sum(0)
            grad_norm = float(self.norm(x, step))
            if not math.isfinite(grad_norm):
                return MeanResult(x, grad_norm, it, "nan", "the mean iteration produced NaN")
            if grad_norm <= tol:
                return MeanResult(x, grad_norm, it - 1, "ok",
                                  f"gradient norm {grad_norm:.2e} <= {tol:g}")
            x = self.retract(x, step, self.inverse_retraction_of)
        return MeanResult(x, grad_norm, max_iter, "not_converged",
                          f"gradient norm {grad_norm:.2e} > {tol:g} after {max_iter} iterations")


def _batch(batch_shape: Sequence[int]) -> tuple[int, ...]:
    shape = tuple(batch_shape)
    for i, b in enumerate(shape):
        check_int(f"batch_shape[{i}]", b, 1, 1_000_000, error=ManifoldError)
    if math.prod(shape) > 1_000_000:
        raise ManifoldError(f"batch_shape={shape} asks for {math.prod(shape)} points; "
                            "use at most 1000000")
    return shape


def _size(name: str, value: object, low: int) -> int:
    return check_int(name, value, low, MAX_SIZE, error=ManifoldError)


# ==================================================================================================
class Sphere(Manifold):
    """The unit sphere ``S^{n-1} = {x ∈ Rⁿ : ‖x‖ = 1}`` with the metric of ``Rⁿ``.

    Points and tangent vectors have ``shape=[..., n]``; ``dim = n - 1``.

    * tangent space ``T_x = {u : ⟨x, u⟩ = 0}``, projection ``P_x u = u - ⟨x, u⟩ x``;
    * Riemannian gradient ``grad f = P_x ∇f``;
    * ``exp_x(u) = cos(‖u‖) x + sin(‖u‖) u/‖u‖``;
    * ``log_x(y) = θ v/‖v‖`` with ``v = y - ⟨x, y⟩ x`` and ``θ = atan2(‖v‖, ⟨x, y⟩)``;
    * ``dist(x, y) = θ`` (atan2 keeps full precision for near and near-antipodal points);
    * retractions ``"projection"`` ``(x + u)/‖x + u‖`` (second order) and ``"exp"``;
    * parallel transport along the geodesic from ``x`` to ``y``, with ``e = log_x(y)/θ``:
      ``P u = u + (cos θ - 1)⟨e, u⟩ e - sin θ ⟨e, u⟩ x`` (undefined for antipodal points).
    """

    retractions = ("projection", "exp")

    def __init__(self, n: int) -> None:
        self.n = _size("n", n, 2)
        self.point_shape = (self.n,)
        self.dim = self.n - 1
        self.name = f"S^{self.n - 1} in R^{self.n}"

    def _random_point(self, z: torch.Tensor) -> torch.Tensor:
        return self.project(z)

    def project(self, x: object) -> torch.Tensor:
        xt = self.as_point(x)
        return xt / torch.linalg.vector_norm(xt, dim=-1, keepdim=True)

    def to_tangent(self, x: object, u: object) -> torch.Tensor:
        xt, ut = self.as_point(x), as_tensor(u)
        return ut - _vec_inner(xt, ut).unsqueeze(-1) * xt

    def egrad_to_rgrad(self, x: object, g: object) -> torch.Tensor:
        return self.to_tangent(x, g)

    def inner(self, x: object, u: object, v: object) -> torch.Tensor:
        return _vec_inner(as_tensor(u), as_tensor(v))

    def exp(self, x: object, u: object) -> torch.Tensor:
        xt, ut = self.as_point(x), as_tensor(u)
        t = torch.linalg.vector_norm(ut, dim=-1, keepdim=True)
        # sin(t)/t through sinc, exact at t = 0
        return torch.cos(t) * xt + torch.sinc(t / math.pi) * ut

    def _angle(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor,
                                                                 torch.Tensor]:
        c = _vec_inner(x, y).unsqueeze(-1)
        v = y - c * x
        s = torch.linalg.vector_norm(v, dim=-1, keepdim=True)
        return torch.atan2(s, c), v, s

    def log(self, x: object, y: object) -> torch.Tensor:
        xt, yt = self.as_point(x), self.as_point(y, "y")
        theta, v, s = self._angle(xt, yt)
        scale = torch.where(s > 0, theta / torch.where(s > 0, s, 1.0), torch.ones_like(s))
        return scale * v

    def dist(self, x: object, y: object) -> torch.Tensor:
        theta, _, _ = self._angle(self.as_point(x), self.as_point(y, "y"))
        return theta.squeeze(-1)

    def off_manifold(self, x: object) -> torch.Tensor:
        return (torch.linalg.vector_norm(as_tensor(x), dim=-1) - 1.0).abs()

    def transport(self, x: object, y: object, u: object) -> torch.Tensor:
        xt, yt, ut = self.as_point(x), self.as_point(y, "y"), as_tensor(u)
        v = self.log(xt, yt)
        theta = torch.linalg.vector_norm(v, dim=-1, keepdim=True)
        e = v / torch.where(theta > 0, theta, 1.0)
        eu = _vec_inner(e, ut).unsqueeze(-1)
        return ut + (torch.cos(theta) - 1.0) * eu * e - torch.sin(theta) * eu * xt

    def _retract(self, x: torch.Tensor, u: torch.Tensor, kind: str) -> torch.Tensor:
        return self.project(x + u)


# ==================================================================================================
class Stiefel(Manifold):
    """The Stiefel manifold ``St(n, p) = {X ∈ R^{n×p} : XᵀX = I_p}`` with the embedded metric.

    Points and tangent vectors have ``shape=[..., n, p]``; ``dim = np - p(p+1)/2``.

    * ``T_X = {U : XᵀU + UᵀX = 0}``, projection ``P_X U = U - X sym(XᵀU)``;
    * ``⟨U, V⟩_X = tr(UᵀV)``, ``grad f = P_X ∇f``;
    * ``exp_X(U) = [X U] expm([[A, -S], [I, A]]) [expm(-A); 0]`` with ``A = XᵀU``,
      ``S = UᵀU`` (Edelman, Arias & Smith 1998); no closed-form log, so
      :meth:`inverse_retract` inverts the polar retraction instead;
    * retractions: ``"qr"`` ``qf(X + U)`` (diag R > 0), ``"projection"`` the polar factor of
      ``X + U`` (second order), ``"cayley"`` ``(I - W/2)⁻¹(I + W/2) X`` with
      ``W = P U Xᵀ - X Uᵀ P``, ``P = I - XXᵀ/2`` (Wen & Yin 2013; solved in ``O(np²)`` by the
      Woodbury identity), and ``"exp"``;
    * ``project(X)``: the polar factor, the nearest frame in the Frobenius norm;
    * transport: the projection ``P_Y U``.
    """

    retractions = ("qr", "projection", "cayley", "exp")
    has_log = False
    inverse_retraction_of = "projection"

    def __init__(self, n: int, p: int) -> None:
        self.n = _size("n", n, 1)
        self.p = _size("p", p, 1)
        if self.p > self.n:
            raise ManifoldError(f"p={self.p} > n={self.n}: a frame of p orthonormal columns "
                                "in Rⁿ needs p <= n")
        self.point_shape = (self.n, self.p)
        self.dim = self.n * self.p - self.p * (self.p + 1) // 2
        self.name = f"St({self.n}, {self.p})"

    def _random_point(self, z: torch.Tensor) -> torch.Tensor:
        return _sign_fixed_qr(z)

    def project(self, x: object) -> torch.Tensor:
        return _polar(self.as_point(x))

    def to_tangent(self, x: object, u: object) -> torch.Tensor:
        xt, ut = self.as_point(x), as_tensor(u)
        return ut - xt @ _sym(xt.mT @ ut)

    def egrad_to_rgrad(self, x: object, g: object) -> torch.Tensor:
        return self.to_tangent(x, g)

    def inner(self, x: object, u: object, v: object) -> torch.Tensor:
        return _mat_inner(as_tensor(u), as_tensor(v))

    def exp(self, x: object, u: object) -> torch.Tensor:
        xt, ut = self.as_point(x), as_tensor(u)
        p = self.p
        a = xt.mT @ ut
        eye = torch.eye(p, dtype=DTYPE, device=a.device).expand_as(a)
        block = torch.cat([torch.cat([a, -(ut.mT @ ut)], -1), torch.cat([eye, a], -1)], -2)
        right = torch.cat([torch.linalg.matrix_exp(-a), torch.zeros_like(a)], -2)
        return torch.cat([xt, ut], -1) @ (torch.linalg.matrix_exp(block) @ right)

    def log(self, x: object, y: object) -> torch.Tensor:
        raise NotImplementedError(
            "the Stiefel manifold has no closed-form logarithm; use inverse_retract(x, y), "
            "the inverse of the polar retraction")

    def inverse_retract(self, x: object, y: object) -> torch.Tensor:
        """The ``U ∈ T_X`` with ``polar(X + U) = Y``: ``U = Y S - X`` where the symmetric ``S``
        solves the Sylvester equation ``(XᵀY) S + S (XᵀY)ᵀ = 2I`` (needs ``XᵀY`` without
        eigenvalues summing to zero, true for nearby frames)."""
        xt, yt = self.as_point(x), self.as_point(y, "y")
        m = xt.mT @ yt
        p = self.p
        eye = torch.eye(p, dtype=DTYPE, device=m.device)
        # Row-major vec: vec(MS) = (M ⊗ I) vec S, vec(SMᵀ) = (I ⊗ M) vec S.
        kron = (torch.einsum("...ik,jl->...ijkl", m, eye)
                + torch.einsum("ik,...jl->...ijkl", eye, m)).reshape(*m.shape[:-2], p * p, p * p)
        rhs = (2.0 * eye).reshape(p * p).expand(*m.shape[:-2], p * p)
        s = torch.linalg.solve(kron, rhs.unsqueeze(-1)).reshape(*m.shape[:-2], p, p)
        return yt @ _sym(s) - xt

    def dist(self, x: object, y: object) -> torch.Tensor:
        """The chordal (Frobenius) distance ``‖X - Y‖_F`` (the geodesic one has no closed
        form); it agrees with the geodesic distance to second order."""
        return torch.linalg.matrix_norm(self.as_point(x) - self.as_point(y, "y"))

    def off_manifold(self, x: object) -> torch.Tensor:
        xt = as_tensor(x)
        return torch.linalg.matrix_norm(xt.mT @ xt - torch.eye(xt.shape[-1], dtype=DTYPE,
                                                               device=xt.device))

    def transport(self, x: object, y: object, u: object) -> torch.Tensor:
        return self.to_tangent(y, u)

    def _retract(self, x: torch.Tensor, u: torch.Tensor, kind: str) -> torch.Tensor:
        if kind == "qr":
            return _sign_fixed_qr(x + u)
        if kind == "projection":
            return _polar_step(x, u)
        # Cayley with W = A Bᵀ, A = [P U, X], B = [X, -P U]: (I - ABᵀ/2)⁻¹ by Woodbury.
        pu = u - 0.5 * x @ (x.mT @ u)
        a = torch.cat([pu, x], -1)
        b = torch.cat([x, -pu], -1)
        z = x + 0.5 * a @ (b.mT @ x)
        inner = torch.eye(2 * self.p, dtype=DTYPE, device=x.device) - 0.5 * (b.mT @ a)
        return z + 0.5 * a @ torch.linalg.solve(inner, b.mT @ z)


def principal_angles(x: object, y: object) -> torch.Tensor:
    """Principal angles between the column spans of ``x, y [..., n, p]`` (orthonormal columns),
    ascending, ``shape=[..., p]``.

    ``cos θᵢ`` are the singular values of ``XᵀY`` and ``sin θᵢ`` those of ``(I - XXᵀ)Y``; the
    small angles are read from the sines and the large from the cosines, so that both keep full
    precision (``arccos`` alone loses half the digits near 0).
    """
    xt, yt = as_tensor(x), as_tensor(y)
    cos = torch.linalg.svdvals(xt.mT @ yt).flip(-1).clamp(-1.0, 1.0)   # ascending
    sin = torch.linalg.svdvals(yt - xt @ (xt.mT @ yt)).clamp(0.0, 1.0)  # descending
    big = torch.arccos(cos.flip(-1))
    small = torch.arcsin(sin.flip(-1))
    theta = torch.where(cos.flip(-1) > math.sqrt(0.5), small, big)
    return theta


class Grassmann(Manifold):
    """The Grassmann manifold ``Gr(n, p)`` of p-dimensional subspaces of ``Rⁿ``.

    A subspace is represented by an ``n×p`` matrix ``X`` with orthonormal columns (any one of
    them: ``X`` and ``XQ`` are the same point); tangent vectors are horizontal,
    ``shape=[..., n, p]``; ``dim = p(n - p)``.

    * ``T_X = {U : XᵀU = 0}``, projection ``P_X U = (I - XXᵀ) U``, ``grad f = P_X ∇f``;
    * ``⟨U, V⟩ = tr(UᵀV)``;
    * ``exp_X(U) = X V cos(Σ) Vᵀ + W sin(Σ) Vᵀ`` for ``U = W Σ Vᵀ`` (thin SVD), then
      re-orthonormalised by QR;
    * ``log_X(Y) = W atan(Σ) Vᵀ`` for ``(I - XXᵀ) Y (XᵀY)⁻¹ = W Σ Vᵀ`` (needs ``XᵀY``
      invertible: no principal angle of π/2);
    * ``dist(X, Y) = ‖θ‖`` over the principal angles (:func:`principal_angles`);
    * retractions ``"qr"``, ``"projection"`` (polar) and ``"exp"``; transport by projection.
    """

    retractions = ("qr", "projection", "exp")

    def __init__(self, n: int, p: int) -> None:
        self.n = _size("n", n, 1)
        self.p = _size("p", p, 1)
        if self.p > self.n:
            raise ManifoldError(f"p={self.p} > n={self.n}: a p-dimensional subspace of Rⁿ "
                                "needs p <= n")
        self.point_shape = (self.n, self.p)
        self.dim = self.p * (self.n - self.p)
        self.name = f"Gr({self.n}, {self.p})"

    def _random_point(self, z: torch.Tensor) -> torch.Tensor:
        return _sign_fixed_qr(z)

    def project(self, x: object) -> torch.Tensor:
        return _polar(self.as_point(x))

    def to_tangent(self, x: object, u: object) -> torch.Tensor:
        xt, ut = self.as_point(x), as_tensor(u)
        return ut - xt @ (xt.mT @ ut)

    def egrad_to_rgrad(self, x: object, g: object) -> torch.Tensor:
        return self.to_tangent(x, g)

    def inner(self, x: object, u: object, v: object) -> torch.Tensor:
        return _mat_inner(as_tensor(u), as_tensor(v))

    def exp(self, x: object, u: object) -> torch.Tensor:
        xt, ut = self.as_point(x), as_tensor(u)
        w, s, vh = torch.linalg.svd(ut, full_matrices=False)
        y = ((xt @ vh.mT) * torch.cos(s).unsqueeze(-2) + w * torch.sin(s).unsqueeze(-2)) @ vh
        return _sign_fixed_qr(y)

    def log(self, x: object, y: object) -> torch.Tensor:
        xt, yt = self.as_point(x), self.as_point(y, "y")
        m = xt.mT @ yt
        b = torch.linalg.solve(m.mT, (yt - xt @ m).mT).mT
        w, s, vh = torch.linalg.svd(b, full_matrices=False)
        return (w * torch.atan(s).unsqueeze(-2)) @ vh

    def dist(self, x: object, y: object) -> torch.Tensor:
        return torch.linalg.vector_norm(
            principal_angles(self.as_point(x), self.as_point(y, "y")), dim=-1)

    def off_manifold(self, x: object) -> torch.Tensor:
        xt = as_tensor(x)
        return torch.linalg.matrix_norm(xt.mT @ xt - torch.eye(xt.shape[-1], dtype=DTYPE,
                                                               device=xt.device))

    def transport(self, x: object, y: object, u: object) -> torch.Tensor:
        return self.to_tangent(y, u)

    def _retract(self, x: torch.Tensor, u: torch.Tensor, kind: str) -> torch.Tensor:
        return _sign_fixed_qr(x + u) if kind == "qr" else _polar(x + u)


# ==================================================================================================
def _divided_log(w: torch.Tensor) -> torch.Tensor:
    """``L_ij = (log wᵢ - log wⱼ)/(wᵢ - wⱼ)`` (``1/wᵢ`` on ties): the matrix of first divided
    differences of log, so that ``D log_X[U] = Q (L ∘ QᵀUQ) Qᵀ`` for ``X = Q diag(w) Qᵀ``."""
    wi, wj = w.unsqueeze(-1), w.unsqueeze(-2)
    d = wi - wj
    close = d.abs() <= 1e-9 * torch.maximum(wi, wj)
    ratio = torch.log(wi) - torch.log(wj)
    # On (near) ties the divided difference is 1/w to second order in d: 2/(wᵢ + wⱼ).
    return torch.where(close, 2.0 / (wi + wj), ratio / torch.where(close, 1.0, d))


class SPD(Manifold):
    """Symmetric positive-definite ``n×n`` matrices, ``shape=[..., n, n]``, ``dim = n(n+1)/2``.

    Tangent vectors are symmetric matrices (``to_tangent`` symmetrises). Two metrics:

    ``metric="affine"`` (default; affine-invariant, ``dist(AXAᵀ, AYAᵀ) = dist(X, Y)``):

    * ``⟨U, V⟩_X = tr(X⁻¹ U X⁻¹ V)``, ``grad f = X sym(∇f) X``;
    * ``exp_X(U) = X^{½} expm(X^{-½} U X^{-½}) X^{½}``,
      ``log_X(Y) = X^{½} logm(X^{-½} Y X^{-½}) X^{½}``;
    * ``dist(X, Y) = ‖logm(X^{-½} Y X^{-½})‖_F = sqrt(Σ log² λᵢ(X⁻¹Y))``;
    * parallel transport ``P U = E U Eᵀ`` with ``E = (Y X⁻¹)^{½}``;
    * retraction ``"second_order"``: ``X + U + ½ U X⁻¹ U`` (Jeuris, Vandebril & Vandereycken
      2012), always SPD since it equals ``½(X + U)X⁻¹(X + U) + ½X``.

    ``metric="log_euclidean"`` (Arsigny et al. 2007; the pull-back of the Frobenius metric by
    ``log``, so the space is flat):

    * ``⟨U, V⟩_X = ⟨D log_X[U], D log_X[V]⟩_F``, with ``D log_X[U] = Q (L ∘ QᵀUQ) Qᵀ``,
      ``X = Q diag(w) Qᵀ`` and ``L_ij = (log wᵢ - log wⱼ)/(wᵢ - wⱼ)``;
    * ``grad f = Q ((Qᵀ sym(∇f) Q) / L²) Qᵀ``;
    * ``exp_X(U) = expm(log X + D log_X[U])``, ``log_X(Y) = (D log_X)⁻¹[log Y - log X]``;
    * ``dist(X, Y) = ‖log X - log Y‖_F``; parallel transport
      ``(D log_Y)⁻¹ D log_X [U]``.

    ``project(X)``: the symmetric part with its eigenvalues raised to ``SPD_FLOOR·max(1, λ_max)``.
    """

    retractions = ("second_order", "exp")

    def __init__(self, n: int, metric: Literal["affine", "log_euclidean"] = "affine") -> None:
        self.n = _size("n", n, 1)
        self.metric = check_choice("metric", metric, ("affine", "log_euclidean"),
                                   error=ManifoldError)
        self.point_shape = (self.n, self.n)
        self.dim = self.n * (self.n + 1) // 2
        suffix = "" if self.metric == "affine" else ", log-Euclidean"
        self.name = f"SPD({self.n}{suffix})"

    def _random_point(self, z: torch.Tensor) -> torch.Tensor:
        q = _sign_fixed_qr(z)
        # eigenvalues exp(N(0, 1)) (the diagonal of z): condition numbers of a few tens
        w = torch.exp(torch.diagonal(z, dim1=-2, dim2=-1))
        return _sym((q * w.unsqueeze(-2)) @ q.mT)

    def project(self, x: object) -> torch.Tensor:
        s = _sym(self.as_point(x))
        w, q = torch.linalg.eigh(s)
        floor = SPD_FLOOR * torch.clamp(w[..., -1:], min=1.0)
        return _sym((q * torch.maximum(w, floor).unsqueeze(-2)) @ q.mT)

    def to_tangent(self, x: object, u: object) -> torch.Tensor:
        return _sym(as_tensor(u))

    def egrad_to_rgrad(self, x: object, g: object) -> torch.Tensor:
        xt, gt = self.as_point(x), _sym(as_tensor(g))
        if self.metric == "affine":
            return _sym(xt @ gt @ xt)
        w, q = torch.linalg.eigh(xt)
        lmat = _divided_log(w)
        return q @ ((q.mT @ gt @ q) / lmat**2) @ q.mT

    def _whiten(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """``L⁻¹ U L⁻ᵀ`` for the Cholesky factor ``X = LLᵀ``."""
        chol = torch.linalg.cholesky(x)
        left = torch.linalg.solve_triangular(chol, u, upper=False)
        return torch.linalg.solve_triangular(chol, left.mT, upper=False).mT

    def inner(self, x: object, u: object, v: object) -> torch.Tensor:
        xt, ut, vt = self.as_point(x), as_tensor(u), as_tensor(v)
        if self.metric == "affine":
            return _mat_inner(self._whiten(xt, ut), self._whiten(xt, vt))
        w, q = torch.linalg.eigh(xt)
        lmat = _divided_log(w)
        return _mat_inner(lmat * (q.mT @ ut @ q), lmat * (q.mT @ vt @ q))

    def _roots(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        w, q = torch.linalg.eigh(x)
        r = torch.sqrt(w)
        return (q * r.unsqueeze(-2)) @ q.mT, (q / r.unsqueeze(-2)) @ q.mT

    def exp(self, x: object, u: object) -> torch.Tensor:
        xt, ut = self.as_point(x), _sym(as_tensor(u))
        if self.metric == "affine":
            s, si = self._roots(xt)
            return _sym(s @ _sym_fun(_sym(si @ ut @ si), torch.exp) @ s)
        w, q = torch.linalg.eigh(xt)
        dlog = q @ (_divided_log(w) * (q.mT @ ut @ q)) @ q.mT
        log_x = (q * torch.log(w).unsqueeze(-2)) @ q.mT
        return _sym_fun(_sym(log_x + dlog), torch.exp)

    def log(self, x: object, y: object) -> torch.Tensor:
        xt, yt = self.as_point(x), self.as_point(y, "y")
        if self.metric == "affine":
            s, si = self._roots(xt)
            return _sym(s @ _sym_fun(_sym(si @ yt @ si), torch.log) @ s)
        w, q = torch.linalg.eigh(xt)
        diff = _sym_fun(yt, torch.log) - (q * torch.log(w).unsqueeze(-2)) @ q.mT
        return _sym(q @ ((q.mT @ diff @ q) / _divided_log(w)) @ q.mT)

    def dist(self, x: object, y: object) -> torch.Tensor:
        xt, yt = self.as_point(x), self.as_point(y, "y")
        if self.metric == "affine":
            lam = torch.linalg.eigvalsh(_sym(self._whiten(xt, yt)))
            return torch.linalg.vector_norm(torch.log(lam), dim=-1)
        return torch.linalg.matrix_norm(_sym_fun(xt, torch.log) - _sym_fun(yt, torch.log))

    def off_manifold(self, x: object) -> torch.Tensor:
        """Frobenius distance to the closed cone: ``sqrt(‖skew X‖² + Σ min(λᵢ(sym X), 0)²)``."""
        xt = as_tensor(x)
        skew = 0.5 * (xt - xt.mT)
        neg = torch.clamp(torch.linalg.eigvalsh(_sym(xt)), max=0.0)
        return torch.sqrt(_mat_inner(skew, skew) + (neg**2).sum(-1))

    def transport(self, x: object, y: object, u: object) -> torch.Tensor:
        xt, yt, ut = self.as_point(x), self.as_point(y, "y"), _sym(as_tensor(u))
        if self.metric == "affine":
            s, si = self._roots(xt)
            e = s @ _sym_fun(_sym(si @ yt @ si), torch.sqrt) @ si
            return _sym(e @ ut @ e.mT)
        wx, qx = torch.linalg.eigh(xt)
        flat = qx @ (_divided_log(wx) * (qx.mT @ ut @ qx)) @ qx.mT
        wy, qy = torch.linalg.eigh(yt)
        return _sym(qy @ ((qy.mT @ flat @ qy) / _divided_log(wy)) @ qy.mT)

    def _retract(self, x: torch.Tensor, u: torch.Tensor, kind: str) -> torch.Tensor:
        us = _sym(u)
        return _sym(x + us + 0.5 * us @ torch.linalg.solve(x, us))


# ==================================================================================================
def mobius_add(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Möbius addition on the ball of curvature -1:
    ``x ⊕ y = ((1 + 2⟨x,y⟩ + ‖y‖²) x + (1 - ‖x‖²) y) / (1 + 2⟨x,y⟩ + ‖x‖²‖y‖²)``."""
    xy = _vec_inner(x, y).unsqueeze(-1)
    x2 = _vec_inner(x, x).unsqueeze(-1)
    y2 = _vec_inner(y, y).unsqueeze(-1)
    return ((1 + 2 * xy + y2) * x + (1 - x2) * y) / (1 + 2 * xy + x2 * y2)


def _gyration(a: torch.Tensor, b: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """``gyr[a, b] w`` (Ungar), the rotation with ``a ⊕ (b ⊕ w) = (a ⊕ b) ⊕ gyr[a, b] w``,
    linear in ``w`` (so it applies to tangent vectors)."""
    ab = _vec_inner(a, b).unsqueeze(-1)
    aw = _vec_inner(a, w).unsqueeze(-1)
    bw = _vec_inner(b, w).unsqueeze(-1)
    a2 = _vec_inner(a, a).unsqueeze(-1)
    b2 = _vec_inner(b, b).unsqueeze(-1)
    ca = -aw * b2 + bw + 2 * ab * bw
    cb = -bw * a2 - aw
    d = 1 + 2 * ab + a2 * b2
    return w + 2 * (ca * a + cb * b) / d


class PoincareBall(Manifold):
    """The Poincaré ball ``{x ∈ Rⁿ : ‖x‖ < 1}`` of curvature -1, ``shape=[..., n]``.

    * conformal factor ``λ_x = 2/(1 - ‖x‖²)``, ``⟨u, v⟩_x = λ_x² ⟨u, v⟩``,
      ``grad f = ∇f / λ_x²``; every vector is tangent (open set);
    * ``exp_x(u) = x ⊕ tanh(λ_x‖u‖/2) u/‖u‖`` and
      ``log_x(y) = (2/λ_x) artanh(‖-x ⊕ y‖) (-x ⊕ y)/‖-x ⊕ y‖`` (⊕: :func:`mobius_add`);
    * ``dist(x, y) = 2 artanh(‖-x ⊕ y‖)
      = arccosh(1 + 2‖x - y‖²/((1 - ‖x‖²)(1 - ‖y‖²)))``;
    * parallel transport ``P u = (λ_x/λ_y) gyr[y, -x] u``;
    * retractions ``"exp"`` and ``"projection"`` (``x + u`` pulled back inside the ball);
    * ``project(x)`` scales ``x`` to norm ``<= 1 - BALL_MARGIN``.
    """

    retractions = ("exp", "projection")

    def __init__(self, n: int) -> None:
        self.n = _size("n", n, 1)
        self.point_shape = (self.n,)
        self.dim = self.n
        self.name = f"Poincaré ball B^{self.n}"

    def _random_point(self, z: torch.Tensor) -> torch.Tensor:
        # radius 0.8·tanh(|z₀|): spread over the ball without crowding the boundary
        direction = z / torch.linalg.vector_norm(z, dim=-1, keepdim=True)
        return 0.8 * torch.tanh(z[..., :1].abs()) * direction

    def conformal_factor(self, x: object) -> torch.Tensor:
        """``λ_x = 2/(1 - ‖x‖²)``, ``shape=[...]``."""
        xt = self.as_point(x)
        return 2.0 / (1.0 - _vec_inner(xt, xt))

    def project(self, x: object) -> torch.Tensor:
        xt = self.as_point(x)
        r = torch.linalg.vector_norm(xt, dim=-1, keepdim=True)
        limit = 1.0 - BALL_MARGIN
        return torch.where(r > limit, xt * (limit / torch.where(r > 0, r, 1.0)), xt)

    def to_tangent(self, x: object, u: object) -> torch.Tensor:
        return as_tensor(u)

    def egrad_to_rgrad(self, x: object, g: object) -> torch.Tensor:
        return as_tensor(g) / self.conformal_factor(x).unsqueeze(-1) ** 2

    def inner(self, x: object, u: object, v: object) -> torch.Tensor:
        return self.conformal_factor(x) ** 2 * _vec_inner(as_tensor(u), as_tensor(v))

    def exp(self, x: object, u: object) -> torch.Tensor:
        xt, ut = self.as_point(x), as_tensor(u)
        r = torch.linalg.vector_norm(ut, dim=-1, keepdim=True)
        lam = self.conformal_factor(xt).unsqueeze(-1)
        # tanh(λr/2)/r, with its limit λ/2 at r = 0
        safe = torch.where(r > 0, r, 1.0)
        scale = torch.where(r > 0, torch.tanh(lam * safe / 2) / safe, lam / 2)
        return mobius_add(xt, scale * ut)

    def log(self, x: object, y: object) -> torch.Tensor:
        xt, yt = self.as_point(x), self.as_point(y, "y")
        d = mobius_add(-xt, yt)
        r = torch.linalg.vector_norm(d, dim=-1, keepdim=True)
        lam = self.conformal_factor(xt).unsqueeze(-1)
        safe = torch.where(r > 0, r, 1.0)
        scale = torch.where(r > 0, torch.atanh(torch.clamp(safe, max=1 - 1e-16)) / safe, 1.0)
        return (2.0 / lam) * scale * d

    def dist(self, x: object, y: object) -> torch.Tensor:
        d = mobius_add(-self.as_point(x), self.as_point(y, "y"))
        r = torch.linalg.vector_norm(d, dim=-1)
        return 2.0 * torch.atanh(torch.clamp(r, max=1 - 1e-16))

    def off_manifold(self, x: object) -> torch.Tensor:
        return torch.clamp(torch.linalg.vector_norm(as_tensor(x), dim=-1) - 1.0, min=0.0)

    def transport(self, x: object, y: object, u: object) -> torch.Tensor:
        xt, yt, ut = self.as_point(x), self.as_point(y, "y"), as_tensor(u)
        ratio = (self.conformal_factor(xt) / self.conformal_factor(yt)).unsqueeze(-1)
        return ratio * _gyration(yt, -xt, ut)

    def _retract(self, x: torch.Tensor, u: torch.Tensor, kind: str) -> torch.Tensor:
        return self.project(x + u)


# ==================================================================================================
class Euclidean(Manifold):
    """Flat ``R^{shape}`` (``Euclidean(n)`` vectors, ``Euclidean(n, p)`` matrices): the baseline
    that the curved spaces are compared with. ``exp_x(u) = x + u``, ``log_x(y) = y - x``,
    ``⟨u, v⟩ = Σ uᵢvᵢ`` over the point axes, transport is the identity."""

    retractions = ("exp",)

    def __init__(self, *shape: int) -> None:
        if not 1 <= len(shape) <= 2:
            raise ManifoldError(f"Euclidean takes one or two sizes, got {len(shape)}")
        self.point_shape = tuple(_size(f"shape[{i}]", s, 1) for i, s in enumerate(shape))
        self.dim = math.prod(self.point_shape)
        self.name = "R^" + "×".join(map(str, self.point_shape))

    def _sum(self, a: torch.Tensor) -> torch.Tensor:
        return a.sum(tuple(range(-len(self.point_shape), 0)))

    def _random_point(self, z: torch.Tensor) -> torch.Tensor:
        return z

    def project(self, x: object) -> torch.Tensor:
        return self.as_point(x)

    def to_tangent(self, x: object, u: object) -> torch.Tensor:
        return as_tensor(u)

    def egrad_to_rgrad(self, x: object, g: object) -> torch.Tensor:
        return as_tensor(g)

    def inner(self, x: object, u: object, v: object) -> torch.Tensor:
        return self._sum(as_tensor(u) * as_tensor(v))

    def exp(self, x: object, u: object) -> torch.Tensor:
        return self.as_point(x) + as_tensor(u)

    def log(self, x: object, y: object) -> torch.Tensor:
        return self.as_point(y, "y") - self.as_point(x)

    def dist(self, x: object, y: object) -> torch.Tensor:
        d = self.as_point(y, "y") - self.as_point(x)
        return torch.sqrt(self._sum(d * d))

    def off_manifold(self, x: object) -> torch.Tensor:
        xt = as_tensor(x)
        return torch.zeros(xt.shape[: xt.ndim - len(self.point_shape)], dtype=DTYPE,
                           device=xt.device)

    def transport(self, x: object, y: object, u: object) -> torch.Tensor:
        return as_tensor(u)
