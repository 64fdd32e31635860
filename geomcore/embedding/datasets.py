"""Point clouds on known manifolds, with their true intrinsic coordinates.

:func:`make` draws ``n`` points of a named manifold in 3-D (or the 64-D digits) and returns a
:class:`Dataset`. ``intrinsic`` holds the coordinates the points were drawn in. Where the
manifold is flat (swiss roll, swiss roll with a hole, S-curve, helix) these are **isometric**
coordinates: Euclidean distances between them are the geodesic distances on the manifold
(inside a convex region of the chart), so they are the ground truth an embedding should recover.
Curved surfaces (sphere cap, torus, twin peaks, severed sphere) have no isometric chart in the
plane; their ``intrinsic`` is the natural chart (flagged ``isometric=False``). The digits have
none (``intrinsic=None``; ``color`` is the label). Nothing is downloaded: the digits are
scikit-learn's bundled 8×8 set.

Every surface is sampled uniformly with respect to its area (arc length for the helix), so
neighbour graphs see an even density. ``noise`` is the standard deviation of Gaussian noise
added to ``X`` only, in the data's units; ``intrinsic`` stays noise-free.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from geomcore._validation import check_choice, check_int, check_nonnegative_float, check_seed

__all__ = ["DATASET_NAMES", "MAX_N", "MIN_N", "Dataset", "DatasetError", "make",
           "swiss_roll_arc_length"]

MIN_N = 10
"""Fewest points :func:`make` draws (fewer cannot carry a neighbour graph)."""
MAX_N = 5000
"""Most points :func:`make` draws: the geodesic distance matrix is n² floats (200 MB at 5000)."""
DIGITS_N = 1797
"""Size of scikit-learn's bundled digits set, the most ``make("digits")`` can return."""

SWISS_ROLL_T = (1.5 * np.pi, 4.5 * np.pi)
"""Spiral parameter range of the swiss roll (scikit-learn's ``make_swiss_roll``)."""
SWISS_ROLL_HEIGHT = 21.0
"""Height of the swiss roll (scikit-learn's)."""


class DatasetError(ValueError):
    """A bad dataset request (unknown name, n out of range, negative noise)."""


@dataclass(frozen=True, eq=False)
class Dataset:
    """Points on a manifold and their ground truth.

    Attributes
    ----------
    name, description : str
        The name given to :func:`make` and one sentence on what the data are.
    X : ndarray, shape=[n, D]
        The points (with noise if asked for), float64.
    intrinsic : ndarray, shape=[n, k], or None
        Noise-free intrinsic coordinates (isometric where ``isometric`` is True).
    color : ndarray, shape=[n]
        One scalar per point to colour by (first intrinsic coordinate, or the digit label).
    isometric : bool
        Whether Euclidean distances in ``intrinsic`` are geodesic distances on the manifold.
    """

    name: str
    description: str
    X: np.ndarray
    intrinsic: np.ndarray | None
    color: np.ndarray
    isometric: bool

    @property
    def n(self) -> int:
        """Number of points."""
        return int(self.X.shape[0])


def swiss_roll_arc_length(t: np.ndarray) -> np.ndarray:
    """Arc length of the Archimedean spiral ``r = t`` from the origin, shape-preserving.

    The spiral ``(t cos t, t sin t)`` has speed ``sqrt(1 + t²)``, so

        s(t) = ∫₀ᵗ sqrt(1 + u²) du = ½ (t sqrt(1 + t²) + asinh t).
    """
    t = np.asarray(t, dtype=float)
    return 0.5 * (t * np.sqrt(1.0 + t * t) + np.arcsinh(t))


def _swiss_roll_t_of_s(s: np.ndarray) -> np.ndarray:
    """Invert :func:`swiss_roll_arc_length` by Newton's method (ds/dt = sqrt(1 + t²) ≥ 1)."""
    t = np.sqrt(2.0 * s)  # s ≈ t²/2 for large t: a start within 3 % on the roll's range
    for _ in range(30):
        step = (swiss_roll_arc_length(t) - s) / np.sqrt(1.0 + t * t)
        t = t - step
        if np.max(np.abs(step)) < 1e-13 * np.max(np.abs(t)):
            break
    return t


def _swiss_roll_points(s: np.ndarray, h: np.ndarray) -> np.ndarray:
    t = _swiss_roll_t_of_s(s)
    return np.column_stack([t * np.cos(t), h, t * np.sin(t)])


def _swiss_roll(rng: np.random.Generator, n: int, hole: bool) -> tuple[np.ndarray, np.ndarray]:
    s0, s1 = swiss_roll_arc_length(np.array(SWISS_ROLL_T))
    s_parts, h_parts, have = [], [], 0
    while have < n:
        # Uniform in (arc length, height) = uniform in area on the roll.
        s = rng.uniform(s0, s1, 2 * n)
        h = rng.uniform(0.0, SWISS_ROLL_HEIGHT, 2 * n)
        if hole:
            # A rectangular hole in the middle of the unrolled sheet (a fifth of its area),
            # which makes the chart non-convex: straight lines across it are not geodesics.
            mid_s, mid_h = 0.5 * (s0 + s1), 0.5 * SWISS_ROLL_HEIGHT
            inside = ((np.abs(s - mid_s) < 0.25 * (s1 - s0))
                      & (np.abs(h - mid_h) < 0.2 * SWISS_ROLL_HEIGHT))
            s, h = s[~inside], h[~inside]
        s_parts.append(s)
        h_parts.append(h)
        have += s.size
    s = np.concatenate(s_parts)[:n]
    h = np.concatenate(h_parts)[:n]
    return _swiss_roll_points(s, h), np.column_stack([s, h])


def _s_curve(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    # scikit-learn's S-curve: two unit-circle arcs, so t is already arc length.
    t = 3.0 * np.pi * (rng.uniform(size=n) - 0.5)
    h = rng.uniform(0.0, 2.0, n)
    X = np.column_stack([np.sin(t), h, np.sign(t) * (np.cos(t) - 1.0)])
    return X, np.column_stack([t, h])


def _sphere(theta: np.ndarray, phi: np.ndarray) -> np.ndarray:
    return np.column_stack([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi),
                            np.cos(theta)])


def _sphere_cap(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    # Polar angle theta <= 0.6 pi, uniform in area: cos(theta) uniform.
    theta_max = 0.6 * np.pi
    theta = np.arccos(rng.uniform(np.cos(theta_max), 1.0, n))
    phi = rng.uniform(0.0, 2.0 * np.pi, n)
    # Geodesic polar coordinates (azimuthal equidistant): distances from the pole are exact.
    return _sphere(theta, phi), np.column_stack([theta * np.cos(phi), theta * np.sin(phi)])


def _torus(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    R, r = 2.0, 0.8
    u = rng.uniform(0.0, 2.0 * np.pi, n)
    # Area element (R + r cos v): rejection-sample v with that weight.
    v = np.empty(0)
    while v.size < n:
        cand = rng.uniform(0.0, 2.0 * np.pi, 2 * n)
        keep = rng.uniform(0.0, R + r, 2 * n) < R + r * np.cos(cand)
        v = np.concatenate([v, cand[keep]])
    v = v[:n]
    X = np.column_stack([(R + r * np.cos(v)) * np.cos(u), (R + r * np.cos(v)) * np.sin(u),
                         r * np.sin(v)])
    return X, np.column_stack([u, v])


def _twin_peaks(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    def height(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.sin(np.pi * x) * np.tanh(3.0 * y)

    def area_weight(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        # sqrt(1 + |grad h|^2), the area element of the graph z = h(x, y).
        hx = np.pi * np.cos(np.pi * x) * np.tanh(3.0 * y)
        hy = 3.0 * np.sin(np.pi * x) / np.cosh(3.0 * y) ** 2
        return np.sqrt(1.0 + hx * hx + hy * hy)

    bound = np.sqrt(1.0 + np.pi**2 + 9.0)
    xs, ys, have = [], [], 0
    while have < n:
        x = rng.uniform(-1.0, 1.0, 2 * n)
        y = rng.uniform(-1.0, 1.0, 2 * n)
        keep = rng.uniform(0.0, bound, 2 * n) < area_weight(x, y)
        xs.append(x[keep])
        ys.append(y[keep])
        have += int(keep.sum())
    x = np.concatenate(xs)[:n]
    y = np.concatenate(ys)[:n]
    return np.column_stack([x, y, height(x, y)]), np.column_stack([x, y])


def _severed_sphere(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    # The sphere cut open along a meridian strip and with both polar caps removed, so that it
    # can be unrolled (without preserving distances) into a rectangle.
    theta = np.arccos(rng.uniform(-0.9, 0.9, n))
    phi = rng.uniform(np.pi / 8, 2.0 * np.pi - np.pi / 8, n)
    return _sphere(theta, phi), np.column_stack([phi, theta])


def _helix(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    # (cos t, sin t, c t) has constant speed sqrt(1 + c²): arc length is linear in t.
    c = 0.5
    t = rng.uniform(0.0, 4.0 * np.pi, n)
    X = np.column_stack([np.cos(t), np.sin(t), c * t])
    return X, (np.sqrt(1.0 + c * c) * t)[:, None]


_Sampler = Callable[[np.random.Generator, int], tuple[np.ndarray, np.ndarray]]

_SURFACES: dict[str, tuple[_Sampler, bool, str]] = {
    "swiss_roll": (lambda rng, n: _swiss_roll(rng, n, hole=False), True,
                   "A rolled-up rectangle; intrinsic = (arc length along the spiral, height)."),
    "swiss_roll_hole": (lambda rng, n: _swiss_roll(rng, n, hole=True), True,
                        "The swiss roll with a rectangular hole; intrinsic = (arc length, "
                        "height)."),
    "s_curve": (_s_curve, True,
                "An S-shaped bent rectangle; intrinsic = (arc length, height)."),
    "sphere_cap": (_sphere_cap, False,
                   "A cap of the unit sphere (polar angle up to 0.6π); intrinsic = geodesic "
                   "polar coordinates, exact for distances from the pole only."),
    "torus": (_torus, False,
              "A torus (R = 2, r = 0.8); intrinsic = its two angles, not isometric."),
    "twin_peaks": (_twin_peaks, False,
                   "The graph of sin(πx)·tanh(3y) over a square; intrinsic = (x, y), not "
                   "isometric."),
    "severed_sphere": (_severed_sphere, False,
                       "A unit sphere cut open along a meridian, poles removed; intrinsic = "
                       "(longitude, polar angle), not isometric."),
    "helix": (_helix, True,
              "A helix (two turns); intrinsic = arc length, a 1-D isometric coordinate."),
}

DATASET_NAMES: tuple[str, ...] = (*_SURFACES, "digits")
"""Names :func:`make` accepts."""


def _digits(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits  # bundled with scikit-learn: no download

    data = load_digits()
    idx = np.sort(rng.choice(DIGITS_N, size=n, replace=False)) if n < DIGITS_N else \
        np.arange(DIGITS_N)
    return data.data[idx].astype(float), data.target[idx].astype(float)


def make(name: str, n: int = 1000, noise: float = 0.0, seed: int = 0) -> Dataset:
    """Draw ``n`` points of the named dataset.

    Parameters
    ----------
    name : str
        One of :data:`DATASET_NAMES`.
    n : int
        Number of points, ``MIN_N <= n <= MAX_N`` (at most 1797 for ``"digits"``).
    noise : float
        Standard deviation of isotropic Gaussian noise added to ``X`` (data units, ≥ 0).
    seed : int
        Seed of the sampling and of the noise.

    Returns
    -------
    Dataset
        ``X`` shape=[n, D] (D = 3, 64 for digits), ``intrinsic`` shape=[n, k] or None,
        ``color`` shape=[n].

    Raises
    ------
    DatasetError
        For an unknown name, ``n`` out of range or a negative/non-finite noise.
    """
    check_choice("name", name, DATASET_NAMES, error=DatasetError)
    high = DIGITS_N if name == "digits" else MAX_N
    n = check_int("n", n, MIN_N, high, error=DatasetError)
    noise = check_nonnegative_float("noise", noise, error=DatasetError)
    seed = check_seed(seed, error=DatasetError)
    rng = np.random.default_rng(seed)
    if name == "digits":
        X, labels = _digits(rng, n)
        intrinsic, color, isometric = None, labels, False
        description = "scikit-learn's bundled 8×8 handwritten digits (64-D); color = label."
    else:
        sampler, isometric, description = _SURFACES[name]
        X, intrinsic = sampler(rng, n)
        color = intrinsic[:, 0].copy()
    if noise > 0:
        X = X + rng.normal(0.0, noise, X.shape)
    return Dataset(name=name, description=description, X=np.ascontiguousarray(X, dtype=float),
                   intrinsic=intrinsic, color=color, isometric=isometric)
