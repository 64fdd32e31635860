"""Dual geometry: exponential families in θ and η, e/m/Fisher–Rao geodesics, Pythagoras,
mirror descent = natural gradient, EM as alternating projections."""

from __future__ import annotations

import numpy as np
import streamlit as st

from dashboard.cached import duality as cached
from dashboard.cached.common import cached_figure
from dashboard.figures import duality as figs
from dashboard.figures.theme import PLOT_CONFIG
from dashboard.widgets import guarded
from geomcore.duality import METHODS

VIEWS = {
    "optimisers": "Optimisers on the simplex",
    "geodesics": "Geodesics",
    "pythagoras": "Pythagorean triangle",
    "em": "EM as projections",
}
LOSS_NAMES = {"cross_entropy": "cross-entropy", "squared": "squared distance",
              "linear": "a linear cost"}
LEARNING_RATES = [0.01, 0.03, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0]

st.title("Dual geometry")
st.caption(
    "An exponential family has two flat coordinate systems, the natural parameters θ and the "
    "expectation parameters η, tied together by a Legendre transform. Straight lines in θ and "
    "in η are two different kinds of geodesic; KL divergence is a Bregman divergence; mirror "
    "descent is natural-gradient descent read in the other chart."
)

view = st.radio("View", list(VIEWS), format_func=VIEWS.__getitem__, horizontal=True,
                key="dual_view")


def _pair_sliders(label: str, key: str, default: tuple[float, float], *, lo: float = 0.01,
                  hi: float = 0.98) -> tuple[float, float]:
    a, b = st.columns(2)
    x = a.slider(f"{label}: p₁", lo, hi, default[0], step=0.01, key=f"{key}_1")
    y = b.slider(f"{label}: p₂", lo, hi, default[1], step=0.01, key=f"{key}_2")
    return float(x), float(y)


# -- optimisers --------------------------------------------------------------------------------
def _optimisers_view() -> None:
    left, right = st.columns([1, 1])
    with left:
        kind = st.selectbox("Loss", list(cached.LOSSES), format_func=cached.LOSSES.__getitem__,
                            key="dual_loss")
        target_pair = _pair_sliders("target t", "dual_target", (0.2, 0.3))
    with right:
        start_pair = _pair_sliders("start", "dual_start", (0.8, 0.1))
        a, b = st.columns(2)
        lr = a.select_slider("Learning rate", LEARNING_RATES, value=0.1, key="dual_lr")
        steps = b.slider("Steps", 10, 1000, 200, step=10, key="dual_steps")
    methods = st.multiselect("Methods", list(METHODS), default=list(METHODS),
                             format_func=figs.METHOD_TITLES.__getitem__, key="dual_methods")
    show_contours = st.toggle("Contour lines", value=True, key="dual_show_contours")
    with guarded("the optimiser paths"):
        start = cached.as_probability(*start_pair, "start")
        target = (cached.as_probability(*target_pair, "target") if kind != "linear"
                  else (0.2, 0.3, 0.5))
        loss_cfg = cached.LossConfig(kind=kind, target=target)
        cfg = cached.PathsConfig(loss=loss_cfg, start=start, lr=float(lr), steps=int(steps),
                                 methods=tuple(m for m in METHODS if m in methods))
        x, y, z = cached.loss_grid_for(loss_cfg)
        paths = cached.paths_for(cfg)
        for path in paths.values():
            if path.status != "ok":
                st.warning(f"{figs.METHOD_TITLES[path.method]} stopped after {path.steps} "
                           f"steps: {path.message}")
            elif path.message:
                st.info(f"{figs.METHOD_TITLES[path.method]}: {path.message}.")
        # built once per setting and shared (a contour of 161 × 139 nodes and five paths)
        simplex_fig = cached_figure(
            ("dual_simplex", cfg, show_contours),
            lambda: figs.make_simplex_loss_figure(x, y, z, paths, loss_name=LOSS_NAMES[kind],
                                                  show_contours=show_contours,
                                                  target=loss_cfg.minimiser()))
        st.plotly_chart(simplex_fig, key="dual_simplex", config=PLOT_CONFIG)
        if "mirror_descent" in paths and "ngd_natural" in paths:
            eg, ngd = paths["mirror_descent"], paths["ngd_natural"]
            n = min(eg.points.shape[0], ngd.points.shape[0])
            gap = float(np.abs(eg.points[:n] - ngd.points[:n]).max())
            metric, text = st.columns([1, 3])
            metric.metric("EG vs NGD in θ: largest gap", f"{gap:.1e}",
                          help=f"max over the {n} shared iterates and the three "
                               "probabilities of |p(EG) − p(NGD in θ)|")
            text.markdown(
                "Exponentiated gradient (open circles) and natural-gradient descent in θ "
                "(the line through them) take **the same steps**: "
                f"their iterates differ by at most {gap:.1e}, which is round-off. "
                "The two updates are computed differently — one multiplies p by "
                "e^(−lr·∇L) and renormalises, the other applies the inverse Fisher metric in "
                "θ — and agree because mirror descent with the entropy is natural gradient in "
                "the dual chart.")
        else:
            st.info("Choose both mirror descent (EG) and NGD in θ to see that they coincide.")
        curves_fig = cached_figure(
            ("dual_loss_curves", cfg),
            lambda: figs.make_loss_curves_figure(paths, floor=loss_cfg.minimum()))
        st.plotly_chart(curves_fig, key="dual_loss_curves", config=PLOT_CONFIG)
        st.caption(
            "All methods start at the white square with the same learning rate. GD in θ "
            "follows the Euclidean gradient in θ (slow where the Fisher metric is small); "
            "projected GD moves in p and may land on an edge (a zero probability); NGD in η "
            "takes straight steps in the mixture coordinates and can step out of the triangle "
            "(then it stops, with a warning). The star marks the minimum.")


# -- geodesics ----------------------------------------------------------------------------------
def _geodesics_view() -> None:
    alpha = st.slider("α of the α-geodesic (1: e, 0: Fisher–Rao, −1: m)", -1.0, 1.0, 0.5,
                      step=0.05, key="dual_alpha")
    st.subheader("Three outcomes")
    p_col, q_col = st.columns(2)
    with p_col:
        p_pair = _pair_sliders("p", "dual_p", (0.04, 0.16))
    with q_col:
        q_pair = _pair_sliders("q", "dual_q", (0.7, 0.26))
    with guarded("the geodesics on the simplex"):
        p = cached.as_probability(*p_pair, "p")
        q = cached.as_probability(*q_pair, "q")
        geo = cached.simplex_geodesics_for(p, q, float(alpha))
        for message in geo.messages:
            st.warning(message)
        st.plotly_chart(figs.make_simplex_geodesics_figure(geo.curves, np.array(p), np.array(q),
                                                           alpha=float(alpha)),
                        key="dual_geo_simplex", config=PLOT_CONFIG)
        _distances(geo)
    st.subheader("Normal distributions")
    a, b, c, d = st.columns(4)
    mu1 = a.slider("p: mean μ", -3.0, 3.0, -1.5, step=0.1, key="dual_gp_mu")
    s1 = b.slider("p: std σ", 0.1, 3.0, 0.5, step=0.05, key="dual_gp_sigma")
    mu2 = c.slider("q: mean μ", -3.0, 3.0, 1.5, step=0.1, key="dual_gq_mu")
    s2 = d.slider("q: std σ", 0.1, 3.0, 1.0, step=0.05, key="dual_gq_sigma")
    with guarded("the geodesics between normal distributions"):
        gp, gq = (float(mu1), float(s1)), (float(mu2), float(s2))
        ggeo = cached.gaussian_geodesics_for(gp, gq, float(alpha))
        for message in ggeo.messages:
            st.warning(message)
        st.plotly_chart(figs.make_gaussian_geodesics_figure(ggeo.curves, np.array(gp),
                                                            np.array(gq), alpha=float(alpha)),
                        key="dual_geo_gauss", config=PLOT_CONFIG)
        _distances(ggeo)
    st.caption(
        "The e-geodesic is a straight line in the natural parameters θ (for three outcomes: "
        "p^(1−t)·q^t renormalised), the m-geodesic a straight line in the expectation "
        "parameters η (the mixture (1−t)p + tq; for normals, the normal with the mixture's mean "
        "and variance). The Fisher–Rao geodesic is the shortest path for the Fisher metric "
        "(a great circle of √p; a half-circle in (μ/√2, σ)). The α-geodesics of Amari's "
        "α-connection run between them: α = 1 is e, α = −1 is m, α = 0 is Fisher–Rao; here "
        "they are solved as a boundary-value problem in θ.")


def _distances(geo: cached.Geodesics) -> None:
    a, b, c = st.columns(3)
    a.metric("Fisher–Rao distance", f"{geo.fisher_rao:.4f}")
    b.metric("KL(p‖q)", f"{geo.kl_pq:.4f}")
    c.metric("KL(q‖p)", f"{geo.kl_qp:.4f}", help="KL is not symmetric")


# -- Pythagoras ----------------------------------------------------------------------------------
def _pythagoras_view() -> None:
    a, b = st.columns([2, 1])
    with a:
        p_pair = _pair_sliders("p", "dual_pp", (0.15, 0.75))
    w_r = b.slider("r along the family (w)", -3.0, 3.0, 1.2, step=0.1, key="dual_r_w")
    with guarded("the Pythagorean triangle"):
        p = cached.as_probability(*p_pair, "p")
        data = cached.pythagoras_for(p, float(w_r))
        if data.projection.status != "ok":
            st.warning(data.projection.message)
        st.plotly_chart(figs.make_pythagoras_figure(
            data.family_curve, data.p, data.q_star, data.r, data.m_geodesic, data.e_geodesic,
            data.pr_geodesic), key="dual_pythagoras", config=PLOT_CONFIG)
        chk = data.check
        m1, m2, m3 = st.columns(3)
        m1.metric("KL(p‖r)", f"{chk.lhs:.10f}")
        m2.metric("KL(p‖q*) + KL(q*‖r)", f"{chk.rhs:.10f}",
                  help=f"{chk.kl_p_q:.10f} + {chk.kl_q_r:.10f}")
        m3.metric("difference", f"{chk.gap:.1e}")
        st.markdown(
            f"Here KL(p‖q*) = {chk.kl_p_q:.6f} and KL(q*‖r) = {chk.kl_q_r:.6f}. "
            "The grey curve is the exponential family q_w ∝ e^(w·f(x)) with f = (0, 1, 2): "
            "a straight line in θ, so *e-flat*. q* is the **m-projection** of p onto it, the "
            "member closest to p in KL(p‖·): the one with the same mean of f "
            f"(E_p[f] = {float(data.p @ np.array(cached.TILT_FEATURE)):.4f} = E_q*[f]). The "
            "m-geodesic from p meets the family at a right angle (for the Fisher metric), and "
            "for **every** r in the family the KL divergences add up like the sides of a right "
            "triangle. Move p or r: the difference stays at round-off.")


# -- EM ----------------------------------------------------------------------------------------
def _em_view() -> None:
    a, b, c, d = st.columns(4)
    n = a.slider("Data points", 50, 2000, 400, step=50, key="dual_em_n")
    sep = b.slider("Distance between the true means", 0.5, 6.0, 3.5, step=0.25,
                   key="dual_em_sep")
    steps = c.slider("EM steps", 1, 100, 30, key="dual_em_steps")
    seed = int(d.number_input("Seed", 0, 9999, 0, step=1, key="dual_em_seed"))
    with guarded("the EM run"):
        em_cfg = cached.EMConfig(n=int(n), separation=float(sep), seed=seed, steps=int(steps))
        x, res = cached.em_for(em_cfg)
        if res.status != "ok":
            st.warning(f"EM stopped after {res.steps} steps: {res.message}")
        step = st.slider("Show the mixture after step", 0, max(res.steps, 1),
                         min(res.steps, 3), key="dual_em_step")
        st.plotly_chart(figs.make_em_fit_figure(x, res, int(step)), key="dual_em_fit",
                        config=PLOT_CONFIG)
        # the divergence does not depend on the step shown: built once per run
        st.plotly_chart(cached_figure(("dual_em_div", em_cfg),
                                      lambda: figs.make_em_divergence_figure(res)),
                        key="dual_em_div", config=PLOT_CONFIG)
        rises = np.diff(res.divergence)
        st.caption(
            "E-step: the e-projection of the current model onto the data manifold (all joint "
            "distributions whose x-marginal is the data) — the posterior q(z | x). M-step: the "
            "m-projection of that joint back onto the model manifold — matching the expected "
            "sufficient statistics, i.e. each component's weighted mean and variance. Each "
            "half-step can only lower the divergence F(q, θ) between the two manifolds (KL up "
            "to the data's constant entropy); after an E-step it equals the negative "
            f"log-likelihood. Largest change between half-steps here: "
            f"{(float(rises.max()) if rises.size else 0.0):+.1e} (never positive beyond "
            "round-off).")
        rows = {"step": list(range(1, res.steps + 1)),
                "F after E-step": [f"{v:.8f}" for v in res.divergence[0::2]],
                "F after M-step": [f"{v:.8f}" for v in res.divergence[1::2]],
                "−log-likelihood (per point)": [f"{v:.8f}" for v in res.neg_log_likelihood[1:]]}
        st.dataframe(rows, hide_index=True, key="dual_em_table", height=240)


def _explain() -> None:
    with st.expander("Explain: θ and η, Legendre duality, two connections, Bregman = KL, "
                     "mirror descent = natural gradient, and the article's “dual network”"):
        st.markdown(
            "**Two charts.** An exponential family writes its densities as "
            "$p_\\theta(x) = \\exp(\\langle\\theta, t(x)\\rangle - \\psi(\\theta))\\,h(x)$. "
            "The *natural parameters* θ are one chart; the *expectation parameters* "
            "$\\eta = \\mathbb{E}_\\theta[t(x)] = \\nabla\\psi(\\theta)$ are another. For three "
            "outcomes $\\theta_i = \\log(p_i/p_3)$ and $\\eta_i = p_i$ ($i = 1, 2$); for a "
            "normal $\\theta = (\\mu/\\sigma^2, -1/(2\\sigma^2))$ and "
            "$\\eta = (\\mu, \\mu^2 + \\sigma^2)$.")
        st.markdown(
            "**Legendre duality.** The log-partition ψ and the negative entropy φ are convex "
            "conjugates:")
        st.latex(r"\psi(\theta) + \varphi(\eta) = \langle \theta, \eta\rangle,\qquad "
                 r"\eta = \nabla\psi(\theta),\quad \theta = \nabla\varphi(\eta),\qquad "
                 r"\nabla^2\psi(\theta) = \big[\nabla^2\varphi(\eta)\big]^{-1} = F.")
        st.markdown(
            "The Hessian of ψ is the Fisher metric F in θ; the Hessian of φ is the same metric "
            "written in η. **Two connections.** The e-connection is flat in θ (its geodesics "
            "are straight lines in θ: exponential interpolation) and the m-connection is flat "
            "in η (straight lines in η: mixtures). They are dual with respect to F, and their "
            "average is the Levi-Civita connection of F, whose geodesics are the Fisher–Rao "
            "ones; Amari's α-connections interpolate ($\\alpha = 1$ e, $-1$ m, $0$ "
            "Levi-Civita).\n\n"
            "**Bregman = KL.** The Bregman divergence of ψ is the KL divergence with its "
            "arguments swapped, and the one of φ is KL in the usual order:")
        st.latex(r"\mathrm{KL}(p_{\theta_1}\,\|\,p_{\theta_2}) = "
                 r"\psi(\theta_2) - \psi(\theta_1) - \langle \eta_1, \theta_2 - \theta_1"
                 r"\rangle = B_\psi(\theta_2, \theta_1) = B_\varphi(\eta_1, \eta_2).")
        st.markdown(
            "From it follows the generalised Pythagorean theorem of the third view, and the "
            "reading of EM as alternating e- and m-projections of the fourth.\n\n"
            "**Mirror descent = natural gradient.** Mirror descent with mirror map φ updates "
            "$\\nabla\\varphi(\\eta_{t+1}) = \\nabla\\varphi(\\eta_t) - \\ell\\,\\nabla_\\eta L$, "
            "i.e. $\\theta_{t+1} = \\theta_t - \\ell\\,\\nabla_\\eta L$. Since "
            "$\\nabla_\\eta L = F(\\theta)^{-1}\\nabla_\\theta L$ (chain rule with "
            "$\\partial\\eta/\\partial\\theta = F$), that is exactly natural-gradient descent in "
            "θ (Raskutti & Mukherjee, 2015). On the simplex, mirror descent with the entropy is "
            "the exponentiated-gradient update $p \\leftarrow p\\,e^{-\\ell\\nabla_p L}/Z$: "
            "the first view draws it on top of NGD in θ, and they coincide step by step. "
            "Symmetrically, mirror descent in θ (mirror map ψ) is NGD in η. A softmax output "
            "layer *is* this categorical family, its logits are θ and its probabilities are η; "
            "the Natural-gradient lab trains such layers.\n\n"
            "**What the article's “dual network” can and cannot mean.** The source article "
            "names a *dual network* that “uses the duality between input space and hidden "
            "space” and credits it with better geometry, optimisation and generalisation, but "
            "gives no definition, formula, architecture or reference. Read charitably, the "
            "precise idea that fits those words is the one on this page: a pair of coordinate "
            "systems (θ and η, or a layer's logits and its probabilities) related by a "
            "Legendre transform, with a divergence (Bregman/KL) and two dual flat connections, "
            "so that a step taken in one chart is a natural-gradient step in the other. That "
            "is a statement about how a *single* model's parameters can be described and "
            "optimised. It is not a named architecture: there is no standard “dual network” "
            "in which an input space and a hidden space are Legendre-dual to each other, and "
            "this lab does not build one. Nor does the duality by itself improve what a "
            "network can represent or how well it generalises: mirror descent and NGD are the "
            "same algorithm in two charts, so whatever gain they bring over plain gradient "
            "descent comes from respecting the Fisher geometry, not from a second network. "
            "(Other fields use “dual” for unrelated things — dual/Siamese twin networks, "
            "Lagrangian dual problems, dual-encoder retrieval models; none of them is what "
            "information geometry's duality means.)")


{
    "optimisers": _optimisers_view,
    "geodesics": _geodesics_view,
    "pythagoras": _pythagoras_view,
    "em": _em_view,
}[view]()

_explain()
