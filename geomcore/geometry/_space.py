"""What every geodesic routine shares: the space protocol, the Geodesic result and checks of
points against a coordinate domain (periodic wrapping, singular metric).

The module is private; its helpers have plain names because :mod:`.geodesics`,
:mod:`.transport` and :mod:`.analysis` all use them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from geomcore.geometry.metrics import RiemannianMetric
from geomcore.geometry.surfaces import ParametricSurface

Space = ParametricSurface | RiemannianMetric

MAX_POINTS = 5000
"""Most samples a caller may ask for on one curve."""
MAX_DIRECTIONS = 512
"""Most geodesics in one spray."""

GeodesicStatus = Literal["ok", "left_domain", "singular", "not_converged", "not_shortest"]
"""How a geodesic computation ended (:attr:`Geodesic.status`)."""


class GeodesicError(ValueError):
    """Invalid input to a geodesic routine (bad point, zero vector, size out of bounds)."""


@dataclass
class Geodesic:
    """A sampled geodesic ``t -> x(t)``, ``t ∈ [0, t_end]``.

    Attributes
    ----------
    coords : ndarray, shape (n_points, d)
        Coordinates (periodic ones wrapped into their range).
    velocities : ndarray, shape (n_points, d)
        ``ẋ(t)`` in coordinates.
    times : ndarray, shape (n_points,)
    xyz : ndarray, shape (n_points, 3) or None
        Points on the surface in R³ (None for an abstract metric).
    length : float
        ``∫ |ẋ|_g dt`` over the computed part.
    status : GeodesicStatus
        ``"ok"``, ``"left_domain"``, ``"singular"``, ``"not_converged"``, or (from
        :func:`~geomcore.geometry.geodesics.log_map` only) ``"not_shortest"``: a geodesic
        between the two points that is not vouched for as the shortest.
    message : str
        Human-readable explanation when the status is not ``"ok"``.
    energy_drift : float
        ``max |g(ẋ, ẋ) − g(ẋ0, ẋ0)| / g(ẋ0, ẋ0)`` along the curve (0 for an exact geodesic).
    unwrapped : ndarray, shape (n_points, d)
        The coordinates before periodic wrapping (continuous along the curve, except that on
        a surface with an atlas the longitude jumps by π where the curve crosses a pole);
        ``coords`` when not given.
    charts : ndarray of int, shape (n_points,), or None
        On a surface with an atlas (:mod:`geomcore.geometry.charts`): the chart each sample was
        integrated in (0 = the surface's own coordinates). ``coords``, ``velocities`` and
        ``unwrapped`` are always in chart 0; near a pole its velocity components are large
        (the chart is singular there) while ``xyz`` stays smooth. None on a single chart.
    """

    coords: np.ndarray
    velocities: np.ndarray
    times: np.ndarray
    xyz: np.ndarray | None
    length: float
    status: GeodesicStatus = "ok"
    message: str = ""
    energy_drift: float = 0.0
    # None stands for "the same as coords" and is replaced in __post_init__, so the attribute
    # is always an array; the default alone does not match the annotation.
    unwrapped: np.ndarray = field(default=None, repr=False)  # type: ignore[arg-type]
    charts: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.unwrapped is None:
            self.unwrapped = self.coords

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def start(self) -> np.ndarray:
        return self.coords[0]

    @property
    def end(self) -> np.ndarray:
        return self.coords[-1]


# -- helpers ------------------------------------------------------------------------------------
def metric_of(space: Space) -> RiemannianMetric:
    """The Riemannian metric of a space (a surface's first fundamental form)."""
    if isinstance(space, ParametricSurface):
        return space.intrinsic_metric()
    if isinstance(space, RiemannianMetric):
        return space
    raise TypeError(f"expected a ParametricSurface or RiemannianMetric, got {type(space).__name__}")


def embed(space: Space, coords: np.ndarray) -> np.ndarray | None:
    """Points (..., 3) of a surface at ``coords`` (..., 2); None for an abstract metric."""
    if isinstance(space, ParametricSurface):
        return space.points(coords)
    return None


def periods(metric: RiemannianMetric) -> np.ndarray:
    """The period of each coordinate, shape (d,); 0 for a non-periodic one."""
    return np.array(
        [hi - lo if per else 0.0 for (lo, hi), per in zip(metric.domain, metric.periodic,
                                                          strict=True)]
    )


def periodic_delta(metric: RiemannianMetric, diff: np.ndarray) -> np.ndarray:
    """Coordinate differences (..., d) with periodic components reduced to [−period/2, period/2)
    (the shortest way round)."""
    out = np.array(diff, dtype=float, copy=True)
    for i, per in enumerate(periods(metric)):
        if per:
            out[..., i] = np.mod(out[..., i] + per / 2, per) - per / 2
    return out


def wrap(metric: RiemannianMetric, x: np.ndarray) -> np.ndarray:
    """``x`` (..., d) with periodic coordinates brought into their range ``[lo, hi)``."""
    out = np.array(x, dtype=float, copy=True)
    for i, ((lo, hi), per) in enumerate(zip(metric.domain, metric.periodic, strict=True)):
        if per:
            out[..., i] = lo + np.mod(out[..., i] - lo, hi - lo)
    return out


def check_point(metric: RiemannianMetric, p: npt.ArrayLike, what: str = "point") -> np.ndarray:
    """``p`` as a float array of shape (d,), periodic coordinates wrapped into their range;
    raises :class:`GeodesicError` unless it is a finite point of the domain where the metric
    is regular."""
    x = np.asarray(p, dtype=float)
    if x.shape != (metric.dim,) or not np.all(np.isfinite(x)):
        raise GeodesicError(f"{what} must be {metric.dim} finite coordinates, got {x.tolist()}")
    x = wrap(metric, x)
    for i, ((lo, hi), per) in enumerate(zip(metric.domain, metric.periodic, strict=True)):
        if not per and not lo <= x[i] <= hi:
            raise GeodesicError(
                f"{what} coordinate {metric.coord_labels[i]} = {x[i]:.4g} is outside its range "
                f"[{lo:.4g}, {hi:.4g}]"
            )
    if is_singular(metric, x[None])[0]:
        raise GeodesicError(f"the metric is singular at the {what} {np.round(x, 4).tolist()}")
    return x


def is_singular(metric: RiemannianMetric, x: np.ndarray,
                 g: np.ndarray | None = None) -> np.ndarray:
    """True where the metric at ``x`` (..., d) is degenerate or not finite (``g`` if known)."""
    return metric.is_degenerate(x, g)


def outside(metric: RiemannianMetric, x: np.ndarray) -> np.ndarray:
    """True where a non-periodic coordinate of ``x`` (..., d) is outside its range."""
    out = np.zeros(x.shape[:-1], dtype=bool)
    for i, ((lo, hi), per) in enumerate(zip(metric.domain, metric.periodic, strict=True)):
        if not per:
            out |= (x[..., i] < lo) | (x[..., i] > hi)
    return out


def straight_guesses(metric: RiemannianMetric, p: np.ndarray, q: np.ndarray,
                     n_images: int) -> list[np.ndarray]:
    """Targets q + k·period for the nearest periodic images of ``q`` (nearest first), each of
    shape (d,): the ends of the straight coordinate segments from ``p`` that a two-point
    search starts from."""
    base = p + periodic_delta(metric, q - p)
    images = [base]
    if n_images > 1:
        shifts = []
        for i, per in enumerate(periods(metric)):
            if per:
                step = np.zeros_like(p)
                step[i] = per
                # the next image on the other side of p along this periodic direction
                shifts.append(step * (-1.0 if base[i] >= p[i] else 1.0))
        images += [base + s for s in shifts][: n_images - 1]
    return images
