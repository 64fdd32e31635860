"""Dual geometry: exponential families in θ and η, e/m/Fisher–Rao geodesics, Pythagoras,
mirror descent = natural gradient, EM as alternating projections.

Every widget is kept in the URL (:mod:`dashboard.links`); every text comes from the catalog
``dashboard/locales/<lang>/duality.toml``; the numbers the lessons cite are published with
:func:`dashboard.lessons.fact` (``dashboard/lessons/duality.toml``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import streamlit as st

from dashboard import lessons, links
from dashboard.cached import duality as cached
from dashboard.cached.common import cached_figure
from dashboard.figures import duality as figs
from dashboard.i18n import options, t
from dashboard.widgets import chart, guarded
from geomcore.duality import METHODS

VIEWS = ("optimisers", "geodesics", "pythagoras", "em")
LEARNING_RATES = [0.01, 0.03, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0]
EM_STEP_DEFAULT = 3
"""The EM step shown first (or the last step, when the run is shorter)."""

st.title(t("duality.lab.title"))
st.caption(t("duality.page.caption"))

view = links.radio(t("duality.page.view"), VIEWS, key="dual_view",
                   format_func=options("duality.views").__getitem__, horizontal=True)


def _pair_sliders(name: str, key: str, default: tuple[float, float], *, lo: float = 0.01,
                  hi: float = 0.98) -> tuple[float, float]:
    a, b = st.columns(2)
    x = links.slider(t("duality.pair.p1", name=name), lo, hi, default[0], step=0.01,
                     key=f"{key}_1", container=a)
    y = links.slider(t("duality.pair.p2", name=name), lo, hi, default[1], step=0.01,
                     key=f"{key}_2", container=b)
    return float(x), float(y)


# -- optimisers --------------------------------------------------------------------------------
def _optimisers_view() -> None:
    left, right = st.columns([1, 1])
    with left:
        kind = links.selectbox(t("duality.optimisers.loss"), cached.LOSSES, key="dual_loss",
                               format_func=options("duality.losses").__getitem__)
        target_pair = _pair_sliders(t("duality.pair.target"), "dual_target", (0.2, 0.3))
    with right:
        start_pair = _pair_sliders(t("duality.pair.start"), "dual_start", (0.8, 0.1))
        a, b = st.columns(2)
        lr = links.select_slider(t("duality.optimisers.lr"), LEARNING_RATES, 0.1, key="dual_lr",
                                 container=a)
        steps = links.slider(t("duality.optimisers.steps"), 10, 1000, 200, step=10,
                             key="dual_steps", container=b)
    methods = links.multiselect(t("duality.optimisers.methods"), METHODS, METHODS,
                                key="dual_methods", format_func=figs.method_title)
    show_contours = links.toggle(t("duality.optimisers.contours"), True,
                                 key="dual_show_contours")
    with guarded(t("duality.what.paths")):
        start = cached.as_probability(*start_pair, t("duality.pair.start"))
        target = (cached.as_probability(*target_pair, t("duality.pair.target"))
                  if kind != "linear" else (0.2, 0.3, 0.5))
        loss_cfg = cached.LossConfig(kind=kind, target=target)
        cfg = cached.PathsConfig(loss=loss_cfg, start=start, lr=float(lr), steps=int(steps),
                                 methods=tuple(m for m in METHODS if m in methods))
        x, y, z = cached.loss_grid_for(loss_cfg)
        paths = cached.paths_for(cfg)
        floor = loss_cfg.minimum()
        for path in paths.values():
            title = figs.method_title(path.method)
            if path.status != "ok":
                st.warning(t("duality.optimisers.stopped", method=title, steps=path.steps,
                             message=path.message))
            elif path.message:
                st.info(t("duality.optimisers.note", method=title, message=path.message))
            lessons.fact(f"final_gap_{path.method}", float(path.loss[-1] - floor))
        if "ngd_expectation" in paths:
            lessons.fact("ngd_eta_left", paths["ngd_expectation"].status == "left_simplex")
        # built once per setting (and language) and shared: a contour of 161 × 139 nodes and
        # five paths
        simplex_fig = cached_figure(
            ("dual_simplex", cfg, show_contours),
            lambda: figs.make_simplex_loss_figure(
                x, y, z, paths, loss_name=t(f"duality.loss_names.{kind}"),
                show_contours=show_contours, target=loss_cfg.minimiser()))
        chart(simplex_fig, csv="duality-paths", export=figs.simplex_csv, key="dual_simplex")
        if "mirror_descent" in paths and "ngd_natural" in paths:
            eg, ngd = paths["mirror_descent"], paths["ngd_natural"]
            n = min(eg.points.shape[0], ngd.points.shape[0])
            gap = float(np.abs(eg.points[:n] - ngd.points[:n]).max())
            lessons.fact("eg_ngd_gap", gap)
            lessons.fact("eg_min_p", float(eg.points.min()))
            metric, text = st.columns([1, 3])
            metric.metric(t("duality.optimisers.gap_label"), f"{gap:.1e}",
                          help=t("duality.optimisers.gap_help", n=n))
            text.markdown(t("duality.optimisers.gap_text", gap=gap))
        else:
            st.info(t("duality.optimisers.choose_both"))
        curves_fig = cached_figure(
            ("dual_loss_curves", cfg),
            lambda: figs.make_loss_curves_figure(paths, floor=floor))
        chart(curves_fig, csv="duality-loss-curves", key="dual_loss_curves")
        st.caption(t("duality.optimisers.caption"))


# -- geodesics ----------------------------------------------------------------------------------
def _geodesics_view() -> None:
    alpha = links.slider(t("duality.geodesics.alpha"), -1.0, 1.0, 0.5, step=0.05,
                         key="dual_alpha")
    st.subheader(t("duality.geodesics.three_outcomes"))
    p_col, q_col = st.columns(2)
    with p_col:
        p_pair = _pair_sliders("p", "dual_p", (0.04, 0.16))
    with q_col:
        q_pair = _pair_sliders("q", "dual_q", (0.7, 0.26))
    with guarded(t("duality.what.simplex_geodesics")):
        p = cached.as_probability(*p_pair, "p")
        q = cached.as_probability(*q_pair, "q")
        geo = cached.simplex_geodesics_for(p, q, float(alpha))
        for message in geo.messages:
            st.warning(message)
        fig = figs.make_simplex_geodesics_figure(geo.curves, np.array(p), np.array(q),
                                                 alpha=float(alpha))
        chart(fig, csv="duality-geodesics-simplex", export=figs.simplex_csv,
              key="dual_geo_simplex")
        _distances(geo, "simplex")
    st.subheader(t("duality.geodesics.normals"))
    a, b, c, d = st.columns(4)
    mu1 = links.slider(t("duality.geodesics.p_mu"), -3.0, 3.0, -1.5, step=0.1,
                       key="dual_gp_mu", container=a)
    s1 = links.slider(t("duality.geodesics.p_sigma"), 0.1, 3.0, 0.5, step=0.05,
                      key="dual_gp_sigma", container=b)
    mu2 = links.slider(t("duality.geodesics.q_mu"), -3.0, 3.0, 1.5, step=0.1,
                       key="dual_gq_mu", container=c)
    s2 = links.slider(t("duality.geodesics.q_sigma"), 0.1, 3.0, 1.0, step=0.05,
                      key="dual_gq_sigma", container=d)
    with guarded(t("duality.what.normal_geodesics")):
        gp, gq = (float(mu1), float(s1)), (float(mu2), float(s2))
        ggeo = cached.gaussian_geodesics_for(gp, gq, float(alpha))
        for message in ggeo.messages:
            st.warning(message)
        chart(figs.make_gaussian_geodesics_figure(ggeo.curves, np.array(gp), np.array(gq),
                                                  alpha=float(alpha)),
              csv="duality-geodesics-normal", key="dual_geo_gauss")
        _distances(ggeo, "normal")
    st.caption(t("duality.geodesics.caption"))


def _distances(geo: cached.Geodesics, where: str) -> None:
    a, b, c = st.columns(3)
    a.metric(t("duality.geodesics.fisher_rao"), f"{geo.fisher_rao:.4f}")
    b.metric("KL(p‖q)", f"{geo.kl_pq:.4f}")
    c.metric("KL(q‖p)", f"{geo.kl_qp:.4f}", help=t("duality.geodesics.kl_help"))
    lengths = geo.lengths
    text = t("duality.geodesics.lengths", e=lengths["e"], m=lengths["m"],
             fisher_rao=lengths["fisher_rao"])
    if "alpha" in lengths:
        text += t("duality.geodesics.alpha_length", alpha_length=lengths["alpha"])
    st.caption(text)
    facts: dict[str, Any] = {"fisher_rao": geo.fisher_rao, "kl_pq": geo.kl_pq,
                             "kl_qp": geo.kl_qp,
                             "e_m_gap": float(np.abs(geo.curves["e"] - geo.curves["m"]).max())}
    facts.update({f"length_{kind}": value for kind, value in lengths.items()})
    for name, value in facts.items():
        lessons.fact(f"{where}_{name}", float(value))


# -- Pythagoras ----------------------------------------------------------------------------------
def _pythagoras_view() -> None:
    a, b = st.columns([2, 1])
    with a:
        p_pair = _pair_sliders("p", "dual_pp", (0.15, 0.75))
    w_r = links.slider(t("duality.pythagoras.r_w"), -3.0, 3.0, 1.2, step=0.1, key="dual_r_w",
                       container=b)
    with guarded(t("duality.what.triangle")):
        p = cached.as_probability(*p_pair, "p")
        data = cached.pythagoras_for(p, float(w_r))
        if data.projection.status != "ok":
            st.warning(data.projection.message)
        chart(figs.make_pythagoras_figure(
            data.family_curve, data.p, data.q_star, data.r, data.m_geodesic, data.e_geodesic,
            data.pr_geodesic), csv="duality-pythagoras", export=figs.simplex_csv,
            key="dual_pythagoras")
        chk = data.check
        m1, m2, m3 = st.columns(3)
        m1.metric("KL(p‖r)", f"{chk.lhs:.10f}")
        m2.metric("KL(p‖q*) + KL(q*‖r)", f"{chk.rhs:.10f}",
                  help=f"{chk.kl_p_q:.10f} + {chk.kl_q_r:.10f}")
        m3.metric(t("duality.pythagoras.difference"), f"{chk.gap:.1e}")
        feature = np.array(cached.TILT_FEATURE)
        mean_p, mean_q = float(data.p @ feature), float(data.q_star @ feature)
        st.markdown(t("duality.pythagoras.text", kl_pq=chk.kl_p_q, kl_qr=chk.kl_q_r,
                      mean_f=mean_p))
        for name, value in (("kl_pr", chk.lhs), ("kl_sum", chk.rhs), ("kl_pq", chk.kl_p_q),
                            ("kl_qr", chk.kl_q_r), ("mean_f_p", mean_p),
                            ("mean_f_q", mean_q)):
            lessons.fact(name, float(value))
        lessons.fact("projection_ok", data.projection.status == "ok")


# -- EM ----------------------------------------------------------------------------------------
def _em_view() -> None:
    a, b, c, d = st.columns(4)
    n = links.slider(t("duality.em.n"), 50, 2000, 400, step=50, key="dual_em_n", container=a)
    sep = links.slider(t("duality.em.sep"), 0.5, 6.0, 3.5, step=0.25, key="dual_em_sep",
                       container=b)
    steps = links.slider(t("duality.em.steps"), 1, 100, 30, key="dual_em_steps", container=c)
    seed = int(links.number_input(t("duality.em.seed"), 0, 9999, 0, step=1, key="dual_em_seed",
                                  container=d))
    with guarded(t("duality.what.em")):
        em_cfg = cached.EMConfig(n=int(n), separation=float(sep), seed=seed, steps=int(steps))
        x, res = cached.em_for(em_cfg)
        if res.status != "ok":
            st.warning(t("duality.em.stopped", steps=res.steps, message=res.message))
        # the slider's range follows the run: links clamps a step kept from a longer run
        last = max(res.steps, 1)
        step = links.slider(t("duality.em.step"), 0, last, min(res.steps, EM_STEP_DEFAULT),
                            key="dual_em_step")
        chart(figs.make_em_fit_figure(x, res, int(step)), csv="duality-em-fit",
              key="dual_em_fit")
        # the divergence does not depend on the step shown: built once per run
        chart(cached_figure(("dual_em_div", em_cfg),
                            lambda: figs.make_em_divergence_figure(res)),
              csv="duality-em-divergence", key="dual_em_div")
        rises = np.diff(res.divergence)
        rise = float(rises.max()) if rises.size else 0.0
        st.caption(t("duality.em.caption", rise=rise))
        e_values = res.divergence[0::2]
        lessons.fact("em_max_rise", rise)
        lessons.fact("em_e_nll_gap",
                     float(np.abs(e_values - res.neg_log_likelihood[:e_values.size]).max()))
        lessons.fact("em_nll_start", float(res.neg_log_likelihood[0]))
        lessons.fact("em_nll_end", float(res.neg_log_likelihood[-1]))
        lessons.fact("em_ok", res.status == "ok")
        rows = {t("duality.em.table.step"): list(range(1, res.steps + 1)),
                t("duality.em.table.after_e"): [f"{v:.8f}" for v in res.divergence[0::2]],
                t("duality.em.table.after_m"): [f"{v:.8f}" for v in res.divergence[1::2]],
                t("duality.em.table.nll"): [f"{v:.8f}" for v in res.neg_log_likelihood[1:]]}
        st.dataframe(rows, hide_index=True, key="dual_em_table", height=240)


def _explain() -> None:
    with st.expander(t("duality.explain.label")):
        st.markdown(t("duality.explain.charts"))
        st.markdown(t("duality.explain.legendre"))
        st.latex(r"\psi(\theta) + \varphi(\eta) = \langle \theta, \eta\rangle,\qquad "
                 r"\eta = \nabla\psi(\theta),\quad \theta = \nabla\varphi(\eta),\qquad "
                 r"\nabla^2\psi(\theta) = \big[\nabla^2\varphi(\eta)\big]^{-1} = F.")
        st.markdown(t("duality.explain.connections"))
        st.latex(r"\mathrm{KL}(p_{\theta_1}\,\|\,p_{\theta_2}) = "
                 r"\psi(\theta_2) - \psi(\theta_1) - \langle \eta_1, \theta_2 - \theta_1"
                 r"\rangle = B_\psi(\theta_2, \theta_1) = B_\varphi(\eta_1, \eta_2).")
        st.markdown(t("duality.explain.rest"))


{
    "optimisers": _optimisers_view,
    "geodesics": _geodesics_view,
    "pythagoras": _pythagoras_view,
    "em": _em_view,
}[view]()

_explain()
