"""Surfaces & geodesics: curvature, geodesics, sprays, shortest paths, parallel transport."""

from __future__ import annotations

import math

import streamlit as st

from dashboard.cached import geometry as cached
from dashboard.figures import geometry as figs
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
PLOT = {"config": {"displaylogo": False}}

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
        formulas = tuple(
            st.text_input(f"{axis}(u, v)", value=default, key=f"geo_custom_{axis}",
                          max_chars=300)
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
        cfg = cached.SpaceConfig("custom", "custom", formulas=formulas, u_range=u_range,
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
    with st.expander("Explain: the geodesic equation and what to look for"):
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
    space = cached.space_for(cfg)

if space is None:
    st.info("Fix the surface in the sidebar; the rest of the page appears once it is valid.")
    _explain()
    st.stop()

# -- mode and points -----------------------------------------------------------------------------
mode = st.radio("Explore", list(MODES), format_func=MODES.get, horizontal=True,
                key="geo_mode")
domain = (space.u_range, space.v_range) if is_surface else tuple(
    (lo, hi) for lo, hi in figs.finite_domain(space))
labels = ("u", "v") if is_surface else tuple(map(figs.plain_label, space.coord_labels))
map_key = f"geo_map_{cfg.key}"
keys = {w: f"geo_{cfg.key}_{w}" for w in ("pu", "pv", "qu", "qv")}
defaults = {"pu": 0.22, "pv": 0.15, "qu": 0.45, "qv": 0.55}  # upper, camera-facing side
if cfg.kind == "statistical":
    defaults = {"pu": 0.35, "pv": 0.30, "qu": 0.70, "qv": 0.35}
for w, frac in defaults.items():
    lo, hi = domain[0] if w[1] == "u" else domain[1]
    st.session_state.setdefault(keys[w], round(lo + frac * (hi - lo), 3))

click_target = st.session_state.get("geo_click_target", "start")
targets = (keys["qu"], keys["qv"]) if click_target == "end" and mode == "shortest" \
    else (keys["pu"], keys["pv"])
apply_click(map_key, targets, domain)


def _point_sliders(prefix: str, title: str) -> tuple[float, float]:
    a = st.slider(f"{title}: {labels[0]}", float(domain[0][0]), float(domain[0][1]),
                  key=keys[prefix + "u"], step=0.01)
    b = st.slider(f"{title}: {labels[1]}", float(domain[1][0]), float(domain[1][1]),
                  key=keys[prefix + "v"], step=0.01)
    return (float(a), float(b))


with st.sidebar:
    st.header("Controls")
    p = _point_sliders("p", "Start point")
    if mode == "geodesic":
        angle = st.slider("Direction (degrees from the first coordinate axis)", 0, 359, 40,
                          key="geo_angle")
        length = st.slider("Length", 0.1, 20.0, 6.0, step=0.1, key="geo_length")
    elif mode == "spray":
        n_dirs = st.slider("Number of directions", 8, 128, 48, step=8, key="geo_ndirs")
        length = st.slider("Radius (geodesic length)", 0.1, 10.0, 2.5, step=0.1,
                           key="geo_spray_length")
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
            radius = st.slider("Loop radius (in coordinates)", 0.001, r_max,
                               min(max(round(0.15 * span, 3), 0.001), r_max),
                               key=f"geo_radius_{cfg.key}")
        else:
            st.caption("The loop runs once around v at the start point's u.")

# -- compute ---------------------------------------------------------------------------------------
curves: list[figs.Curve] = []
points = [(p, "start")]
arrows: list[figs.Arrow] = []
summary: list[tuple[str, str, str | None]] = []
gaussian_path = None

with guarded(MODES[mode].lower()):
    if mode == "geodesic":
        geo = cached.geodesic_for(cfg, p, math.radians(angle), length)
        curves.append(figs.Curve(geo.coords, "geodesic", geo.xyz, 0))
        summary += [("Length", f"{geo.length:.4f}", None),
                    ("Energy drift", f"{geo.energy_drift:.1e}", "relative change of |ẋ|²_g"),
                    ("Status", geo.status, None)]
        if not geo.ok:
            st.warning(f"The geodesic {geo.message}; it is drawn up to there.")
        gaussian_path = geo.coords
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
        gaussian_path = geo.coords if res.ok else None
    else:
        loop = ("circle", p[0], p[1], radius) if loop_kind == "circle" else ("parallel", p[0])
        tr = cached.transport_for(cfg, loop)
        curves.append(figs.Curve(tr.loop, "loop", tr.loop_xyz, 3))
        arrows = figs.transport_arrows(tr, length_2d=0.08 * span)
        summary += [("Holonomy angle", f"{math.degrees(tr.holonomy):.2f}°",
                     f"{tr.holonomy:.5f} rad"),
                    ("Gauss–Bonnet: ∬ K dA", f"{tr.enclosed_curvature + tr.edge_holonomy:.5f}",
                     "∬ K dA over the enclosed region, in radians"
                     + ("" if tr.edge_holonomy == 0.0 else
                        f": {tr.enclosed_curvature:.5f} over the band down to the edge of "
                        f"the u range, plus {tr.edge_holonomy:.5f}, the holonomy of that "
                        "edge (about 0 next to a pole, the angle deficit at a cone's apex)")),
                    ("Gauss–Bonnet gap (mod 2π)", f"{tr.gauss_bonnet_gap:.1e}", None)]


# -- draw ------------------------------------------------------------------------------------------
left, right = st.columns(2)
if is_surface:
    with left, guarded("the 3-D view"):
        st.plotly_chart(figs.make_surface_figure(space, field=field, curves=curves,
                                                 points=points, arrows=arrows),
                        key=f"geo_surface_{cfg.key}", **PLOT)
    with right, guarded("the parameter map"):
        st.plotly_chart(figs.make_parameter_map(space, field=field, curves=curves,
                                                points=points, arrows=arrows),
                        key=map_key, on_select="rerun", selection_mode="points", **PLOT)
else:
    with left, guarded("the coordinate plane"):
        st.plotly_chart(figs.make_metric_plane(space, curves=curves, points=points,
                                               arrows=arrows),
                        key=map_key, on_select="rerun", selection_mode="points", **PLOT)
    with right:
        if cfg.name == "gaussian" and gaussian_path is not None:
            with guarded("the densities"):
                st.plotly_chart(figs.make_gaussian_path_figure(gaussian_path),
                                key="geo_gaussian_densities", **PLOT)
        else:
            st.markdown(
                "**Reading the picture.** Each grey ellipse is a unit circle of the metric: "
                "where the ellipses are small, a small step in coordinates is a long way. "
                "Geodesics bend towards larger ellipses (smaller σ or y costs more), so the "
                "shortest way between two distributions detours through wider ones. In the "
                "half-plane every geodesic is a semicircle centred on the x-axis (or a vertical "
                "line)."
            )
            if cfg.name == "gaussian":
                st.caption("Choose 'One geodesic' or 'Shortest path' to see the densities "
                           "morph along the geodesic.")

if summary:
    cols = st.columns(len(summary))
    for col, (label, value, helptext) in zip(cols, summary, strict=True):
        col.metric(label, value, help=helptext)


_explain()

with st.expander("Formulas: metric, Christoffel symbols, curvature"):
    with guarded("the formulas"):
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
