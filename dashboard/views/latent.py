"""Latent geometry: the metric a decoder pulls back onto its latent plane, and its geodesics.

Every text comes from the catalogs (``latent.*``), every widget is kept in the URL
(:mod:`dashboard.links`), and the numbers the lessons cite are published with
:func:`dashboard.lessons.fact` once computed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import streamlit as st

from dashboard import lessons, links
from dashboard.cached import latent as cached
from dashboard.cached.common import ProgressBar
from dashboard.figures import latent as figs
from dashboard.i18n import options, t
from dashboard.widgets import apply_click, chart, clamp, guarded

N_FRAMES = 10
POINTS = ("ax", "ay", "bx", "by")
"""The two end points' coordinates: start (z₁, z₂), end (z₁, z₂)."""
POINTS_FOR = "latent_points_for"
"""The model configuration the point inputs were last set for."""

st.title(t("latent.page.title"))
st.caption(t("latent.page.caption"))

datasets = options("latent.datasets")
models = options("latent.models")
metrics = options("latent.metrics")
metric_names = options("latent.metric_names")
methods = options("latent.methods")
targets = options("latent.targets")

# -- data and model -------------------------------------------------------------------------------
with st.sidebar:
    st.header(t("latent.sidebar.data_model"))
    dataset = links.selectbox(t("latent.sidebar.dataset"), cached.DATASETS, key="latent_data",
                              format_func=datasets.__getitem__)
    if dataset == "digits":
        n_data = 1797
        st.caption(t("latent.sidebar.digits_note"))
    else:
        n_data = int(links.slider(t("latent.sidebar.points"), 200, cached.MAX_POINTS_3D, 1000,
                                  step=100, key="latent_n"))
    model_kind = links.radio(t("latent.sidebar.model"), list(models), key="latent_model",
                             format_func=models.__getitem__, horizontal=True)
    beta = float(links.select_slider(
        t("latent.sidebar.beta"), cached.BETAS, cached.DEFAULT_BETA[dataset],
        key=f"latent_beta_{dataset}", disabled=model_kind == "ae",
        help=t("latent.sidebar.beta_help")))
    epochs = int(links.slider(t("latent.sidebar.epochs"), 10, cached.MAX_EPOCHS, 60, step=10,
                              key="latent_epochs"))
    hidden = int(links.select_slider(t("latent.sidebar.hidden"), cached.HIDDEN_WIDTHS, 64,
                                     key="latent_hidden", help=t("latent.sidebar.hidden_help")))
    seed = int(links.number_input(t("latent.sidebar.seed"), 0, 9999, 0, step=1,
                                  key="latent_seed", help=t("latent.sidebar.seed_help")))
    st.header(t("latent.sidebar.metric_header"))
    metric_kind = links.radio(t("latent.sidebar.metric"), list(metrics), key="latent_metric",
                              format_func=metrics.__getitem__,
                              help=t("latent.sidebar.metric_help"))
    n_centers = int(links.select_slider(t("latent.sidebar.centers"), cached.RBF_CENTERS, 64,
                                        key="latent_centers",
                                        disabled=metric_kind != "variance"))
    show_ellipses = links.checkbox(t("latent.sidebar.ellipses"), False, key="latent_ellipses",
                                   help=t("latent.sidebar.ellipses_help"))

model_cfg = cached.ModelConfig(dataset=dataset, n=n_data, deterministic=model_kind == "ae",
                               epochs=epochs, hidden=hidden, seed=seed,
                               beta=beta if model_kind == "vae" else 1.0)
metric_cfg = cached.MetricConfig(model=model_cfg, variance=metric_kind == "variance",
                                 n_centers=n_centers)


def _explain() -> None:
    with st.expander(t("latent.explain.title")):
        st.markdown(t("latent.explain.length"))
        st.latex(r"L = \int_0^1 \big|J_g(z)\,\dot z\big|\,dt = \int_0^1 "
                 r"\sqrt{\dot z^{\top} M(z)\,\dot z}\;dt,\qquad M(z) = J_g(z)^{\top} J_g(z),")
        st.markdown(t("latent.explain.pullback"))
        st.latex(r"\bar M(z) = J_\mu(z)^{\top} J_\mu(z) + J_\sigma(z)^{\top} J_\sigma(z).")
        st.markdown(t("latent.explain.variance"))


def _number(value: float, spec: str) -> str:
    """A number as the page shows it; "—" where there is none (NaN: an empty band, a zero
    length), never "nan"."""
    return format(value, spec) if np.isfinite(value) else "—"


def _outcome(status: str) -> str:
    """A curve's status in words (the page never shows the internal code)."""
    key = f"latent.outcomes.{status}"
    return t(key) if status in ("ok", "not_converged", "singular", "failed") \
        else t("latent.outcomes.unknown")


# -- training -------------------------------------------------------------------------------------
trained: cached.TrainedModel | None = None
with guarded(t("latent.what.model")):
    bar = ProgressBar(t("latent.progress.training", model=models[model_kind], epochs=epochs))
    try:
        trained = cached.model_for(model_cfg, _progress=bar)
    finally:
        bar.clear()
if trained is None:
    st.info(t("latent.messages.no_model"))
    _explain()
    st.stop()
assert trained is not None
lessons.fact("recon_mse", trained.reconstruction_mse)
lessons.fact("pca_mse", trained.pca_mse)
lessons.fact("latent_spread", trained.spread)

# -- the two points -------------------------------------------------------------------------------
box = trained.box
bounds = cached.point_bounds(box)
start, end = cached.default_points(trained)
point_defaults = {w: clamp(value, *box[i % 2])
                  for i, (w, value) in enumerate(zip(POINTS, (*start, *end), strict=True))}
keys = {w: f"latent_{w}" for w in POINTS}
state: Any = st.session_state
if state.get(POINTS_FOR) not in (None, model_cfg):
    # The model changed since the last run: its own default points replace the old ones, which
    # may lie off its data. Only inputs that exist are reset: on the page's first run (and after
    # a lesson reset them) they do not, and take the link's values or the new defaults.
    for w in POINTS:
        if keys[w] in state:
            state[keys[w]] = point_defaults[w]
state[POINTS_FOR] = model_cfg
map_key = "latent_plane"

with st.sidebar:
    st.header(t("latent.sidebar.path_header"))
    click_target = links.radio(t("latent.sidebar.click_target"), list(targets),
                               key="latent_click_target", format_func=targets.__getitem__,
                               horizontal=True)
    apply_click(map_key, (keys["bx"], keys["by"]) if click_target == "end"
                else (keys["ax"], keys["ay"]), box)
    point_cols = st.columns(2)
    values = {}
    for i, w in enumerate(POINTS):
        lo, hi = bounds[i % 2]
        values[w] = float(links.number_input(
            t(f"latent.sidebar.{w}"), float(lo), float(hi), point_defaults[w], key=keys[w],
            container=point_cols[i % 2], step=0.05, format="%.3f"))
    n_points = int(links.select_slider(t("latent.sidebar.curve_points"), [16, 24, 32, 48, 64],
                                       32, key="latent_npoints"))
    method = links.radio(t("latent.sidebar.method"), list(methods), key="latent_method",
                         format_func=methods.__getitem__)

z0 = (values["ax"], values["ay"])
z1 = (values["bx"], values["by"])

# -- compute --------------------------------------------------------------------------------------
grid: cached.MetricGrid | None = None
regions: cached.Regions | None = None
with guarded(t("latent.what.metric")):
    with st.spinner(t("latent.progress.metric")):
        grid = cached.metric_grid_for(metric_cfg)
        regions = cached.regions_for(metric_cfg)
    if grid.singular_fraction > 0:
        st.warning(t("latent.messages.singular", fraction=grid.singular_fraction))
    lessons.fact("singular_fraction", grid.singular_fraction)
    for name, value in (("mag_on_data", regions.on_data), ("mag_edge", regions.edge),
                        ("mag_far", regions.far)):
        if np.isfinite(value):  # an empty band has no median: its claims cannot be checked
            lessons.fact(name, value)
paths: cached.Paths | None = None
with guarded(t("latent.what.paths")):
    with st.spinner(t("latent.progress.geodesic")):
        paths = cached.paths_for(metric_cfg, z0, z1, n_points, method)
    if not paths.geodesic.ok:
        st.warning(t("latent.messages.geodesic_warning", outcome=_outcome(paths.geodesic.status),
                     message=paths.geodesic.message))

if paths is not None:
    geo, line = paths.geodesic, paths.straight
    summary = st.columns(4)
    summary[0].metric(t("latent.summary.straight"), f"{line.length:.4g}")
    summary[1].metric(t("latent.summary.geodesic"), f"{geo.length:.4g}",
                      help=t("latent.summary.geodesic_help", method=methods[method],
                             n=n_points, outcome=_outcome(geo.status)))
    summary[2].metric(t("latent.summary.ratio"), _number(paths.ratio, ".3f"),
                      help=t("latent.summary.ratio_help"))
    summary[3].metric(t("latent.summary.mse"), f"{trained.reconstruction_mse:.3g}",
                      help=t("latent.summary.mse_help", pca=trained.pca_mse))
    lessons.fact("straight_length", line.length)
    lessons.fact("geodesic_length", geo.length)
    lessons.fact("length_ratio", paths.ratio)
    lessons.fact("geodesic_ok", geo.ok)
    if paths.straight_sigma is not None and paths.geodesic_sigma is not None:
        st.caption(t("latent.summary.sigma", straight=paths.straight_sigma,
                     geodesic=paths.geodesic_sigma))
        lessons.fact("sigma_straight", paths.straight_sigma)
        lessons.fact("sigma_geodesic", paths.geodesic_sigma)
    if method == "bvp":
        # The boundary-value solve starts from the energy method's curve: say how far it moved.
        with guarded(t("latent.what.comparison"), warning=True):
            with st.spinner(t("latent.progress.geodesic")):
                energy = cached.paths_for(metric_cfg, z0, z1, n_points, "energy").geodesic
            gap = cached.curve_gap(geo, energy, trained.diagonal)
            st.caption(t("latent.summary.compare", length=energy.length,
                         difference=abs(geo.length - energy.length) / energy.length, gap=gap))
            lessons.fact("energy_length", energy.length)
            lessons.fact("curve_gap", gap)

# -- draw -----------------------------------------------------------------------------------------
digits = dataset == "digits"
color_title = t("latent.colour.digit") if digits else t("latent.colour.intrinsic")
straight_name, geodesic_name = t("latent.paths.straight"), t("latent.paths.geodesic")
drawn = [] if paths is None else [
    figs.LatentPath(paths.straight.points, paths.straight.decoded, straight_name, "dash"),
    figs.LatentPath(paths.geodesic.points, paths.geodesic.decoded, geodesic_name),
]
with st.container(key="latent_figures"), guarded(t("latent.what.plane")):
    if grid is not None:
        ellipses = None
        if show_ellipses:
            cell = min(box[0][1] - box[0][0], box[1][1] - box[1][0]) / (cached.INDICATRIX_GRID
                                                                      + 1)
            ellipses = figs.ellipse_polyline(grid.ellipse_centers, grid.ellipse_vectors, cell)
        chart(figs.make_latent_plane(
            grid.u, grid.v, grid.log_magnification, trained.Z, trained.color, classes=digits,
            color_title=color_title, paths=drawn, ends=(np.array(z0), np.array(z1)),
            ellipses=ellipses, title=t("latent.plane.title", metric=metric_names[metric_kind])),
            csv="latent-plane", export=figs.plane_csv, key=map_key, on_select="rerun",
            selection_mode="points")
        if regions is not None:
            st.caption(t("latent.plane.regions", on=_number(regions.on_data, ".2f"),
                         edge=_number(regions.edge, ".2f"), far=_number(regions.far, ".2f"),
                         near=cached.ON_DATA, beyond=cached.OFF_DATA))
if digits and paths is not None:
    with guarded(t("latent.what.strips")):
        chart(figs.make_image_strips([
            (straight_name, figs.pick_frames(paths.straight.decoded, N_FRAMES)),
            (geodesic_name, figs.pick_frames(paths.geodesic.decoded, N_FRAMES)),
        ]), key="latent_strips")
    st.markdown(t("latent.plane.strips_note"))
elif grid is not None and grid.decoded is not None:
    with guarded(t("latent.what.surface")):
        chart(figs.make_decoded_surface(
            grid.decoded, grid.log_magnification, trained.X, trained.color, paths=drawn,
            color_title=color_title), csv="latent-surface", key="latent_surface")

st.caption(t("latent.plane.trained", model=models[model_kind], loss=trained.final_loss,
             mse=trained.reconstruction_mse, pca=trained.pca_mse,
             target=targets[click_target]))
_explain()
