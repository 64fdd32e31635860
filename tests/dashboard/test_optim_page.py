"""The Natural-gradient page under streamlit's AppTest: defaults, every view, unusual and bad
settings, a diverging optimizer; never an exception, and a view change never retrains."""

from __future__ import annotations

import pytest

import geomcore.optim
from tests.dashboard.conftest import errors, problems, run_page, warnings

VIEWS = ["training", "trajectories", "spectrum", "kl", "ellipses", "reparam"]


@pytest.fixture()
def optim_page():
    return run_page("optim")


def _quick(at, steps: int = 40):
    """Fewer steps: the settings tests check the page, not the training."""
    at.slider(key="optim_steps").set_value(steps)
    at.run()
    return at


def _table(at):
    return at.dataframe[0].value


def test_default_experiment(optim_page):
    at = optim_page
    assert not problems(at)
    assert not errors(at) and not warnings(at)
    assert at.title[0].value == "Natural gradient"
    table = _table(at)
    assert list(table["optimizer"]) == list(geomcore.optim.DEFAULT_OPTIMIZERS)
    assert set(table["status"]) == {"ok"}
    # every default optimizer reaches the default target, NGD in the fewest steps
    steps = dict(zip(table["optimizer"], table["steps to loss ≤ 0.1"], strict=True))
    assert all(s.isdigit() and int(s) <= 300 for s in steps.values())
    assert int(steps["NGD"]) < int(steps["SGD"]) and int(steps["NGD"]) < int(steps["Adam"])
    text = " ".join(m.value for m in at.markdown)
    assert "needed the fewest steps" in text
    assert any("Explain" in e.label for e in at.expander)


@pytest.mark.parametrize("view", VIEWS)
def test_every_view_renders(optim_page, view):
    at = optim_page
    at.radio(key="optim_view").set_value(view)
    at.run()
    assert not problems(at)
    assert not errors(at), errors(at)
    assert not warnings(at), warnings(at)


def test_reparametrisation_states_the_gaps(optim_page):
    at = optim_page
    at.radio(key="optim_view").set_value("reparam")
    at.run()
    gaps = {m.label.split(":")[0]: float(m.value) for m in at.metric}
    assert gaps["NGD"] < 1e-5 < 1e-2 < gaps["SGD"]  # softmax regression: exact invariance
    at.radio(key="optim_rep_model").set_value("network")
    at.slider(key="optim_rep_steps").set_value(20)
    at.run()
    assert not problems(at) and not errors(at)
    assert {m.label.split(":")[0] for m in at.metric} == {"SGD", "NGD"}


def test_a_view_change_never_retrains(monkeypatch):
    calls = []
    real = geomcore.optim.compare

    def counting(*args, **kwargs):
        calls.append(kwargs.get("steps"))
        return real(*args, **kwargs)

    monkeypatch.setattr(geomcore.optim, "compare", counting)
    at = run_page("optim")
    at.number_input(key="optim_seed").set_value(4321)  # a config no other test trains
    _quick(at, 30)
    trained = len(calls)
    assert trained >= 1
    at.toggle(key="optim_log_y").set_value(False)
    at.run()
    at.selectbox(key="optim_target").set_value(0.3)
    at.run()
    for view in ("trajectories", "spectrum", "kl", "training"):
        at.radio(key="optim_view").set_value(view)
        at.run()
    assert not problems(at)
    assert len(calls) == trained


@pytest.mark.parametrize("task", ["circles", "spirals", "xor", "blobs"])
def test_other_tasks(optim_page, task):
    at = _quick(optim_page)
    at.selectbox(key="optim_task").set_value(task)
    at.run()
    assert not problems(at)
    assert not errors(at), errors(at)
    assert len(at.get("plotly_chart")) >= 2  # curves and decision boundaries


def test_digits_has_no_decision_boundary_but_trains(optim_page):
    at = _quick(optim_page, 20)
    at.selectbox(key="optim_task").set_value("digits")
    at.slider(key="optim_n").set_value(300)
    at.run()
    assert not problems(at)
    assert not errors(at), errors(at)
    assert any("2-d inputs" in i.value for i in at.info)
    assert len(_table(at)) == 5


@pytest.mark.parametrize("batch", [32, 128])
def test_mini_batches(optim_page, batch):
    at = _quick(optim_page)
    at.selectbox(key="optim_batch").set_value(batch)
    at.run()
    assert not problems(at)
    assert not errors(at), errors(at)
    assert len(_table(at)) == 5


@pytest.mark.parametrize("kind", ["empirical", "monte_carlo"])
def test_fisher_kinds(optim_page, kind):
    at = _quick(optim_page)
    at.radio(key="optim_fisher").set_value(kind)
    at.run()
    assert not problems(at)
    assert not errors(at), errors(at)
    # a sampled Fisher can make NGD diverge: that is a warning, and the table still has all
    for w in warnings(at):
        assert "diverged" in w or "failed" in w
    at.radio(key="optim_view").set_value("spectrum")
    at.run()
    assert not problems(at)


@pytest.mark.parametrize("hidden, activation", [("", "tanh"), ("8", "relu"),
                                                ("4, 4, 4", "gelu")])
def test_network_shapes(optim_page, hidden, activation):
    at = _quick(optim_page)
    at.text_input(key="optim_hidden").set_value(hidden)
    at.selectbox(key="optim_activation").set_value(activation)
    at.run()
    assert not problems(at)
    assert not errors(at), errors(at)
    assert len(_table(at)) == 5


def test_cg_solver_and_a_subset_of_optimizers(optim_page):
    at = _quick(optim_page)
    at.multiselect(key="optim_chosen").set_value(["Adam", "NGD"])
    at.run()
    at.selectbox(key="optim_solver").set_value("cg")
    at.run()
    assert not problems(at)
    assert not errors(at), errors(at)
    assert list(_table(at)["optimizer"]) == ["Adam", "NGD"]
    # No SGD run: the cost is relative to the first run (Adam); compare with the per-step times
    # the table shows (both rounded: 2 decimals for ms, 1 for the ratio)
    ms = [float(x) for x in _table(at)["ms per step"]]
    cost = [float(x.rstrip("×")) for x in _table(at)["cost of a step (× Adam)"]]
    assert cost[0] == 1.0
    assert cost[1] == pytest.approx(ms[1] / ms[0], rel=0.02, abs=0.06)


def test_diverging_learning_rate_warns_and_keeps_the_others(optim_page):
    at = _quick(optim_page)
    at.number_input(key="optim_lr_SGD").set_value(500.0)
    at.run()
    assert not problems(at)
    assert not errors(at), errors(at)
    assert any("SGD diverged" in w for w in warnings(at))
    table = _table(at)
    status = dict(zip(table["optimizer"], table["status"], strict=True))
    assert status["SGD"] == "diverged"
    assert all(status[n] == "ok" for n in ("Momentum", "Adam", "NGD", "K-FAC"))
    assert len(at.get("plotly_chart")) >= 2
    for view in VIEWS[1:4]:  # the pictures of the surviving runs still draw
        at.radio(key="optim_view").set_value(view)
        at.run()
        assert not problems(at) and not errors(at)


def test_nearly_undamped_ngd_failure_is_reported(optim_page):
    at = _quick(optim_page)
    at.select_slider(key="optim_damping_NGD").set_value(1e-8)
    at.number_input(key="optim_lr_NGD").set_value(5.0)
    at.run()
    assert not problems(at)
    assert not errors(at), errors(at)
    assert any("NGD" in w for w in warnings(at))


@pytest.mark.parametrize("hidden, fragment", [
    ("100", "out of range"),
    ("16, x", "whole numbers"),
    ("8, 8, 8, 8", "at most 3"),
])
def test_invalid_network_shows_an_error_and_keeps_the_page(optim_page, hidden, fragment):
    at = optim_page
    at.text_input(key="optim_hidden").set_value(hidden)
    at.run()
    assert not problems(at)
    messages = " ".join(errors(at))
    assert fragment in messages and "Could not compute the training" in messages
    assert any("Explain" in e.label for e in at.expander)
    assert at.radio(key="optim_view").value == "training"


def test_batch_larger_than_the_data_is_reported(optim_page):
    at = optim_page
    at.slider(key="optim_n").set_value(100)
    at.selectbox(key="optim_batch").set_value(256)
    at.run()
    assert not problems(at)
    assert any("batch_size" in e for e in errors(at))


def test_no_optimizer_is_reported(optim_page):
    at = optim_page
    at.multiselect(key="optim_chosen").set_value([])
    at.run()
    assert not problems(at)
    assert any("at least one optimizer" in e for e in errors(at))


def test_learning_rate_inputs_are_bounded(optim_page):
    widget = optim_page.number_input(key="optim_lr_SGD")
    assert widget.min == pytest.approx(1e-5) and widget.max == pytest.approx(1e3)
    assert optim_page.slider(key="optim_steps").max == 1000


# -- languages and links ---------------------------------------------------------------------------


def _open(params: dict[str, str]):
    """The page opened from a link with these query parameters (its first run reads them)."""
    from streamlit.testing.v1 import AppTest

    from tests.dashboard.conftest import APP

    at = AppTest.from_file(APP, default_timeout=180)
    for name, value in params.items():
        at.query_params[name] = value
    at.switch_page("views/optim.py")  # the first run is the page's: it reads the link
    at.run()
    return at


def _figure_titles(at) -> list[str]:
    import json

    return [json.loads(c.proto.spec)["layout"].get("title", {}).get("text", "")
            for c in at.get("plotly_chart")]


def test_the_page_in_chinese():
    from dashboard.i18n import catalog

    zh = catalog("zh")
    at = _open({"lang": "zh", "optim_steps": "30", "optim_chosen": "SGD,NGD"})
    assert not problems(at) and not errors(at)
    assert at.title[0].value == "自然梯度"
    assert at.slider(key="optim_steps").label == zh["optim.sidebar.steps"] == "步数"
    assert at.radio(key="optim_view").label == "视图"
    titles = _figure_titles(at)
    assert "每步的训练损失" in titles and "训练过程中的决策边界" in titles
    # the table's headers and statuses are Chinese too; the numbers are the same
    table = _table(at)
    assert list(table["优化器"]) == ["SGD", "NGD"]
    assert set(table["状态"]) == {"正常"}
    assert "损失 ≤ 0.1 所需步数" in table.columns
    text = " ".join(m.value for m in at.markdown)
    assert "所需步数最少" in text and "⟦" not in text


def test_a_link_reopens_the_reparametrisation_at_its_scale():
    at = _open({"optim_view": "reparam", "optim_rep_c": "100.0", "optim_rep_steps": "20",
                "optim_steps": "30", "optim_chosen": "SGD,NGD"})
    assert not problems(at) and not errors(at)
    assert not at.info  # no notice: every parameter was understood
    assert at.select_slider(key="optim_rep_c").value == 100.0
    assert at.slider(key="optim_rep_steps").value == 20
    assert at.multiselect(key="optim_chosen").value == ["SGD", "NGD"]
    gaps = {m.label: float(m.value) for m in at.metric}
    # the computed result is the one for c = 100: NGD invariant up to round-off (which grows
    # with c), SGD not
    ngd, sgd = "NGD: largest gap, c = 1 vs c = 100", "SGD: largest gap, c = 1 vs c = 100"
    assert set(gaps) == {ngd, sgd}
    assert gaps[ngd] < 1e-3 and gaps[sgd] > 100 * gaps[ngd]
    assert "c = 100" in _figure_titles(at)[0]
    # the URL keeps what differs from the defaults, and nothing else
    assert at.query_params["optim_rep_c"] == "100.0"
    assert "optim_rep_model" not in at.query_params


def test_a_link_with_the_kl_budget_off_keeps_it_off():
    at = _open({"optim_view": "kl", "optim_kl_clip": "0.0", "optim_steps": "30",
                "optim_chosen": "NGD"})
    assert not problems(at) and not errors(at)
    assert at.select_slider(key="optim_kl_clip").value == 0.0
    assert any("No KL budget is set" in c.value for c in at.caption)
    assert at.query_params["optim_kl_clip"] == "0.0"


def test_hostile_link_values_fall_back_to_the_defaults_with_a_notice():
    at = _open({"optim_hidden": "=cmd|' /C calc'!A0", "optim_steps": "nan",
                "optim_n": "-500", "optim_lr_SGD": "1e308", "optim_chosen": "SGD,,rm -rf",
                "optim_view": "x" * 5000, "optim_nonsense": "1"})
    assert not problems(at)
    assert at.text_input(key="optim_hidden").value == "16, 16"
    assert at.slider(key="optim_steps").value == 300
    assert at.slider(key="optim_n").value == 500
    assert at.number_input(key="optim_lr_SGD").value == 1.0
    assert at.radio(key="optim_view").value == "training"
    (notice,) = [i.value for i in at.info if "not understood" in i.value]
    assert "optim_hidden" in notice and "optim_nonsense" in notice
