"""Riemannian optimisation (the Riemannian-optimisation lab): manifolds, problems, solvers,
torch optimizers and federated learning on a manifold.

Modules: :mod:`~geomcore.riemannian.manifolds` (``Sphere``, ``Stiefel``, ``Grassmann``,
``SPD``, ``PoincareBall``)::

    from geomcore.riemannian import Sphere
    S = Sphere(3)
    x = S.random_point(seed=0)
    y = S.exp(x, S.random_tangent(x, seed=1))
"""

from geomcore.riemannian import manifolds
from geomcore.riemannian.manifolds import (
    SPD,
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

__all__ = [
    "SPD",
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
