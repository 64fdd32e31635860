"""The shared argument checks (geomcore._validation): one rule set and one seed limit."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from geomcore._validation import (
    MAX_SEED,
    check_choice,
    check_int,
    check_nonnegative_float,
    check_positive_float,
    check_seed,
)
from geomcore.geometry import exp_map, surfaces
from geomcore.geometry.geodesics import GeodesicError
from geomcore.optim import KFAC, NaturalGradient, compare, make_task, mlp
from geomcore.optim.tasks import TaskError
from geomcore.optim.training import TrainingError


class _Custom(Exception):
    pass


@pytest.mark.parametrize("value", [3, np.int64(3), np.int32(3)])
def test_check_int_accepts_python_and_numpy_integers(value: object) -> None:
    assert check_int("k", value, 1, 5) == 3
    assert type(check_int("k", value, 1, 5)) is int


@pytest.mark.parametrize("value", [True, 3.0, "3", None, np.float64(3.0)])
def test_check_int_refuses_non_integers_with_the_value(value: object) -> None:
    with pytest.raises(_Custom, match=re.escape(f"k={value!r} must be an integer")):
        check_int("k", value, 1, 5, error=_Custom)


@pytest.mark.parametrize(("value", "bound"), [(0, "1 <= k <= 5"), (6, "1 <= k <= 5")])
def test_check_int_range_message(value: int, bound: str) -> None:
    with pytest.raises(ValueError, match=rf"k={value} is out of range; use {bound}"):
        check_int("k", value, 1, 5)


def test_check_int_without_upper_bound() -> None:
    assert check_int("k", 10**30, 1) == 10**30
    with pytest.raises(ValueError, match="k >= 1"):
        check_int("k", 0, 1)


def test_seed_limit_is_what_numpy_and_torch_accept() -> None:
    assert MAX_SEED == 2**32 - 1
    assert check_seed(MAX_SEED) == MAX_SEED
    np.random.default_rng(MAX_SEED)
    np.random.RandomState(MAX_SEED)  # the strictest of the generators we might meet
    torch.Generator().manual_seed(MAX_SEED)
    with pytest.raises(ValueError, match=rf"seed={MAX_SEED + 1} is out of range"):
        check_seed(MAX_SEED + 1)
    with pytest.raises(ValueError, match="seed=-1 is out of range"):
        check_seed(-1)


@pytest.mark.parametrize("value", [0, -1.0, float("nan"), float("inf"), True, "1", None])
def test_check_positive_float_refuses(value: object) -> None:
    with pytest.raises(ValueError, match=r"lr=.* must be"):
        check_positive_float("lr", value)


def test_check_floats_accept_numpy_scalars() -> None:
    assert check_positive_float("lr", np.float32(0.5)) == 0.5
    assert check_nonnegative_float("damping", 0) == 0.0
    with pytest.raises(ValueError, match="damping=-1e-09 must be a finite number >= 0"):
        check_nonnegative_float("damping", -1e-9)


def test_check_choice() -> None:
    assert check_choice("kind", "a", ("a", "b")) == "a"
    with pytest.raises(ValueError, match="kind='c' is not one of 'a', 'b'"):
        check_choice("kind", "c", ("a", "b"))
    with pytest.raises(ValueError, match="is not one of"):
        check_choice("kind", ["a"], ("a", "b"))


# The same rules at every call site (before: four variants; the seed limit was 2**62 in the
# optimizers and 2**31 - 1 in tasks and training; numpy integers were refused by the
# optimizers and bools accepted as counts by the geometry lab).

def test_same_seed_limit_everywhere() -> None:
    net = mlp([2, 2], seed=MAX_SEED)
    task = make_task("moons", n=40, seed=MAX_SEED)
    NaturalGradient(net, seed=MAX_SEED)
    KFAC(net, seed=MAX_SEED)
    with pytest.raises(ValueError, match="seed="):
        NaturalGradient(net, seed=MAX_SEED + 1)
    with pytest.raises(ValueError, match="seed="):
        KFAC(net, seed=2**40)
    with pytest.raises(TaskError, match="seed="):
        make_task("moons", n=40, seed=MAX_SEED + 1)
    with pytest.raises(TrainingError, match="seed="):
        compare(task, [2, 2], steps=1, seed=MAX_SEED + 1)


def test_natural_gradient_steps_past_the_seed_limit() -> None:
    # step k seeds its Monte-Carlo labels with seed + k, wrapped to stay a valid seed
    net = mlp([2, 2], seed=0)
    opt = NaturalGradient(net, fisher="monte_carlo", seed=MAX_SEED)
    X, y = torch.randn(6, 2, dtype=torch.float64), torch.tensor([0, 1, 0, 1, 0, 1])
    opt.step(X, y)
    opt.step(X, y)


def test_optimizers_accept_numpy_integers() -> None:
    net = mlp([2, 2], seed=0)
    NaturalGradient(net, cg_iters=np.int64(5), n_samples=np.int64(2), seed=np.int64(1))
    KFAC(net, update_interval=np.int64(2))


def test_geometry_counts_refuse_bools() -> None:
    with pytest.raises(GeodesicError, match="n_points=True must be an integer"):
        exp_map(surfaces.get("sphere"), [1.0, 1.0], [0.1, 0.0], n_points=True)


def test_check_points_shapes_bounds_and_non_finite_values():
    from geomcore._validation import check_points

    np.testing.assert_array_equal(check_points("X", [[1, 2], [3, 4]]), [[1.0, 2.0], [3.0, 4.0]])
    assert check_points("z", [1.0, 2.0, 3.0], column=True).shape == (3, 1)
    with pytest.raises(ValueError, match="at least 3 points"):
        check_points("X", [[1.0, 2.0]], min_points=3)
    with pytest.raises(ValueError, match="2-D array"):
        check_points("X", [1.0, 2.0, 3.0])
    with pytest.raises(KeyError, match="at most 2"):
        check_points("X", np.zeros((3, 2)), max_points=2, error=KeyError)
    with pytest.raises(ValueError, match="NaN or infinite"):
        check_points("X", [[0.0, np.inf], [1.0, 2.0]])
