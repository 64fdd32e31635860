"""compare(): shared starts and batches, the default experiment, divergence, reparametrisation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from geomcore.optim import fisher, models, tasks, training
from geomcore.optim._views import prediction_gap
from geomcore.optim.training import DEFAULT_OPTIMIZERS, TrainingError, compare, summary_table

MOONS = tasks.make_task("moons")


@pytest.fixture(scope="module")
def default_run() -> dict[str, training.TrainingHistory]:
    return compare(MOONS, [2, 16, 16, 2], "tanh", steps=300, snapshot_every=25)


def test_default_optimizers_all_reach_the_target_and_ngd_is_fastest(default_run) -> None:
    assert set(default_run) == set(DEFAULT_OPTIMIZERS)
    kinds = {spec["kind"] for spec in DEFAULT_OPTIMIZERS.values()}
    assert kinds == set(training.OPTIMIZER_KINDS)
    reached = {}
    for name, h in default_run.items():
        assert h.status == "ok", h.message
        reached[name] = h.steps_to_loss(0.1)
        assert reached[name] is not None and reached[name] <= 300, (name, h.loss[-1])
    ngd = [n for n, s in DEFAULT_OPTIMIZERS.items() if s["kind"] == "ngd"][0]
    for other in ("sgd", "adam"):
        name = [n for n, s in DEFAULT_OPTIMIZERS.items() if s["kind"] == other][0]
        assert reached[ngd] < reached[name], reached


def test_histories_are_aligned_and_share_the_start(default_run) -> None:
    first = next(iter(default_run.values()))
    for h in default_run.values():
        assert len(h.loss) == len(h.test_accuracy) == len(h.train_accuracy) == 301
        assert len(h.wall_time) == len(h.grad_norm) == len(h.step_norm) == len(h.kl) == 300
        assert h.loss[0] == first.loss[0]  # same initial weights
        np.testing.assert_array_equal(h.snapshots[0], first.snapshots[0])
        assert h.snapshot_steps.tolist() == list(range(0, 301, 25))
        assert h.snapshots.shape == (13, models.count_parameters(h.model))
        assert h.elapsed.shape == (301,) and h.elapsed[0] == 0.0
        assert np.all(np.asarray(h.kl) >= -1e-12) and np.all(np.asarray(h.wall_time) > 0)
        assert 0.8 < h.test_accuracy[-1] <= 1.0
    rows = summary_table(default_run)
    assert [r["name"] for r in rows] == list(default_run)
    # relative_cost is each run's median step time over the (first) SGD run's, from wall_time
    ref = next(h for h in default_run.values() if h.spec["kind"] == "sgd")
    for row, h in zip(rows, default_run.values(), strict=True):
        assert row["ms_per_step"] == pytest.approx(1e3 * np.median(h.wall_time), rel=1e-12)
        assert row["relative_cost"] == pytest.approx(
            np.median(h.wall_time) / np.median(ref.wall_time), rel=1e-12)
    other = list(default_run)[1]
    rows_other = summary_table(default_run, reference=other)
    for row, h in zip(rows_other, default_run.values(), strict=True):
        assert row["relative_cost"] == pytest.approx(
            np.median(h.wall_time) / np.median(default_run[other].wall_time), rel=1e-12)
    assert all(r["steps_to_target"] is not None for r in rows)


def test_same_minibatches_for_every_optimizer() -> None:
    # Two identical SGD specs must produce identical runs, batch by batch.
    specs = {"a": {"kind": "sgd", "lr": 0.3}, "b": {"kind": "sgd", "lr": 0.3}}
    runs = compare(MOONS, [2, 8, 2], optimizers=specs, steps=15, batch_size=64, seed=3)
    assert runs["a"].loss == runs["b"].loss
    np.testing.assert_array_equal(runs["a"].snapshots, runs["b"].snapshots)


def test_huge_learning_rate_diverges_and_the_others_go_on() -> None:
    specs = {
        "SGD wild": {"kind": "sgd", "lr": 1e6},
        "NGD wild": {"kind": "ngd", "lr": 1e6, "damping": 1e-4},
        "Adam": {"kind": "adam", "lr": 0.01},
    }
    runs = compare(MOONS, [2, 8, 8, 2], optimizers=specs, steps=40)
    for name in ("SGD wild", "NGD wild"):
        h = runs[name]
        assert h.status == "diverged"
        assert f"{name} diverged at step {h.steps + 1}" in h.message
        assert np.all(np.isfinite(h.loss)) and h.snapshot_steps[-1] == h.steps
    assert runs["Adam"].status == "ok" and runs["Adam"].steps == 40


def test_progress_reports_fractions_up_to_one() -> None:
    seen: list[float] = []
    compare(MOONS, [2, 4, 2], optimizers={"s": {"kind": "sgd", "lr": 0.1}}, steps=30,
            progress=seen.append)
    assert seen[-1] == 1.0
    assert all(0.0 <= a <= b <= 1.0 for a, b in zip(seen[:-1], seen[1:], strict=True))


def test_reparametrisation_invariance_of_exact_ngd_on_softmax_regression() -> None:
    specs = {"NGD": {"kind": "ngd", "lr": 0.5, "damping": 1e-8, "fisher": "true",
                     "solver": "exact"},
             "SGD": {"kind": "sgd", "lr": 0.5}}
    runs = {c: compare(MOONS, [2, 2], optimizers=specs, steps=20, reparametrize=c,
                       snapshot_every=20) for c in (1.0, 10.0)}
    ngd_gap = prediction_gap(runs[1.0]["NGD"], runs[10.0]["NGD"], MOONS.X_train)
    sgd_gap = prediction_gap(runs[1.0]["SGD"], runs[10.0]["SGD"], MOONS.X_train)
    assert ngd_gap[0] < 1e-14 and sgd_gap[0] < 1e-14  # the same function at the start
    assert ngd_gap[-1] < 1e-5
    assert sgd_gap[-1] > 1e-2
    # The stored weights themselves differ by the factor c (different coordinates).
    first = runs[10.0]["NGD"].snapshots[-1][:4] / runs[1.0]["NGD"].snapshots[-1][:4]
    np.testing.assert_allclose(first, 10.0, rtol=1e-4)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"sizes": [3, 8, 2]}, "sizes\\[0\\]=3"),
        ({"sizes": [2, 8, 3]}, "sizes\\[-1\\]=3"),
        ({"sizes": [2, 512, 2]}, "hidden width 512"),
        ({"steps": 0}, "steps=0"),
        ({"steps": 10_000}, "steps=10000"),
        ({"batch_size": 0}, "batch_size=0"),
        ({"batch_size": 501}, "batch_size=501"),
        ({"reparametrize": 0.0}, "reparametrize=0.0"),
        ({"snapshot_every": 0}, "snapshot_every=0"),
        ({"activation": "swish"}, "swish"),
        ({"optimizers": {}}, "non-empty"),
        ({"optimizers": {"x": {"kind": "lbfgs"}}}, "unknown kind 'lbfgs'"),
        ({"optimizers": {"x": {"kind": "sgd", "lr": 0.1, "beta": 2}}}, "unknown option"),
        ({"optimizers": {"x": {"kind": "sgd", "lr": -2.0}}}, "lr=-2.0"),
        ({"optimizers": {"x": {"kind": "ngd", "lr": 0.1, "damping": -1.0}}}, "damping=-1.0"),
        ({"optimizers": {"x": {"kind": "kfac", "update_interval": 0}}}, "update_interval=0"),
    ],
)
def test_bad_requests_raise_before_training(kwargs: dict, match: str) -> None:
    args = {"sizes": [2, 8, 2], "optimizers": {"s": {"kind": "sgd", "lr": 0.1}}, "steps": 5}
    args.update(kwargs)
    sizes = args.pop("sizes")
    with pytest.raises((TrainingError, ValueError), match=match):
        compare(MOONS, sizes, **args)


def test_exact_ngd_over_the_memory_budget_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fisher, "MAX_DENSE_SIZE", 30)
    with pytest.raises(TrainingError, match="solver='exact' needs"):
        compare(MOONS, [2, 16, 2], optimizers={"n": {"kind": "ngd", "solver": "exact"}},
                steps=2)
    runs = compare(MOONS, [2, 16, 2], optimizers={"n": {"kind": "ngd", "solver": "cg",
                                                        "kl_clip": 0.05}}, steps=2)
    assert runs["n"].status == "ok"


def test_digits_with_minibatches_and_cg() -> None:
    digits = tasks.make_task("digits", n=300)
    specs = {"NGD": {"kind": "ngd", "lr": 0.5, "damping": 1e-2, "solver": "auto",
                     "kl_clip": 0.05},
             "K-FAC": {"kind": "kfac", "lr": 0.2, "damping": 1e-2}}
    runs = compare(digits, [64, 16, 10], optimizers=specs, steps=15, batch_size=100)
    for h in runs.values():
        assert h.status == "ok" and h.loss[-1] < 0.6 * h.loss[0]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_compare_on_cuda_matches_cpu() -> None:
    specs = {"NGD": {"kind": "ngd", "lr": 0.5, "damping": 1e-3, "solver": "auto",
                     "kl_clip": 0.05},
             # CG run to convergence: a fixed 10-iteration CG iterate is so sensitive to
             # round-off here (1e-15 in X moves it by 1e-5) that CPU and GPU drift apart.
             "NGD-cg": {"kind": "ngd", "lr": 0.5, "damping": 1e-3, "solver": "cg",
                        "cg_iters": 300, "kl_clip": 0.05},
             "K-FAC": {"kind": "kfac", "lr": 0.2, "damping": 1e-2},
             "Adam": {"kind": "adam", "lr": 0.01}}
    cpu = compare(MOONS, [2, 8, 8, 2], optimizers=specs, steps=10, batch_size=100)
    gpu = compare(MOONS, [2, 8, 8, 2], optimizers=specs, steps=10, batch_size=100,
                  device="cuda")
    for name in specs:
        assert next(gpu[name].model.parameters()).device.type == "cuda"
        np.testing.assert_allclose(gpu[name].loss, cpu[name].loss, rtol=1e-6, err_msg=name)
        np.testing.assert_allclose(gpu[name].snapshots, cpu[name].snapshots, rtol=1e-5,
                                   atol=1e-7, err_msg=name)


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is present")
def test_cuda_request_without_cuda_is_refused() -> None:
    with pytest.raises(TrainingError, match="device='cuda' is not available"):
        compare(MOONS, [2, 4, 2], optimizers={"s": {"kind": "sgd"}}, steps=2, device="cuda")
