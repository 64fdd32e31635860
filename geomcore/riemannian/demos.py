"""Numpy data for the lab's pictures: small experiments whose results a page draws.

* :func:`sphere_demo`: the Rayleigh quotient on S² by Riemannian GD (exp and projection
  retractions), Euclidean GD with renormalisation and an ambient step never projected;
* :func:`spd_means`: arithmetic, log-Euclidean and affine-invariant means of SPD(2) matrices
  and the geodesics between them;
* :func:`brockett_demo`: RSGD, RAdam and RCG on Brockett's cost on St(n, p);
* :func:`federated_floors`: RFedAvg's error floor over local steps τ and step sizes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from geomcore._validation import check_int, check_positive_float, check_seed
from geomcore.riemannian.federated import run as federated_run
from geomcore.riemannian.manifolds import (
    DTYPE,
    SPD,
    ManifoldError,
    Sphere,
    Stiefel,
    principal_angles,
)
from geomcore.riemannian.optimizers import (
    ManifoldParameter,
    NonFiniteStepError,
    RiemannianAdam,
    RiemannianSGD,
)
from geomcore.riemannian.problems import brockett, rayleigh_quotient
from geomcore.riemannian.solvers import (
    OptimizationResult,
    ambient_gradient,
    minimize,
    projected_gradient,
)

__all__ = [
    "SPDMeans",
    "SphereDemo",
    "Trace",
    "brockett_demo",
    "federated_floors",
    "sphere_demo",
    "parse_spd_text",
    "spd_examples",
    "spd_means",
]

Progress = Callable[[float], None] | None


@dataclass(frozen=True)
class Trace:
    """One run's record: ``iterates [k+1, ...]`` (may be empty), ``f``, ``gap = f - f*``,
    ``off_manifold`` and, where it applies, ``angle`` (largest principal angle to the optimum),
    per iteration; ``status`` and ``message`` as the solver reported them."""

    name: str
    iterates: np.ndarray
    f: np.ndarray
    gap: np.ndarray
    off_manifold: np.ndarray
    angle: np.ndarray
    status: str
    message: str


def _trace(name: str, res: OptimizationResult, f_star: float) -> Trace:
    its = res.iterates if res.iterates is not None else np.zeros((0,))
    return Trace(name=name, iterates=its, f=res.f, gap=res.f - f_star,
                 off_manifold=res.off_manifold, angle=np.zeros(0), status=res.status,
                 message=res.message)


@dataclass(frozen=True)
class SphereDemo:
    """The Rayleigh-quotient experiment on S²: ``a [3, 3]`` (``A = Q diag(λ) Qᵀ``), the optimum
    ``f* = -λ_max`` at ``v_max``, and one :class:`Trace` per method (keyed by its label)."""

    a: np.ndarray
    eigenvalues: np.ndarray
    f_star: float
    v_max: np.ndarray
    lr: float
    runs: dict[str, Trace]

    def step_vectors(self, run: str, k: int) -> dict[str, np.ndarray]:
        """At iterate ``k`` of ``run``: the point ``x``, the Euclidean step ``-η∇f(x)``
        (``∇f = -2Ax``), its tangent projection ``-η grad f(x)``, the tangent step's end
        ``x - η grad f`` and the retracted next iterate."""
        its = self.runs[run].iterates
        k = int(min(max(k, 0), its.shape[0] - 2))
        x = its[k]
        egrad = -2.0 * self.a @ x
        rgrad = egrad - (x @ egrad) * x
        return {"x": x, "euclidean_step": -self.lr * egrad, "tangent_step": -self.lr * rgrad,
                "tangent_end": x - self.lr * rgrad, "next": its[k + 1]}


METHOD_LABELS = {
    "exp": "Riemannian GD (exp)",
    "projection": "Riemannian GD (projection retraction)",
    "renormalise": "Euclidean GD + renormalise",
    "ambient": "Euclidean GD, never projected",
}


def sphere_demo(eigenvalues: Sequence[float] = (3.0, 1.0, -1.0), *, lr: float = 0.1,
                steps: int = 60, seed: int = 0) -> SphereDemo:
    """Minimise ``-xᵀAx`` on S² from one random start by the four methods of
    :data:`METHOD_LABELS`, ``steps`` steps of fixed size ``lr`` each. The eigenvectors are a
    fixed rotation of the axes (so that no path runs along a coordinate circle)."""
    lam = np.asarray(eigenvalues, dtype=float)
    if lam.shape != (3,) or not np.isfinite(lam).all():
        raise ManifoldError(f"eigenvalues must be three finite numbers, got {eigenvalues!r}")
    lr = check_positive_float("lr", lr, error=ManifoldError)
    steps = check_int("steps", steps, 1, 2000, error=ManifoldError)
    seed = check_seed(seed, error=ManifoldError)
    q, _ = np.linalg.qr(np.array([[1.0, 0.4, 0.2], [0.3, 1.0, -0.5], [-0.2, 0.6, 1.0]]))
    a = (q * lam) @ q.T
    a = (a + a.T) / 2
    problem = rayleigh_quotient(a)
    x0 = Sphere(3).random_point(seed)
    runs = {
        METHOD_LABELS["exp"]: minimize(problem, x0, "gd", lr=lr, max_iter=steps, gtol=0.0,
                                       retraction="exp", return_iterates=True),
        METHOD_LABELS["projection"]: minimize(problem, x0, "gd", lr=lr, max_iter=steps,
                                              gtol=0.0, retraction="projection",
                                              return_iterates=True),
        METHOD_LABELS["renormalise"]: projected_gradient(problem, x0, lr=lr, max_iter=steps,
                                                         return_iterates=True),
        METHOD_LABELS["ambient"]: ambient_gradient(problem, x0, lr=lr, max_iter=steps,
                                                   return_iterates=True),
    }
    f_star = float(problem.f_star) if problem.f_star is not None else math.nan
    v_max = problem.solution.numpy() if problem.solution is not None else np.zeros(3)
    return SphereDemo(a=a, eigenvalues=lam, f_star=f_star, v_max=v_max, lr=lr,
                      runs={k: _trace(k, r, f_star) for k, r in runs.items()})


@dataclass(frozen=True)
class SPDMeans:
    """Means of SPD(2) matrices ``inputs [k, 2, 2]`` and the geodesics from the first input to
    each other one, ``geodesics[metric] [k-1, T, 2, 2]`` for ``metric`` in ``("euclidean",
    "log_euclidean", "affine")``; ``determinants`` of the inputs and of each mean."""

    inputs: np.ndarray
    arithmetic: np.ndarray
    log_euclidean: np.ndarray
    affine: np.ndarray
    geodesics: dict[str, np.ndarray]
    determinants: dict[str, float]
    input_determinants: np.ndarray
    karcher_status: str
    karcher_message: str


def spd_means(matrices: object, *, n_points: int = 40) -> SPDMeans:
    """The three means of ``matrices [k, 2, 2]`` (k >= 2, each SPD): arithmetic
    ``(1/k)Σ Aᵢ``, log-Euclidean ``expm((1/k)Σ logm Aᵢ)``, affine-invariant (Karcher) ``argmin
    Σ d²_AI``. The last two share ``det = (Π det Aᵢ)^{1/k}``, while ``log det`` is concave, so
    the arithmetic mean's determinant is at least that: the "swelling" of Euclidean averaging.
    """
    spd_ai, spd_le = SPD(2), SPD(2, metric="log_euclidean")
    x = spd_ai.as_point(matrices, "matrices")
    if x.ndim != 3 or not 2 <= x.shape[0] <= 50:
        raise ManifoldError(f"pick 2..50 matrices of shape 2×2; got shape {tuple(x.shape)}")
    if float((x - x.mT).abs().max()) > 1e-12 or bool((torch.linalg.eigvalsh(x) <= 0).any()):
        raise ManifoldError("every matrix must be symmetric positive definite (a > 0, ac > b²)")
    n_points = check_int("n_points", n_points, 2, 500, error=ManifoldError)
    arithmetic = x.mean(0)
    le = spd_le.frechet_mean(x, tol=1e-12)
    ai = spd_ai.frechet_mean(x, tol=1e-12)
    t = torch.linspace(0, 1, n_points, dtype=DTYPE).reshape(1, -1, 1, 1)
    start, ends = x[0], x[1:]
    geodesics = {
        "euclidean": ((1 - t) * start + t * ends[:, None]),
        "log_euclidean": spd_le.exp(start, t * spd_le.log(start, ends)[:, None]),
        "affine": spd_ai.exp(start, t * spd_ai.log(start, ends)[:, None]),
    }
    dets = {"arithmetic": float(torch.linalg.det(arithmetic)),
            "log_euclidean": float(torch.linalg.det(le.x)),
            "affine": float(torch.linalg.det(ai.x))}
    return SPDMeans(inputs=x.numpy(), arithmetic=arithmetic.numpy(), log_euclidean=le.x.numpy(),
                    affine=ai.x.numpy(), geodesics={k: v.numpy() for k, v in geodesics.items()},
                    determinants=dets, input_determinants=torch.linalg.det(x).numpy(),
                    karcher_status=ai.status, karcher_message=ai.message)


def _torch_run(name: str, make: Callable[[ManifoldParameter], torch.optim.Optimizer],
               stiefel: Stiefel, x0: torch.Tensor, cost: Callable[[torch.Tensor], torch.Tensor],
               f_star: float, solution: torch.Tensor, steps: int) -> Trace:
    x = ManifoldParameter(x0, stiefel)
    opt = make(x)
    fs, angles, offs = [], [], []
    status, message = "max_iter", f"{steps} steps"

    def record() -> None:
        z = x.detach()
        fs.append(float(cost(z)))
        angles.append(float(principal_angles(z, solution).max()))
        offs.append(float(stiefel.off_manifold(z)))

    record()
    for k in range(steps):
        opt.zero_grad()
        cost(x).backward()
        try:
            opt.step()
        except NonFiniteStepError as exc:
            status, message = "nan", str(exc)
            break
        record()
        if not math.isfinite(fs[-1]):
            status, message = "nan", f"the cost became NaN at step {k + 1}"
            break
    f = np.array(fs)
    return Trace(name=name, iterates=np.zeros((0,)), f=f, gap=f - f_star,
                 off_manifold=np.array(offs), angle=np.array(angles), status=status,
                 message=message)


def brockett_demo(n: int = 20, p: int = 3, *, steps: int = 300, lr_sgd: float = 0.05,
                  lr_adam: float = 0.3, seed: int = 0) -> dict[str, Trace]:
    """RSGD (momentum 0.9), RAdam and RCG on Brockett's cost ``tr(XᵀAXN)``, ``N = diag(p, …,
    1)``, for a random symmetric ``A [n, n]``; the same start for all. Each :class:`Trace`
    holds ``f - f*`` and the largest principal angle to the minimiser per iteration."""
    n = check_int("n", n, 2, 200, error=ManifoldError)
    p = check_int("p", p, 1, min(n, 10), error=ManifoldError)
    steps = check_int("steps", steps, 1, 5000, error=ManifoldError)
    seed = check_seed(seed, error=ManifoldError)
    rng = np.random.default_rng(seed)
    b = rng.normal(size=(n, n)) / math.sqrt(n)
    problem = brockett((b + b.T) / 2, np.arange(p, 0, -1, dtype=float))
    stiefel = Stiefel(n, p)
    assert problem.f_star is not None and problem.solution is not None
    f_star, solution = problem.f_star, problem.solution
    x0 = stiefel.random_point(seed)
    runs = {
        "RSGD": _torch_run("RSGD", lambda x: RiemannianSGD([x], lr=lr_sgd, momentum=0.9),
                           stiefel, x0, problem.cost, f_star, solution, steps),
        "RAdam": _torch_run("RAdam", lambda x: RiemannianAdam([x], lr=lr_adam), stiefel, x0,
                            problem.cost, f_star, solution, steps),
    }
    cg = minimize(problem, x0, "cg", max_iter=steps, gtol=1e-10, return_iterates=True)
    assert cg.iterates is not None
    angle = np.array([float(principal_angles(torch.as_tensor(z), solution).max())
                      for z in cg.iterates])
    runs["RCG"] = Trace(name="RCG", iterates=np.zeros((0,)), f=cg.f, gap=cg.f - f_star,
                        off_manifold=cg.off_manifold, angle=angle, status=cg.status,
                        message=cg.message)
    return runs


def federated_floors(local_steps: Sequence[int], lrs: Sequence[float], *, n: int = 20,
                     p: int = 3, n_clients: int = 10, heterogeneity: float = 1.0,
                     rounds: int = 200, participation: float = 1.0, seed: int = 0,
                     progress: Progress = None) -> np.ndarray:
    """RFedAvg's error floor (median ``f - f*`` of the last 10 rounds) for each ``τ`` in
    ``local_steps`` and step size in ``lrs``, ``shape=[len(local_steps), len(lrs)]``."""
    if not 1 <= len(local_steps) * len(lrs) <= 64:
        raise ManifoldError("use at most 64 (τ, step size) pairs")
    out = np.empty((len(local_steps), len(lrs)))
    total = out.size
    for i, tau in enumerate(local_steps):
        for j, lr in enumerate(lrs):
            h = federated_run("kpca", n=n, p=p, n_clients=n_clients,
                              heterogeneity=heterogeneity, local_steps=tau, rounds=rounds,
                              lr=lr, participation=participation, seed=seed)
            out[i, j] = h.error_floor() if h.status == "ok" else math.nan
            if progress is not None:
                progress((i * len(lrs) + j + 1) / total)
    return out


SPD_EXAMPLES = ("equal_determinants", "random")


def spd_examples(kind: str = "equal_determinants", count: int = 3, seed: int = 0
                 ) -> np.ndarray:
    """``count`` SPD(2) matrices, ``shape=[count, 2, 2]``: ``"equal_determinants"`` rotates
    ``diag(3, 1/3)`` by evenly spread angles (every determinant 1, so the arithmetic mean's
    swelling shows), ``"random"`` draws eigenvalues ``exp(N(0, 0.6²))`` and random angles."""
    from geomcore._validation import check_choice

    check_choice("kind", kind, SPD_EXAMPLES, error=ManifoldError)
    count = check_int("count", count, 2, 12, error=ManifoldError)
    seed = check_seed(seed, error=ManifoldError)
    rng = np.random.default_rng(seed)
    if kind == "equal_determinants":
        angles = np.arange(count) * np.pi / count + 0.2
        eig = np.tile([3.0, 1.0 / 3.0], (count, 1))
    else:
        angles = rng.uniform(0, np.pi, count)
        eig = np.exp(rng.normal(0, 0.6, size=(count, 2)))
    c, s = np.cos(angles), np.sin(angles)
    rot = np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2)
    out = (rot * eig[:, None, :]) @ np.swapaxes(rot, -1, -2)
    return (out + np.swapaxes(out, -1, -2)) / 2


SPD_EIGENVALUE_RANGE = (1e-6, 1e6)
"""Eigenvalues :func:`parse_spd_text` accepts."""


def parse_spd_text(text: str, max_count: int = 12) -> np.ndarray:
    """SPD(2) matrices from text such as ``"2, 0.5, 1; 1, -0.3, 3"``: one ``a, b, c`` triple
    per matrix ``[[a, b], [b, c]]``, triples separated by ``;`` or new lines.

    Raises :class:`ManifoldError` saying what to type when the text is not 2..``max_count``
    triples of numbers with ``a > 0`` and ``ac > b²`` and eigenvalues within
    :data:`SPD_EIGENVALUE_RANGE`.
    """
    parts = [p.strip() for p in text.replace("\n", ";").split(";") if p.strip()]
    if not 2 <= len(parts) <= max_count:
        raise ManifoldError(f"give 2..{max_count} matrices as 'a, b, c' triples separated by "
                            f"';' (got {len(parts)})")
    out = []
    for i, part in enumerate(parts, start=1):
        try:
            a, b, c = (float(v) for v in part.replace(" ", ",").split(",") if v)
        except ValueError:
            raise ManifoldError(f"matrix {i}: {part!r} is not three numbers 'a, b, c'") from None
        if not all(math.isfinite(v) for v in (a, b, c)):
            raise ManifoldError(f"matrix {i}: {part!r} has a non-finite entry")
        if not (a > 0 and a * c > b * b):
            raise ManifoldError(f"matrix {i}: [[{a:g}, {b:g}], [{b:g}, {c:g}]] is not positive "
                                "definite; it needs a > 0 and ac > b²")
        # Eigenvalues of [[a, b], [b, c]]: the means take their logarithms and products, which
        # overflow or lose every digit far outside this range (1e200 with 1e-200: NaN).
        half, root = (a + c) / 2, math.hypot((a - c) / 2, b)
        high = half + root
        low = (a * c - b * b) / high  # the determinant over the larger one: no cancellation
        if not (SPD_EIGENVALUE_RANGE[0] <= low and high <= SPD_EIGENVALUE_RANGE[1]):
            raise ManifoldError(f"matrix {i}: [[{a:g}, {b:g}], [{b:g}, {c:g}]] has eigenvalues "
                                f"{low:.3g} and {high:.3g}; keep them within "
                                f"{SPD_EIGENVALUE_RANGE[0]:g}..{SPD_EIGENVALUE_RANGE[1]:g} "
                                "(rescale the matrices)")
        out.append([[a, b], [b, c]])
    return np.array(out)
