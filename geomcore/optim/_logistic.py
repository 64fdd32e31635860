"""Two-weight logistic regression, the lab's picture of the Fisher metric (pure numpy).

``p(y=1 | x, w) = σ(wᵀx)`` with ``w ∈ R²`` and no bias: its parameter plane is small enough to
draw the loss surface, the Fisher metric as ellipses (indicatrices) at grid points, and the
paths of gradient descent and natural-gradient descent on top. The loss, gradient and Fisher
are closed forms, vectorised over leading axes of ``w``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from geomcore.optim._views import ViewError, check_resolution

__all__ = [
    "LogisticGeometry",
    "logistic_fisher",
    "logistic_geometry",
    "logistic_gradient",
    "logistic_loss",
]


def logistic_loss(w: np.ndarray, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Mean cross-entropy ``L(w) = (1/n) Σ [log(1 + e^{z_i}) - y_i z_i]``, ``z_i = wᵀx_i``.

    ``w`` has ``shape=[..., 2]``; returns ``shape=[...]``.
    """
    z = np.asarray(w) @ np.asarray(X).T  # [..., n]
    return np.mean(np.logaddexp(0.0, z) - np.asarray(y) * z, axis=-1)


def logistic_gradient(w: np.ndarray, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``∇L(w) = (1/n) Σ (σ(z_i) - y_i) x_i``, ``shape=[..., 2]``."""
    z = np.asarray(w) @ np.asarray(X).T
    return (_sigmoid(z) - np.asarray(y)) @ np.asarray(X) / np.asarray(X).shape[0]


def logistic_fisher(w: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Fisher metric ``F(w) = (1/n) Σ σ(z_i)(1 - σ(z_i)) x_i x_iᵀ``, ``shape=[..., 2, 2]``.

    For this model the Fisher equals the Hessian of ``L`` (the labels drop out).
    """
    X = np.asarray(X)
    z = np.asarray(w) @ X.T
    s = _sigmoid(z)
    return np.einsum("...n,ni,nj->...ij", s * (1 - s), X, X) / X.shape[0]


@dataclass(frozen=True)
class LogisticGeometry:
    """The parameter plane of two-weight logistic regression.

    Attributes
    ----------
    w1, w2 : np.ndarray
        Contour grid axes; ``loss[i, j] = L((w1[j], w2[i]))``, ``shape=[len(w2), len(w1)]``.
    centers : np.ndarray
        Ellipse centres, ``shape=[k, 2]``.
    fisher : np.ndarray
        ``F`` at each centre, ``shape=[k, 2, 2]``.
    ellipses : np.ndarray
        Indicatrix outlines ``{c + v : vᵀ F(c) v = r²}``, ``shape=[k, m, 2]``, all with the same
        ``r = ellipse_radius`` (chosen so a typical ellipse fills about half a grid cell);
        a small ellipse means a direction in which the model's predictions change fast.
    ellipse_radius : float
        The common ``r``.
    gd_path, ngd_path : np.ndarray
        Iterates of ``w - η ∇L`` and ``w - η (F + λI)⁻¹ ∇L``, ``shape=[steps + 1, 2]``.
    optimum : np.ndarray
        Minimiser of ``L`` (Newton's method), ``shape=[2]``.
    X, y : np.ndarray
        The data used.
    """

    w1: np.ndarray
    w2: np.ndarray
    loss: np.ndarray
    centers: np.ndarray
    fisher: np.ndarray
    ellipses: np.ndarray
    ellipse_radius: float
    gd_path: np.ndarray
    ngd_path: np.ndarray
    optimum: np.ndarray
    X: np.ndarray
    y: np.ndarray


def logistic_geometry(
    X: np.ndarray | None = None,
    y: np.ndarray | None = None,
    *,
    start: tuple[float, float] = (-3.0, 3.0),
    extent: tuple[float, float, float, float] | None = None,
    steps: int = 30,
    lr_gd: float = 1.0,
    lr_ngd: float = 0.5,
    damping: float = 1e-6,
    kl_clip: float | None = 0.1,
    resolution: int = 80,
    ellipse_grid: int = 9,
    ellipse_points: int = 48,
    seed: int = 0,
) -> LogisticGeometry:
    """Loss surface, Fisher ellipses and GD/NGD paths of two-weight logistic regression.

    Parameters
    ----------
    X, y : arrays, optional
        ``shape=[n, 2]`` inputs and ``{0, 1}`` labels. By default 400 points with anisotropic
        inputs ``x ~ N(0, diag(4, 0.25))`` and labels drawn from ``σ(2x₁ - 4x₂)`` (seeded), so
        the Fisher is strongly anisotropic and plain GD zig-zags.
    start : (float, float)
        Initial weights of both paths.
    extent : (w1_min, w1_max, w2_min, w2_max), optional
        Plotted window; by default a box around the paths and the optimum.
    steps : int
        Iterations of each path, ``1..1000``.
    lr_gd, lr_ngd : float
        Step sizes of the two methods.
    damping : float
        ``λ`` of the natural gradient.
    kl_clip : float or None
        Shortens an NGD step whose predicted KL ``η² dᵀFd / 2`` exceeds this. Far from the
        optimum the predictions saturate, ``F`` nearly vanishes and an unclipped natural
        gradient step is enormous; the clip is the usual remedy (as in the optimizers).
    resolution, ellipse_grid, ellipse_points : int
        Contour grid per axis (``2..400``), ellipse centres per axis (``1..30``), points per
        ellipse outline (``8..200``).
    seed : int
        Seed of the default data.
    """
    if X is None or y is None:
        rng = np.random.default_rng(seed)
        X = rng.standard_normal((400, 2)) * np.array([2.0, 0.5])
        y = (rng.uniform(size=400) < _sigmoid(X @ np.array([2.0, -4.0]))).astype(np.float64)
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 2 or y.shape != (X.shape[0],):
        raise ViewError(f"need X of shape [n, 2] and y of shape [n], got {X.shape}, {y.shape}")
    if not np.all((y == 0) | (y == 1)):
        raise ViewError("labels must be 0 or 1 for the two-weight logistic regression")
    resolution = check_resolution(resolution)
    if not (1 <= steps <= 1000 and 1 <= ellipse_grid <= 30 and 8 <= ellipse_points <= 200):
        raise ViewError("need 1 <= steps <= 1000, 1 <= ellipse_grid <= 30, "
                        "8 <= ellipse_points <= 200")
    if not (lr_gd > 0 and lr_ngd > 0 and damping >= 0 and (kl_clip is None or kl_clip > 0)):
        raise ViewError("learning rates and kl_clip must be > 0 and damping >= 0")

    gd = [np.asarray(start, dtype=np.float64)]
    ngd = [np.asarray(start, dtype=np.float64)]
    eye = np.eye(2)
    for _ in range(steps):
        gd.append(gd[-1] - lr_gd * logistic_gradient(gd[-1], X, y))
        w = ngd[-1]
        F = logistic_fisher(w, X)
        d = np.linalg.solve(F + damping * eye, logistic_gradient(w, X, y))
        lr = lr_ngd
        quad = float(d @ F @ d)
        if kl_clip is not None and 0.5 * lr**2 * quad > kl_clip:
            lr = np.sqrt(2.0 * kl_clip / quad)
        ngd.append(w - lr * d)
    gd_path, ngd_path = np.stack(gd), np.stack(ngd)

    optimum = np.zeros(2)
    for _ in range(50):  # Newton: the Fisher is the Hessian here
        step = np.linalg.solve(logistic_fisher(optimum, X) + 1e-12 * eye,
                               logistic_gradient(optimum, X, y))
        optimum = optimum - step
        if np.linalg.norm(step) < 1e-12:
            break

    if extent is None:
        pts = np.concatenate([gd_path, ngd_path, optimum[None]])
        pts = pts[np.all(np.isfinite(pts), axis=1)]
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        pad = 0.15 * np.maximum(hi - lo, 1.0)
        extent = (lo[0] - pad[0], hi[0] + pad[0], lo[1] - pad[1], hi[1] + pad[1])
    w1 = np.linspace(extent[0], extent[1], resolution)
    w2 = np.linspace(extent[2], extent[3], resolution)
    W = np.stack(np.meshgrid(w1, w2), axis=-1)
    loss = logistic_loss(W, X, y)

    c1 = np.linspace(extent[0], extent[1], ellipse_grid + 2)[1:-1]
    c2 = np.linspace(extent[2], extent[3], ellipse_grid + 2)[1:-1]
    centers = np.stack(np.meshgrid(c1, c2), axis=-1).reshape(-1, 2)
    fisher = logistic_fisher(centers, X)
    # vᵀFv = r² ⇔ v = r F^{-1/2} u with |u| = 1; F^{-1/2} from the eigen-decomposition.
    evals, evecs = np.linalg.eigh(fisher)
    evals = np.maximum(evals, 1e-12 * evals.max(initial=1.0) + 1e-300)
    inv_sqrt = np.einsum("kij,kj,klj->kil", evecs, 1.0 / np.sqrt(evals), evecs)
    t = np.linspace(0.0, 2.0 * np.pi, ellipse_points)
    circle = np.stack([np.cos(t), np.sin(t)], axis=1)
    unit = np.einsum("kij,mj->kmi", inv_sqrt, circle)  # r = 1 outlines
    cell = min(c1[1] - c1[0] if c1.size > 1 else extent[1] - extent[0],
               c2[1] - c2[0] if c2.size > 1 else extent[3] - extent[2])
    half_width = np.abs(unit).max(axis=1).max(axis=1)  # largest extent of each r = 1 ellipse
    radius = float(0.5 * cell / np.median(half_width))
    ellipses = centers[:, None, :] + radius * unit
    return LogisticGeometry(w1=w1, w2=w2, loss=loss, centers=centers, fisher=fisher,
                            ellipses=ellipses, ellipse_radius=radius, gd_path=gd_path,
                            ngd_path=ngd_path, optimum=optimum, X=X, y=y)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # overflow-free logistic
