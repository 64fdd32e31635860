"""Argument checks shared by every lab: integers, seeds, positive numbers and choices.

One rule set for the whole package (private to ``geomcore``; the labs call these and raise their
own error class through ``error=``):

* an integer is a Python ``int`` or a numpy integer, never a ``bool`` and never a float (``3.0``
  is refused: a count given as a float is usually a mistake upstream);
* a seed is such an integer in ``[0, MAX_SEED]``;
* a positive (or non-negative) number is a finite real ``int``/``float``/numpy scalar, not a
  ``bool``;
* a choice is one of a fixed tuple of strings;
* a point set is a finite float64 array of shape [n, d] with enough (and not too many) rows.

Every message names the argument and shows the bad value and the accepted range.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = [
    "MAX_SEED",
    "check_choice",
    "check_int",
    "check_nonnegative_float",
    "check_points",
    "check_positive_float",
    "check_seed",
]

MAX_SEED = 2**32 - 1
"""Largest accepted seed. ``numpy.random.default_rng`` (a ``SeedSequence``) and
``torch.Generator.manual_seed`` both take any integer in ``[0, 2**32 - 1]``, and it is the range
of numpy's legacy ``RandomState`` too, so one seed can drive every generator the labs use.
Optimizers seed step ``k`` with ``seed + k``; that stays below torch's limit of ``2**64 - 1``."""


def check_int(name: str, value: object, low: int, high: int | None = None, *,
              error: type[Exception] = ValueError) -> int:
    """``int(value)`` if it is an integer (not a bool) with ``low <= value <= high``.

    ``high=None`` means no upper bound. Raises ``error`` with the name and the bad value.
    """
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise error(f"{name}={value!r} must be an integer ({type(value).__name__} given)")
    v = int(value)
    if v < low or (high is not None and v > high):
        bound = f"{low} <= {name} <= {high}" if high is not None else f"{name} >= {low}"
        raise error(f"{name}={v} is out of range; use {bound}")
    return v


def check_seed(value: object, name: str = "seed", *,
               error: type[Exception] = ValueError) -> int:
    """A seed: an integer in ``[0, MAX_SEED]`` (see :data:`MAX_SEED`)."""
    return check_int(name, value, 0, MAX_SEED, error=error)


def _check_real(name: str, value: object, error: type[Exception]) -> float:
    if isinstance(value, bool | np.bool_) or not isinstance(
        value, int | float | np.integer | np.floating
    ):
        raise error(f"{name}={value!r} must be a real number ({type(value).__name__} given)")
    v = float(value)
    if not math.isfinite(v):
        raise error(f"{name}={value!r} must be finite")
    return v


def check_positive_float(name: str, value: object, *,
                         error: type[Exception] = ValueError) -> float:
    """``float(value)`` if it is a finite real number ``> 0`` (a learning rate, a damping)."""
    v = _check_real(name, value, error)
    if not v > 0:
        raise error(f"{name}={value!r} must be a finite number > 0")
    return v


def check_nonnegative_float(name: str, value: object, *,
                            error: type[Exception] = ValueError) -> float:
    """``float(value)`` if it is a finite real number ``>= 0``."""
    v = _check_real(name, value, error)
    if not v >= 0:
        raise error(f"{name}={value!r} must be a finite number >= 0")
    return v


def check_choice(name: str, value: object, choices: Sequence[str], *,
                 error: type[Exception] = ValueError) -> str:
    """``value`` if it is one of ``choices`` (compared as strings, exactly)."""
    if not isinstance(value, str) or value not in choices:
        raise error(f"{name}={value!r} is not one of {', '.join(map(repr, choices))}")
    return value


def check_points(name: str, value: object, *, min_points: int = 1, max_points: int | None = None,
                 column: bool = False, error: type[Exception] = ValueError) -> np.ndarray:
    """``value`` as a finite float64 array of points, shape=[n, d], ``min_points <= n``
    (``<= max_points`` when given). With ``column``, a 1-D array is read as one coordinate
    per point (shape=[n, 1])."""
    arr = np.asarray(value, dtype=float)
    if column and arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] < min_points:
        raise error(f"{name} must be a 2-D array of at least {min_points} points (shape=[n, d]); "
                    f"got shape {arr.shape}")
    if max_points is not None and arr.shape[0] > max_points:
        raise error(f"{name} has {arr.shape[0]} points; use at most {max_points} (subsample the "
                    "data)")
    if not np.all(np.isfinite(arr)):
        raise error(f"{name} contains NaN or infinite values; remove or impute them")
    return arr
