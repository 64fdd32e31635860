"""NaturalGradient and KFAC as torch optimizers: updates, validation, state_dict, KL clipping."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from geomcore.optim import fisher, models, tasks
from geomcore.optim.optimizers import KFAC, NaturalGradient


def _data(n: int = 60, name: str = "moons") -> tuple[torch.Tensor, torch.Tensor]:
    task = tasks.make_task(name, n=n, seed=1)
    return torch.tensor(task.X_train), torch.tensor(task.y_train)


def test_natural_gradient_step_is_theta_minus_lr_times_direction() -> None:
    X, y = _data()
    net = models.mlp([2, 8, 2], seed=0)
    theta = models.flat_parameters(net)
    direction = fisher.natural_gradient(net, X, y, 1e-3)
    opt = NaturalGradient(net, lr=0.3, damping=1e-3)
    loss = opt.step(X, y)
    with torch.no_grad():
        initial = nn.functional.cross_entropy(models.mlp([2, 8, 2], seed=0)(X), y)
    assert float(loss) == pytest.approx(float(initial))
    torch.testing.assert_close(models.flat_parameters(net), theta - 0.3 * direction)
    # The Euclidean gradient is left in .grad like any optimizer's.
    grad = torch.cat([p.grad.reshape(-1) for p in net.parameters()])
    assert float(grad.norm()) == pytest.approx(opt.last_info["grad_norm"])


def test_kl_clip_bounds_the_predicted_kl() -> None:
    X, y = _data()
    net = models.mlp([2, 8, 2], seed=0)
    opt = NaturalGradient(net, lr=10.0, damping=1e-3, kl_clip=1e-3)
    opt.step(X, y)
    assert opt.last_info["predicted_kl"] == pytest.approx(1e-3)
    assert opt.last_info["lr"] < 10.0
    kfac = KFAC(models.mlp([2, 8, 2], seed=0), lr=10.0, damping=1e-3, kl_clip=1e-3)
    kfac.step(X, y)
    assert kfac.last_info["predicted_kl"] == pytest.approx(1e-3)


def test_kfac_step_equals_natural_gradient_where_kfac_is_exact() -> None:
    """Softmax regression at zero weights: K-FAC's Fisher is the exact Fisher."""
    X, y = _data(40, "blobs")
    net = models.mlp([2, 3])
    with torch.no_grad():
        for p in net.parameters():
            p.zero_()
    reference = copy.deepcopy(net)
    damping = 1e-10
    KFAC(net, lr=1.0, damping=damping).step(X, y)
    # The factored damping differs from λI, but both vanish: compare with the pseudo-inverse
    # step (the gradient has no component along the softmax's null directions).
    res = fisher.natural_gradient_step(reference, X, y, 1e-12)
    F = fisher.fisher_matrix(reference, X)
    expected = -torch.linalg.pinv(F, hermitian=True, rtol=1e-10) @ res.gradient
    step = models.flat_parameters(net) - models.flat_parameters(reference)
    assert float((step - expected).norm() / expected.norm()) < 1e-4


@pytest.mark.parametrize("name", ["moons", "blobs"])
def test_kfac_leaves_the_exact_gradient_in_grad(name: str) -> None:
    X, y = _data(50, name)
    net = models.reparametrize(models.mlp([2, 5, int(y.max()) + 1], seed=3), 3.0)
    reference = copy.deepcopy(net)
    nn.functional.cross_entropy(reference(X), y).backward()
    KFAC(net, lr=0.1).step(X, y)
    for p, q in zip(net.parameters(), reference.parameters(), strict=True):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-11, atol=1e-14)


def test_kfac_reduces_the_loss_on_an_mlp() -> None:
    X, y = _data(200)
    net = models.mlp([2, 16, 16, 2], seed=0)
    opt = KFAC(net, lr=0.2, damping=1e-2, update_interval=3, factor_decay=0.5)
    losses = [float(opt.step(X, y)) for _ in range(30)]
    assert losses[-1] < 0.5 * losses[0]
    assert [opt.last_info["refreshed"]] == [int(29 % 3 == 0)]


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda net: NaturalGradient(net, lr=-1.0), "lr=-1.0"),
        (lambda net: NaturalGradient(net, lr=float("nan")), "lr=nan"),
        (lambda net: NaturalGradient(net, lr=0.1, damping=-1e-3), "damping=-0.001"),
        (lambda net: NaturalGradient(net, fisher="diagonal"), "fisher='diagonal'"),
        (lambda net: NaturalGradient(net, solver="qr"), "solver='qr'"),
        (lambda net: NaturalGradient(net, cg_iters=0), "cg_iters=0"),
        (lambda net: NaturalGradient(net, kl_clip=0.0), "kl_clip=0.0"),
        (lambda net: NaturalGradient(net, n_samples=True), "n_samples=True"),
        (lambda net: KFAC(net, lr=0.0), "lr=0.0"),
        (lambda net: KFAC(net, damping=0.0), "damping=0.0"),
        (lambda net: KFAC(net, update_interval=0), "update_interval=0"),
        (lambda net: KFAC(net, factor_decay=1.0), "factor_decay=1.0"),
        (lambda net: KFAC(net, fisher="exact"), "fisher='exact'"),
    ],
)
def test_bad_hyperparameters_name_the_value(make, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make(models.mlp([2, 4, 2]))


def test_optimizers_need_the_model() -> None:
    net = models.mlp([2, 4, 2])
    with pytest.raises(TypeError, match="need the network function"):
        NaturalGradient(net.parameters(), lr=0.1)

    class Scaled(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = nn.Linear(2, 2, dtype=torch.float64)
            self.gain = nn.Parameter(torch.ones(1, dtype=torch.float64))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.gain * self.inner(x)

    with pytest.raises(ValueError, match="'gain' does not"):
        KFAC(Scaled())


@pytest.mark.parametrize("kind", ["ngd", "kfac"])
def test_state_dict_round_trip(kind: str) -> None:
    X, y = _data(80)

    def make(net: nn.Module, lr: float) -> torch.optim.Optimizer:
        if kind == "ngd":
            return NaturalGradient(net, lr=lr, damping=1e-3, fisher="monte_carlo", n_samples=2,
                                   seed=4)
        return KFAC(net, lr=lr, damping=1e-2, update_interval=3, factor_decay=0.7,
                    fisher="monte_carlo", seed=4)

    net = models.mlp([2, 8, 2], seed=1)
    opt = make(net, 0.2)
    for _ in range(4):
        opt.step(X, y)
    saved = copy.deepcopy(opt.state_dict())
    twin = copy.deepcopy(net)
    opt_twin = make(twin, 99.0)  # wrong lr, empty state: both must come from the state_dict
    opt_twin.load_state_dict(saved)
    assert opt_twin.param_groups[0]["lr"] == 0.2
    for _ in range(3):  # steps 5-7: stale K-FAC factors and MC seeds come from the state
        opt.step(X, y)
        opt_twin.step(X, y)
    torch.testing.assert_close(models.flat_parameters(twin), models.flat_parameters(net),
                               rtol=0, atol=0)


def test_lr_scheduler_drives_the_step_size() -> None:
    X, y = _data()
    net = models.mlp([2, 4, 2])
    opt = NaturalGradient(net, lr=0.5, damping=1e-3)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    opt.step(X, y)
    sched.step()
    opt.step(X, y)
    assert opt.last_info["lr"] == pytest.approx(0.25)
