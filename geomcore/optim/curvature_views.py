"""Curvature matrices of a softmax classifier side by side, and Adam read as a diagonal Fisher.

**Hessian, generalised Gauss–Newton and Fisher.** For the mean cross-entropy
``L(θ) = (1/n) Σ_i ℓ(z_i(θ), y_i)`` of logits ``z_i = f(θ, x_i) ∈ R^C`` the chain rule splits the
Hessian into two terms,

    H = ∇²L = (1/n) Σ_i J_iᵀ H_i J_i  +  (1/n) Σ_i Σ_c (p_ic − [y_i = c]) ∇²z_ic
        =        G (Gauss–Newton)     +            residual

with ``J_i = ∂z_i/∂θ`` (``shape=[C, P]``) and ``H_i = ∂²ℓ/∂z² = diag(p_i) − p_i p_iᵀ``, which for
softmax cross-entropy does not depend on the label. Hence

* ``G`` equals the true Fisher ``F = (1/n) Σ_i E_{y∼p_i}[∇log p ∇log pᵀ]`` exactly (both are
  ``(1/n) Σ J_iᵀ(diag p_i − p_i p_iᵀ)J_i``), and it is positive semi-definite;
* the residual vanishes when every logit is linear in ``θ`` (softmax regression: ``H = G = F``)
  and is weighted by the residuals ``p_i − e_{y_i}``, so it is small near a good fit;
* ``H`` itself can have negative eigenvalues (away from a minimum, and in a network also near
  one), which ``G`` and ``F`` never have;
* the empirical Fisher ``F̂ = (1/n) Σ_i ∇ℓ_i ∇ℓ_iᵀ`` uses the data's labels. Averaged over labels
  drawn from the model, ``E_{y_i∼p_i}[F̂] = F``; with the data's labels it is another matrix.

:func:`curvature_matrices` forms the four ``P×P`` matrices on a bounded subsample (``H`` by
``torch.func.hessian`` over the flat parameters, ``G`` from the logit Jacobian and the explicit
``diag(p) − ppᵀ``, ``F`` and ``F̂`` by :func:`~geomcore.optim.fisher.fisher_matrix`);
:func:`curvature_comparison` reduces them to spectra and distances for the page.

**Adam as a diagonal empirical Fisher.** Adam (``torch.optim.Adam``) keeps

    m_t = β₁ m_{t−1} + (1 − β₁) g_t,   v_t = β₂ v_{t−1} + (1 − β₂) g_t²,
    v̂_t = v_t / (1 − β₂ᵗ),   θ_t = θ_{t−1} − η m̂_t / (√v̂_t + ε),

with ``g_t`` the gradient of the *mean* loss over a mini-batch of ``b`` samples. As ``β₂ → 1``
``v̂_t`` tends to the plain average ``(1/t) Σ_s g_s²``; with ``b = 1`` and one pass over ``n``
samples that is exactly ``diag F̂`` (:func:`adam_second_moment`, tests). For ``b`` samples drawn
uniformly without replacement from ``n`` (``ḡ`` the full-batch gradient), per coordinate

    E[b · g_t²] = (n − b)/(n − 1) · diag F̂  +  (b − (n − b)/(n − 1)) · ḡ²,

so ``b · v̂`` estimates ``diag F̂`` when ``b = 1`` and the squared full gradient ``n ḡ²`` when
``b = n`` (full batch): :func:`expected_scaled_square` gives the right-hand side.
:func:`adam_fisher_view` replays an Adam run of :func:`~geomcore.optim.training.compare`
(``TrainingHistory`` keeps no optimizer state) and compares ``b · v̂`` with ``diag F̂`` and
``diag F``, and Adam's direction ``m̂/(√v̂ + ε)`` with the diagonal natural gradient
``g/(diag F + λ)``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, hessian, jacrev

from geomcore.optim import models
from geomcore.optim._functional import (
    FisherError,
    Linearization,
    as_inputs,
    functional_model,
    seeded_output_factor,
)
from geomcore.optim.fisher import fisher_matrix
from geomcore.optim.training import TrainingHistory, single_threaded

__all__ = [
    "CURVATURE_NAMES",
    "MAX_CURVATURE_PARAMS",
    "MAX_CURVATURE_POINTS",
    "AdamFisherView",
    "CurvatureComparison",
    "CurvatureMatrices",
    "adam_fisher_view",
    "adam_second_moment",
    "curvature_comparison",
    "curvature_matrices",
    "expected_scaled_square",
    "fisher_diagonals",
    "hessian_residual",
    "replay_batches",
]

CURVATURE_NAMES: tuple[str, ...] = ("hessian", "ggn", "fisher", "empirical_fisher")
"""Keys of :attr:`CurvatureComparison.eigenvalues`, in drawing order."""
MAX_CURVATURE_PARAMS = 1500
"""Most parameters for which :func:`curvature_matrices` forms ``P×P`` Hessians (the 8×8-digits
network 64-16-16-10 has 1482; its four matrices take about 2 s on one core)."""
MAX_CURVATURE_POINTS = 512
"""Most inputs :func:`curvature_matrices` differentiates through (the Jacobian is ``n·C·P``)."""
_MAX_ROW_ENTRIES = 1 << 22  # entries of the Fisher factor per diagonal computation (32 MB)


@dataclass(frozen=True)
class CurvatureMatrices:
    """The four curvature matrices at one parameter state, ``shape=[P, P]`` each (float64).

    ``hessian`` is ``∇²L``, ``ggn`` the generalised Gauss–Newton ``(1/n) Σ J_iᵀ H_i J_i``,
    ``fisher`` the true and ``empirical_fisher`` the empirical Fisher, ``loss`` the mean
    cross-entropy on the same ``n_points`` inputs.
    """

    hessian: np.ndarray
    ggn: np.ndarray
    fisher: np.ndarray
    empirical_fisher: np.ndarray
    loss: float
    n_points: int


def curvature_matrices(model: nn.Module, X: np.ndarray | torch.Tensor,
                       y: np.ndarray | torch.Tensor) -> CurvatureMatrices:
    """``H``, the generalised Gauss–Newton ``G``, ``F`` and ``F̂`` of the mean cross-entropy.

    Parameters
    ----------
    model : nn.Module
        A classifier returning logits ``shape=[n, C]``, at most :data:`MAX_CURVATURE_PARAMS`
        parameters (flattened in ``model.parameters()`` order).
    X : array, ``shape=[n, d]``
        At most :data:`MAX_CURVATURE_POINTS` inputs.
    y : array of int, ``shape=[n]``
        Labels.

    Returns
    -------
    CurvatureMatrices
        ``H = ∇²L`` by ``torch.func.hessian`` over the flat parameters;
        ``G = (1/n) Σ_i J_iᵀ (diag p_i − p_i p_iᵀ) J_i`` from ``J = jacrev(logits)``;
        ``F`` and ``F̂`` from :func:`~geomcore.optim.fisher.fisher_matrix`.
    """
    X_t, y_t, flat_fn, theta = _flat_setup(model, X, y)
    n = X_t.shape[0]

    def loss(t: torch.Tensor) -> torch.Tensor:
        return nn.functional.cross_entropy(flat_fn(t, X_t), y_t)

    H = hessian(loss)(theta)
    J = jacrev(lambda t: flat_fn(t, X_t))(theta)  # [n, C, P]
    with torch.no_grad():
        logits = flat_fn(theta, X_t)
        p = torch.softmax(logits, dim=1)
        H_out = torch.diag_embed(p) - p.unsqueeze(2) * p.unsqueeze(1)  # [n, C, C]
        G = torch.einsum("ncp,ncd,ndq->pq", J, H_out, J) / n
        value = float(nn.functional.cross_entropy(logits, y_t))
    F = fisher_matrix(model, X_t, "true")
    F_emp = fisher_matrix(model, X_t, "empirical", y=y_t)
    # The matrices are symmetric in exact arithmetic; symmetrise away the round-off so that
    # eigvalsh reads the same triangle for every one of them.
    return CurvatureMatrices(
        hessian=_sym(H), ggn=_sym(G), fisher=_sym(F), empirical_fisher=_sym(F_emp),
        loss=value, n_points=n,
    )


def hessian_residual(model: nn.Module, X: np.ndarray | torch.Tensor,
                     y: np.ndarray | torch.Tensor) -> np.ndarray:
    """The second term of ``H = G + R``: ``R = (1/n) Σ_i Σ_c (p_ic − [y_i = c]) ∇²z_ic``.

    Computed as the Hessian of ``θ ↦ (1/n) Σ_i r_iᵀ z_i(θ)`` with the residuals
    ``r_i = p_i − e_{y_i}`` held fixed at the current ``θ``: a route independent of
    :func:`curvature_matrices` (tests check ``H = G + R``). ``shape=[P, P]``.
    """
    X_t, y_t, flat_fn, theta = _flat_setup(model, X, y)
    with torch.no_grad():
        p = torch.softmax(flat_fn(theta, X_t), dim=1)
        r = p - nn.functional.one_hot(y_t, p.shape[1]).to(p.dtype)

    def weighted_logits(t: torch.Tensor) -> torch.Tensor:
        return (flat_fn(t, X_t) * r).sum() / X_t.shape[0]

    return _sym(hessian(weighted_logits)(theta))


@dataclass(frozen=True)
class CurvatureComparison:
    """Spectra of ``H``, ``G``, ``F`` and ``F̂`` at one state, and how far apart they are.

    Attributes
    ----------
    eigenvalues : dict of str to np.ndarray
        Keys :data:`CURVATURE_NAMES`; each ``shape=[P]``, descending, unclipped (so ``H``'s
        negative eigenvalues and the round-off of the PSD matrices, ``|λ| ≲ 1e-15 λ_max``,
        show).
    distances : dict of str to float
        Relative Frobenius distance to the true Fisher, ``‖A − F‖_F / ‖F‖_F``, for
        ``A`` = ``"hessian"``, ``"ggn"``, ``"empirical_fisher"``.
    hessian_ggn_gap : float
        ``‖H − G‖_F / ‖H‖_F``: the size of the residual term.
    negative_eigenvalues : int
        Eigenvalues of ``H`` below ``−rtol · max|λ(H)|`` (round-off excluded).
    most_negative : float
        Smallest eigenvalue of ``H``.
    loss : float
        Mean cross-entropy on the ``n_points`` inputs.
    n_points, n_params : int
        Subsample size and ``P``.
    rtol : float
        Threshold used for :attr:`negative_eigenvalues`.
    """

    eigenvalues: dict[str, np.ndarray]
    distances: dict[str, float]
    hessian_ggn_gap: float
    negative_eigenvalues: int
    most_negative: float
    loss: float
    n_points: int
    n_params: int
    rtol: float


def curvature_comparison(model: nn.Module, X: np.ndarray | torch.Tensor,
                         y: np.ndarray | torch.Tensor, *, rtol: float = 1e-10
                         ) -> CurvatureComparison:
    """Eigenvalues and distances of :func:`curvature_matrices` (arguments as there)."""
    mats = curvature_matrices(model, X, y)
    ev = {name: np.linalg.eigvalsh(getattr(mats, name))[::-1].copy()
          for name in CURVATURE_NAMES}
    F_norm = float(np.linalg.norm(mats.fisher))
    H_norm = float(np.linalg.norm(mats.hessian))

    def rel(a: np.ndarray, b: np.ndarray, norm: float) -> float:
        return float(np.linalg.norm(a - b) / norm) if norm > 0 else float("nan")

    distances = {name: rel(getattr(mats, name), mats.fisher, F_norm)
                 for name in ("hessian", "ggn", "empirical_fisher")}
    h = ev["hessian"]
    scale = float(np.abs(h).max()) if h.size else 0.0
    return CurvatureComparison(
        eigenvalues=ev, distances=distances,
        hessian_ggn_gap=rel(mats.hessian, mats.ggn, H_norm),
        negative_eigenvalues=int(np.sum(h < -rtol * scale)), most_negative=float(h[-1]),
        loss=mats.loss, n_points=mats.n_points, n_params=h.size, rtol=rtol,
    )


# -- Adam ------------------------------------------------------------------------------------------


def adam_second_moment(squared_gradients: np.ndarray | torch.Tensor, beta2: float
                       ) -> np.ndarray:
    """Adam's bias-corrected second moment ``v̂_T`` after the gradients ``g_1..g_T``.

    ``v_t = β₂ v_{t−1} + (1 − β₂) g_t²`` from ``v_0 = 0`` and ``v̂_T = v_T / (1 − β₂ᵀ)``, i.e.
    ``v̂_T = Σ_t β₂^{T−t} g_t² / Σ_t β₂^{T−t}``, a weighted average. ``β₂ = 1`` is its limit,
    the plain average ``(1/T) Σ_t g_t²``.

    Parameters
    ----------
    squared_gradients : array, ``shape=[T, P]``
        ``g_t²`` elementwise, oldest first.
    beta2 : float
        In ``[0, 1]``.

    Returns
    -------
    np.ndarray
        ``shape=[P]``.
    """
    g2 = np.asarray(squared_gradients, dtype=np.float64)
    if g2.ndim != 2 or g2.shape[0] == 0:
        raise ValueError(f"squared_gradients must have shape [T, P] with T >= 1, got {g2.shape}")
    beta2 = float(beta2)
    if not 0.0 <= beta2 <= 1.0:
        raise ValueError(f"beta2={beta2!r} must lie in [0, 1]")
    weights = beta2 ** np.arange(g2.shape[0] - 1, -1, -1, dtype=np.float64)
    return weights @ g2 / weights.sum()


def expected_scaled_square(empirical_diagonal: np.ndarray, full_gradient: np.ndarray,
                           n: int, b: int) -> np.ndarray:
    """``E[b · g²]`` over mini-batches of ``b`` of ``n`` samples drawn without replacement.

    With ``g = (1/b) Σ_{i∈B} g_i`` (a mean-reduced loss), per coordinate
    ``E[b g²] = (n − b)/(n − 1) · diag F̂ + (b − (n − b)/(n − 1)) · ḡ²`` where
    ``diag F̂ = (1/n) Σ g_i²`` and ``ḡ = (1/n) Σ g_i``. Arrays ``shape=[..., P]``; ``n >= 2``.
    """
    if not (isinstance(n, int | np.integer) and isinstance(b, int | np.integer)
            and 2 <= n and 1 <= b <= n):
        raise ValueError(f"need integers n >= 2 and 1 <= b <= n, got n={n!r}, b={b!r}")
    shrink = (n - b) / (n - 1)
    return shrink * np.asarray(empirical_diagonal) + (b - shrink) * np.asarray(full_gradient) ** 2


def fisher_diagonals(model: nn.Module, X: np.ndarray | torch.Tensor,
                     y: np.ndarray | torch.Tensor, *, max_true_points: int | None = None
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """``diag F̂`` and the full gradient ``ḡ`` on all of ``(X, y)``, and ``diag F`` on the first
    ``max_true_points`` inputs (all if ``None``; at least 1).

    ``diag(GᵀG)/n`` is the column sums of squares of the Fisher factor ``G`` (see
    :mod:`geomcore.optim.fisher`), so no ``P×P`` matrix is formed; the factor is built in
    chunks of inputs to bound memory. Returns ``(diag F̂, ḡ, diag F, n_true)``, each array
    ``shape=[P]``.
    """
    params, f = functional_model(model)
    X_t, y_t = as_inputs(model, X, y)
    if y_t is None:
        raise FisherError("fisher_diagonals needs the labels y")
    n = X_t.shape[0]
    n_true = n if max_true_points is None else max(1, min(n, int(max_true_points)))
    P = sum(t.numel() for t in params.values())
    emp_sq = torch.zeros(P, dtype=X_t.dtype, device=X_t.device)
    grad_sum = torch.zeros_like(emp_sq)
    true_sq = torch.zeros_like(emp_sq)
    with torch.no_grad():
        C = int(f(params, X_t[:1]).shape[1])
    chunk = max(1, _MAX_ROW_ENTRIES // (max(C - 1, 1) * P))
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        lin = Linearization(model, f, params, X_t[start:stop])
        _, R = seeded_output_factor(lin.logits, "empirical", y_t[start:stop], 1, X_t, 0)
        rows = lin.factor(R).rows().reshape(stop - start, P)  # rows = ∇ log p(y_i) = −∇ℓ_i
        emp_sq += (rows * rows).sum(0)
        grad_sum -= rows.sum(0)
        if start < n_true:
            cut = min(stop, n_true) - start
            lin_t = lin if cut == stop - start else Linearization(
                model, f, params, X_t[start:start + cut])
            _, R_true = seeded_output_factor(lin_t.logits, "true", None, 1, X_t, 0)
            G = lin_t.factor(R_true).rows().reshape(-1, P)
            true_sq += (G * G).sum(0)
    return ((emp_sq / n).cpu().numpy(), (grad_sum / n).cpu().numpy(),
            (true_sq / n_true).cpu().numpy(), n_true)


@dataclass(frozen=True)
class AdamFisherView:
    """Adam's second moment against the Fisher diagonals along a replayed Adam run.

    Row ``s`` of every ``shape=[S, ...]`` array belongs to the state ``θ_k``, ``k = steps[s]``
    (the run's snapshot steps), and to the step Adam takes *from* that state: ``v̂`` and ``m̂``
    after the update with the gradient ``g`` of the mini-batch at ``θ_k``. For the run's last
    state this is the step it would take next.

    Attributes
    ----------
    steps : np.ndarray
        ``shape=[S]``.
    batch_size, n_train : int
        ``b`` (``n_train`` for full batch) and ``n``.
    n_true_points : int
        Inputs of the true-Fisher diagonal (the first ones of the training set).
    parameter_index : np.ndarray
        ``shape=[P']``: the parameters kept in the per-parameter arrays (evenly spaced, all
        when ``P <= max_params``).
    scaled_second_moment : np.ndarray
        ``b · v̂``, ``shape=[S, P']``.
    empirical_diagonal, fisher_diagonal : np.ndarray
        ``diag F̂`` (all training points) and ``diag F`` at ``θ_k``, ``shape=[S, P']``.
    expected_scaled : np.ndarray
        ``E[b g²]`` at ``θ_k`` (:func:`expected_scaled_square`), ``shape=[S, P']``.
    cosines : dict of str to np.ndarray
        ``shape=[S]`` each: the cosine between Adam's direction ``m̂/(√v̂ + ε)`` and
        ``"diagonal NGD (true F)"`` ``g/(diag F + λ)``, ``"diagonal NGD (empirical F)"``
        ``g/(diag F̂ + λ)``, ``"gradient"`` ``g``, all over every parameter.
    beta1, beta2, eps, damping : float
        Adam's hyperparameters and the ``λ`` of the diagonal natural gradients.
    replay_error : float
        ``max |θ_k(replay) − θ_k(stored)|`` over the snapshots: 0 when the replay reproduced
        the run.
    """

    steps: np.ndarray
    batch_size: int
    n_train: int
    n_true_points: int
    parameter_index: np.ndarray
    scaled_second_moment: np.ndarray
    empirical_diagonal: np.ndarray
    fisher_diagonal: np.ndarray
    expected_scaled: np.ndarray
    cosines: dict[str, np.ndarray]
    beta1: float
    beta2: float
    eps: float
    damping: float
    replay_error: float


def replay_batches(n: int, batch_size: int | None, steps: int, seed: int
                   ) -> list[np.ndarray | None]:
    """The mini-batch indices :func:`~geomcore.optim.training.compare` feeds every optimizer.

    Epochs of a ``numpy.random.default_rng(seed)`` permutation, the incomplete tail of an epoch
    dropped; ``None`` (full batch) when ``batch_size`` is ``None``. A test checks that a replay
    with these batches reproduces the stored snapshots of a run.
    """
    if batch_size is None:
        return [None] * steps
    rng = np.random.default_rng(seed)
    order, pos = rng.permutation(n), 0
    out: list[np.ndarray | None] = []
    for _ in range(steps):
        if pos + batch_size > n:
            order, pos = rng.permutation(n), 0
        out.append(order[pos:pos + batch_size])
        pos += batch_size
    return out


def adam_fisher_view(
    history: TrainingHistory,
    X: np.ndarray,
    y: np.ndarray,
    *,
    batch_size: int | None,
    seed: int,
    damping: float = 1e-3,
    max_params: int = 2000,
    max_true_points: int = 256,
) -> AdamFisherView:
    """Replay an Adam run and compare its second moment with the Fisher diagonals.

    ``TrainingHistory`` keeps parameters, not the optimizer's state, so the run is replayed
    deterministically: the initial network (snapshot 0), ``torch.optim.Adam`` with the run's
    spec, the batches of :func:`replay_batches` (``batch_size`` and ``seed`` as given to
    ``compare``), one intra-op thread as in ``compare``. The replayed parameters at the
    snapshot steps equal the stored ones (tests).

    Parameters
    ----------
    history : TrainingHistory
        A run with ``spec["kind"] == "adam"``.
    X, y : arrays, ``shape=[n, d]`` and ``shape=[n]``
        The training set of the run.
    batch_size : int or None
        As given to ``compare`` (``None``: full batch).
    seed : int
        As given to ``compare``.
    damping : float
        ``λ > 0`` of the diagonal natural gradients.
    max_params : int
        Most parameters kept in the per-parameter arrays.
    max_true_points : int
        Inputs of the true-Fisher diagonal.
    """
    spec = history.spec
    if spec.get("kind") != "adam":
        raise ValueError(f"run {history.name!r} is not an Adam run (kind {spec.get('kind')!r})")
    if not (np.isfinite(damping) and damping > 0):
        raise ValueError(f"damping={damping!r} must be a finite number > 0")
    if history.snapshots.shape[0] == 0:
        raise ValueError(f"run {history.name!r} has no snapshots to replay from")
    model = copy.deepcopy(history.model)
    # A copy: set_flat_parameters leaves the parameters sharing memory with the vector it is
    # given, and Adam's in-place updates would otherwise overwrite the run's snapshot 0.
    models.set_flat_parameters(model, torch.tensor(history.snapshots[0]))
    X_t, y_t = as_inputs(model, X, y)
    assert y_t is not None
    n = X_t.shape[0]
    b = n if batch_size is None else int(batch_size)
    wanted = {int(k): s for s, k in enumerate(history.snapshot_steps)}
    last = max(wanted)
    beta1, beta2, eps = float(spec["beta1"]), float(spec["beta2"]), float(spec["eps"])
    opt = torch.optim.Adam(model.parameters(), lr=float(spec["lr"]), betas=(beta1, beta2),
                           eps=eps)
    P = models.count_parameters(model)
    keep = (np.arange(P) if P <= max_params else
            np.unique(np.linspace(0, P - 1, max_params).round().astype(np.int64)))
    rows: dict[str, list[np.ndarray]] = {k: [] for k in ("v", "emp", "true", "exp")}
    cos: dict[str, list[float]] = {"diagonal NGD (true F)": [], "diagonal NGD (empirical F)": [],
                                   "gradient": []}
    n_true, replay_error = 0, 0.0
    with single_threaded():
        for k, idx in enumerate(replay_batches(n, batch_size, last + 1, seed)):
            Xb, yb = (X_t, y_t) if idx is None else (X_t[torch.from_numpy(idx)],
                                                     y_t[torch.from_numpy(idx)])
            if k in wanted:
                stored = torch.as_tensor(history.snapshots[wanted[k]], dtype=X_t.dtype)
                replay_error = max(replay_error, float(
                    (models.flat_parameters(model).cpu() - stored).abs().max()))
                emp, g_full, true, n_true = fisher_diagonals(model, X_t, y_t,
                                                             max_true_points=max_true_points)
            opt.zero_grad(set_to_none=True)
            nn.functional.cross_entropy(model(Xb), yb).backward()
            opt.step()
            if k not in wanted:
                continue
            # a parameter the loss does not reach has no .grad: its gradient is zero
            g = np.concatenate([(p.grad if p.grad is not None else torch.zeros_like(p))
                                .detach().reshape(-1).cpu().numpy()
                                for p in model.parameters()])
            state = [opt.state[p] for p in model.parameters()]
            t = float(state[0]["step"])
            v_hat = np.concatenate([s["exp_avg_sq"].reshape(-1).cpu().numpy()
                                    for s in state]) / (1 - beta2 ** t)
            m_hat = np.concatenate([s["exp_avg"].reshape(-1).cpu().numpy()
                                    for s in state]) / (1 - beta1 ** t)
            adam_dir = m_hat / (np.sqrt(v_hat) + eps)
            cos["diagonal NGD (true F)"].append(_cosine(adam_dir, g / (true + damping)))
            cos["diagonal NGD (empirical F)"].append(_cosine(adam_dir, g / (emp + damping)))
            cos["gradient"].append(_cosine(adam_dir, g))
            rows["v"].append(b * v_hat[keep])
            rows["emp"].append(emp[keep])
            rows["true"].append(true[keep])
            rows["exp"].append(expected_scaled_square(emp, g_full, n, b)[keep] if n >= 2
                               else b * g_full[keep] ** 2)
    order = sorted(wanted)
    return AdamFisherView(
        steps=np.asarray(order, dtype=np.int64), batch_size=b, n_train=n,
        n_true_points=n_true, parameter_index=keep,
        scaled_second_moment=np.stack(rows["v"]), empirical_diagonal=np.stack(rows["emp"]),
        fisher_diagonal=np.stack(rows["true"]), expected_scaled=np.stack(rows["exp"]),
        cosines={k: np.asarray(v) for k, v in cos.items()},
        beta1=beta1, beta2=beta2, eps=eps, damping=float(damping), replay_error=replay_error,
    )


# -- helpers ---------------------------------------------------------------------------------------


def _flat_setup(model: nn.Module, X: object, y: object):
    """Inputs as tensors, ``f(θ_flat, X) -> logits`` and the flat ``θ`` (bounds checked)."""
    X_t, y_t = as_inputs(model, X, y)
    if y_t is None:
        raise FisherError("the curvature matrices need the labels y")
    P = models.count_parameters(model)
    if P > MAX_CURVATURE_PARAMS:
        raise FisherError(
            f"the network has P={P} parameters; the {P}×{P} Hessian is formed only up to "
            f"P={MAX_CURVATURE_PARAMS}: choose narrower or fewer hidden layers")
    if X_t.shape[0] > MAX_CURVATURE_POINTS:
        raise FisherError(f"{X_t.shape[0]} inputs given; use at most {MAX_CURVATURE_POINTS}")
    named = [(name, p.shape, p.numel()) for name, p in model.named_parameters()]

    def flat_fn(theta: torch.Tensor, X_in: torch.Tensor) -> torch.Tensor:
        params, start = {}, 0
        for name, shape, size in named:
            params[name] = theta[start:start + size].view(shape)
            start += size
        return functional_call(model, params, (X_in,))

    return X_t, y_t, flat_fn, models.flat_parameters(model)


def _sym(A: torch.Tensor) -> np.ndarray:
    A = A.detach()
    return (0.5 * (A + A.T)).cpu().numpy()


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    return float(a @ b / (na * nb)) if na > 0 and nb > 0 else float("nan")
