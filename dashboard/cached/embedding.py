"""Caching for the Representations lab (``dashboard/views/embedding.py``).

Every result is plain arrays (``st.cache_data``, shared by every session, bounded by
``max_entries``). A method run computes, in one cached call, everything the page draws from the
fitted model: the embedding, its quality, the out-of-sample embedding of fresh points, and for
GDE the training curves and the decoder's grid. The fitted estimators themselves are not kept:
scikit-learn's Isomap holds two n×n matrices (64 MB at n = 2000), and a view-only change only
needs the arrays. Changing a GDE weight retrains GDE alone; adding a method runs that method
alone.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import streamlit as st
from scipy.sparse.csgraph import shortest_path
from sklearn.neighbors import NearestNeighbors

from dashboard.cached.common import in_worker
from dashboard.i18n import t
from geomcore.embedding import (
    Dataset,
    GeometricDeepEncoder,
    evaluate,
    fit_embedding,
    geodesic_path,
    graph_distance_error,
    intrinsic_spearman,
    make,
    min_connecting_neighbors,
    neighbor_graph,
    out_of_sample_offset,
    short_circuit_edges,
)
from geomcore.embedding.gde import GDEHistory

MAX_N = 2000
"""Most points the page draws: Isomap's fit holds n² geodesic distances (32 MB at 2000)."""
N_FRESH = 300
"""Fresh points drawn from the same manifold to test the out-of-sample maps."""
GRID = 28
"""Latent grid (GRID × GRID) that the decoder maps back into data space."""
DIGIT_GRID = 10
"""Latent grid of decoded digit images (DIGIT_GRID × DIGIT_GRID tiles)."""
MAX_GRAPH_EDGES = 15_000
"""Most neighbour-graph edges drawn in 3-D (a browser slows down past this)."""
ERROR_CURVE_KS = (4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40)
"""Neighbour counts of the graph-distance error curve."""
PAIR_SOURCES = 300
METHOD_SECONDS = {"pca": 0.2, "isomap": 2.5, "lle": 1.0, "ltsa": 6.0, "hessian_lle": 5.0,
                  "laplacian": 0.5, "mds": 9.0, "tsne": 18.0}
"""CPU seconds of one method's cached run (fit, measures, new points) at n = 2000, k = 50, as
measured on this machine (swiss roll, AppTest). GDE: :data:`GDE_SECONDS_PER_EPOCH`."""
GDE_SECONDS_PER_EPOCH = 0.04
"""GDE at n = 2000: 400 epochs took 16.5 s of CPU."""
MAX_GDE_EPOCHS = 300
"""Most GDE epochs a request may ask for. The training view trains GDE and the 60-epoch
collapse run in one request: at n = 2000, k = 50 that took 19-21 s of CPU with 400 epochs,
15.6 s with 300 (benchmarks/worst_case.py)."""
MAX_REQUEST_SECONDS = 20.0
"""Most estimated CPU seconds of methods one page change may start: all nine methods at the
maxima took 45 s of CPU in one request."""


@dataclass(frozen=True)
class DataConfig:
    """Arguments of :func:`geomcore.embedding.make`."""

    name: str = "swiss_roll"
    n: int = 1500
    noise: float = 0.0
    seed: int = 0


@dataclass(frozen=True)
class GDEConfig:
    """GDE's settings that the page exposes (the rest are the estimator's defaults)."""

    epochs: int = 100
    stress_weight: float = 1.0
    reconstruction_weight: float = 1.0
    loss: str = "stress"

    def __post_init__(self) -> None:
        if not isinstance(self.epochs, int) or not 1 <= self.epochs <= MAX_GDE_EPOCHS:
            raise ValueError(f"GDE epochs={self.epochs!r} is out of range; use a whole number "
                             f"in 1..{MAX_GDE_EPOCHS}")


@dataclass(frozen=True)
class RunConfig:
    """One method on one dataset: everything that changes its result."""

    data: DataConfig
    method: str
    n_neighbors: int = 10
    gde: GDEConfig | None = None  # only for method "gde"


@dataclass(frozen=True, eq=False)
class MethodRun:
    """What the page draws from one fitted method.

    ``fresh_Y`` is the out-of-sample embedding of :func:`fresh_for`'s points (None for methods
    without ``transform``); ``fresh_spearman`` and ``fresh_offset`` measure it (see
    :func:`geomcore.embedding.quality.out_of_sample_offset`). ``history`` and ``decoded`` exist
    for GDE only: ``decoded`` has shape=[GRID, GRID, D] over the latent box ``grid_u × grid_v``.
    """

    Y: np.ndarray
    seconds: float
    metrics: dict[str, float]
    fresh_Y: np.ndarray | None = None
    fresh_seconds: float = math.nan
    fresh_spearman: float = math.nan
    fresh_offset: float = math.nan
    history: GDEHistory | None = None
    decoded: np.ndarray | None = None
    grid_u: np.ndarray = field(default_factory=lambda: np.empty(0))
    grid_v: np.ndarray = field(default_factory=lambda: np.empty(0))


@st.cache_data(max_entries=16, show_spinner=False)
def dataset_for(cfg: DataConfig) -> Dataset:
    return make(cfg.name, n=cfg.n, noise=cfg.noise, seed=cfg.seed)


@st.cache_data(max_entries=16, show_spinner=False)
def view_coords_for(cfg: DataConfig) -> tuple[np.ndarray, tuple[str, str, str]]:
    """3-D coordinates to draw the data in, and their axis titles: the data themselves, or
    for the 64-D digits their first three principal components."""
    X = dataset_for(cfg).X
    if X.shape[1] == 3:
        return X, ("x", "y", "z")
    centred = X - X.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return centred @ vt[:3].T, ("PC 1", "PC 2", "PC 3")


@st.cache_data(max_entries=16, show_spinner=False)
def fresh_for(cfg: DataConfig) -> Dataset:
    """New points of the same manifold and noise (another seed), never seen in training."""
    n = min(N_FRESH, 1797 - cfg.n) if cfg.name == "digits" else N_FRESH
    if n < 10:
        # The digits set is finite: with n close to 1797 there are no unseen digits left.
        # (not cached: st.cache_data keeps no exceptions, so the message follows the language)
        raise ValueError(t("embedding.messages.digits_left", left=1797 - cfg.n, n=cfg.n))
    seed = (cfg.seed + 1) % 2**32
    if cfg.name != "digits":
        return make(cfg.name, n=n, noise=cfg.noise, seed=seed)
    # Unseen digits: those make(n=cfg.n) left out (a second draw could repeat training images).
    full = make("digits", n=1797, noise=0.0, seed=cfg.seed)
    used = _digit_rows(cfg)
    unused = np.setdiff1d(np.arange(1797), used)
    pick = np.sort(np.random.default_rng(seed).choice(unused, size=n, replace=False))
    X = full.X[pick]
    if cfg.noise > 0:
        X = X + np.random.default_rng(seed).normal(0.0, cfg.noise, X.shape)
    return Dataset(name="digits", description=full.description, X=X, intrinsic=None,
                   color=full.color[pick], isometric=False)


def _digit_rows(cfg: DataConfig) -> np.ndarray:
    """Rows of the full digits set that ``make("digits", cfg.n, seed=cfg.seed)`` returns."""
    if cfg.n >= 1797:
        return np.arange(1797)
    return np.sort(np.random.default_rng(cfg.seed).choice(1797, size=cfg.n, replace=False))


def _gde_estimator(run: RunConfig) -> GeometricDeepEncoder:
    g = run.gde or GDEConfig()
    return GeometricDeepEncoder(n_neighbors=run.n_neighbors, epochs=g.epochs,
                                stress_weight=g.stress_weight,
                                reconstruction_weight=g.reconstruction_weight, loss=g.loss,
                                random_state=run.data.seed)


RUN_CACHE_SIZE = 48


@st.cache_resource(max_entries=1, show_spinner=False)
def _finished() -> dict[RunConfig, None]:
    """The runs :func:`run_for` has computed, oldest first (an ordered set, bounded like the
    cache it mirrors)."""
    return {}


def is_computed(run: RunConfig) -> bool:
    """Whether ``run`` was computed on this server, so that asking for it again costs nothing
    (approximately: the two caches evict alike, oldest first)."""
    return run in _finished()


@st.cache_data(max_entries=RUN_CACHE_SIZE, show_spinner=False)
def run_for(run: RunConfig, _progress: Callable[[float], None] | None = None) -> MethodRun:
    """Fit ``run.method``, measure it, and embed the fresh points (cached for everyone);
    computed in the server's worker pool."""
    out = in_worker(_fit_and_measure, run, dataset_for(run.data), fresh_for(run.data),
                    progress=_progress)
    finished = _finished()
    finished[run] = None
    while len(finished) > RUN_CACHE_SIZE:
        del finished[next(iter(finished))]
    return MethodRun(**out)


def _fit_and_measure(run: RunConfig, data: Dataset, fresh: Dataset,
                     progress: Callable[[float], None] | None = None) -> dict[str, Any]:
    """What :func:`run_for` computes, as the fields of a :class:`MethodRun`."""
    start = time.perf_counter()
    if run.method == "gde":
        est = _gde_estimator(run)
        Y = est.fit_transform(data.X, progress=progress)
    else:
        est, Y = fit_embedding(run.method, data.X, n_neighbors=run.n_neighbors,
                               seed=run.data.seed)
    seconds = time.perf_counter() - start
    k = min(run.n_neighbors, (data.n - 1) // 2)
    metrics = evaluate(data.X, Y, n_neighbors=k, intrinsic=data.intrinsic)
    out: dict[str, Any] = dict(Y=Y, seconds=seconds, metrics=metrics)
    if hasattr(est, "transform"):
        start = time.perf_counter()
        fresh_Y = np.asarray(est.transform(fresh.X), dtype=float)
        out["fresh_seconds"] = time.perf_counter() - start
        out["fresh_Y"] = fresh_Y
        if np.ptp(Y, axis=0).max() > 0:  # a collapsed embedding has no spread to compare to
            out["fresh_offset"] = out_of_sample_offset(data.X, Y, fresh.X, fresh_Y)
        if fresh.intrinsic is not None:
            out["fresh_spearman"] = intrinsic_spearman(fresh_Y, fresh.intrinsic)
    if isinstance(est, GeometricDeepEncoder):
        out["history"] = est.history_
        if Y.shape[1] == 2:
            lo, hi = np.percentile(Y, [1, 99], axis=0)
            u, v = np.linspace(lo[0], hi[0], GRID), np.linspace(lo[1], hi[1], GRID)
            if data.X.shape[1] > 3:  # images: a coarser grid of tiles
                u, v = np.linspace(lo[0], hi[0], DIGIT_GRID), np.linspace(lo[1], hi[1],
                                                                         DIGIT_GRID)
            uu, vv = np.meshgrid(u, v, indexing="ij")
            grid = np.column_stack([uu.ravel(), vv.ravel()])
            decoded = est.inverse_transform(grid)
            # Only grid points near the embedded data: elsewhere the decoder extrapolates,
            # and a sheet flung far from the data would say nothing about the manifold.
            decoded[~_near_data(grid, Y, step=max(u[1] - u[0], v[1] - v[0]))] = np.nan
            out.update(decoded=decoded.reshape(u.size, v.size, -1), grid_u=u, grid_v=v)
    return out


def _near_data(grid: np.ndarray, Y: np.ndarray, *, step: float) -> np.ndarray:
    """Grid points (shape=[m, 2]) within one grid step of an embedded point, shape=[m]."""
    dist = NearestNeighbors(n_neighbors=1).fit(Y).kneighbors(grid)[0][:, 0]
    return dist <= step


@dataclass(frozen=True, eq=False)
class PairView:
    """A pair of points, the graph geodesic between them and the straight chord."""

    i: int
    j: int
    path: np.ndarray
    chord: float
    graph_length: float
    true_length: float  # NaN where the data have no isometric coordinates


@st.cache_data(max_entries=16, show_spinner=False)
def misleading_pair_for(cfg: DataConfig, n_neighbors: int) -> tuple[int, int]:
    """The pair (among paths from a few hundred sources) whose graph distance exceeds its
    straight chord the most: where Euclidean distance lies worst."""
    data = dataset_for(cfg)
    rng = np.random.default_rng(cfg.seed)
    src = np.sort(rng.choice(data.n, size=min(PAIR_SOURCES, data.n), replace=False))
    D = shortest_path(neighbor_graph(data.X, n_neighbors), method="D", directed=False,
                      indices=src)
    chord = np.linalg.norm(data.X[src][:, None, :] - data.X[None, :, :], axis=-1)
    # Long paths only: a ratio between close points is noise of the graph's zig-zag.
    ratio = np.where(D > 0.25 * D.max(), D / np.maximum(chord, 1e-300), 0.0)
    a, b = np.unravel_index(int(np.argmax(ratio)), ratio.shape)
    return int(src[a]), int(b)


@st.cache_data(max_entries=32, show_spinner=False)
def pair_for(cfg: DataConfig, n_neighbors: int, i: int, j: int) -> PairView:
    data = dataset_for(cfg)
    path = geodesic_path(data.X, n_neighbors, i, j)
    graph_length = float(np.sum(np.linalg.norm(np.diff(data.X[path], axis=0), axis=1)))
    true = math.nan
    if data.isometric and data.intrinsic is not None:
        true = float(np.linalg.norm(data.intrinsic[i] - data.intrinsic[j]))
    return PairView(i=i, j=j, path=path, chord=float(np.linalg.norm(data.X[i] - data.X[j])),
                    graph_length=graph_length, true_length=true)


@dataclass(frozen=True, eq=False)
class GraphView:
    """The neighbour graph's edges (``edges``, shape=[m, 2]), its short circuits, and the
    graph-distance error as the neighbour count grows."""

    edges: np.ndarray
    drawn_every: int  # 1 = every edge drawn; s = one edge in s (too many to draw)
    short: np.ndarray
    ks: np.ndarray
    errors: np.ndarray
    short_counts: np.ndarray
    min_k: int


@st.cache_data(max_entries=16, show_spinner=False)
def graph_for(cfg: DataConfig, n_neighbors: int) -> GraphView:
    data = dataset_for(cfg)
    G = neighbor_graph(data.X, n_neighbors).tocoo()
    upper = G.row < G.col
    edges = np.column_stack([G.row[upper], G.col[upper]]).astype(int)
    every = max(1, math.ceil(edges.shape[0] / MAX_GRAPH_EDGES))
    if data.intrinsic is None or not data.isometric:
        empty = np.empty(0)
        return GraphView(edges=edges[::every], drawn_every=every, short=np.empty((0, 2), int),
                         ks=empty, errors=empty, short_counts=empty, min_k=0)
    min_k = min_connecting_neighbors(data.X)
    ks = np.array(sorted({k for k in (*ERROR_CURVE_KS, n_neighbors)
                          if min_k <= k < data.n}), dtype=int)
    errors = np.array([graph_distance_error(data.X, data.intrinsic, int(k), sources=60,
                                            seed=cfg.seed) for k in ks])
    counts = np.array([short_circuit_edges(data.X, data.intrinsic, int(k)).shape[0]
                       for k in ks])
    return GraphView(edges=edges[::every], drawn_every=every,
                     short=short_circuit_edges(data.X, data.intrinsic, n_neighbors),
                     ks=ks, errors=errors, short_counts=counts, min_k=min_k)


def within_budget(methods: list[str], n: int, epochs: int, *,
                  computed: Collection[str] = ()) -> tuple[list[str], list[str], float]:
    """Split ``methods`` (in the reader's order) into those one page change runs and those it
    refuses, so that the estimated CPU time of the run ones stays within
    :data:`MAX_REQUEST_SECONDS`; also returns the estimate for all of them. Methods in
    ``computed`` are already cached and cost nothing.

    Estimates scale the times at n = 2000 (:data:`METHOD_SECONDS`) by n/2000, which
    overestimates the methods that grow faster than n at smaller n: on the safe side.
    """
    scale = n / 2000
    cost = {m: 0.0 if m in computed else
            scale * (epochs * GDE_SECONDS_PER_EPOCH if m == "gde" else METHOD_SECONDS[m])
            for m in methods}
    run: list[str] = []
    refused: list[str] = []
    used = 0.0
    for m in methods:
        if used + cost[m] <= MAX_REQUEST_SECONDS:
            run.append(m)
            used += cost[m]
        else:
            refused.append(m)
    return run, refused, sum(cost.values())
