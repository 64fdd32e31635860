"""Figure builders of the Riemannian-optimisation page: structure and maths facts (points of
the sphere lie on it, SPD inputs inside the cone, disk geodesics inside the disk)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from dashboard.figures import riemannian as figs
from geomcore.riemannian.demos import (
    METHOD_LABELS,
    brockett_demo,
    spd_examples,
    spd_means,
    sphere_demo,
)
from geomcore.riemannian.federated import run as federated_run
from geomcore.riemannian.problems import balanced_tree, embed_tree


@pytest.fixture(scope="module")
def demo():
    return sphere_demo((3.0, 1.0, -1.0), lr=0.2, steps=30, seed=1)


def _titled(fig: go.Figure) -> None:
    assert fig.layout.title.text


def test_sphere_figure_paths_arrows_and_colour_bar(demo):
    fig = figs.make_sphere_figure(demo, iteration=2, arrows_run=METHOD_LABELS["projection"])
    _titled(fig)
    surface = fig.data[0]
    assert isinstance(surface, go.Surface) and surface.colorbar.title.text == "xᵀAx"
    paths = {t.name: t for t in fig.data if isinstance(t, go.Scatter3d) and t.mode ==
             "lines+markers"}
    for name in (METHOD_LABELS["exp"], METHOD_LABELS["projection"],
                 METHOD_LABELS["renormalise"]):
        p = np.stack([paths[name].x, paths[name].y, paths[name].z], axis=1)
        np.testing.assert_allclose(np.linalg.norm(p, axis=1), 1.0, atol=1e-12)
    # the unprojected run leaves the sphere
    amb = paths[METHOD_LABELS["ambient"]]
    norms = np.linalg.norm(np.stack([amb.x, amb.y, amb.z], axis=1), axis=1)
    assert norms.max() > 1.05 and norms.max() <= 1.25 + 1e-12
    assert sum(isinstance(t, go.Cone) for t in fig.data) == 3
    # the tangent arrow is orthogonal to the point
    s = demo.step_vectors(METHOD_LABELS["projection"], 2)
    assert abs(float(s["x"] @ s["tangent_step"])) < 1e-14


def test_convergence_figure_uses_log_axes(demo):
    fig = figs.make_convergence_figure(demo.runs, title="t")
    assert fig.layout.yaxis.type == "log" and fig.layout.yaxis2.type == "log"
    assert fig.layout.xaxis.title.text == "iteration"
    assert {t.name for t in fig.data if t.showlegend is not False} == set(demo.runs)


def test_spd_cone_inputs_inside_the_boundary_on_it():
    means = spd_means(spd_examples("random", 4, seed=2))
    fig = figs.make_spd_cone_figure(means)
    _titled(fig)
    boundary = fig.data[0]
    a, b, c = (np.asarray(v, dtype=float) for v in (boundary.x, boundary.y, boundary.z))
    np.testing.assert_allclose(a * c, b * b, atol=1e-12)
    inputs = next(t for t in fig.data if t.name == "inputs")
    assert np.all(np.asarray(inputs.x) * np.asarray(inputs.z) > np.asarray(inputs.y) ** 2)
    assert [r["matrix"] for r in figs.swelling_rows(means)][:4] == ["A1", "A2", "A3", "A4"]


def test_swelling_text_states_only_what_holds():
    equal = spd_means(spd_examples("equal_determinants", 3))
    assert "swells" in figs.swelling_text(equal)
    # two nearly equal matrices of different size: the mean does not exceed the larger det
    unequal = spd_means(np.stack([np.eye(2), 4 * np.eye(2)]))
    text = figs.swelling_text(unequal)
    assert "does not exceed every input's" in text


def test_tree_figure_geodesics_stay_in_the_disk():
    tree = balanced_tree(3, 2)
    hyp, euc = embed_tree(tree, "hyperbolic"), embed_tree(tree, "euclidean")
    fig = figs.make_tree_figure(hyp, euc)
    _titled(fig)
    edges = fig.data[1]
    xy = np.array([(x, y) for x, y in zip(edges.x, edges.y, strict=True) if x is not None])
    assert np.linalg.norm(xy, axis=1).max() < 1.0
    assert len(fig.frames) >= 2 and fig.layout.sliders and fig.layout.updatemenus
    # a geodesic through the origin is a straight diameter
    arc = figs.disk_geodesic(np.array([-0.5, 0.0]), np.array([0.5, 0.0]))
    np.testing.assert_allclose(arc[:, 1], 0.0, atol=1e-15)
    np.testing.assert_allclose(arc[[0, -1], 0], [-0.5, 0.5], atol=1e-12)


def test_stiefel_and_federated_figures():
    runs = brockett_demo(8, 2, steps=30)
    fig = figs.make_stiefel_figure(runs)
    _titled(fig)
    assert fig.layout.yaxis.type == "log"
    h = federated_run("sphere_eigenvector", n=3, n_clients=3, rounds=4, local_steps=3,
                      lr=0.2, keep_paths=True)
    fig = figs.make_federated_sphere_figure(h, 2)
    names = [t.name for t in fig.data]
    assert "aggregate after round 2" in names and sum("client" in n for n in names) == 3
    plain = federated_run("kpca", n=8, p=2, n_clients=3, rounds=4, local_steps=2)
    with pytest.raises(ValueError, match="keep_paths"):
        figs.make_federated_sphere_figure(plain, 1)
    gap = figs.make_federated_gap_figure({"RFedAvg": plain})
    assert gap.layout.yaxis.type == "log" and gap.layout.xaxis.title.text == "round"
    floor = figs.make_floor_figure(np.array([[1e-3, 1e-2]]), [5], [0.1, 0.2])
    assert floor.layout.xaxis.type == "log" and floor.data[0].name == "τ = 5"


@pytest.mark.parametrize("eigenvalues", [(3.0, 1.0, 1.0), (3.0, 1.0, -1.0), (1.0, 1.0, 3.0),
                                         (-1.0, 1.0, 3.0), (1.0, 3.0, 1.0)])
def test_sphere_camera_faces_the_paths_without_looking_down(eigenvalues):
    demo = sphere_demo(eigenvalues, lr=0.2, steps=30, seed=1)
    fig = figs.make_sphere_figure(demo, iteration=0, arrows_run=METHOD_LABELS["projection"])
    eye = fig.layout.scene.camera.eye
    e = np.array([eye.x, eye.y, eye.z])
    elevation = np.degrees(np.arcsin(e[2] / np.linalg.norm(e)))
    assert abs(elevation) <= 35.0 + 1e-9  # tick labels stay apart
    azimuth = np.degrees(np.arctan2(e[1], e[0])) % 90.0
    assert 25.0 - 1e-9 <= azimuth <= 65.0 + 1e-9  # never along the x or y axis
    first = next(iter(demo.runs.values())).iterates
    middle = first[0] / np.linalg.norm(first[0]) + first[-1] / np.linalg.norm(first[-1])
    assert middle @ e > 0  # the paths are on the side that faces the camera
