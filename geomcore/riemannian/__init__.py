"""Riemannian optimisation (the Riemannian-optimisation lab): manifolds, problems, solvers,
torch optimizers and federated learning on a manifold.

Modules: :mod:`~geomcore.riemannian.manifolds` (``Sphere``, ``Stiefel``, ``Grassmann``,
``SPD``, ``PoincareBall``, ``Euclidean``), :mod:`~geomcore.riemannian.problems` (``Problem``
and problems with known optima), :mod:`~geomcore.riemannian.solvers` (``minimize``: GD, CG,
Adam; the Euclidean baselines), :mod:`~geomcore.riemannian.optimizers` (``RiemannianSGD``,
``RiemannianAdam`` on ``ManifoldParameter`` s), :mod:`~geomcore.riemannian.federated`
(``run``: RFedAvg, RFedSVRG and centralised GD on Stiefel or the sphere)::

    from geomcore.riemannian import Sphere
    S = Sphere(3)
    x = S.random_point(seed=0)
    y = S.exp(x, S.random_tangent(x, seed=1))
"""

from geomcore.riemannian import federated, manifolds, optimizers, problems, solvers
from geomcore.riemannian.manifolds import (
    SPD,
    Euclidean,
    Grassmann,
    Manifold,
    ManifoldError,
    MeanResult,
    PoincareBall,
    Sphere,
    Stiefel,
    as_tensor,
    principal_angles,
)
from geomcore.riemannian.optimizers import (
    ManifoldParameter,
    NonFiniteStepError,
    RiemannianAdam,
    RiemannianSGD,
)
from geomcore.riemannian.problems import (
    Problem,
    brockett,
    embed_tree,
    karcher_mean,
    rayleigh_quotient,
)
from geomcore.riemannian.solvers import (
    OptimizationResult,
    ambient_gradient,
    minimize,
    projected_gradient,
)

__all__ = [
    "SPD",
    "Euclidean",
    "ManifoldParameter",
    "NonFiniteStepError",
    "OptimizationResult",
    "Problem",
    "RiemannianAdam",
    "RiemannianSGD",
    "ambient_gradient",
    "brockett",
    "embed_tree",
    "federated",
    "karcher_mean",
    "minimize",
    "optimizers",
    "problems",
    "projected_gradient",
    "rayleigh_quotient",
    "solvers",
    "Grassmann",
    "Manifold",
    "ManifoldError",
    "MeanResult",
    "PoincareBall",
    "Sphere",
    "Stiefel",
    "as_tensor",
    "manifolds",
    "principal_angles",
]
