"""Information geometry's two flat structures (the Dual-geometry lab).

Modules: :mod:`~geomcore.duality.families` (categorical, Bernoulli and univariate normal
families in their natural θ and expectation η charts: ψ, φ, the Fisher metric in both, KL and
Bregman divergences, Fisher–Rao distances, e-/m-/α-/Fisher–Rao geodesics),
:mod:`~geomcore.duality.projections` (m- and e-projections onto flat sub-families, the
Pythagorean identity, EM as alternating projections) and :mod:`~geomcore.duality.optimizers`
(:func:`optimize`: GD and NGD in θ, NGD in η, mirror descent and projected GD on the
simplex)::

    import torch
    from geomcore.duality import Categorical, optimize
    simplex = Categorical(3)
    path = optimize(lambda p: -(torch.tensor([0.2, 0.3, 0.5]) * p.log()).sum(), simplex,
                    start=[0.8, 0.1, 0.1], method="mirror_descent", steps=100, lr=0.2)
    path.points[-1], path.status
"""

from geomcore.duality import families, optimizers, projections
from geomcore.duality.families import (
    Bernoulli,
    Categorical,
    Curve,
    DualityError,
    ExponentialFamily,
    Gaussian1D,
    check_probabilities,
)
from geomcore.duality.optimizers import (
    METHODS,
    ClosedFormLoss,
    CrossEntropyLoss,
    LinearLoss,
    OptimizationPath,
    SquaredLoss,
    optimize,
    project_to_simplex,
)
from geomcore.duality.projections import (
    EMResult,
    Projection,
    PythagoreanCheck,
    e_projection,
    em_gaussian_mixture,
    m_projection,
    mixture_sample,
    pythagorean,
)

__all__ = [
    "METHODS",
    "Bernoulli",
    "Categorical",
    "ClosedFormLoss",
    "CrossEntropyLoss",
    "Curve",
    "DualityError",
    "EMResult",
    "ExponentialFamily",
    "Gaussian1D",
    "LinearLoss",
    "OptimizationPath",
    "Projection",
    "PythagoreanCheck",
    "SquaredLoss",
    "check_probabilities",
    "e_projection",
    "em_gaussian_mixture",
    "families",
    "m_projection",
    "mixture_sample",
    "optimize",
    "optimizers",
    "project_to_simplex",
    "projections",
    "pythagorean",
]
