"""Surfaces & geodesics: curvature, geodesics, sprays, shortest paths, parallel transport."""

from __future__ import annotations

import math

import streamlit as st

from dashboard.cached import geometry as cached
from dashboard.figures import geometry as figs
from dashboard.figures.theme import PLOT_CONFIG
from dashboard.widgets import apply_click, guarded
from geomcore.geometry import metrics, surfaces

MODES = {
    "geodesic": "One geodesic",
    "spray": "Spray & geodesic circles",
    "shortest": "Shortest path",
    "transport": "Parallel transport & holonomy",
}
KINDS = {"catalog": "Surface catalog", "custom": "Custom surface", "statistical":
         "Statistical manifold"}
CUSTOM_DEFAULT = ("(2 + 0.8*cos(u))*cos(v)", "(2 + 0.8*cos(u))*sin(v)", "0.8*sin(u) + 0.3*cos(2*v)")
MAX_FORMULA_CHARS = 300
_ELLIPSES = (
    "**Reading the picture.** Each grey ellipse is a unit circle of the metric, all drawn at "
    "one common scale (their sizes compare with each other, not with the axes): where the "
    "ellipses are small, a small step in coordinates is a long way. "
)
READING = {
    "poincare": _ELLIPSES + (
        "Geodesics bend towards larger ellipses (a step at small y costs more). In the "
        "half-plane $y > 0$ with $g = (dx^2 + dy^2)/y^2$ every geodesic is a semicircle "
        "centred on the x-axis, or a vertical line."),
    "gaussian": _ELLIPSES + (
        "Geodesics bend towards larger ellipses (a step at small σ costs more), so the "
        "shortest way between two normal distributions detours through wider ones. Under "
        "$g = (d\\mu^2 + 2\\,d\\sigma^2)/\\sigma^2$ the geodesics are half-ellipses "
        "centred on the μ-axis, $\\sqrt2$ times wider in μ than tall in σ (or vertical "
        "lines): the metric is the Poincaré one after stretching μ by $1/\\sqrt2$."),
    "categorical": _ELLIPSES + (
        "A point is a distribution $p = (\\sin^2\\theta\\cos^2\\varphi,\\ "
        "\\sin^2\\theta\\sin^2\\varphi,\\ \\cos^2\\theta)$ on three outcomes. With "
        "$x_i = \\sqrt{p_i}$ the simplex becomes an octant of the unit sphere and the Fisher "
        "metric $\\sum_i dp_i^2/p_i = 4\\sum_i dx_i^2$ is that of a sphere of radius 2: "
        "$K = 1/4$ everywhere, geodesics are great-circle arcs, and the Fisher–Rao distance is "
        "$2\\arccos\\sum_i\\sqrt{p_i q_i}$. This is the geometry of a softmax output "
        "layer."),
}
# Below this viewport width the two figures stack one above the other (Streamlit's own columns
# stack only below 640 px, which leaves a 125 px wide map on a 1024 px projector).
STACK_BELOW_PX = 1200
st.html(
    f"<style>@media (max-width: {STACK_BELOW_PX}px) {{"
    ".st-key-geo_figures [data-testid='stHorizontalBlock'] {flex-direction: column;}"
    ".st-key-geo_figures [data-testid='stColumn'] {width: 100% !important; flex: 1 1 100%"
    " !important; min-width: 100% !important;}}"
    # long Christoffel symbols scroll sideways instead of running off the page
    ".st-key-geo_formulas .katex-display {overflow-x: auto; overflow-y: hidden;"
    " padding-bottom: 4px;}</style>"
)

st.title("Surfaces & geodesics")
st.caption(
    "Curvature decides how geodesics — the straightest possible curves — behave: they "
    "converge where K > 0 and spread where K < 0. Pick a space, then a point (click the "
    "map on the right or use the sliders)."
)

# -- which space ---------------------------------------------------------------------------------
with st.sidebar:
    st.header("Space")
    kind = st.radio("Kind of space", list(KINDS), format_func=KINDS.get, key="geo_kind")
    if kind == "catalog":
        names = surfaces.names()
        name = st.selectbox("Surface", names, index=names.index("torus"),
                            format_func=lambda n: surfaces.spec(n).title, key="geo_surface")
        spec = surfaces.spec(name)
        params = tuple(
            (k, st.slider(k, *spec.param_ranges[k], value=spec.params[k], step=0.05,
                          key=f"geo_param_{name}_{k}"))
            for k in spec.params
        )
        cfg = cached.SpaceConfig("catalog", name, params=params)
        st.caption(spec.description)
    elif kind == "custom":
        st.caption("Three formulas in u and v: + − * / ** (or ^), sin, cos, exp, log, sqrt, "
                   "cosh, … and the constants pi, e.")
        # no max_chars: its counter is drawn over the end of the formula; the length is
        # checked below instead
        fx, fy, fz = (
            st.text_input(f"{axis}(u, v)", value=default, key=f"geo_custom_{axis}")
            for axis, default in zip("xyz", CUSTOM_DEFAULT, strict=True)
        )
        c1, c2 = st.columns(2)
        u_range = (c1.number_input("u from", value=0.0, min_value=-50.0, max_value=50.0,
                                   key="geo_custom_u0"),
                   c2.number_input("u to", value=round(2 * math.pi, 4), min_value=-50.0,
                                   max_value=50.0, key="geo_custom_u1"))
        v_range = (c1.number_input("v from", value=0.0, min_value=-50.0, max_value=50.0,
                                   key="geo_custom_v0"),
                   c2.number_input("v to", value=round(2 * math.pi, 4), min_value=-50.0,
                                   max_value=50.0, key="geo_custom_v1"))
        periodic = (c1.checkbox("u periodic", value=True, key="geo_custom_up"),
                    c2.checkbox("v periodic", value=True, key="geo_custom_vp"))
        cfg = cached.SpaceConfig("custom", "custom", formulas=(fx, fy, fz), u_range=u_range,
                                 v_range=v_range, periodic=periodic)
    else:
        name = st.selectbox("Manifold", metrics.names(),
                            format_func=lambda n: metrics.spec(n).title,
                            key="geo_stat")
        cfg = cached.SpaceConfig("statistical", name)
    is_surface = kind != "statistical"
    field = st.radio("Colour by", list(figs.FIELDS), format_func=figs.FIELDS.get,
                     key="geo_field", disabled=not is_surface)

def _explain() -> None:
    with st.expander("Explain: the geodesic equation and what to look for", key="geo_explain",
                     on_change="rerun"):
        st.markdown(
            "A geodesic $x(t)$ has no acceleration *within* the surface. In coordinates it solves"
        )
        st.latex(r"\ddot x^k + \Gamma^k_{ij}(x)\,\dot x^i \dot x^j = 0,\qquad "
                 r"\Gamma^k_{ij} = \tfrac12 g^{kl}(\partial_i g_{lj} + \partial_j g_{li} "
                 r"- \partial_l g_{ij}).")
        st.markdown(
            "- **One geodesic**: its speed $|\\dot x|_g$ stays constant (the energy drift shown "
            "measures the integrator's error). On a surface of revolution Clairaut's relation "
            "$\\rho\\cos\\psi = \\text{const}$ keeps it between two parallels.\n"
            "- **Spray**: geodesics leaving one point. Where $K>0$ they refocus; the geodesic "
            "circles (equal distance) fold into cusps — caustics — once neighbouring geodesics "
            "cross (try the ellipsoid or the inside of the torus).\n"
            "- **Shortest path**: found by shooting (Newton on the initial velocity) with a "
            "boundary-value solver as fallback. Its length lies between the chord in space and "
            "the length of the straight segment in the parameter plane.\n"
            "- **Parallel transport**: carrying a vector around a loop without turning it still "
            "rotates it, by the *holonomy* angle. Gauss–Bonnet: the angle equals "
            "$\\iint K\\,dA$ over the enclosed region (mod $2\\pi$).\n"
            "- **Statistical manifolds**: the normal family $N(\\mu,\\sigma^2)$ with the Fisher "
            "metric $g = (d\\mu^2 + 2\\,d\\sigma^2)/\\sigma^2$ has constant "
            "$K=-\\tfrac12$; natural gradient descent is steepest descent in this geometry."
        )


space = None
with guarded("this surface"):
    if cfg.kind == "custom" and not (cfg.u_range[0] < cfg.u_range[1]
                                     and cfg.v_range[0] < cfg.v_range[1]):
        raise ValueError("each range needs 'from' < 'to'")
    if cfg.kind == "custom":
        for axis, text in zip("xyz", cfg.formulas, strict=True):
            if len(text) > MAX_FORMULA_CHARS:
                raise ValueError(f"{axis}(u, v) has {len(text)} characters; shorten it to at "
                                 f"most {MAX_FORMULA_CHARS}")
    space = cached.space_for(cfg)

if space is None:
    st.info("Fix the surface in the sidebar; the rest of the page appears once it is valid.")
    _explain()
    st.stop()

# -- mode and points -----------------------------------------------------------------------------
mode = st.radio("Explore", list(MODES), format_func=MODES.get, horizontal=True,
                key="geo_mode")
labels: tuple[str, ...]
if isinstance(space, surfaces.ParametricSurface):
    domain = (space.u_range, space.v_range)
    labels = ("u", "v")
else:
    first, second = figs.finite_domain(space)
    domain = (first, second)
    labels = tuple(map(figs.plain_label, space.coord_labels))
map_key = f"geo_map_{cfg.key}"
keys = {w: f"geo_{cfg.key}_{w}" for w in ("pu", "pv", "qu", "qv")}
start = figs.start_defaults(cfg.name if cfg.kind != "custom" else "custom")
defaults = {"pu": start.u_frac, "pv": start.v_frac, "qu": 0.45, "qv": 0.55}
if cfg.kind == "statistical":
    defaults.update(qu=0.70, qv=0.35)
# The point lives in a plain session-state entry ("…__value") besides its slider's key: a
# slider's own state is dropped by Streamlit when a run ends without drawing it (an invalid
# formula stops the page early), and the widget and the picture must keep agreeing afterwards.
for w, frac in defaults.items():
    lo, hi = domain[0] if w[1] == "u" else domain[1]
    remembered = st.session_state.setdefault(f"{keys[w]}__value", round(lo + frac * (hi - lo), 3))
    if keys[w] not in st.session_state:
        st.session_state[keys[w]] = min(max(remembered, lo), hi)
# direction and length: the chosen space's defaults, applied when the space changes
if st.session_state.get("geo_defaults_for") != cfg.key:
    st.session_state["geo_defaults_for"] = cfg.key
    st.session_state["geo_angle"] = start.angle
    st.session_state["geo_length"] = start.length

click_target = st.session_state.get("geo_click_target", "start")
targets = (keys["qu"], keys["qv"]) if click_target == "end" and mode == "shortest" \
    else (keys["pu"], keys["pv"])
apply_click(map_key, targets, domain)


def _point_sliders(prefix: str, title: str) -> tuple[float, float]:
    a = st.slider(f"{title}: {labels[0]}", float(domain[0][0]), float(domain[0][1]),
                  key=keys[prefix + "u"], step=0.01)
    b = st.slider(f"{title}: {labels[1]}", float(domain[1][0]), float(domain[1][1]),
                  key=keys[prefix + "v"], step=0.01)
    st.session_state[f"{keys[prefix + 'u']}__value"] = float(a)
    st.session_state[f"{keys[prefix + 'v']}__value"] = float(b)
    return (float(a), float(b))


with st.sidebar:
    st.header("Controls")
    p = _point_sliders("p", "Start point")
    if mode == "geodesic":
        st.session_state.setdefault("geo_angle", start.angle)
        st.session_state.setdefault("geo_length", start.length)
        angle = st.slider("Direction (°)", 0, 359, key="geo_angle",
                          help="Degrees from the first coordinate axis, measured with the "
                               "metric at the start point.")
        length = st.slider("Length", 0.1, cached.MAX_GEODESIC_LENGTH, step=0.1, key="geo_length")
    elif mode == "spray":
        n_dirs = st.slider("Directions", 8, cached.MAX_SPRAY_DIRECTIONS, 48, step=8,
                           key="geo_ndirs")
        length = st.slider("Radius", 0.1, cached.MAX_SPRAY_RADIUS, 2.5, step=0.1,
                           key="geo_spray_length", help="The length of every geodesic.")
        n_circles = st.slider("Geodesic circles", 0, 8, 4, key="geo_ncircles")
    elif mode == "shortest":
        q = _point_sliders("q", "End point")
        st.radio("Clicking the map sets", ["start", "end"], horizontal=True,
                 key="geo_click_target")
    else:
        loop_kinds = ["circle"] + (["parallel"] if space.periodic[1] else [])
        loop_kind = st.radio("Loop", loop_kinds, horizontal=True, key="geo_loop_kind",
                             format_func={"circle": "circle around the start point",
                                          "parallel": "parallel u = const"}.get)
        span = min(domain[0][1] - domain[0][0], domain[1][1] - domain[1][0])
        if loop_kind == "circle":
            # bounds that stay valid however small a custom surface's ranges are
            r_max = max(round(0.45 * span, 3), 0.002)
            radius = st.slider("Loop radius", 0.001, r_max, help="In coordinates.",
                               value=
                               min(max(round(0.15 * span, 3), 0.001), r_max),
                               key=f"geo_radius_{cfg.key}")
        else:
            st.caption("The loop runs once around v at the start point's u.")

# -- compute ---------------------------------------------------------------------------------------
curves: list[figs.Curve] = []
points = [(p, "start")]
arrows: list[figs.Arrow] = []
drawing: figs.TransportDrawing | None = None
summary: list[tuple[str, str, str | None]] = []
stat_path = None

with guarded(MODES[mode].lower()):
    if mode == "geodesic":
        geo = cached.geodesic_for(cfg, p, math.radians(angle), length)
        curves.append(figs.Curve(geo.coords, "geodesic", geo.xyz, 0))
        summary += [("Length", f"{geo.length:.4f}", None),
                    ("Energy drift", f"{geo.energy_drift:.1e}", "relative change of |ẋ|²_g")]
        if not geo.ok:
            st.warning(figs.stop_sentence(geo))
        stat_path = geo.coords
    elif mode == "spray":
        spray, circles = cached.spray_for(cfg, p, n_dirs, length, n_circles)
        curves.append(figs.join_curves([(g.coords, g.xyz) for g in spray], "geodesics"))
        if circles:
            curves.append(figs.join_curves([(c.coords, c.xyz) for c in circles],
                                           "geodesic circles", color_index=1, width=4))
        stopped = sum(not g.ok for g in spray)
        summary += [("Geodesics", str(len(spray)), None),
                    ("Stopped early", str(stopped), "left the domain or hit a singularity"),
                    ("Circle radii", ", ".join(f"{c.radius:.2f}" for c in circles) or "–",
                     None)]
    elif mode == "shortest":
        points.append((q, "end"))
        res = cached.shortest_for(cfg, p, q)
        geo = res.geodesic
        if res.ok:
            curves.append(figs.Curve(geo.coords, "shortest geodesic found", geo.xyz, 0))
            summary.append(("Geodesic length", f"{geo.length:.4f}", None))
        else:
            st.error(f"Two-point solve failed: {geo.message}")
        curves.append(figs.Curve(res.segment, "straight segment in coordinates",
                                 res.segment_xyz, 4, dash="dash", width=3))
        if res.chord is not None:
            summary.append(("Chord in R³", f"{res.chord:.4f}", "a lower bound"))
        summary.append(("Straight segment", f"{res.straight:.4f}", "an upper bound"))
        stat_path = geo.coords if res.ok else None
    else:
        loop = ("circle", p[0], p[1], radius) if loop_kind == "circle" else ("parallel", p[0])
        tr = cached.transport_for(cfg, loop)
        curves.append(figs.Curve(tr.loop, "loop", tr.loop_xyz, 3))
        drawing = figs.transport_drawing(tr)
        if loop_kind == "circle":
            points = [(p, "centre")]
        total = tr.gauss_bonnet_total
        reduced = figs.reduce_angle(total)
        # both in degrees and reduced into (−180°, 180°]: the holonomy is only defined mod 360°
        summary += [("Holonomy angle", f"{math.degrees(tr.holonomy):.2f}°",
                     f"{tr.holonomy:.5f} rad, in (−π, π]"),
                    ("Gauss–Bonnet: ∬ K dA (mod 360°)", f"{math.degrees(reduced):.2f}°",
                     f"{reduced:.5f} rad, in (−π, π]; before reducing {total:.5f} rad. "
                     "∬ K dA over the enclosed region"
                     + ("" if tr.edge_holonomy == 0.0 else
                        f": {tr.enclosed_curvature:.5f} rad over the band down to the edge "
                        f"of the u range, plus {tr.edge_holonomy:.5f} rad, the holonomy of "
                        "that edge (about 0 next to a pole, the angle deficit at a cone's "
                        "apex)")),
                    ("Gauss–Bonnet gap (mod 2π)", f"{tr.gauss_bonnet_gap:.1e}", None)]


# -- draw ------------------------------------------------------------------------------------------
left, right = st.container(key="geo_figures").columns(2)
if isinstance(space, surfaces.ParametricSurface):
    with left, guarded("the 3-D view"):
        st.plotly_chart(figs.make_surface_figure(space, field=field, curves=curves,
                                                 points=points, arrows=arrows,
                                                 transport=drawing),
                        key=f"geo_surface_{cfg.key}", config=PLOT_CONFIG)
    with right, guarded("the parameter map"):
        st.plotly_chart(figs.make_parameter_map(space, field=field, curves=curves,
                                                points=points, arrows=arrows,
                                                transport=drawing),
                        key=map_key, on_select="rerun", selection_mode="points", config=PLOT_CONFIG)
else:
    with left, guarded("the coordinate plane"):
        st.plotly_chart(figs.make_metric_plane(space, curves=curves, points=points,
                                               arrows=arrows, transport=drawing),
                        key=map_key, on_select="rerun", selection_mode="points", config=PLOT_CONFIG)
    with right:
        if cfg.name == "gaussian" and stat_path is not None:
            with guarded("the densities"):
                st.plotly_chart(figs.make_gaussian_path_figure(stat_path),
                                key="geo_gaussian_densities", config=PLOT_CONFIG)
        elif cfg.name == "categorical" and stat_path is not None:
            with guarded("the distributions"):
                st.plotly_chart(figs.make_categorical_path_figure(stat_path),
                                key="geo_categorical_bars", config=PLOT_CONFIG)
        else:
            st.markdown(READING[cfg.name] if cfg.name in READING else READING["poincare"])
            if cfg.name in ("gaussian", "categorical"):
                st.caption("Choose 'One geodesic' or 'Shortest path' to see the distributions "
                           "morph along the geodesic.")

if summary:
    cols = st.columns(len(summary))
    for col, (label, value, helptext) in zip(cols, summary, strict=True):
        col.metric(label, value, help=helptext)


_explain()

# Simplifying a catalog surface's formulas takes seconds, so they are computed only while the
# panel is open (a custom surface's come ready from its bounded derivation); its key keeps it
# open when a warning appears above it.
formulas_panel = st.expander("Formulas: metric, Christoffel symbols, curvature",
                             key="geo_formulas", on_change="rerun")
if formulas_panel.open:
    with formulas_panel, guarded("the formulas"):
        with st.spinner("Simplifying the metric, the Christoffel symbols and the curvature "
                        "(a few seconds, once per surface)…"):
            tex = cached.latex_for(cfg)
        if "immersion" in tex:
            st.latex(tex["immersion"])
        st.latex(tex["metric"])
        st.latex(r"\begin{gathered}" + tex["christoffel"] + r"\end{gathered}")
        st.latex(tex["gaussian_curvature"])
        if is_surface:
            total = cached.total_curvature_for(cfg)
            st.markdown(f"Total curvature over the parameter domain: "
                        f"$\\iint K\\,dA = {total:.4f}$ "
                        f"(= {total / math.pi:.3f} π; Gauss–Bonnet gives 4π for a sphere, "
                        "0 for a torus).")
