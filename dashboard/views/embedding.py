"""Isomap vs GDE: manifold learning that keeps geodesic distances, side by side."""

from __future__ import annotations

import math

import streamlit as st

from dashboard.cached import embedding as cached
from dashboard.cached.common import ProgressBar
from dashboard.figures import embedding as figs
from dashboard.figures.theme import PLOT_CONFIG
from dashboard.widgets import guarded
from geomcore.embedding import DATASET_NAMES, METHOD_NAMES, OUT_OF_SAMPLE

VIEWS = {
    "embeddings": "Embeddings & metrics",
    "training": "GDE training & collapse",
    "out_of_sample": "New points",
    "decoder": "Decoder's manifold",
    "pair": "Geodesic vs chord",
    "short_circuits": "Short circuits",
}
DATASET_TITLES = {"swiss_roll": "swiss roll", "swiss_roll_hole": "swiss roll with a hole",
                  "s_curve": "S-curve", "sphere_cap": "sphere cap", "torus": "torus",
                  "twin_peaks": "twin peaks", "severed_sphere": "severed sphere",
                  "helix": "helix (1-D)", "digits": "8×8 digits (64-D)"}
# Noise is in the data's units, so its useful range depends on the dataset's size.
NOISE_MAX = {"swiss_roll": 2.0, "swiss_roll_hole": 2.0, "s_curve": 0.3, "sphere_cap": 0.15,
             "torus": 0.3, "twin_peaks": 0.3, "severed_sphere": 0.15, "helix": 0.2,
             "digits": 4.0}
GDE_EPOCHS = [20, 50, 100, 200, cached.MAX_GDE_EPOCHS]
WEIGHTS = [0.0, 0.1, 0.3, 1.0, 3.0, 10.0]
COLLAPSE_EPOCHS = 60
# Side-by-side panels keep this width and wrap: two a row on a laptop, one on a projector's
# 1024 px, never squeezed below what a scatter plot needs to be read.
PANEL_WIDTH = 440

st.title("Isomap vs GDE")
st.caption(
    "Data often lie near a low-dimensional manifold folded into a high-dimensional space. A good "
    "embedding unfolds it and keeps distances *along* the manifold. Isomap does this with "
    "shortest paths on a neighbour graph; the Geometric Deep Encoder (GDE) trains an "
    "encoder–decoder so that latent distances match those graph distances, which also gives a "
    "map for new points and a way back to the data."
)

# -- controls --------------------------------------------------------------------------------------
with st.sidebar:
    st.header("Data")
    name = st.selectbox("Dataset", DATASET_NAMES, format_func=DATASET_TITLES.__getitem__,
                        key="emb_dataset")
    n_max = 1700 if name == "digits" else cached.MAX_N
    n = st.slider("Points n", 200, n_max, min(1500, n_max), step=100, key="emb_n")
    noise_max = NOISE_MAX[name]
    noise = st.slider("Noise (data units)", 0.0, noise_max, 0.0, step=noise_max / 40,
                      key=f"emb_noise_{name}", format="%.3g",
                      help="Standard deviation of Gaussian noise added to every coordinate.")
    seed = int(st.number_input("Seed", 0, 9999, 0, step=1, key="emb_seed",
                               help="Sampling, noise, GDE's weights and batches."))
    st.header("Graph & methods")
    k = st.slider("Neighbours k", 3, 50, 10, key="emb_k",
                  help="Size of the neighbour graph of Isomap, GDE and the local methods.")
    methods = st.multiselect("Methods", METHOD_NAMES, default=["isomap", "gde"],
                             format_func=figs.METHOD_TITLES.__getitem__, key="emb_methods")
    st.header("GDE")
    epochs = st.select_slider("Epochs", GDE_EPOCHS, value=100, key="emb_epochs")
    w_stress = st.select_slider("Stress weight", WEIGHTS, value=1.0, key="emb_w_stress",
                                help="Weight of the distance-matching term. At 0 only the "
                                     "reconstruction is trained.")
    w_recon = st.select_slider("Reconstruction weight", WEIGHTS, value=1.0, key="emb_w_recon")

view = st.radio("View", list(VIEWS), format_func=VIEWS.__getitem__, horizontal=True,
                key="emb_view")

data_cfg = cached.DataConfig(name, n=int(n), noise=float(noise), seed=seed)
gde_cfg = cached.GDEConfig(epochs=int(epochs), stress_weight=float(w_stress),
                           reconstruction_weight=float(w_recon))


def _explain() -> None:
    with st.expander("Explain: the manifold hypothesis, Isomap, GDE, and the measures"):
        st.markdown(
            "**The manifold hypothesis.** Real data of many dimensions (images, sounds, "
            "activations) fill only a thin, curved, low-dimensional set. Straight-line "
            "distance in the ambient space then lies: two points on neighbouring turns of the "
            "swiss roll are close through the air but far apart along the sheet (the *Geodesic "
            "vs chord* view). What should be kept is the **geodesic** distance, measured along "
            "the manifold.\n\n"
            "**Isomap in three steps.** (1) Join each point to its k nearest neighbours, edges "
            "weighted by length. (2) Approximate geodesic distances by shortest paths in that "
            "graph (Dijkstra). (3) Find points in the plane whose distances match them "
            "(classical MDS: the top eigenvectors of the double-centred squared-distance "
            "matrix). It has no parameters to train, but one knob: too small a k disconnects "
            "the graph, too large a k adds **short circuits**, edges that jump across a fold "
            "and make every path through them far too short (the *Short circuits* view).\n\n"
            "**GDE.** An encoder $f$ and a decoder $g$ (two small networks) are trained "
            "together on"
        )
        st.latex(r"\mathcal L = w_s\,\frac{\sum_{i<j}\big(\|f(x_i)-f(x_j)\| - d_G(x_i,x_j)"
                 r"\big)^2}{\sum_{i<j} d_G(x_i,x_j)^2} \;+\; w_r\,\frac1n\sum_i "
                 r"\|g(f(x_i)) - x_i\|^2,")
        st.markdown(
            "with $d_G$ the same graph-geodesic distances as Isomap's, and the sums over the "
            "pairs of each mini-batch (so memory does not grow as n²). The first term "
            "(*stress*) asks latent distances to equal geodesic distances; the second lets the "
            "decoder draw the manifold back in data space (the *Decoder's manifold* view). "
            "Unlike Isomap, the trained encoder maps **new points** directly.\n\n"
            "**Why the bare sum collapses.** The loss often quoted for GDE, "
            "$\\mathcal L = \\sum_{i,j} d_\\mathcal M(f(x_i), f(x_j))$, is a sum of "
            "non-negative distances: its minimum, 0, is reached by sending every point to the "
            "same spot, which keeps no geometry at all. The *GDE training & collapse* view "
            "trains exactly that loss and shows the embedding shrink to a dot. A distance "
            "term has to *match* target distances (stress), not shrink them.\n\n"
            "**The measures** (1 is perfect, 0 for residual variance):\n"
            "- *trustworthiness*: are the embedding's k nearest neighbours true neighbours? "
            "(penalises points torn from far away; the same number as scikit-learn's);\n"
            "- *continuity*: are the data's true neighbours kept together?\n"
            "- *k-NN preservation*: mean overlap (Jaccard) of each point's k-NN sets;\n"
            "- *geodesic ρ*: rank correlation of graph-geodesic distances with embedding "
            "distances, on random pairs;\n"
            "- *residual variance*: Isomap's 1 − R² of the same two lists;\n"
            "- *intrinsic ρ*: rank correlation with distances between the true coordinates the "
            "data were drawn in (isometric for the swiss rolls, S-curve and helix).\n\n"
            "The best value of each measure is shaded green. Run times are those of the first "
            "computation on this server (results are cached for everyone)."
        )


# -- computations ----------------------------------------------------------------------------------
def _config(method: str, gde: cached.GDEConfig | None = None) -> cached.RunConfig:
    if method == "gde":
        return cached.RunConfig(data_cfg, "gde", n_neighbors=int(k), gde=gde or gde_cfg)
    return cached.RunConfig(data_cfg, method, n_neighbors=int(k))


def _run(method: str, gde: cached.GDEConfig | None = None) -> cached.MethodRun | None:
    """One method on the current data (cached); None, with the reason shown, if it fails."""
    title = figs.METHOD_TITLES[method]
    run = _config(method, gde)
    with guarded(title):
        if method == "gde":
            bar = ProgressBar(f"Training GDE ({run.gde.epochs if run.gde else ''} epochs)…")
            try:
                return cached.run_for(run, _progress=bar)
            finally:
                bar.clear()
        with st.spinner(f"Running {title}…"):
            return cached.run_for(run)
    return None


def _affordable(chosen: list[str]) -> list[str]:
    """The chosen methods one page change may run; the others are named in a warning."""
    done = [m for m in chosen if cached.is_computed(_config(m))]
    run, refused, total = cached.within_budget(chosen, int(n), int(epochs), computed=done)
    if refused:
        names = ", ".join(figs.METHOD_TITLES[m] for m in refused)
        st.warning(f"Not run: {names}. The chosen methods not yet computed would take about "
                   f"{total:.0f} s on {n} points; one change may start at most "
                   f"{cached.MAX_REQUEST_SECONDS:.0f} s. Add them one or two at a time (each "
                   "result is kept), or choose fewer points or GDE epochs.")
    return run


loaded = None
with guarded("the dataset"):
    loaded = cached.dataset_for(data_cfg), cached.view_coords_for(data_cfg)
if loaded is None:
    st.info("Fix the data settings in the sidebar.")
    _explain()
    st.stop()
data, (X3, axis_titles) = loaded
coloring = figs.coloring_for(data)


# -- views -----------------------------------------------------------------------------------------
def _embeddings_view() -> None:
    if not methods:
        st.info("Choose at least one method in the sidebar.")
        return
    runs = {m: r for m in _affordable(methods) if (r := _run(m)) is not None}
    with st.container(horizontal=True, gap="small", key="emb_panels"):
        st.plotly_chart(figs.make_data_figure(
            X3, coloring, title=f"The data: {DATASET_TITLES[name]}, n = {data.n}",
            axis_titles=axis_titles, height=figs.EMBED_HEIGHT), key="emb_data",
            config=PLOT_CONFIG, width=PANEL_WIDTH)
        for m, r in runs.items():
            st.plotly_chart(figs.make_embedding_figure(
                r.Y, coloring, title=f"{figs.METHOD_TITLES[m]} ({r.seconds:.2g} s)"),
                key=f"emb_plot_{m}", config=PLOT_CONFIG, width=PANEL_WIDTH)
    if not runs:
        return
    frame = figs.metrics_frame({m: r.metrics for m, r in runs.items()},
                               {m: r.seconds for m, r in runs.items()})
    st.dataframe(figs.styled_metrics(frame), key="emb_table")
    st.caption(figs.metrics_caption(data.isometric, data.intrinsic is not None, int(k)))


def _training_view() -> None:
    run = _run("gde")
    collapse_cfg = cached.GDEConfig(epochs=COLLAPSE_EPOCHS, stress_weight=1.0,
                                    reconstruction_weight=0.0, loss="distance_sum")
    collapsed = _run("gde", collapse_cfg)
    if run is not None and run.history is not None:
        st.plotly_chart(figs.make_training_figure(
            run.history, collapsed=collapsed.history if collapsed else None),
            key="emb_training", config=PLOT_CONFIG)
        st.caption(f"{gde_cfg.epochs} epochs in {run.history.seconds:.1f} s. Stress is "
                   "normalised (0 = latent distances equal the graph-geodesic ones; 1 = all "
                   "latent distances zero). Reconstruction is the mean squared error of "
                   "decoder(encoder(x)) in standardised units.")
    if run is not None and collapsed is not None and collapsed.history is not None:
        with st.container(horizontal=True, gap="small", key="emb_collapse_panels"):
            st.plotly_chart(figs.make_collapse_scatter(run.Y, collapsed.Y, coloring),
                            key="emb_collapse", config=PLOT_CONFIG, width=PANEL_WIDTH)
            st.plotly_chart(figs.make_collapse_curve(collapsed.history.distance_sum,
                                                     figs.spread(data.X)),
                            key="emb_collapse_curve", config=PLOT_CONFIG, width=PANEL_WIDTH)
        ratio = figs.spread(collapsed.Y) / figs.spread(data.X)
        st.markdown(
            f"Trained on the bare sum Σ‖f(xᵢ) − f(xⱼ)‖ alone ({COLLAPSE_EPOCHS} epochs, no "
            f"reconstruction), the embedding's spread is **{ratio:.1e}** of the data's: every "
            "point lands on (almost) the same spot. Its stress ends at "
            f"{collapsed.history.stress[-1]:.3f}, the value of a total collapse (1).")


def _out_of_sample_view() -> None:
    mappable = [m for m in methods if m in OUT_OF_SAMPLE]
    without = [figs.METHOD_TITLES[m] for m in methods if m not in OUT_OF_SAMPLE]
    if without:
        st.caption(f"{', '.join(without)}: no map for new points (the embedding is computed "
                   "for the training points only).")
    if not mappable:
        st.info("Choose Isomap, GDE, PCA or one of the LLE variants in the sidebar to embed "
                "new points.")
        return
    with guarded("the fresh points"):
        fresh = cached.fresh_for(data_cfg)
        fresh_coloring = figs.coloring_for(fresh)
        runs = {m: r for m in _affordable(mappable) if (r := _run(m)) is not None}
        with st.container(horizontal=True, gap="small", key="emb_oos"):
            for m, r in runs.items():
                if r.fresh_Y is None:
                    continue
                st.plotly_chart(figs.make_out_of_sample_figure(
                    r.Y, r.fresh_Y, fresh_coloring,
                    title=f"{figs.METHOD_TITLES[m]}: {fresh.n} new points"),
                    key=f"emb_oos_{m}", config=PLOT_CONFIG, width=PANEL_WIDTH)
        st.dataframe(figs.out_of_sample_frame(runs), hide_index=True, key="emb_oos_table")
        st.caption(
            f"{fresh.n} points drawn afresh from the same manifold (another seed), never seen "
            "in training, are embedded by each fitted map: GDE runs its encoder; Isomap links "
            "each point to its training neighbours and applies the fitted MDS to the "
            "resulting geodesic distances. *Offset*: median distance from a new point's "
            "embedding to where its nearest training point was embedded, as a fraction of the "
            "embedding's spread (≈ 0 when the map agrees with the in-sample embedding).")


def _decoder_view() -> None:
    run = _run("gde")
    if run is None or run.decoded is None:
        return
    if data.X.shape[1] == 3:
        st.plotly_chart(figs.make_decoder_figure(data.X, coloring, run.decoded),
                        key="emb_decoder", config=PLOT_CONFIG)
        st.caption(
            f"A {cached.GRID}×{cached.GRID} grid over the latent box the data occupy "
            "(1st–99th percentile), mapped through the decoder into 3-D. Where the grey sheet "
            "follows the coloured points, the decoder has learned the manifold; the black "
            "lines are latent grid lines, so their spacing shows how the latent plane is "
            "stretched onto the data. Corners of the box that no data point reaches are "
            "extrapolation.")
    else:
        st.plotly_chart(figs.make_digit_mosaic(run.decoded, run.grid_u, run.grid_v),
                        key="emb_decoder", config=PLOT_CONFIG)
        st.caption("Each tile is the decoder's image of one latent grid point: walking across "
                   "the latent plane morphs one digit into another.")


def _pair_view() -> None:
    if data.X.shape[1] != 3:
        st.info("This view draws paths on 3-D data; pick a surface dataset.")
        return
    choice = st.radio("Pair", ["worst", "index"], horizontal=True, key="emb_pair_mode",
                      format_func={"worst": "the pair Euclidean distance misjudges most",
                                   "index": "choose by index"}.__getitem__)
    with guarded("the geodesic"):
        i, j = cached.misleading_pair_for(data_cfg, int(k))
        if choice == "index":
            a, b = st.columns(2)
            i = int(a.number_input("Point A", 0, data.n - 1, i, key="emb_pair_a"))
            j = int(b.number_input("Point B", 0, data.n - 1, j, key="emb_pair_b"))
        if i == j:
            raise ValueError("choose two different points")
        pair = cached.pair_for(data_cfg, int(k), i, j)
        st.plotly_chart(figs.make_pair_figure(data.X, pair.path, i, j,
                                              graph_length=pair.graph_length, chord=pair.chord),
                        key="emb_pair", config=PLOT_CONFIG)
        cols = st.columns(4 if math.isfinite(pair.true_length) else 3)
        cols[0].metric("Straight chord", f"{pair.chord:.3g}")
        cols[1].metric("Graph geodesic", f"{pair.graph_length:.3g}",
                       help=f"{pair.path.size - 1} edges of the {k}-NN graph")
        cols[2].metric("Geodesic / chord", f"{pair.graph_length / pair.chord:.2f}×")
        if math.isfinite(pair.true_length):
            cols[3].metric("True geodesic", f"{pair.true_length:.3g}",
                           delta=f"graph error {pair.graph_length / pair.true_length - 1:+.1%}",
                           delta_color="off",
                           help="Distance between the points' isometric intrinsic "
                                "coordinates: the exact length along the surface.")
        st.caption("The dashed chord is what PCA and MDS on raw coordinates see; the blue path "
                   "hops from neighbour to neighbour along the data, as Isomap's and GDE's "
                   "target distances do.")


def _short_circuit_view() -> None:
    if data.X.shape[1] != 3:
        st.info("This view draws the graph on 3-D data; pick a surface dataset.")
        return
    with guarded("the neighbour graph"):
        g = cached.graph_for(data_cfg, int(k))
        st.plotly_chart(figs.make_graph_figure(data.X, g.edges, g.short, n_neighbors=int(k),
                                               drawn_every=g.drawn_every),
                        key="emb_graph", config=PLOT_CONFIG)
        if g.ks.size == 0:
            st.info(f"The {DATASET_TITLES[name]} has no isometric coordinates, so true "
                    "geodesic distances, and with them short circuits and the error curve, "
                    "are not known exactly. Pick the swiss roll, the S-curve or the helix.")
            return
        st.plotly_chart(figs.make_error_curve(g.ks, g.errors, g.short_counts,
                                              current_k=int(k)),
                        key="emb_error_curve", config=PLOT_CONFIG)
        st.caption(figs.short_circuit_caption(g.ks, g.errors, g.short_counts, g.min_k))


{
    "embeddings": _embeddings_view,
    "training": _training_view,
    "out_of_sample": _out_of_sample_view,
    "decoder": _decoder_view,
    "pair": _pair_view,
    "short_circuits": _short_circuit_view,
}[view]()

_explain()
