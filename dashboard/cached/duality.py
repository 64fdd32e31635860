"""Caching for the Dual-geometry lab (``dashboard/views/duality.py``).

Every computation of the page is one cached call keyed on primitives or a frozen config: the
loss over the simplex, the optimiser paths, the geodesics, the Pythagorean triangle and the EM
run. A view-only change (contour lines on or off, which EM step to draw) reruns the page
against cache hits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from dashboard.figures.duality import simplex_grid
from dashboard.i18n import t
from geomcore import duality
from geomcore.duality import (
    Categorical,
    ClosedFormLoss,
    CrossEntropyLoss,
    Gaussian1D,
    LinearLoss,
    SquaredLoss,
)

LOSSES = ("cross_entropy", "squared", "linear")
"""The losses the page offers (their names are in the catalog, ``duality.losses.<kind>``)."""
LINEAR_COST = (1.0, 0.5, 2.0)
GRID_RESOLUTION = 161
SIMPLEX = Categorical(3)
GAUSSIAN = Gaussian1D()
TILT_FEATURE = (0.0, 1.0, 2.0)
"""The feature f of the page's e-flat family ``q_w ∝ exp(w·f(x))`` (maximum entropy for a given
mean of f)."""
CURVE_POINTS = 121
ALPHA_TOL = 1e-6
"""Tolerance of the α-geodesic solve on the page: the curve is then within about 1e-8 of the
library's default (1e-9) solve, far below a pixel, at a third of the time or less."""


def as_probability(a: float, b: float, name: str) -> tuple[float, float, float]:
    """``(a, b, 1 − a − b)``, refused with a plain message unless all three are positive."""
    c = 1.0 - a - b
    if a <= 0 or b <= 0 or c <= 1e-9:
        raise ValueError(t("duality.errors.not_probability", name=name, a=a, b=b, c=c))
    return (float(a), float(b), float(c))


@dataclass(frozen=True)
class LossConfig:
    """A loss on the 2-simplex: ``kind`` (a key of :data:`LOSSES`) and its target."""

    kind: str = "cross_entropy"
    target: tuple[float, float, float] = (0.2, 0.3, 0.5)

    def make(self) -> ClosedFormLoss:
        if self.kind == "cross_entropy":
            return CrossEntropyLoss(self.target)
        if self.kind == "squared":
            return SquaredLoss(self.target)
        if self.kind == "linear":
            return LinearLoss(LINEAR_COST)
        raise ValueError(f"unknown loss {self.kind!r}; choose one of {', '.join(LOSSES)}")

    def minimiser(self) -> np.ndarray:
        """Where the loss is smallest on the simplex (a vertex for the linear cost)."""
        if self.kind == "linear":
            return np.eye(3)[int(np.argmin(LINEAR_COST))]
        return np.asarray(self.target)

    def minimum(self) -> float:
        return float(self.make().value(self.minimiser()))


@dataclass(frozen=True)
class PathsConfig:
    """The optimisers' experiment: one loss, one start, one learning rate for all methods."""

    loss: LossConfig
    start: tuple[float, float, float] = (0.8, 0.1, 0.1)
    lr: float = 0.1
    steps: int = 200
    methods: tuple[str, ...] = duality.METHODS


@st.cache_data(max_entries=32, show_spinner=False)
def loss_grid_for(cfg: LossConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``x``, ``y`` and the loss on the grid over the triangle (NaN outside)."""
    x, y, p = simplex_grid(GRID_RESOLUTION)
    with np.errstate(all="ignore"):
        z = cfg.make().value(p)
    z[np.isnan(p[..., 0])] = np.nan
    return x, y, z


@st.cache_data(max_entries=64, show_spinner=False)
def paths_for(cfg: PathsConfig) -> dict[str, duality.OptimizationPath]:
    """Every chosen method from the same start (closed-form gradients: 5 × 1000 steps in tens
    of ms)."""
    loss = cfg.loss.make()
    return {m: duality.optimize(loss, SIMPLEX, cfg.start, m, cfg.steps, cfg.lr)  # type: ignore[arg-type]
            for m in cfg.methods}


@dataclass(frozen=True)
class Geodesics:
    """Curves between two points of one family, keyed by kind; messages of failed solves;
    each curve's Fisher length (the sum of the Fisher–Rao distances between its consecutive
    samples: a lower bound that converges to the length, and exact for the Fisher–Rao
    geodesic, whose samples lie on one shortest path)."""

    curves: dict[str, np.ndarray]
    lengths: dict[str, float]
    fisher_rao: float
    kl_pq: float
    kl_qp: float
    messages: tuple[str, ...]


def _geodesics(fam: duality.ExponentialFamily, p: tuple[float, ...], q: tuple[float, ...],
               alpha: float) -> Geodesics:
    curves: dict[str, np.ndarray] = {}
    for kind in ("e", "m", "fisher_rao"):
        curves[kind] = fam.geodesic(p, q, kind, n_points=CURVE_POINTS).points
    solved = fam.geodesic(p, q, alpha=alpha, n_points=CURVE_POINTS, tol=ALPHA_TOL)
    messages: tuple[str, ...] = ()
    if solved.status == "ok":
        curves["alpha"] = solved.points
    else:
        messages = (solved.message,)
    lengths = {kind: float(np.sum(fam.fisher_rao_distance(pts[:-1], pts[1:])))
               for kind, pts in curves.items()}
    return Geodesics(curves=curves, lengths=lengths,
                     fisher_rao=float(fam.fisher_rao_distance(p, q)),
                     kl_pq=float(fam.kl(p, q)), kl_qp=float(fam.kl(q, p)), messages=messages)


@st.cache_data(max_entries=64, show_spinner=False)
def simplex_geodesics_for(p: tuple[float, float, float], q: tuple[float, float, float],
                          alpha: float) -> Geodesics:
    return _geodesics(SIMPLEX, p, q, alpha)


@st.cache_data(max_entries=64, show_spinner=False)
def gaussian_geodesics_for(p: tuple[float, float], q: tuple[float, float],
                           alpha: float) -> Geodesics:
    return _geodesics(GAUSSIAN, p, q, alpha)


@dataclass(frozen=True)
class PythagorasData:
    """p, its m-projection q* onto the tilted family, r in the family, and the three curves."""

    p: np.ndarray
    q_star: np.ndarray
    r: np.ndarray
    family_curve: np.ndarray
    m_geodesic: np.ndarray
    e_geodesic: np.ndarray
    pr_geodesic: np.ndarray
    check: duality.PythagoreanCheck
    projection: duality.Projection


@st.cache_data(max_entries=64, show_spinner=False)
def pythagoras_for(p: tuple[float, float, float], w_r: float) -> PythagorasData:
    """The m-projection of ``p`` onto ``{q_w ∝ e^{w f}}`` and the point ``r = q_{w_r}``."""
    f = np.asarray(TILT_FEATURE)
    direction = (f[:-1] - f[-1])[None, :]
    theta0 = np.zeros(2)
    proj = duality.m_projection(SIMPLEX, p, theta0, direction)
    r = SIMPLEX.from_natural(theta0 + w_r * direction[0])
    ws = np.linspace(-8.0, 8.0, 241)
    family_curve = SIMPLEX.from_natural(theta0 + ws[:, None] * direction[0])
    q = proj.point
    return PythagorasData(
        p=np.asarray(p), q_star=q, r=r, family_curve=family_curve,
        m_geodesic=SIMPLEX.geodesic(p, q, "m", n_points=CURVE_POINTS).points,
        e_geodesic=SIMPLEX.geodesic(q, r, "e", n_points=CURVE_POINTS).points,
        pr_geodesic=SIMPLEX.geodesic(p, r, "m", n_points=CURVE_POINTS).points,
        check=duality.pythagorean(p, q, r, family=SIMPLEX), projection=proj)


@dataclass(frozen=True)
class EMConfig:
    """EM on a sample of a two-component mixture with means ``±separation/2``."""

    n: int = 400
    separation: float = 3.5
    seed: int = 0
    steps: int = 30


@st.cache_data(max_entries=32, show_spinner=False)
def em_for(cfg: EMConfig) -> tuple[np.ndarray, duality.EMResult]:
    half = cfg.separation / 2
    x = duality.mixture_sample(cfg.n, weights=(0.4, 0.6), means=(-half, half),
                               sigmas=(0.8, 1.0), seed=cfg.seed)
    # a deliberately poor start (both components on the same side) so the steps are visible
    init = ((0.5, 0.5), (float(np.percentile(x, 60)), float(np.percentile(x, 90))),
            (float(np.std(x)), float(np.std(x))))
    return x, duality.em_gaussian_mixture(x, init=init, steps=cfg.steps)
