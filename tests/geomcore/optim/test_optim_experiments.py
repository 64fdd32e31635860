"""The reparametrisation experiment and snapshot models."""

from __future__ import annotations

import numpy as np
import torch

from geomcore.optim import compare, make_task, model_at, reparametrization_demo


def test_reparametrization_demo_separates_ngd_from_sgd():
    task = make_task("moons", n=200, seed=0)
    demo = reparametrization_demo(task, (), c=10.0, steps=20)
    assert demo.c == 10.0
    assert float(np.max(demo.gaps["NGD"])) < 1e-5  # same function in both coordinates
    assert float(np.max(demo.gaps["SGD"])) > 1e-2  # not so for plain gradient descent
    for (name, c), probs in demo.probs.items():
        assert probs.shape[0] == len(demo.steps[(name, c)])
        np.testing.assert_allclose(probs.sum(axis=-1), 1.0, atol=1e-12)
    # both runs start from the same function
    np.testing.assert_allclose(demo.probs[("SGD", 1.0)][0], demo.probs[("SGD", 10.0)][0],
                               atol=1e-12)
    assert demo.messages == ()


def test_reparametrization_demo_reports_progress_to_the_end():
    seen: list[float] = []
    reparametrization_demo(make_task("moons", n=100), (), steps=5, progress=seen.append)
    assert seen and seen[-1] == 1.0 and all(0.0 <= f <= 1.0 for f in seen)


def test_model_at_reproduces_the_recorded_loss():
    task = make_task("moons", n=200)
    runs = compare(task, [2, 8, 2], optimizers={"SGD": {"kind": "sgd", "lr": 0.5}}, steps=20,
                   snapshot_every=10)
    h = runs["SGD"]
    X = torch.as_tensor(task.X_train)
    y = torch.as_tensor(task.y_train)
    for idx, step in enumerate(h.snapshot_steps):
        model = model_at(h, idx)
        with torch.no_grad():
            loss = torch.nn.functional.cross_entropy(model(X), y).item()
        assert abs(loss - h.loss[step]) < 1e-12
    assert model_at(h, 0) is not h.model
