"""Natural gradient: NGD, K-FAC, SGD, Momentum and Adam side by side on toy networks."""

from __future__ import annotations

from typing import Any

import numpy as np
import streamlit as st

from dashboard import lessons, links
from dashboard.cached import optim as cached
from dashboard.cached.common import ProgressBar, cached_figure, freeze_specs
from dashboard.figures import optim as figs
from dashboard.figures.presenting import PROJECTOR_FONT
from dashboard.i18n import options, t
from dashboard.widgets import (
    MAX_HIDDEN_LAYERS,
    MAX_HIDDEN_WIDTH,
    chart,
    guarded,
    parse_hidden,
    projector_on,
)
from geomcore.optim import DEFAULT_OPTIMIZERS, TASK_NAMES, Task, TrainingHistory, summary_table
from geomcore.optim.models import ACTIVATIONS
from geomcore.optim.tasks import DEFAULT_NOISE

VIEWS = ("training", "trajectories", "spectrum", "kl", "ellipses", "reparam", "curvature",
         "adam")
DAMPINGS = [1e-8, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0]
BATCHES: list[str | int] = ["full", 16, 32, 64, 128, 256]
TARGETS = [0.5, 0.3, 0.2, 0.1, 0.05, 0.02, 0.01]
KL_BUDGETS = [0.0, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0]
"""The KL budget's options; 0 is "off" (the URL writes every option, and a ``None`` option
would not be kept there)."""
CURVATURE_KINDS = ("ngd", "kfac")
HIDDEN_MAX_CHARS = 40


def _kind_facts(histories: dict[str, TrainingHistory]) -> dict[str, str]:
    """Fact suffix per run: its kind (``ngd``, ``adam``…) for the first run of each kind."""
    out: dict[str, str] = {}
    for name, h in histories.items():
        kind = str(h.spec.get("kind", ""))
        if kind and kind not in out.values():
            out[name] = kind
    return out


st.title(t("optim.lab.title"))
st.caption(t("optim.caption"))

# -- controls --------------------------------------------------------------------------------------
with st.sidebar:
    st.header(t("optim.sidebar.task_header"))
    task_titles = options("optim.tasks")
    task_name = links.selectbox(t("optim.sidebar.task"), TASK_NAMES, key="optim_task",
                                format_func=task_titles.__getitem__)
    noise = links.slider(t("optim.sidebar.noise"), 0.0, 2.0, float(DEFAULT_NOISE[task_name]),
                         step=0.05, key=f"optim_noise_{task_name}",
                         help=t("optim.sidebar.noise_help"))
    n_train = links.slider(t("optim.sidebar.n_train"), 50, 1500, 500, step=50, key="optim_n")
    seed = int(links.number_input(t("optim.sidebar.seed"), 0, 9999, 0, step=1,
                                  key="optim_seed", help=t("optim.sidebar.seed_help")))

    st.header(t("optim.sidebar.network_header"))
    hidden_text = links.text_input(
        t("optim.sidebar.hidden"), "16, 16", key="optim_hidden", max_chars=HIDDEN_MAX_CHARS,
        validate=parse_hidden,
        help=t("optim.sidebar.hidden_help", layers=MAX_HIDDEN_LAYERS, width=MAX_HIDDEN_WIDTH),
    )
    activation_titles = options("optim.activations")
    activation = links.selectbox(t("optim.sidebar.activation"), ACTIVATIONS,
                                 key="optim_activation",
                                 format_func=lambda a: activation_titles.get(a, a))

    st.header(t("optim.sidebar.optimizers_header"))
    chosen = links.multiselect(t("optim.sidebar.optimizers"), list(DEFAULT_OPTIMIZERS),
                               list(DEFAULT_OPTIMIZERS), key="optim_chosen")
    fisher_titles = options("optim.fisher_kinds")
    fisher_kind = links.radio(t("optim.sidebar.fisher"), list(fisher_titles), "true",
                              format_func=fisher_titles.__getitem__, key="optim_fisher")
    kl_choice = links.select_slider(
        t("optim.sidebar.kl_clip"), KL_BUDGETS, DEFAULT_OPTIMIZERS["NGD"]["kl_clip"] or 0.0,
        key="optim_kl_clip",
        format_func=lambda v: t("optim.sidebar.kl_off") if not v else f"{v:g}",
        help=t("optim.sidebar.kl_clip_help"))
    kl_clip: float | None = float(kl_choice) or None
    specs: dict[str, dict] = {}
    for name in chosen:
        spec = dict(DEFAULT_OPTIMIZERS[name])
        # One control a row: in two sidebar columns the labels were cut off.
        spec["lr"] = float(links.number_input(
            t("optim.sidebar.lr", name=name), 1e-5, 1e3, float(spec["lr"]), format="%g",
            key=f"optim_lr_{name}"))
        if spec["kind"] in CURVATURE_KINDS:
            spec["damping"] = links.select_slider(
                t("optim.sidebar.damping", name=name), DAMPINGS, spec["damping"],
                format_func="{:g}".format, key=f"optim_damping_{name}")
            spec["fisher"] = fisher_kind
            spec["kl_clip"] = kl_clip
        specs[name] = spec
    if "NGD" in specs:
        solver_titles = options("optim.solvers")
        specs["NGD"]["solver"] = links.selectbox(
            t("optim.sidebar.solver"), ["auto", "exact", "cg"], key="optim_solver",
            format_func=solver_titles.__getitem__, help=t("optim.sidebar.solver_help"))

    st.header(t("optim.sidebar.training_header"))
    batch = links.selectbox(t("optim.sidebar.batch"), BATCHES, key="optim_batch",
                            format_func=lambda b: t("optim.sidebar.full_batch") if b == "full"
                            else str(b))
    steps = links.slider(t("optim.sidebar.steps"), 10, cached.MAX_TRAIN_STEPS, 300, step=10,
                         key="optim_steps")

view_titles = options("optim.views")
view = links.radio(t("optim.view"), list(VIEWS), format_func=view_titles.__getitem__,
                   horizontal=True, key="optim_view")


def _explain() -> None:
    with st.expander(t("optim.explain.label")):
        st.markdown(t("optim.explain.intro"))
        st.latex(r"\theta \leftarrow \theta - \eta\,(F + \lambda I)^{-1}\,\nabla_\theta L,"
                 r"\qquad F = \mathbb{E}_{x}\,\mathbb{E}_{y\sim p_\theta(y\mid x)}"
                 r"\big[\nabla_\theta \log p_\theta(y\mid x)\,"
                 r"\nabla_\theta \log p_\theta(y\mid x)^{\top}\big].")
        st.markdown(t("optim.explain.body"))


# -- experiment ------------------------------------------------------------------------------------
def _run_experiment() -> tuple[dict[str, TrainingHistory], Task, cached.TrainConfig] | None:
    """Train every chosen optimizer (cached); None, with the reason shown, if it cannot run."""
    with guarded(t("optim.what.training")):
        if not specs:
            raise ValueError(t("optim.errors.no_optimizer"))
        hidden = parse_hidden(hidden_text)
        task_cfg = cached.TaskConfig(task_name, n=n_train, noise=float(noise), seed=seed)
        cfg = cached.TrainConfig(
            task=task_cfg, hidden=hidden, activation=activation,
            optimizers=freeze_specs(specs),
            batch_size=None if batch == "full" else int(batch), steps=int(steps), seed=seed,
        )
        task = cached.task_for(task_cfg)
        bar = ProgressBar(t("optim.progress.training", n=len(specs), steps=steps))
        try:
            return cached.histories_for(cfg, _progress=bar), task, cfg
        finally:
            bar.clear()
    return None


experiment = _run_experiment()
if experiment is None:
    st.info(t("optim.messages.fix_setting"))
    _explain()
    st.stop()
histories, task, cfg = experiment

for h in histories.values():
    if h.status != "ok":
        st.warning(figs.run_warning(h))
colors = figs.colors_for(histories)
kinds = _kind_facts(histories)


def _decision_animation(cfg: cached.TrainConfig, text_scale: float):
    """The decision-boundary animation, built once per experiment (and language: cached_figure
    adds it) for every session: it is the heaviest figure on the page (one heat map per run and
    snapshot)."""
    def build():
        data = cached.decision_animation_data_for(cfg)
        return figs.make_decision_animation(data.grids, data.snapshot_steps, data.X, data.y,
                                            colors=colors, stopped=data.stopped,
                                            text_scale=text_scale)
    return cached_figure(("optim_boundaries", cfg, text_scale), build)


# -- views -----------------------------------------------------------------------------------------
def _training_view() -> None:
    # The options sit under the pictures so that the curves and the boundaries open above the
    # fold. They and the curves they change are one fragment (it draws the curves into the
    # slot above the boundaries): a view-only change reruns the fragment, not the page, which
    # would rebuild and resend the unchanged animation (megabytes of JSON) on every click.
    curves_slot = st.container()
    if task.n_features == 2:
        with guarded(t("optim.what.boundaries")), st.spinner(t("optim.progress.boundaries")):
            # in projector mode chart() enlarges the text: the animation leaves room for it
            scale = PROJECTOR_FONT if projector_on() else 1.0
            chart(_decision_animation(cfg, scale), key="optim_boundaries")
    else:
        st.info(t("optim.messages.need_2d", n=task.n_features))
    _training_options(curves_slot)


def _publish_training_facts(rows: list[dict[str, Any]], target: float) -> None:
    lessons.fact("target", target)
    for r in rows:
        kind = kinds.get(r["name"])
        if kind is None:
            continue
        k, ttt = r.get("steps_to_target"), r.get("time_to_target")
        lessons.fact(f"steps_{kind}", float("nan") if k is None else float(k))
        lessons.fact(f"time_{kind}", float("nan") if ttt is None else 1e3 * float(ttt))
        lessons.fact(f"ms_{kind}", float(r.get("ms_per_step") or float("nan")))
        lessons.fact(f"cost_{kind}", float(r.get("relative_cost") or float("nan")))
        lessons.fact(f"loss_{kind}", float(r["final_loss"]))


@st.fragment
def _training_options(curves_slot: Any) -> None:
    with st.container(horizontal=True, vertical_alignment="bottom", gap="medium"):
        log_y = links.toggle(t("optim.training.log_y"), True, key="optim_log_y")
        target = links.selectbox(t("optim.training.target"), TARGETS, 0.1, key="optim_target",
                                 format_func="{:g}".format, width=240)
    with curves_slot, guarded(t("optim.what.curves")):
        panels = figs.make_training_panels(histories, log_y=log_y, target_loss=target)
        # A wrapping row: three side by side on a wide page, fewer per row on a narrow one
        # (each chart keeps Streamlit's minimum width instead of squeezing its titles); one
        # below the other in projector mode, where the enlarged titles need the whole width.
        with st.container(horizontal=not projector_on(), gap="small", key="optim_curves"):
            for i, (fig, what) in enumerate(zip(panels, ("loss-per-step", "loss-per-second",
                                                         "test-accuracy"), strict=True)):
                with st.container():
                    chart(fig, key=f"optim_curves_{i}", csv=f"optim-{what}")
    reference = figs.cost_reference(histories)
    rows = summary_table(histories, target_loss=target, reference=reference)
    _publish_training_facts(rows, target)
    with st.spinner(t("optim.progress.floor")):
        floor = cached.linear_floor_for(cfg.task) if not cfg.hidden else None
    st.markdown(figs.trade_off_text(rows, target, reference=reference, floor=floor,
                                    levelled_off=figs.loss_levelled_off(histories)))
    st.dataframe(figs.summary_rows(rows, target, reference), hide_index=True,
                 key="optim_table")
    st.caption(t("optim.training.time_caption"))


@st.fragment  # its controls change only this view: they rerun only it
def _trajectory_view() -> None:
    shown = links.multiselect(t("optim.trajectories.runs"), list(histories), list(histories),
                              key="optim_traj_runs", help=t("optim.trajectories.runs_help"))
    with guarded(t("optim.what.trajectories")):
        if not shown:
            raise ValueError(t("optim.errors.no_run"))
        with st.spinner(t("optim.progress.trajectories")):
            pca, left_out = cached.trajectories_for(cfg, tuple(shown))
        if left_out:
            st.caption(t("optim.trajectories.left_out", names=", ".join(left_out)))
        chart(figs.make_trajectory_figure(pca, colors=colors), key="optim_trajectories",
              csv="optim-trajectories")
        st.caption(t("optim.trajectories.caption"))


def _spectrum_view() -> None:
    with guarded(t("optim.what.spectrum"), warning=True):
        with st.spinner(t("optim.progress.spectra")):
            spectra, left_out = cached.spectra_for(cfg, fisher_kind)
        if left_out:
            st.caption(t("optim.spectrum.left_out", names=", ".join(left_out)))
        damping = float(specs.get("NGD", specs.get("K-FAC", DEFAULT_OPTIMIZERS["NGD"]))
                        ["damping"])
        chart(figs.make_spectrum_figure(spectra, damping=damping, kind=fisher_kind,
                                        colors=colors),
              key="optim_spectrum", csv="optim-fisher-spectrum")
        cols = st.columns(len(spectra))
        for col, (name, s) in zip(cols, spectra.items(), strict=True):
            col.metric(t("optim.spectrum.kappa", name=name or t("optim.spectrum.initial")),
                       f"{s.damped_condition_number(damping):.2g}",
                       help=t("optim.spectrum.kappa_help", rank=s.rank, size=s.eigenvalues.size,
                              kappa=s.condition_number))
        st.caption(t("optim.spectrum.caption", points=cached.spectrum_points(task)))
        first = spectra.get("")
        if first is not None:
            ev = np.asarray(first.eigenvalues, dtype=float)
            kept = ev[: first.rank]
            lessons.fact("damping", damping)
            lessons.fact("n_params", float(ev.size))
            lessons.fact("rank_initial", float(first.rank))
            lessons.fact("kappa_initial", float(first.condition_number))
            lessons.fact("kappa_damped_initial", first.damped_condition_number(damping))
            lessons.fact("damped_bound", float((ev[0] + damping) / damping))
            if kept.size and kept[-1] > 0:
                lessons.fact("decades_initial", float(np.log10(kept[0] / kept[-1])))


def _kl_view() -> None:
    with guarded(t("optim.what.kl")):
        chart(figs.make_kl_figure(histories, kl_clip=kl_clip), key="optim_kl",
              csv="optim-kl-per-step")
    st.caption(figs.kl_budget_text(histories, kl_clip))


@st.fragment  # its controls change only this view: they rerun only it
def _ellipses_view() -> None:
    a, b, c = st.columns(3)
    lr_gd = links.select_slider(t("optim.ellipses.lr_gd"), [0.1, 0.3, 1.0, 2.0, 3.0], 1.0,
                                key="optim_ell_lr_gd", container=a)
    lr_ngd = links.select_slider(t("optim.ellipses.lr_ngd"), [0.1, 0.25, 0.5, 1.0], 0.5,
                                 key="optim_ell_lr_ngd", container=b)
    n_steps = links.slider(t("optim.ellipses.steps"), 5, 100, 30, key="optim_ell_steps",
                           container=c)
    with guarded(t("optim.what.ellipses")):
        geo = cached.logistic_for(float(lr_gd), float(lr_ngd), int(n_steps))
        chart(figs.make_logistic_figure(geo), key="optim_ellipses", csv="optim-fisher-ellipses")
        st.caption(t("optim.ellipses.caption", r=geo.ellipse_radius))
        start = float(np.linalg.norm(geo.gd_path[0] - geo.optimum))
        lessons.fact("start_distance", start)
        lessons.fact("gd_distance", float(np.linalg.norm(geo.gd_path[-1] - geo.optimum)))
        lessons.fact("ngd_distance", float(np.linalg.norm(geo.ngd_path[-1] - geo.optimum)))
        lessons.fact("ellipse_steps", float(n_steps))
        # how elongated the Fisher ellipses are: √(λ_max/λ_min) of F, the largest over centres
        ev = np.linalg.eigvalsh(np.asarray(geo.fisher, dtype=float))
        lessons.fact("ellipse_aspect", float(np.sqrt(np.max(ev[:, -1] / ev[:, 0]))))


@st.fragment  # its controls change only this view: they rerun only it
def _reparam_view() -> None:
    a, b, c = st.columns(3)
    model_titles = options("optim.reparam.models")
    model = links.radio(t("optim.reparam.model"), ["linear", "network"], horizontal=True,
                        key="optim_rep_model", format_func=model_titles.__getitem__,
                        container=a)
    scale = links.select_slider(t("optim.reparam.scale"), [0.1, 0.5, 2.0, 10.0, 100.0], 10.0,
                                key="optim_rep_c", container=b)
    n_steps = links.slider(t("optim.reparam.steps"), 10, 200, 50, step=10,
                           key="optim_rep_steps", container=c)
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
    with guarded(t("optim.what.reparam")):
        bar = ProgressBar(t("optim.progress.reparam"))
        try:
            demo = cached.reparam_for(rep, _progress=bar)
        finally:
            bar.clear()
        for message in demo.messages:
            st.warning(message)
        chart(figs.make_reparam_figure(demo.probs, demo.gaps, demo.gap_steps, demo.c,
                                       linear=not rep.hidden),
              key="optim_reparam", csv="optim-reparametrisation")
        cols = st.columns(len(demo.gaps))
        for col, (name, gap) in zip(cols, demo.gaps.items(), strict=True):
            col.metric(t("optim.reparam.gap", name=name, c=f"{demo.c:g}"),
                       f"{float(gap.max()):.1e}" if gap.size else "–",
                       help=t("optim.reparam.gap_help"))
            if gap.size:
                lessons.fact(f"reparam_gap_{name.lower()}", float(gap.max()))
        lessons.fact("reparam_c", float(demo.c))
        setting = (t("optim.reparam.setting_linear") if model == "linear" else
                   t("optim.reparam.setting_network", damping=f"{rep.damping:g}",
                     solver=options("optim.solvers").get(rep.solver, rep.solver)))
        st.caption(t("optim.reparam.caption", setting=setting))


@st.fragment  # its controls change only this view: they rerun only it
def _curvature_view() -> None:
    finished = [name for name, h in histories.items() if h.status == "ok"]
    if not finished:
        st.info(t("optim.curvature.none_finished"))
        return
    name = links.selectbox(t("optim.curvature.run"), finished, key="optim_curv_run",
                           help=t("optim.curvature.run_help"))
    with guarded(t("optim.what.curvature"), warning=True):
        with st.spinner(t("optim.progress.curvature")):
            states = {
                t("optim.curvature.initial"): cached.curvature_for(cfg, ""),
                t("optim.curvature.trained", name=name, steps=histories[name].steps):
                    cached.curvature_for(cfg, name)}
        chart(figs.make_curvature_figure(states), key="optim_curvature",
              csv="optim-curvature-spectra")
        st.dataframe(figs.curvature_rows(states), hide_index=True, key="optim_curv_table")
        first = next(iter(states.values()))
        st.caption(t("optim.curvature.caption", p=first.n_params, n=first.n_points))


@st.fragment  # its controls change only this view: they rerun only it
def _adam_view() -> None:
    adams = [name for name, h in histories.items() if h.spec.get("kind") == "adam"]
    if not adams:
        st.info(t("optim.adam.missing"))
        return
    if len(adams) == 1:
        name = adams[0]
    else:
        name = links.selectbox(t("optim.adam.run"), adams, key="optim_adam_run")
    damping = float(specs.get("NGD", DEFAULT_OPTIMIZERS["NGD"])["damping"])
    with guarded(t("optim.what.adam"), warning=True):
        with st.spinner(t("optim.progress.adam")):
            view_data = cached.adam_fisher_for(cfg, name, damping)
        steps_list = [int(k) for k in view_data.steps]
        k = links.select_slider(t("optim.adam.state"), steps_list, steps_list[-1],
                                key="optim_adam_step")
        index = steps_list.index(k)
        chart(figs.make_adam_fisher_figure(view_data, index), key="optim_adam",
              csv="optim-adam-second-moment")
        chart(figs.make_adam_direction_figure(view_data, index), key="optim_adam_dirs",
              csv="optim-adam-directions")
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
