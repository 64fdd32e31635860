"""Tasks and models of the Natural-gradient lab: shapes, determinism, bounds, reparametrisation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from geomcore.optim import models, tasks


@pytest.mark.parametrize("name", tasks.TASK_NAMES)
def test_every_task_has_consistent_arrays(name: str) -> None:
    task = tasks.make_task(name, n=120, seed=3)
    assert task.X_train.dtype == np.float64 and task.y_train.dtype == np.int64
    assert task.X_train.shape[0] == 120 == task.y_train.shape[0]
    assert task.X_test.shape[1] == task.X_train.shape[1] == task.n_features
    assert set(np.unique(task.y_train)) <= set(range(task.n_classes))
    assert np.all(np.isfinite(task.X_train)) and np.all(np.isfinite(task.X_test))
    # Every class is represented in training (the tasks are balanced-ish by construction).
    assert np.unique(task.y_train).size == task.n_classes


def test_default_moons_and_digits() -> None:
    moons = tasks.make_task("moons")
    assert moons.X_train.shape == (500, 2) and moons.noise == 0.2 and moons.n_classes == 2
    digits = tasks.make_task("digits", n=1000)
    assert digits.X_train.shape == (1000, 64) and digits.X_test.shape == (797, 64)
    assert digits.n_classes == 10
    # Standardised on the training set (constant border pixels stay at 0).
    std = digits.X_train.std(axis=0)
    assert np.allclose(digits.X_train.mean(axis=0), 0.0, atol=1e-12)
    assert np.allclose(std[std > 0], 1.0)


def test_tasks_are_deterministic_in_the_seed() -> None:
    a, b, c = (tasks.make_task("spirals", seed=s) for s in (1, 1, 2))
    np.testing.assert_array_equal(a.X_train, b.X_train)
    assert not np.allclose(a.X_train, c.X_train)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"name": "mnist"}, "unknown task"),
        ({"name": "moons", "n": 5}, "n=5"),
        ({"name": "moons", "n": 10**6}, "n=1000000"),
        ({"name": "digits", "n": 1700}, "n=1700"),
        ({"name": "moons", "noise": -1.0}, "noise=-1.0"),
        ({"name": "moons", "noise": float("nan")}, "noise=nan"),
        ({"name": "moons", "n": 2.5}, "n=2.5"),
    ],
)
def test_bad_task_requests_name_the_value(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        tasks.make_task(**kwargs)


def test_mlp_structure_and_dtype() -> None:
    net = models.mlp([2, 16, 16, 2], "tanh", seed=0)
    assert models.count_parameters(net) == 2 * 16 + 16 + 16 * 16 + 16 + 16 * 2 + 2
    assert all(p.dtype == torch.float64 for p in net.parameters())
    softmax_regression = models.mlp([4, 3])
    assert isinstance(softmax_regression[0], torch.nn.Linear) and len(softmax_regression) == 1
    # Seeded init, independent of the global RNG.
    torch.manual_seed(123)
    again = models.mlp([2, 16, 16, 2], "tanh", seed=0)
    torch.testing.assert_close(models.flat_parameters(net), models.flat_parameters(again))


@pytest.mark.parametrize(
    ("sizes", "activation", "match"),
    [
        ([2], "tanh", "between 2 and"),
        ([2, 300, 2], "tanh", "hidden width 300"),
        ([2, 16, 1], "tanh", "number of classes 1"),
        ([2, 16, 2], "swish", "unknown activation 'swish'"),
        (["a", 2], "tanh", "must be a list of integers"),
    ],
)
def test_bad_sizes_raise(sizes: list, activation: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        models.mlp(sizes, activation)


@settings(max_examples=20, deadline=None)
@given(c=st.floats(1e-3, 1e3), seed=st.integers(0, 100))
def test_reparametrize_keeps_the_function(c: float, seed: int) -> None:
    net = models.mlp([2, 8, 3], "relu", seed=seed)
    other = models.reparametrize(net, c)
    X = torch.randn(20, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    torch.testing.assert_close(other(X), net(X), rtol=1e-12, atol=1e-12)
    first = models.linear_layers(other)[0]
    assert isinstance(first, models.ScaledLinear) == (c != 1.0)  # c = 1 is a plain copy
    torch.testing.assert_close(first.weight, c * net[0].weight)
    # The original is untouched.
    assert not isinstance(models.linear_layers(net)[0], models.ScaledLinear)


def test_reparametrize_bounds() -> None:
    with pytest.raises(ValueError, match="reparametrize=0.0"):
        models.reparametrize(models.mlp([2, 2]), 0.0)


def test_flat_parameters_round_trip() -> None:
    net = models.mlp([3, 5, 2])
    theta = models.flat_parameters(net)
    models.set_flat_parameters(net, np.zeros(theta.numel()))
    assert float(models.flat_parameters(net).abs().sum()) == 0.0
    models.set_flat_parameters(net, theta)
    torch.testing.assert_close(models.flat_parameters(net), theta)
    with pytest.raises(ValueError, match="expected a vector of"):
        models.set_flat_parameters(net, np.zeros(3))


def test_set_flat_parameters_copies_so_training_never_writes_into_the_vector():
    import torch

    from geomcore.optim.models import flat_parameters, mlp, set_flat_parameters

    model = mlp([2, 4, 2], seed=0)
    theta = torch.arange(float(sum(p.numel() for p in model.parameters())),
                         dtype=torch.float64)
    kept = theta.clone()
    set_flat_parameters(model, theta)
    torch.testing.assert_close(flat_parameters(model), kept, rtol=0, atol=0)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    torch.testing.assert_close(theta, kept, rtol=0, atol=0)
