"""Caching for the Ricci-curvature lab (``dashboard/views/curvature.py``).

One cached call per source and setting (a sampled surface, a dataset with its embeddings, a
trained network's layers over training); each returns plain arrays and dataclasses, so it
lives in ``st.cache_data``. A view-only change (which picture, which layer or step) reruns the
page against cache hits; the heavy 3-D figures are built once per setting
(:func:`dashboard.cached.common.cached_figure`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import streamlit as st

from dashboard.cached.common import in_worker
from dashboard.i18n import t
from geomcore.curvature import (
    EpsilonLaw,
    LayerCurvature,
    PointCurvature,
    curvature_over_training,
    epsilon_law,
    point_curvature,
    sample_surface,
    sphere_and_flat_torus,
)
from geomcore.curvature.sampling import SurfaceSample
from geomcore.embedding import GeometricDeepEncoder, embed, make
from geomcore.optim import compare, make_task

GDE_EPOCHS = 60
"""GDE's training passes on this page: its default quality on these datasets in ~2 s."""
NETWORK_SNAPSHOTS = 6
"""Training states whose layers are measured (the first, the last and evenly between)."""
REPRESENTATIONS = ("data", "Isomap", "GDE")
MAX_TRANSPORT_WORK = 1_500_000
"""Bound on one request's Ollivier work, Σ n·(k+1)² over the kNN graphs it measures (each edge
solves a transport problem of about (k+1)² cells, and there are about n·k edges). Measured on
this machine (torus samples, one graph): n = 800, k = 60 (3.0e6) took 13 s of CPU exact, 19 s
with Sinkhorn at ε = 0.01, and 3.7 GB; n = 2000, k = 60 (7.4e6) 38 s and 9 GB. At this bound a
request stays under about 8 s and 2 GB."""


@dataclass(frozen=True)
class CurvatureSettings:
    """How curvature is measured: the kNN graph and the estimator."""

    n_neighbors: int = 10
    alpha: float = 0.5
    method: str = "exact"
    mass: str = "uniform"
    epsilon: float = 0.05
    max_iter: int = 2000


@dataclass(frozen=True)
class SurfaceConfig:
    name: str = "torus"
    n: int = 600
    seed: int = 0
    settings: CurvatureSettings = CurvatureSettings()


@dataclass(frozen=True)
class EmbeddingConfig:
    dataset: str = "swiss_roll"
    n: int = 600
    seed: int = 0
    settings: CurvatureSettings = CurvatureSettings()


@dataclass(frozen=True)
class NetworkConfig:
    task: str = "moons"
    n: int = 300
    hidden: tuple[int, ...] = (16, 16)
    steps: int = 200
    seed: int = 0
    settings: CurvatureSettings = CurvatureSettings()


@dataclass(frozen=True, eq=False)
class SurfaceResult:
    sample: SurfaceSample
    curvature: PointCurvature
    flat: PointCurvature | None
    law: EpsilonLaw


@dataclass(frozen=True, eq=False)
class EmbeddingResult:
    """Each representation's curvature, or the plain reason it could not be measured."""

    labels: np.ndarray
    curvature: dict[str, PointCurvature]
    errors: dict[str, str]


@dataclass(frozen=True, eq=False)
class NetworkResult:
    runs: list[list[LayerCurvature]]
    labels: np.ndarray
    final_loss: float
    final_accuracy: float
    status: str
    message: str


def check_work(n: int, n_neighbors: int, graphs: int, method: str) -> None:
    """Refuse an Ollivier request above :data:`MAX_TRANSPORT_WORK`.

    Raises ``ValueError`` (shown by the page in words) naming the largest k that fits; Forman
    curvature is a sum over neighbours and is never refused.
    """
    if method not in ("exact", "sinkhorn", "ollivier"):
        return
    work = graphs * n * (n_neighbors + 1) ** 2
    if work > MAX_TRANSPORT_WORK:
        k_max = max(1, int(np.sqrt(MAX_TRANSPORT_WORK / (graphs * n))) - 1)
        # raised before the cached call's result exists, so never cached in one language
        what = (t("curvature.errors.one_graph") if graphs == 1
                else t("curvature.errors.graphs", count=graphs))
        raise ValueError(t("curvature.errors.too_much_work", n=n, k=n_neighbors, what=what,
                           k_max=k_max))


def _measure(X: np.ndarray, s: CurvatureSettings,
             progress: Callable[[float], None] | None = None) -> PointCurvature:
    return point_curvature(X, s.n_neighbors, method=s.method, alpha=s.alpha, mass=s.mass,
                           epsilon=s.epsilon, max_iter=s.max_iter, progress=progress)


def _part(progress: Callable[[float], None] | None, lo: float, hi: float
          ) -> Callable[[float], None] | None:
    if progress is None:
        return None
    return lambda f: progress(lo + (hi - lo) * f)


@st.cache_data(max_entries=24, show_spinner=False)
def surface_result(cfg: SurfaceConfig, _progress: Callable[[float], None] | None = None
                   ) -> SurfaceResult:
    """Points of a surface with their true K, their curvature and the ε² law; the sphere is
    paired with the flat torus of the same area (same random numbers) as its flat
    reference. Computed in the server's worker pool."""
    check_work(cfg.n, cfg.settings.n_neighbors, 2 if cfg.name == "sphere" else 1,
               cfg.settings.method)
    return in_worker(_surface_result, cfg, progress=_progress)


def _surface_result(cfg: SurfaceConfig, progress: Callable[[float], None] | None = None
                    ) -> SurfaceResult:
    flat = None
    if cfg.name == "sphere":
        sample, torus = sphere_and_flat_torus(cfg.n, cfg.seed)
        curvature = _measure(sample.X, cfg.settings, _part(progress, 0.0, 0.5))
        flat = _measure(torus.X, cfg.settings, _part(progress, 0.5, 1.0))
    else:
        sample = sample_surface(cfg.name, cfg.n, cfg.seed)
        curvature = _measure(sample.X, cfg.settings, progress)
    law = epsilon_law(sample.K, curvature.node_curvature, curvature.radius,
                      cfg.settings.alpha if cfg.settings.method in ("exact", "sinkhorn")
                      else 0.0, flat_mean=None if flat is None else flat.mean)
    return SurfaceResult(sample, curvature, flat, law)


@st.cache_data(max_entries=12, show_spinner=False)
def embedding_result(cfg: EmbeddingConfig, _progress: Callable[[float], None] | None = None
                     ) -> EmbeddingResult:
    """The dataset, its 2-D Isomap and GDE embeddings, and the curvature of each one's kNN
    graph. A representation that cannot be measured (a disconnected graph...) is reported in
    ``errors`` and the others still are. Computed in the server's worker pool."""
    check_work(cfg.n, cfg.settings.n_neighbors, len(REPRESENTATIONS), cfg.settings.method)
    return in_worker(_embedding_result, cfg, progress=_progress)


def _embedding_result(cfg: EmbeddingConfig, progress: Callable[[float], None] | None = None
                      ) -> EmbeddingResult:
    k = cfg.settings.n_neighbors
    data = make(cfg.dataset, n=cfg.n, seed=cfg.seed)
    out: dict[str, PointCurvature] = {}
    errors: dict[str, str] = {}
    spans = {"data": (0.0, 0.2), "Isomap": (0.2, 0.4), "GDE": (0.4, 1.0)}
    for name in REPRESENTATIONS:
        lo, hi = spans[name]
        try:
            if name == "data":
                X = data.X
            elif name == "Isomap":
                X = embed("isomap", data.X, n_components=2, n_neighbors=k, seed=cfg.seed)
            else:
                X = GeometricDeepEncoder(n_components=2, n_neighbors=k, epochs=GDE_EPOCHS,
                                         random_state=cfg.seed).fit(
                    data.X, progress=_part(progress, lo, lo + 0.8 * (hi - lo))).embedding_
                lo = lo + 0.8 * (hi - lo)
            out[name] = _measure(X, cfg.settings, _part(progress, lo, hi))
        except ValueError as err:
            errors[name] = str(err)
    return EmbeddingResult(np.asarray(data.color), out, errors)


@st.cache_data(max_entries=12, show_spinner=False)
def network_result(cfg: NetworkConfig, _progress: Callable[[float], None] | None = None
                   ) -> NetworkResult:
    """Train an MLP with Adam on a 2-D task and measure every layer at a few snapshots;
    computed in the server's worker pool."""
    # Every snapshot measures the input and each hidden layer.
    check_work(cfg.n, cfg.settings.n_neighbors, NETWORK_SNAPSHOTS * (1 + len(cfg.hidden)),
               cfg.settings.method)
    return in_worker(_network_result, cfg, progress=_progress)


def _network_result(cfg: NetworkConfig, progress: Callable[[float], None] | None = None
                    ) -> NetworkResult:
    task = make_task(cfg.task, n=cfg.n, seed=cfg.seed)
    every = max(1, cfg.steps // (NETWORK_SNAPSHOTS - 1))
    history = compare(task, [task.n_features, *cfg.hidden, task.n_classes],
                      optimizers={"Adam": {"kind": "adam", "lr": 0.03}}, steps=cfg.steps,
                      seed=cfg.seed, snapshot_every=every,
                      progress=_part(progress, 0.0, 0.3))["Adam"]
    s = cfg.settings
    method = "ollivier" if s.method == "exact" else s.method
    runs = curvature_over_training(history, task.X_train, task.y_train, s.n_neighbors, method,
                                   alpha=s.alpha, mass=s.mass, epsilon=s.epsilon,
                                   progress=_part(progress, 0.3, 1.0))
    return NetworkResult(runs, task.y_train, float(history.loss[-1]),
                         float(history.test_accuracy[-1]), history.status, history.message)


# -- numbers the lessons cite ---------------------------------------------------------------------

def _mean_or_nan(values: np.ndarray) -> float:
    values = values[np.isfinite(values)]
    return float(np.mean(values)) if values.size else float("nan")


def degree_forman(pc: PointCurvature) -> float:
    """Mean of ``4 − d_x − d_y`` over the edges: Forman curvature of the same graph with its
    lengths forgotten (what plain Forman reduces to when the edges are about equally long)."""
    degree = np.bincount(pc.edges.ravel(), minlength=pc.X.shape[0])
    return float(np.mean(4.0 - degree[pc.edges[:, 0]] - degree[pc.edges[:, 1]]))


def surface_facts(res: SurfaceResult, s: CurvatureSettings) -> dict[str, float]:
    """What the surface source measured, by name (``lessons.fact``): mean curvature, the ε²
    law's slopes and its constant, node curvature where K > 0 and where K < 0, the flat
    reference and the degree-only Forman value."""
    pc, law, K = res.curvature, res.law, res.sample.K
    kappa = np.asarray(pc.node_curvature, dtype=float)
    ollivier = s.method in ("exact", "sinkhorn")
    lazy = 1.0 - s.alpha if ollivier else 1.0
    return {
        "mean_kappa": float(pc.mean),
        "positive_share": float(np.mean(pc.edge_curvature > 0)),
        "epsilon": float(law.epsilon),
        "predicted_slope": float(law.predicted),
        "measured_slope": float(law.measured),
        "slope_ratio": float(law.ratio),
        "correlation": float(law.correlation),
        # κ ≈ c·(1 − α)·ε²·K with c = 1/8 on a surface: the constant the nodes give
        "fitted_constant": float(law.measured / (lazy * law.epsilon ** 2)),
        "kappa_where_k_positive": _mean_or_nan(kappa[K > 0]),
        "kappa_where_k_negative": _mean_or_nan(kappa[K < 0]),
        "flat_mean_kappa": float(res.flat.mean) if res.flat is not None else float("nan"),
        "degree_forman": degree_forman(pc),
        **boundary_facts(res),
    }


def boundary_facts(res: SurfaceResult) -> dict[str, float]:
    """On the plane patch: mean edge curvature of the edges with an end within ε (the mean
    neighbourhood radius) of the patch's border, and of the others; NaN on other surfaces.
    The plane is (u, v, 0), so the distance to the border is read off the parameters."""
    if res.sample.name != "plane":
        return {"boundary_mean_kappa": float("nan"), "interior_mean_kappa": float("nan")}
    uv, pc = res.sample.uv, res.curvature
    lo, hi = uv.min(axis=0), uv.max(axis=0)
    to_border = np.min(np.hstack([uv - lo, hi - uv]), axis=1)
    inner = to_border > res.law.epsilon
    interior = inner[pc.edges[:, 0]] & inner[pc.edges[:, 1]]
    kappa = np.asarray(pc.edge_curvature, dtype=float)
    return {"boundary_mean_kappa": _mean_or_nan(kappa[~interior]),
            "interior_mean_kappa": _mean_or_nan(kappa[interior])}


def network_facts(res: NetworkResult) -> dict[str, float]:
    """What the network source measured, by name: accuracy, and the last hidden layer's
    curvature and class separation at the first and the last snapshot (and the input's)."""
    first, last = res.runs[0][-1], res.runs[-1][-1]
    return {
        "final_accuracy": float(res.final_accuracy),
        "final_loss": float(res.final_loss),
        "input_silhouette": float(res.runs[-1][0].silhouette),
        "silhouette_start": float(first.silhouette),
        "silhouette_end": float(last.silhouette),
        "same_class_start": float(first.same_class_edges),
        "same_class_end": float(last.same_class_edges),
        "mean_kappa_start": float(first.mean_curvature),
        "mean_kappa_end": float(last.mean_curvature),
    }
