"""Figure builders of the Natural-gradient lab: structure and mathematical facts, no Streamlit."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from dashboard.figures import optim as figs
from geomcore import optim

DIVERGING = {"SGD": {"kind": "sgd", "lr": 1.0}, "NGD": dict(optim.DEFAULT_OPTIMIZERS["NGD"]),
             "Huge SGD": {"kind": "sgd", "lr": 500.0}}


@pytest.fixture(scope="module")
def task() -> optim.Task:
    return optim.make_task("moons", n=80, seed=1)


@pytest.fixture(scope="module")
def runs(task) -> dict[str, optim.TrainingHistory]:
    """A small experiment with a run that diverges on its first step."""
    return optim.compare(task, [2, 6, 2], optimizers=DIVERGING, steps=20, snapshot_every=5,
                         seed=1)


@pytest.fixture(scope="module")
def blobs_runs() -> tuple[optim.Task, dict[str, optim.TrainingHistory]]:
    task = optim.make_task("blobs", n=60, seed=2)
    return task, optim.compare(task, [2, 3], optimizers={"Adam": {"kind": "adam", "lr": 0.05}},
                               steps=10, snapshot_every=5)


def _axis_title(fig: go.Figure, axis: str) -> str:
    return fig.layout[axis].title.text or ""


def test_the_fixture_has_a_diverged_run(runs):
    assert runs["Huge SGD"].status == "diverged"
    assert runs["SGD"].status == "ok" and runs["NGD"].status == "ok"


# -- training curves -------------------------------------------------------------------------------


def test_loss_against_time_uses_the_cumulative_step_times(runs):
    fig = figs.make_training_curves(runs)
    for name, h in runs.items():
        per_step, per_second, accuracy = [t for t in fig.data
                                          if t.legendgroup == name and t.mode == "lines"]
        np.testing.assert_array_equal(per_step.x, np.arange(len(h.loss)))
        np.testing.assert_allclose(per_step.y, h.loss)
        np.testing.assert_allclose(per_second.x, np.concatenate([[0.0],
                                                                 np.cumsum(h.wall_time)]))
        assert np.all(np.diff(per_second.x) >= 0)  # time only moves forward
        np.testing.assert_allclose(per_second.y, h.loss)
        assert np.all((np.asarray(accuracy.y) >= 0) & (np.asarray(accuracy.y) <= 1))


def test_training_curves_are_labelled_and_log_scaled(runs):
    fig = figs.make_training_curves(runs, target_loss=0.1)
    assert "loss per step" in fig.layout.title.text
    assert fig.layout.yaxis.type == "log" and fig.layout.yaxis2.type == "log"
    assert "loss" in _axis_title(fig, "yaxis")
    assert _axis_title(fig, "xaxis") == "step"
    assert "time" in _axis_title(fig, "xaxis2") and "(s)" in _axis_title(fig, "xaxis2")
    assert fig.layout.yaxis3.tickformat == ".0%"
    shown = [t.name for t in fig.data if t.showlegend is not False]
    assert sorted(shown) == sorted(["SGD", "NGD", "Huge SGD (diverged at step 1)"])
    assert any(shape.y0 == 0.1 for shape in fig.layout.shapes)  # the target line
    linear = figs.make_training_curves(runs, log_y=False)
    assert linear.layout.yaxis.type == "linear"


def test_a_diverged_run_ends_in_a_cross(runs):
    fig = figs.make_training_curves(runs)
    crosses = [t for t in fig.data if t.mode == "markers" and t.legendgroup == "Huge SGD"]
    assert len(crosses) == 2 and all(t.marker.symbol == "x" for t in crosses)
    assert not [t for t in fig.data if t.mode == "markers" and t.legendgroup == "SGD"]


def test_colours_follow_the_kind_and_stay_distinct(runs):
    colors = figs.colors_for(runs)
    assert colors["SGD"] == figs.KIND_COLORS["sgd"]
    assert colors["NGD"] == figs.KIND_COLORS["ngd"]
    assert len(set(colors.values())) == len(colors)  # the second SGD gets its own colour


# -- decision boundaries ---------------------------------------------------------------------------


def _grids(task, runs, resolution=12):
    return {name: optim.decision_grid(h.model, task.X_train, snapshots=h.snapshots,
                                      resolution=resolution) for name, h in runs.items()}


def test_animation_has_one_frame_per_snapshot_and_probabilities(task, runs):
    grids = _grids(task, runs)
    steps_of = {name: h.snapshot_steps for name, h in runs.items()}
    fig = figs.make_decision_animation(grids, steps_of, task.X_train, task.y_train)
    expected = np.unique(np.concatenate(list(steps_of.values())))
    assert [f.name for f in fig.frames] == [str(s) for s in expected]
    slider = fig.layout.sliders[0]
    assert len(slider.steps) == len(fig.frames)
    assert slider.active == len(fig.frames) - 1  # opens at the end of training
    heat = [t for t in fig.data if t.type == "heatmap"]
    assert len(heat) == len(runs)
    lines = [t for t in fig.data if t.type == "contour"]
    assert len(lines) == len(runs)  # the 0.5 boundary of every panel moves with the frames
    for k, frame in enumerate(fig.frames):
        assert sorted(frame.traces) == sorted(fig.data.index(t) for t in heat + lines)
        frame_heat = [t for t in frame.data if t.type == "heatmap"]
        for name, z in zip(runs, frame_heat, strict=True):
            z = np.asarray(z.z)
            assert z.shape == (12, 12)
            assert np.all((z >= 0) & (z <= 1))
            s = steps_of[name]
            idx = min(np.searchsorted(s, expected[k], side="right") - 1, len(s) - 1)
            np.testing.assert_allclose(z, grids[name].probs[idx, ..., 1], atol=1e-6)


def test_a_stopped_run_holds_its_last_state(task, runs):
    grids = _grids(task, runs)
    steps_of = {name: h.snapshot_steps for name, h in runs.items()}
    fig = figs.make_decision_animation(grids, steps_of, task.X_train, task.y_train)
    j = list(runs).index("Huge SGD")
    last = grids["Huge SGD"].probs[-1, ..., 1]
    frame_heat = [t for t in fig.frames[-1].data if t.type == "heatmap"]
    np.testing.assert_allclose(np.asarray(frame_heat[j].z), last, atol=1e-6)
    titled = figs.make_decision_animation(grids, steps_of, task.X_train, task.y_train,
                                          stopped={"Huge SGD": 1})
    assert titled.layout.annotations[j].text == "Huge SGD (stopped at step 1)"


def test_animation_colour_scale_and_points(task, runs):
    grids = _grids(task, runs)
    steps_of = {name: h.snapshot_steps for name, h in runs.items()}
    fig = figs.make_decision_animation(grids, steps_of, task.X_train, task.y_train)
    ca = fig.layout.coloraxis
    assert (ca.cmin, ca.cmid, ca.cmax) == (0.0, 0.5, 1.0)
    assert "p(class 1" in ca.colorbar.title.text
    points = [t for t in fig.data if t.type == "scatter"]
    assert len(points) == 2 * len(runs)  # two classes per panel
    assert sum(len(t.x) for t in points[:2]) == len(task.X_train)
    assert {t.name for t in points if t.showlegend} == {"class 0", "class 1"}
    assert _axis_title(fig, "xaxis") == "x₁" and _axis_title(fig, "yaxis") == "x₂"
    assert [a.text for a in fig.layout.annotations] == list(runs)


def test_three_classes_show_the_predicted_class(blobs_runs):
    task, runs = blobs_runs
    grids = _grids(task, runs, resolution=10)
    fig = figs.make_decision_animation(grids, {n: h.snapshot_steps for n, h in runs.items()},
                                       task.X_train, task.y_train)
    z = np.asarray(fig.frames[-1].data[0].z)
    np.testing.assert_array_equal(z, grids["Adam"].probs[-1].argmax(axis=-1))
    assert fig.layout.coloraxis.colorbar.title.text == "predicted class"
    assert list(fig.layout.coloraxis.colorbar.tickvals) == [0, 1, 2]


def test_animation_needs_a_run(task):
    with pytest.raises(ValueError, match="at least one run"):
        figs.make_decision_animation({}, {}, task.X_train, task.y_train)


# -- trajectories, spectrum, KL --------------------------------------------------------------------


def test_trajectory_figure_draws_the_projected_paths(task, runs):
    ok = {n: h for n, h in runs.items() if h.status == "ok"}
    pca = optim.trajectory_pca(ok, task.X_train, task.y_train, resolution=8)
    fig = figs.make_trajectory_figure(pca, colors=figs.colors_for(ok))
    contour = fig.data[0]
    np.testing.assert_allclose(np.asarray(contour.z), np.log10(pca.loss))
    assert "log₁₀" in contour.colorbar.title.text
    for name, path in pca.paths.items():
        line = next(t for t in fig.data if t.name == name)
        np.testing.assert_allclose(np.c_[line.x, line.y], path)
    # all paths start at the shared initial network
    start = next(t for t in fig.data if t.name == "shared start")
    for path in pca.paths.values():
        np.testing.assert_allclose(path[0], [start.x[0], start.y[0]], atol=1e-9)
    assert "PC 1" in _axis_title(fig, "xaxis") and "%" in _axis_title(fig, "xaxis")


def test_spectrum_figure_is_positive_descending_with_rank(task, runs):
    spectra = {"": optim.fisher_spectrum(runs["SGD"].model, task.X_train),
               "NGD": optim.fisher_spectrum(runs["NGD"].model, task.X_train)}
    fig = figs.make_spectrum_figure(spectra, damping=1e-3)
    assert fig.layout.yaxis.type == "log"
    for trace, s in zip(fig.data, spectra.values(), strict=True):
        y = np.asarray(trace.y)
        assert y.size == s.rank and np.all(y > 0) and np.all(np.diff(y) <= 0)
        assert f"rank {s.rank}/{s.eigenvalues.size}" in trace.name
        assert f"{s.damped_condition_number(1e-3):.2g}" in trace.name
    assert fig.data[0].line.dash == "dash" and "initial" in fig.data[0].name
    assert any(shape.y0 == 1e-3 for shape in fig.layout.shapes)  # the damping line
    # its label sits at the line: on a log axis an annotation's y is log10 of the value
    (label,) = [a for a in fig.layout.annotations if a.text.startswith("damping λ")]
    assert label.y == pytest.approx(-3.0, abs=1e-12)
    assert "eigenvalue" in _axis_title(fig, "yaxis")


def test_kl_figure_drops_zeros_from_the_log_axis(runs):
    fig = figs.make_kl_figure(runs, kl_clip=0.05)
    assert fig.layout.yaxis.type == "log" and fig.layout.yaxis2.type == "log"
    for name, h in runs.items():
        kl_trace = next(t for t in fig.data if t.legendgroup == name and t.xaxis == "x")
        y = np.asarray(kl_trace.y, dtype=float)
        assert y.size == h.steps
        kl = np.asarray(h.kl)
        np.testing.assert_allclose(y[kl > 0], kl[kl > 0])
        assert np.all(np.isnan(y[kl <= 0]))
    assert any(shape.y0 == 0.05 for shape in fig.layout.shapes)


# -- two-weight logistic regression ----------------------------------------------------------------


def test_logistic_ellipses_are_level_sets_of_the_fisher():
    geo = optim.logistic_geometry(steps=10, resolution=20, ellipse_grid=4)
    fig = figs.make_logistic_figure(geo)
    ell = next(t for t in fig.data if t.name.startswith("Fisher ellipses"))
    xy = np.c_[np.asarray(ell.x, dtype=float), np.asarray(ell.y, dtype=float)]
    pieces = np.split(xy, np.flatnonzero(np.isnan(xy[:, 0])))
    pieces = [p[~np.isnan(p[:, 0])] for p in pieces if np.isfinite(p).any()]
    assert len(pieces) == len(geo.centers)
    for outline, center in zip(pieces, geo.centers, strict=True):
        F = optim.logistic_fisher(center, geo.X)
        v = outline - center
        # wᵀ F w = ε² on every point of every ellipse, with one common ε
        np.testing.assert_allclose(np.einsum("mi,ij,mj->m", v, F, v), geo.ellipse_radius**2,
                                   rtol=1e-8)
    gd = next(t for t in fig.data if t.name.startswith("gradient descent"))
    ngd = next(t for t in fig.data if t.name.startswith("natural gradient"))
    np.testing.assert_allclose(np.c_[gd.x, gd.y], geo.gd_path)
    np.testing.assert_allclose(np.c_[ngd.x, ngd.y], geo.ngd_path)
    assert fig.layout.yaxis.scaleanchor == "x" and fig.layout.yaxis.scaleratio == 1
    assert _axis_title(fig, "xaxis") == "weight w₁"


# -- reparametrisation -----------------------------------------------------------------------------


def test_function_space_paths_preserve_distances_and_identify_equal_runs():
    rng = np.random.default_rng(0)
    # predictions that vary in a 2-d family: the projection is then an isometry
    basis = rng.standard_normal((2, 6, 2))
    coef = rng.standard_normal((7, 2))
    a = 0.5 + 0.01 * np.einsum("sk,knc->snc", coef, basis)
    b = a[::-1].copy()
    paths, ratio = figs.function_space_paths({"a": a, "b": b, "a again": a.copy()})
    np.testing.assert_allclose(paths["a"], paths["a again"], atol=1e-12)
    flat = a.reshape(7, -1)
    d_true = np.linalg.norm(flat[:, None] - flat[None], axis=-1)
    d_proj = np.linalg.norm(paths["a"][:, None] - paths["a"][None], axis=-1)
    np.testing.assert_allclose(d_proj, d_true, atol=1e-10)
    assert ratio.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(paths["b"], paths["a"][::-1], atol=1e-12)


def test_function_space_paths_match_an_svd_projection():
    rng = np.random.default_rng(1)
    probs = {k: rng.uniform(size=(5, 4, 3)) for k in "xyz"}
    paths, ratio = figs.function_space_paths(probs)
    stacked = np.concatenate([p.reshape(5, -1) for p in probs.values()])
    centered = stacked - stacked.mean(axis=0)
    _, s, vt = np.linalg.svd(centered, full_matrices=False)
    expected = centered @ vt[:2].T
    got = np.concatenate(list(paths.values()))
    np.testing.assert_allclose(np.abs(got), np.abs(expected), atol=1e-10)  # up to sign
    np.testing.assert_allclose(ratio, s[:2] ** 2 / (s**2).sum())


def test_reparam_figure_draws_both_coordinates_and_the_gaps(task):
    specs = {"SGD": {"kind": "sgd", "lr": 1.0},
             "NGD": {"kind": "ngd", "lr": 0.5, "damping": 1e-8}}
    runs = {c: optim.compare(task, [2, 2], optimizers=specs, steps=10, snapshot_every=2,
                             reparametrize=c) for c in (1.0, 10.0)}
    probs = {(n, c): optim.predict_snapshots(runs[c][n], task.X_train)
             for c in runs for n in specs}
    gaps = {n: optim.prediction_gap(runs[1.0][n], runs[10.0][n], task.X_train) for n in specs}
    steps = {n: runs[1.0][n].snapshot_steps for n in specs}
    fig = figs.make_reparam_figure(probs, gaps, steps, 10.0)
    names = [t.name for t in fig.data if t.showlegend is not False]
    assert names == ["SGD, c = 1", "NGD, c = 1", "SGD, c = 10", "NGD, c = 10"]
    assert fig.layout.yaxis2.type == "log"
    ngd_gap = next(t for t in fig.data if t.name == "NGD: gap")
    sgd_gap = next(t for t in fig.data if t.name == "SGD: gap")
    assert np.nanmax(np.asarray(ngd_gap.y, dtype=float)) < 1e-5  # invariant
    assert np.nanmax(np.asarray(sgd_gap.y, dtype=float)) > 1e-2  # not invariant
    assert np.isnan(np.asarray(ngd_gap.y, dtype=float)[0])  # gap 0 at step 0: no log
    assert "c = 10" in fig.layout.title.text


# -- table and text --------------------------------------------------------------------------------


def test_summary_rows_and_trade_off_text(runs):
    rows = optim.summary_table(runs, target_loss=0.6)
    table = figs.summary_rows(rows, 0.6)
    assert [r["optimizer"] for r in table] == list(runs)
    assert "steps to loss ≤ 0.6" in table[0]
    assert all(0 <= float(r["test accuracy (%)"]) <= 100 for r in table)
    for row, source in zip(table, rows, strict=True):  # every row, not only SGD's own 1.0
        cost, ms = source["relative_cost"], source["ms_per_step"]
        if not np.isfinite(ms):  # a run that stopped before its first step: no cost quoted
            assert row["cost of a step (× SGD)"] == row["ms per step"] == figs.MISSING
            continue
        assert row["cost of a step (× SGD)"] == f"{cost:.1f}×"
        assert row["ms per step"] == f"{ms:.2f}"
        assert cost == pytest.approx(ms / rows[0]["ms_per_step"], rel=1e-12)
    assert sum(r["cost of a step (× SGD)"] != figs.MISSING for r in table) >= 2
    text = figs.trade_off_text(rows, 0.6)
    reached = [r for r in rows if r["steps_to_target"] is not None]
    fewest = min(reached, key=lambda r: r["steps_to_target"])
    assert f"**{fewest['name']}** needed the fewest steps ({fewest['steps_to_target']})" in text
    assert "Huge SGD" in text  # named among those that did not get there


def test_trade_off_text_when_nobody_reaches_the_target(runs):
    rows = optim.summary_table(runs, target_loss=1e-12)
    assert "No optimizer reached" in figs.trade_off_text(rows, 1e-12)


def _labels_on_their_lines(fig: go.Figure) -> int:
    """Check that every data-anchored label sits on the horizontal line of the same axis
    whose value it names (Plotly reads an annotation's y on a log axis as log10 of the value,
    a shape's as the value itself); return how many were checked."""
    checked = 0
    for note in fig.layout.annotations:
        if note.yref in (None, "paper") or "domain" in note.yref:
            continue
        axis = fig.layout["yaxis" + note.yref[1:]]
        (line,) = [s for s in fig.layout.shapes if s.yref == note.yref and s.y0 == s.y1]
        expected = np.log10(line.y0) if axis.type == "log" else line.y0
        assert note.y == pytest.approx(expected, abs=1e-12), note.text
        checked += 1
    return checked


@pytest.mark.parametrize("log_y", [True, False])
def test_target_and_budget_labels_sit_on_their_lines(runs, log_y):
    curves, _, _ = figs.make_training_panels(runs, log_y=log_y, target_loss=0.1)
    assert _labels_on_their_lines(curves) == 1
    assert _labels_on_their_lines(figs.make_training_curves(runs, log_y=log_y,
                                                            target_loss=0.1)) == 1
    assert _labels_on_their_lines(figs.make_kl_figure(runs, kl_clip=0.05)) == 1
