"""Optimizer specs of :func:`~geomcore.optim.training.compare`: defaults, validation, building.

A spec is a plain dict such as ``{"kind": "ngd", "lr": 0.5, "damping": 1e-3}`` (what a web page
can hold in its state); this module fills in the defaults, rejects unknown kinds and keys, and
turns it into a ``torch.optim.Optimizer`` bound to one model.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, get_args

import torch
from torch import nn

from geomcore._validation import check_positive_float
from geomcore.optim import fisher, models
from geomcore.optim.optimizers import KFAC, NaturalGradient
from geomcore.optim.tasks import Task

OptimizerKind = Literal["sgd", "momentum", "adam", "ngd", "kfac"]
"""Values of a spec's ``"kind"``."""
OPTIMIZER_KINDS: tuple[OptimizerKind, ...] = get_args(OptimizerKind)

MAX_OPTIMIZERS = 8


class TrainingError(ValueError):
    """An invalid training request (sizes, steps, optimizer spec ...)."""


# Keys each kind accepts besides "kind", with the constructor defaults used when absent.
_SPEC_DEFAULTS: dict[str, dict[str, Any]] = {
    "sgd": {"lr": 1.0},
    "momentum": {"lr": 0.1, "momentum": 0.9, "nesterov": False},
    "adam": {"lr": 0.03, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
    "ngd": {"lr": 0.5, "damping": 1e-3, "fisher": "true", "solver": "exact", "cg_iters": 10,
            "kl_clip": None, "n_samples": 1},
    "kfac": {"lr": 0.3, "damping": 1e-2, "update_interval": 1, "fisher": "true",
             "factor_decay": 0.0, "kl_clip": None, "n_samples": 1},
}


def resolve_specs(optimizers: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Validate name -> spec and fill in each kind's defaults; raises :class:`TrainingError`."""
    if not isinstance(optimizers, Mapping) or not optimizers:
        raise TrainingError("optimizers must be a non-empty mapping of name -> spec dict")
    if len(optimizers) > MAX_OPTIMIZERS:
        raise TrainingError(f"{len(optimizers)} optimizers requested; at most {MAX_OPTIMIZERS}")
    resolved = {}
    for name, spec in optimizers.items():
        if not isinstance(spec, Mapping) or "kind" not in spec:
            raise TrainingError(f"optimizer {name!r}: the spec must be a dict with a 'kind'")
        kind = spec["kind"]
        if kind not in OPTIMIZER_KINDS:
            raise TrainingError(
                f"optimizer {name!r}: unknown kind {kind!r}; choose one of "
                f"{', '.join(OPTIMIZER_KINDS)}"
            )
        allowed = _SPEC_DEFAULTS[kind]
        unknown = sorted(set(spec) - set(allowed) - {"kind"})
        if unknown:
            raise TrainingError(
                f"optimizer {name!r}: unknown option(s) {', '.join(unknown)} for kind {kind!r}; "
                f"allowed: {', '.join(allowed)}"
            )
        resolved[str(name)] = {"kind": kind, **allowed, **{k: spec[k] for k in spec}}
    return resolved


def build_optimizer(
    name: str, spec: dict[str, Any], model: nn.Module, task: Task, batch_size: int | None,
    seed: int,
) -> torch.optim.Optimizer:
    """The optimizer a resolved spec describes, bound to ``model``; bad values raise
    :class:`TrainingError` naming the optimizer and the value."""
    kind = spec["kind"]
    try:
        lr = check_positive_float("lr", spec["lr"])
        if kind == "sgd":
            return torch.optim.SGD(model.parameters(), lr=lr)
        if kind == "momentum":
            return torch.optim.SGD(model.parameters(), lr=lr, momentum=spec["momentum"],
                                   nesterov=bool(spec["nesterov"]))
        if kind == "adam":
            return torch.optim.Adam(model.parameters(), lr=lr,
                                    betas=(spec["beta1"], spec["beta2"]), eps=spec["eps"])
        if kind == "ngd":
            if spec["solver"] == "exact":
                _check_exact_fits(model, task, batch_size, spec)
            return NaturalGradient(
                model, lr, spec["damping"], fisher=spec["fisher"], solver=spec["solver"],
                cg_iters=spec["cg_iters"], kl_clip=spec["kl_clip"],
                n_samples=spec["n_samples"], seed=seed,
            )
        return KFAC(
            model, lr, spec["damping"], spec["update_interval"], fisher=spec["fisher"],
            factor_decay=spec["factor_decay"], kl_clip=spec["kl_clip"],
            n_samples=spec["n_samples"], seed=seed,
        )
    except (ValueError, TypeError) as err:
        raise TrainingError(f"optimizer {name!r} ({kind}): {err}") from err


def _check_exact_fits(model: nn.Module, task: Task, batch_size: int | None,
                      spec: dict[str, Any]) -> None:
    """Refuse an exact NGD whose dense system would exceed the memory budget, before training."""
    P = models.count_parameters(model)
    n = task.n_train if batch_size is None else batch_size
    r = {"true": task.n_classes - 1, "empirical": 1}.get(spec["fisher"], spec["n_samples"])
    if min(P, n * r) > fisher.MAX_DENSE_SIZE:
        raise ValueError(
            f"solver='exact' needs a {min(P, n * r)}-sided dense system (P={P}), over the budget "
            f"of {fisher.MAX_DENSE_SIZE}; choose solver 'cg' or 'auto', or a smaller network/batch"
        )
