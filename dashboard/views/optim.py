"""Natural gradient: NGD, K-FAC, SGD, Momentum and Adam side by side on toy networks."""

from __future__ import annotations

from typing import Any

import streamlit as st

from dashboard.cached import optim as cached
from dashboard.cached.common import ProgressBar, cached_figure, freeze_specs
from dashboard.figures import optim as figs
from dashboard.figures.theme import PLOT_CONFIG
from dashboard.widgets import MAX_HIDDEN_LAYERS, MAX_HIDDEN_WIDTH, guarded, parse_hidden
from geomcore.optim import DEFAULT_OPTIMIZERS, TASK_NAMES, Task, TrainingHistory, summary_table
from geomcore.optim.fisher import FisherKind, Solver
from geomcore.optim.models import ACTIVATIONS
from geomcore.optim.tasks import DEFAULT_NOISE

VIEWS = {
    "training": "Training & decision boundaries",
    "trajectories": "Trajectories",
    "spectrum": "Fisher spectrum",
    "kl": "KL per step",
    "ellipses": "Fisher ellipses (2 weights)",
    "reparam": "Reparametrisation",
    "curvature": "Hessian vs Fisher",
    "adam": "Adam as diagonal Fisher",
}
TASK_TITLES = {"moons": "two moons", "circles": "circles", "spirals": "two spirals",
               "xor": "XOR", "blobs": "three blobs", "digits": "8×8 digits (64-d, 10 classes)"}
FISHER_KINDS: dict[FisherKind, str] = {"true": "true (model's own labels)",
                                       "empirical": "empirical (data labels)",
                                       "monte_carlo": "Monte-Carlo (sampled labels)"}
SOLVERS: dict[Solver, str] = {"auto": "auto", "exact": "exact (direct solve)",
                              "cg": "conjugate gradient"}
DAMPINGS = [1e-8, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0]
BATCHES: list[str | int] = ["full", 16, 32, 64, 128, 256]
TARGETS = [0.5, 0.3, 0.2, 0.1, 0.05, 0.02, 0.01]
KL_BUDGETS = [None, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0]
CURVATURE_KINDS = ("ngd", "kfac")

st.title("Natural gradient")
st.caption(
    "Gradient descent steps the same distance in every parameter direction; natural gradient "
    "descent steps the same distance in *predictions*, measured by the Fisher metric. Five "
    "optimizers train the same network from the same start on the same batches."
)

# -- controls --------------------------------------------------------------------------------------
with st.sidebar:
    st.header("Task")
    task_name = st.selectbox("Task", TASK_NAMES, format_func=TASK_TITLES.__getitem__,
                             key="optim_task")
    noise = st.slider("Noise", 0.0, 2.0, float(DEFAULT_NOISE[task_name]), step=0.05,
                      key=f"optim_noise_{task_name}",
                      help="Standard deviation of the noise (for blobs: of each cluster).")
    n_train = st.slider("Training points", 50, 1500, 500, step=50, key="optim_n")
    seed = int(st.number_input("Seed", 0, 9999, 0, step=1, key="optim_seed",
                               help="Data, initial weights, mini-batches, sampled labels."))

    st.header("Network")
    hidden_text = st.text_input(
        "Hidden layer widths", "16, 16", key="optim_hidden", max_chars=40,
        help=f"Comma-separated, at most {MAX_HIDDEN_LAYERS} layers of width "
             f"≤ {MAX_HIDDEN_WIDTH}. Empty: softmax regression (no hidden layer).",
    )
    activation = st.selectbox("Activation", ACTIVATIONS, key="optim_activation")

    st.header("Optimizers")
    chosen = st.multiselect("Optimizers", list(DEFAULT_OPTIMIZERS),
                            default=list(DEFAULT_OPTIMIZERS), key="optim_chosen")
    fisher_kind = st.radio("Fisher (NGD and K-FAC)", list(FISHER_KINDS),
                           format_func=FISHER_KINDS.__getitem__, key="optim_fisher")
    kl_clip = st.select_slider(
        "KL budget of a step (NGD and K-FAC)", KL_BUDGETS,
        value=DEFAULT_OPTIMIZERS["NGD"]["kl_clip"], key="optim_kl_clip",
        format_func=lambda v: "off" if v is None else f"{v:g}",
        help="A step whose predicted KL, η²·dᵀFd/2, would exceed the budget is shortened to "
             "it: the most one step may move the predictions. The KL view shows how often "
             "it binds.")
    specs: dict[str, dict] = {}
    for name in chosen:
        spec = dict(DEFAULT_OPTIMIZERS[name])
        # One control a row: in two sidebar columns the labels were cut off.
        spec["lr"] = float(st.number_input(
            f"{name}: learning rate", min_value=1e-5, max_value=1e3, value=float(spec["lr"]),
            format="%g", key=f"optim_lr_{name}"))
        if spec["kind"] in CURVATURE_KINDS:
            spec["damping"] = st.select_slider(
                f"{name}: damping λ", DAMPINGS, value=spec["damping"], format_func="{:g}".format,
                key=f"optim_damping_{name}")
            spec["fisher"] = fisher_kind
            spec["kl_clip"] = kl_clip
        specs[name] = spec
    if "NGD" in specs:
        specs["NGD"]["solver"] = st.selectbox(
            "NGD solver", list(SOLVERS), format_func=SOLVERS.__getitem__, key="optim_solver",
            help="auto: a direct solve while it is cheap, conjugate gradient above.")

    st.header("Training")
    batch = st.selectbox("Batch size", BATCHES, key="optim_batch",
                         format_func=lambda b: "full batch" if b == "full" else str(b))
    steps = st.slider("Steps", 10, cached.MAX_TRAIN_STEPS, 300, step=10, key="optim_steps")

view = st.radio("View", list(VIEWS), format_func=VIEWS.__getitem__, horizontal=True,
                key="optim_view")


def _explain() -> None:
    with st.expander("Explain: the natural gradient, the Fisher, and what each picture shows"):
        st.markdown("Natural gradient descent with damping λ updates the parameters by")
        st.latex(r"\theta \leftarrow \theta - \eta\,(F + \lambda I)^{-1}\,\nabla_\theta L,"
                 r"\qquad F = \mathbb{E}_{x}\,\mathbb{E}_{y\sim p_\theta(y\mid x)}"
                 r"\big[\nabla_\theta \log p_\theta(y\mid x)\,"
                 r"\nabla_\theta \log p_\theta(y\mid x)^{\top}\big].")
        st.markdown(
            "$F$ is the Fisher information: the metric in which a small step $\\delta$ changes "
            "the predictions by $\\mathrm{KL}(p_\\theta\\,\\|\\,p_{\\theta+\\delta}) \\approx "
            "\\tfrac12 \\delta^{\\top} F \\delta$. The natural gradient is the steepest descent "
            "direction for a fixed KL budget, so it does not depend on how the network is "
            "parametrised (up to the damping λ).\n\n"
            "**True vs empirical Fisher.** In the *true* Fisher the label $y$ is drawn from the "
            "model's own prediction $p_\\theta(y\\mid x)$. Many texts (including the article "
            "this lab follows) write the same formula with $y$ taken from the data: that is the "
            "*empirical* Fisher, a different matrix — it depends on the labels, vanishes at a "
            "perfect fit, and is not a metric of the model. The Monte-Carlo Fisher samples "
            "$y\\sim p_\\theta$: an unbiased but noisy estimate of the true one. K-FAC "
            "approximates $F$ layer by layer as a Kronecker product, which makes a step only a "
            "few times dearer than SGD.\n\n"
            "**The pictures.**\n"
            "- *Training*: the loss per step rewards few steps; the loss per second of compute "
            "charges each step its cost. The table gives both, and the cost of a step relative "
            "to an SGD step. On these toys NGD needs the fewest steps but each costs about ten "
            "SGD steps (the table shows the measured ratio), so Adam often wins on wall-clock "
            "time.\n"
            "- *Decision boundaries*: the colour is $p(\\text{class }1\\mid x)$ (white = the "
            "boundary); the slider replays training.\n"
            "- *Trajectories*: all runs' parameter snapshots projected on their first two "
            "principal directions, over the training loss on that plane.\n"
            "- *Fisher spectrum*: eigenvalues of $F$ spread over many decades (a large "
            "condition number κ): plain gradient descent crawls along the small ones; "
            "$(F+\\lambda I)^{-1}$ rescales them, and λ sets the floor.\n"
            "- *KL per step*: how far each step moves the predictions. With a KL budget "
            "(sidebar) NGD and K-FAC shorten any step whose predicted KL would exceed it; "
            "the caption counts how many steps it actually bound.\n"
            "- *Fisher ellipses*: for logistic regression with two weights, each ellipse is a "
            "set of equal KL around its centre; NGD's steps are steepest in that geometry and "
            "head straight for the minimum, while GD overshoots into the narrow valley and "
            "crawls along its floor.\n"
            "- *Reparametrisation*: the same network with its first-layer weights stored as "
            "$c\\,W$. NGD with the exact Fisher computes the same functions for every $c$ (up "
            "to damping); SGD does not.\n"
            "- *Hessian vs Fisher*: the Hessian of the loss splits by the chain rule into "
            "$H = \\tfrac1n\\sum_i J_i^{\\top} H_i J_i + \\tfrac1n\\sum_i\\sum_c "
            "(p_{ic} - y_{ic})\\,\\nabla^2 z_{ic}$, with $J_i$ the Jacobian of the logits $z_i$ "
            "and $H_i = \\mathrm{diag}(p_i) - p_i p_i^{\\top}$ the Hessian of the cross-entropy "
            "in the logits. The first term is the generalised Gauss–Newton matrix $G$; for "
            "softmax cross-entropy $H_i$ does not depend on the label, so $G$ *is* the true "
            "Fisher (the table shows them equal to round-off). The second term vanishes when "
            "the logits are linear in $\\theta$ (softmax regression: $H = G = F$) and is "
            "weighted by the residuals $p - y$, so it shrinks as the fit improves. It is what "
            "lets $H$ have negative eigenvalues (below the zero line), which $G$ and $F$, "
            "positive semi-definite, never have. The empirical Fisher $\\hat F$ puts the data's "
            "labels where $F$ averages over the model's: another matrix.\n"
            "- *Adam as diagonal Fisher*: Adam divides each coordinate of its momentum by "
            "$\\sqrt{\\hat v}+\\epsilon$, where $\\hat v$ is a moving average of squared "
            "mini-batch gradients. For a mean loss over $b$ of $n$ samples, "
            "$\\mathbb E[b\\,g^2] = \\tfrac{n-b}{n-1}\\,\\mathrm{diag}\\hat F + "
            "\\big(b - \\tfrac{n-b}{n-1}\\big)\\,\\bar g^2$: so $b\\hat v$ estimates the "
            "empirical Fisher's diagonal only for small batches, and the squared full "
            "gradient for full batches. The scatter puts $b\\hat v$ beside $\\mathrm{diag}\\,"
            "\\hat F$ and $\\mathrm{diag}\\,F$ per parameter; the lower chart compares Adam's "
            "direction with the diagonal natural gradient $g/(\\mathrm{diag}\\,F+\\lambda)$, "
            "which divides by the Fisher itself rather than its square root. The run is "
            "replayed from its start (the history keeps no optimizer state)."
        )


# -- experiment ------------------------------------------------------------------------------------
def _run_experiment() -> tuple[dict[str, TrainingHistory], Task, cached.TrainConfig] | None:
    """Train every chosen optimizer (cached); None, with the reason shown, if it cannot run."""
    with guarded("the training"):
        if not specs:
            raise ValueError("choose at least one optimizer in the sidebar")
        hidden = parse_hidden(hidden_text)
        task_cfg = cached.TaskConfig(task_name, n=n_train, noise=float(noise), seed=seed)
        cfg = cached.TrainConfig(
            task=task_cfg, hidden=hidden, activation=activation,
            optimizers=freeze_specs(specs),
            batch_size=None if batch == "full" else int(batch), steps=int(steps), seed=seed,
        )
        task = cached.task_for(task_cfg)
        bar = ProgressBar(f"Training {len(specs)} optimizers for {steps} steps…")
        try:
            return cached.histories_for(cfg, _progress=bar), task, cfg
        finally:
            bar.clear()
    return None


experiment = _run_experiment()
if experiment is None:
    st.info("Fix the setting in the sidebar; the pictures appear once the training can run.")
    _explain()
    st.stop()
histories, task, cfg = experiment

for h in histories.values():
    if h.status != "ok":
        st.warning(figs.run_warning(h))
colors = figs.colors_for(histories)


def _decision_animation(cfg: cached.TrainConfig):
    """The decision-boundary animation, built once per experiment for every session: it is the
    heaviest figure on the page (one heat map per run and snapshot)."""
    def build():
        data = cached.decision_animation_data_for(cfg)
        return figs.make_decision_animation(data.grids, data.snapshot_steps, data.X, data.y,
                                            colors=colors, stopped=data.stopped)
    return cached_figure(("optim_boundaries", cfg), build)


# -- views -----------------------------------------------------------------------------------------
def _training_view() -> None:
    # The options sit under the pictures so that the curves and the boundaries open above the
    # fold. They and the curves they change are one fragment (it draws the curves into the
    # slot above the boundaries): a view-only change reruns the fragment, not the page, which
    # would rebuild and resend the unchanged animation (megabytes of JSON) on every click.
    curves_slot = st.container()
    if task.n_features == 2:
        with guarded("the decision boundaries"):
            st.plotly_chart(_decision_animation(cfg), key="optim_boundaries", config=PLOT_CONFIG)
    else:
        st.info(f"Decision boundaries need 2-d inputs; this task has {task.n_features} "
                "features. The other views work for every task.")
    _training_options(curves_slot)


@st.fragment
def _training_options(curves_slot: Any) -> None:
    with st.container(horizontal=True, vertical_alignment="bottom", gap="medium"):
        log_y = st.toggle("Log-scale loss", value=True, key="optim_log_y")
        target = st.selectbox("Target loss (dotted line, table)", TARGETS,
                              index=TARGETS.index(0.1), key="optim_target",
                              format_func="{:g}".format, width=240)
    with curves_slot, guarded("the training curves"):
        panels = figs.make_training_panels(histories, log_y=log_y, target_loss=target)
        # A wrapping row: three side by side on a wide page, fewer per row on a narrow one
        # (each chart keeps Streamlit's minimum width instead of squeezing its titles).
        with st.container(horizontal=True, gap="small", key="optim_curves"):
            for i, fig in enumerate(panels):
                st.plotly_chart(fig, key=f"optim_curves_{i}", config=PLOT_CONFIG)
    reference = figs.cost_reference(histories)
    rows = summary_table(histories, target_loss=target, reference=reference)
    floor = cached.linear_floor_for(cfg.task) if not cfg.hidden else None
    st.markdown(figs.trade_off_text(rows, target, reference=reference, floor=floor,
                                    levelled_off=figs.loss_levelled_off(histories)))
    st.dataframe(figs.summary_rows(rows, target, reference), hide_index=True,
                 key="optim_table")
    st.caption("Time counts only the optimizer steps (forward, backward, update), not the "
               "evaluation after each step. Medians per step; timings vary with the machine's "
               "load.")


@st.fragment  # its controls change only this view: they rerun only it
def _trajectory_view() -> None:
    shown = st.multiselect("Runs that define the plane", list(histories), key="optim_traj_runs",
                           default=list(histories),
                           help="A run that travels far dominates the plane; leave it out to "
                                "look closely at the others.")
    with guarded("the trajectories"):
        if not shown:
            raise ValueError("choose at least one run")
        pca, left_out = cached.trajectories_for(cfg, tuple(shown))
        if left_out:
            st.caption(f"Left out (stopped early, their last state would dominate the "
                       f"projection): {', '.join(left_out)}.")
        st.plotly_chart(figs.make_trajectory_figure(pca, colors=colors),
                        key="optim_trajectories", config=PLOT_CONFIG)
        st.caption("All runs start at the same point (black). The plane is the one that best "
                   "fits all the snapshots together; the loss is evaluated on it, so a path "
                   "can cross a contour that the real, higher-dimensional path went around.")


def _spectrum_view() -> None:
    with guarded("the Fisher spectrum", warning=True):
        spectra, left_out = cached.spectra_for(cfg, fisher_kind)
        if left_out:
            st.caption(
                f"Left out: {', '.join(left_out)}, which stopped early. The last finite "
                "network of a diverged run is saturated (its predictions are 0 or 1), so its "
                "Fisher is numerically zero and its spectrum and κ say nothing about the "
                "geometry of training.")
        damping = float(specs.get("NGD", specs.get("K-FAC", DEFAULT_OPTIMIZERS["NGD"]))
                        ["damping"])
        st.plotly_chart(figs.make_spectrum_figure(spectra, damping=damping, kind=fisher_kind,
                                                  colors=colors),
                        key="optim_spectrum", config=PLOT_CONFIG)
        cols = st.columns(len(spectra))
        for col, (name, s) in zip(cols, spectra.items(), strict=True):
            col.metric(f"κ(F + λI), {name or 'initial'}",
                       f"{s.damped_condition_number(damping):.2g}",
                       help=f"rank {s.rank} of {s.eigenvalues.size}; without damping, over "
                            f"the nonzero eigenvalues, κ = {s.condition_number:.2g}")
        st.caption(
            f"Computed on the first {cached.spectrum_points(task)} training "
            "inputs, with λ the NGD damping. The eigenvalues span ten decades and most are "
            "numerically zero (below 10⁻¹⁰ of the largest; not drawn): the network has more "
            "parameters than the Fisher has directions, so F alone cannot be inverted. "
            "Gradient descent's progress along a direction scales with its eigenvalue; "
            "(F + λI)⁻¹ evens them out down to λ."
        )


def _kl_view() -> None:
    with guarded("the KL per step"):
        st.plotly_chart(figs.make_kl_figure(histories, kl_clip=kl_clip), key="optim_kl",
                        config=PLOT_CONFIG)
    st.caption(figs.kl_budget_text(histories, kl_clip))


@st.fragment  # its controls change only this view: they rerun only it
def _ellipses_view() -> None:
    a, b, c = st.columns(3)
    lr_gd = a.select_slider("GD learning rate", [0.1, 0.3, 1.0, 2.0, 3.0], value=1.0,
                            key="optim_ell_lr_gd")
    lr_ngd = b.select_slider("NGD learning rate", [0.1, 0.25, 0.5, 1.0], value=0.5,
                             key="optim_ell_lr_ngd")
    n_steps = c.slider("Steps", 5, 100, 30, key="optim_ell_steps")
    with guarded("the two-weight model"):
        geo = cached.logistic_for(float(lr_gd), float(lr_ngd), int(n_steps))
        st.plotly_chart(figs.make_logistic_figure(geo), key="optim_ellipses", config=PLOT_CONFIG)
        st.caption(
            "p(y = 1 | x) = σ(w₁x₁ + w₂x₂) on 400 points with x₁ four times as spread as x₂. "
            "Each ellipse is {w : (w − c)ᵀF(c)(w − c) = r²} (r = "
            f"{geo.ellipse_radius:.3g}): the steps from its centre c that change the "
            "predictions by the same KL. Long, thin ellipses mean the Euclidean picture is "
            "badly distorted. GD steps straight across the contours, overshoots into the "
            "valley and crawls along its floor; NGD takes the steepest step *in the Fisher "
            "geometry* and heads almost straight for the minimum. (For this model the Fisher "
            "equals the Hessian of the loss, so NGD is Newton's method.)"
        )


@st.fragment  # its controls change only this view: they rerun only it
def _reparam_view() -> None:
    a, b, c = st.columns(3)
    model = a.radio("Model", ["linear", "network"], horizontal=True, key="optim_rep_model",
                    format_func={"linear": "softmax regression",
                                 "network": "the network above"}.__getitem__)
    scale = b.select_slider("Scale c of the first layer", [0.1, 0.5, 2.0, 10.0, 100.0],
                            value=10.0, key="optim_rep_c")
    n_steps = c.slider("Steps", 10, 200, 50, step=10, key="optim_rep_steps")
    sgd_lr = specs.get("SGD", DEFAULT_OPTIMIZERS["SGD"])["lr"]
    ngd = specs.get("NGD", DEFAULT_OPTIMIZERS["NGD"])
    if model == "linear":
        # Softmax regression: the exact Fisher with tiny damping, so that the coordinates differ
        # by round-off only. The KL budget is itself coordinate-free (η²·dᵀFd/2 does not change
        # with c); it only tames the first steps where a perfectly separable task (digits)
        # makes F nearly vanish.
        rep = cached.ReparamConfig(task=cfg.task, hidden=(), sgd_lr=float(sgd_lr),
                                   ngd_lr=0.5, damping=1e-8, kl_clip=0.1, solver="exact",
                                   steps=int(n_steps), c=float(scale), seed=seed)
    else:
        rep = cached.ReparamConfig(task=cfg.task, hidden=cfg.hidden, activation=activation,
                                   sgd_lr=float(sgd_lr), ngd_lr=float(ngd["lr"]),
                                   damping=float(ngd["damping"]), kl_clip=ngd.get("kl_clip"),
                                   solver=ngd.get("solver", "exact"),
                                   steps=int(n_steps), c=float(scale), seed=seed)
    with guarded("the reparametrisation demo"):
        bar = ProgressBar("Training SGD and NGD in both coordinate systems…")
        try:
            demo = cached.reparam_for(rep, _progress=bar)
        finally:
            bar.clear()
        for message in demo.messages:
            st.warning(message)
        st.plotly_chart(figs.make_reparam_figure(demo.probs, demo.gaps, demo.gap_steps,
                                                 demo.c, linear=not rep.hidden),
                        key="optim_reparam", config=PLOT_CONFIG)
        cols = st.columns(len(demo.gaps))
        for col, (name, gap) in zip(cols, demo.gaps.items(), strict=True):
            col.metric(f"{name}: largest gap, c = 1 vs c = {demo.c:g}",
                       f"{float(gap.max()):.1e}" if gap.size else "–",
                       help="max over snapshots, inputs and classes of |Δp|, the difference "
                            "between the two coordinate systems' predicted probabilities")
        setting = ("softmax regression, true Fisher, λ = 10⁻⁸" if model == "linear" else
                   f"the network above, true Fisher, λ = {rep.damping:g}, solver {rep.solver}")
        st.caption(
            f"Same initial function, same batches; only the coordinates differ ({setting}). "
            "A gap near 10⁻⁶ or below is round-off: the two runs computed the same functions. "
            "On a network the Fisher is singular, so NGD needs a damping λ that is not "
            "invariant, and the gap grows with λ and the number of steps; on a task the model "
            "separates perfectly (digits) F fades towards zero and round-off grows with it."
        )


@st.fragment  # its controls change only this view: they rerun only it
def _curvature_view() -> None:
    finished = [name for name, h in histories.items() if h.status == "ok"]
    if not finished:
        st.info("No run finished; the trained states are those of runs that did not stop "
                "early.")
        return
    name = st.selectbox("Trained run", finished, key="optim_curv_run",
                        help="Its last state is compared with the shared initial network.")
    with guarded("the curvature matrices", warning=True):
        states = {"initial network": cached.curvature_for(cfg, ""),
                  f"{name} after {histories[name].steps} steps": cached.curvature_for(cfg,
                                                                                      name)}
        st.plotly_chart(figs.make_curvature_figure(states), key="optim_curvature",
                        config=PLOT_CONFIG)
        st.dataframe(figs.curvature_rows(states), hide_index=True, key="optim_curv_table")
        first = next(iter(states.values()))
        st.caption(
            f"All four matrices are {first.n_params}×{first.n_params}, formed in float64 on "
            f"the first {first.n_points} training inputs: H by automatic differentiation of "
            "the loss twice, G from the Jacobian of the logits and diag(p) − ppᵀ, F and F̂ "
            "from their per-sample gradients. The relative distances are in the Frobenius "
            "norm. Eigenvalues within round-off of zero (the Fisher has rank at most n·(C−1)) "
            "sit on the zero line."
        )


@st.fragment  # its controls change only this view: they rerun only it
def _adam_view() -> None:
    adams = [name for name, h in histories.items() if h.spec.get("kind") == "adam"]
    if not adams:
        st.info("Add Adam to the optimizers in the sidebar to see its second moment beside "
                "the Fisher.")
        return
    name = adams[0] if len(adams) == 1 else st.selectbox("Adam run", adams,
                                                         key="optim_adam_run")
    damping = float(specs.get("NGD", DEFAULT_OPTIMIZERS["NGD"])["damping"])
    with guarded("the Adam replay", warning=True):
        view_data = cached.adam_fisher_for(cfg, name, damping)
        steps_list = [int(k) for k in view_data.steps]
        k = st.select_slider("State θₖ (Adam's step from it)", steps_list,
                             value=steps_list[-1], key="optim_adam_step")
        index = steps_list.index(k)
        st.plotly_chart(figs.make_adam_fisher_figure(view_data, index), key="optim_adam",
                        config=PLOT_CONFIG)
        st.plotly_chart(figs.make_adam_direction_figure(view_data, index),
                        key="optim_adam_dirs", config=PLOT_CONFIG)
        st.caption(figs.adam_fisher_text(view_data, index))


{
    "training": _training_view,
    "trajectories": _trajectory_view,
    "spectrum": _spectrum_view,
    "kl": _kl_view,
    "ellipses": _ellipses_view,
    "reparam": _reparam_view,
    "curvature": _curvature_view,
    "adam": _adam_view,
}[view]()

_explain()
