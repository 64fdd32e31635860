"""Ricci curvature: Ollivier and Forman curvature of point clouds, embeddings and network
layers, checked against surfaces whose Gaussian curvature is known."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import streamlit as st

from dashboard import lessons, links
from dashboard.cached import curvature as cached
from dashboard.cached.common import ProgressBar, cached_figure
from dashboard.figures import curvature as figs
from dashboard.i18n import t
from dashboard.widgets import chart, guarded, parse_hidden
from geomcore.curvature import POINT_METHODS, PointCurvature
from geomcore.curvature.sampling import shape_names
from geomcore.embedding import DATASET_NAMES

SOURCES = ("surface", "embedding", "network")
VIEWS = {"surface": ("graph", "scatter", "histogram"), "embedding": ("graph", "histogram"),
         "network": ("layers", "graph", "histogram")}
SURFACES = [name for name in shape_names() if name != "flat_torus"]  # 4-D: not drawable
DATASETS = [d for d in DATASET_NAMES if d != "digits"]
TASKS = ("moons", "circles", "spirals", "xor", "blobs")
MASSES = ("uniform", "gaussian")
EPSILONS = [0.01, 0.02, 0.05, 0.1, 0.2]
ITERATION_LIMITS = [20, 100, 500, 2000]
N_RANGE = {"surface": (20, 2000, 600), "embedding": (20, 1500, 600),
           "network": (20, 600, 300)}
K_DEFAULT = {"surface": 30, "embedding": 12, "network": 10}
HIDDEN_MAX_CHARS = 40


def _named(table: str) -> Any:
    """A ``format_func`` showing an option by its text under ``curvature.<table>``."""
    return lambda option: t(f"curvature.{table}.{option}")


def _hidden_layers(text: str) -> tuple[int, ...]:
    """Hidden widths the page accepts: :func:`dashboard.widgets.parse_hidden`, and at least
    one layer (a link with anything else opens the default)."""
    hidden = parse_hidden(text)
    if not hidden:
        raise ValueError(t("curvature.errors.no_hidden"))
    return hidden


st.title(t("curvature.page.title"))
st.caption(t("curvature.page.caption"))

# -- controls --------------------------------------------------------------------------------------
with st.sidebar:
    st.header(t("curvature.sidebar.source_header"))
    source = links.radio(t("curvature.sidebar.source"), SOURCES, "surface", key="curv_source",
                         format_func=_named("sources"))
    if source == "surface":
        surface = links.selectbox(t("curvature.sidebar.surface"), SURFACES, "torus",
                                  key="curv_surface", format_func=_named("surfaces"))
    elif source == "embedding":
        dataset = links.selectbox(t("curvature.sidebar.dataset"), DATASETS, key="curv_dataset",
                                  format_func=_named("datasets"))
    else:
        task_name = links.selectbox(t("curvature.sidebar.task"), TASKS, key="curv_task",
                                    format_func=_named("tasks"))
        hidden_text = links.text_input(t("curvature.sidebar.hidden"), "16, 16",
                                       key="curv_hidden", max_chars=HIDDEN_MAX_CHARS,
                                       validate=_hidden_layers,
                                       help=t("curvature.sidebar.hidden_help"))
        steps = links.slider(t("curvature.sidebar.steps"), 50, 600, 200, step=50,
                             key="curv_steps")
    lo, hi, default_n = N_RANGE[source]
    n = links.slider(t("curvature.sidebar.n"), lo, hi, default_n, step=10,
                     key=f"curv_n_{source}")
    seed = int(links.number_input(t("curvature.sidebar.seed"), 0, 9999, 0, step=1,
                                  key="curv_seed"))

    st.header(t("curvature.sidebar.curvature_header"))
    k = links.slider(t("curvature.sidebar.k"), 2, 60, K_DEFAULT[source], key=f"curv_k_{source}",
                     help=t("curvature.sidebar.k_help"))
    method: str = links.selectbox(t("curvature.sidebar.method"), list(POINT_METHODS),
                                  key="curv_method", format_func=figs.method_title)
    ollivier = method in ("exact", "sinkhorn")
    alpha = links.slider(t("curvature.sidebar.alpha"), 0.0, 0.9, 0.5, step=0.05,
                         key="curv_alpha", disabled=not ollivier)
    mass = links.radio(t("curvature.sidebar.mass"), MASSES, key="curv_mass",
                       format_func=_named("masses"), disabled=not ollivier,
                       help=t("curvature.sidebar.mass_help"))
    epsilon, max_iter = 0.05, 2000
    if method == "sinkhorn":
        epsilon = links.select_slider(t("curvature.sidebar.eps"), EPSILONS, 0.05,
                                      key="curv_eps")
        max_iter = links.select_slider(t("curvature.sidebar.iters"), ITERATION_LIMITS, 2000,
                                       key="curv_iters")

settings = cached.CurvatureSettings(n_neighbors=int(k), alpha=float(alpha), method=method,
                                    mass=mass, epsilon=float(epsilon), max_iter=int(max_iter))
view = links.radio(t("curvature.sidebar.view"), VIEWS[source], key=f"curv_view_{source}",
                   format_func=_named(f"views.{source}"), horizontal=True)


def _explain() -> None:
    with st.expander(t("curvature.explain.label")):
        st.markdown(t("curvature.explain.smooth"))
        st.latex(r"\mathrm{Ric}_{ij} = R^k{}_{ikj},\qquad "
                 r"\mathrm{vol}\big(B_\varepsilon(x)\big) = \omega_d\,\varepsilon^d\Big(1 - "
                 r"\frac{\mathrm{Scal}(x)}{6(d+2)}\,\varepsilon^2 + \dots\Big).")
        st.markdown(t("curvature.explain.meaning"))
        st.latex(r"\kappa(x, y) = 1 - \frac{W_1(m_x, m_y)}{d(x, y)},")
        st.markdown(t("curvature.explain.transport"))
        st.latex(r"\kappa(x, y) \approx (1-\alpha)\,\frac{\varepsilon^2\,\mathrm{Ric}(v, v)}"
                 r"{2(d+2)} = (1-\alpha)\,\frac{K\,\varepsilon^2}{8}\quad(d = 2),")
        st.markdown(t("curvature.explain.law"))


# geomcore's words for a Sinkhorn that stopped early (geomcore/curvature/ollivier.py); read
# back so that the page can say it in the visitor's language
_SINKHORN_STOPPED = re.compile(
    r"Sinkhorn stopped after (?P<iters>\d+) iterations with a marginal error of (?P<error>\S+) "
    r"\(tolerance (?P<tol>[^)]+)\); the curvatures are approximate\. Raise epsilon \(now "
    r"(?P<eps>[^·]+)·h\) or max_iter, or use the exact method")


def _message(message: str) -> str:
    """A curvature result's message in the current language (as it is if not recognised)."""
    m = _SINKHORN_STOPPED.fullmatch(message)
    return t("curvature.status.sinkhorn_stopped", **m.groupdict()) if m else message


def _status(pc: PointCurvature, what: str) -> None:
    if pc.status != "ok":
        st.warning(t("curvature.status.problem", what=what, message=_message(pc.message)))


def _metrics(pc: PointCurvature) -> None:
    cols = st.columns(4)
    cols[0].metric(t("curvature.metrics.mean"), f"{pc.mean:.3g}")
    cols[1].metric(t("curvature.metrics.positive"), f"{np.mean(pc.edge_curvature > 0):.0%}")
    cols[2].metric(t("curvature.metrics.edges"), f"{pc.edges.shape[0]:,}")
    cols[3].metric(t("curvature.metrics.scale"), f"{pc.scale:.3g}")


def _setting_text(s: cached.CurvatureSettings) -> str:
    if s.method in ("exact", "sinkhorn"):
        return t("curvature.setting.ollivier", method=figs.method_title(s.method),
                 k=s.n_neighbors, alpha=f"{s.alpha:g}", mass=t(f"curvature.mass_short.{s.mass}"))
    return t("curvature.setting.base", method=figs.method_title(s.method), k=s.n_neighbors)


def _publish(facts: dict[str, float]) -> None:
    for name, value in facts.items():
        lessons.fact(name, value)


# -- sources ---------------------------------------------------------------------------------------
def _surface_page() -> None:
    cfg = cached.SurfaceConfig(name=surface, n=int(n), seed=seed, settings=settings)
    with guarded(t("curvature.what.curvature")):
        bar = ProgressBar(t("curvature.progress.surface", n=n))
        try:
            res = cached.surface_result(cfg, _progress=bar)
        finally:
            bar.clear()
        pc = res.curvature
        _publish(cached.surface_facts(res, settings))
        _status(pc, t("curvature.status.sinkhorn"))
        if res.flat is not None:
            _status(res.flat, t("curvature.status.sinkhorn_flat"))
        _metrics(pc)
        title = t("curvature.titles.surface", surface=t(f"curvature.surfaces.{surface}"), n=n,
                  setting=_setting_text(settings))
        if view == "graph":
            fig = cached_figure(("curv_graph", cfg), lambda: figs.make_graph_figure(
                res.sample.X, pc.edges, pc.edge_curvature, title=title))
            chart(fig, key="curv_graph", csv="curvature-edges",
                  export=lambda _: figs.edges_csv(pc.edges, pc.edge_curvature))
            st.caption(t("curvature.captions.graph"))
        elif view == "scatter":
            law = res.law
            chart(figs.make_k_scatter(res.sample.K, pc.node_curvature, law,
                                      title=t("curvature.titles.scatter", title=title)),
                  key="curv_scatter", csv="curvature-node-vs-K")
            cols = st.columns(3)
            cols[0].metric(t("curvature.metrics.epsilon"), f"{law.epsilon:.3g}",
                           help=t("curvature.metrics.epsilon_help"))
            cols[1].metric(t("curvature.metrics.predicted"), f"{law.predicted:.3g}")
            cols[2].metric(t("curvature.metrics.measured"), "–" if not np.isfinite(law.measured)
                           else f"{law.measured:.3g}", help=t("curvature.metrics.measured_help"))
            if method.startswith("forman"):
                st.info(t("curvature.captions.forman_law"))
            elif law.how == "slope":
                st.caption(t("curvature.captions.slope", correlation=law.correlation,
                             ratio=law.ratio))
            elif law.how == "flat reference":
                st.caption(t("curvature.captions.flat_reference",
                             flat=res.flat.mean if res.flat else float("nan"), ratio=law.ratio))
            else:
                st.caption(t("curvature.captions.no_slope"))
        else:
            groups = {t(f"curvature.surfaces.{surface}"): pc.edge_curvature}
            if res.flat is not None:
                groups[t("curvature.titles.flat_group")] = res.flat.edge_curvature
            chart(figs.make_histogram(groups,
                                      title=t("curvature.titles.surface_histogram", title=title)),
                  key="curv_hist", csv="curvature-edge-histogram", export=figs.histogram_csv)


def _embedding_page() -> None:
    cfg = cached.EmbeddingConfig(dataset=dataset, n=int(n), seed=seed, settings=settings)
    with guarded(t("curvature.what.embeddings")):
        bar = ProgressBar(t("curvature.progress.embedding"))
        try:
            res = cached.embedding_result(cfg, _progress=bar)
        finally:
            bar.clear()
        for name, message in res.errors.items():
            st.warning(t("curvature.status.problem", what=t(f"curvature.representations.{name}"),
                         message=message))
        for name, pc in res.curvature.items():
            _status(pc, t("curvature.status.representation",
                          name=t(f"curvature.representations.{name}")))
            lessons.fact(f"mean_kappa_{name.lower()}", float(pc.mean))
        if not res.curvature:
            return
        data_name = t(f"curvature.datasets.{dataset}")
        if view == "graph":
            options = list(res.curvature)
            shown = links.radio(t("curvature.sidebar.representation"), options,
                                key="curv_representation", horizontal=True,
                                format_func=_named("representations"))
            pc = res.curvature[shown]
            _metrics(pc)
            title = t("curvature.titles.embedding_graph" if shown == "data"
                      else "curvature.titles.embedding_graph_2d", dataset=data_name,
                      representation=t(f"curvature.representations.{shown}"),
                      setting=_setting_text(settings))
            fig = cached_figure(("curv_emb_graph", cfg, shown),
                                lambda: figs.make_graph_figure(pc.X, pc.edges,
                                                               pc.edge_curvature, title=title))
            chart(fig, key="curv_emb_graph", csv="curvature-embedding-edges",
                  export=lambda _: figs.edges_csv(pc.edges, pc.edge_curvature))
        else:
            groups = {t(f"curvature.representations.{name}"): pc.edge_curvature
                      for name, pc in res.curvature.items()}
            chart(figs.make_histogram(
                groups, title=t("curvature.titles.embedding_histogram", dataset=data_name,
                                setting=_setting_text(settings))), key="curv_emb_hist",
                csv="curvature-embedding-histogram", export=figs.histogram_csv)
        st.caption(t("curvature.captions.embedding"))


def _network_page() -> None:
    with guarded(t("curvature.what.network")):
        hidden = _hidden_layers(hidden_text)
        cfg = cached.NetworkConfig(task=task_name, n=int(n), hidden=hidden, steps=int(steps),
                                   seed=seed, settings=settings)
        bar = ProgressBar(t("curvature.progress.network"))
        try:
            res = cached.network_result(cfg, _progress=bar)
        finally:
            bar.clear()
        _publish(cached.network_facts(res))
        if res.status != "ok":
            st.warning(t("curvature.status.training_stopped", message=res.message))
        for layers in res.runs:
            for lc in layers:
                if lc.status != "ok":
                    st.warning(t("curvature.status.layer", step=lc.step,
                                 name=figs.layer_title(lc.name), message=_message(lc.message)))
        steps_list = [layers[0].step for layers in res.runs]
        title = t("curvature.titles.network", task=t(f"curvature.tasks.{task_name}"), n=n,
                  setting=_setting_text(settings))
        if view == "layers":
            chart(figs.make_layer_curves(res.runs, title=t("curvature.titles.layers",
                                                           title=title)),
                  key="curv_layers", csv="curvature-layers-over-training")
            st.dataframe(figs.layer_summary_rows(res.runs[-1]), hide_index=True,
                         key="curv_layer_table")
            st.caption(t("curvature.captions.layers", step=steps_list[-1], loss=res.final_loss,
                         accuracy=res.final_accuracy))
            return
        if view == "graph":
            names = [lc.name for lc in res.runs[0]]
            layer_options = list(range(len(names)))
            c1, c2 = st.columns(2)
            step = links.select_slider(t("curvature.sidebar.step"), steps_list, steps_list[-1],
                                       key="curv_step", container=c1)
            layer = links.selectbox(t("curvature.sidebar.layer"), layer_options,
                                    len(names) - 1, key="curv_layer", container=c2,
                                    format_func=lambda i: figs.layer_title(names[i]))
            lc = res.runs[steps_list.index(step)][layer]
            if lc.status == "failed":
                return
            fig = cached_figure(("curv_layer_graph", cfg, step, layer),
                                lambda: figs.make_graph_figure(
                                    lc.projection, lc.edges, lc.edge_curvature,
                                    labels=res.labels,
                                    title=t("curvature.titles.layer_graph",
                                            layer=figs.layer_title(lc.name), step=step,
                                            explained=lc.explained)))
            chart(fig, key="curv_layer_graph", csv="curvature-layer-edges",
                  export=lambda _: figs.edges_csv(lc.edges, lc.edge_curvature))
            st.caption(t("curvature.captions.layer_graph", mean=lc.mean_curvature,
                         same=lc.same_class_edges, silhouette=lc.silhouette))
            return
        step = links.select_slider(t("curvature.sidebar.step"), steps_list, steps_list[-1],
                                   key="curv_hist_step")
        layers = res.runs[steps_list.index(step)]
        chart(figs.make_histogram(
            {figs.layer_title(lc.name): lc.edge_curvature for lc in layers},
            title=t("curvature.titles.network_histogram", step=step, title=title)),
            key="curv_net_hist", csv="curvature-layer-histogram", export=figs.histogram_csv)


{"surface": _surface_page, "embedding": _embedding_page, "network": _network_page}[source]()
_explain()
