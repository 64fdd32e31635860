"""Caching for the Latent-geometry lab (``dashboard/views/latent.py``).

The trained model (a torch VAE) and its RBF variance network are resources shared by every
session (``st.cache_resource``) and never changed after training (``geomcore.latent.models``
freezes them). Everything computed from them (the metric on the latent grid, the two paths) is
plain data in ``st.cache_data``, keyed on frozen configs and primitives, so a view-only change
(indicatrices on/off) reruns the page against cache hits and never retrains or recomputes.

No cached function shows a spinner of its own: a spinner's text is fixed when the function is
decorated, in one language; the page wraps the calls in spinners that speak the visitor's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import streamlit as st
import torch
from scipy.spatial import cKDTree
from sklearn.decomposition import PCA

from dashboard.cached.common import in_worker
from geomcore.embedding import datasets
from geomcore.latent import (
    VAE,
    LatentCurve,
    RBFVariance,
    fit_rbf_variance,
    indicatrices,
    latent_geodesic,
    magnification,
    models,
    straight_line,
    train_vae,
)

DATASETS = ("digits", "swiss_roll", "sphere_cap", "torus")
BETAS = (0.01, 0.03, 0.1, 0.3, 1.0)
DEFAULT_BETA = {"digits": 1.0, "swiss_roll": 0.1, "sphere_cap": 0.1, "torus": 0.1}
"""KL weight per dataset: with β = 1 a VAE on 3-D data explains it as noise (its latent codes
collapse onto the prior and the decoded surface shrinks to a blob; measured reconstruction
error 3× PCA's on the swiss roll); β = 0.1 reconstructs 5× better than PCA."""
MAX_EPOCHS = 300
MAX_POINTS_3D = 2500
"""Most points of a 3-D dataset. Opening the page at the maxima (swiss roll, 300 epochs,
hidden width 128, the variance metric with 128 centres, both paths at 64 points) took
19.2-20.3 s of CPU with 3000 points, 16.6 s with 2500 (benchmarks/worst_case.py); digits
(1797 points, 64-d) at the same maxima 16.1 s."""
HIDDEN_WIDTHS = (16, 32, 64, 128)
"""The encoder widths the page offers (the decoder mirrors them)."""
RBF_CENTERS = (16, 32, 64, 128)
"""The RBF variance network's centres the page offers."""
GRID = 60
"""Latent grid points per axis for the magnification map (and the decoded 3-D surface)."""
INDICATRIX_GRID = 9
INDICATRIX_ANGLES = 40
MARGIN = 0.25
"""The latent plane shown extends the encoded data's bounding box by this fraction each way."""
POINT_LIMIT = 10.0
"""The point inputs accept coordinates in [−POINT_LIMIT, POINT_LIMIT] (widened to the plane's box
when a model encodes beyond it), whatever the model: a saved link keeps its points when the
model it names encodes into a slightly different box (another machine's floating point, or
another model in the same link); a point outside the box is computed and drawn all the same."""
ON_DATA = 0.01
OFF_DATA = 0.08
"""Grid cells within ``ON_DATA`` × the plane's diagonal of an encoded point are *on the data*,
those from there to ``OFF_DATA`` × the diagonal its *edge*, those farther *far* from it."""


@dataclass(frozen=True)
class ModelConfig:
    """What the trained model depends on."""

    dataset: str = "digits"
    n: int = 1797
    deterministic: bool = False
    epochs: int = 60
    hidden: int = 64
    seed: int = 0
    beta: float = 1.0

    def __post_init__(self) -> None:
        # The page's widgets keep within these; a crafted request must too (work grows with
        # points × epochs × width).
        if self.dataset not in DATASETS:
            raise ValueError(f"unknown dataset {self.dataset!r}; choose one of "
                             f"{', '.join(DATASETS)}")
        most = 1797 if self.dataset == "digits" else MAX_POINTS_3D
        _check_whole("points", self.n, 2, most)
        _check_whole("epochs", self.epochs, 1, MAX_EPOCHS)
        _check_whole("hidden width", self.hidden, 2, max(HIDDEN_WIDTHS))

    @property
    def widths(self) -> tuple[int, int]:
        return (self.hidden, max(2, self.hidden // 2))


@dataclass(frozen=True)
class MetricConfig:
    """A trained model and the metric on its latent plane."""

    model: ModelConfig
    variance: bool = True
    n_centers: int = 64

    def __post_init__(self) -> None:
        _check_whole("RBF centres", self.n_centers, 2, max(RBF_CENTERS))


def _check_whole(what: str, value: object, low: int, high: int) -> None:
    """Refuse a size outside ``low..high`` (or not a whole number) in plain words."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{what}={value!r} is out of range; use a whole number in "
                         f"{low}..{high}")


@dataclass(frozen=True, eq=False)
class TrainedModel:
    """The data, the frozen model and what the page shows about it."""

    vae: VAE
    X: np.ndarray
    color: np.ndarray
    Z: np.ndarray
    box: tuple[tuple[float, float], tuple[float, float]]
    reconstruction_mse: float
    pca_mse: float
    final_loss: float

    @property
    def spread(self) -> float:
        """The encoded points' standard deviation, averaged over the two latent axes (the
        VAE's prior has 1; codes collapsed onto the prior's centre have much less)."""
        return float(np.mean(self.Z.std(axis=0)))

    @property
    def diagonal(self) -> float:
        """The length of the plane's diagonal (the unit of the page's latent distances)."""
        (u0, u1), (v0, v1) = self.box
        return float(np.hypot(u1 - u0, v1 - v0))


@st.cache_resource(max_entries=6, show_spinner=False)
def model_for(cfg: ModelConfig, _progress: Callable[[float], None] | None = None
              ) -> TrainedModel:
    """Draw the data and train the model (the slow part of the page), in the server's worker
    pool."""
    return in_worker(_train_model, cfg, progress=_progress)


def _train_model(cfg: ModelConfig, progress: Callable[[float], None] | None = None
                 ) -> TrainedModel:
    data = datasets.make(cfg.dataset, n=cfg.n, seed=cfg.seed)
    with models.single_threaded():
        vae = train_vae(data.X, hidden=cfg.widths, epochs=cfg.epochs, seed=cfg.seed,
                        deterministic=cfg.deterministic, beta=cfg.beta, progress=progress)
    Z = vae.encode(data.X)
    lo, hi = Z.min(0), Z.max(0)
    pad = MARGIN * (hi - lo)
    box = ((float(lo[0] - pad[0]), float(hi[0] + pad[0])),
           (float(lo[1] - pad[1]), float(hi[1] + pad[1])))
    pca = PCA(2).fit(data.X)
    pca_mse = float(np.mean((pca.inverse_transform(pca.transform(data.X)) - data.X) ** 2))
    mse = float(np.mean((vae.reconstruct(data.X) - data.X) ** 2))
    return TrainedModel(vae, data.X, data.color, Z, box, mse, pca_mse, float(vae.losses[-1]))


@st.cache_resource(max_entries=6, show_spinner=False)
def variance_for(cfg: MetricConfig) -> RBFVariance | None:
    """The variance network of Arvanitidis et al. (None for the deterministic metric)."""
    if not cfg.variance:
        return None
    trained = model_for(cfg.model)
    with models.single_threaded():
        return fit_rbf_variance(trained.vae, trained.X, n_centers=cfg.n_centers,
                                seed=cfg.model.seed)


@dataclass(frozen=True, eq=False)
class MetricGrid:
    """The metric on the latent plane.

    ``log_magnification[j, i]`` is log₁₀ √det M at ``(u[i], v[j])`` (NaN where M is singular);
    ``ellipse_centers`` (k, 2) and ``ellipse_vectors`` (k, angles, 2) are the metric's unit
    circles; ``decoded`` (GRID, GRID, D) the decoder mean on the grid, indexed like
    ``log_magnification``, for 3-D data only.
    """

    u: np.ndarray
    v: np.ndarray
    log_magnification: np.ndarray
    singular_fraction: float
    ellipse_centers: np.ndarray
    ellipse_vectors: np.ndarray
    decoded: np.ndarray | None


@st.cache_data(max_entries=16, show_spinner=False)
def metric_grid_for(cfg: MetricConfig) -> MetricGrid:
    trained = model_for(cfg.model)
    var = variance_for(cfg)
    (u0, u1), (v0, v1) = trained.box
    u = np.linspace(u0, u1, GRID)
    v = np.linspace(v0, v1, GRID)
    grid = np.stack(np.meshgrid(u, v, indexing="xy"), axis=-1)  # [j, i] = (u_i, v_j)
    decoder = trained.vae.decoder
    with models.single_threaded():
        mag = magnification(decoder, grid, var)
        cu = np.linspace(u0, u1, INDICATRIX_GRID + 2)[1:-1]
        cv = np.linspace(v0, v1, INDICATRIX_GRID + 2)[1:-1]
        centers = np.stack(np.meshgrid(cu, cv, indexing="xy"), axis=-1).reshape(-1, 2)
        vectors = indicatrices(decoder, centers, variance=var, n_angles=INDICATRIX_ANGLES)
        decoded = None
        if trained.X.shape[1] == 3:
            with torch.no_grad():
                decoded = decoder(torch.as_tensor(grid)).numpy()
    with np.errstate(divide="ignore"):
        log_mag = np.where(mag > 0, np.log10(np.where(mag > 0, mag, 1.0)), np.nan)
    return MetricGrid(u, v, log_mag, float(np.mean(~(mag > 0))), centers, vectors, decoded)


@dataclass(frozen=True)
class Regions:
    """Median log₁₀ √det M over the grid cells on the data, at its edge and far from it (NaN
    where a band has no finite cell); see :data:`ON_DATA`."""

    on_data: float
    edge: float
    far: float


@st.cache_data(max_entries=16, show_spinner=False)
def regions_for(cfg: MetricConfig) -> Regions:
    """Where the decoder stretches: the magnification on, next to and far from the data."""
    trained = model_for(cfg.model)
    grid = metric_grid_for(cfg)
    cells = np.stack(np.meshgrid(grid.u, grid.v, indexing="xy"), axis=-1).reshape(-1, 2)
    distance = cKDTree(trained.Z).query(cells)[0] / trained.diagonal
    log_mag = grid.log_magnification.reshape(-1)

    def median(sel: np.ndarray) -> float:
        values = log_mag[sel & np.isfinite(log_mag)]
        return float(np.median(values)) if values.size else float("nan")

    return Regions(median(distance < ON_DATA),
                   median((distance >= ON_DATA) & (distance < OFF_DATA)),
                   median(distance >= OFF_DATA))


@dataclass(frozen=True, eq=False)
class Paths:
    """The straight segment and the geodesic; with the variance-aware metric, the largest
    decoder standard deviation ‖σ(z)‖ met along each (how far into the unknown it goes)."""

    straight: LatentCurve
    geodesic: LatentCurve
    straight_sigma: float | None = None
    geodesic_sigma: float | None = None

    @property
    def ratio(self) -> float:
        return self.straight.length / self.geodesic.length if self.geodesic.length > 0 \
            else float("nan")


@st.cache_data(max_entries=64, show_spinner=False)
def paths_for(cfg: MetricConfig, z0: tuple[float, float], z1: tuple[float, float],
              n_points: int, method: str) -> Paths:
    """The straight latent segment and the geodesic between two points."""
    trained = model_for(cfg.model)
    var = variance_for(cfg)
    with models.single_threaded():
        line = straight_line(trained.vae.decoder, z0, z1, n_points, variance=var)
        geo = latent_geodesic(trained.vae.decoder, z0, z1, n_points, variance=var,
                              method=method)  # type: ignore[arg-type]
        if var is None:
            return Paths(line, geo)
        with torch.no_grad():
            sigma = [float(np.max(np.linalg.norm(var(torch.as_tensor(c.points)).numpy(), axis=1)))
                     for c in (line, geo)]
    return Paths(line, geo, sigma[0], sigma[1])


def curve_gap(a: LatentCurve, b: LatentCurve, diagonal: float) -> float:
    """The largest distance between corresponding points of two curves sampled alike (both
    at constant speed, as the energy and boundary-value geodesics are), as a fraction of
    ``diagonal``."""
    if a.points.shape != b.points.shape:
        return float("nan")
    return float(np.max(np.linalg.norm(a.points - b.points, axis=1)) / diagonal)


def point_bounds(box: tuple[tuple[float, float], tuple[float, float]]
                 ) -> tuple[tuple[float, float], tuple[float, float]]:
    """The point inputs' bounds per axis: ±:data:`POINT_LIMIT`, widened to hold the plane's box."""
    return tuple((min(-POINT_LIMIT, lo), max(POINT_LIMIT, hi))  # type: ignore[return-value]
                 for lo, hi in box)


def default_points(trained: TrainedModel) -> tuple[tuple[float, float], tuple[float, float]]:
    """Two encoded data points far apart: for classes (digits), the medoid of the first class
    and of the class whose medoid is farthest from it; for a continuous colour (an intrinsic
    coordinate), the medoids of its lowest and highest tenths."""
    if trained.X.shape[1] != 3:
        groups = [trained.Z[trained.color == c] for c in np.unique(trained.color)]
    else:
        lo, hi = np.quantile(trained.color, [0.1, 0.9])
        groups = [trained.Z[trained.color <= lo], trained.Z[trained.color >= hi]]
    medoids = []
    for pts in groups:
        pts = pts if len(pts) else trained.Z
        med = np.median(pts, axis=0)
        medoids.append(pts[np.argmin(np.linalg.norm(pts - med, axis=1))])
    first = medoids[0]
    far = max(medoids[1:], key=lambda m: float(np.linalg.norm(m - first)))
    return ((round(float(first[0]), 3), round(float(first[1]), 3)),
            (round(float(far[0]), 3), round(float(far[1]), 3)))
