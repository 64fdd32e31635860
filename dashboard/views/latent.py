"""Latent geometry: the metric a decoder pulls back onto its latent plane, and its geodesics."""

from __future__ import annotations

import numpy as np
import streamlit as st

from dashboard.cached import latent as cached
from dashboard.cached.common import ProgressBar
from dashboard.figures import latent as figs
from dashboard.figures.theme import PLOT_CONFIG
from dashboard.widgets import apply_click, clamp, guarded

TITLES = {"digits": "8×8 digits (64-D)", "swiss_roll": "swiss roll (3-D)",
          "sphere_cap": "sphere cap (3-D)", "torus": "torus (3-D)"}
MODELS = {"vae": "VAE", "ae": "deterministic autoencoder"}
METRICS = {"variance": "variance-aware: J_μᵀJ_μ + J_σᵀJ_σ",
           "mean": "deterministic: J_μᵀJ_μ"}
METHODS = {"energy": "energy (L-BFGS)", "bvp": "boundary-value problem"}
OUTCOMES = {"ok": "converged", "not_converged": "did not converge",
            "singular": "stopped where the metric is singular", "failed": "failed"}
"""A curve's status in words (the page never shows the internal code)."""
N_FRAMES = 10

st.title("Latent geometry")
st.caption(
    "A decoder maps the flat latent plane onto a curved surface in data space. Measured on "
    "that surface, latent distances form a Riemannian metric M(z) = JᵀJ. Straight latent "
    "interpolation cuts through regions the model has never seen; geodesics follow the data."
)

# -- data and model -------------------------------------------------------------------------------
with st.sidebar:
    st.header("Data and model")
    dataset = st.selectbox("Dataset", cached.DATASETS, format_func=TITLES.__getitem__,
                           key="latent_data")
    if dataset == "digits":
        n_data = 1797
        st.caption("All 1797 digits of scikit-learn's bundled set.")
    else:
        n_data = int(st.slider("Points", 200, cached.MAX_POINTS_3D, 1000, step=100,
                               key="latent_n"))
    model_kind = st.radio("Model", list(MODELS), format_func=MODELS.__getitem__,
                          horizontal=True, key="latent_model")
    beta = float(st.select_slider(
        "KL weight β", cached.BETAS, value=cached.DEFAULT_BETA[dataset],
        key=f"latent_beta_{dataset}", disabled=model_kind == "ae",
        help="Weight of the KL term of the VAE's loss. With few data dimensions (3-D) β = 1 "
             "lets the VAE explain the data as noise and its latent codes collapse."))
    epochs = int(st.slider("Training epochs", 10, cached.MAX_EPOCHS, 60, step=10,
                           key="latent_epochs"))
    hidden = int(st.select_slider("Hidden width", cached.HIDDEN_WIDTHS, value=64,
                                  key="latent_hidden",
                                  help="Encoder widths (w, w/2); the decoder mirrors them."))
    seed = int(st.number_input("Seed", 0, 9999, 0, step=1, key="latent_seed",
                               help="Data sample, initial weights, mini-batches."))
    st.header("Metric")
    metric_kind = st.radio("Metric", list(METRICS), format_func=METRICS.__getitem__,
                           key="latent_metric",
                           help="The variance-aware metric adds the decoder's standard "
                                "deviation σ(z), from an RBF network that grows away from "
                                "the data (Arvanitidis et al. 2018).")
    n_centers = int(st.select_slider("RBF centres", cached.RBF_CENTERS, value=64,
                                     key="latent_centers", disabled=metric_kind != "variance"))
    show_ellipses = st.checkbox("Show metric unit circles", key="latent_ellipses",
                                help="At each point, the latent directions of unit length: "
                                     "small where the decoder stretches, large where it is "
                                     "slack.")

model_cfg = cached.ModelConfig(dataset=dataset, n=n_data, deterministic=model_kind == "ae",
                               epochs=epochs, hidden=hidden, seed=seed,
                               beta=beta if model_kind == "vae" else 1.0)
metric_cfg = cached.MetricConfig(model=model_cfg, variance=metric_kind == "variance",
                                 n_centers=n_centers)


def _explain() -> None:
    with st.expander("Explain: the pullback metric, magnification, variance, interpolation"):
        st.markdown("A decoder $g: \\mathbb R^d \\to \\mathbb R^D$ maps a latent curve "
                    "$z(t)$ to a curve $g(z(t))$ in data space. Its length there is")
        st.latex(r"L = \int_0^1 \big|J_g(z)\,\dot z\big|\,dt = \int_0^1 "
                 r"\sqrt{\dot z^{\top} M(z)\,\dot z}\;dt,\qquad M(z) = J_g(z)^{\top} J_g(z),")
        st.markdown(
            "so the latent plane carries the **pullback metric** $M$. It is not the "
            "Euclidean one: a latent step near a boundary between classes can change the "
            "decoded image far more than the same step inside a class.\n\n"
            "**Magnification factor.** $\\sqrt{\\det M(z)}$ is how much the decoder stretches "
            "a small latent area (the heat map, on a log scale). Bright regions are where the "
            "decoded output changes fast.\n\n"
            "**Why variance matters.** A VAE's decoder is stochastic, $x = \\mu(z) + "
            "\\sigma(z)\\,\\varepsilon$. Its expected metric (Arvanitidis, Hansen & Hauberg, "
            "*Latent Space Oddity*, ICLR 2018) is")
        st.latex(r"\bar M(z) = J_\mu(z)^{\top} J_\mu(z) + J_\sigma(z)^{\top} J_\sigma(z).")
        st.markdown(
            "The mean $\\mu$ alone is smooth everywhere, even where no data were ever seen, so "
            "the deterministic metric calls those regions cheap. Here $\\sigma$ comes from an "
            "RBF network fitted to the residuals around k-means centres of the encoded data: "
            "small near the data, growing far from them, so crossing an empty region costs "
            "the jump in $\\sigma$. The variance-aware metric makes off-data regions expensive "
            "and its geodesics bend to stay on the data.\n\n"
            "**Interpolating in latent space.** The straight segment $(1-t) z_0 + t z_1$ is "
            "the usual interpolation; a **geodesic** is the shortest curve under $M$, found "
            "by minimising the discrete energy $E = (N-1)\\sum_i |g(z_{i+1}) - g(z_i)|^2$ "
            "(L-BFGS, started from a shortest path through a grid graph), or by solving the "
            "geodesic equation $M\\ddot z = -J^{\\top} D^2 g[\\dot z, \\dot z]$ as a "
            "boundary-value problem. The ratio of the two lengths says how much the straight "
            "line detours through unlikely data; for digits the image strips show it: the "
            "straight path passes through blurred non-digits where the geodesic passes "
            "through digits.\n\n"
            "The same holds for a GAN's generator; a VAE is used here because its variance "
            "makes the point honestly: without it, nothing in the metric says where the "
            "model has no data.")


# -- training -------------------------------------------------------------------------------------
trained: cached.TrainedModel | None = None
with guarded("the model"):
    bar = ProgressBar(f"Training the {MODELS[model_kind]} for {epochs} epochs…")
    try:
        trained = cached.model_for(model_cfg, _progress=bar)
    finally:
        bar.clear()
if trained is None:
    st.info("Change the settings in the sidebar; the page appears once a model is trained.")
    _explain()
    st.stop()
assert trained is not None

# -- the two points -------------------------------------------------------------------------------
box = trained.box
keys = {w: f"latent_{w}" for w in ("ax", "ay", "bx", "by")}
if st.session_state.get("latent_points_for") != model_cfg:
    st.session_state["latent_points_for"] = model_cfg
    start, end = cached.default_points(trained)
    for key, value, (lo, hi) in zip(keys.values(), (*start, *end), (*box, *box), strict=True):
        st.session_state[key] = clamp(value, lo, hi)
map_key = "latent_plane"
click_target = st.session_state.get("latent_click_target", "start")
targets = (keys["bx"], keys["by"]) if click_target == "end" else (keys["ax"], keys["ay"])
apply_click(map_key, targets, box)

with st.sidebar:
    st.header("Path")
    st.radio("Clicking the plane sets", ["start", "end"], horizontal=True,
             key="latent_click_target")
    point_cols = st.columns(2)
    values = {}
    for i, (w, label) in enumerate((("ax", "start z₁"), ("ay", "start z₂"),
                                    ("bx", "end z₁"), ("by", "end z₂"))):
        lo, hi = box[i % 2]
        values[w] = float(point_cols[i % 2].number_input(label, float(lo), float(hi), step=0.05,
                                                   format="%.3f", key=keys[w]))
    n_points = int(st.select_slider("Curve points", [16, 24, 32, 48, 64], value=32,
                                    key="latent_npoints"))
    method = st.radio("Geodesic method", list(METHODS), format_func=METHODS.__getitem__,
                      key="latent_method")

z0 = (values["ax"], values["ay"])
z1 = (values["bx"], values["by"])

# -- compute --------------------------------------------------------------------------------------
grid: cached.MetricGrid | None = None
with guarded("the pullback metric"):
    grid = cached.metric_grid_for(metric_cfg)
    if grid.singular_fraction > 0:
        st.warning(f"The metric M is singular on {grid.singular_fraction:.0%} of the plane "
                   "(the decoder is flat there in some direction); those cells are left blank.")
paths: cached.Paths | None = None
with guarded("the paths"):
    paths = cached.paths_for(metric_cfg, z0, z1, n_points, method)
    if not paths.geodesic.ok:
        outcome = OUTCOMES.get(paths.geodesic.status, "did not finish cleanly")
        st.warning(f"The geodesic solve {outcome}: {paths.geodesic.message}.")

if paths is not None:
    geo, line = paths.geodesic, paths.straight
    summary = st.columns(4)
    summary[0].metric("Straight length", f"{line.length:.4g}")
    summary[1].metric("Geodesic length", f"{geo.length:.4g}",
                   help=f"{METHODS[method]}, {n_points} points; "
                           f"{OUTCOMES.get(geo.status, 'did not finish cleanly')}")
    summary[2].metric("Length ratio", f"{paths.ratio:.3f}",
                   help="Straight length / geodesic length: how much longer the straight "
                        "interpolation is under this metric.")
    summary[3].metric("Recon. MSE", f"{trained.reconstruction_mse:.3g}",
                   help=f"Reconstruction mean squared error; 2-component PCA: "
                        f"{trained.pca_mse:.3g}")

# -- draw -----------------------------------------------------------------------------------------
digits = dataset == "digits"
color_title = "digit" if digits else "intrinsic coord."
drawn = [] if paths is None else [
    figs.LatentPath(paths.straight.points, paths.straight.decoded, "straight line", "dash"),
    figs.LatentPath(paths.geodesic.points, paths.geodesic.decoded, "geodesic"),
]
with st.container(key="latent_figures"), guarded("the latent plane"):
    if grid is not None:
        ellipses = None
        if show_ellipses:
            cell = min(box[0][1] - box[0][0], box[1][1] - box[1][0]) / (cached.INDICATRIX_GRID
                                                                      + 1)
            ellipses = figs.ellipse_polyline(grid.ellipse_centers, grid.ellipse_vectors, cell)
        st.plotly_chart(
            figs.make_latent_plane(grid.u, grid.v, grid.log_magnification, trained.Z,
                                   trained.color, classes=digits, color_title=color_title,
                                   paths=drawn, ends=(np.array(z0), np.array(z1)),
                                   ellipses=ellipses,
                                   title=f"Latent plane ({METRICS[metric_kind].split(':')[0]} "
                                         "metric): magnification √det M"),
            key=map_key, on_select="rerun", selection_mode="points", config=PLOT_CONFIG)
if digits and paths is not None:
    with guarded("the image strips"):
        st.plotly_chart(figs.make_image_strips([
            ("straight line", figs.pick_frames(paths.straight.decoded, N_FRAMES)),
            ("geodesic", figs.pick_frames(paths.geodesic.decoded, N_FRAMES)),
        ]), key="latent_strips", config=PLOT_CONFIG)
    st.markdown(
        "Each strip decodes ten evenly spaced points of its path, start to end. Where the "
        "straight line crosses a bright or empty region of the plane, its images blur into "
        "non-digits; the geodesic stays on encoded data and passes through digits.")
elif grid is not None and grid.decoded is not None:
    with guarded("the decoded surface"):
        st.plotly_chart(figs.make_decoded_surface(
            grid.decoded, grid.log_magnification, trained.X, trained.color, paths=drawn,
            color_title=color_title), key="latent_surface", config=PLOT_CONFIG)

st.caption(f"Trained {MODELS[model_kind]}: final loss {trained.final_loss:.4g}; "
           f"reconstruction MSE {trained.reconstruction_mse:.3g} against "
           f"{trained.pca_mse:.3g} for 2-component PCA. Click the plane to move the "
           f"{click_target} point, or type it in the sidebar.")
_explain()
