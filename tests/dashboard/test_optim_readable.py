"""The Natural-gradient page reads right: boundaries you can see, a table whose words match its
numbers after a divergence, a KL caption computed from what is plotted, honest advice when a
linear model has hit its floor, and axis titles without plain-text subscripts."""

from __future__ import annotations

import re

import numpy as np
import pytest

from dashboard.figures import optim as figs
from geomcore import optim
from tests.dashboard.conftest import problems, run_page

DIVERGING = {"SGD": {"kind": "sgd", "lr": 500.0},
             "NGD": {"kind": "ngd", "lr": 1000.0, "damping": 1e-8, "kl_clip": None},
             "Adam": {"kind": "adam", "lr": 0.03}}


@pytest.fixture(scope="module")
def task() -> optim.Task:
    return optim.make_task("moons", n=80, seed=1)


@pytest.fixture(scope="module")
def diverged(task) -> dict[str, optim.TrainingHistory]:
    """SGD and NGD blow up on their first step (huge learning rates); Adam trains."""
    runs = optim.compare(task, [2, 6, 2], optimizers=DIVERGING, steps=20, snapshot_every=5,
                         seed=1)
    assert [h.status for h in runs.values()] == ["diverged", "diverged", "ok"]
    return runs


def _texts(rows: list[dict[str, str]]) -> list[str]:
    return [str(v) for r in rows for v in (*r.keys(), *r.values())]


# -- decision boundaries ---------------------------------------------------------------------------


def test_boundaries_draw_the_half_probability_contour_under_light_points(task, diverged):
    runs = optim.compare(task, [2, 6, 2], optimizers={n: {"kind": "sgd", "lr": 1.0}
                                                      for n in "ABCDE"}, steps=6,
                         snapshot_every=3)
    grids = {n: optim.decision_grid(h.model, task.X_train, snapshots=h.snapshots,
                                    resolution=10) for n, h in runs.items()}
    steps = {n: h.snapshot_steps for n, h in runs.items()}
    fig = figs.make_decision_animation(grids, steps, task.X_train, task.y_train)
    lines = [t for t in fig.data if t.type == "contour"]
    assert len(lines) == 5
    for line in lines:
        assert line.contours.start == line.contours.end == 0.5
        assert line.contours.coloring == "none"
    for frame in fig.frames:  # the boundary moves with the slider
        assert sum(t.type == "contour" for t in frame.data) == 5
    points = [t for t in fig.data if t.type == "scatter"]
    assert all(t.marker.size <= 4 and t.marker.opacity < 1 for t in points)
    # at most three panels a row: five runs make two rows of x-domains
    lefts = {round(fig.layout[f"xaxis{i or ''}"].domain[0], 6) for i in [0, 2, 3, 4, 5]}
    assert len(lefts) == 3
    tops = {round(fig.layout[f"yaxis{i or ''}"].domain[1], 6) for i in [0, 2, 3, 4, 5]}
    assert len(tops) == 2
    # the buttons and the legend sit below the slider, each on a row of its own
    slider, play = fig.layout.sliders[0], fig.layout.updatemenus[0]
    assert play.y < slider.y and fig.layout.legend.y < play.y
    assert slider.x == 0.0 and slider.len == 1.0
    # For a projector (text 1.45× larger) the rows under the panels move apart, measured in
    # pixels below the plot area, and the panels grow: the slider's larger labels covered the
    # buttons at 1024×768 before.
    from dashboard.figures.presenting import PROJECTOR_FONT, enlarge

    big = enlarge(figs.make_decision_animation(grids, steps, task.X_train, task.y_train,
                                               text_scale=PROJECTOR_FONT))

    def below_plot(f, y: float) -> float:  # px under the plot area of a paper coordinate
        m = f.layout.margin
        return -y * (f.layout.height - m.t - m.b)

    plain = enlarge(fig)
    gap = below_plot(big, big.layout.updatemenus[0].y) - below_plot(big, big.layout.sliders[0].y)
    old = (below_plot(plain, plain.layout.updatemenus[0].y)
           - below_plot(plain, plain.layout.sliders[0].y))
    assert gap > 1.4 * old
    assert big.layout.height - big.layout.margin.t - big.layout.margin.b >= 0.95 * (
        fig.layout.height - fig.layout.margin.t - fig.layout.margin.b)


# -- training curves -------------------------------------------------------------------------------


def test_training_panels_are_three_figures_with_one_legend(diverged):
    panels = figs.make_training_panels(diverged, target_loss=0.1)
    assert len(panels) == 3
    assert [p.layout.showlegend for p in panels] == [True, False, False]
    assert len({p.layout.title.text for p in panels}) == 3
    loss = panels[0].layout.yaxis
    assert loss.type == "log"
    for p in panels:
        assert "_" not in (p.layout.xaxis.title.text or "") + (p.layout.yaxis.title.text or "")


def test_log_axes_label_whole_decades_only(diverged):
    kl = figs.make_kl_figure(diverged)
    assert kl.layout.yaxis.title.text == "mean KL(pₖ ‖ pₖ₊₁)"
    assert kl.layout.yaxis2.title.text == "‖θₖ₊₁ − θₖ‖"
    # a span of one to two decades used to get Plotly's "2" and "5" labels in between
    assert figs._log_dtick([[0.05, 0.9]]) == 1


# -- table and text after a divergence -------------------------------------------------------------


def test_table_and_summary_never_say_none_or_nan_after_a_divergence(diverged):
    reference = figs.cost_reference(diverged)
    assert reference == "Adam"  # the diverged SGD never completed a step to time
    rows = optim.summary_table(diverged, target_loss=0.1, reference=reference)
    table = figs.summary_rows(rows, 0.1, reference)
    text = figs.trade_off_text(rows, 0.1, reference=reference)
    for s in [*_texts(table), text]:
        assert "None" not in s and "nan" not in s.lower(), s
    by_name = {r["optimizer"]: r for r in table}
    assert by_name["SGD"]["ms per step"] == "—"
    assert by_name["SGD"]["cost of a step (× Adam)"] == "—"
    assert by_name["Adam"]["cost of a step (× Adam)"] == "1.0×"
    assert by_name["SGD"]["steps to loss ≤ 0.1"] == "not reached"


def test_the_warning_quotes_the_tables_loss(diverged):
    rows = optim.summary_table(diverged, target_loss=0.1)
    table = {r["optimizer"]: r for r in figs.summary_rows(rows, 0.1)}
    for name in ("SGD", "NGD"):
        h = diverged[name]
        warning = figs.run_warning(h)
        assert f"with training loss {table[name]['final training loss']}." in warning
        assert table[name]["final training loss"] == f"{h.loss[-1]:.4g}"
        assert "initial state" in warning  # it diverged on step 1
        assert "nan" not in warning.lower() and "None" not in warning


def test_trade_off_text_prices_steps_only_when_there_is_a_reference(diverged):
    rows = optim.summary_table(diverged, target_loss=0.8)
    text = figs.trade_off_text(rows, 0.8, reference=None)
    assert "Adam" in text and "cost of" not in text and "nan" not in text


def test_a_linear_model_on_moons_is_told_it_is_at_its_floor():
    task = optim.make_task("moons", n=200, seed=0)
    floor = optim.linear_model_floor(task)
    runs = optim.compare(task, [2, 2], optimizers={
        "NGD": {"kind": "ngd", "lr": 0.5, "damping": 1e-8, "kl_clip": 0.1}}, steps=200,
        snapshot_every=50)
    final = runs["NGD"].loss[-1]
    # the convex minimum: NGD on the same model reaches it, never goes below it
    assert final >= floor - 1e-9
    assert final == pytest.approx(floor, rel=1e-6)
    rows = optim.summary_table(runs, target_loss=0.1)
    text = figs.trade_off_text(rows, 0.1, floor=floor)
    assert "none can" in text and figs.loss_text(floor) in text
    assert "raise the steps" not in text


def test_linear_floor_is_zero_on_separable_data():
    task = optim.make_task("blobs", n=60, noise=0.05, seed=0)
    assert 0.0 <= optim.linear_model_floor(task) < 1e-3


def test_a_levelled_off_loss_is_not_blamed_on_the_steps(task):
    runs = optim.compare(task, [2, 2], optimizers={"SGD": {"kind": "sgd", "lr": 1.0}},
                         steps=400, snapshot_every=100)
    assert figs.loss_levelled_off(runs)
    rows = optim.summary_table(runs, target_loss=1e-3)
    text = figs.trade_off_text(rows, 1e-3, levelled_off=True)
    assert "levelled off" in text and "raise the steps" not in text


# -- the KL caption --------------------------------------------------------------------------------


def test_kl_caption_counts_what_the_plot_shows(task):
    spec = dict(optim.DEFAULT_OPTIMIZERS["NGD"], kl_clip=0.05)
    runs = optim.compare(task, [2, 6, 2], optimizers={"NGD": spec}, steps=40,
                         snapshot_every=10)
    fig = figs.make_kl_figure(runs, kl_clip=0.05)
    plotted = np.asarray(fig.data[0].y, dtype=float)
    near = int(np.count_nonzero(np.nan_to_num(plotted) >= 0.025))
    text = figs.kl_budget_text(runs, 0.05)
    assert f"in {near} of {plotted.size} steps" in text
    median = re.search(r"median KL per step is ([0-9.e+-]+)", text).group(1)
    assert float(median) == pytest.approx(np.median(runs["NGD"].kl), rel=0.05)
    assert "(0.05)" in text
    assert "No KL budget" in figs.kl_budget_text(runs, None)


# -- the page --------------------------------------------------------------------------------------


def test_page_kl_budget_control_reaches_the_optimizers_and_the_plot():
    at = run_page("optim")
    at.slider(key="optim_steps").set_value(30)
    at.select_slider(key="optim_kl_clip").set_value(0.01)
    at.radio(key="optim_view").set_value("kl")
    at.run()
    assert not problems(at)
    fig = at.get("plotly_chart")[0].proto.spec
    assert '"y0":0.01' in fig.replace(" ", "")  # the budget line at the chosen value
    assert any("budget of a step (0.01)" in c.value for c in at.caption)


def test_page_after_a_huge_learning_rate_has_no_none_or_nan():
    at = run_page("optim")
    at.slider(key="optim_steps").set_value(30)
    at.select_slider(key="optim_kl_clip").set_value(0.0)  # 0 is "off"
    at.number_input(key="optim_lr_SGD").set_value(500.0)
    at.number_input(key="optim_lr_NGD").set_value(1000.0)
    at.select_slider(key="optim_damping_NGD").set_value(1e-8)
    at.run()
    assert not problems(at)
    table = at.dataframe[0].value
    cells = [str(v) for v in table.to_numpy().ravel()] + [str(c) for c in table.columns]
    words = [m.value for m in at.markdown] + [w.value for w in at.warning]
    for s in cells + words:
        assert "None" not in s and "nan" not in s.lower(), s
    status = dict(zip(table["optimizer"], table["status"], strict=True))
    assert status["SGD"] == "diverged" and status["NGD"] == "diverged"
    losses = dict(zip(table["optimizer"], table["final training loss"], strict=True))
    for name in ("SGD", "NGD"):
        warning = next(w.value for w in at.warning if w.value.startswith(name))
        assert f"training loss {losses[name]}." in warning
    at.radio(key="optim_view").set_value("spectrum")
    at.run()
    assert not problems(at)
    labels = [m.label for m in at.metric]
    assert not any("NGD" in label or "SGD" in label for label in labels)
    assert any("Left out: SGD, NGD" in c.value for c in at.caption)


def test_softmax_regression_page_names_its_floor_and_its_model():
    at = run_page("optim")
    at.text_input(key="optim_hidden").set_value("")
    at.slider(key="optim_steps").set_value(300)
    at.run()
    assert not problems(at)
    text = " ".join(m.value for m in at.markdown)
    assert "none can" in text and "raise the steps" not in text
    at.radio(key="optim_view").set_value("reparam")
    at.run()
    assert not problems(at)
    assert "Softmax regression, coordinates scaled" in at.get("plotly_chart")[0].proto.spec
