"""Federated learning on a manifold: RFedAvg and RFedSVRG (Li & Ma 2022) against centralised
Riemannian gradient descent.

Each of ``n_clients`` clients holds its own covariance ``Aᵢ [n, n]``; the global cost is the
mean of the clients' costs,

    f(X) = (1/C) Σᵢ fᵢ(X),     fᵢ(X) = -½ tr(Xᵀ Aᵢ X),

on the Stiefel manifold ``St(n, p)`` (``problem="kpca"``: the principal subspace of
``A = mean Aᵢ``) or on the sphere ``S^{n-1}`` (``problem="sphere_eigenvector"``: its top
eigenvector; ``n = 3`` for the picture). ``f* = -½ Σ_{k<=p} λ_k(A)``.

A round of ``algorithm="rfedavg"``: the server sends ``x_t``; each participating client takes
``τ = local_steps`` Riemannian gradient steps ``y ← R_y(-η grad fᵢ(y))`` from it; the server
averages the clients' points, either in the tangent space at ``x_t``
(``x_{t+1} = R_{x_t}(mean R_{x_t}⁻¹(yᵢ))``, ``aggregation="tangent"``) or by their Karcher mean
(``aggregation="karcher"``). With ``τ > 1`` and heterogeneous clients each client drifts towards
its own optimum, and RFedAvg stalls at an error floor that shrinks with the step size.

``algorithm="rfedsvrg"`` first collects ``g = grad f(x_t)`` (one more exchange) and corrects
each local gradient, ``v = grad fᵢ(y) - T_{x_t→y}(grad fᵢ(x_t) - g)``: at the optimum every
correction cancels, so the centralised solution is a fixed point and the error goes to round-off.

``algorithm="centralised"`` takes one full-gradient step ``x ← R_x(-η grad f(x))`` per round.

Retraction pairs are exact inverses, so that the tangent average of one local step each is one
centralised step: on the sphere ``exp``/``log``, on Stiefel the polar retraction and its
inverse (:meth:`Stiefel.inverse_retract`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from geomcore._validation import (
    check_choice,
    check_int,
    check_nonnegative_float,
    check_positive_float,
    check_seed,
)
from geomcore.riemannian.manifolds import (
    DTYPE,
    Manifold,
    ManifoldError,
    Sphere,
    Stiefel,
    principal_angles,
)

__all__ = [
    "AGGREGATIONS",
    "ALGORITHMS",
    "PROBLEMS",
    "FederatedHistory",
    "client_covariances",
    "client_factors",
    "run",
]

PROBLEMS = ("kpca", "sphere_eigenvector")
ALGORITHMS = ("rfedavg", "rfedsvrg", "centralised")
AGGREGATIONS = ("tangent", "karcher")
KARCHER_ACCEPT = 1e-8
"""Largest gradient norm of ``½ Σ dist²`` at which an unconverged Karcher iteration (tolerance
1e-13) still counts as the mean: round-off can stall it just above 1e-13."""
MAX_LOCAL_WORK = 5_000_000
"""``rounds × local_steps × n_clients`` at most: bounds one call's time (~10 s for St(100, 5))."""

Progress = Callable[[float], None] | None


class FederatedError(ManifoldError):
    """A federated setting out of range; the message names it."""


@dataclass
class FederatedHistory:
    """Per-round records of a federated run (index 0: the start, then after each round).

    Attributes
    ----------
    x : numpy.ndarray
        The server's final point (``[n, p]`` on Stiefel, ``[n]`` on the sphere).
    gap : numpy.ndarray, ``[rounds + 1]``
        ``f(x_t) - f*``.
    grad_norm : numpy.ndarray, ``[rounds + 1]``
        ``‖grad f(x_t)‖``.
    principal_angles : numpy.ndarray, ``[rounds + 1, p]``
        Principal angles (radians, ascending) between ``x_t`` and the centralised solution.
    client_drift : numpy.ndarray, ``[rounds + 1]``
        Spread of the clients' points before averaging, ``sqrt(mean ‖uᵢ - ū‖²)`` for
        ``uᵢ = R_{x_t}⁻¹(yᵢ)``; 0 at the start and for the centralised run.
    bytes : numpy.ndarray, ``[rounds + 1]``
        Bytes communicated so far (float64 payloads up and down).
    server : numpy.ndarray, ``[rounds + 1, *point_shape]``
        The server's points.
    client_paths : list of numpy.ndarray or None
        With ``keep_paths``: per round, ``[participants, τ + 1, *point_shape]``, each client's
        local path from ``x_t``; ``client_ids`` the participants.
    f_star, solution : the centralised optimum value and a minimiser.
    status, message : ``"ok"``, ``"nan"`` (a step produced NaN) or ``"not_converged"`` (the
        server's Karcher mean did not converge); the history stops at the last good round.
    """

    x: np.ndarray
    gap: np.ndarray
    grad_norm: np.ndarray
    principal_angles: np.ndarray
    client_drift: np.ndarray
    bytes: np.ndarray
    server: np.ndarray
    f_star: float
    solution: np.ndarray
    algorithm: str
    status: str
    message: str
    client_paths: list[np.ndarray] | None = field(default=None, repr=False)
    client_ids: list[np.ndarray] | None = field(default=None, repr=False)

    @property
    def rounds(self) -> int:
        return int(self.gap.size - 1)

    def error_floor(self, last: int = 10) -> float:
        """The median gap over the last ``last`` rounds: where a stalled run levelled off."""
        tail = self.gap[-min(last, self.gap.size):]
        return float(np.median(tail))


NOISE = 0.1
"""The isotropic part ``σ² I`` of every client's covariance."""


def client_factors(n: int, p: int, n_clients: int, heterogeneity: float,
                   seed: int = 0) -> np.ndarray:
    """The low-rank factors ``Lᵢ [n, 2p]`` of the clients' covariances
    ``Aᵢ = Lᵢ Lᵢᵀ + σ² I`` (see :func:`client_covariances`), ``shape=[n_clients, n, 2p]``:
    ``Lᵢ = [V diag(√s), √h Wᵢ diag(√s)]``."""
    rng = np.random.default_rng(seed)
    spikes = np.linspace(2.0, 1.0, p) if p > 1 else np.array([2.0])
    v, _ = np.linalg.qr(rng.normal(size=(n, p)))
    out = np.empty((n_clients, n, 2 * p))
    for i in range(n_clients):
        w, _ = np.linalg.qr(rng.normal(size=(n, p)))
        out[i] = np.concatenate([v * np.sqrt(spikes),
                                 np.sqrt(heterogeneity) * w * np.sqrt(spikes)], axis=1)
    return out


def client_covariances(n: int, p: int, n_clients: int, heterogeneity: float,
                       seed: int = 0) -> np.ndarray:
    """``Aᵢ = V diag(s) Vᵀ + h Wᵢ diag(s) Wᵢᵀ + σ² I`` for ``i < n_clients`` (σ² = 0.1),
    ``shape=[n_clients, n, n]``.

    ``V [n, p]`` is a shared principal subspace with spikes ``s = (2, …, 1)`` (spread evenly),
    ``Wᵢ`` a random orthonormal frame of client ``i``: its own directions, weighted by the
    heterogeneity ``h >= 0`` (0: identical clients). The mean covariance keeps ``V``'s span as
    its principal subspace for moderate ``h`` since the ``Wᵢ`` average out. A client applies
    its ``Aᵢ`` through the factors of :func:`client_factors` (``O(np²)`` instead of
    ``O(n²p)`` per product).
    """
    factors = client_factors(n, p, n_clients, heterogeneity, seed)
    return factors @ np.swapaxes(factors, -1, -2) + NOISE * np.eye(n)


class _Geometry:
    """The manifold in matrix form ``[..., n, p]`` (the sphere as ``n×1``) with the retraction
    and its exact inverse."""

    def __init__(self, problem: str, n: int, p: int) -> None:
        self.sphere = problem == "sphere_eigenvector"
        self.manifold: Manifold = Sphere(n) if self.sphere else Stiefel(n, p)
        self.n, self.p = n, (1 if self.sphere else p)

    def _in(self, x: torch.Tensor) -> torch.Tensor:
        return x[..., 0] if self.sphere else x

    def _out(self, x: torch.Tensor) -> torch.Tensor:
        return x.unsqueeze(-1) if self.sphere else x

    @staticmethod
    def rgrad(a: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Riemannian gradient of ``-½ tr(XᵀAX)``: ``P_X(-AX) = X (XᵀAX) - AX`` on Stiefel and
        the sphere alike (``XᵀAX`` is already symmetric, so the projection's symmetrisation is
        skipped: the hot loop of a run). ``a`` is a dense ``A [n, n]`` (broadcast) or, for the
        clients, their factors ``L [k, n, 2p]`` with ``A = LLᵀ + σ²I``."""
        ax = a @ x if a.shape[-1] == a.shape[-2] else a @ (a.mT @ x) + NOISE * x
        return x @ (x.mT @ ax) - ax

    def retract(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        kind = "exp" if self.sphere else "projection"
        return self._out(self.manifold.retract(self._in(x), self._in(u), kind))

    def inverse(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        xe = x.expand_as(y)
        return self._out(self.manifold.inverse_retract(self._in(xe), self._in(y)))

    def transport(self, x: torch.Tensor, y: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return self._out(self.manifold.transport(self._in(x.expand_as(y)), self._in(y),
                                                 self._in(u)))

    def norm(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return self.manifold.norm(self._in(x), self._in(u))

    def karcher(self, points: torch.Tensor) -> tuple[torch.Tensor, bool]:
        """The Karcher mean and whether it is one. Karcher's fixed-point iteration need not
        converge for widely spread points (their mean is then not unique), and its iterates
        drift off the manifold (measured: ‖x‖ = 0.28 on S² after 100 iterations); a
        gradient norm above :data:`KARCHER_ACCEPT` is not a mean."""
        res = self.manifold.frechet_mean(self._in(points), tol=1e-13, max_iter=100)
        return self._out(res.x), res.status == "ok" or res.grad_norm <= KARCHER_ACCEPT

    def project(self, x: torch.Tensor) -> torch.Tensor:
        return self._out(self.manifold.project(self._in(x)))

    def export(self, x: torch.Tensor) -> np.ndarray:
        return self._in(x).detach().numpy().copy()


def run(problem: str = "kpca", *, n: int = 20, p: int = 3, n_clients: int = 10,
        heterogeneity: float = 0.5, local_steps: int = 5, rounds: int = 50, lr: float = 0.2,
        algorithm: str = "rfedavg", aggregation: str = "tangent", participation: float = 1.0,
        seed: int = 0, keep_paths: bool = False, progress: Progress = None) -> FederatedHistory:
    """Run federated Riemannian optimisation and record every round (see the module docstring).

    Parameters
    ----------
    problem : {"kpca", "sphere_eigenvector"}
    n, p : int
        Ambient dimension (``2..1000``) and subspace dimension (``1..min(n, 50)``; ignored on
        the sphere).
    n_clients : int
        ``1..200``.
    heterogeneity : float
        ``h >= 0`` (at most 10), see :func:`client_covariances`.
    local_steps : int
        ``τ`` local steps per round (``1..500``; the centralised run ignores it).
    rounds : int
        ``1..5000``.
    lr : float
        Step size ``η > 0``.
    algorithm : {"rfedavg", "rfedsvrg", "centralised"}
    aggregation : {"tangent", "karcher"}
    participation : float
        Fraction of the clients drawn (without replacement, at least one) each round, in
        ``(0, 1]``.
    seed : int
        Data, start and client sampling.
    keep_paths : bool
        Keep each client's local path (for the sphere picture; memory grows with
        ``rounds × clients × τ``).
    progress : callable, optional
        Called with the fraction of rounds done.
    """
    check_choice("problem", problem, PROBLEMS, error=FederatedError)
    n = check_int("n", n, 2, 1000, error=FederatedError)
    p = check_int("p", p, 1, min(n, 50), error=FederatedError)
    n_clients = check_int("n_clients", n_clients, 1, 200, error=FederatedError)
    heterogeneity = check_nonnegative_float("heterogeneity", heterogeneity, error=FederatedError)
    if heterogeneity > 10:
        raise FederatedError(f"heterogeneity={heterogeneity!r} is out of range; use 0..10")
    local_steps = check_int("local_steps", local_steps, 1, 500, error=FederatedError)
    rounds = check_int("rounds", rounds, 1, 5000, error=FederatedError)
    lr = check_positive_float("lr", lr, error=FederatedError)
    check_choice("algorithm", algorithm, ALGORITHMS, error=FederatedError)
    check_choice("aggregation", aggregation, AGGREGATIONS, error=FederatedError)
    participation = check_positive_float("participation", participation, error=FederatedError)
    if participation > 1:
        raise FederatedError(f"participation={participation!r} must be in (0, 1]")
    seed = check_seed(seed, error=FederatedError)
    work = rounds * local_steps * n_clients
    if work > MAX_LOCAL_WORK:
        raise FederatedError(f"rounds × local_steps × n_clients = {work} exceeds "
                             f"{MAX_LOCAL_WORK}; use fewer rounds, local steps or clients")
    if problem == "sphere_eigenvector":
        p = 1

    geo = _Geometry(problem, n, p)
    factors = torch.as_tensor(client_factors(n, p, n_clients, heterogeneity, seed),
                              dtype=DTYPE)
    a_mean = (factors @ factors.mT).mean(0) + NOISE * torch.eye(n, dtype=DTYPE)
    w, v = torch.linalg.eigh(a_mean)
    f_star = -0.5 * float(w[-p:].sum())
    solution = v[:, -p:].flip(-1)
    rng = np.random.default_rng([seed, 1])
    gen = torch.Generator().manual_seed(seed)
    x = geo.project(torch.randn(n, p, dtype=DTYPE, generator=gen))
    payload = 8 * n * p

    def cost(z: torch.Tensor) -> float:
        return -0.5 * float((z * (a_mean @ z)).sum())

    def record(z: torch.Tensor) -> tuple[float, float, np.ndarray]:
        g = geo.rgrad(a_mean, z)
        return (cost(z) - f_star, float(geo.norm(z, g)),
                principal_angles(z, solution).numpy())

    gaps, gnorms, angles, drifts, sent, server = [], [], [], [], [], []
    paths: list[np.ndarray] | None = [] if keep_paths else None
    ids: list[np.ndarray] | None = [] if keep_paths else None

    def log(z: torch.Tensor, drift: float, bytes_so_far: float) -> None:
        gap, gnorm, ang = record(z)
        gaps.append(gap)
        gnorms.append(gnorm)
        angles.append(ang)
        drifts.append(drift)
        sent.append(bytes_so_far)
        server.append(geo.export(z))

    log(x, 0.0, 0.0)
    total = 0.0
    status, message = "ok", ""
    for t in range(rounds):
        if algorithm == "centralised":
            new_x = geo.retract(x, -lr * geo.rgrad(a_mean, x))
            drift = 0.0
            total += 2 * payload * n_clients  # gradients up, the point down
            if paths is not None and ids is not None:
                paths.append(np.stack([geo.export(x), geo.export(new_x)])[None])
                ids.append(np.array([-1]))
        else:
            k = max(1, int(round(participation * n_clients)))
            chosen = np.sort(rng.choice(n_clients, size=k, replace=False))
            a = factors[torch.as_tensor(chosen)]
            y = x.expand(k, n, p).clone()
            path = [geo.export(y)] if paths is not None else None
            if algorithm == "rfedsvrg":
                g_local = geo.rgrad(a, x.expand(k, n, p))           # grad fᵢ(x_t)
                g_full = geo.rgrad(a_mean, x)                        # the server's grad f(x_t)
                correction = g_local - g_full
                total += 2 * payload * k
            for _ in range(local_steps):
                step = geo.rgrad(a, y)
                if algorithm == "rfedsvrg":
                    step = step - geo.transport(x, y, correction)
                y = geo.retract(y, -lr * step)
                if path is not None:
                    path.append(geo.export(y))
            total += 2 * payload * k
            u = geo.inverse(x, y)
            mean_u = u.mean(0)
            drift = float(torch.sqrt((geo.norm(x, u - mean_u) ** 2).mean()))
            if aggregation == "tangent":
                new_x = geo.retract(x, mean_u)
            else:
                new_x, is_mean = geo.karcher(y)
                if not is_mean:
                    status = "not_converged"
                    message = (f"round {t + 1}: the clients' points were too spread for a "
                               "Karcher mean (its iteration did not converge); lower the step "
                               "size or the local steps, or average in the tangent space. The "
                               "history stops at the last good round")
                    break
            if paths is not None and ids is not None and path is not None:
                paths.append(np.stack(path, axis=1))
                ids.append(chosen)
        if not bool(torch.isfinite(new_x).all()) or not math.isfinite(drift):
            status = "nan"
            message = (f"round {t + 1} produced NaN: the step size lr={lr:g} is too large for "
                       "these clients; the history stops at the last finite round")
            break
        x = new_x
        log(x, drift, total)
        if progress is not None and t % 10 == 0:
            progress(t / rounds)
    if status == "ok":
        message = (f"{algorithm} ran {len(gaps) - 1} rounds; final f - f* = {gaps[-1]:.2e}, "
                   f"largest principal angle {float(angles[-1].max()):.2e} rad")
    return FederatedHistory(
        x=geo.export(x), gap=np.array(gaps), grad_norm=np.array(gnorms),
        principal_angles=np.stack(angles), client_drift=np.array(drifts), bytes=np.array(sent),
        server=np.stack(server), f_star=f_star, solution=geo.export(solution),
        algorithm=algorithm, status=status, message=message, client_paths=paths,
        client_ids=ids)
