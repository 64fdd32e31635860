"""Exponential families in their two flat charts: natural θ and expectation η = ∇ψ(θ).

An exponential family ``p_θ(x) = exp(⟨θ, t(x)⟩ − ψ(θ)) h(x)`` carries two coordinate systems
that are Legendre-dual through the log-partition ``ψ`` and the negative entropy ``φ``::

    η = ∇ψ(θ),   θ = ∇φ(η),   ψ(θ) + φ(η) = ⟨θ, η⟩,   ∇²ψ(θ) = [∇²φ(η)]⁻¹ (the Fisher metric).

θ is affine for the e-connection (e-geodesics are straight lines in θ) and η for the
m-connection (m-geodesics are straight lines in η, i.e. mixtures). The KL divergence is the
Bregman divergence of ψ with its arguments swapped, ``KL(p‖q) = B_ψ(θ_q, θ_p)``.

Three families: :class:`Categorical` (``k`` outcomes, points are probability vectors
``shape=[..., k]``; minimal natural parameters ``θᵢ = log(pᵢ/p_k)``, ``i < k``),
:class:`Bernoulli` (the categorical with ``k = 2``; a point is ``p`` or ``[1 − p, p]``) and
:class:`Gaussian1D` (points ``(μ, σ)``, ``shape=[..., 2]``). Every method is vectorised over
leading axes. Inputs are validated: a probability vector must be finite, non-negative and sum
to 1 (within ``1e-9``); σ must be a finite positive number in ``[SIGMA_MIN, SIGMA_MAX]``.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy.integrate import solve_bvp
from scipy.special import logsumexp, rel_entr, xlogy

from geomcore._validation import check_int, check_positive_float

__all__ = [
    "Bernoulli",
    "Categorical",
    "Curve",
    "DualityError",
    "ExponentialFamily",
    "Gaussian1D",
    "GeodesicKind",
    "MAX_CATEGORIES",
    "MAX_CURVE_POINTS",
    "SIGMA_MAX",
    "SIGMA_MIN",
    "SUM_TOL",
]

MAX_CATEGORIES = 256
"""Largest number of outcomes of a :class:`Categorical`."""
MAX_CURVE_POINTS = 5000
"""Largest ``n_points`` of a geodesic."""
MAX_BVP_NODES = 5000
"""Mesh nodes the α-geodesic's boundary-value solve may use: at the default tolerance 1e-9 a
typical pair needs about 2000; the bound keeps a hopeless solve to a few seconds."""
SUM_TOL = 1e-9
"""How far from 1 the sum of a probability vector may be (then it is divided by its sum)."""
SIGMA_MIN = 1e-100
"""Smallest σ of a :class:`Gaussian1D` point: ``θ₂ = −1/(2σ²)`` must stay finite in float64
(it overflows near ``σ = 1e-154``); below ``1e-100`` the Fisher metric ``2/σ²`` in the natural
chart squared overflows too."""
SIGMA_MAX = 1e100
"""Largest σ of a :class:`Gaussian1D` point (``σ⁴`` in the Fisher metric of θ must not
overflow)."""

GeodesicKind = Literal["e", "m", "fisher_rao", "alpha"]


class DualityError(ValueError):
    """A bad input to :mod:`geomcore.duality` (the message says what and how to fix it)."""


@dataclass(frozen=True)
class Curve:
    """A curve of a family, in its usual parameters.

    Attributes
    ----------
    points : np.ndarray
        ``shape=[n_points, point_dim]`` (probability vectors, or ``(μ, σ)`` rows).
    t : np.ndarray
        Curve parameter in ``[0, 1]``, ``shape=[n_points]``; e-, m- and α-geodesics are
        affinely parametrised for their connection, Fisher–Rao geodesics by arc length.
    kind : str
        ``"e"``, ``"m"``, ``"fisher_rao"`` or ``"alpha"``.
    alpha : float | None
        The α of an α-geodesic (``kind == "alpha"``).
    status : str
        ``"ok"`` or ``"failed"`` (an α-geodesic whose boundary-value solve did not converge;
        ``points`` then holds only the two end points, ``t = [0, 1]``).
    message : str
        Why it failed; empty when ``status == "ok"``.
    """

    points: np.ndarray
    t: np.ndarray
    kind: str
    alpha: float | None = None
    status: str = "ok"
    message: str = ""


def as_float_array(value: object, name: str) -> np.ndarray:
    try:
        a = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise DualityError(f"{name}={value!r} must be an array of numbers") from None
    if not np.all(np.isfinite(a)):
        raise DualityError(f"{name} contains NaN or inf ({np.asarray(value)!r}); give finite "
                           "numbers")
    return a


def _check_n_points(n_points: object) -> int:
    return check_int("n_points", n_points, 2, MAX_CURVE_POINTS, error=DualityError)


class ExponentialFamily(ABC):
    """An exponential family with its two dual charts.

    Subclasses give the maps between the usual parameters (``point``) and the charts, the
    potentials ``ψ``, ``φ``, their Hessians (the Fisher metric in each chart), the third
    derivative of ``ψ`` contracted twice (for α-geodesics), and the closed-form KL and
    Fisher–Rao distance. Everything generic (Bregman divergence, e-/m-/α-geodesics) lives here.
    """

    name: str = "family"
    dim: int
    """Dimension of the natural (and expectation) chart."""

    # -- usual parameters <-> charts ------------------------------------------------------------
    @abstractmethod
    def check_point(self, point: object, name: str = "point", *,
                    interior: bool = False) -> np.ndarray:
        """``point`` validated and as a float array in the usual parameters."""

    @abstractmethod
    def to_natural(self, point: object) -> np.ndarray:
        """Natural parameters θ of ``point``, ``shape=[..., dim]``."""

    @abstractmethod
    def from_natural(self, theta: object) -> np.ndarray:
        """The point (usual parameters) with natural parameters ``theta``."""

    @abstractmethod
    def to_expectation(self, point: object) -> np.ndarray:
        """Expectation parameters η = E[t(x)] of ``point``, ``shape=[..., dim]``."""

    @abstractmethod
    def from_expectation(self, eta: object) -> np.ndarray:
        """The point (usual parameters) with expectation parameters ``eta``."""

    # -- potentials and metric ------------------------------------------------------------------
    @abstractmethod
    def psi(self, theta: object) -> np.ndarray:
        """Log-partition ψ(θ), ``shape=[...]``."""

    @abstractmethod
    def phi(self, eta: object) -> np.ndarray:
        """Negative entropy φ(η) = ⟨θ, η⟩ − ψ(θ), ``shape=[...]``."""

    def natural_to_expectation(self, theta: object) -> np.ndarray:
        """η = ∇ψ(θ)."""
        return self.to_expectation(self.from_natural(theta))

    def expectation_to_natural(self, eta: object) -> np.ndarray:
        """θ = ∇φ(η)."""
        return self.to_natural(self.from_expectation(eta))

    @abstractmethod
    def fisher_natural(self, theta: object) -> np.ndarray:
        """Fisher metric in the natural chart, ``∇²ψ(θ)`` (the covariance of ``t(x)``),
        ``shape=[..., dim, dim]``."""

    @abstractmethod
    def fisher_expectation(self, eta: object) -> np.ndarray:
        """Fisher metric in the expectation chart, ``∇²φ(η) = [∇²ψ(θ)]⁻¹``,
        ``shape=[..., dim, dim]``."""

    @abstractmethod
    def cubic_contract(self, theta: np.ndarray, v: np.ndarray) -> np.ndarray:
        """``T(v, v, ·)`` with ``T = ∇³ψ(θ)`` (the third cumulant of ``t(x)``),
        ``shape=[..., dim]`` for ``theta``, ``v`` of ``shape=[..., dim]``."""

    def geodesic_terms(self, theta: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(∇²ψ(θ), T(v, v, ·))``: what the α-geodesic equation needs at one evaluation
        (families override it to share work between the two)."""
        return self.fisher_natural(theta), self.cubic_contract(theta, v)

    # -- divergences and distances --------------------------------------------------------------
    @abstractmethod
    def kl(self, p: object, q: object) -> np.ndarray:
        """``KL(p‖q) = E_p[log p − log q]`` in closed form, ``shape=[...]``."""

    @abstractmethod
    def fisher_rao_distance(self, p: object, q: object) -> np.ndarray:
        """Length of the Fisher–Rao geodesic from ``p`` to ``q``, ``shape=[...]``."""

    @abstractmethod
    def _fisher_rao_curve(self, p: np.ndarray, q: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Points of the Fisher–Rao geodesic at arc-length fractions ``t``."""

    def bregman(self, theta1: object, theta2: object) -> np.ndarray:
        """Bregman divergence of ψ,
        ``B_ψ(θ₁, θ₂) = ψ(θ₁) − ψ(θ₂) − ⟨∇ψ(θ₂), θ₁ − θ₂⟩``, ``shape=[...]``.

        ``KL(p‖q) = bregman(θ_q, θ_p)``: the order of the arguments is swapped.
        """
        t1 = as_float_array(theta1, "theta1")
        t2 = as_float_array(theta2, "theta2")
        eta2 = self.natural_to_expectation(t2)
        return self.psi(t1) - self.psi(t2) - np.sum(eta2 * (t1 - t2), axis=-1)

    def bregman_dual(self, eta1: object, eta2: object) -> np.ndarray:
        """Bregman divergence of φ, ``B_φ(η₁, η₂) = φ(η₁) − φ(η₂) − ⟨∇φ(η₂), η₁ − η₂⟩``.

        ``KL(p‖q) = bregman_dual(η_p, η_q)`` (same order as KL).
        """
        e1 = as_float_array(eta1, "eta1")
        e2 = as_float_array(eta2, "eta2")
        theta2 = self.expectation_to_natural(e2)
        return self.phi(e1) - self.phi(e2) - np.sum(theta2 * (e1 - e2), axis=-1)

    # -- curves ---------------------------------------------------------------------------------
    def geodesic(self, p: object, q: object, kind: GeodesicKind | None = None, *,
                 alpha: float | None = None, n_points: int = 101,
                 tol: float = 1e-9) -> Curve:
        """The geodesic from ``p`` to ``q`` (usual parameters), sampled at ``n_points``.

        Parameters
        ----------
        p, q : array_like
            End points in the usual parameters.
        kind : {"e", "m", "fisher_rao", "alpha"}, optional
            ``"e"``: straight in θ, ``θ(t) = (1 − t)θ_p + tθ_q`` (an exponential family
            through p and q: ``p_t ∝ p^{1−t} q^t`` for the categorical); ``"m"``: straight in
            η (for the categorical the mixture ``(1 − t)p + tq``); ``"fisher_rao"``: the
            Levi-Civita geodesic of the Fisher metric (closed form, arc-length parametrised);
            ``"alpha"`` (or any ``alpha`` given): the geodesic of Amari's α-connection,
            ``Γ^{(α)} = (1 − α)/2 · T`` in θ, solved as a boundary-value problem
            ``θ'' = −(1 − α)/2 · G(θ)⁻¹ T(θ', θ', ·)``; α = 1 is the e-, α = −1 the m- and
            α = 0 the Fisher–Rao geodesic. Default ``"e"``.
        alpha : float, optional
            ``α ∈ [−1, 1]``; only with ``kind`` ``None`` or ``"alpha"``.
        n_points : int
            Samples, ``2 ≤ n_points ≤ MAX_CURVE_POINTS``.
        tol : float
            Relative residual tolerance of the α-geodesic's boundary-value solve
            (``scipy.integrate.solve_bvp``), ``1e-12 ≤ tol ≤ 1e-3``; at the default the
            solve reproduces the closed forms at α = ±1, 0 to about 1e-13.

        Returns
        -------
        Curve
            ``points`` of ``shape=[n_points, point_dim]``; α-geodesics carry a status.
        """
        n = _check_n_points(n_points)
        if alpha is not None:
            if kind not in (None, "alpha"):
                raise DualityError(f"kind={kind!r} and alpha={alpha!r} were both given; give "
                                   "either a kind or an alpha (alpha=1 is 'e', -1 is 'm')")
            a = _check_alpha(alpha)
            tolerance = check_positive_float("tol", tol, error=DualityError)
            if not 1e-12 <= tolerance <= 1e-3:
                raise DualityError(f"tol={tol!r} is out of range; use 1e-12 <= tol <= 1e-3")
            return self._alpha_geodesic(p, q, a, n, tolerance)
        kind = "e" if kind is None else kind
        if kind == "alpha":
            raise DualityError("kind='alpha' needs alpha=... in [-1, 1]")
        t = np.linspace(0.0, 1.0, n)
        if kind == "e":
            tp = self.to_natural(self.check_point(p, "p", interior=True))
            tq = self.to_natural(self.check_point(q, "q", interior=True))
            pts = self.from_natural((1 - t)[:, None] * tp + t[:, None] * tq)
        elif kind == "m":
            ep = self.to_expectation(self.check_point(p, "p"))
            eq = self.to_expectation(self.check_point(q, "q"))
            pts = self.from_expectation((1 - t)[:, None] * ep + t[:, None] * eq)
        elif kind == "fisher_rao":
            pts = self._fisher_rao_curve(self.check_point(p, "p"), self.check_point(q, "q"), t)
        else:
            raise DualityError(f"kind={kind!r} is not one of 'e', 'm', 'fisher_rao', 'alpha'")
        return Curve(points=pts, t=t, kind=kind)

    def _alpha_geodesic(self, p: object, q: object, alpha: float, n: int,
                        tol: float) -> Curve:
        pp = self.check_point(p, "p", interior=True)
        qq = self.check_point(q, "q", interior=True)
        tp, tq = self.to_natural(pp), self.to_natural(qq)
        if tp.ndim != 1 or tq.ndim != 1:
            raise DualityError("an α-geodesic joins two single points; p and q must not be "
                               "batches")
        d = self.dim
        closed = {1.0: "e", 0.0: "fisher_rao", -1.0: "m"}.get(alpha)
        if closed is not None:
            # These α have closed forms; the solver, started from them, can still step out of
            # the parameter domain (normals σ = 0.1 at μ = ±3, α = −1: θ₂ > 0).
            curve = self.geodesic(pp, qq, closed, n_points=n)  # type: ignore[arg-type]
            return Curve(points=curve.points, t=curve.t, kind="alpha", alpha=alpha)

        def bc(ya: np.ndarray, yb: np.ndarray) -> np.ndarray:
            return np.concatenate([ya[:d] - tp, yb[:d] - tq])

        def solve(a: float, mesh: np.ndarray, guess: np.ndarray) -> Any:
            c = (1 - a) / 2

            def rhs(_t: np.ndarray, y: np.ndarray) -> np.ndarray:
                theta, v = y[:d].T, y[d:].T
                with np.errstate(all="ignore"):
                    g, t3 = self.geodesic_terms(theta, v)
                    acc = -c * np.linalg.solve(g, t3[..., None])[..., 0]
                return np.vstack([v.T, acc.T])

            # max_nodes bounds the work: a solve that needs more has failed in practice
            return solve_bvp(rhs, bc, mesh, guess, tol=tol, bc_tol=tol / 100,
                             max_nodes=MAX_BVP_NODES)

        # Start from the closed-form geodesic of the nearest α among 1 (e), 0 (Fisher–Rao) and
        # −1 (m), in θ, where the solver only has to bend it; if that fails (far-apart points,
        # e.g. normals with very different σ), walk α there in small steps, each solve starting
        # from the previous one.
        anchor = min((1.0, 0.0, -1.0), key=lambda a: abs(a - alpha))
        kind = {1.0: "e", 0.0: "fisher_rao", -1.0: "m"}[anchor]
        mesh = np.linspace(0.0, 1.0, 41)
        start = self.to_natural(self.geodesic(pp, qq, kind,  # type: ignore[arg-type]
                                              n_points=mesh.size).points)
        y0 = np.vstack([start.T, np.gradient(start, mesh, axis=0).T])
        t = np.linspace(0.0, 1.0, n)
        message = ""
        sol: Any = None
        for schedule in ([alpha], list(np.linspace(anchor, alpha, 6)[1:])):
            x, y = mesh, y0
            try:
                for a in schedule:
                    sol = solve(float(a), x, y)
                    if not sol.success:
                        break
                    x, y = sol.x, sol.y
            except (np.linalg.LinAlgError, ValueError, FloatingPointError) as err:
                # The error names internals (θ₂ out of its domain, a singular matrix): say
                # what happened instead.
                sol = None
                message = (f"the α-geodesic (α = {alpha:g}) could not be solved between these "
                           "two points: the solver left the family's parameters "
                           f"({_err_kind(err)}). Move the points closer, or choose "
                           "α = 1, 0 or −1, whose geodesics have closed forms")
            if sol is not None and sol.success:
                break
        ok = sol is not None and bool(sol.success)
        if ok:
            theta_t = sol.sol(t)[:d].T
            ok = bool(np.all(np.isfinite(theta_t)))
        if not ok:
            if not message:
                why = getattr(sol, "message", "no solution")
                message = (f"the α-geodesic (α = {alpha:g}) boundary-value solve did not "
                           f"converge: {why}")
            return Curve(points=np.stack([pp, qq]), t=np.array([0.0, 1.0]), kind="alpha",
                         alpha=alpha, status="failed", message=message)
        try:
            pts = self.from_natural(theta_t)
        except DualityError as err:  # the solution left the chart's domain between nodes
            return Curve(points=np.stack([pp, qq]), t=np.array([0.0, 1.0]), kind="alpha",
                         alpha=alpha, status="failed",
                         message=f"the α-geodesic (α = {alpha:g}) left the family between "
                                 "its nodes. Move the points closer, or choose α = 1, 0 or "
                                 f"−1, whose geodesics have closed forms ({_err_kind(err)})")
        pts[0], pts[-1] = pp, qq  # endpoints exactly as given (the solver meets them to tol)
        return Curve(points=pts, t=t, kind="alpha", alpha=alpha)


def _err_kind(err: Exception) -> str:
    """A solver error in words for the reader (its own text names internals such as θ₂)."""
    if isinstance(err, np.linalg.LinAlgError):
        return "the Fisher metric became singular"
    return "a parameter out of its domain" if isinstance(err, DualityError) else "no solution"


def _check_alpha(alpha: object) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, int | float | np.integer | np.floating):
        raise DualityError(f"alpha={alpha!r} must be a number in [-1, 1]")
    a = float(alpha)
    if not -1.0 <= a <= 1.0:
        raise DualityError(f"alpha={alpha!r} is out of range; use -1 <= alpha <= 1")
    return a


def check_probabilities(p: object, k: int, name: str = "p", *,
                        interior: bool = False) -> np.ndarray:
    """``p`` as a float array of probability vectors ``shape=[..., k]``, divided by its sum.

    Refuses NaN/inf, negative entries, a wrong last axis and sums more than :data:`SUM_TOL`
    away from 1; with ``interior=True`` also zeros (the natural parameters are infinite there).
    """
    a = as_float_array(p, name)
    if a.ndim == 0 or a.shape[-1] != k:
        raise DualityError(f"{name} must be probability vectors of length {k} (shape [..., "
                           f"{k}]); got shape {a.shape}")
    if np.any(a < 0):
        raise DualityError(f"{name}={a.tolist()} has a negative entry; probabilities are >= 0")
    s = a.sum(axis=-1, keepdims=True)
    if np.any(np.abs(s - 1.0) > SUM_TOL):
        raise DualityError(f"{name} sums to {np.ravel(s)[0]:.12g}, not 1; divide it by its sum")
    if interior and np.any(a == 0):
        raise DualityError(f"{name}={a.tolist()} has a zero entry: on the boundary of the "
                           "simplex the natural parameters log(p_i/p_k) are infinite; move it "
                           "inside (e.g. mix it with the uniform distribution)")
    return a / s


class Categorical(ExponentialFamily):
    """The categorical family of ``k`` outcomes: the open probability simplex.

    Natural parameters are the minimal ``θᵢ = log(pᵢ/p_k)`` (``i < k``), expectation
    parameters ``ηᵢ = pᵢ`` (``i < k``)::

        ψ(θ) = log(1 + Σ eᶿⁱ),   φ(η) = Σᵢ ηᵢ log ηᵢ + p_k log p_k  (p_k = 1 − Σ η),
        ∇²ψ = diag(η) − ηηᵀ,     ∇²φ = diag(1/η) + 11ᵀ/p_k.

    Parameters
    ----------
    k : int
        Number of outcomes, ``2 ≤ k ≤ MAX_CATEGORIES``.
    """

    name = "categorical"

    def __init__(self, k: int) -> None:
        self.k = check_int("k", k, 2, MAX_CATEGORIES, error=DualityError)
        self.dim = self.k - 1

    def __repr__(self) -> str:
        return f"Categorical({self.k})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.k == self.k

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.k))

    def check_point(self, point: object, name: str = "point", *,
                    interior: bool = False) -> np.ndarray:
        return check_probabilities(point, self.k, name, interior=interior)

    def _check_chart(self, value: object, name: str) -> np.ndarray:
        a = as_float_array(value, name)
        if a.ndim == 0 or a.shape[-1] != self.dim:
            raise DualityError(f"{name} must have shape [..., {self.dim}] for {self!r}; got "
                               f"shape {a.shape}")
        return a

    def to_natural(self, point: object) -> np.ndarray:
        p = self.check_point(point, interior=True)
        return np.log(p[..., :-1]) - np.log(p[..., -1:])

    def from_natural(self, theta: object) -> np.ndarray:
        th = self._check_chart(theta, "theta")
        full = np.concatenate([th, np.zeros(th.shape[:-1] + (1,))], axis=-1)
        # softmax with the largest logit subtracted (no overflow; scipy's logsumexp does the
        # same at ten times the cost, which the α-geodesic solve pays on every evaluation)
        e = np.exp(full - full.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    def to_expectation(self, point: object) -> np.ndarray:
        return self.check_point(point)[..., :-1].copy()

    def from_expectation(self, eta: object) -> np.ndarray:
        e = self._check_chart(eta, "eta")
        last = 1.0 - e.sum(axis=-1, keepdims=True)
        return self.check_point(np.concatenate([e, last], axis=-1), "the point of eta")

    def psi(self, theta: object) -> np.ndarray:
        th = self._check_chart(theta, "theta")
        full = np.concatenate([th, np.zeros(th.shape[:-1] + (1,))], axis=-1)
        return logsumexp(full, axis=-1)

    def phi(self, eta: object) -> np.ndarray:
        p = self.from_expectation(eta)
        return np.sum(xlogy(p, p), axis=-1)

    def natural_to_expectation(self, theta: object) -> np.ndarray:
        return self.from_natural(theta)[..., :-1]

    def fisher_natural(self, theta: object) -> np.ndarray:
        eta = self.natural_to_expectation(theta)
        return _diag(eta) - eta[..., :, None] * eta[..., None, :]

    def fisher_expectation(self, eta: object) -> np.ndarray:
        p = self.from_expectation(eta)
        if np.any(p == 0):
            raise DualityError("the Fisher metric in η is infinite on the boundary of the "
                               "simplex (a zero probability); move the point inside")
        return _diag(1.0 / p[..., :-1]) + 1.0 / p[..., -1, None, None]

    def cubic_contract(self, theta: np.ndarray, v: np.ndarray) -> np.ndarray:
        return self._cubic_from_p(self.from_natural(theta), v)

    def geodesic_terms(self, theta: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p = self.from_natural(theta)
        eta = p[..., :-1]
        return _diag(eta) - eta[..., :, None] * eta[..., None, :], self._cubic_from_p(p, v)

    def _cubic_from_p(self, p: np.ndarray, v: np.ndarray) -> np.ndarray:
        # T(v, v, ·) = E[(c·v)² c] with c = t(x) − η over the k outcomes (t = e_i, or 0 for k).
        eta = p[..., :-1]
        c = np.concatenate([np.broadcast_to(np.eye(self.dim), eta.shape[:-1] + (self.dim,
                                                                                 self.dim)),
                            np.zeros(eta.shape[:-1] + (1, self.dim))], axis=-2) - eta[..., None, :]
        cv = np.einsum("...oi,...i->...o", c, v)
        return np.einsum("...o,...o,...oi->...i", p, cv * cv, c)

    def kl(self, p: object, q: object) -> np.ndarray:
        """``KL(p‖q) = Σ pᵢ log(pᵢ/qᵢ)``, with ``0 log 0 = 0`` and ``+inf`` where ``qᵢ = 0 <
        pᵢ`` (``p`` and ``q`` may lie on the boundary)."""
        a, b = self.check_point(p, "p"), self.check_point(q, "q")
        return np.sum(rel_entr(a, b), axis=-1)

    def fisher_rao_distance(self, p: object, q: object) -> np.ndarray:
        """``2 arccos Σ √(pᵢqᵢ)``, computed as ``4 arcsin(‖√p − √q‖/2)`` (the same angle,
        accurate for nearby points where arccos loses half the digits)."""
        a, b = self.check_point(p, "p"), self.check_point(q, "q")
        chord = np.linalg.norm(np.sqrt(a) - np.sqrt(b), axis=-1)
        return 4.0 * np.arcsin(np.minimum(chord / 2.0, 1.0))

    def _fisher_rao_curve(self, p: np.ndarray, q: np.ndarray, t: np.ndarray) -> np.ndarray:
        # √p lies on the unit sphere, where the Fisher metric is 4× the round one: the geodesic
        # is the great-circle arc from √p to √q, squared back.
        u, w = np.sqrt(p), np.sqrt(q)
        angle = 2.0 * math.asin(min(float(np.linalg.norm(u - w)) / 2.0, 1.0))
        if angle < 1e-12:
            s = (1 - t)[:, None] * u + t[:, None] * w
        else:
            s = (np.sin((1 - t) * angle)[:, None] * u + np.sin(t * angle)[:, None] * w) / math.sin(
                angle)
        pts = s * s
        return pts / pts.sum(axis=-1, keepdims=True)


class Bernoulli(Categorical):
    """The Bernoulli family: :class:`Categorical` with ``k = 2``, θ = log(p/(1 − p)), η = p.

    A point may be given as the success probability ``p`` (a number) or as ``[1 − p, p]``;
    results are in the second form, ``shape=[..., 2]``. (The minimal natural parameter of the
    categorical is ``log(p₀/p₁)`` with the *last* outcome as reference; the Bernoulli orders
    its outcomes ``[failure, success]``, so it flips them to keep θ = logit(p).)
    """

    name = "bernoulli"

    def __init__(self) -> None:
        super().__init__(2)

    def __repr__(self) -> str:
        return "Bernoulli()"

    def check_point(self, point: object, name: str = "point", *,
                    interior: bool = False) -> np.ndarray:
        a = as_float_array(point, name)
        if a.ndim == 0:
            if not 0.0 <= float(a) <= 1.0:
                raise DualityError(f"{name}={float(a)!r} is not a probability; use 0 <= p <= 1")
            a = np.array([1.0 - float(a), float(a)])
        return super().check_point(a, name, interior=interior)

    # [1 − p, p] is the categorical [p₀, p₁] read backwards: reverse, use the parent, reverse.
    def to_natural(self, point: object) -> np.ndarray:
        return super().to_natural(self.check_point(point, interior=True)[..., ::-1])

    def from_natural(self, theta: object) -> np.ndarray:
        return super().from_natural(theta)[..., ::-1]

    def to_expectation(self, point: object) -> np.ndarray:
        return self.check_point(point)[..., 1:].copy()

    def from_expectation(self, eta: object) -> np.ndarray:
        return super().from_expectation(eta)[..., ::-1]

    def natural_to_expectation(self, theta: object) -> np.ndarray:
        return self.from_natural(theta)[..., 1:]

    def geodesic_terms(self, theta: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # the categorical's shortcut reads η from the last-outcome chart; this one is reversed
        return self.fisher_natural(theta), self.cubic_contract(theta, v)

    def cubic_contract(self, theta: np.ndarray, v: np.ndarray) -> np.ndarray:
        # t(x) = x with P(x = 1) = η: third central moment η(1 − η)(1 − 2η).
        eta = self.natural_to_expectation(theta)
        return eta * (1 - eta) * (1 - 2 * eta) * v * v


class Gaussian1D(ExponentialFamily):
    """Univariate normal distributions ``N(μ, σ²)``; a point is ``(μ, σ)``, ``shape=[..., 2]``.

    Sufficient statistic ``t(x) = (x, x²)``::

        θ = (μ/σ², −1/(2σ²)),   η = (μ, μ² + σ²),
        ψ(θ) = −θ₁²/(4θ₂) + ½ log(π/(−θ₂)),   φ(η) = −½ (1 + log(2π(η₂ − η₁²))).

    The Fisher metric in ``(μ, σ)`` is ``diag(1, 2)/σ²``: the hyperbolic half-plane in
    ``(μ/√2, σ)`` scaled by 2, whence the closed-form Fisher–Rao distance and geodesics.
    """

    name = "gaussian"
    dim = 2

    def __repr__(self) -> str:
        return "Gaussian1D()"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self)

    def __hash__(self) -> int:
        return hash(type(self).__name__)

    def check_point(self, point: object, name: str = "point", *,
                    interior: bool = False) -> np.ndarray:
        a = as_float_array(point, name)
        if a.ndim == 0 or a.shape[-1] != 2:
            raise DualityError(f"{name} must be (mu, sigma) pairs, shape [..., 2]; got shape "
                               f"{a.shape}")
        sigma = a[..., 1]
        if np.any(sigma <= 0):
            raise DualityError(f"{name} has sigma={np.min(sigma)!r}; sigma must be > 0")
        if np.any(sigma < SIGMA_MIN) or np.any(sigma > SIGMA_MAX):
            raise DualityError(f"{name} has sigma outside [{SIGMA_MIN:g}, {SIGMA_MAX:g}] "
                               f"({sigma.min():g} … {sigma.max():g}): the natural parameters "
                               "−1/(2σ²) and the Fisher metric overflow in float64 there; "
                               "rescale the data")
        if np.any(np.abs(a[..., 0]) > SIGMA_MAX):
            raise DualityError(f"{name} has |mu| > {SIGMA_MAX:g}; rescale the data")
        return a

    def _check_chart(self, value: object, name: str) -> np.ndarray:
        a = as_float_array(value, name)
        if a.ndim == 0 or a.shape[-1] != 2:
            raise DualityError(f"{name} must have shape [..., 2]; got shape {a.shape}")
        return a

    def to_natural(self, point: object) -> np.ndarray:
        a = self.check_point(point)
        mu, var = a[..., 0], a[..., 1] ** 2
        return np.stack([mu / var, -0.5 / var], axis=-1)

    def from_natural(self, theta: object) -> np.ndarray:
        th = self._check_chart(theta, "theta")
        if np.any(th[..., 1] >= 0):
            raise DualityError("theta_2 must be < 0 (it is −1/(2σ²)); got "
                               f"{np.max(th[..., 1])!r}")
        var = -0.5 / th[..., 1]
        return self.check_point(np.stack([th[..., 0] * var, np.sqrt(var)], axis=-1),
                                "the point of theta")

    def to_expectation(self, point: object) -> np.ndarray:
        a = self.check_point(point)
        mu, sigma = a[..., 0], a[..., 1]
        return np.stack([mu, mu * mu + sigma * sigma], axis=-1)

    def from_expectation(self, eta: object) -> np.ndarray:
        e = self._check_chart(eta, "eta")
        var = e[..., 1] - e[..., 0] ** 2
        if np.any(var <= 0):
            raise DualityError("eta must satisfy eta_2 > eta_1² (it is (μ, μ² + σ²)); got "
                               f"variance {np.min(var)!r}")
        return self.check_point(np.stack([e[..., 0], np.sqrt(var)], axis=-1), "the point of eta")

    def psi(self, theta: object) -> np.ndarray:
        th = self._check_chart(theta, "theta")
        self.from_natural(th)  # validates θ₂ < 0
        return -th[..., 0] ** 2 / (4 * th[..., 1]) + 0.5 * np.log(np.pi / -th[..., 1])

    def phi(self, eta: object) -> np.ndarray:
        sigma = self.from_expectation(eta)[..., 1]
        return -0.5 * (1.0 + np.log(2 * np.pi) + 2.0 * np.log(sigma))

    def fisher_natural(self, theta: object) -> np.ndarray:
        a = self.from_natural(theta)
        mu, var = a[..., 0], a[..., 1] ** 2
        g = np.empty(a.shape[:-1] + (2, 2))
        g[..., 0, 0] = var
        g[..., 0, 1] = g[..., 1, 0] = 2 * mu * var
        g[..., 1, 1] = 2 * var * var + 4 * mu * mu * var
        return g

    def fisher_expectation(self, eta: object) -> np.ndarray:
        e = self._check_chart(eta, "eta")
        a = self.from_expectation(e)
        m, v = e[..., 0], a[..., 1] ** 2
        g = np.empty(e.shape[:-1] + (2, 2))
        g[..., 0, 0] = 1 / v + 2 * m * m / (v * v)
        g[..., 0, 1] = g[..., 1, 0] = -m / (v * v)
        g[..., 1, 1] = 0.5 / (v * v)
        return g

    def geodesic_terms(self, theta: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # one conversion θ → (μ, σ²) for both terms, as the boundary-value solver calls this
        # on every mesh node many times
        a = self.from_natural(theta)
        mu, var = a[..., 0], a[..., 1] ** 2
        g = np.empty(a.shape[:-1] + (2, 2))
        g[..., 0, 0] = var
        g[..., 0, 1] = g[..., 1, 0] = 2 * mu * var
        g[..., 1, 1] = 2 * var * var + 4 * mu * mu * var
        return g, self._cubic(mu, var, v)

    def cubic_contract(self, theta: np.ndarray, v: np.ndarray) -> np.ndarray:
        a = self.from_natural(theta)
        return self._cubic(a[..., 0], a[..., 1] ** 2, v)

    @staticmethod
    def _cubic(mu: np.ndarray, s2: np.ndarray, v: np.ndarray) -> np.ndarray:
        # Third cumulants of (x, x²) under N(μ, σ²): κ₁₁₁ = 0, κ₁₁₂ = 2σ⁴, κ₁₂₂ = 8μσ⁴,
        # κ₂₂₂ = 24μ²σ⁴ + 8σ⁶ (from x = μ + σz with E z⁴ = 3, E z⁶ = 15).
        s4 = s2 * s2
        t112, t122, t222 = 2 * s4, 8 * mu * s4, 24 * mu * mu * s4 + 8 * s4 * s2
        v1, v2 = v[..., 0], v[..., 1]
        out0 = 2 * t112 * v1 * v2 + t122 * v2 * v2
        out1 = t112 * v1 * v1 + 2 * t122 * v1 * v2 + t222 * v2 * v2
        return np.stack([out0, out1], axis=-1)

    def kl(self, p: object, q: object) -> np.ndarray:
        """``KL(N(μ₁, σ₁²)‖N(μ₂, σ₂²)) = log(σ₂/σ₁) + (σ₁² + (μ₁ − μ₂)²)/(2σ₂²) − ½``."""
        a, b = self.check_point(p, "p"), self.check_point(q, "q")
        r = a[..., 1] / b[..., 1]
        d = (a[..., 0] - b[..., 0]) / b[..., 1]
        # −log r + (r² − 1)/2 written with log1p/expm1-free pieces that stay accurate near r = 1
        return 0.5 * (r * r - 1.0 - 2.0 * np.log(r)) + 0.5 * d * d

    def fisher_rao_distance(self, p: object, q: object) -> np.ndarray:
        """``√2 arccosh(1 + (Δμ²/2 + Δσ²)/(2σ₁σ₂))``, with ``arccosh(1 + x)`` computed as
        ``log1p(x + √(x(x + 2)))`` (accurate for small x)."""
        a, b = self.check_point(p, "p"), self.check_point(q, "q")
        dmu, dsig = a[..., 0] - b[..., 0], a[..., 1] - b[..., 1]
        x = (dmu * dmu / 2 + dsig * dsig) / (2 * a[..., 1] * b[..., 1])
        return math.sqrt(2.0) * np.log1p(x + np.sqrt(x * (x + 2)))

    def _fisher_rao_curve(self, p: np.ndarray, q: np.ndarray, t: np.ndarray) -> np.ndarray:
        # In (x, y) = (μ/√2, σ) the metric is 2·(dx² + dy²)/y²: hyperbolic geodesics, i.e.
        # vertical lines or half-circles centred on y = 0, run at constant hyperbolic speed.
        if p.ndim != 1 or q.ndim != 1:
            raise DualityError("a geodesic joins two single points; p and q must not be batches")
        x1, y1, x2, y2 = p[0] / math.sqrt(2), p[1], q[0] / math.sqrt(2), q[1]
        if abs(x1 - x2) <= 1e-14 * max(1.0, abs(x1), abs(x2)):
            y = y1 * (y2 / y1) ** t
            x = x1 + t * (x2 - x1)
        else:
            c = (x2 * x2 + y2 * y2 - x1 * x1 - y1 * y1) / (2 * (x2 - x1))
            radius = math.hypot(x1 - c, y1)
            # x = c + R tanh s, y = R / cosh s: s is hyperbolic arc length along the circle.
            s1, s2 = math.atanh((x1 - c) / radius), math.atanh((x2 - c) / radius)
            s = s1 + t * (s2 - s1)
            x, y = c + radius * np.tanh(s), radius / np.cosh(s)
        pts = np.stack([x * math.sqrt(2), y], axis=-1)
        pts[0], pts[-1] = p, q
        return pts


def _diag(v: np.ndarray) -> np.ndarray:
    out = np.zeros(v.shape + v.shape[-1:])
    idx = np.arange(v.shape[-1])
    out[..., idx, idx] = v
    return out
