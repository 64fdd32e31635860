"""Caching for the Riemannian-optimisation lab (``dashboard/views/riemannian.py``).

One cached call per view and setting, keyed on frozen configs of primitives: switching views,
or changing what a view shows (the iteration with arrows, the federated round), reruns the page
against cache hits. Every call runs with one torch thread (tiny tensors; on a busy 2-core server
waiting OpenMP threads made runs several times slower).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from dashboard.cached.common import in_worker
from dashboard.i18n import language, t
from geomcore.optim.training import single_threaded
from geomcore.riemannian import demos
from geomcore.riemannian.federated import FederatedHistory
from geomcore.riemannian.federated import run as federated_run
from geomcore.riemannian.problems import TreeEmbedding, balanced_tree, embed_tree

Progress = Callable[[float], None] | None
FLOOR_TAUS = (1, 5, 20)
FLOOR_LRS = (0.05, 0.1, 0.2)
ST_N, ST_P = 20, 3
"""The federated St(n, p) comparison's size: small enough for a page, large enough to show the
floor."""


@dataclass(frozen=True)
class SphereConfig:
    eigenvalues: tuple[float, float, float] = (3.0, 1.0, -1.0)
    lr: float = 0.1
    steps: int = 60
    seed: int = 0


@st.cache_data(max_entries=32, show_spinner=False)
def sphere_for(cfg: SphereConfig) -> demos.SphereDemo:
    with single_threaded():
        return demos.sphere_demo(cfg.eigenvalues, lr=cfg.lr, steps=cfg.steps, seed=cfg.seed)


@dataclass(frozen=True)
class SPDConfig:
    """``kind`` one of :data:`geomcore.riemannian.demos.SPD_EXAMPLES` or ``"custom"`` (then
    ``text`` holds the matrices, see :func:`~geomcore.riemannian.demos.parse_spd_text`)."""

    kind: str = "equal_determinants"
    count: int = 3
    seed: int = 0
    text: str = ""


@st.cache_data(max_entries=32, show_spinner=False)
def spd_for(cfg: SPDConfig) -> demos.SPDMeans:
    matrices = (demos.parse_spd_text(cfg.text) if cfg.kind == "custom"
                else demos.spd_examples(cfg.kind, cfg.count, cfg.seed))
    with single_threaded():
        return demos.spd_means(matrices)


PAGE_MAX_NODES = 130
"""Largest tree the page embeds (121 nodes take about 2 s; 364 took 11 s)."""


@dataclass(frozen=True)
class TreeConfig:
    depth: int = 4
    branching: int = 2
    seed: int = 0


@st.cache_data(max_entries=16, show_spinner=False)
def trees_for(cfg: TreeConfig) -> tuple[TreeEmbedding, TreeEmbedding]:
    """The hyperbolic and the Euclidean embedding of the same tree from the same start."""
    tree = balanced_tree(cfg.depth, cfg.branching)
    if tree.n_nodes > PAGE_MAX_NODES:
        # (an exception is never cached: the message is in the language of each call)
        raise ValueError(t("riemannian.errors.too_many_nodes", depth=cfg.depth,
                           branching=cfg.branching, n=tree.n_nodes, max=PAGE_MAX_NODES))
    with single_threaded():
        # 20 frames: the animation's JSON is sent on every rerun of the view
        return (embed_tree(tree, "hyperbolic", seed=cfg.seed, n_snapshots=20),
                embed_tree(tree, "euclidean", seed=cfg.seed, n_snapshots=20))


@dataclass(frozen=True)
class StiefelConfig:
    n: int = 20
    p: int = 3
    steps: int = 200
    lr_sgd: float = 0.05
    lr_adam: float = 0.3
    seed: int = 0


@st.cache_data(max_entries=16, show_spinner=False)
def stiefel_for(cfg: StiefelConfig) -> dict[str, demos.Trace]:
    with single_threaded():
        return demos.brockett_demo(cfg.n, cfg.p, steps=cfg.steps, lr_sgd=cfg.lr_sgd,
                                   lr_adam=cfg.lr_adam, seed=cfg.seed)


@dataclass(frozen=True)
class FederatedConfig:
    n_clients: int = 10
    heterogeneity: float = 1.0
    local_steps: int = 5
    participation: float = 1.0
    lr: float = 0.2
    rounds: int = 100
    aggregation: str = "tangent"
    algorithm: str = "rfedavg"
    seed: int = 0


@st.cache_data(max_entries=16, show_spinner=False)
def federated_sphere_for(cfg: FederatedConfig) -> FederatedHistory:
    """The S² picture's run (client paths kept), for the chosen algorithm."""
    with single_threaded():
        return federated_run("sphere_eigenvector", n=3, n_clients=cfg.n_clients,
                             heterogeneity=cfg.heterogeneity, local_steps=cfg.local_steps,
                             rounds=min(cfg.rounds, 60), lr=cfg.lr, algorithm=cfg.algorithm,
                             aggregation=cfg.aggregation, participation=cfg.participation,
                             seed=cfg.seed, keep_paths=True)


@st.cache_data(max_entries=16, show_spinner=False)
def federated_stiefel_for(cfg: FederatedConfig, _progress: Progress = None
                          ) -> dict[str, FederatedHistory]:
    """RFedAvg, RFedSVRG and centralised GD on St(20, 3) with the page's settings, computed in
    the server's worker pool."""
    return in_worker(_federated_stiefel, cfg, progress=_progress)


def _federated_stiefel(cfg: FederatedConfig, progress: Progress = None
                       ) -> dict[str, FederatedHistory]:
    out = {}
    with single_threaded():
        for i, algorithm in enumerate(("rfedavg", "rfedsvrg", "centralised")):
            out[algorithm] = federated_run(
                "kpca", n=ST_N, p=ST_P, n_clients=cfg.n_clients,
                heterogeneity=cfg.heterogeneity, local_steps=cfg.local_steps,
                rounds=cfg.rounds, lr=cfg.lr, algorithm=algorithm,
                aggregation=cfg.aggregation, participation=cfg.participation, seed=cfg.seed)
            if progress is not None:
                progress((i + 1) / 3)
    return out


@st.cache_data(max_entries=8, show_spinner=False)
def floors_for(n_clients: int, heterogeneity: float, participation: float, seed: int,
               _progress: Progress = None) -> np.ndarray:
    """RFedAvg's error floor over :data:`FLOOR_TAUS` × :data:`FLOOR_LRS` (120 rounds each),
    computed in the server's worker pool."""
    return in_worker(demos.federated_floors, FLOOR_TAUS, FLOOR_LRS, n=ST_N, p=ST_P,
                     n_clients=n_clients, heterogeneity=heterogeneity, rounds=120,
                     participation=participation, seed=seed, progress=_progress)


@st.cache_resource(max_entries=64, show_spinner=False)
def _figure_cache(key: Hashable, _build: Callable[[], go.Figure]) -> go.Figure:
    return _build()


def figure_for(key: Hashable, build: Callable[[], go.Figure]) -> go.Figure:
    """The figure ``build()`` returns, built once per ``key`` and shared by every session (as
    :func:`dashboard.cached.common.cached_figure`, in this lab's own cache so that its many
    view settings do not push the other labs' figures out). Building and validating a Plotly
    figure costs more than the rest of a rerun here; ``key`` names everything it depends on,
    and the reader's language is added to it (the builders translate their texts)."""
    return _figure_cache((language(), key), build)
