"""Points on surfaces whose Gaussian curvature is known: the ground truth of the lab.

:func:`sample_surface` draws ``n`` points uniformly with respect to area from a catalog surface
of :mod:`geomcore.geometry.surfaces` (rejection on the area element ``dA = |r_u × r_v| du dv``)
and returns them with the exact ``K`` there. Two flat shapes are added: ``"plane"`` (the
saddle's square with ``z = 0``) and ``"flat_torus"``, the Clifford torus
``(ρ cos u, ρ sin u, ρ cos v, ρ sin v)`` in R⁴ (``K = 0``, no boundary) with ``ρ = 1/√π`` so
that its area ``(2πρ)² = 4π`` equals the unit sphere's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from geomcore._validation import check_int, check_seed
from geomcore.curvature._graph import CurvatureError
from geomcore.geometry import surfaces

__all__ = ["EXTRA_SHAPES", "MAX_SAMPLES", "SurfaceSample", "sample_surface", "shape_names",
           "sphere_and_flat_torus"]

EXTRA_SHAPES = ("plane", "flat_torus")
MAX_SAMPLES = 20_000
FLAT_TORUS_RADIUS = 1.0 / np.sqrt(np.pi)


@dataclass(frozen=True, eq=False)
class SurfaceSample:
    """Points of a surface with its Gaussian curvature.

    Attributes
    ----------
    name, title : str
    X : ndarray, shape=[n, D]
        Points in space (D = 3; 4 for the flat torus).
    uv : ndarray, shape=[n, 2]
        Their parameters.
    K : ndarray, shape=[n]
        Exact Gaussian curvature at each point.
    """

    name: str
    title: str
    X: np.ndarray
    uv: np.ndarray
    K: np.ndarray


def shape_names() -> list[str]:
    """Catalog surfaces and the extra flat shapes :func:`sample_surface` knows."""
    return [*surfaces.names(), *EXTRA_SHAPES]


def _flat_torus(rng: np.random.Generator, n: int) -> SurfaceSample:
    uv = rng.uniform(0.0, 2 * np.pi, size=(n, 2))
    r = FLAT_TORUS_RADIUS
    X = r * np.column_stack([np.cos(uv[:, 0]), np.sin(uv[:, 0]), np.cos(uv[:, 1]),
                             np.sin(uv[:, 1])])
    return SurfaceSample("flat_torus", "Flat torus (in R⁴)", X, uv, np.zeros(n))


def sample_surface(name: str, n: int = 1000, seed: int = 0, **params: float) -> SurfaceSample:
    """``n`` points drawn uniformly by area from the named surface, with their exact ``K``.

    Parameters
    ----------
    name : str
        A catalog surface (:func:`geomcore.geometry.surfaces.names`), ``"plane"`` or
        ``"flat_torus"``.
    n : int
        ``3 <= n <= MAX_SAMPLES``.
    seed : int
    **params : float
        Shape parameters of a catalog surface (e.g. ``r=2.0`` for the sphere).

    Raises
    ------
    CurvatureError
        Unknown name or parameter, or ``n`` out of range.
    """
    if name not in shape_names():
        raise CurvatureError(f"unknown surface {name!r}; choose one of "
                             f"{', '.join(shape_names())}")
    n = check_int("n", n, 3, MAX_SAMPLES, error=CurvatureError)
    rng = np.random.default_rng(check_seed(seed, error=CurvatureError))
    if name == "flat_torus":
        return _flat_torus(rng, n)
    try:
        surf = (surfaces.get("saddle", a=0.0) if name == "plane"
                else surfaces.get(name, **params))
    except ValueError as err:
        raise CurvatureError(str(err)) from err
    (u0, u1), (v0, v1) = surf.u_range, surf.v_range
    gu, gv = surf.grid(120, 120)
    with np.errstate(all="ignore"):
        top = float(np.nanmax(surf.area_element(gu, gv))) * 1.05
    if not np.isfinite(top) or top <= 0:
        raise CurvatureError(f"{name} has no area element to sample by")
    kept: list[np.ndarray] = []
    got = 0
    for _ in range(200):  # acceptance is at least a few percent on the catalog shapes
        uv = np.column_stack([rng.uniform(u0, u1, 4 * n), rng.uniform(v0, v1, 4 * n)])
        with np.errstate(all="ignore"):
            dA = surf.area_element(uv[:, 0], uv[:, 1])
            K = surf.gaussian_curvature(uv[:, 0], uv[:, 1])
        ok = (rng.uniform(0, top, uv.shape[0]) < dA) & np.isfinite(K)
        kept.append(uv[ok])
        got += int(ok.sum())
        if got >= n:
            break
    else:
        raise CurvatureError(f"could not sample {n} regular points from {name}")
    uv = np.concatenate(kept)[:n]
    X = surf.points(uv)
    K = surf.gaussian_curvature(uv[:, 0], uv[:, 1])
    title = "Plane patch" if name == "plane" else surf.title
    return SurfaceSample(name, title, np.ascontiguousarray(X, dtype=float), uv,
                         np.asarray(K, dtype=float))


def sphere_and_flat_torus(n: int = 600, seed: int = 0) -> tuple[SurfaceSample, SurfaceSample]:
    """The unit sphere and the flat torus of the same area (4π), drawn from the *same* random
    numbers ``(s, t) ~ U[0, 1]²``: sphere ``z = 2s − 1, φ = 2πt`` (Archimedes: uniform by
    area), torus ``u = 2πs, v = 2πt``. Both maps multiply area by the same constant, so the two
    clouds have the same density fluctuations and a comparison of their curvature is paired:
    the sampling noise largely cancels, the difference is the curvature."""
    n = check_int("n", n, 3, MAX_SAMPLES, error=CurvatureError)
    rng = np.random.default_rng(check_seed(seed, error=CurvatureError))
    s, t = rng.uniform(size=(2, n))
    z, phi = 2.0 * s - 1.0, 2.0 * np.pi * t
    r = np.sqrt(np.maximum(1.0 - z**2, 0.0))
    sphere = SurfaceSample("sphere", "Sphere", np.column_stack([r * np.cos(phi),
                                                                r * np.sin(phi), z]),
                           np.column_stack([np.arccos(z), phi]), np.ones(n))
    u = 2.0 * np.pi * s
    rho = FLAT_TORUS_RADIUS
    torus = SurfaceSample("flat_torus", "Flat torus (in R⁴)",
                          rho * np.column_stack([np.cos(u), np.sin(u), np.cos(phi),
                                                 np.sin(phi)]),
                          np.column_stack([u, phi]), np.zeros(n))
    return sphere, torus
