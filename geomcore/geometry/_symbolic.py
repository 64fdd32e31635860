"""The symbolic side of a Riemannian metric: one family's derivations, shared by every
parameter value (and by :mod:`geomcore.geometry.metrics` and :mod:`geomcore.geometry.surfaces`).

:class:`SymbolicMetric` derives ``g^{-1}``, the Christoffel symbols, the Riemann and Ricci
tensors, the scalar curvature and the geodesic and variational systems from a sympy matrix,
each on first use, and compiles them (see :mod:`geomcore.geometry._compile`).
:func:`latex_of` writes them as LaTeX.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import sympy as sp

from geomcore.geometry._compile import (
    CSE,
    ArrayFunction,
    ScalarSystem,
    common_subexpressions,
    flatten,
    simplify_light,
)

__all__ = ["SymbolicMetric", "latex_of"]


@dataclass(frozen=True, eq=False)
class SymbolicMetric:
    """The symbolic objects of one metric family (shared by every parameter value)."""

    matrix: sp.Matrix
    coords: tuple[sp.Symbol, ...]
    params: tuple[sp.Symbol, ...]
    plans: dict[str, CSE] = field(default_factory=dict, repr=False, compare=False)
    """Precomputed common sub-expressions for the compiled functions, by their name (see
    :meth:`plan_compilation`); a function without one is compiled with ``cse=True``."""

    @cached_property
    def inverse(self) -> sp.Matrix:
        """g^{-1}, in closed form: adj(g) / det g.

        ``Matrix.inv()`` tests pivots for zero with ``simplify``, which can run for minutes on
        a metric derived from a user's formula. For 2 x 2 (every surface) the adjugate is
        written out; for larger n it comes from the division-free Berkowitz algorithm. Each
        entry is then simplified only as far as :func:`simplify_light` allows.
        """
        g = self.matrix
        if g.shape == (2, 2):
            det = simplify_light(g[0, 0] * g[1, 1] - g[0, 1] * g[1, 0])
            adj = sp.Matrix([[g[1, 1], -g[0, 1]], [-g[1, 0], g[0, 0]]])
        else:
            det = simplify_light(g.det(method="berkowitz"))
            adj = g.adjugate(method="berkowitz")
        return adj.applyfunc(lambda e: simplify_light(e / det))

    @cached_property
    def christoffel(self) -> sp.Array:
        """Γ^k_ij indexed [k, i, j]."""
        g, ginv, x = self.matrix, self.inverse, self.coords
        n = len(x)
        dg = [[[sp.diff(g[i, j], x[k]) for k in range(n)] for j in range(n)] for i in range(n)]
        gam = sp.MutableDenseNDimArray.zeros(n, n, n)
        for k in range(n):
            for i in range(n):
                for j in range(i, n):
                    s = sum(
                        ginv[k, l] * (dg[l][j][i] + dg[l][i][j] - dg[i][j][l]) for l in range(n)
                    )
                    s = simplify_light(s / 2)
                    gam[k, i, j] = s
                    gam[k, j, i] = s
        return sp.Array(gam)

    @cached_property
    def riemann(self) -> sp.Array:
        """R^ρ_σμν indexed [ρ, σ, μ, ν]."""
        gam, x = self.christoffel, self.coords
        n = len(x)
        R = sp.MutableDenseNDimArray.zeros(n, n, n, n)
        for r in range(n):
            for s in range(n):
                for m in range(n):
                    for v in range(m + 1, n):
                        val = sp.diff(gam[r, v, s], x[m]) - sp.diff(gam[r, m, s], x[v])
                        val += sum(
                            gam[r, m, l] * gam[l, v, s] - gam[r, v, l] * gam[l, m, s]
                            for l in range(n)
                        )
                        val = simplify_light(val, max_ops=120)
                        R[r, s, m, v] = val
                        R[r, s, v, m] = -val
        return sp.Array(R)

    @cached_property
    def ricci(self) -> sp.Matrix:
        n = len(self.coords)
        R = self.riemann
        return sp.Matrix(n, n, lambda s, v: sum(R[r, s, r, v] for r in range(n)))

    @cached_property
    def scalar_curvature(self) -> sp.Expr:
        n = len(self.coords)
        ginv, ric = self.inverse, self.ricci
        total = sum(ginv[s, v] * ric[s, v] for s in range(n) for v in range(n))
        return simplify_light(total, max_ops=200)

    @cached_property
    def velocities(self) -> tuple[sp.Symbol, ...]:
        return tuple(sp.Symbol(f"d{c.name}", real=True) for c in self.coords)

    @cached_property
    def acceleration(self) -> list[sp.Expr]:
        """ẍ^k = −Γ^k_ij ẋ^i ẋ^j."""
        gam, dx = self.christoffel, self.velocities
        n = len(dx)
        return [
            -sum(gam[k, i, j] * dx[i] * dx[j] for i in range(n) for j in range(n))
            for k in range(n)
        ]

    @cached_property
    def geodesic_system(self) -> ScalarSystem:
        """State (x, ẋ) of size 2n."""
        return ScalarSystem(self.coords + self.velocities, list(self.velocities)
                            + self.acceleration, self.params,
                            cse=self.plans.get("geodesic_system"))

    @cached_property
    def variational_phi(self) -> tuple[sp.Symbol, ...]:
        """The symbols of Φ (2n x n, row-major) in the variational state."""
        n = len(self.coords)
        return tuple(sp.Symbol(f"phi_{i}_{j}", real=True) for i in range(2 * n)
                     for j in range(n))

    @cached_property
    def variational_rhs(self) -> list[sp.Expr]:
        """Right-hand side of the variational system, in the order of its state (x, ẋ, Φ)."""
        n = len(self.coords)
        state = self.coords + self.velocities
        acc = self.acceleration
        phi = sp.Matrix(2 * n, n, self.variational_phi)
        jac = sp.Matrix(n, 2 * n, lambda k, s: sp.diff(acc[k], state[s]))
        top = phi[n:, :]
        bottom = jac * phi
        return list(self.velocities) + acc + list(top) + list(bottom)

    @cached_property
    def variational_system(self) -> ScalarSystem:
        """State (x, ẋ, Φ) with Φ = ∂(x, ẋ)/∂ẋ(0), a 2n x n matrix, flattened row-major.

        Φ' = Df Φ with Df = [[0, I], [∂a/∂x, ∂a/∂ẋ]]; Φ(0) = [[0], [I]].
        """
        state = self.coords + self.velocities + self.variational_phi
        return ScalarSystem(state, self.variational_rhs, self.params,
                            cse=self.plans.get("variational_system"))

    def compiled_expressions(self) -> dict[str, list[sp.Expr]]:
        """What each compiled function (``metric_fn``, ..., ``variational_system``) compiles."""
        return {
            "metric_fn": flatten(self.matrix),
            "christoffel_fn": flatten(self.christoffel),
            "riemann_fn": flatten(self.riemann),
            "ricci_fn": flatten(self.ricci),
            "scalar_fn": [self.scalar_curvature],
            "geodesic_system": list(self.velocities) + self.acceleration,
            "variational_system": self.variational_rhs,
        }

    def plan_compilation(self) -> dict[str, CSE]:
        """Common sub-expressions of every compiled function, to be installed in ``plans``."""
        return {name: common_subexpressions(exprs)
                for name, exprs in self.compiled_expressions().items()}

    # The symbolic results, as opposed to the compiled ``*_fn`` and ``*_system`` ones: what a
    # worker process derives and sends back (sympy objects pickle; compiled functions do not).
    _DERIVED = ("inverse", "christoffel", "riemann", "ricci", "scalar_curvature",
                "acceleration", "variational_rhs")

    def derive_all(self, *, skip_curvature: bool = False) -> dict[str, object]:
        """Derive every symbolic object now and return them by name (a picklable dict).

        With ``skip_curvature`` the Riemann and Ricci tensors and the scalar curvature are left
        out (a caller that knows them in closed form sets them with
        :meth:`set_gaussian_curvature`).
        """
        names = [n for n in self._DERIVED
                 if not (skip_curvature and n in ("riemann", "ricci", "scalar_curvature"))]
        return {name: getattr(self, name) for name in names}

    def restore(self, derived: Mapping[str, object]) -> None:
        """Install objects returned by :meth:`derive_all` (nothing is re-derived)."""
        unknown = set(derived) - set(self._DERIVED)
        if unknown:
            raise ValueError(f"not derived symbolic objects: {sorted(unknown)}")
        # cached_property stores its value in the instance dict; so do we (frozen dataclass).
        self.__dict__.update(derived)

    def set_gaussian_curvature(self, K: sp.Expr) -> None:
        """Set the curvature of a 2-dimensional metric from its Gaussian curvature ``K``.

        In two dimensions the Riemann tensor is determined by K:
        ``R^ρ_σμν = K (δ^ρ_μ g_σν − δ^ρ_ν g_σμ)``, so ``R_σν = K g_σν`` and ``R = 2K``. A surface
        knows K from its second fundamental form (Gauss's Theorema Egregium), which avoids
        differentiating the Christoffel symbols once more.
        """
        if len(self.coords) != 2:
            raise ValueError("the Gaussian curvature determines the Riemann tensor only in 2-d")
        g = self.matrix
        R = sp.MutableDenseNDimArray.zeros(2, 2, 2, 2)
        for r in range(2):
            for s in range(2):
                for m in range(2):
                    for v in range(2):
                        R[r, s, m, v] = K * (int(r == m) * g[s, v] - int(r == v) * g[s, m])
        self.__dict__.update(
            riemann=sp.Array(R), ricci=K * g, scalar_curvature=2 * K
        )

    @cached_property
    def metric_fn(self) -> ArrayFunction:
        return ArrayFunction(self.matrix, self.coords, self.params,
                             cse=self.plans.get("metric_fn"))

    @cached_property
    def christoffel_fn(self) -> ArrayFunction:
        return ArrayFunction(self.christoffel, self.coords, self.params,
                             cse=self.plans.get("christoffel_fn"))

    @cached_property
    def riemann_fn(self) -> ArrayFunction:
        return ArrayFunction(self.riemann, self.coords, self.params,
                             cse=self.plans.get("riemann_fn"))

    @cached_property
    def ricci_fn(self) -> ArrayFunction:
        return ArrayFunction(self.ricci, self.coords, self.params,
                             cse=self.plans.get("ricci_fn"))

    @cached_property
    def scalar_fn(self) -> ArrayFunction:
        return ArrayFunction([self.scalar_curvature], self.coords, self.params,
                             cse=self.plans.get("scalar_fn"))


def latex_of(sym: SymbolicMetric, labels: Sequence[str]) -> dict[str, str]:
    n = len(sym.coords)
    metric = sp.latex(sym.matrix.applyfunc(simplify_light))
    gam = sym.christoffel
    lines = []
    for k in range(n):
        for i in range(n):
            for j in range(i, n):
                if gam[k, i, j] != 0:
                    lines.append(
                        rf"\Gamma^{{{labels[k]}}}_{{{labels[i]}{labels[j]}}} = "
                        + sp.latex(gam[k, i, j])
                    )
    out = {
        "metric": r"g = " + metric,
        "christoffel": r" \\ ".join(lines) if lines else r"\Gamma^k_{ij} = 0",
        "scalar_curvature": "R = " + sp.latex(sym.scalar_curvature),
    }
    if n == 2:
        out["gaussian_curvature"] = "K = " + sp.latex(simplify_light(sym.scalar_curvature / 2))
    return out
