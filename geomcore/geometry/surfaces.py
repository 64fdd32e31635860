"""Parametric surfaces in R³ and the geometry derived from their immersion.

A :class:`ParametricSurface` is its immersion ``r(u, v) = (x, y, z)``, a sympy expression in
``u, v`` and shape parameters. From it we derive, symbolically then compiled to numpy:

* first fundamental form ``g = [[E, F], [F, G]]`` with ``E = r_u·r_u, F = r_u·r_v, G = r_v·r_v``,
* second fundamental form ``L = r_uu·n, M = r_uv·n, N = r_vv·n`` with ``n = r_u×r_v/|r_u×r_v|``,
* Gaussian curvature ``K = (LN − M²)/(EG − F²)`` and mean curvature
  ``H = (EN − 2FM + GL) / (2(EG − F²))`` (sign follows the normal ``r_u × r_v``),
* the Christoffel symbols and the geodesic equation, from the intrinsic metric
  (:meth:`ParametricSurface.intrinsic_metric`). By Gauss's Theorema Egregium the intrinsic
  ``K = R/2`` equals the extrinsic one above; the tests check the two routes agree.

The catalog (:func:`names`, :func:`get`) holds the classic surfaces with shape parameters;
:func:`from_expressions` builds one from user formulas through :mod:`geomcore.expr`;
:func:`from_expressions_bounded` does the same with every symbolic derivation in a worker
process limited in time and memory (:class:`FormulaTooComplex` past the limits).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any

import numpy as np
import sympy as sp

from geomcore._bounded import LimitExceeded, run_bounded
from geomcore.expr import ExpressionError, FormulaTooComplex, parse_expression
from geomcore.geometry._compile import (
    CSE,
    ArrayFunction,
    common_subexpressions,
    cse_size,
    simplify_light,
)
from geomcore.geometry._symbolic import SymbolicMetric, latex_of
from geomcore.geometry.metrics import RiemannianMetric

__all__ = [
    "ParametricSurface",
    "SurfaceSpec",
    "names",
    "get",
    "spec",
    "from_expressions",
    "from_expressions_bounded",
    "total_curvature",
    "DegenerateSurfaceError",
    "FormulaTooComplex",
    "MAX_DERIVED_OPS",
]

U, V = sp.symbols("u v", real=True)
PI = float(np.pi)


SINE_SQUARED_CUTOFF = 1e-16
"""A point is singular where sin²θ, θ the angle between r_u and r_v, is at most this.

sin θ = 1e-8: below it, rounding in r_u × r_v (about 1e-16 |r_u||r_v|) would be more than a
millionth of its length."""


class DegenerateSurfaceError(ValueError):
    """The immersion is not regular (r_u × r_v = 0) on most of its domain."""


@dataclass(frozen=True, eq=False)
class _SurfaceSymbolic:
    """Symbolic derivations shared by every parameter value of one surface family."""

    xyz: tuple[sp.Expr, sp.Expr, sp.Expr]
    params: tuple[sp.Symbol, ...]
    plans: dict[str, CSE] = field(default_factory=dict, repr=False, compare=False)
    """Precomputed common sub-expressions of ``point_fn`` and ``derivatives_fn``."""

    @cached_property
    def first_form(self) -> sp.Matrix:
        r = sp.Matrix(self.xyz)
        ru, rv = r.diff(U), r.diff(V)
        E, F, G = ru.dot(ru), ru.dot(rv), rv.dot(rv)
        return sp.Matrix([[E, F], [F, G]]).applyfunc(lambda e: simplify_light(e, 80))

    @cached_property
    def intrinsic(self) -> SymbolicMetric:
        return SymbolicMetric(self.first_form, (U, V), self.params)

    @cached_property
    def second_form_unnormalised(self) -> tuple[sp.Expr, sp.Expr, sp.Expr]:
        """L̃, M̃, Ñ = r_uu·(r_u×r_v), ... (the normal not yet divided by its length)."""
        r = sp.Matrix(self.xyz)
        ru, rv = r.diff(U), r.diff(V)
        cross = ru.cross(rv)
        return (r.diff(U, 2).dot(cross), r.diff(U, V).dot(cross), r.diff(V, 2).dot(cross))

    @cached_property
    def derivatives(self) -> list[sp.Expr]:
        """r_u, r_v, r_uu, r_uv, r_vv, each (x, y, z): 15 expressions, in that order."""
        r = sp.Matrix(self.xyz)
        out: list[sp.Expr] = []
        for d in (r.diff(U), r.diff(V), r.diff(U, 2), r.diff(U, V), r.diff(V, 2)):
            out.extend(d)
        return out

    @cached_property
    def point_fn(self) -> ArrayFunction:
        return ArrayFunction(list(self.xyz), (U, V), self.params, cse=self.plans.get("point_fn"))

    @cached_property
    def derivatives_fn(self) -> ArrayFunction:
        """Returns shape (..., 5, 3): r_u, r_v, r_uu, r_uv, r_vv."""
        return ArrayFunction(sp.Array(self.derivatives, (5, 3)), (U, V), self.params,
                             cse=self.plans.get("derivatives_fn"))

    def plan_compilation(self) -> dict[str, CSE]:
        """Common sub-expressions of this family's own compiled functions (those of its
        intrinsic metric come from ``self.intrinsic.plan_compilation()``)."""
        return {"point_fn": common_subexpressions(list(self.xyz)),
                "derivatives_fn": common_subexpressions(self.derivatives)}

    @cached_property
    def gaussian_curvature_expr(self) -> sp.Expr:
        g = self.first_form
        det = g[0, 0] * g[1, 1] - g[0, 1] ** 2
        L, M, N = self.second_form_unnormalised
        return simplify_light((L * N - M**2) / det**2, max_ops=150)

    @cached_property
    def latex(self) -> dict[str, str]:
        """LaTeX strings: the immersion, metric, Christoffel symbols, R and K."""
        out = latex_of(self.intrinsic, ("u", "v"))
        out["gaussian_curvature"] = "K = " + sp.latex(self.gaussian_curvature_expr)
        out["immersion"] = r"r(u,v) = \left(" + ",\\ ".join(sp.latex(e) for e in self.xyz) \
            + r"\right)"
        return out

    # What a worker process derives and sends back (sympy objects and strings pickle; the
    # compiled ``*_fn`` do not).
    _DERIVED = ("first_form", "second_form_unnormalised", "derivatives",
                "gaussian_curvature_expr", "latex")

    def derive_all(self) -> dict[str, Any]:
        """Derive every symbolic object now (the intrinsic ones included) and return them.

        The intrinsic curvature is set from the extrinsic K (Theorema Egregium, see
        ``SymbolicMetric.set_gaussian_curvature``) rather than by differentiating the Christoffel
        symbols once more.
        """
        self.intrinsic.set_gaussian_curvature(self.gaussian_curvature_expr)
        out: dict[str, object] = {name: getattr(self, name) for name in self._DERIVED}
        out["intrinsic"] = self.intrinsic.derive_all(skip_curvature=True)
        return out

    @classmethod
    def restored(cls, xyz: tuple[sp.Expr, sp.Expr, sp.Expr], params: tuple[sp.Symbol, ...],
                 derived: Mapping[str, Any]) -> _SurfaceSymbolic:
        """A family whose symbolic objects come from :meth:`derive_all` (nothing re-derived),
        with the compilation plans under ``"plans"`` and ``"intrinsic_plans"`` if given."""
        sym = cls(xyz, params)
        # cached_property stores its value in the instance dict; so do we (frozen dataclass).
        sym.__dict__.update({k: v for k, v in derived.items()
                             if k not in ("intrinsic", "plans", "intrinsic_plans")})
        sym.intrinsic.restore(derived["intrinsic"])
        sym.intrinsic.set_gaussian_curvature(sym.gaussian_curvature_expr)
        sym.intrinsic.plans.update(derived.get("intrinsic_plans", {}))
        sym.plans.update(derived.get("plans", {}))
        return sym


@dataclass(frozen=True)
class SurfaceSpec:
    """A catalog entry: the immersion and its defaults."""

    name: str
    title: str
    xyz: tuple[str, str, str]
    u_range: tuple[float, float]
    v_range: tuple[float, float]
    periodic: tuple[bool, bool] = (False, False)
    params: Mapping[str, float] = field(default_factory=dict)
    param_ranges: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    description: str = ""


class ParametricSurface:
    """A regular parametric surface ``r: [u0, u1] x [v0, v1] -> R³``.

    Use :func:`get` for the catalog or :func:`from_expressions` for formulas. Numeric methods
    take ``u`` and ``v`` as arrays of any (broadcastable) shape.

    Attributes
    ----------
    name, title : str
    u_range, v_range : tuple[float, float]
    periodic : tuple[bool, bool]
        Whether ``u``, ``v`` wrap around (the torus's two angles, a sphere's longitude...).
    params : dict[str, float]
        The shape parameters' values.
    """

    def __init__(
        self,
        symbolic: _SurfaceSymbolic,
        *,
        name: str,
        title: str,
        u_range: tuple[float, float],
        v_range: tuple[float, float],
        periodic: tuple[bool, bool] = (False, False),
        params: Mapping[str, float] | None = None,
        description: str = "",
    ):
        self._sym = symbolic
        params = dict(params or {})
        missing = [p.name for p in symbolic.params if p.name not in params]
        if missing:
            raise ValueError(f"no value for parameter(s) {', '.join(missing)}")
        self.params = {p.name: float(params[p.name]) for p in symbolic.params}
        self._pv = tuple(self.params.values())
        self.name = name
        self.title = title
        self.u_range = (float(u_range[0]), float(u_range[1]))
        self.v_range = (float(v_range[0]), float(v_range[1]))
        for lo, hi in (self.u_range, self.v_range):
            if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
                raise ValueError(f"a parameter range must be finite with low < high, got {lo, hi}")
        self.periodic = (bool(periodic[0]), bool(periodic[1]))
        self.description = description

    # -- evaluation -------------------------------------------------------------------------
    @staticmethod
    def _stack(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        u, v = np.broadcast_arrays(np.asarray(u, float), np.asarray(v, float))
        return np.stack([u, v], axis=-1)

    def _in_domain(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Points (..., 2) checked against the parameter domain; periodic coordinates wrap.

        Raises
        ------
        ValueError
            A point is not finite, or a non-periodic coordinate is outside its range.
        """
        uv = self._stack(u, v)
        if not np.all(np.isfinite(uv)):
            raise ValueError("the coordinates (u, v) must be finite numbers")
        out = uv.copy()
        for i, ((lo, hi), per, name) in enumerate(
            zip((self.u_range, self.v_range), self.periodic, "uv", strict=True)
        ):
            x = uv[..., i]
            if per:  # wrap what is outside; a point inside (hi included) stays as given
                out[..., i] = np.where((x < lo) | (x > hi), lo + np.mod(x - lo, hi - lo), x)
                continue
            slack = 1e-12 * (hi - lo)  # round-off on a boundary (e.g. u = π) is not outside
            bad = (x < lo - slack) | (x > hi + slack)
            if np.any(bad):
                first = float(x[bad].flat[0])
                raise ValueError(
                    f"{name} = {first:.6g} is outside the parameter range [{lo:.6g}, {hi:.6g}] "
                    f"of {self.title}; evaluate inside it (only periodic coordinates wrap)"
                )
            out[..., i] = np.clip(x, lo, hi)
        return out

    def point(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """r(u, v); returns shape (..., 3). Not checked against the domain (for drawing)."""
        return self._sym.point_fn(self._stack(u, v), self._pv)

    def points(self, uv: np.ndarray) -> np.ndarray:
        """r at coordinates ``uv`` of shape (..., 2); returns (..., 3)."""
        return self._sym.point_fn(np.asarray(uv, float), self._pv)

    def metric(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """First fundamental form; returns (..., 2, 2).

        Raises ``ValueError`` at points outside the parameter domain (periodic ones wrap).
        """
        return self._sym.intrinsic.metric_fn(self._in_domain(u, v), self._pv)

    def christoffel(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Γ^k_ij; returns (..., 2, 2, 2) indexed [k, i, j] (0 = u, 1 = v).

        Raises ``ValueError`` at points outside the parameter domain (periodic ones wrap).
        """
        return self._sym.intrinsic.christoffel_fn(self._in_domain(u, v), self._pv)

    def normal(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Unit normal n = r_u × r_v / |r_u × r_v|; returns (..., 3) (NaN where singular)."""
        d = self._sym.derivatives_fn(self._stack(u, v), self._pv)
        with np.errstate(all="ignore"):
            # scale first, so that |r_u × r_v| neither overflows nor underflows
            scale = np.max(np.abs(d[..., :2, :]), axis=(-2, -1))[..., None]
            nrm = np.cross(d[..., 0, :] / scale, d[..., 1, :] / scale)
            return nrm / np.linalg.norm(nrm, axis=-1, keepdims=True)

    def _curvature_parts(self, uv: np.ndarray) -> dict[str, np.ndarray]:
        """Scale-free pieces of the curvature at ``uv`` (..., 2).

        With ``s = max(|r_u|, |r_v|)`` the immersion is rescaled to ``r/s`` at each point
        before anything is multiplied: K(r) = K(r/s)/s² and H(r) = H(r/s)/s, so neither a
        sphere of radius 1e-4 (det g = 1e-16) nor one of radius 1e80 (det g overflows)
        loses its curvature. ``regular`` is where the angle θ between r_u and r_v has
        sin²θ = |r_u × r_v|² / (|r_u|²|r_v|²) > :data:`SINE_SQUARED_CUTOFF` (independent of
        scale, translation and parametrisation speed).
        """
        d = self._sym.derivatives_fn(uv, self._pv)
        with np.errstate(all="ignore"):
            s = np.sqrt(np.maximum(np.sum(d[..., 0, :] ** 2, axis=-1),
                                   np.sum(d[..., 1, :] ** 2, axis=-1)))
            if not np.all(np.isfinite(s)):
                # |r_u|² overflowed: scale by the largest component first
                big = np.max(np.abs(d[..., :2, :]), axis=(-2, -1))
                s = big * np.sqrt(np.maximum(
                    np.sum((d[..., 0, :] / big[..., None]) ** 2, axis=-1),
                    np.sum((d[..., 1, :] / big[..., None]) ** 2, axis=-1)))
            d = d / s[..., None, None]
            ru, rv, ruu, ruv, rvv = (d[..., i, :] for i in range(5))
            c = np.cross(ru, rv)
            E, F, G = (np.sum(a * b, axis=-1) for a, b in ((ru, ru), (ru, rv), (rv, rv)))
            cc = np.sum(c * c, axis=-1)
            L, M, N = (np.sum(a * c, axis=-1) for a in (ruu, ruv, rvv))
            regular = np.isfinite(cc) & (s > 0) & (cc > SINE_SQUARED_CUTOFF * E * G)
        return {"s": s, "cc": cc, "E": E, "F": F, "G": G, "L": L, "M": M, "N": N,
                "regular": regular}

    def gaussian_curvature(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """K = (LN − M²)/(EG − F²); NaN where the immersion is singular. Returns (...).

        Raises ``ValueError`` at points outside the parameter domain (periodic ones wrap).
        """
        p = self._curvature_parts(self._in_domain(u, v))
        with np.errstate(all="ignore"):
            k = (p["L"] * p["N"] - p["M"] ** 2) / p["cc"] ** 2 / p["s"] ** 2
        return np.where(p["regular"], k, np.nan)

    def mean_curvature(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """H = (EN − 2FM + GL) / (2(EG − F²)) for the normal r_u × r_v. Returns (...).

        Raises ``ValueError`` at points outside the parameter domain (periodic ones wrap).
        """
        p = self._curvature_parts(self._in_domain(u, v))
        with np.errstate(all="ignore"):
            h = (p["E"] * p["N"] - 2 * p["F"] * p["M"] + p["G"] * p["L"]) \
                / (2.0 * p["cc"] ** 1.5) / p["s"]
        return np.where(p["regular"], h, np.nan)

    def area_element(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """dA = sqrt(EG − F²) = |r_u × r_v| du dv; returns (...).

        Raises ``ValueError`` at points outside the parameter domain (periodic ones wrap).
        """
        p = self._curvature_parts(self._in_domain(u, v))
        with np.errstate(all="ignore"):
            return np.sqrt(p["cc"]) * p["s"] ** 2

    def grid(self, n_u: int = 60, n_v: int = 60) -> tuple[np.ndarray, np.ndarray]:
        """A ``meshgrid`` (indexing "ij") over the parameter domain, shapes (n_u, n_v)."""
        u = np.linspace(*self.u_range, n_u)
        v = np.linspace(*self.v_range, n_v)
        return np.meshgrid(u, v, indexing="ij")

    # -- structure --------------------------------------------------------------------------
    @cached_property
    def _intrinsic(self) -> RiemannianMetric:
        sym = self._sym.intrinsic
        return RiemannianMetric(
            sym.matrix, sym.coords, params=self.params,
            domain=[self.u_range, self.v_range], periodic=self.periodic,
            name=self.title, symbolic=sym,
        )

    def intrinsic_metric(self) -> RiemannianMetric:
        """The first fundamental form as a :class:`RiemannianMetric` in (u, v)."""
        return self._intrinsic

    @property
    def xyz_expressions(self) -> tuple[sp.Expr, sp.Expr, sp.Expr]:
        return self._sym.xyz

    def latex(self) -> dict[str, str]:
        """LaTeX strings: the immersion, metric, Christoffel symbols, R and K."""
        return dict(self._sym.latex)

    def with_params(self, **values: float) -> ParametricSurface:
        """The same surface with other shape-parameter values (nothing is re-derived)."""
        return ParametricSurface(
            self._sym, name=self.name, title=self.title, u_range=self.u_range,
            v_range=self.v_range, periodic=self.periodic, params={**self.params, **values},
            description=self.description,
        )

    def __repr__(self) -> str:
        return f"ParametricSurface({self.name!r}, params={self.params})"


# -- catalog -------------------------------------------------------------------------------------
_CATALOG: dict[str, SurfaceSpec] = {
    s.name: s
    for s in [
        SurfaceSpec("sphere", "Sphere", ("r*sin(u)*cos(v)", "r*sin(u)*sin(v)", "r*cos(u)"),
                    (0.0, PI), (0.0, 2 * PI), (False, True), {"r": 1.0}, {"r": (0.2, 3.0)},
                    "Constant K = 1/r². u is the polar angle, v the longitude; the poles are "
                    "coordinate singularities."),
        SurfaceSpec("ellipsoid", "Ellipsoid",
                    ("a*sin(u)*cos(v)", "b*sin(u)*sin(v)", "c*cos(u)"),
                    (0.0, PI), (0.0, 2 * PI), (False, True), {"a": 1.6, "b": 1.0, "c": 0.7},
                    {"a": (0.3, 3.0), "b": (0.3, 3.0), "c": (0.3, 3.0)},
                    "Positive but varying curvature; geodesic circles develop caustics."),
        SurfaceSpec("torus", "Torus",
                    ("(R + r*cos(u))*cos(v)", "(R + r*cos(u))*sin(v)", "r*sin(u)"),
                    (0.0, 2 * PI), (0.0, 2 * PI), (True, True), {"R": 2.0, "r": 0.8},
                    {"R": (1.0, 4.0), "r": (0.2, 0.95)},
                    "K = cos u / (r(R + r cos u)): positive outside, negative inside; "
                    "∫K dA = 0."),
        SurfaceSpec("saddle", "Saddle (hyperbolic paraboloid)", ("u", "v", "a*(u**2 - v**2)"),
                    (-1.5, 1.5), (-1.5, 1.5), (False, False), {"a": 0.5}, {"a": (0.05, 2.0)},
                    "Negative curvature everywhere; K(0,0) = −4a²."),
        SurfaceSpec("monkey_saddle", "Monkey saddle", ("u", "v", "a*(u**3 - 3*u*v**2)"),
                    (-1.2, 1.2), (-1.2, 1.2), (False, False), {"a": 0.5}, {"a": (0.05, 2.0)},
                    "K ≤ 0 with a flat point at the origin."),
        SurfaceSpec("paraboloid", "Paraboloid", ("u", "v", "a*(u**2 + v**2)"),
                    (-1.5, 1.5), (-1.5, 1.5), (False, False), {"a": 0.5}, {"a": (0.05, 2.0)},
                    "K = 4a² at the vertex, decaying outward."),
        SurfaceSpec("catenoid", "Catenoid",
                    ("c*cosh(u/c)*cos(v)", "c*cosh(u/c)*sin(v)", "u"),
                    (-1.5, 1.5), (0.0, 2 * PI), (False, True), {"c": 1.0}, {"c": (0.3, 3.0)},
                    "A minimal surface (H = 0) with K = −1/(c² cosh⁴(u/c))."),
        SurfaceSpec("helicoid", "Helicoid", ("u*cos(v)", "u*sin(v)", "c*v"),
                    (-1.5, 1.5), (-PI, PI), (False, False), {"c": 0.5}, {"c": (0.1, 2.0)},
                    "Minimal (H = 0), locally isometric to the catenoid."),
        SurfaceSpec("pseudosphere", "Pseudosphere",
                    ("r/cosh(u)*cos(v)", "r/cosh(u)*sin(v)", "r*(u - tanh(u))"),
                    (0.0, 3.0), (0.0, 2 * PI), (False, True), {"r": 1.0}, {"r": (0.3, 3.0)},
                    "Constant K = −1/r² (Beltrami's tractroid); singular along its rim u = 0."),
        SurfaceSpec("gaussian_bump", "Gaussian bump", ("u", "v", "h*exp(-(u**2 + v**2)/(2*s**2))"),
                    (-2.5, 2.5), (-2.5, 2.5), (False, False), {"h": 1.0, "s": 0.6},
                    {"h": (-2.0, 2.0), "s": (0.2, 1.5)},
                    "Positive curvature on top, a negative ring around it; geodesics bend "
                    "around the bump."),
        SurfaceSpec("cylinder", "Cylinder", ("r*cos(v)", "r*sin(v)", "u"),
                    (-2.0, 2.0), (0.0, 2 * PI), (False, True), {"r": 1.0}, {"r": (0.2, 3.0)},
                    "Flat (K = 0) though curved in space: geodesics are helices."),
        SurfaceSpec("cone", "Cone", ("u*cos(v)", "u*sin(v)", "k*u"),
                    (0.0, 2.0), (0.0, 2 * PI), (False, True), {"k": 1.0}, {"k": (0.1, 3.0)},
                    "Flat away from the apex (u = 0), where the metric is singular and all "
                    "curvature is concentrated."),
    ]
}


def names() -> list[str]:
    """The catalog's surface names."""
    return list(_CATALOG)


def spec(name: str) -> SurfaceSpec:
    """The catalog entry (formulas, ranges, default parameters and their slider ranges)."""
    try:
        return _CATALOG[name]
    except KeyError:
        raise ValueError(f"unknown surface {name!r}; choose one of {', '.join(_CATALOG)}") \
            from None


@lru_cache(maxsize=64)
def _symbolic_for(xyz: tuple[str, str, str], param_names: tuple[str, ...]) -> _SurfaceSymbolic:
    exprs = tuple(parse_expression(t, ("u", "v"), param_names) for t in xyz)
    used = set().union(*(e.free_symbols for e in exprs))
    params = tuple(sp.Symbol(p, real=True) for p in param_names if sp.Symbol(p, real=True) in used)
    return _SurfaceSymbolic(exprs, params)


def get(name: str, **params: float) -> ParametricSurface:
    """A catalog surface with shape parameters (defaults from :func:`spec`).

    >>> get("sphere", r=2.0).gaussian_curvature(1.0, 0.0)  # 1/r²
    array(0.25)
    """
    s = spec(name)
    unknown = set(params) - set(s.params)
    if unknown:
        raise ValueError(
            f"{name} has no parameter(s) {', '.join(sorted(unknown))}; "
            f"its parameters are {', '.join(s.params) or 'none'}"
        )
    values = {**s.params, **params}
    for key, val in values.items():
        if not np.isfinite(val):
            raise ValueError(f"parameter {key} must be finite, got {val}")
    sym = _symbolic_for(s.xyz, tuple(s.params))
    return ParametricSurface(
        sym, name=s.name, title=s.title, u_range=s.u_range, v_range=s.v_range,
        periodic=s.periodic, params={k: v for k, v in values.items()}, description=s.description,
    )


def from_expressions(
    x: str,
    y: str,
    z: str,
    u_range: tuple[float, float],
    v_range: tuple[float, float],
    params: Mapping[str, float] | None = None,
    *,
    periodic: tuple[bool, bool] = (False, False),
    name: str = "custom",
    check: bool = True,
) -> ParametricSurface:
    """A surface from three formulas in ``u`` and ``v`` (parsed safely by :mod:`geomcore.expr`).

    The symbolic derivations then run in this process, lazily and without a time or memory
    limit. For formulas typed by someone else (a web page's visitors), use
    :func:`from_expressions_bounded`, which derives everything in a limited worker process.

    Raises
    ------
    geomcore.expr.ExpressionError
        A formula is invalid (the message says which coordinate and why).
    DegenerateSurfaceError
        ``r_u × r_v`` vanishes on most of the domain (e.g. ``z`` depends on neither variable
        and ``x``, ``y`` on one only), or the formulas are not finite on the domain.
    """
    params = dict(params or {})
    _parse_labelled((x, y, z), tuple(params))
    sym = _symbolic_for((x, y, z), tuple(params))
    surf = ParametricSurface(
        sym, name=name, title="Custom surface", u_range=u_range, v_range=v_range,
        periodic=periodic, params={p.name: params[p.name] for p in sym.params},
    )
    if check:
        _check_regular(surf)
    return surf


MAX_DERIVED_OPS = 6_000
"""Most operations (``sympy.count_ops``, after common sub-expression elimination) in all that
the worker of :func:`from_expressions_bounded` sends back to be compiled.

That compilation (``lambdify``) runs in the caller, outside the worker's limits; this budget
keeps it short (about 0.2 s per thousand operations measured on a shared 2-core machine), and
as the worker also eliminates the common sub-expressions, ``lambdify`` only prints code."""

_SIMPLIFY_ADVICE = (
    "Simplify it: nest fewer functions (sin(u) rather than sin(sin(sin(u)))), use fewer and "
    "lower powers ((u**2 + v)**3 rather than ((u**12 + v)**12 + u)**12), avoid variable "
    "exponents such as u**v, and use fewer terms."
)


def from_expressions_bounded(
    x: str,
    y: str,
    z: str,
    u_range: tuple[float, float],
    v_range: tuple[float, float],
    *,
    periodic: tuple[bool, bool] = (False, False),
    params: Mapping[str, float] | None = None,
    name: str = "custom",
    timeout_s: float = 10.0,
    memory_bytes: int = 2 * 1024**3,
) -> ParametricSurface:
    """:func:`from_expressions`, with every symbolic derivation done in a bounded worker.

    A fresh worker interpreter (``python -m geomcore._bounded``, never a fork; safe from any
    thread) parses the formulas, checks the surface is regular and derives everything symbolic
    the surface will ever need: the first and second fundamental forms, ``g⁻¹``, the Christoffel
    symbols, K and H, the curvature tensors (from K, by the Theorema Egregium), the geodesic
    equation and its variational equation, and the LaTeX that :meth:`ParametricSurface.latex`
    returns. The worker is killed after ``timeout_s`` seconds of computing or once it allocates
    ``memory_bytes`` beyond its start-up footprint. This process then only compiles
    (``lambdify``) what came back, which :data:`MAX_DERIVED_OPS` keeps small; ``.latex()`` on
    the result returns at once.

    Parameters
    ----------
    x, y, z
        The immersion ``r(u, v)``, as formulas for :mod:`geomcore.expr`.
    u_range, v_range
        The parameter domain, ``(low, high)`` each.
    periodic
        Whether ``u``, ``v`` wrap around their range.
    params
        Values of extra names used in the formulas (shape parameters).
    name
        The surface's name.
    timeout_s
        CPU-time limit of the derivation in seconds, so that the verdict does not depend on
        how busy the machine is (the worker's start-up, typically one to three seconds, is not
        counted; see :data:`geomcore._bounded.STARTUP_TIMEOUT_S`). A worker starved of CPU
        ends at a wall-clock limit of ``3 * timeout_s + 5`` seconds with ``TimeoutError``.
    memory_bytes
        Memory the derivation may allocate, in bytes.

    Returns
    -------
    ParametricSurface

    Raises
    ------
    FormulaTooComplex
        The derivation ran past ``timeout_s`` or ``memory_bytes``, or what it derived exceeds
        :data:`MAX_DERIVED_OPS`; or the parser's nesting limits refused a formula. The message
        says so and how to simplify the formula. A subclass of ``ExpressionError``.
    geomcore.expr.ExpressionError
        A formula is invalid (the message names the coordinate).
    DegenerateSurfaceError
        As for :func:`from_expressions`.
    ValueError
        A bad range, ``timeout_s`` or ``memory_bytes``.
    TimeoutError
        The worker process could not even be started (an overloaded machine).
    """
    params = dict(params or {})
    if not (isinstance(timeout_s, (int, float)) and 0 < timeout_s < float("inf")):
        raise ValueError(f"timeout_s must be a positive number of seconds, got {timeout_s!r}")
    if not (isinstance(memory_bytes, int) and memory_bytes > 0):
        raise ValueError(f"memory_bytes must be a positive number of bytes, got {memory_bytes!r}")
    # Parse here first (bounded and fast): a formula with a typo never starts a worker.
    exprs = _parse_labelled((x, y, z), tuple(params))
    args = (x, y, z, u_range, v_range, periodic, params, name)
    try:
        derived = run_bounded(_derive_in_worker, args, timeout_s=float(timeout_s),
                              memory_bytes=memory_bytes)
    except LimitExceeded as exc:
        if exc.kind == "time":
            limit = f"within {timeout_s:g} s"
        elif exc.kind == "memory":
            limit = f"within the memory limit ({memory_bytes / 2**30:.3g} GiB)"
        else:
            limit = "(its expressions are nested too deeply)"
        raise FormulaTooComplex(
            f"the formula is too complex to derive {limit}: its metric, curvature and geodesic "
            f"equations could not be worked out. {_SIMPLIFY_ADVICE}"
        ) from None
    used = set().union(*(e.free_symbols for e in exprs))
    sym_params = tuple(sp.Symbol(p, real=True) for p in params
                       if sp.Symbol(p, real=True) in used)
    sym = _SurfaceSymbolic.restored(exprs, sym_params, derived)
    return ParametricSurface(
        sym, name=name, title="Custom surface", u_range=u_range, v_range=v_range,
        periodic=periodic, params={p.name: params[p.name] for p in sym_params},
    )


def _parse_labelled(texts: tuple[str, str, str], param_names: tuple[str, ...]
                    ) -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    out = []
    for label, text in zip("xyz", texts, strict=True):
        try:
            out.append(parse_expression(text, ("u", "v"), param_names))
        except ExpressionError as exc:
            # the same class (FormulaTooComplex stays FormulaTooComplex), naming the coordinate
            raise type(exc)(f"{label}(u, v): {exc}") from None
    return out[0], out[1], out[2]


def _derive_in_worker(
    x: str, y: str, z: str, u_range: tuple[float, float], v_range: tuple[float, float],
    periodic: tuple[bool, bool], params: Mapping[str, float], name: str,
) -> dict[str, Any]:
    """What the worker of :func:`from_expressions_bounded` runs (module level, so it pickles)."""
    surf = from_expressions(x, y, z, u_range, v_range, params, periodic=periodic, name=name)
    derived = surf._sym.derive_all()
    derived["plans"] = surf._sym.plan_compilation()
    derived["intrinsic_plans"] = surf._sym.intrinsic.plan_compilation()
    ops = sum(cse_size(p) for plans in (derived["plans"], derived["intrinsic_plans"])
              for p in plans.values())
    if ops > MAX_DERIVED_OPS:
        raise FormulaTooComplex(
            f"the formula is too complex: its derived metric, curvature and geodesic equations "
            f"have {ops} operations (at most {MAX_DERIVED_OPS}). {_SIMPLIFY_ADVICE}"
        )
    return derived


def _check_regular(surf: ParametricSurface, n: int = 24) -> None:
    """Refuse a surface whose formulas are not finite, or that is singular on most of its grid.

    Singular means sin θ ≤ 1e-8 for the angle θ between r_u and r_v (see
    :data:`SINE_SQUARED_CUTOFF`): a comparison of |r_u × r_v| with |r_u||r_v|, so translating,
    scaling or steepening a surface does not change the verdict.
    """
    uu, vv = surf.grid(n, n)
    pts = surf.point(uu, vv)
    if not np.all(np.isfinite(pts)):
        bad = np.argwhere(~np.isfinite(pts).all(axis=-1))[0]
        raise DegenerateSurfaceError(
            f"the formulas are not finite at u={uu[tuple(bad)]:.3g}, v={vv[tuple(bad)]:.3g}; "
            "narrow the parameter ranges"
        )
    regular = surf._curvature_parts(surf._stack(uu, vv))["regular"]
    if np.mean(regular) < 0.5:
        raise DegenerateSurfaceError(
            "the surface is degenerate: r_u × r_v vanishes on most of the domain, so there is "
            "no tangent plane (do x, y, z really depend on both u and v?)"
        )


def total_curvature(surface: ParametricSurface, n: int = 160) -> float:
    """∫∫ K dA over the parameter domain, by Gauss–Legendre quadrature (n x n nodes).

    Gauss–Bonnet: 4π for a sphere (any radius, any ellipsoid), 0 for a torus, 2π χ in general
    for a closed surface.

    Raises
    ------
    DegenerateSurfaceError
        K dA is not finite at some quadrature node (the surface is singular there); nothing is
        dropped silently.
    """
    x, w = np.polynomial.legendre.leggauss(n)
    (u0, u1), (v0, v1) = surface.u_range, surface.v_range
    u = 0.5 * (u1 - u0) * x + 0.5 * (u1 + u0)
    v = 0.5 * (v1 - v0) * x + 0.5 * (v1 + v0)
    uu, vv = np.meshgrid(u, v, indexing="ij")
    integrand = surface.gaussian_curvature(uu, vv) * surface.area_element(uu, vv)
    bad = ~np.isfinite(integrand)
    if np.any(bad):
        i, j = np.argwhere(bad)[0]
        raise DegenerateSurfaceError(
            f"K dA is not finite at {int(bad.sum())} of {bad.size} quadrature nodes (e.g. "
            f"u={uu[i, j]:.4g}, v={vv[i, j]:.4g}), where the surface is singular; the total "
            "curvature is not defined there. Narrow the parameter ranges to exclude the "
            "singular points"
        )
    weights = np.outer(w, w) * 0.25 * (u1 - u0) * (v1 - v0)
    return float(np.sum(integrand * weights))
