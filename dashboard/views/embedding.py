"""Isomap vs GDE: manifold learning that keeps geodesic distances, side by side."""

from __future__ import annotations

import math
from typing import Any

import streamlit as st

from dashboard import lessons, links
from dashboard.cached import embedding as cached
from dashboard.cached.common import ProgressBar
from dashboard.figures import embedding as figs
from dashboard.i18n import t
from dashboard.widgets import chart, guarded, projector_on
from geomcore.embedding import DATASET_NAMES, METHOD_NAMES, OUT_OF_SAMPLE

VIEWS = ("embeddings", "training", "out_of_sample", "decoder", "pair", "short_circuits")
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

st.title(t("embedding.page.title"))
st.caption(t("embedding.page.caption"))

# -- controls --------------------------------------------------------------------------------------
with st.sidebar:
    st.header(t("embedding.sidebar.data"))
    name = links.selectbox(t("embedding.sidebar.dataset"), DATASET_NAMES, "swiss_roll",
                           key="emb_dataset", format_func=figs.dataset_title)
    n_max = 1700 if name == "digits" else cached.MAX_N
    n = links.slider(t("embedding.sidebar.points"), 200, n_max, min(1500, n_max), step=100,
                     key="emb_n")
    noise_max = NOISE_MAX[name]
    noise = links.slider(t("embedding.sidebar.noise"), 0.0, noise_max, 0.0,
                         step=noise_max / 40, key=f"emb_noise_{name}", format="%.3g",
                         help=t("embedding.sidebar.noise_help"))
    seed = int(links.number_input(t("embedding.sidebar.seed"), 0, 9999, 0, step=1,
                                  key="emb_seed", help=t("embedding.sidebar.seed_help")))
    st.header(t("embedding.sidebar.graph"))
    k = links.slider(t("embedding.sidebar.neighbours"), 3, 50, 10, key="emb_k",
                     help=t("embedding.sidebar.neighbours_help"))
    methods = links.multiselect(t("embedding.sidebar.methods"), METHOD_NAMES, ["isomap", "gde"],
                                format_func=figs.method_title, key="emb_methods")
    st.header(t("embedding.sidebar.gde"))
    epochs = links.select_slider(t("embedding.sidebar.epochs"), GDE_EPOCHS, 100,
                                 key="emb_epochs")
    w_stress = links.select_slider(t("embedding.sidebar.stress_weight"), WEIGHTS, 1.0,
                                   key="emb_w_stress",
                                   help=t("embedding.sidebar.stress_weight_help"))
    w_recon = links.select_slider(t("embedding.sidebar.reconstruction_weight"), WEIGHTS, 1.0,
                                  key="emb_w_recon",
                                  help=t("embedding.sidebar.reconstruction_weight_help"))

view = links.radio(t("embedding.page.view"), VIEWS, "embeddings",
                   format_func=lambda v: t(f"embedding.views.{v}"), horizontal=True,
                   key="emb_view")

data_cfg = cached.DataConfig(name, n=int(n), noise=float(noise), seed=seed)
gde_cfg = cached.GDEConfig(epochs=int(epochs), stress_weight=float(w_stress),
                           reconstruction_weight=float(w_recon))


def _explain() -> None:
    with st.expander(t("embedding.explain.title")):
        st.markdown(t("embedding.explain.before"))
        st.latex(r"\mathcal L = w_s\,\frac{\sum_{i<j}\big(\|f(x_i)-f(x_j)\| - d_G(x_i,x_j)"
                 r"\big)^2}{\sum_{i<j} d_G(x_i,x_j)^2} \;+\; w_r\,\frac1n\sum_i "
                 r"\|g(f(x_i)) - x_i\|^2,")
        st.markdown(t("embedding.explain.after"))


# -- computations ----------------------------------------------------------------------------------
def _config(method: str, gde: cached.GDEConfig | None = None) -> cached.RunConfig:
    if method == "gde":
        return cached.RunConfig(data_cfg, "gde", n_neighbors=int(k), gde=gde or gde_cfg)
    return cached.RunConfig(data_cfg, method, n_neighbors=int(k))


def _run(method: str, gde: cached.GDEConfig | None = None) -> cached.MethodRun | None:
    """One method on the current data (cached); None, with the reason shown, if it fails."""
    title = figs.method_title(method)
    run = _config(method, gde)
    with guarded(title):
        if method == "gde":
            bar = ProgressBar(t("embedding.progress.training",
                                epochs=run.gde.epochs if run.gde else ""))
            try:
                return cached.run_for(run, _progress=bar)
            finally:
                bar.clear()
        with st.spinner(t("embedding.progress.running", method=title)):
            return cached.run_for(run)
    return None


def _affordable(chosen: list[str]) -> list[str]:
    """The chosen methods one page change may run; the others are named in a warning."""
    done = [m for m in chosen if cached.is_computed(_config(m))]
    run, refused, total = cached.within_budget(chosen, int(n), int(epochs), computed=done)
    if refused:
        names = ", ".join(figs.method_title(m) for m in refused)
        st.warning(t("embedding.messages.not_run", names=names, total=total, n=n,
                     limit=cached.MAX_REQUEST_SECONDS))
    return run


def _publish_measures(runs: dict[str, cached.MethodRun]) -> None:
    """Each method's quality measures, for the lessons: ``isomap_intrinsic_spearman``…"""
    for m, r in runs.items():
        for measure, value in r.metrics.items():
            lessons.fact(f"{m}_{measure}", value)


def _row(key: str) -> Any:
    """Side-by-side panels that wrap; on a projector, one under the other."""
    return st.container(horizontal=not projector_on(), gap="small", key=key)


def _panel(container: Any) -> Any:
    """One side-by-side panel: a fixed width, so that panels wrap instead of shrinking, with
    a chart and its CSV button stacked inside. On a projector every panel takes the whole
    width: its enlarged labels need the room."""
    return container.container(width="stretch" if projector_on() else PANEL_WIDTH, gap=None)


loaded = None
with guarded(t("embedding.what.dataset")):
    loaded = cached.dataset_for(data_cfg)
if loaded is None:
    st.info(t("embedding.messages.fix_data"))
    _explain()
    st.stop()
data = loaded
X3, _ = cached.view_coords_for(data_cfg)
axis_titles = (("x", "y", "z") if data.X.shape[1] == 3 else
               tuple(t("embedding.fig.pc", i=i) for i in (1, 2, 3)))
coloring = figs.coloring_for(data)
lessons.fact("n", data.n)
lessons.fact("k", int(k))


# -- views -----------------------------------------------------------------------------------------
def _embeddings_view() -> None:
    if not methods:
        st.info(t("embedding.messages.choose_method"))
        return
    runs = {m: r for m in _affordable(methods) if (r := _run(m)) is not None}
    _publish_measures(runs)
    panels = _row("emb_panels")
    with _panel(panels):
        chart(figs.make_data_figure(
            X3, coloring, title=t("embedding.fig.data_title",
                                  dataset=figs.dataset_title(name), n=data.n),
            axis_titles=axis_titles, height=figs.EMBED_HEIGHT),
            csv=f"embedding-{name}", key="emb_data")
    for m, r in runs.items():
        with _panel(panels):
            chart(figs.make_embedding_figure(
                r.Y, coloring, title=t("embedding.fig.embedding_title",
                                       method=figs.method_title(m), seconds=r.seconds)),
                csv=f"embedding-{m}", key=f"emb_plot_{m}")
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
        _publish_measures({"gde": run})
        lessons.fact("gde_stress", float(run.history.stress[-1]))
        lessons.fact("gde_reconstruction", float(run.history.reconstruction[-1]))
        chart(figs.make_training_figure(
            run.history, collapsed=collapsed.history if collapsed else None),
            csv="embedding-gde-training", key="emb_training")
        st.caption(t("embedding.training.caption", epochs=gde_cfg.epochs,
                     seconds=run.history.seconds))
    if run is not None and collapsed is not None and collapsed.history is not None:
        panels = _row("emb_collapse_panels")
        with _panel(panels):
            chart(figs.make_collapse_scatter(run.Y, collapsed.Y, coloring),
                  csv="embedding-collapse", key="emb_collapse")
        with _panel(panels):
            chart(figs.make_collapse_curve(collapsed.history.distance_sum,
                                           figs.spread(data.X)),
                  csv="embedding-collapse-distance", key="emb_collapse_curve")
        ratio = figs.spread(collapsed.Y) / figs.spread(data.X)
        lessons.fact("collapse_spread_ratio", ratio)
        lessons.fact("collapse_stress", float(collapsed.history.stress[-1]))
        lessons.fact("collapse_epochs", COLLAPSE_EPOCHS)
        st.markdown(t("embedding.training.collapse", epochs=COLLAPSE_EPOCHS, ratio=ratio,
                      stress=collapsed.history.stress[-1]))


def _out_of_sample_view() -> None:
    mappable = [m for m in methods if m in OUT_OF_SAMPLE]
    without = [figs.method_title(m) for m in methods if m not in OUT_OF_SAMPLE]
    if without:
        st.caption(t("embedding.out_of_sample.no_map", names=", ".join(without)))
    if not mappable:
        st.info(t("embedding.out_of_sample.choose"))
        return
    with guarded(t("embedding.what.fresh")):
        fresh = cached.fresh_for(data_cfg)
        fresh_coloring = figs.coloring_for(fresh)
        runs = {m: r for m in _affordable(mappable) if (r := _run(m)) is not None}
        _publish_measures(runs)
        panels = _row("emb_oos")
        for m, r in runs.items():
            if r.fresh_Y is None:
                continue
            lessons.fact(f"{m}_fresh_spearman", r.fresh_spearman)
            lessons.fact(f"{m}_fresh_offset", r.fresh_offset)
            with _panel(panels):
                chart(figs.make_out_of_sample_figure(
                    r.Y, r.fresh_Y, fresh_coloring,
                    title=t("embedding.fig.oos_title", method=figs.method_title(m),
                            n=fresh.n)),
                    csv=f"embedding-new-points-{m}", key=f"emb_oos_{m}")
        lessons.fact("fresh_n", fresh.n)
        st.dataframe(figs.out_of_sample_frame(runs), hide_index=True, key="emb_oos_table")
        st.caption(t("embedding.out_of_sample.caption", n=fresh.n))


def _decoder_view() -> None:
    run = _run("gde")
    if run is None or run.decoded is None:
        return
    if data.X.shape[1] == 3:
        chart(figs.make_decoder_figure(data.X, coloring, run.decoded),
              csv="embedding-decoder", key="emb_decoder")
        st.caption(t("embedding.decoder.caption_3d", grid=cached.GRID))
    else:
        chart(figs.make_digit_mosaic(run.decoded, run.grid_u, run.grid_v), key="emb_decoder")
        st.caption(t("embedding.decoder.caption_digits"))


def _pair_view() -> None:
    if data.X.shape[1] != 3:
        st.info(t("embedding.messages.needs_3d_paths"))
        return
    choice = links.radio(t("embedding.pair.label"), ["worst", "index"], "worst",
                         horizontal=True, key="emb_pair_mode",
                         format_func=lambda c: t(f"embedding.pair.{c}"))
    with guarded(t("embedding.what.geodesic")):
        i, j = cached.misleading_pair_for(data_cfg, int(k))
        if choice == "index":
            a, b = st.columns(2)
            for key in ("emb_pair_a", "emb_pair_b"):
                # fewer points than when the index was chosen: back to the default pair
                if st.session_state.get(key, 0) > data.n - 1:
                    del st.session_state[key]
            i = int(links.number_input(t("embedding.pair.point_a"), 0, data.n - 1, i,
                                       key="emb_pair_a", container=a))
            j = int(links.number_input(t("embedding.pair.point_b"), 0, data.n - 1, j,
                                       key="emb_pair_b", container=b))
        if i == j:
            raise ValueError(t("embedding.pair.same"))
        pair = cached.pair_for(data_cfg, int(k), i, j)
        chart(figs.make_pair_figure(data.X, pair.path, i, j,
                                    graph_length=pair.graph_length, chord=pair.chord),
              csv="embedding-geodesic-and-chord", key="emb_pair")
        ratio = pair.graph_length / pair.chord
        lessons.fact("pair_chord", pair.chord)
        lessons.fact("pair_graph_length", pair.graph_length)
        lessons.fact("pair_ratio", ratio)
        lessons.fact("pair_edges", pair.path.size - 1)
        cols = st.columns(4 if math.isfinite(pair.true_length) else 3)
        cols[0].metric(t("embedding.pair.chord"), f"{pair.chord:.3g}")
        cols[1].metric(t("embedding.pair.graph"), f"{pair.graph_length:.3g}",
                       help=t("embedding.pair.graph_help", edges=pair.path.size - 1, k=k))
        cols[2].metric(t("embedding.pair.ratio"), f"{ratio:.2f}×")
        if math.isfinite(pair.true_length):
            error = pair.graph_length / pair.true_length - 1
            lessons.fact("pair_true_length", pair.true_length)
            lessons.fact("pair_graph_error", error)
            cols[3].metric(t("embedding.pair.true"), f"{pair.true_length:.3g}",
                           delta=t("embedding.pair.true_delta", error=error),
                           delta_color="off", help=t("embedding.pair.true_help"))
        st.caption(t("embedding.pair.caption"))


def _short_circuit_view() -> None:
    if data.X.shape[1] != 3:
        st.info(t("embedding.messages.needs_3d_graph"))
        return
    with guarded(t("embedding.what.graph")):
        g = cached.graph_for(data_cfg, int(k))
        lessons.fact("short_count", int(g.short.shape[0]))
        chart(figs.make_graph_figure(data.X, g.edges, g.short, n_neighbors=int(k),
                                     drawn_every=g.drawn_every),
              csv="embedding-neighbour-graph", key="emb_graph")
        if g.ks.size == 0:
            st.info(t("embedding.short.no_truth", dataset=figs.dataset_title(name)))
            return
        chart(figs.make_error_curve(g.ks, g.errors, g.short_counts, current_k=int(k)),
              csv="embedding-graph-distance-error", key="emb_error_curve",
              export=lambda _: figs.error_curve_csv(g.ks, g.errors, g.short_counts))
        st.caption(figs.short_circuit_caption(g.ks, g.errors, g.short_counts, g.min_k))
        _publish_error_curve(g)


def _publish_error_curve(g: cached.GraphView) -> None:
    """The error curve's numbers, for the lessons: the error at this k, the best k and its
    error, and the first k with a short circuit."""
    best = int(g.errors.argmin())
    lessons.fact("best_k", int(g.ks[best]))
    lessons.fact("best_error", float(g.errors[best]))
    lessons.fact("min_k", g.min_k)
    here = g.ks == int(k)
    if here.any():
        error = float(g.errors[here][0])
        lessons.fact("graph_error", error)
        lessons.fact("error_ratio", error / float(g.errors[best]))
    shorted = g.ks[g.short_counts > 0]
    if shorted.size:
        lessons.fact("first_short_k", int(shorted[0]))


{
    "embeddings": _embeddings_view,
    "training": _training_view,
    "out_of_sample": _out_of_sample_view,
    "decoder": _decoder_view,
    "pair": _pair_view,
    "short_circuits": _short_circuit_view,
}[view]()

_explain()
