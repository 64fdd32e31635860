"""Atlases: a second coordinate chart where the first one is singular.

A catalog sphere or ellipsoid is parametrised by a polar angle ``u`` and a longitude ``v``,

    r(u, v) = (a sin u cos v, b sin u sin v, c cos u),

whose metric degenerates at the poles ``u = 0, π`` (``det g = sin²u (…) → 0``): no geodesic can
be integrated through them in (u, v), although nothing happens on the surface there. A second
chart whose poles lie elsewhere covers them. It is the same catalog surface with its semi-axes
cycled, composed with the matching cyclic permutation ``P`` of R³,

    r'(u', v') = P · ellipsoid(a' = b, b' = c, c' = a)(u', v'),   P (x', y', z') = (z', x', y'),

i.e. ``r'(u', v') = (a cos u', b sin u' cos v', c sin u' sin v')``: its poles are ``(±a, 0, 0)``
on the x-axis, on the first chart's equator, and the first chart's poles ``(0, 0, ±c)`` sit on
its equator. Because it is a catalog surface, it brings its compiled metric, Christoffel
symbols and geodesic (and variational) equations with it; nothing is derived again.

Each chart has a *quality* ``|sin u| ∈ [0, 1]`` (its distance from its own poles). Where one
chart's quality is below 1/2, ``|cos u| > √3/2``, so ``|x/a| < 1/2`` and the other chart's
quality is above √3/2: at every point of the surface some chart is good, with room to spare.
Both charts induce the outward orientation (``r_u × r_v`` points away from the centre; ``P`` is a
rotation), so signs of Jacobian determinants agree between them.

A state crosses from one chart to another through R³ (:meth:`Atlas.transfer`): the point by the
closed-form inverse of the target chart, a tangent vector ``w = r_u ẋ^u + r_v ẋ^v`` by least
squares with the target chart's Jacobian (exact, as ``w`` is tangent), and a Jacobi field
``(J, J̇)`` of the variational equation through its covariant derivative, which is a tangent
vector too: ``DJ/dt = r_k (J̇^k + Γ^k_ij ẋ^i J^j)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from geomcore.geometry.metrics import RiemannianMetric
from geomcore.geometry.surfaces import ParametricSurface
from geomcore.geometry.surfaces import get as get_surface

__all__ = ["Chart", "Atlas", "atlas_for", "QUALITY_SLOW", "QUALITY_STOP"]

QUALITY_SLOW = 0.25
"""Below this chart quality (``|sin u|``, about 14.5° from a pole) an integration in the chart
slows down smoothly (a change of time, so every state it passes is still exactly on the
geodesic) and hands its state over to a better chart (whose quality there is above 0.96). A
geodesic that passes a pole farther away stays in its chart: every hand-over restarts the
integrator, which costs more than the faster turn of the longitude near a pole."""
QUALITY_STOP = 0.1
"""The quality at which the slowed integration comes to rest (it never gets closer to a pole)."""

_CYCLE = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
"""P: (x', y', z') ↦ (z', x', y')."""


@dataclass(frozen=True, eq=False)
class Chart:
    """One chart of an ellipsoid atlas: ``X = P · r(x)`` with ``r`` a catalog ellipsoid (or
    sphere) of semi-axes ``axes = (α, β, γ)`` in polar angle ``u`` and longitude ``v``.

    Attributes
    ----------
    surface : ParametricSurface
        The catalog surface whose parametrisation this chart is (before ``P``).
    rotation : ndarray, shape (3, 3)
        The permutation ``P`` of R³ applied after ``surface``.
    axes : tuple of float
        ``(α, β, γ)``: ``surface`` is ``(α sin u cos v, β sin u sin v, γ cos u)``.
    """

    surface: ParametricSurface
    rotation: np.ndarray
    axes: tuple[float, float, float]

    @property
    def metric(self) -> RiemannianMetric:
        """The chart's first fundamental form (compiled once per catalog family)."""
        return self.surface.intrinsic_metric()

    def points(self, x: np.ndarray) -> np.ndarray:
        """``X = P r(x)`` for chart coordinates ``x`` (..., 2); returns (..., 3)."""
        return self.surface.points(x) @ self.rotation.T

    def jacobian(self, x: np.ndarray) -> np.ndarray:
        """``[r_u, r_v]`` in R³ (after ``P``) at ``x`` (..., 2); returns (..., 3, 2)."""
        al, be, ga = self.axes
        u, v = x[..., 0], x[..., 1]
        su, cu, sv, cv = np.sin(u), np.cos(u), np.sin(v), np.cos(v)
        ru = np.stack([al * cu * cv, be * cu * sv, -ga * su], axis=-1)
        rv = np.stack([-al * su * sv, be * su * cv, np.zeros_like(u)], axis=-1)
        return np.einsum("ab,...bk->...ak", self.rotation, np.stack([ru, rv], axis=-1))

    def coordinates(self, X: np.ndarray) -> np.ndarray:
        """The inverse: chart coordinates (..., 2) of points ``X`` (..., 3) on the surface,
        ``u = arccos(z'/γ)``, ``v = atan2(y'/β, x'/α) ∈ [0, 2π)`` with ``(x', y', z') = Pᵀ X``."""
        al, be, ga = self.axes
        Xp = np.asarray(X, float) @ self.rotation  # Pᵀ X, row-vector convention
        u = np.arccos(np.clip(Xp[..., 2] / ga, -1.0, 1.0))
        v = np.mod(np.arctan2(Xp[..., 1] / be, Xp[..., 0] / al), 2 * np.pi)
        return np.stack([u, v], axis=-1)

    def quality(self, x: np.ndarray) -> np.ndarray:
        """``|sin u|`` at ``x`` (..., 2): 0 at the chart's poles, 1 on its equator."""
        return np.abs(np.sin(np.asarray(x, float)[..., 0]))

    def tangent_components(self, x: np.ndarray, w: np.ndarray) -> np.ndarray:
        """Components (..., 2) in this chart at ``x`` of tangent vectors ``w`` (..., 3) in R³:
        the least-squares solution ``g⁻¹ Dᵀ w`` of ``D c = w`` (exact for tangent ``w``)."""
        D = self.jacobian(x)
        g = np.einsum("...ai,...aj->...ij", D, D)
        b = np.einsum("...ai,...a->...i", D, w)
        # the 2 x 2 inverse in closed form: at a pole of the chart (det g = 0) the components
        # are not finite, which is the truth, rather than an exception
        det = g[..., 0, 0] * g[..., 1, 1] - g[..., 0, 1] * g[..., 1, 0]
        with np.errstate(all="ignore"):
            return np.stack([g[..., 1, 1] * b[..., 0] - g[..., 0, 1] * b[..., 1],
                             g[..., 0, 0] * b[..., 1] - g[..., 1, 0] * b[..., 0]],
                            axis=-1) / det[..., None]


class Atlas:
    """Two charts of a catalog ellipsoid (or sphere) whose singular sets are disjoint.

    Chart 0 is the surface as given; chart 1 is the rotated copy described in the module's
    docstring. Build one with :func:`atlas_for`.
    """

    def __init__(self, charts: tuple[Chart, ...]):
        self.charts = charts

    def __len__(self) -> int:
        return len(self.charts)

    def best_chart(self, X: np.ndarray) -> int:
        """Index of the chart with the highest quality at the point ``X`` (3,) in R³."""
        return int(np.argmax([float(c.quality(c.coordinates(X))) for c in self.charts]))

    def transfer(self, state: np.ndarray, source: int, target: int) -> np.ndarray:
        """A geodesic state ``(x, ẋ)`` (size 4) or variational state ``(x, ẋ, Φ)`` (size 12,
        ``Φ = ∂(x, ẋ)/∂ẋ(0)`` of shape (4, 2) row-major) of chart ``source`` expressed in chart
        ``target``.

        ``x' = φ'⁻¹(φ(x))``; ``ẋ' = D'⁺ D ẋ``; each column ``(δx, δẋ)`` of Φ is a Jacobi field:
        ``δx' = D'⁺ D δx`` and ``δẋ' = D'⁺ D (δẋ + Γ(ẋ, δx)) − Γ'(ẋ', δx')`` (the covariant
        derivative is chart-free), where ``D = [r_u, r_v]`` and ``D'⁺`` is the least-squares
        inverse of the target chart's Jacobian.
        """
        state = np.asarray(state, float)
        if source == target:
            return state.copy()
        a, b = self.charts[source], self.charts[target]
        x, xdot = state[:2], state[2:4]
        X = a.points(x)
        xb = b.coordinates(X)
        Da = a.jacobian(x)
        xdot_b = b.tangent_components(xb, Da @ xdot)
        out = [xb, xdot_b]
        if state.size > 4:
            phi = state[4:].reshape(4, 2)
            dx, ddx = phi[:2], phi[2:]
            gam_a = a.metric.christoffel(x)  # [k, i, j]
            gam_b = b.metric.christoffel(xb)
            cov = ddx + np.einsum("kij,i,jc->kc", gam_a, xdot, dx)
            dx_b = b.tangent_components(xb[None], (Da @ dx).T).T
            cov_b = b.tangent_components(xb[None], (Da @ cov).T).T
            ddx_b = cov_b - np.einsum("kij,i,jc->kc", gam_b, xdot_b, dx_b)
            out.append(np.concatenate([dx_b, ddx_b]).ravel())
        return np.concatenate(out)


@lru_cache(maxsize=32)
def _rotated(name: str, a: float, b: float, c: float) -> ParametricSurface:
    if name == "sphere":
        return get_surface("sphere", r=a)
    return get_surface("ellipsoid", a=b, b=c, c=a)


def atlas_for(space: object) -> Atlas | None:
    """The atlas of a catalog ``sphere`` or ``ellipsoid`` surface; None for any other space
    (whose single chart is all there is: its singular points, a cone's apex or the
    pseudosphere's rim, are edges of the surface itself).

    The surface is recognised by its immersion (a custom surface with the same formulas,
    domain and periodicity is recognised too), never by its name alone.
    """
    if not isinstance(space, ParametricSurface):
        return None
    for name in ("sphere", "ellipsoid"):
        ref = get_surface(name)
        if (space.xyz_expressions == ref.xyz_expressions and space.u_range == ref.u_range
                and space.v_range == ref.v_range and space.periodic == ref.periodic
                and set(space.params) == set(ref.params)):
            pr = space.params
            a, b, c = ((pr["r"],) * 3 if name == "sphere" else (pr["a"], pr["b"], pr["c"]))
            if min(a, b, c) <= 0:
                return None
            first = Chart(space, np.eye(3), (a, b, c))
            second = Chart(_rotated(name, a, b, c), _CYCLE, (b, c, a))
            return Atlas((first, second))
    return None
