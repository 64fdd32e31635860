"""The Geodesic result keeps the types it declares (issue 6, section 5)."""

from __future__ import annotations

import numpy as np

from geomcore.geometry.geodesics import Geodesic


def test_a_geodesic_built_without_unwrapped_coordinates_uses_its_coordinates():
    """``unwrapped`` is declared an array: left out, it is ``coords`` (it was None, which
    callers indexing ``geo.unwrapped[-1]`` could not handle)."""
    coords = np.array([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]])
    geo = Geodesic(coords=coords, velocities=np.zeros_like(coords), times=np.arange(3.0),
                   xyz=None, length=1.0)
    assert isinstance(geo.unwrapped, np.ndarray)
    np.testing.assert_array_equal(geo.unwrapped, coords)


def test_given_unwrapped_coordinates_are_kept():
    coords = np.array([[0.1, 6.0], [0.2, 0.1]])
    unwrapped = np.array([[0.1, 6.0], [0.2, 2 * np.pi + 0.1]])
    geo = Geodesic(coords=coords, velocities=np.zeros_like(coords), times=np.arange(2.0),
                   xyz=None, length=1.0, unwrapped=unwrapped)
    assert geo.unwrapped is unwrapped
