"""Argument validation shared by :mod:`tasks` and :mod:`training`."""

from __future__ import annotations

import numpy as np


def check_int(name: str, value: object, low: int, high: int, error: type[Exception]) -> int:
    """``int(value)`` if it is an integer (not a bool) in ``[low, high]``, else raise ``error``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise error(f"{name}={value!r} must be an integer")
    if not low <= int(value) <= high:
        raise error(f"{name}={value} is out of range; use {low} <= {name} <= {high}")
    return int(value)
