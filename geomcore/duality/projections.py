"""Projections onto flat sub-families, the generalised Pythagorean theorem, EM as projections.

* The **m-projection** of ``p`` onto an e-flat sub-family ``E = {θ = θ₀ + A w}`` minimises
  ``KL(p‖q)`` over ``q ∈ E``. Its optimality condition is moment matching,
  ``Aᵀ(η(q*) − η(p)) = 0``: the m-geodesic from p to q* meets E orthogonally (Fisher metric).
* The **e-projection** of ``p`` onto an m-flat sub-family ``M = {η = η₀ + B v}`` minimises
  ``KL(q‖p)`` over ``q ∈ M``; optimality ``Bᵀ(θ(q*) − θ(p)) = 0``.
* **Pythagoras**: for the m-projection q* of p onto E and any r ∈ E,
  ``KL(p‖r) = KL(p‖q*) + KL(q*‖r)`` exactly (:func:`pythagorean` returns both sides).
* **EM** for a two-component 1-D Gaussian mixture alternates an e-projection onto the data
  manifold (E-step: the posterior over the hidden label) and an m-projection onto the model
  manifold (M-step: matching the complete-data expectation parameters); the divergence between
  the two manifolds never increases (:func:`em_gaussian_mixture`).

Both projections are convex problems solved by damped Newton in the weights ``w`` / ``v``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

from geomcore._validation import check_int, check_positive_float, check_seed
from geomcore.duality.families import (
    DualityError,
    ExponentialFamily,
    Gaussian1D,
    as_float_array,
)

__all__ = [
    "EMResult",
    "MAX_EM_POINTS",
    "MAX_EM_STEPS",
    "Projection",
    "PythagoreanCheck",
    "e_projection",
    "em_gaussian_mixture",
    "m_projection",
    "mixture_sample",
    "pythagorean",
]

MAX_NEWTON = 100
MAX_EM_POINTS = 100_000
MAX_EM_STEPS = 1000


@dataclass(frozen=True)
class Projection:
    """The result of :func:`m_projection` or :func:`e_projection`.

    Attributes
    ----------
    point : np.ndarray
        The projection q* in the usual parameters.
    weights : np.ndarray
        Its coordinates ``w`` (``θ = θ₀ + A w``) or ``v`` (``η = η₀ + B v``), ``shape=[m]``.
    divergence : float
        ``KL(p‖q*)`` (m-projection) or ``KL(q*‖p)`` (e-projection).
    gradient_norm : float
        Norm of the optimality condition at q* (``Aᵀ(η(q*) − η(p))`` or
        ``Bᵀ(θ(q*) − θ(p))``).
    iterations : int
        Newton steps taken.
    status, message : str
        ``"ok"`` or ``"not_converged"`` (then ``message`` says why and ``point`` is the last
        iterate).
    """

    point: np.ndarray
    weights: np.ndarray
    divergence: float
    gradient_norm: float
    iterations: int
    status: str = "ok"
    message: str = ""


def _check_directions(directions: object, dim: int, name: str) -> np.ndarray:
    a = as_float_array(directions, name)
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2 or a.shape[1] != dim or not 1 <= a.shape[0] <= dim:
        raise DualityError(f"{name} must be m rows of length {dim} (1 <= m <= {dim}); got "
                           f"shape {a.shape}")
    if np.linalg.matrix_rank(a) < a.shape[0]:
        raise DualityError(f"the rows of {name} are linearly dependent; give independent "
                           "directions")
    return a.T  # [dim, m]


def _newton(value, grad_hess, x0: np.ndarray, tol: float) -> tuple[np.ndarray, float, int, str]:
    """Damped Newton for a convex ``value`` (``+inf`` outside its domain); returns the
    minimiser, the final gradient norm, the steps and a failure message (empty on success)."""
    x, f = x0, value(x0)
    for it in range(MAX_NEWTON + 1):
        g, h = grad_hess(x)
        gnorm = float(np.linalg.norm(g))
        if gnorm <= tol:
            return x, gnorm, it, ""
        if it == MAX_NEWTON:
            break
        step = np.linalg.solve(h, g)
        t = 1.0
        while t > 1e-12:
            x_new = x - t * step
            f_new = value(x_new)
            # Armijo with a little slack: near the optimum f stalls at round-off while the
            # gradient can still shrink.
            if math.isfinite(f_new) and f_new <= f - 1e-4 * t * float(g @ step) + 1e-15 * abs(f):
                break
            t /= 2
        else:
            return x, gnorm, it, "the line search stalled (the optimum may be on the boundary)"
        x, f = x_new, f_new
    return x, gnorm, MAX_NEWTON, f"no convergence in {MAX_NEWTON} Newton steps"


def m_projection(family: ExponentialFamily, p: object, theta0: object, directions: object, *,
                 tol: float = 1e-13) -> Projection:
    """The m-projection of ``p`` onto the e-flat sub-family ``{θ = θ₀ + Σⱼ wⱼ aⱼ}``.

    Minimises ``KL(p‖q_w) = ψ(θ₀ + Aw) − ⟨η_p, θ₀ + Aw⟩ + const``; the gradient
    ``Aᵀ(η(q_w) − η_p)`` vanishes at the optimum (moment matching) and the Hessian is
    ``AᵀG(θ)A`` with ``G = ∇²ψ`` the Fisher metric.

    Parameters
    ----------
    family : ExponentialFamily
    p : array_like
        The point to project (usual parameters; may lie on the simplex's boundary).
    theta0 : array_like
        A point of the sub-family in natural parameters, ``shape=[dim]``.
    directions : array_like
        Rows ``aⱼ`` spanning the sub-family in θ, ``shape=[m, dim]`` (or one row).
    tol : float
        Stop when the gradient norm is below ``tol``.
    """
    tol = check_positive_float("tol", tol, error=DualityError)
    eta_p = family.to_expectation(family.check_point(p, "p"))
    th0 = as_float_array(theta0, "theta0").reshape(-1)
    if th0.shape != (family.dim,):
        raise DualityError(f"theta0 must have shape [{family.dim}]; got {th0.shape}")
    A = _check_directions(directions, family.dim, "directions")

    def value(w: np.ndarray) -> float:
        th = th0 + A @ w
        try:
            return float(family.psi(th) - eta_p @ th)
        except DualityError:
            return math.inf

    def grad_hess(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        th = th0 + A @ w
        return (A.T @ (family.natural_to_expectation(th) - eta_p),
                A.T @ family.fisher_natural(th) @ A)

    w, gnorm, it, why = _newton(value, grad_hess, np.zeros(A.shape[1]), tol)
    q = family.from_natural(th0 + A @ w)
    return Projection(point=q, weights=w, divergence=float(family.kl(p, q)),
                      gradient_norm=gnorm, iterations=it,
                      status="ok" if not why else "not_converged",
                      message="" if not why else f"m-projection: {why}")


def e_projection(family: ExponentialFamily, p: object, eta0: object, directions: object, *,
                 tol: float = 1e-12) -> Projection:
    """The e-projection of ``p`` onto the m-flat sub-family ``{η = η₀ + Σⱼ vⱼ bⱼ}``.

    Minimises ``KL(q_v‖p) = φ(η₀ + Bv) − ⟨θ_p, η₀ + Bv⟩ + const``; gradient
    ``Bᵀ(θ(q_v) − θ_p)``, Hessian ``Bᵀ∇²φ B``. ``eta0`` must be a point of the family (the
    search starts there) and ``p`` must be interior (``θ_p`` finite).
    """
    tol = check_positive_float("tol", tol, error=DualityError)
    theta_p = family.to_natural(family.check_point(p, "p", interior=True))
    e0 = as_float_array(eta0, "eta0").reshape(-1)
    if e0.shape != (family.dim,):
        raise DualityError(f"eta0 must have shape [{family.dim}]; got {e0.shape}")
    family.check_point(family.from_expectation(e0), "the point of eta0", interior=True)
    B = _check_directions(directions, family.dim, "directions")

    def value(v: np.ndarray) -> float:
        e = e0 + B @ v
        try:
            family.check_point(family.from_expectation(e), interior=True)
            return float(family.phi(e) - theta_p @ e)
        except DualityError:
            return math.inf

    def grad_hess(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        e = e0 + B @ v
        return (B.T @ (family.expectation_to_natural(e) - theta_p),
                B.T @ family.fisher_expectation(e) @ B)

    v, gnorm, it, why = _newton(value, grad_hess, np.zeros(B.shape[1]), tol)
    q = family.from_expectation(e0 + B @ v)
    return Projection(point=q, weights=v, divergence=float(family.kl(q, p)),
                      gradient_norm=gnorm, iterations=it,
                      status="ok" if not why else "not_converged",
                      message="" if not why else f"e-projection: {why}")


@dataclass(frozen=True)
class PythagoreanCheck:
    """Both sides of ``KL(p‖r) = KL(p‖q*) + KL(q*‖r)``.

    Attributes
    ----------
    kl_p_r, kl_p_q, kl_q_r : float
        ``KL(p‖r)``, ``KL(p‖q*)``, ``KL(q*‖r)``.
    lhs, rhs : float
        ``kl_p_r`` and ``kl_p_q + kl_q_r``.
    gap : float
        ``lhs − rhs`` (zero when q* is the m-projection of p onto an e-flat family holding r).
    """

    kl_p_r: float
    kl_p_q: float
    kl_q_r: float

    @property
    def lhs(self) -> float:
        return self.kl_p_r

    @property
    def rhs(self) -> float:
        return self.kl_p_q + self.kl_q_r

    @property
    def gap(self) -> float:
        return self.lhs - self.rhs


def pythagorean(p: object, q_star: object, r: object, *,
                family: ExponentialFamily) -> PythagoreanCheck:
    """Both sides of the generalised Pythagorean theorem, ``KL(p‖r)`` and
    ``KL(p‖q*) + KL(q*‖r)`` (points in ``family``'s usual parameters).

    The identity holds exactly when q* is the m-projection of p onto an e-flat sub-family
    that contains r (the m-geodesic p→q* and the e-geodesic q*→r meet at a right angle); in
    general ``gap = ⟨η_p − η_{q*}, θ_r − θ_{q*}⟩`` up to sign, which this function does not
    assume to be zero.
    """
    return PythagoreanCheck(kl_p_r=float(family.kl(p, r)), kl_p_q=float(family.kl(p, q_star)),
                            kl_q_r=float(family.kl(q_star, r)))


# -- EM ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EMResult:
    """EM for a two-component 1-D Gaussian mixture, step by step.

    Attributes
    ----------
    weights : np.ndarray
        Mixing weights ``π`` after each M-step (row 0: the start), ``shape=[steps + 1, 2]``.
    means, sigmas : np.ndarray
        Component ``μ`` and ``σ``, ``shape=[steps + 1, 2]``.
    divergence : np.ndarray
        The divergence between the data manifold and the model manifold after every
        half-step: ``[F(q₁, θ₀), F(q₁, θ₁), F(q₂, θ₁), …]``, ``shape=[2 · steps]``, where
        ``F(q, θ) = (1/n) Σᵢ Σ_z q(z|xᵢ) log(q(z|xᵢ)/p_θ(xᵢ, z))`` is ``KL(p̂·q ‖ p_θ)``
        up to the (infinite, model-free) entropy of the empirical distribution p̂. The
        E-step (e-projection) and the M-step (m-projection) each lower it: non-increasing.
    neg_log_likelihood : np.ndarray
        ``−(1/n) Σ log p_θ(xᵢ)`` at each ``θ_t``, ``shape=[steps + 1]`` (equals the divergence
        right after each E-step).
    responsibilities : np.ndarray
        ``q(z = 1 | xᵢ)`` after each E-step, ``shape=[steps, n]``.
    status, message : str
        ``"ok"``, or ``"degenerate"`` when a component collapsed onto too few points (σ → 0,
        likelihood unbounded); the arrays then stop at the last sound step.
    """

    weights: np.ndarray
    means: np.ndarray
    sigmas: np.ndarray
    divergence: np.ndarray
    neg_log_likelihood: np.ndarray
    responsibilities: np.ndarray
    status: str = "ok"
    message: str = ""

    @property
    def steps(self) -> int:
        return self.responsibilities.shape[0]


def _log_joint(x: np.ndarray, w: np.ndarray, mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """``log p_θ(xᵢ, z)``, ``shape=[n, 2]``."""
    z = (x[:, None] - mu) / sigma
    return np.log(w) - 0.5 * z * z - np.log(sigma) - 0.5 * math.log(2 * math.pi)


def _free_energy(q: np.ndarray, log_joint: np.ndarray) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(q > 0, q * (np.log(np.where(q > 0, q, 1.0)) - log_joint), 0.0)
    return float(np.sum(terms) / q.shape[0])


def em_gaussian_mixture(x: object, *, init: tuple[tuple[float, float], tuple[float, float],
                                                  tuple[float, float]] | None = None,
                        steps: int = 30, sigma_floor: float = 1e-6) -> EMResult:
    """EM for ``p_θ(x) = π₀ N(x; μ₀, σ₀²) + π₁ N(x; μ₁, σ₁²)`` as alternating projections.

    * **E-step** = e-projection of the model ``p_θ(x, z)`` onto the data manifold
      ``D = {p̂(x) q(z|x)}`` (m-flat: linear in q): ``argmin_q KL(p̂q ‖ p_θ)`` is the
      posterior ``q(z|xᵢ) ∝ π_z N(xᵢ; μ_z, σ_z²)``.
    * **M-step** = m-projection of ``p̂q`` onto the model manifold (an exponential family in
      the complete data ``(x, z)``, sufficient statistics ``1[z=j]``, ``1[z=j]x``,
      ``1[z=j]x²``): match the expectation parameters. Per component this is
      :meth:`Gaussian1D.from_expectation` of ``(E_q[x | z=j], E_q[x² | z=j])``.

    Parameters
    ----------
    x : array_like
        Data, ``shape=[n]``, ``2 ≤ n ≤ MAX_EM_POINTS``, finite.
    init : ((π₀, π₁), (μ₀, μ₁), (σ₀, σ₁)), optional
        Start; by default equal weights, means at the 25th and 75th percentiles and both σ
        the data's standard deviation.
    steps : int
        EM iterations (one E- and one M-step each), ``1 ≤ steps ≤ MAX_EM_STEPS``.
    sigma_floor : float
        A component whose σ falls below ``sigma_floor × std(x)`` has collapsed onto a point;
        the run stops there with ``status="degenerate"``.
    """
    data = as_float_array(x, "x").reshape(-1)
    n = check_int("len(x)", data.size, 2, MAX_EM_POINTS, error=DualityError)
    n_steps = check_int("steps", steps, 1, MAX_EM_STEPS, error=DualityError)
    floor = check_positive_float("sigma_floor", sigma_floor, error=DualityError)
    spread = float(np.std(data))
    if spread == 0:
        raise DualityError("all data points are equal; a mixture of two Gaussians needs spread "
                           "data")
    if init is None:
        w = np.array([0.5, 0.5])
        mu = np.percentile(data, [25.0, 75.0])
        sigma = np.array([spread, spread])
    else:
        try:
            w, mu, sigma = (np.asarray(v, dtype=float).reshape(2) for v in init)
        except (TypeError, ValueError):
            raise DualityError("init must be ((w0, w1), (mu0, mu1), (sigma0, sigma1))") from None
        if not (np.all(np.isfinite(w)) and np.all(w > 0) and abs(w.sum() - 1) < 1e-9):
            raise DualityError(f"init weights {w.tolist()} must be positive and sum to 1")
        Gaussian1D().check_point(np.stack([mu, sigma], axis=-1), "init (mu, sigma)")
    gauss = Gaussian1D()
    weights, means, sigmas = [w], [mu], [sigma]
    div: list[float] = []
    nll = [float(-np.mean(logsumexp(_log_joint(data, w, mu, sigma), axis=1)))]
    resp: list[np.ndarray] = []
    status, message = "ok", ""
    for step in range(n_steps):
        # E-step: e-projection onto the data manifold = the posterior over z.
        lj = _log_joint(data, w, mu, sigma)
        q = np.exp(lj - logsumexp(lj, axis=1, keepdims=True))
        div.append(_free_energy(q, lj))
        # M-step: m-projection onto the model = match E_q of the complete-data statistics.
        mass = q.sum(axis=0)
        if np.any(mass < 1e-12 * n):
            status = "degenerate"
            message = (f"step {step + 1}: a component has no data left (weight "
                       f"{mass.min() / n:.1e}); start from more separated means")
            div.pop()
            break
        eta = np.stack([q.T @ data / mass, q.T @ (data * data) / mass], axis=-1)  # [2, 2]
        try:
            comp = gauss.from_expectation(eta)
        except DualityError:
            comp = np.zeros((2, 2))
        if np.any(comp[:, 1] < floor * spread):
            status = "degenerate"
            message = (f"step {step + 1}: a component collapsed onto a single point (σ below "
                       f"{floor:g}·std(x)); the likelihood is unbounded there. Start from "
                       "other means or use more data")
            div.pop()
            break
        w, mu, sigma = mass / n, comp[:, 0], comp[:, 1]
        resp.append(q[:, 1])
        lj = _log_joint(data, w, mu, sigma)
        div.append(_free_energy(q, lj))
        weights.append(w)
        means.append(mu)
        sigmas.append(sigma)
        nll.append(float(-np.mean(logsumexp(lj, axis=1))))
    return EMResult(weights=np.array(weights), means=np.array(means), sigmas=np.array(sigmas),
                    divergence=np.array(div), neg_log_likelihood=np.array(nll),
                    responsibilities=np.array(resp).reshape(len(resp), n),
                    status=status, message=message)


def mixture_sample(n: int, *, weights: tuple[float, float] = (0.4, 0.6),
                   means: tuple[float, float] = (-2.0, 1.5),
                   sigmas: tuple[float, float] = (0.7, 1.0), seed: int = 0) -> np.ndarray:
    """``n`` draws from a two-component Gaussian mixture, ``shape=[n]`` (seeded)."""
    n = check_int("n", n, 2, MAX_EM_POINTS, error=DualityError)
    rng = np.random.default_rng(check_seed(seed, error=DualityError))
    w = np.asarray(weights, dtype=float)
    if w.shape != (2,) or np.any(w <= 0) or abs(w.sum() - 1) > 1e-9:
        raise DualityError(f"weights={weights!r} must be two positive numbers summing to 1")
    Gaussian1D().check_point(np.stack([np.asarray(means, float), np.asarray(sigmas, float)],
                                      axis=-1), "(means, sigmas)")
    z = rng.random(n) < w[1]
    return np.where(z, rng.normal(means[1], sigmas[1], n), rng.normal(means[0], sigmas[0], n))
