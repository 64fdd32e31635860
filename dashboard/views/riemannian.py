"""Riemannian optimisation: gradient steps that stay on the manifold, and federated learning
whose clients live on one."""

from __future__ import annotations

import streamlit as st

from dashboard.cached import riemannian as cached
from dashboard.cached.common import ProgressBar
from dashboard.figures import riemannian as figs
from dashboard.figures.theme import PLOT_CONFIG
from dashboard.widgets import guarded
from geomcore.riemannian.demos import METHOD_LABELS

VIEWS = {
    "sphere": "Sphere",
    "spd": "SPD(2) cone",
    "poincare": "Poincaré disk",
    "stiefel": "Stiefel / PCA",
    "federated": "Federated",
}
STEP_SIZES = [0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1.0, 1.5, 2.0]
SPD_KINDS = {"equal_determinants": "equal determinants (rotated diag(3, 1/3))",
             "random": "random", "custom": "my own (type them)"}
ALGORITHMS = {"rfedavg": "RFedAvg", "rfedsvrg": "RFedSVRG", "centralised": "centralised GD"}

st.title("Riemannian optimisation")
st.caption(
    "Many parameters live on curved sets: unit vectors, orthonormal frames, covariance "
    "matrices, hyperbolic embeddings. Riemannian optimisation steps in the tangent space and "
    "comes back to the manifold by the exponential map or a cheaper retraction."
)
view = st.radio("View", list(VIEWS), format_func=VIEWS.__getitem__, horizontal=True,
                key="riem_view")


def _explain() -> None:
    with st.expander("Explain: tangent spaces, Riemannian gradients, retractions, transport, "
                     "averaging"):
        st.markdown(
            "**Tangent space.** At a point $x$ of a manifold $M$ the directions one can move "
            "in form a vector space $T_xM$: on the sphere the vectors orthogonal to $x$, on "
            "the Stiefel manifold $\\{X^\\top X = I\\}$ the $U$ with $X^\\top U$ skew, on SPD "
            "matrices every symmetric matrix.\n\n"
            "**Riemannian gradient.** It is the tangent vector $\\operatorname{grad} f(x)$ "
            "with $\\langle \\operatorname{grad} f(x), v\\rangle_x = Df(x)[v]$ for every "
            "tangent $v$. For a submanifold with the ambient metric it is the orthogonal "
            "projection of the Euclidean gradient, $P_x\\nabla f(x)$ (on the sphere "
            "$\\nabla f - \\langle x, \\nabla f\\rangle x$); with another metric it changes: "
            "$X\\,\\mathrm{sym}(\\nabla f)\\,X$ for the affine-invariant metric on SPD, "
            "$\\nabla f\\,(1-\\|x\\|^2)^2/4$ on the Poincaré ball.\n\n"
            "**Retraction vs exp.** The exponential map follows the geodesic from $x$ with "
            "velocity $u$; a retraction $R_x(u)$ only has to agree with it to first order "
            "($R_x(0)=x$, $DR_x(0)=\\mathrm{id}$), e.g. $(x+u)/\\|x+u\\|$ on the sphere or "
            "the QR factor of $X+U$ on Stiefel: cheaper, and gradient descent keeps its "
            "convergence guarantees. The Sphere view draws both; the Euclidean step that "
            "is never projected leaves the sphere and the cost runs away.\n\n"
            "**Vector transport.** Momentum, Adam's first moment and conjugate directions "
            "are tangent vectors at the *old* point; they must be carried to the new tangent "
            "space (parallel transport, or the cheaper projection) before being combined "
            "with the new gradient.\n\n"
            "**Averaging on a manifold.** The arithmetic mean of points of a manifold is "
            "generally not on it (the mean of unit vectors is shorter than 1) or is the "
            "wrong notion (the mean of covariance matrices *swells*: its determinant exceeds "
            "the inputs'). The Karcher mean minimises $\\sum_i d^2(x, y_i)$ and is found by "
            "iterating $x \\leftarrow \\exp_x(\\frac1k\\sum_i \\log_x y_i)$. A federated server "
            "must average its clients' points this way, or in the tangent space at its own "
            "point.\n\n"
            "**In deep learning.** Orthogonal or unitary weight matrices (Stiefel) keep "
            "recurrent networks stable; PCA and subspace layers optimise over Stiefel or "
            "Grassmann manifolds; covariance pooling and SPD networks use the SPD geometry; "
            "hyperbolic embeddings (Poincaré ball) store hierarchies in few dimensions; "
            "federated PCA averages principal subspaces computed on separate clients "
            "(RFedAvg drifts when the clients differ, RFedSVRG's correction removes the "
            "drift).")


def _warn_runs(traces: dict, expected: tuple[str, ...] = ("ok", "max_iter")) -> None:
    for name, tr in traces.items():
        if tr.status not in expected:
            st.warning(f"{name}: {tr.message}")


# -- Sphere ----------------------------------------------------------------------------------------
def _sphere_view() -> None:
    with st.sidebar:
        st.header("Sphere: Rayleigh quotient")
        st.caption("f(x) = −xᵀAx on the unit sphere, A with these eigenvalues.")
        l1, l2, l3 = (float(st.slider(f"eigenvalue λ{i + 1}", -3.0, 5.0, d, step=0.5,
                                      key=f"riem_sphere_l{i + 1}"))
                      for i, d in enumerate((3.0, 1.0, -1.0)))
        lr = st.select_slider("Step size η", STEP_SIZES, value=0.1, key="riem_sphere_lr")
        steps = st.slider("Steps", 5, 200, 60, step=5, key="riem_sphere_steps")
        seed = int(st.number_input("Start (seed)", 0, 9999, 0, key="riem_sphere_seed"))
    with guarded("the sphere runs"):
        cfg = cached.SphereConfig((l1, l2, l3), float(lr), int(steps), seed)
        demo = cached.sphere_for(cfg)
        ambient = demo.runs[METHOD_LABELS["ambient"]]
        for message in figs.sphere_warnings(demo):
            st.warning(message)
        shown = st.multiselect("Paths shown", list(demo.runs), default=list(demo.runs),
                               key="riem_sphere_shown")
        arrows_run = METHOD_LABELS["projection"]
        n_its = demo.runs[arrows_run].iterates.shape[0]
        k = st.slider("Iteration with arrows (Riemannian GD, projection retraction)", 0,
                      max(n_its - 2, 0), 0, key="riem_sphere_k",
                      disabled=n_its < 2)
        # Figures are built once per setting and shared (Plotly's validation of a figure
        # costs more than the rest of a rerun)
        st.plotly_chart(cached.figure_for(
            ("riem_sphere", cfg, int(k), tuple(shown)),
            lambda: figs.make_sphere_figure(demo, iteration=int(k), arrows_run=arrows_run,
                                            shown=shown)),
            key="riem_sphere_fig", config=PLOT_CONFIG)
        st.plotly_chart(cached.figure_for(("riem_sphere_curves", cfg), lambda: (
            figs.make_convergence_figure(
                demo.runs, title="Convergence: |f − f*| and the distance off the sphere"))),
            key="riem_sphere_curves", config=PLOT_CONFIG)
        off = float(ambient.off_manifold[-1])
        st.info(f"{METHOD_LABELS['ambient']}: {ambient.message}. Its cost −xᵀAx can fall "
                f"below the true minimum f* = {demo.f_star:.3g} only because ‖x‖ grows: it "
                f"ends {off:.3g} off the sphere.")
        st.caption("Arrows at the chosen iteration: orange, the Euclidean step −η∇f = 2ηAx; "
                   "green, its projection on the tangent plane (the Riemannian gradient step); "
                   "dashed purple, the retraction from the tangent step's end back to the "
                   "sphere. With a large η the Euclidean step points far off the sphere.")


# -- SPD -------------------------------------------------------------------------------------------
def _spd_view() -> None:
    with st.sidebar:
        st.header("SPD(2) matrices")
        kind = st.selectbox("Matrices", list(SPD_KINDS), format_func=SPD_KINDS.__getitem__,
                            key="riem_spd_kind")
        if kind == "custom":
            text = st.text_area("Matrices [[a, b], [b, c]] as 'a, b, c', one per line",
                                "2, 0.8, 1\n1, -0.5, 2\n0.5, 0, 3", key="riem_spd_text",
                                max_chars=400, help="Each needs a > 0 and ac > b².")
            count, seed = 0, 0
        else:
            text = ""
            count = st.slider("How many", 2, 8, 3, key="riem_spd_count")
            seed = int(st.number_input("Seed (random)", 0, 9999, 0, key="riem_spd_seed"))
    with guarded("the SPD means"):
        cfg = cached.SPDConfig(kind, int(count), seed, text)
        means = cached.spd_for(cfg)
        if means.karcher_status != "ok":
            st.warning(f"The Karcher mean did not converge: {means.karcher_message}")
        st.plotly_chart(cached.figure_for(("riem_spd", cfg),
                                      lambda: figs.make_spd_cone_figure(means)),
                        key="riem_spd_fig", config=PLOT_CONFIG)
        st.markdown(figs.swelling_text(means))
        st.dataframe(figs.swelling_rows(means), hide_index=True, key="riem_spd_table")
        st.caption("A matrix [[a, b], [b, c]] is the point (a, b, c); SPD means a > 0 and "
                   "ac > b², inside the grey cone. Geodesics from A1 to the others: dotted, "
                   "the straight line (Euclidean); dashed, log-Euclidean; solid, "
                   "affine-invariant. The affine-invariant and log-Euclidean means keep the "
                   "determinant at the inputs' geometric mean.")


# -- Poincaré disk ---------------------------------------------------------------------------------
def _poincare_view() -> None:
    with st.sidebar:
        st.header("Tree embedding")
        depth = st.slider("Depth", 2, 5, 4, key="riem_tree_depth")
        branching = st.slider("Children per node", 2, 3, 2, key="riem_tree_branching")
        seed = int(st.number_input("Seed", 0, 9999, 0, key="riem_tree_seed"))
    with guarded("the tree embeddings"):
        with st.spinner("Embedding the tree…"):
            cfg = cached.TreeConfig(int(depth), int(branching), seed)
            hyp, euc = cached.trees_for(cfg)
        for emb in (hyp, euc):
            if emb.status not in ("ok", "stalled"):
                st.warning(f"{emb.geometry} embedding: {emb.message}")
        st.plotly_chart(cached.figure_for(("riem_tree", cfg),
                                      lambda: figs.make_tree_figure(hyp, euc)),
                        key="riem_tree_fig", config=PLOT_CONFIG)
        cols = st.columns(2)
        cols[0].metric("Distortion (lower is better)", f"{hyp.distortion:.3f}",
                       delta=f"{hyp.distortion - euc.distortion:+.3f} vs Euclidean",
                       delta_color="inverse")
        cols[1].metric("Mean average precision (higher is better)",
                       f"{hyp.mean_average_precision:.3f}",
                       delta=f"{hyp.mean_average_precision - euc.mean_average_precision:+.3f}"
                             " vs Euclidean")
        st.caption(f"{hyp.tree.n_nodes} nodes. Both embeddings minimise Σ (d(xᵢ, xⱼ)/(s·d_G) "
                   "− 1)² over node pairs by Riemannian conjugate gradient (s = 0.5). "
                   "Distortion: mean relative error of the distances after the best scale; "
                   "MAP: how well each node's nearest neighbours in the picture are its tree "
                   "neighbours. The disk has room for exponentially many leaves near its "
                   "boundary; the plane does not.")


# -- Stiefel ---------------------------------------------------------------------------------------
def _stiefel_view() -> None:
    with st.sidebar:
        st.header("Brockett's cost on St(n, p)")
        n = st.slider("n", 5, 60, 20, key="riem_st_n")
        p = st.slider("p", 1, 5, 3, key="riem_st_p")
        steps = st.slider("Iterations", 20, 600, 200, step=20, key="riem_st_steps")
        lr_sgd = st.select_slider("RSGD step size", STEP_SIZES, value=0.05, key="riem_st_sgd")
        lr_adam = st.select_slider("RAdam step size", STEP_SIZES, value=0.3,
                                   key="riem_st_adam")
        seed = int(st.number_input("Seed", 0, 9999, 0, key="riem_st_seed"))
    with guarded("the Stiefel runs"):
        cfg = cached.StiefelConfig(int(n), int(p), int(steps), float(lr_sgd), float(lr_adam),
                                   seed)
        with st.spinner("Running RSGD, RAdam and RCG…"):
            runs = cached.stiefel_for(cfg)
        _warn_runs(runs, ("ok", "max_iter", "stalled"))
        st.plotly_chart(cached.figure_for(("riem_st", cfg), lambda: figs.make_stiefel_figure(runs)),
                        key="riem_st_fig", config=PLOT_CONFIG)
        st.caption("f(X) = tr(XᵀAXN) with N = diag(p, …, 1): its minimum Σ Nᵢλᵢ pairs the "
                   "largest weight with the smallest eigenvalue, reached at the eigenvectors "
                   "(the principal angles measure the distance to them). RSGD uses momentum "
                   "0.9 carried by vector transport; RCG chooses its steps by an Armijo line "
                   "search and stops at round-off.")


# -- Federated -------------------------------------------------------------------------------------
def _federated_view() -> None:
    with st.sidebar:
        st.header("Federated learning")
        n_clients = st.slider("Clients", 2, 30, 10, key="riem_fed_clients")
        heterogeneity = st.slider("Heterogeneity", 0.0, 2.0, 1.0, step=0.1,
                                  key="riem_fed_het",
                                  help="Weight of each client's own spiked directions in its "
                                       "covariance (0: identical clients).")
        tau = st.slider("Local steps τ", 1, 20, 5, key="riem_fed_tau")
        participation = st.slider("Participation", 0.1, 1.0, 1.0, step=0.1,
                                  key="riem_fed_part")
        lr = st.select_slider("Step size η", STEP_SIZES, value=0.2, key="riem_fed_lr")
        rounds = st.slider("Rounds", 10, 300, 100, step=10, key="riem_fed_rounds")
        aggregation = st.radio("Server aggregation", ["tangent", "karcher"],
                               format_func={"tangent": "tangent-space mean",
                                            "karcher": "Karcher mean"}.__getitem__,
                               key="riem_fed_agg")
        algorithm = st.radio("Algorithm on S²", list(ALGORITHMS),
                             format_func=ALGORITHMS.__getitem__, key="riem_fed_alg")
        seed = int(st.number_input("Seed", 0, 9999, 0, key="riem_fed_seed"))
    cfg = cached.FederatedConfig(int(n_clients), float(heterogeneity), int(tau),
                                 float(participation), float(lr), int(rounds), aggregation,
                                 algorithm, seed)
    with guarded("the federated run on the sphere"):
        sphere = cached.federated_sphere_for(cfg)
        if sphere.status != "ok":
            st.warning(sphere.message)
        if sphere.rounds < 1:
            raise ValueError("no round finished; lower the step size")
        r = st.slider("Round shown", 1, sphere.rounds, 1, key="riem_fed_round")
        st.plotly_chart(cached.figure_for(("riem_fed_sphere", cfg, int(r)),
                                      lambda: figs.make_federated_sphere_figure(sphere, int(r))),
                        key="riem_fed_sphere", config=PLOT_CONFIG)
        st.caption(f"Top eigenvector of the mean of {n_clients} clients' 3×3 covariances on "
                   f"S² ({ALGORITHMS[algorithm]}). Client drift in round {r}: "
                   f"{sphere.client_drift[int(r)]:.3g} (RMS spread of the clients' points in "
                   "the server's tangent plane). Each client pulls towards its own top "
                   "eigenvector; the aggregate lands between them.")
    with guarded("the federated runs on St(n, p)"):
        bar = ProgressBar("RFedAvg, RFedSVRG and centralised GD on St(20, 3)…")
        try:
            runs = cached.federated_stiefel_for(cfg, _progress=bar)
        finally:
            bar.clear()
        for name, h in runs.items():
            if h.status != "ok":
                st.warning(f"{ALGORITHMS[name]}: {h.message}")
        st.plotly_chart(cached.figure_for(("riem_fed_gap", cfg), lambda: (
            figs.make_federated_gap_figure({ALGORITHMS[k]: v for k, v in runs.items()}))),
            key="riem_fed_gap", config=PLOT_CONFIG)
        floor = runs["rfedavg"].error_floor()
        st.markdown(
            f"RFedAvg levels off at f − f* ≈ {floor:.2e} (median of the last 10 rounds); "
            f"RFedSVRG ends at {runs['rfedsvrg'].gap[-1]:.1e} and centralised GD at "
            f"{runs['centralised'].gap[-1]:.1e}. Bytes sent in all: RFedAvg "
            f"{runs['rfedavg'].bytes[-1] / 1e6:.2f} MB, RFedSVRG "
            f"{runs['rfedsvrg'].bytes[-1] / 1e6:.2f} MB.")
    if st.toggle("Show how the error floor moves with τ and η (9 runs)", key="riem_fed_floor"):
        with guarded("the error-floor sweep"):
            bar = ProgressBar("Sweeping τ and η…")
            try:
                floors = cached.floors_for(int(n_clients), float(heterogeneity),
                                           float(participation), seed, _progress=bar)
            finally:
                bar.clear()
            st.plotly_chart(cached.figure_for(
                ("riem_fed_floor", int(n_clients), float(heterogeneity), float(participation),
                 seed), lambda: figs.make_floor_figure(floors, cached.FLOOR_TAUS,
                                                       cached.FLOOR_LRS)),
                key="riem_fed_floor_fig", config=PLOT_CONFIG)
            st.caption("Each point: RFedAvg on St(20, 3) for 120 rounds, f − f* over its last 10. "
                       "With τ = 1 RFedAvg is centralised GD and has no floor.")


{
    "sphere": _sphere_view,
    "spd": _spd_view,
    "poincare": _poincare_view,
    "stiefel": _stiefel_view,
    "federated": _federated_view,
}[view]()

_explain()
