"""Ricci curvature: Ollivier and Forman curvature of point clouds, embeddings and network
layers, checked against surfaces whose Gaussian curvature is known."""

from __future__ import annotations

import numpy as np
import streamlit as st

from dashboard.cached import curvature as cached
from dashboard.cached.common import ProgressBar, cached_figure
from dashboard.figures import curvature as figs
from dashboard.figures.theme import PLOT_CONFIG
from dashboard.widgets import guarded, parse_hidden
from geomcore.curvature import POINT_METHODS, PointCurvature
from geomcore.curvature.sampling import shape_names
from geomcore.embedding import DATASET_NAMES
from geomcore.geometry import surfaces

SOURCES = {"surface": "Sampled surface (known K)", "embedding": "Dataset and its embeddings",
           "network": "Layers of a network"}
VIEWS = {
    "surface": {"graph": "3-D graph", "scatter": "Curvature vs true K",
                "histogram": "Histogram"},
    "embedding": {"graph": "3-D graph", "histogram": "Histograms"},
    "network": {"layers": "Layers over training", "graph": "3-D layer", "histogram":
                "Histograms"},
}
SURFACES = [name for name in shape_names() if name != "flat_torus"]  # 4-D: not drawable
TASKS = {"moons": "two moons", "circles": "circles", "spirals": "two spirals", "xor": "XOR",
         "blobs": "three blobs"}
MASSES = {"uniform": "uniform", "gaussian": "Gaussian, exp(−(ℓ/h)²)"}
EPSILONS = [0.01, 0.02, 0.05, 0.1, 0.2]
ITERATION_LIMITS = [20, 100, 500, 2000]
N_RANGE = {"surface": (20, 2000, 600), "embedding": (20, 1500, 600),
           "network": (20, 600, 300)}
K_DEFAULT = {"surface": 30, "embedding": 12, "network": 10}


def _surface_title(name: str) -> str:
    return "Plane patch" if name == "plane" else surfaces.spec(name).title


st.title("Ricci curvature")
st.caption(
    "Ricci curvature says how a space spreads or gathers neighbourhoods: positive on a sphere, "
    "zero on a plane, negative on a saddle. On data we only have samples, so we measure "
    "discrete curvature on the neighbour graph, first where the true curvature is known."
)

# -- controls --------------------------------------------------------------------------------------
with st.sidebar:
    st.header("Source")
    source = st.radio("Source", list(SOURCES), format_func=SOURCES.__getitem__,
                      key="curv_source")
    if source == "surface":
        surface = st.selectbox("Surface", SURFACES, index=SURFACES.index("torus"),
                               format_func=_surface_title, key="curv_surface")
    elif source == "embedding":
        dataset = st.selectbox("Dataset", [d for d in DATASET_NAMES if d != "digits"],
                               key="curv_dataset",
                               format_func=lambda d: d.replace("_", " "))
    else:
        task_name = st.selectbox("Task", list(TASKS), format_func=TASKS.__getitem__,
                                 key="curv_task")
        hidden_text = st.text_input("Hidden layer widths", "16, 16", max_chars=40,
                                    key="curv_hidden",
                                    help="Comma-separated, e.g. '16, 16' (at most 3 layers "
                                         "of width ≤ 64).")
        steps = st.slider("Training steps (Adam)", 50, 600, 200, step=50, key="curv_steps")
    lo, hi, default_n = N_RANGE[source]
    n = st.slider("Points n", lo, hi, default_n, step=10, key=f"curv_n_{source}")
    seed = int(st.number_input("Seed", 0, 9999, 0, step=1, key="curv_seed"))

    st.header("Curvature")
    k = st.slider("Neighbours k", 2, 60, K_DEFAULT[source], key=f"curv_k_{source}",
                  help="Each point is joined to its k nearest points. Coarse curvature of "
                       "random samples is small and noisy: k ≈ 30 shows the shape.")
    method: str = st.selectbox("Method", list(POINT_METHODS),
                               format_func=figs.METHOD_TITLES.__getitem__, key="curv_method")
    ollivier = method in ("exact", "sinkhorn")
    alpha = st.slider("Laziness α (mass kept at the node)", 0.0, 0.9, 0.5, step=0.05,
                      key="curv_alpha", disabled=not ollivier)
    mass = st.radio("Mass on the neighbours", list(MASSES), format_func=MASSES.__getitem__,
                    key="curv_mass", disabled=not ollivier,
                    help="h is the median edge length, so the weights do not depend on units.")
    epsilon, max_iter = 0.05, 2000
    if method == "sinkhorn":
        epsilon = st.select_slider("Sinkhorn ε (× median edge length h)", EPSILONS, value=0.05,
                                   key="curv_eps")
        max_iter = st.select_slider("Sinkhorn iteration limit", ITERATION_LIMITS, value=2000,
                                    key="curv_iters")

settings = cached.CurvatureSettings(n_neighbors=int(k), alpha=float(alpha), method=method,
                                    mass=mass, epsilon=float(epsilon), max_iter=int(max_iter))
views = VIEWS[source]
view = st.radio("View", list(views), format_func=views.__getitem__, horizontal=True,
                key=f"curv_view_{source}")


def _explain() -> None:
    with st.expander("Explain: Ricci curvature, smooth and discrete"):
        st.markdown(
            "**The smooth one.** On a Riemannian manifold the Riemann tensor $R^l{}_{ijk}$ "
            "measures how parallel transport around a small loop turns a vector. Its trace is "
            "the Ricci tensor")
        st.latex(r"\mathrm{Ric}_{ij} = R^k{}_{ikj},\qquad "
                 r"\mathrm{vol}\big(B_\varepsilon(x)\big) = \omega_d\,\varepsilon^d\Big(1 - "
                 r"\frac{\mathrm{Scal}(x)}{6(d+2)}\,\varepsilon^2 + \dots\Big).")
        st.markdown(
            "$\\mathrm{Ric}(v, v)$ is the average sectional curvature of the planes "
            "containing $v$: **positive** (sphere) means geodesics leaving nearby points in "
            "the direction $v$ converge and small balls are smaller than flat ones; "
            "**zero** (plane, cylinder) is flat on average; **negative** (saddle, "
            "pseudosphere) means they spread. On a surface $\\mathrm{Ric} = K\\,g$, "
            "with $K$ the Gaussian curvature.\n\n"
            "**Ollivier's coarse curvature** compares two neighbourhoods by optimal "
            "transport. For an edge $(x, y)$ let $m_x$ keep mass $\\alpha$ at $x$ and spread "
            "$1-\\alpha$ over its neighbours (uniformly, or by $e^{-(\\ell/h)^2}$ with $h$ "
            "the median edge length); then")
        st.latex(r"\kappa(x, y) = 1 - \frac{W_1(m_x, m_y)}{d(x, y)},")
        st.markdown(
            "with $W_1$ the cheapest way to move $m_x$ onto $m_y$ when moving a unit of mass "
            "costs its shortest-path distance. On a sphere the neighbourhoods of $x$ and $y$ "
            "are closer than $x$ and $y$ ($\\kappa > 0$); on a saddle farther "
            "($\\kappa < 0$). *Exact* solves each edge's transport problem by the network "
            "simplex; *Sinkhorn* adds an entropy term $\\varepsilon\\,h$ and solves all edges "
            "at once. Its plan costs at least $W_1$, so it reads slightly low (by about "
            "0.003 on average at $\\varepsilon = 0.05$); a fixed $\\varepsilon$ in data "
            "units would make the answer depend on the units.\n\n"
            "**How it approximates the smooth one.** For uniform measures on balls of radius "
            "$\\varepsilon$ in dimension $d$ (Ollivier 2009)")
        st.latex(r"\kappa(x, y) \approx (1-\alpha)\,\frac{\varepsilon^2\,\mathrm{Ric}(v, v)}"
                 r"{2(d+2)} = (1-\alpha)\,\frac{K\,\varepsilon^2}{8}\quad(d = 2),")
        st.markdown(
            "with $\\varepsilon$ the neighbourhood radius (here the distance to the k-th "
            "neighbour). The *Curvature vs true K* view draws this line and compares it with "
            "the slope the nodes give; on the sphere, whose $K$ does not vary, it compares "
            "the sphere with a flat torus of the same area drawn from the same random "
            "numbers. Random samples add noise and a small bias of their own, so the law "
            "shows with enough neighbours (k ≈ 30) and as a difference, not edge by edge.\n\n"
            "**Forman's curvature** is combinatorial: for an edge of length $w_e$, "
            "$F(e) = 2 - \\sum_{e' \\sim e}\\sqrt{w_e/w_{e'}}$ over the edges sharing an end "
            "(on an unweighted graph $4 - d_x - d_y$). On a kNN graph every node has k to 2k "
            "neighbours, so **plain Forman is dominated by degree** (about −20 at k = 10, "
            "−65 at k = 30, on every shape): it ranks edges by how crowded their ends are and "
            "cannot tell a sphere from a plane. The *augmented* version counts triangles as "
            "faces (+$w_e^2/w_t$ each, and their edges stop counting as parallel), which "
            "brings it near zero and lets some shape through, but it stays a count of local "
            "triangles rather than an estimate of $K$.\n\n"
            "**Embeddings and networks.** A 2-D embedding (Isomap, GDE) of a curved surface "
            "is flat by construction: its curvature is near zero wherever the embedding "
            "unrolled the surface, and negative where it tore or squeezed it. A classifier's "
            "hidden layers pull each class together and the classes apart: watch the class "
            "separation rise and the curvature change over training.")


def _status(pc: PointCurvature, what: str) -> None:
    if pc.status != "ok":
        st.warning(f"{what}: {pc.message}")


def _metrics(pc: PointCurvature) -> None:
    cols = st.columns(4)
    cols[0].metric("mean edge κ", f"{pc.mean:.3g}")
    cols[1].metric("edges with κ > 0", f"{np.mean(pc.edge_curvature > 0):.0%}")
    cols[2].metric("edges", f"{pc.edges.shape[0]:,}")
    cols[3].metric("median edge length h", f"{pc.scale:.3g}")


def _setting_text(s: cached.CurvatureSettings) -> str:
    text = f"{figs.METHOD_TITLES[s.method]}, k = {s.n_neighbors}"
    if s.method in ("exact", "sinkhorn"):
        text += f", α = {s.alpha:g}, {s.mass} mass"
    return text


# -- sources ---------------------------------------------------------------------------------------
def _surface_page() -> None:
    cfg = cached.SurfaceConfig(name=surface, n=int(n), seed=seed, settings=settings)
    with guarded("the curvature"):
        bar = ProgressBar(f"Measuring the curvature of {n} points…")
        try:
            res = cached.surface_result(cfg, _progress=bar)
        finally:
            bar.clear()
        pc = res.curvature
        _status(pc, "Sinkhorn did not converge")
        if res.flat is not None:
            _status(res.flat, "Sinkhorn did not converge on the flat reference")
        _metrics(pc)
        title = f"{res.sample.title}, {n} points: {_setting_text(settings)}"
        if view == "graph":
            fig = cached_figure(("curv_graph", cfg), lambda: figs.make_graph_figure(
                res.sample.X, pc.edges, pc.edge_curvature, title=title))
            st.plotly_chart(fig, key="curv_graph", config=PLOT_CONFIG)
            st.caption("Each edge of the kNN graph coloured by its curvature (red positive, "
                       "blue negative, grey zero). Drag to turn the cloud.")
        elif view == "scatter":
            law = res.law
            st.plotly_chart(figs.make_k_scatter(res.sample.K, pc.node_curvature, law,
                                                title=f"Node curvature against K: {title}"),
                            key="curv_scatter", config=PLOT_CONFIG)
            cols = st.columns(3)
            cols[0].metric("neighbourhood radius ε", f"{law.epsilon:.3g}",
                          help="mean distance from a point to its k-th nearest neighbour")
            cols[1].metric("predicted slope (1−α)ε²/8", f"{law.predicted:.3g}")
            cols[2].metric("measured slope", "–" if not np.isfinite(law.measured)
                           else f"{law.measured:.3g}",
                           help="least squares of node κ on K; on the sphere, (mean κ − "
                                "mean κ of the flat torus)/K")
            if method.startswith("forman"):
                st.info("The ε² law is Ollivier's; Forman curvature does not follow it (its "
                        "level is set by the node degrees). Choose an Ollivier method.")
            elif law.how == "slope":
                st.caption(f"Correlation of node curvature with K: {law.correlation:.2f}. "
                           f"Measured/predicted slope = {law.ratio:.2f} (1 when the law holds; "
                           "it is a small-ε law, and ε is not small on a coarse sample).")
            elif law.how == "flat reference":
                st.caption(f"K = 1 everywhere, so the slope is read against a flat torus of "
                           f"the same area drawn from the same random numbers (mean κ "
                           f"{res.flat.mean if res.flat else float('nan'):.3g}): "
                           f"measured/predicted = {law.ratio:.2f}.")
            else:
                st.caption("K is constant here, so no slope can be read; the sphere (against "
                           "a flat torus) and the surfaces whose K varies (torus, ellipsoid, "
                           "Gaussian bump) check the law.")
        else:
            groups = {res.sample.title: pc.edge_curvature}
            if res.flat is not None:
                groups["flat torus, same area"] = res.flat.edge_curvature
            st.plotly_chart(figs.make_histogram(groups, title=f"Edge curvature: {title}"),
                            key="curv_hist", config=PLOT_CONFIG)


def _embedding_page() -> None:
    cfg = cached.EmbeddingConfig(dataset=dataset, n=int(n), seed=seed, settings=settings)
    with guarded("the embeddings' curvature"):
        bar = ProgressBar("Embedding (Isomap, GDE) and measuring curvature…")
        try:
            res = cached.embedding_result(cfg, _progress=bar)
        finally:
            bar.clear()
        for name, message in res.errors.items():
            st.warning(f"{name}: {message}")
        for name, pc in res.curvature.items():
            _status(pc, f"{name}: Sinkhorn did not converge")
        if not res.curvature:
            return
        if view == "graph":
            shown = st.radio("Representation", list(res.curvature), horizontal=True,
                             key="curv_representation")
            pc = res.curvature[shown]
            _metrics(pc)
            title = (f"{dataset.replace('_', ' ')}, {shown}"
                     f"{' (2-D, drawn at z = 0)' if shown != 'data' else ''}: "
                     f"{_setting_text(settings)}")
            fig = cached_figure(("curv_emb_graph", cfg, shown), lambda: figs.make_graph_figure(
                pc.X, pc.edges, pc.edge_curvature, title=title))
            st.plotly_chart(fig, key="curv_emb_graph", config=PLOT_CONFIG)
        else:
            groups = {name: pc.edge_curvature for name, pc in res.curvature.items()}
            st.plotly_chart(figs.make_histogram(
                groups, title=f"Edge curvature of {dataset.replace('_', ' ')} and its "
                              f"embeddings: {_setting_text(settings)}"),
                key="curv_emb_hist", config=PLOT_CONFIG)
        st.caption("Isomap and GDE embed in 2-D, so their graphs are flat by construction: "
                   "curvature near 0 where the surface was unrolled, negative where it was "
                   "torn or squeezed. Each representation gets its own kNN graph with the same "
                   "k.")


def _network_page() -> None:
    with guarded("the network's layers"):
        hidden = parse_hidden(hidden_text)
        if not hidden:
            raise ValueError("give at least one hidden layer, e.g. '16, 16'")
        cfg = cached.NetworkConfig(task=task_name, n=int(n), hidden=hidden, steps=int(steps),
                                   seed=seed, settings=settings)
        bar = ProgressBar("Training the network and measuring its layers…")
        try:
            res = cached.network_result(cfg, _progress=bar)
        finally:
            bar.clear()
        if res.status != "ok":
            st.warning(f"Training stopped early: {res.message}")
        for layers in res.runs:
            for lc in layers:
                if lc.status != "ok":
                    st.warning(f"Step {lc.step}, {lc.name}: {lc.message}")
        steps_list = [layers[0].step for layers in res.runs]
        title = f"{TASKS[task_name]}, {n} points: {_setting_text(settings)}"
        if view == "layers":
            st.plotly_chart(figs.make_layer_curves(res.runs, title=f"Layers over training: "
                                                                   f"{title}"),
                            key="curv_layers", config=PLOT_CONFIG)
            st.dataframe(figs.layer_summary_rows(res.runs[-1]), hide_index=True,
                         key="curv_layer_table")
            st.caption(f"After {steps_list[-1]} steps: training loss {res.final_loss:.3g}, "
                       f"test accuracy {res.final_accuracy:.1%}. The table is the last "
                       "state; 'graph pieces' > 1 means the layer split the data into "
                       "separate clusters.")
            return
        if view == "graph":
            names = [lc.name for lc in res.runs[0]]
            c1, c2 = st.columns(2)
            step = c1.select_slider("Training step", steps_list, value=steps_list[-1],
                                    key="curv_step")
            layer = c2.selectbox("Layer", range(len(names)), index=len(names) - 1,
                                 format_func=names.__getitem__, key="curv_layer")
            lc = res.runs[steps_list.index(step)][layer]
            if lc.status == "failed":
                return
            fig = cached_figure(("curv_layer_graph", cfg, step, layer),
                                lambda: figs.make_graph_figure(
                                    lc.projection, lc.edges, lc.edge_curvature,
                                    labels=res.labels,
                                    title=f"{lc.name} at step {step} (principal axes, "
                                          f"{lc.explained:.0%} of the variance)"))
            st.plotly_chart(fig, key="curv_layer_graph", config=PLOT_CONFIG)
            st.caption(f"Mean κ {lc.mean_curvature:.3g}; {lc.same_class_edges:.1%} of the "
                       f"edges join one class; silhouette {lc.silhouette:.2f}. Slide the step "
                       "to watch training reshape the layer.")
            return
        step = st.select_slider("Training step", steps_list, value=steps_list[-1],
                                key="curv_hist_step")
        layers = res.runs[steps_list.index(step)]
        st.plotly_chart(figs.make_histogram(
            {lc.name: lc.edge_curvature for lc in layers},
            title=f"Edge curvature per layer at step {step}: {title}"),
            key="curv_net_hist", config=PLOT_CONFIG)


{"surface": _surface_page, "embedding": _embedding_page, "network": _network_page}[source]()
_explain()
