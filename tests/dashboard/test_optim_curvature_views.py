"""The two curvature views of the Natural-gradient page: "Hessian vs Fisher" and "Adam as
diagonal Fisher". Figure builders on structure and maths facts; the page under AppTest."""

from __future__ import annotations

import numpy as np
import pytest

from dashboard.figures import optim as figs
from geomcore import optim
from geomcore.optim import curvature_views as cv
from tests.dashboard.conftest import problems, run_page


@pytest.fixture(scope="module")
def task() -> optim.Task:
    return optim.make_task("moons", n=120, seed=2)


@pytest.fixture(scope="module")
def runs(task):
    return optim.compare(task, [2, 8, 8, 2], optimizers={
        "SGD": {"kind": "sgd"}, "Adam": {"kind": "adam", "lr": 0.03}}, steps=60, seed=2,
        snapshot_every=20)


@pytest.fixture(scope="module")
def states(task, runs):
    X, y = task.X_train[:64], task.y_train[:64]
    return {"initial network": cv.curvature_comparison(optim.model_at(runs["Adam"], 0), X, y),
            "Adam after 60 steps": cv.curvature_comparison(optim.model_at(runs["Adam"], -1),
                                                           X, y)}


@pytest.fixture(scope="module")
def adam_view(task, runs):
    return cv.adam_fisher_view(runs["Adam"], task.X_train, task.y_train, batch_size=None,
                               seed=2)


# -- builders --------------------------------------------------------------------------------------


def test_symlog_is_odd_monotone_and_logarithmic_far_out():
    x = np.array([-1e3, -1.0, -1e-9, 0.0, 1e-9, 1.0, 1e3])
    y = figs.symlog(x, 1e-6)
    np.testing.assert_allclose(y, -y[::-1], rtol=0, atol=0)
    assert np.all(np.diff(y) > 0)
    np.testing.assert_allclose(figs.symlog(np.array([1e3]), 1e-6), 9.0, atol=1e-8)


def test_curvature_figure_shows_negative_hessian_eigenvalues_below_zero(states):
    fig = figs.make_curvature_figure(states)
    assert fig.layout.title.text and "Hessian" in fig.layout.title.text
    assert len(fig.data) == 8  # four matrices, two states
    legend = [t.name for t in fig.data if t.showlegend is not False]
    # G is drawn after F: its dashes lie on top of the F line they coincide with
    assert legend == ["Hessian H", "true Fisher F", "Gauss–Newton G (= F)",
                      "empirical Fisher F̂"]
    by_name = {}
    for t in fig.data[:4]:
        by_name[t.name] = t
    h = by_name["Hessian H"]
    # the drawn coordinate keeps the sign of the eigenvalue (customdata) everywhere
    assert np.array_equal(np.sign(h.y), np.sign(h.customdata))
    assert np.min(h.y) < 0  # the initial network's Hessian is indefinite
    scale = float(np.abs(h.customdata).max())
    for name in ("true Fisher F", "Gauss–Newton G (= F)"):
        assert np.min(by_name[name].customdata) >= -1e-13 * scale
    # the subplot titles count the negative eigenvalues; the axes are labelled
    titles = [a.text for a in fig.layout.annotations]
    first = next(iter(states.values()))
    assert any(f"{first.negative_eigenvalues} negative eigenvalues of H" in t for t in titles)
    assert fig.layout.yaxis.title.text == "eigenvalue (symlog)"
    assert fig.layout.xaxis2.title.text.startswith("eigenvalue index")
    assert "0" in fig.layout.yaxis.ticktext and any(
        t.startswith("−10") for t in fig.layout.yaxis.ticktext)


def test_curvature_rows_read_as_numbers(states):
    rows = figs.curvature_rows(states)
    assert [r["quantity"] for r in rows][:2] == ["‖H − F‖ / ‖F‖", "‖G − F‖ / ‖F‖"]
    for r in rows:
        assert set(r) == {"quantity", *states}
        assert not any(w in v for v in r.values() for w in ("nan", "None"))
    assert all(float(v) < 1e-12 for k, v in rows[1].items() if k != "quantity")


def test_adam_scatter_has_the_diagonal_line_and_correlations(adam_view):
    fig = figs.make_adam_fisher_figure(adam_view, len(adam_view.steps) - 1)
    names = [t.name for t in fig.data]
    assert names[2] == "y = x" and len(names) == 3
    for t in fig.data[:2]:
        assert np.all(np.asarray(t.x) > 0) and np.all(np.asarray(t.y) > 0)
        assert "log-log correlation" in t.name
    assert fig.layout.xaxis.type == fig.layout.yaxis.type == "log"
    assert fig.layout.xaxis.title.text and "b·v̂" in fig.layout.yaxis.title.text
    assert "step 60" in fig.layout.title.text
    # the correlation in the legend is that of the plotted points
    r = figs.log_correlation(adam_view.empirical_diagonal[-1],
                             adam_view.scaled_second_moment[-1])
    assert f"{r:.2f}" in names[0]


def test_log_correlation_of_a_power_law_is_one():
    x = np.logspace(-6, 0, 20)
    assert figs.log_correlation(x, 3 * x ** 2) == pytest.approx(1.0, abs=1e-12)
    assert np.isnan(figs.log_correlation(np.ones(5), x[:5]))


def test_direction_figure_plots_cosines_along_the_run(adam_view):
    fig = figs.make_adam_direction_figure(adam_view, 1)
    assert [t.name for t in fig.data] == [f"cos(Adam, {k})" for k in adam_view.cosines]
    assert list(fig.data[0].x) == [0, 20, 40, 60]
    assert fig.layout.shapes[0].x0 == 20  # the state shown in the scatter
    assert fig.layout.xaxis.title.text and fig.layout.yaxis.title.text
    assert fig.layout.title.text.startswith("Adam's direction")


def test_adam_text_states_the_scaling_of_the_batch(adam_view):
    text = figs.adam_fisher_text(adam_view, len(adam_view.steps) - 1)
    assert "E[b·g²] = (n−b)/(n−1)·diag F̂ + (b − (n−b)/(n−1))·ḡ²" in text
    assert "n·ḡ²" in text  # full batch
    assert f"{0.999 ** 60:.2f} of the newest" in text
    assert "reproduced the stored run exactly" in text
    assert "nan" not in text


# -- the page --------------------------------------------------------------------------------------


def _page(view: str, steps: int = 40, **settings):
    at = run_page("optim")
    at.slider(key="optim_steps").set_value(steps)
    for key, value in settings.items():
        if key == "optim_hidden":
            at.text_input(key=key).set_value(value)
        elif key == "optim_chosen":
            at.multiselect(key=key).set_value(value)
        else:
            at.selectbox(key=key).set_value(value)
    at.run()
    at.radio(key="optim_view").set_value(view)
    at.run()
    return at


def test_curvature_view_on_the_default_network():
    at = _page("curvature")
    assert not problems(at)
    assert not at.error and not at.warning, [w.value for w in at.warning]
    table = at.dataframe[0].value
    assert list(table.columns) == ["quantity", "initial network", "SGD after 40 steps"]
    ggn = table.set_index("quantity").loc["‖G − F‖ / ‖F‖"]
    assert all(float(v) < 1e-12 for v in ggn)
    negatives = table.set_index("quantity").loc["negative eigenvalues of H", "initial network"]
    assert int(negatives.split()[0]) > 0
    assert any("354×354" in c.value for c in at.caption)
    at.selectbox(key="optim_curv_run").set_value("Adam")
    at.run()
    assert list(at.dataframe[0].value.columns)[2] == "Adam after 40 steps"


def test_curvature_view_for_softmax_regression_has_h_equal_g():
    at = _page("curvature", optim_hidden="")
    assert not problems(at) and not at.error
    rows = at.dataframe[0].value.set_index("quantity")
    assert all(float(v) < 1e-12 for v in rows.loc["‖H − F‖ / ‖F‖"])
    assert set(rows.loc["negative eigenvalues of H"]) == {"0 of 6"}


def test_curvature_view_refuses_a_network_too_large_in_words():
    at = _page("curvature", steps=10, optim_hidden="40, 40")
    assert not problems(at)
    assert any("P=1842" in w.value and "narrower" in w.value for w in at.warning)


def test_adam_view_replays_the_run():
    at = _page("adam")
    assert not problems(at)
    assert not at.error and not at.warning, [w.value for w in at.warning]
    captions = " ".join(c.value for c in at.caption)
    assert "reproduced the stored run exactly" in captions
    assert "n·ḡ²" in captions
    at.select_slider(key="optim_adam_step").set_value(20)
    at.run()
    assert not problems(at)
    assert "at step 20 the oldest gradient" in " ".join(c.value for c in at.caption)


def test_adam_view_with_mini_batches_and_without_adam():
    at = _page("adam", optim_batch=16)
    assert not problems(at) and not at.error
    assert "Here b = 16 of n =" in " ".join(c.value for c in at.caption)
    at.multiselect(key="optim_chosen").set_value(["SGD", "NGD"])
    at.run()
    assert not problems(at) and not at.error
    assert any("Add Adam" in i.value for i in at.info)
