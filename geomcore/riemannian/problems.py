"""Optimisation problems on manifolds, most with a known optimum.

A :class:`Problem` is a manifold, a cost ``f(x) -> scalar`` on points ``x`` of
``shape=point_shape`` (or ``[k, *point_shape]`` for a product of ``k`` copies, the tree
embedding) and, optionally, its Euclidean or Riemannian gradient. Without either, torch autograd
differentiates the cost.

* :func:`rayleigh_quotient` on the sphere: ``f(x) = -xᵀAx``, minimised by the top eigenvector,
  ``f* = -λ_max``;
* :func:`brockett` on Stiefel: ``f(X) = tr(XᵀAXN)``, ``f* = Σᵢ Nᵢ λᵢ`` with ``N`` sorted
  descending and ``λ`` ascending, reached at the matching eigenvectors;
* :func:`karcher_mean` on SPD, the sphere (any manifold with a log): ``f(x) = ½ Σᵢ dist²(x, yᵢ)``;
* :func:`tree_embedding_problem`: the nodes of a tree on the Poincaré ball (or in the plane),
  placed so that their distances match the tree's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from geomcore._validation import check_choice, check_int, check_positive_float, check_seed
from geomcore.riemannian.manifolds import (
    DTYPE,
    Euclidean,
    Manifold,
    ManifoldError,
    PoincareBall,
    Sphere,
    Stiefel,
    as_tensor,
)

__all__ = [
    "Problem",
    "Tree",
    "TreeEmbedding",
    "balanced_tree",
    "embed_tree",
    "brockett",
    "karcher_mean",
    "mean_average_precision",
    "rayleigh_quotient",
    "tree_distortion",
    "tree_embedding_problem",
]

Cost = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Problem:
    """A cost on a manifold.

    Parameters
    ----------
    manifold : Manifold
        Where ``x`` lives; a point of shape ``[k, *point_shape]`` is read as ``k`` points of the
        product manifold (inner products summed).
    cost : callable
        ``x -> f(x)``, a scalar tensor, differentiable by autograd when no gradient is given.
    egrad : callable, optional
        ``x -> ∇f(x)``, the Euclidean gradient (same shape as ``x``).
    rgrad : callable, optional
        ``x -> grad f(x)``, the Riemannian gradient, when it is simpler than the Euclidean one
        (``-Σ log_x(yᵢ)`` for the Karcher mean).
    cost_and_egrad : callable, optional
        ``x -> (f, ∇f)`` sharing work between the two (one ``Ax`` for the Rayleigh quotient).
    f_star : float, optional
        The optimal value when known; ``solution`` a minimiser.
    name : str
        For legends and messages.
    """

    manifold: Manifold
    cost: Cost
    egrad: Cost | None = None
    rgrad: Cost | None = None
    cost_and_egrad: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]] | None = None
    f_star: float | None = None
    solution: torch.Tensor | None = field(default=None, repr=False)
    name: str = "problem"

    def value(self, x: object) -> float:
        """``f(x)`` as a float."""
        return float(self.cost(as_tensor(x)))

    def euclidean_gradient(self, x: object) -> torch.Tensor:
        """``∇f(x)``: the given ``egrad`` or autograd of the cost."""
        return self.value_and_euclidean_gradient(x)[1]

    def value_and_euclidean_gradient(self, x: object) -> tuple[float, torch.Tensor]:
        xt = as_tensor(x)
        if self.cost_and_egrad is not None:
            f, g = self.cost_and_egrad(xt)
            return float(f), g
        if self.egrad is not None:
            return float(self.cost(xt)), self.egrad(xt)
        with torch.enable_grad():
            xg = xt.detach().clone().requires_grad_(True)
            f = self.cost(xg)
            (g,) = torch.autograd.grad(f, xg)
        return float(f.detach()), g

    def value_and_gradient(self, x: object) -> tuple[float, torch.Tensor]:
        """``(f(x), grad f(x))`` with the Riemannian gradient."""
        xt = as_tensor(x)
        if self.rgrad is not None:
            return float(self.cost(xt)), self.rgrad(xt)
        f, g = self.value_and_euclidean_gradient(xt)
        return f, self.manifold.egrad_to_rgrad(xt, g)

    def gradient(self, x: object) -> torch.Tensor:
        """``grad f(x)``, the Riemannian gradient (tangent at ``x``)."""
        return self.value_and_gradient(x)[1]


def _symmetric(name: str, a: object, max_n: int = 4096) -> torch.Tensor:
    at = as_tensor(a)
    if at.ndim != 2 or at.shape[0] != at.shape[1] or not 1 <= at.shape[0] <= max_n:
        raise ManifoldError(f"{name} must be a square matrix with 1..{max_n} rows; got shape "
                            f"{tuple(at.shape)}")
    if not bool(torch.isfinite(at).all()):
        raise ManifoldError(f"{name} has NaN or infinite entries")
    scale = float(at.abs().max()) or 1.0
    if float((at - at.mT).abs().max()) > 1e-10 * scale:
        raise ManifoldError(f"{name} must be symmetric (pass (A + A.T) / 2)")
    return 0.5 * (at + at.mT)


def rayleigh_quotient(a: object) -> Problem:
    """``min_{‖x‖=1} -xᵀAx`` on ``Sphere(n)`` for a symmetric ``A [n, n]``.

    ``∇f = -2Ax``; the minimum ``-λ_max`` is reached at the top eigenvector ``±v_max``.
    """
    at = _symmetric("A", a)
    w, v = torch.linalg.eigh(at)

    def cost(x: torch.Tensor) -> torch.Tensor:
        return -(x * (x @ at)).sum(-1).sum()

    def cost_and_egrad(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        ax = x @ at  # A symmetric: x @ A = (A x)ᵀ
        return -(x * ax).sum(), -2.0 * ax

    return Problem(Sphere(at.shape[0]), cost, egrad=lambda x: -2.0 * (x @ at),
                   cost_and_egrad=cost_and_egrad, f_star=-float(w[-1]), solution=v[:, -1],
                   name="Rayleigh quotient")


def brockett(a: object, n_weights: object) -> Problem:
    """Brockett's cost ``min_{XᵀX=I} tr(XᵀAXN)`` on ``Stiefel(n, p)``, ``N = diag(n_weights)``.

    ``∇f = 2AXN``. With ``N₁ > … > N_p > 0`` sorted descending and the eigenvalues of ``A``
    ascending, ``f* = Σᵢ Nᵢ λᵢ``, reached at ``X = [v₁ … v_p]`` (up to the sign of each column);
    for another order of ``N`` the columns are permuted alike (rearrangement inequality).
    """
    at = _symmetric("A", a)
    weights = as_tensor(n_weights)
    if weights.ndim == 2:
        weights = torch.diagonal(weights)
    n, p = at.shape[0], weights.numel()
    if weights.ndim != 1 or not 1 <= p <= n:
        raise ManifoldError(f"N must hold 1..{n} diagonal weights; got shape "
                            f"{tuple(as_tensor(n_weights).shape)}")
    if not bool((weights > 0).all()) or torch.unique(weights).numel() != p:
        raise ManifoldError("the weights of N must be positive and distinct (a unique "
                            f"minimiser); got {weights.tolist()}")
    w, v = torch.linalg.eigh(at)
    order = torch.argsort(weights, descending=True)   # the largest weight meets λ₁, ...
    solution = torch.empty(n, p, dtype=DTYPE)
    solution[:, order] = v[:, :p]
    f_star = float((weights[order] * w[:p]).sum())

    def cost(x: torch.Tensor) -> torch.Tensor:
        return ((x.mT @ at @ x).diagonal(dim1=-2, dim2=-1) * weights).sum()

    def cost_and_egrad(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        ax = at @ x
        return (x * ax * weights).sum(), 2.0 * ax * weights

    return Problem(Stiefel(n, p), cost, egrad=lambda x: 2.0 * (at @ x) * weights,
                   cost_and_egrad=cost_and_egrad, f_star=f_star, solution=solution,
                   name="Brockett cost")


def karcher_mean(points: object, manifold: Manifold) -> Problem:
    """``min_x ½ Σᵢ dist²(x, yᵢ)`` for ``points [k, *point_shape]`` on a manifold with a log
    (SPD, sphere, Grassmann, Poincaré ball).

    The Riemannian gradient is ``-Σᵢ log_x(yᵢ)``; ``f*`` is not known in closed form (see
    :meth:`Manifold.frechet_mean` for the fixed-point solution).
    """
    if not manifold.has_log:
        raise ManifoldError(f"{manifold.name} has no closed-form log; the Karcher cost needs "
                            "one (use the sphere, SPD, Grassmann or the Poincaré ball)")
    y = manifold.as_point(points, "points")
    if y.ndim != len(manifold.point_shape) + 1:
        raise ManifoldError(f"points must have shape [k, {manifold.point_shape}]; got "
                            f"{tuple(y.shape)}")

    def cost(x: torch.Tensor) -> torch.Tensor:
        return 0.5 * (manifold.dist(x.expand_as(y), y) ** 2).sum()

    def rgrad(x: torch.Tensor) -> torch.Tensor:
        return -manifold.log(x.expand_as(y), y).sum(0)

    return Problem(manifold, cost, rgrad=rgrad, name=f"Karcher mean on {manifold.name}")


# -- trees -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Tree:
    """A rooted tree: ``edges [m, 2]`` (parent, child), node ``depths [N]`` and the matrix of
    hop distances ``distances [N, N]``."""

    edges: np.ndarray
    depths: np.ndarray
    distances: np.ndarray

    @property
    def n_nodes(self) -> int:
        return int(self.depths.size)


MAX_TREE_NODES = 400


def balanced_tree(depth: int = 4, branching: int = 2) -> Tree:
    """The balanced tree with ``branching`` children per node and ``depth`` levels below the
    root (``depth=4, branching=2``: 31 nodes). At most :data:`MAX_TREE_NODES` nodes."""
    depth = check_int("depth", depth, 1, 10, error=ManifoldError)
    branching = check_int("branching", branching, 1, 10, error=ManifoldError)
    n = sum(branching**k for k in range(depth + 1))
    if n > MAX_TREE_NODES:
        raise ManifoldError(f"depth={depth}, branching={branching} gives {n} nodes; use at "
                            f"most {MAX_TREE_NODES} (a smaller depth or branching)")
    parent = np.array([-1] + [(i - 1) // branching for i in range(1, n)])
    depths = np.zeros(n, dtype=int)
    for i in range(1, n):
        depths[i] = depths[parent[i]] + 1
    edges = np.stack([parent[1:], np.arange(1, n)], axis=1)
    # hop distance = depth(i) + depth(j) - 2 depth(lowest common ancestor)
    ancestors = [{i} for i in range(n)]
    for i in range(1, n):
        ancestors[i] = ancestors[parent[i]] | {i}
    dist = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            lca = max(depths[k] for k in ancestors[i] & ancestors[j])
            dist[i, j] = dist[j, i] = depths[i] + depths[j] - 2 * lca
    return Tree(edges=edges, depths=depths, distances=dist)


def tree_embedding_problem(tree: Tree, geometry: str = "hyperbolic", *, dim: int = 2,
                           scale: float = 0.5) -> Problem:
    """Place the tree's nodes so that their distances match ``scale ×`` the hop distances.

    ``f(X) = Σ_{i<j} (d(xᵢ, xⱼ)/(scale·d_G(i, j)) - 1)²`` over the points ``X [N, dim]`` of the
    Poincaré ball (``geometry="hyperbolic"``) or of ``R^dim`` (``"euclidean"``). Relative errors
    weigh near and far pairs alike. In the plane the scale does not matter; on the ball it sets
    how close to the boundary the leaves go.
    """
    check_choice("geometry", geometry, ("hyperbolic", "euclidean"), error=ManifoldError)
    dim = check_int("dim", dim, 1, 16, error=ManifoldError)
    scale = check_positive_float("scale", scale, error=ManifoldError)
    n = tree.n_nodes
    iu = torch.triu_indices(n, n, offset=1)
    target = scale * torch.as_tensor(tree.distances, dtype=DTYPE)[iu[0], iu[1]]
    manifold: Manifold = PoincareBall(dim) if geometry == "hyperbolic" else Euclidean(dim)

    def cost(x: torch.Tensor) -> torch.Tensor:
        if geometry == "hyperbolic":
            xi, xj = x[iu[0]], x[iu[1]]
            nx, ny = (xi * xi).sum(-1), (xj * xj).sum(-1)
            arg = 1 + 2 * ((xi - xj) ** 2).sum(-1) / ((1 - nx) * (1 - ny))
            # arccosh(1 + z) = log1p(z + sqrt(z(z+2))): differentiable and exact near z = 0
            z = arg - 1
            d = torch.log1p(z + torch.sqrt(z * (z + 2) + 1e-300))
        else:
            diff = x[iu[0]] - x[iu[1]]
            d = torch.sqrt((diff * diff).sum(-1) + 1e-300)
        return ((d / target - 1.0) ** 2).sum()

    return Problem(manifold, cost, name=f"tree embedding ({geometry}, {dim}-D)")


def tree_distortion(tree: Tree, embedded_distances: np.ndarray) -> float:
    """Average distortion ``mean_{i<j} |d(i,j)/(c·d_G(i,j)) - 1|``, ``c`` the median of the
    ratios ``d/d_G`` (so that it does not depend on the embedding's scale); 0 is perfect."""
    iu = np.triu_indices(tree.n_nodes, 1)
    ratio = np.asarray(embedded_distances)[iu] / tree.distances[iu]
    return float(np.mean(np.abs(ratio / np.median(ratio) - 1.0)))


def mean_average_precision(tree: Tree, embedded_distances: np.ndarray) -> float:
    """Mean average precision of the tree's edges (Nickel & Kiela 2017): for each node ``u``
    and each neighbour ``v``, the fraction of neighbours among the nodes at least as close to
    ``u`` as ``v`` is (in the embedding); averaged over ``v``, then over ``u``. 1 is perfect."""
    d = np.asarray(embedded_distances, dtype=float)
    adjacent = tree.distances == 1
    scores = []
    for u in range(tree.n_nodes):
        neighbours = np.flatnonzero(adjacent[u])
        others = np.delete(np.arange(tree.n_nodes), u)
        precisions = []
        for v in neighbours:
            ball = others[d[u, others] <= d[u, v]]
            precisions.append(adjacent[u, ball].sum() / ball.size)
        scores.append(np.mean(precisions))
    return float(np.mean(scores))


@dataclass(frozen=True)
class TreeEmbedding:
    """A trained embedding of a tree: ``positions [N, dim]``, the snapshots ``[S, N, dim]`` at
    ``snapshot_steps``, the embedded distances ``[N, N]``, the loss per iteration,
    ``distortion`` and ``mean_average_precision`` (see :func:`tree_distortion`,
    :func:`mean_average_precision`), and the solver's ``status``/``message``."""

    tree: Tree
    geometry: str
    positions: np.ndarray
    snapshots: np.ndarray
    snapshot_steps: np.ndarray
    distances: np.ndarray
    loss: np.ndarray
    distortion: float
    mean_average_precision: float
    status: str
    message: str


def embed_tree(tree: Tree, geometry: str = "hyperbolic", *, dim: int = 2, scale: float = 0.5,
               max_iter: int = 2000, seed: int = 0, n_snapshots: int = 30) -> TreeEmbedding:
    """Embed ``tree`` by Riemannian conjugate gradient on :func:`tree_embedding_problem` from
    small random positions near the origin (``seed``), keeping ``n_snapshots`` frames."""
    from geomcore.riemannian.solvers import minimize  # solvers import this module

    problem = tree_embedding_problem(tree, geometry, dim=dim, scale=scale)
    n_snapshots = check_int("n_snapshots", n_snapshots, 2, 200, error=ManifoldError)
    g = torch.Generator().manual_seed(check_seed(seed, error=ManifoldError))
    x0 = 0.05 * torch.randn(tree.n_nodes, dim, dtype=DTYPE, generator=g)
    res = minimize(problem, x0, "cg", max_iter=max_iter, gtol=1e-6, return_iterates=True)
    assert res.iterates is not None
    steps = np.unique(np.linspace(0, res.iterations, n_snapshots).round().astype(int))
    x = res.x
    d = problem.manifold.dist(x[:, None], x[None]).numpy()
    np.fill_diagonal(d, 0.0)
    return TreeEmbedding(
        tree=tree, geometry=geometry, positions=x.numpy(), snapshots=res.iterates[steps],
        snapshot_steps=steps, distances=d, loss=res.f, distortion=tree_distortion(tree, d),
        mean_average_precision=mean_average_precision(tree, d), status=res.status,
        message=res.message)
