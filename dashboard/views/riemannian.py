"""Riemannian optimisation: gradient steps that stay on the manifold, and federated learning
whose clients live on one.

Every text comes from the catalogs (``dashboard/locales/<lang>/riemannian.toml``), every
widget is kept in the URL (``dashboard/links.py``), and each view publishes the numbers its
lessons cite (``dashboard/lessons/riemannian.toml``)."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import streamlit as st

from dashboard import lessons, links
from dashboard.cached import riemannian as cached
from dashboard.cached.common import ProgressBar
from dashboard.figures import riemannian as figs
from dashboard.i18n import options, t
from dashboard.widgets import chart, guarded
from geomcore.riemannian.demos import METHOD_LABELS, parse_spd_text

VIEWS = ("sphere", "spd", "poincare", "stiefel", "federated")
STEP_SIZES = [0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1.0, 1.5, 2.0]
SPD_KINDS = ("equal_determinants", "random", "custom")
SPD_DEFAULT_TEXT = "2, 0.8, 1\n1, -0.5, 2\n0.5, 0, 3"
SPD_MAX_CHARS = 400
ALGORITHMS = ("rfedavg", "rfedsvrg", "centralised")
AGGREGATIONS = ("tangent", "karcher")


def _max_finite(values: np.ndarray) -> float:
    """The largest finite value (NaN if there is none): a diverged run ends in inf or NaN."""
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    return float(finite.max()) if finite.size else math.nan


def _min_finite(values: np.ndarray) -> float:
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    return float(finite.min()) if finite.size else math.nan


st.title(t("riemannian.title"))
st.caption(t("riemannian.caption"))
view_names = options("riemannian.views")
view = links.radio(t("riemannian.view"), VIEWS, key="riem_view",
                   format_func=view_names.__getitem__, horizontal=True)


def _explain() -> None:
    with st.expander(t("riemannian.explain.label")):
        st.markdown(t("riemannian.explain.body"))


def _warn_runs(traces: Mapping, expected: tuple[str, ...] = ("ok", "max_iter")) -> None:
    for name, tr in traces.items():
        if tr.status not in expected:
            st.warning(t("riemannian.warnings.run", name=figs.method_name(name),
                         message=tr.message))


# -- Sphere ----------------------------------------------------------------------------------------
def _sphere_view() -> None:
    with st.sidebar:
        st.header(t("riemannian.sphere.header"))
        st.caption(t("riemannian.sphere.caption"))
        l1, l2, l3 = (float(links.slider(t("riemannian.sphere.eigenvalue", i=i + 1), -3.0, 5.0,
                                         d, step=0.5, key=f"riem_sphere_l{i + 1}"))
                      for i, d in enumerate((3.0, 1.0, -1.0)))
        lr = links.select_slider(t("riemannian.sphere.step_size"), STEP_SIZES, 0.1,
                                 key="riem_sphere_lr")
        steps = links.slider(t("riemannian.sphere.steps"), 5, 200, 60, step=5,
                             key="riem_sphere_steps")
        seed = int(links.number_input(t("riemannian.sphere.seed"), 0, 9999, 0,
                                      key="riem_sphere_seed"))
    with guarded(t("riemannian.sphere.what")):
        cfg = cached.SphereConfig((l1, l2, l3), float(lr), int(steps), seed)
        demo = cached.sphere_for(cfg)
        ambient = demo.runs[METHOD_LABELS["ambient"]]
        for message in figs.sphere_warnings(demo):
            st.warning(message)
        methods = list(METHOD_LABELS)
        # labels resolved now, in the session's language (a format_func that looked them up
        # later would run outside the script, e.g. in AppTest, and speak English)
        method_names = {k: figs.method_name(label) for k, label in METHOD_LABELS.items()}
        shown_keys = links.multiselect(t("riemannian.sphere.shown"), methods, methods,
                                       key="riem_sphere_shown",
                                       format_func=method_names.__getitem__)
        shown = [METHOD_LABELS[k] for k in methods if k in shown_keys]
        arrows_run = METHOD_LABELS["projection"]
        n_its = demo.runs[arrows_run].iterates.shape[0]
        last = max(n_its - 2, 0)
        k = links.slider(t("riemannian.sphere.arrows"), 0, last, 0, key="riem_sphere_k",
                         disabled=n_its < 2)
        # Figures are built once per setting and shared (Plotly's validation of a figure
        # costs more than the rest of a rerun)
        chart(cached.figure_for(
            ("riem_sphere", cfg, int(k), tuple(shown)),
            lambda: figs.make_sphere_figure(demo, iteration=int(k), arrows_run=arrows_run,
                                            shown=shown)),
            key="riem_sphere_fig", csv="riemannian-sphere-paths")
        chart(cached.figure_for(("riem_sphere_curves", cfg), lambda: (
            figs.make_convergence_figure(demo.runs,
                                         title=t("riemannian.sphere.curves_title")))),
            key="riem_sphere_curves", csv="riemannian-sphere-convergence")
        off = float(ambient.off_manifold[-1])
        st.info(t("riemannian.sphere.ambient_info", name=figs.method_name(ambient.name),
                  message=figs.run_message(ambient), f_star=demo.f_star, off=off))
        st.caption(t("riemannian.sphere.arrows_caption"))
        runs = {key: demo.runs[label] for key, label in METHOD_LABELS.items()}
        for key in ("exp", "projection", "renormalise"):
            lessons.fact(f"sphere_off_{key}", _max_finite(runs[key].off_manifold))
            lessons.fact(f"sphere_gap_{key}", abs(float(runs[key].gap[-1])))
        lessons.fact("sphere_off_ambient", _max_finite(ambient.off_manifold))
        lessons.fact("sphere_f_min_ambient", _min_finite(ambient.f))
        lessons.fact("sphere_f_star", demo.f_star)


# -- SPD -------------------------------------------------------------------------------------------
def _check_spd_text(text: str) -> None:
    """The page's own parser: a link whose matrices it refuses opens the default text."""
    parse_spd_text(text)


def _spd_view() -> None:
    with st.sidebar:
        st.header(t("riemannian.spd.header"))
        kinds = options("riemannian.spd_kinds")
        kind = links.selectbox(t("riemannian.spd.kind"), SPD_KINDS, key="riem_spd_kind",
                               format_func=kinds.__getitem__)
        if kind == "custom":
            text = links.text_area(t("riemannian.spd.text"), SPD_DEFAULT_TEXT,
                                   key="riem_spd_text", max_chars=SPD_MAX_CHARS,
                                   validate=_check_spd_text, help=t("riemannian.spd.text_help"))
            count, seed = 0, 0
        else:
            text = ""
            count = links.slider(t("riemannian.spd.count"), 2, 8, 3, key="riem_spd_count")
            seed = int(links.number_input(t("riemannian.spd.seed"), 0, 9999, 0,
                                          key="riem_spd_seed"))
    with guarded(t("riemannian.spd.what")):
        cfg = cached.SPDConfig(kind, int(count), seed, text)
        means = cached.spd_for(cfg)
        if means.karcher_status != "ok":
            st.warning(t("riemannian.spd.karcher_warning", message=means.karcher_message))
        chart(cached.figure_for(("riem_spd", cfg), lambda: figs.make_spd_cone_figure(means)),
              key="riem_spd_fig", csv="riemannian-spd-means")
        st.markdown(figs.swelling_text(means))
        st.dataframe(figs.swelling_rows(means), hide_index=True, key="riem_spd_table")
        st.caption(t("riemannian.spd.caption"))
        dets = np.asarray(means.input_determinants, dtype=float)
        for key in ("arithmetic", "log_euclidean", "affine"):
            lessons.fact(f"spd_det_{key}", float(means.determinants[key]))
        lessons.fact("spd_det_geometric", float(np.exp(np.mean(np.log(dets)))))
        lessons.fact("spd_det_max_input", float(dets.max()))


# -- Poincaré disk ---------------------------------------------------------------------------------
def _poincare_view() -> None:
    with st.sidebar:
        st.header(t("riemannian.tree.header"))
        depth = links.slider(t("riemannian.tree.depth"), 2, 5, 4, key="riem_tree_depth")
        branching = links.slider(t("riemannian.tree.branching"), 2, 3, 2,
                                 key="riem_tree_branching")
        seed = int(links.number_input(t("riemannian.tree.seed"), 0, 9999, 0,
                                      key="riem_tree_seed"))
    with guarded(t("riemannian.tree.what")):
        with st.spinner(t("riemannian.tree.spinner")):
            cfg = cached.TreeConfig(int(depth), int(branching), seed)
            hyp, euc = cached.trees_for(cfg)
        for emb in (hyp, euc):
            if emb.status not in ("ok", "stalled"):
                st.warning(t("riemannian.tree.warning",
                             geometry=t(f"riemannian.geometries.{emb.geometry}"),
                             message=emb.message))
        chart(cached.figure_for(("riem_tree", cfg), lambda: figs.make_tree_figure(hyp, euc)),
              key="riem_tree_fig", csv="riemannian-tree")
        cols = st.columns(2)
        cols[0].metric(t("riemannian.tree.distortion"), f"{hyp.distortion:.3f}",
                       delta=t("riemannian.tree.versus",
                               delta=hyp.distortion - euc.distortion),
                       delta_color="inverse")
        cols[1].metric(t("riemannian.tree.map"), f"{hyp.mean_average_precision:.3f}",
                       delta=t("riemannian.tree.versus",
                               delta=hyp.mean_average_precision
                               - euc.mean_average_precision))
        st.caption(t("riemannian.tree.caption", n=hyp.tree.n_nodes))
        lessons.fact("tree_nodes", int(hyp.tree.n_nodes))
        lessons.fact("tree_distortion_hyperbolic", float(hyp.distortion))
        lessons.fact("tree_distortion_euclidean", float(euc.distortion))
        lessons.fact("tree_map_hyperbolic", float(hyp.mean_average_precision))
        lessons.fact("tree_map_euclidean", float(euc.mean_average_precision))


# -- Stiefel ---------------------------------------------------------------------------------------
def _stiefel_view() -> None:
    with st.sidebar:
        st.header(t("riemannian.stiefel.header"))
        n = links.slider("n", 5, 60, 20, key="riem_st_n")
        p = links.slider("p", 1, 5, 3, key="riem_st_p")
        steps = links.slider(t("riemannian.stiefel.steps"), 20, 600, 200, step=20,
                             key="riem_st_steps")
        lr_sgd = links.select_slider(t("riemannian.stiefel.lr_sgd"), STEP_SIZES, 0.05,
                                     key="riem_st_sgd")
        lr_adam = links.select_slider(t("riemannian.stiefel.lr_adam"), STEP_SIZES, 0.3,
                                      key="riem_st_adam")
        seed = int(links.number_input(t("riemannian.stiefel.seed"), 0, 9999, 0,
                                      key="riem_st_seed"))
    with guarded(t("riemannian.stiefel.what")):
        cfg = cached.StiefelConfig(int(n), int(p), int(steps), float(lr_sgd), float(lr_adam),
                                   seed)
        with st.spinner(t("riemannian.stiefel.spinner")):
            runs = cached.stiefel_for(cfg)
        _warn_runs(runs, ("ok", "max_iter", "stalled"))
        chart(cached.figure_for(("riem_st", cfg), lambda: figs.make_stiefel_figure(runs)),
              key="riem_st_fig", csv="riemannian-stiefel-convergence")
        st.caption(t("riemannian.stiefel.caption"))
        lessons.fact("st_n", int(n))
        lessons.fact("st_p", int(p))
        lessons.fact("st_off_max", max(_max_finite(tr.off_manifold) for tr in runs.values()))
        for name, tr in runs.items():
            lessons.fact(f"st_gap_{name.lower()}", abs(float(tr.gap[-1])))


# -- Federated -------------------------------------------------------------------------------------
def _federated_view() -> None:
    algorithms = options("riemannian.algorithms")
    with st.sidebar:
        st.header(t("riemannian.federated.header"))
        n_clients = links.slider(t("riemannian.federated.clients"), 2, 30, 10,
                                 key="riem_fed_clients")
        heterogeneity = links.slider(t("riemannian.federated.heterogeneity"), 0.0, 2.0, 1.0,
                                     step=0.1, key="riem_fed_het",
                                     help=t("riemannian.federated.heterogeneity_help"))
        tau = links.slider(t("riemannian.federated.tau"), 1, 20, 5, key="riem_fed_tau")
        participation = links.slider(t("riemannian.federated.participation"), 0.1, 1.0, 1.0,
                                     step=0.1, key="riem_fed_part")
        lr = links.select_slider(t("riemannian.federated.step_size"), STEP_SIZES, 0.2,
                                 key="riem_fed_lr")
        rounds = links.slider(t("riemannian.federated.rounds"), 10, 300, 100, step=10,
                              key="riem_fed_rounds")
        aggregations = options("riemannian.aggregations")
        aggregation = links.radio(t("riemannian.federated.aggregation"), AGGREGATIONS,
                                  key="riem_fed_agg", format_func=aggregations.__getitem__)
        algorithm = links.radio(t("riemannian.federated.algorithm"), ALGORITHMS,
                                key="riem_fed_alg", format_func=algorithms.__getitem__)
        seed = int(links.number_input(t("riemannian.federated.seed"), 0, 9999, 0,
                                      key="riem_fed_seed"))
    cfg = cached.FederatedConfig(int(n_clients), float(heterogeneity), int(tau),
                                 float(participation), float(lr), int(rounds), aggregation,
                                 algorithm, seed)
    with guarded(t("riemannian.federated.what_sphere")):
        sphere = cached.federated_sphere_for(cfg)
        if sphere.status != "ok":
            st.warning(t("riemannian.warnings.run", name=algorithms[algorithm],
                         message=sphere.message))
        if sphere.rounds < 1:
            raise ValueError(t("riemannian.federated.no_round"))
        r = int(links.slider(t("riemannian.federated.round"), 1, sphere.rounds, 1,
                             key="riem_fed_round"))
        chart(cached.figure_for(("riem_fed_sphere", cfg, r),
                                lambda: figs.make_federated_sphere_figure(sphere, r)),
              key="riem_fed_sphere", csv="riemannian-federated-sphere")
        st.caption(t("riemannian.federated.sphere_caption", n=n_clients,
                     algorithm=algorithms[algorithm], r=r,
                     drift=float(sphere.client_drift[r])))
    with guarded(t("riemannian.federated.what_stiefel")):
        bar = ProgressBar(t("riemannian.federated.progress"))
        try:
            runs = cached.federated_stiefel_for(cfg, _progress=bar)
        finally:
            bar.clear()
        for name, h in runs.items():
            if h.status != "ok":
                st.warning(t("riemannian.warnings.run", name=algorithms[name],
                             message=h.message))
        chart(cached.figure_for(("riem_fed_gap", cfg), lambda: (
            figs.make_federated_gap_figure({algorithms[k]: v for k, v in runs.items()}))),
            key="riem_fed_gap", csv="riemannian-federated-gap")
        floor = runs["rfedavg"].error_floor()
        st.markdown(t("riemannian.federated.summary", floor=floor,
                      svrg=float(runs["rfedsvrg"].gap[-1]),
                      centralised=float(runs["centralised"].gap[-1]),
                      avg_mb=float(runs["rfedavg"].bytes[-1]) / 1e6,
                      svrg_mb=float(runs["rfedsvrg"].bytes[-1]) / 1e6))
        lessons.fact("fed_clients", int(n_clients))
        lessons.fact("fed_tau", int(tau))
        lessons.fact("fed_heterogeneity", float(heterogeneity))
        lessons.fact("fed_floor_rfedavg", floor)
        lessons.fact("fed_gap_rfedsvrg", abs(float(runs["rfedsvrg"].gap[-1])))
        lessons.fact("fed_gap_centralised", abs(float(runs["centralised"].gap[-1])))
        lessons.fact("fed_drift_rfedavg", _max_finite(runs["rfedavg"].client_drift[1:]))
    if links.toggle(t("riemannian.federated.floor_toggle"), key="riem_fed_floor"):
        with guarded(t("riemannian.federated.what_floor")):
            bar = ProgressBar(t("riemannian.federated.floor_progress"))
            try:
                floors = cached.floors_for(int(n_clients), float(heterogeneity),
                                           float(participation), seed, _progress=bar)
            finally:
                bar.clear()
            chart(cached.figure_for(
                ("riem_fed_floor", int(n_clients), float(heterogeneity), float(participation),
                 seed), lambda: figs.make_floor_figure(floors, cached.FLOOR_TAUS,
                                                       cached.FLOOR_LRS)),
                key="riem_fed_floor_fig", csv="riemannian-federated-floor")
            st.caption(t("riemannian.federated.floor_caption"))


{
    "sphere": _sphere_view,
    "spd": _spd_view,
    "poincare": _poincare_view,
    "stiefel": _stiefel_view,
    "federated": _federated_view,
}[view]()

_explain()
