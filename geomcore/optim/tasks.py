"""Classification tasks for the Natural-gradient lab: toy 2-d problems and the 8×8 digits.

Every task is generated locally (scikit-learn's generators and its bundled digits), never
downloaded. A :class:`Task` holds float64 inputs ``X`` of ``shape=[n, d]`` and integer labels
``y`` of ``shape=[n]`` with values in ``{0, ..., n_classes - 1}``, split into a training and a
test part. For the synthetic tasks both parts are drawn from the same distribution (``n`` points
each); for ``digits`` the ``n`` training images are a seeded random subset and the test set is
the rest, with features standardised by the training mean and standard deviation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.datasets import load_digits, make_blobs, make_circles, make_moons

from geomcore._validation import check_int, check_seed

__all__ = ["DEFAULT_NOISE", "MAX_SAMPLES", "TASK_NAMES", "Task", "TaskError", "make_task"]

TASK_NAMES: tuple[str, ...] = ("moons", "circles", "spirals", "xor", "blobs", "digits")
"""Names accepted by :func:`make_task`."""

DEFAULT_NOISE: dict[str, float] = {
    "moons": 0.2,  # std of Gaussian noise added to the points
    "circles": 0.1,  # std of Gaussian noise, inner radius 0.5
    "spirals": 0.2,  # std of Gaussian noise on spirals of radius ~1
    "xor": 0.2,  # std of Gaussian noise on points uniform in [-1, 1]^2
    "blobs": 1.0,  # standard deviation of each of the three clusters
    "digits": 0.0,  # std of Gaussian noise added to the standardised pixels
}
"""The noise level used when ``noise=None``; what "noise" means differs per task (see above)."""

MAX_SAMPLES = 5000
"""Most training points a synthetic task may have (``digits`` has at most 1500)."""
MIN_SAMPLES = 10
_DIGITS_TOTAL = 1797
_DIGITS_MAX_TRAIN = 1500  # keeps at least 297 images for the test set
_MAX_NOISE = 5.0


class TaskError(ValueError):
    """An invalid task request (unknown name, size or noise out of range)."""


@dataclass(frozen=True)
class Task:
    """A classification data set split into training and test parts.

    Attributes
    ----------
    X_train, X_test : np.ndarray
        Inputs, float64, ``shape=[n, d]``.
    y_train, y_test : np.ndarray
        Integer labels (int64), ``shape=[n]``, values in ``{0, ..., n_classes - 1}``.
    n_classes : int
        Number of classes ``C``.
    name : str
        One of :data:`TASK_NAMES`.
    noise : float
        The noise level the task was generated with.
    seed : int
        The seed it was generated with.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    name: str
    noise: float = 0.0
    seed: int = 0

    @property
    def n_features(self) -> int:
        """Input dimension ``d``."""
        return int(self.X_train.shape[1])

    @property
    def n_train(self) -> int:
        """Number of training points."""
        return int(self.X_train.shape[0])


def make_task(
    name: str, n: int = 500, noise: float | None = None, seed: int = 0
) -> Task:
    """Generate a classification task.

    Parameters
    ----------
    name : str
        One of ``"moons"``, ``"circles"``, ``"spirals"``, ``"xor"`` (2 classes, 2-d),
        ``"blobs"`` (3 classes, 2-d) or ``"digits"`` (10 classes, 64-d, scikit-learn's bundled
        8×8 images, standardised).
    n : int
        Number of training points, ``10 <= n <= 5000`` (``<= 1500`` for digits). Synthetic
        tasks get a test set of the same size from the same distribution; digits uses the
        remaining ``1797 - n`` images as its test set.
    noise : float or None
        Noise level, ``0 <= noise <= 5``; ``None`` takes :data:`DEFAULT_NOISE` for the task.
    seed : int
        Seed of every random choice (points, noise, digits split).

    Returns
    -------
    Task
        Arrays are float64 (inputs) and int64 (labels).
    """
    if name not in TASK_NAMES:
        raise TaskError(f"unknown task {name!r}; choose one of {', '.join(TASK_NAMES)}")
    n = check_int("n", n, MIN_SAMPLES, _DIGITS_MAX_TRAIN if name == "digits" else MAX_SAMPLES,
                  error=TaskError)
    noise = DEFAULT_NOISE[name] if noise is None else float(noise)
    if not (np.isfinite(noise) and 0.0 <= noise <= _MAX_NOISE):
        raise TaskError(f"noise={noise!r} is out of range; use a value in [0, {_MAX_NOISE}]")
    seed = check_seed(seed, error=TaskError)
    rng = np.random.default_rng(seed)

    if name == "digits":
        return _digits(n, noise, seed, rng)
    X, y, n_classes = _synthetic(name, 2 * n, noise, seed, rng)
    return Task(
        X_train=np.ascontiguousarray(X[:n]),
        y_train=np.ascontiguousarray(y[:n]),
        X_test=np.ascontiguousarray(X[n:]),
        y_test=np.ascontiguousarray(y[n:]),
        n_classes=n_classes,
        name=name,
        noise=noise,
        seed=seed,
    )


def _synthetic(
    name: str, m: int, noise: float, seed: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, int]:
    """``m`` shuffled points of a 2-d task (the first half becomes the training set)."""
    if name == "moons":
        X, y = make_moons(n_samples=m, noise=noise, random_state=seed)
        n_classes = 2
    elif name == "circles":
        X, y = make_circles(n_samples=m, noise=noise, factor=0.5, random_state=seed)
        n_classes = 2
    elif name == "blobs":
        centers = np.array([[-2.0, -1.0], [2.0, -1.0], [0.0, 2.0]])
        X, y = make_blobs(n_samples=m, centers=centers, cluster_std=max(noise, 1e-3),
                          random_state=seed)
        n_classes = 3
    elif name == "xor":
        X = rng.uniform(-1.0, 1.0, size=(m, 2))
        y = (X[:, 0] * X[:, 1] > 0).astype(np.int64)
        X = X + noise * rng.standard_normal(X.shape)
        n_classes = 2
    else:  # spirals: two interleaved Archimedean spirals, 1.5 turns each
        y = rng.integers(0, 2, size=m)
        t = np.sqrt(rng.uniform(0.0, 1.0, size=m))  # sqrt: uniform density along the arc
        angle = 3.0 * np.pi * t + np.pi * y
        X = np.stack([t * np.cos(angle), t * np.sin(angle)], axis=1)
        X = X + noise * 0.25 * rng.standard_normal(X.shape)
        n_classes = 2
    # make_moons/make_circles order points by class; a seeded shuffle makes both halves alike.
    order = rng.permutation(m)
    return X[order].astype(np.float64), np.asarray(y)[order].astype(np.int64), n_classes


def _digits(n: int, noise: float, seed: int, rng: np.random.Generator) -> Task:
    data = load_digits()
    X = data.data.astype(np.float64)
    y = data.target.astype(np.int64)
    order = rng.permutation(X.shape[0])
    train, test = order[:n], order[n:]
    mean = X[train].mean(axis=0)
    std = X[train].std(axis=0)
    # Border pixels are constant (std 0) in many subsets: leave them at 0 instead of dividing.
    std = np.where(std > 1e-12, std, 1.0)
    X = (X - mean) / std
    if noise > 0:
        X = X + noise * rng.standard_normal(X.shape)
    return Task(
        X_train=np.ascontiguousarray(X[train]),
        y_train=np.ascontiguousarray(y[train]),
        X_test=np.ascontiguousarray(X[test]),
        y_test=np.ascontiguousarray(y[test]),
        n_classes=10,
        name="digits",
        noise=noise,
        seed=seed,
    )
