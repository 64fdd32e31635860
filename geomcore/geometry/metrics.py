"""Riemannian metrics given in coordinates, with their connection and curvature.

A :class:`RiemannianMetric` is an ``n x n`` symmetric sympy matrix ``g_ij(x)`` in coordinates
``x = (x^1, ..., x^n)``. Everything else is derived symbolically and compiled once:

* Christoffel symbols  ``Γ^k_ij = ½ g^{kl} (∂_i g_lj + ∂_j g_li − ∂_l g_ij)``,
* Riemann tensor ``R^ρ_σμν = ∂_μ Γ^ρ_νσ − ∂_ν Γ^ρ_μσ + Γ^ρ_μλ Γ^λ_νσ − Γ^ρ_νλ Γ^λ_μσ``,
* Ricci tensor ``R_σν = R^ρ_σρν`` and scalar curvature ``R = g^{σν} R_σν``
  (for a surface the Gaussian curvature is ``K = R / 2``),
* the geodesic equation ``ẍ^k = −Γ^k_ij ẋ^i ẋ^j`` as a first-order system, and its
  variational equation (used by the shooting method in :mod:`geomcore.geometry.geodesics`).

Shape parameters (a sphere's radius...) stay sympy symbols, so one family is derived once and
evaluated for any parameter values. Numeric methods take points of shape ``(..., n)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import sympy as sp

from geomcore.geometry._symbolic import SymbolicMetric, latex_of

__all__ = ["RiemannianMetric", "poincare_half_plane", "gaussian_fisher", "euclidean_plane"]

_DEGENERATE = 1e-9
"""det g below this fraction of the metric's scale counts as degenerate (see
:meth:`RiemannianMetric.is_degenerate`)."""


class RiemannianMetric:
    """A Riemannian metric ``g_ij(x)`` on a coordinate domain.

    Parameters
    ----------
    matrix
        Symmetric ``n x n`` sympy matrix in the symbols ``coords`` (and ``params``).
    coords
        The coordinate symbols ``(x^1, ..., x^n)``.
    params
        Values of the shape parameters appearing in ``matrix``: a mapping from symbol (or its
        name) to a float.
    domain
        ``(low, high)`` for each coordinate; ``±inf`` allowed. Defaults to the whole line.
    periodic
        For each coordinate, whether it wraps around its ``(low, high)`` interval.
    name
        A label for pictures and messages.
    coord_labels
        LaTeX labels of the coordinates (defaults to the symbol names).
    symbolic
        The derivations of this family, to share them with another metric of it (they are
        derived from ``matrix`` when omitted); ``symbolic.matrix`` and ``symbolic.coords``
        must be ``matrix`` and ``coords``.

    Examples
    --------
    >>> hp = poincare_half_plane()
    >>> float(hp.scalar_curvature([0.0, 1.0]) / 2)
    -1.0
    """

    def __init__(
        self,
        matrix: sp.Matrix,
        coords: Sequence[sp.Symbol],
        *,
        params: Mapping[sp.Symbol | str, float] | None = None,
        domain: Sequence[tuple[float, float]] | None = None,
        periodic: Sequence[bool] | None = None,
        name: str = "metric",
        coord_labels: Sequence[str] | None = None,
        symbolic: SymbolicMetric | None = None,
    ):
        matrix = sp.Matrix(matrix)
        coords = tuple(coords)
        n = len(coords)
        if matrix.shape != (n, n):
            raise ValueError(f"metric must be {n}x{n} for {n} coordinates, got {matrix.shape}")
        if matrix != matrix.T:
            raise ValueError("metric matrix must be symmetric")
        params = dict(params or {})
        by_name = {str(k): float(v) for k, v in params.items()}
        free = sorted(matrix.free_symbols - set(coords), key=lambda s: s.name)
        missing = [s.name for s in free if s.name not in by_name]
        if missing:
            raise ValueError(f"no value given for parameter(s) {', '.join(missing)}")
        if symbolic is not None and (symbolic.coords != coords or symbolic.matrix != matrix):
            # a structural comparison (no simplification): shared derivations must be this
            # metric's, or every curvature it reports would be another metric's
            raise ValueError("symbolic must be the derivations of this matrix in these coords "
                             "(pass the SymbolicMetric of the same family, or omit it)")
        self._sym = symbolic or SymbolicMetric(matrix, coords, tuple(free))
        self.param_values: tuple[float, ...] = tuple(by_name[s.name] for s in self._sym.params)
        self.params: dict[str, float] = {s.name: by_name[s.name] for s in self._sym.params}
        self.dim = n
        self.domain: tuple[tuple[float, float], ...] = tuple(
            (float(lo), float(hi)) for lo, hi in (domain or [(-np.inf, np.inf)] * n)
        )
        self.periodic: tuple[bool, ...] = tuple(bool(p) for p in (periodic or [False] * n))
        if len(self.domain) != n or len(self.periodic) != n:
            raise ValueError("domain and periodic need one entry per coordinate")
        for (lo, hi), per in zip(self.domain, self.periodic, strict=True):
            if not lo < hi:
                raise ValueError(f"empty coordinate range ({lo}, {hi})")
            if per and not (np.isfinite(lo) and np.isfinite(hi)):
                raise ValueError("a periodic coordinate needs a finite range")
        self.name = name
        self.coord_labels = tuple(coord_labels or [sp.latex(c) for c in coords])
        self.diagonal_scale: np.ndarray = self._check_positive_definite()

    def sample_points(self, n_total: int = 1681) -> np.ndarray:
        """A grid over the coordinate domain, shape (m, n), ends included (an infinite end is
        replaced by a point 2 units from the other end, or the range [−1, 1])."""
        per_axis = max(3, round(n_total ** (1.0 / self.dim)))
        axes = []
        for lo, hi in self.domain:
            if not np.isfinite(lo):
                lo = hi - 2.0 if np.isfinite(hi) else -1.0
            if not np.isfinite(hi):
                hi = lo + 2.0
            axes.append(np.linspace(lo, hi, per_axis))
        grid = np.meshgrid(*axes, indexing="ij")
        return np.stack(grid, axis=-1).reshape(-1, self.dim)

    def _check_positive_definite(self) -> np.ndarray:
        """Refuse a matrix that is not a Riemannian metric on the domain; return the typical
        size of each diagonal entry (its median over the sample points).

        At every sample point where it is finite, ``g(x)`` must have no eigenvalue below
        ``−1e-10 λ_max`` (zero is allowed: a coordinate singularity such as a pole), and it must
        be positive definite at some of them.
        """
        pts = self.sample_points()
        with np.errstate(all="ignore"):
            g = np.asarray(self.metric(pts), dtype=float)
        finite = np.all(np.isfinite(g), axis=(-2, -1))
        if not finite.any():
            raise ValueError(f"the metric of {self.name!r} is not finite anywhere on its domain; "
                             "check the formula and the coordinate ranges")
        g, pts = g[finite], pts[finite]
        eig = np.linalg.eigvalsh(g)  # ascending, (m, n)
        top = np.max(np.abs(eig), axis=-1)
        bad = eig[:, 0] < -1e-10 * top
        if bad.any():
            k = int(np.argmax(bad))
            raise ValueError(
                f"the metric of {self.name!r} is not positive definite: at "
                f"{np.round(pts[k], 4).tolist()} its eigenvalues are "
                f"{np.array2string(eig[k], precision=4)}; a Riemannian metric needs g(x) "
                "positive definite (check the signs of the entries and the parameter values)"
            )
        if not np.any(eig[:, 0] > 1e-14 * top):
            raise ValueError(f"the metric of {self.name!r} is degenerate (det g = 0) everywhere "
                             "on its domain; a Riemannian metric needs g(x) positive definite")
        diag = np.diagonal(g, axis1=-2, axis2=-1)
        return np.array([np.median(col[col > 0]) if np.any(col > 0) else 1.0
                         for col in diag.T])

    def is_degenerate(self, x: np.ndarray, g: np.ndarray | None = None) -> np.ndarray:
        """True where ``g`` at ``x`` (..., n) is not finite or is degenerate; returns (...).

        Degenerate means ``det g`` is below ``1e-9`` times both a local scale (the mean
        eigenvalue, ``(tr g / n)^n``) and the metric's scale on its domain (the product of
        :attr:`diagonal_scale`). Both tests must hold, so neither a metric that is small
        everywhere near ``x`` (a conformal factor ``e^x`` far out) nor one strongly stretched
        in one direction everywhere (a torus with R = 10⁶: eigenvalue ratio 10¹²) is called
        singular, while a sphere's pole or a cone's apex is. ``g`` may be passed if known.
        """
        g = self.metric(x) if g is None else g
        with np.errstate(all="ignore"):
            # the 2 x 2 case (every surface) in closed form: LAPACK per point is the slow part
            det = (g[..., 0, 0] * g[..., 1, 1] - g[..., 0, 1] * g[..., 1, 0] if self.dim == 2
                   else np.linalg.det(g))
            local = (np.abs(np.trace(g, axis1=-2, axis2=-1)) / self.dim) ** self.dim
            overall = float(np.prod(self.diagonal_scale))
            return ~np.isfinite(det) | ((det <= _DEGENERATE * local)
                                        & (det <= _DEGENERATE * overall))

    # -- symbolic ---------------------------------------------------------------------------
    @property
    def coords(self) -> tuple[sp.Symbol, ...]:
        return self._sym.coords

    @property
    def matrix(self) -> sp.Matrix:
        return self._sym.matrix

    @property
    def symbolic(self) -> SymbolicMetric:
        """The symbolic derivations (metric, Christoffel symbols, Riemann, Ricci, R)."""
        return self._sym

    def with_params(self, **values: float) -> RiemannianMetric:
        """The same family with other parameter values (nothing is re-derived)."""
        merged = {**self.params, **values}
        return RiemannianMetric(
            self.matrix,
            self.coords,
            params=merged,
            domain=self.domain,
            periodic=self.periodic,
            name=self.name,
            coord_labels=self.coord_labels,
            symbolic=self._sym,
        )

    # -- numeric ----------------------------------------------------------------------------
    def metric(self, x: np.ndarray) -> np.ndarray:
        """g_ij at points ``x`` of shape (..., n); returns (..., n, n)."""
        return self._sym.metric_fn(x, self.param_values)

    def christoffel(self, x: np.ndarray) -> np.ndarray:
        """Γ^k_ij at ``x`` (..., n); returns (..., n, n, n) indexed [k, i, j]."""
        return self._sym.christoffel_fn(x, self.param_values)

    def riemann(self, x: np.ndarray) -> np.ndarray:
        """R^ρ_σμν at ``x`` (..., n); returns (..., n, n, n, n) indexed [ρ, σ, μ, ν]."""
        return self._sym.riemann_fn(x, self.param_values)

    def ricci(self, x: np.ndarray) -> np.ndarray:
        """R_σν = R^ρ_σρν at ``x`` (..., n); returns (..., n, n)."""
        return self._sym.ricci_fn(x, self.param_values)

    def scalar_curvature(self, x: np.ndarray) -> np.ndarray:
        """R = g^{σν} R_σν at ``x`` (..., n); returns (...)."""
        return self._sym.scalar_fn(x, self.param_values)[..., 0]

    def gaussian_curvature(self, x: np.ndarray) -> np.ndarray:
        """K = R / 2 for a two-dimensional metric; returns (...)."""
        if self.dim != 2:
            raise ValueError("Gaussian curvature is defined for two-dimensional metrics")
        return self.scalar_curvature(x) / 2.0

    def inner(self, x: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """g_x(a, b) for tangent vectors of shape (..., n); returns (...)."""
        return np.einsum("...i,...ij,...j->...", a, self.metric(x), b)

    def norm(self, x: np.ndarray, a: np.ndarray) -> np.ndarray:
        """|a|_g = sqrt(g_x(a, a)); returns (...)."""
        return np.sqrt(np.maximum(self.inner(x, a, a), 0.0))

    def latex(self) -> dict[str, str]:
        """LaTeX of the metric, the non-zero Christoffel symbols and the curvature."""
        return latex_of(self._sym, self.coord_labels)

    def __repr__(self) -> str:
        return f"RiemannianMetric({self.name!r}, dim={self.dim}, params={self.params})"


# -- presets ------------------------------------------------------------------------------------
_X, _Y = sp.symbols("x y", real=True)
_MU = sp.Symbol("mu", real=True)
_SIGMA = sp.Symbol("sigma", positive=True)
_THETA, _PHI = sp.symbols("theta phi", real=True)


@cache
def _half_plane_symbolic() -> SymbolicMetric:
    return SymbolicMetric(sp.diag(1 / _Y**2, 1 / _Y**2), (_X, _Y), ())


@cache
def _gaussian_fisher_symbolic() -> SymbolicMetric:
    return SymbolicMetric(sp.diag(1 / _SIGMA**2, 2 / _SIGMA**2), (_MU, _SIGMA), ())


def poincare_half_plane(*, x_range: tuple[float, float] = (-4.0, 4.0),
                        y_max: float = 6.0) -> RiemannianMetric:
    """The Poincaré half-plane ``g = (dx² + dy²) / y²`` on ``y > 0``; K = −1.

    Its geodesics are vertical lines and semicircles centred on the x-axis.
    """
    sym = _half_plane_symbolic()
    return RiemannianMetric(
        sym.matrix, sym.coords, domain=[x_range, (0.0, y_max)], name="Poincaré half-plane",
        symbolic=sym,
    )


def gaussian_fisher(*, mu_range: tuple[float, float] = (-4.0, 4.0),
                    sigma_max: float = 6.0) -> RiemannianMetric:
    """The Fisher–Rao metric of the normal family N(μ, σ²): ``g = (dμ² + 2 dσ²) / σ²``; K = −½.

    This is the metric natural gradient descent follows: with ``F(θ)`` the Fisher information,
    the natural gradient ``F⁻¹∇L`` is the steepest-descent direction measured in this metric.
    Substituting ``μ = √2 x`` turns it into twice the Poincaré half-plane metric.
    """
    sym = _gaussian_fisher_symbolic()
    return RiemannianMetric(
        sym.matrix, sym.coords, domain=[mu_range, (0.0, sigma_max)],
        name="Gaussian family (Fisher metric)", coord_labels=(r"\mu", r"\sigma"),
        symbolic=sym,
    )


@cache
def _categorical_fisher_symbolic() -> SymbolicMetric:
    return SymbolicMetric(sp.diag(4, 4 * sp.sin(_THETA) ** 2), (_THETA, _PHI), ())


def categorical_fisher() -> RiemannianMetric:
    """The Fisher–Rao metric of the categorical family on three outcomes: a piece of a sphere.

    With ``x_i = √p_i`` the probability simplex {p₁ + p₂ + p₃ = 1, p_i > 0} becomes the positive
    octant of the unit sphere, and the Fisher metric ``Σ dp_i² / p_i = 4 Σ dx_i²`` is four times
    the round metric: the octant of the sphere of radius 2, so K = 1/4. The coordinates are the
    sphere's angles, ``θ, φ ∈ (0, π/2)``::

        p = (sin²θ cos²φ, sin²θ sin²φ, cos²θ),      g = 4 (dθ² + sin²θ dφ²),

    and the Fisher–Rao distance is ``2 arccos Σ √(p_i q_i)`` (twice the great-circle angle).
    Use :func:`categorical_probabilities` to turn coordinates into probability vectors.
    """
    sym = _categorical_fisher_symbolic()
    half = float(np.pi / 2)
    return RiemannianMetric(
        sym.matrix, sym.coords, domain=[(0.0, half), (0.0, half)],
        name="Categorical family, 3 outcomes (Fisher metric)",
        coord_labels=(r"\theta", r"\phi"), symbolic=sym,
    )


def categorical_probabilities(coords: np.ndarray) -> np.ndarray:
    """Probability vectors ``(..., 3)`` of the points ``(..., 2) = (θ, φ)`` of
    :func:`categorical_fisher`: ``p = (sin²θ cos²φ, sin²θ sin²φ, cos²θ)``."""
    c = np.asarray(coords, dtype=float)
    theta, phi = c[..., 0], c[..., 1]
    s2 = np.sin(theta) ** 2
    return np.stack([s2 * np.cos(phi) ** 2, s2 * np.sin(phi) ** 2, np.cos(theta) ** 2], axis=-1)


def euclidean_plane() -> RiemannianMetric:
    """The flat plane ``g = dx² + dy²`` (a reference for tests and comparisons)."""
    return RiemannianMetric(sp.eye(2), (_X, _Y), name="Euclidean plane")


# -- registry: the statistical manifolds the Surfaces & geodesics lab offers ----------------------
@dataclass(frozen=True)
class MetricSpec:
    """A named preset metric: its title and the function that builds it."""

    name: str
    title: str
    build: Callable[[], RiemannianMetric]


_STATISTICAL: dict[str, MetricSpec] = {
    spec.name: spec
    for spec in (
        MetricSpec("poincare", "Poincaré half-plane", poincare_half_plane),
        MetricSpec("gaussian", "Gaussian family N(μ, σ²), Fisher metric", gaussian_fisher),
        MetricSpec("categorical", "Categorical family (3 outcomes), Fisher metric",
                   categorical_fisher),
    )
}


def names() -> list[str]:
    """Names of the statistical manifolds (preset metrics), in display order."""
    return list(_STATISTICAL)


def spec(name: str) -> MetricSpec:
    """The preset called ``name`` (see :func:`names`)."""
    try:
        return _STATISTICAL[name]
    except KeyError:
        raise ValueError(f"unknown statistical manifold {name!r}; choose one of "
                         f"{', '.join(_STATISTICAL)}") from None


def get(name: str) -> RiemannianMetric:
    """Build the preset metric called ``name``, e.g. ``get("gaussian")``."""
    return spec(name).build()
