"""Closed forms on graphs, checked against hand computations: Ollivier on complete graphs,
cycles and trees (Jost–Liu), Forman plain and augmented on cycles, complete graphs and small
weighted graphs; and, as a property on random graphs, Forman's unweighted formula
``4 − d_u − d_v (+ 3·#triangles)``."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geomcore.curvature import forman_ricci, node_curvature, ollivier_ricci


@pytest.mark.parametrize("n", [3, 4, 7, 12])
@pytest.mark.parametrize("method", ["exact", "sinkhorn"])
def test_complete_graph(n, method):
    # α = 0, uniform: m_x and m_y share n − 2 nodes; mass 1/(n−1) moves from y to x, one step.
    kappa = ollivier_ricci(nx.complete_graph(n), alpha=0.0, method=method, weight=None)
    tol = 1e-12 if method == "exact" else 2e-3
    assert len(kappa) == n * (n - 1) // 2
    assert np.allclose(list(kappa.values()), (n - 2) / (n - 1), atol=tol, rtol=0)


@pytest.mark.parametrize("n", [6, 7, 10, 25])
@pytest.mark.parametrize("alpha", [0.0, 0.5])
def test_cycle_is_flat(n, alpha):
    # m_x on x−1, x+1 and m_y on x, x+2: each neighbour shifts by one step, W₁ = 1 = d(x, y).
    kappa = ollivier_ricci(nx.cycle_graph(n), alpha=alpha, weight=None)
    assert np.allclose(list(kappa.values()), 0.0, atol=1e-12)


def _jost_liu(dx: int, dy: int) -> float:
    return -2.0 * max(0.0, 1.0 - 1.0 / dx - 1.0 / dy)


@pytest.mark.parametrize("tree", [
    nx.balanced_tree(2, 4), nx.balanced_tree(3, 3), nx.star_graph(6), nx.path_graph(8),
    nx.random_labeled_tree(40, seed=3),
])
def test_trees_meet_the_jost_liu_bound(tree):
    kappa = ollivier_ricci(tree, alpha=0.0, weight=None)
    for (u, v), k in kappa.items():
        assert k == pytest.approx(_jost_liu(tree.degree(u), tree.degree(v)), abs=1e-12)


def test_edge_lengths_scale_out_and_weight_none_means_unit_lengths():
    G = nx.cycle_graph(8)
    nx.set_edge_attributes(G, 3.7, "weight")
    assert ollivier_ricci(G, alpha=0.0) == pytest.approx(
        ollivier_ricci(G, alpha=0.0, weight=None), abs=1e-12)


@pytest.mark.parametrize("n", [4, 5, 9])
def test_forman_on_a_complete_graph(n):
    plain = forman_ricci(nx.complete_graph(n), weight=None)
    augmented = forman_ricci(nx.complete_graph(n), augmented=True, weight=None)
    # plain: 4 − d_u − d_v with d = n − 1; augmented adds 3 per triangle, n − 2 of them: = n.
    assert set(plain.values()) == {6.0 - 2 * n}
    assert np.allclose(list(augmented.values()), n)


@pytest.mark.parametrize("n", [4, 5, 11])
def test_forman_on_a_cycle_is_zero(n):
    for augmented in (False, True):
        values = forman_ricci(nx.cycle_graph(n), augmented=augmented, weight=None).values()
        assert np.allclose(list(values), 0.0, atol=1e-12)


def test_forman_weighted_by_hand():
    # Path a–b–c–d with lengths 1, 4, 9: F(e) = 2 − Σ_{e' ~ e} √(w_e / w_e').
    G = nx.Graph()
    G.add_weighted_edges_from([("a", "b", 1.0), ("b", "c", 4.0), ("c", "d", 9.0)])
    F = forman_ricci(G)
    assert F[("a", "b")] == pytest.approx(2 - math.sqrt(1 / 4))
    assert F[("b", "c")] == pytest.approx(2 - math.sqrt(4 / 1) - math.sqrt(4 / 9))
    assert F[("c", "d")] == pytest.approx(2 - math.sqrt(9 / 4))
    # A triangle of sides 1, 1, 1 and a pendant edge of length 4 at its corner c:
    T = nx.Graph()
    T.add_weighted_edges_from([("a", "b", 1.0), ("b", "c", 1.0), ("a", "c", 1.0),
                               ("c", "d", 4.0)])
    Fa = forman_ricci(T, augmented=True)
    # (a, c): one triangle (w_t = 1: +1), 2 for its ends, and only (c, d) is parallel.
    assert Fa[("a", "c")] == pytest.approx(1 + 2 - math.sqrt(1 / 4))
    # (a, b): one triangle, no parallel edge.
    assert Fa[("a", "b")] == pytest.approx(3.0)
    # (c, d): no triangle; (a, c) and (b, c) are parallel to it.
    assert Fa[("c", "d")] == pytest.approx(2 - 2 * math.sqrt(4 / 1))


def test_forman_is_unit_free():
    G = nx.random_geometric_graph(40, 0.35, seed=1)
    pos = nx.get_node_attributes(G, "pos")
    for u, v in G.edges():
        G[u][v]["weight"] = math.dist(pos[u], pos[v])
    H = G.copy()
    for u, v in H.edges():
        H[u][v]["weight"] *= 10.0
    for augmented in (False, True):
        a, b = forman_ricci(G, augmented), forman_ricci(H, augmented)
        assert np.allclose([a[e] for e in a], [b[e] for e in a], rtol=1e-12, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(5, 25), p=st.floats(0.15, 0.8), seed=st.integers(0, 10_000))
def test_forman_unweighted_formula_on_random_graphs(n, p, seed):
    G = nx.gnp_random_graph(n, p, seed=seed)
    if G.number_of_edges() == 0:
        return
    plain, augmented = forman_ricci(G, weight=None), forman_ricci(G, True, weight=None)
    for u, v in G.edges():
        triangles = len(set(G[u]) & set(G[v]))
        base = 4 - G.degree(u) - G.degree(v)
        assert plain[(u, v)] == pytest.approx(base, abs=1e-9)
        assert augmented[(u, v)] == pytest.approx(base + 3 * triangles, abs=1e-9)


def test_node_curvature_is_the_mean_over_edges():
    G = nx.star_graph(4)  # centre 0, leaves 1..4
    G.add_edge(1, 2)
    edge = {e: float(i) for i, e in enumerate(G.edges())}
    nodes = node_curvature(G, edge)
    assert nodes[0] == pytest.approx(np.mean([edge[(0, j)] for j in range(1, 5)]))
    assert nodes[1] == pytest.approx((edge[(0, 1)] + edge[(1, 2)]) / 2)
    G.add_node("alone")
    assert math.isnan(node_curvature(G, edge)["alone"])
