"""Against GraphRicciCurvature (the `test` extra): exact Ollivier–Ricci on 10 random kNN graphs
agrees to 1e-6 with uniform measures (its ``exp_power=0``) and with Gaussian ones (its
``exp_power=2`` on lengths measured in the median edge length), and Forman's 1-d formula
agrees on weighted graphs. GraphRicciCurvature always hands its edges to a
``multiprocessing`` pool; the test swaps that pool for an in-process loop, so nothing forks
inside the test runner (and clears the per-node memo the forks would have discarded).
Also: our network-simplex call agrees with ``ot.emd2``."""

from __future__ import annotations

import math
import types

import networkx as nx
import numpy as np
import ot
import pytest

from geomcore.curvature import forman_ricci, knn_graph, ollivier_ricci
from geomcore.embedding import min_connecting_neighbors

orc_module = pytest.importorskip("GraphRicciCurvature.OllivierRicci")
frc_module = pytest.importorskip("GraphRicciCurvature.FormanRicci")


class _InProcessPool:
    """The part of ``multiprocessing.Pool`` GraphRicciCurvature uses, run in this process."""

    def __init__(self, processes: int | None = None) -> None:
        pass

    def __enter__(self) -> _InProcessPool:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def imap_unordered(self, func, iterable, chunksize=1):
        return [func(item) for item in iterable]

    def close(self) -> None:
        pass

    def join(self) -> None:
        pass


@pytest.fixture()
def in_process(monkeypatch):
    fake = types.SimpleNamespace(get_context=lambda method=None: types.SimpleNamespace(
        Pool=_InProcessPool), cpu_count=lambda: 1)
    monkeypatch.setattr(orc_module, "mp", fake)


def _random_knn_graph(seed: int) -> nx.Graph:
    rng = np.random.default_rng(seed)
    n, dim = int(rng.integers(40, 120)), int(rng.integers(2, 5))
    X = rng.normal(size=(n, dim)) * rng.uniform(0.1, 10.0)
    k = max(int(rng.integers(3, 9)), min_connecting_neighbors(X))
    return knn_graph(X, k)


def _reference(G: nx.Graph, alpha: float, exp_power: float) -> dict:
    # Its neighbour distributions are memoised per node index at module level and never
    # cleared (each pool worker is a fresh fork); in one process, clear them per graph.
    orc_module._get_single_node_neighbors_distributions.cache_clear()
    orc = orc_module.OllivierRicci(G, alpha=alpha, method="OTD", exp_power=exp_power, proc=1,
                                   verbose="ERROR")
    return orc.compute_ricci_curvature_edges()


def _lookup(values: dict, u, v) -> float:
    return values[(u, v)] if (u, v) in values else values[(v, u)]


@pytest.mark.parametrize("seed", range(10))
def test_exact_matches_graph_ricci_curvature(in_process, seed):
    G = _random_knn_graph(seed)
    alpha = [0.0, 0.5, 0.25, 0.9, 0.5, 0.1, 0.5, 0.7, 0.0, 0.5][seed]
    ours = ollivier_ricci(G, alpha=alpha, method="exact")
    ref = _reference(G, alpha, exp_power=0)  # e^(−w⁰) = 1/e for every neighbour: uniform
    assert len(ref) == len(ours) == G.number_of_edges()
    diff = max(abs(k - _lookup(ref, u, v)) for (u, v), k in ours.items())
    assert diff < 1e-6


@pytest.mark.parametrize("seed", range(3))
def test_gaussian_mass_matches_graph_ricci_curvature(in_process, seed):
    G = _random_knn_graph(100 + seed)
    h = float(np.median([w for *_, w in G.edges(data="weight")]))
    # GraphRicciCurvature weighs neighbours by e^(−ℓ²) in the graph's units; ours by
    # e^(−(ℓ/h)²): the same on the graph rescaled to h = 1.
    unit = nx.Graph()
    unit.add_weighted_edges_from((u, v, w / h) for u, v, w in G.edges(data="weight"))
    ours = ollivier_ricci(G, alpha=0.5, mass="gaussian")
    ref = _reference(unit, 0.5, exp_power=2)
    diff = max(abs(k - _lookup(ref, u, v)) for (u, v), k in ours.items())
    assert diff < 1e-6


def test_forman_1d_matches_graph_ricci_curvature():
    G = _random_knn_graph(7)
    ref_graph = frc_module.FormanRicci(G, method="1d", verbose="ERROR")
    ref_graph.compute_ricci_curvature()
    ours = forman_ricci(G)
    for u, v, ref in ref_graph.G.edges(data="formanCurvature"):
        assert _lookup(ours, u, v) == pytest.approx(ref, rel=1e-10, abs=1e-10)


def test_augmented_forman_matches_graph_ricci_curvature_on_unweighted_graphs():
    G = nx.gnp_random_graph(30, 0.3, seed=4)
    ref_graph = frc_module.FormanRicci(G, method="augmented", verbose="ERROR")
    ref_graph.compute_ricci_curvature()
    ours = forman_ricci(G, augmented=True, weight=None)
    for u, v, ref in ref_graph.G.edges(data="formanCurvature"):
        assert _lookup(ours, u, v) == pytest.approx(ref, abs=1e-10)


def test_network_simplex_call_agrees_with_ot_emd2():
    from ot.lp.emd_wrap import emd_c  # the solver geomcore.curvature.ollivier calls

    rng = np.random.default_rng(0)
    for _ in range(20):
        p, q = rng.integers(1, 15, size=2)
        a = rng.random(p)
        b = rng.random(q)
        a, b = a / a.sum(), b / b.sum()
        M = rng.random((p, q)) * 3
        assert emd_c(a, b, M, 100_000, 1)[1] == pytest.approx(ot.emd2(a, b, M), abs=1e-12)
    assert math.isfinite(float(ot.emd2(a, b, M)))
