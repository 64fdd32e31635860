"""Surfaces & geodesics: curvature, geodesics, sprays, shortest paths, parallel transport."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import streamlit as st

from dashboard import lessons, links
from dashboard.cached import geometry as cached
from dashboard.figures import geometry as figs
from dashboard.figures.presenting import curves_csv
from dashboard.i18n import options, t
from dashboard.widgets import apply_click, chart, guarded
from geomcore.expr import parse_expression
from geomcore.geometry import metrics, surfaces

MODES = ("geodesic", "spray", "shortest", "transport")
KINDS = ("catalog", "custom", "statistical")
CUSTOM_DEFAULT = ("(2 + 0.8*cos(u))*cos(v)", "(2 + 0.8*cos(u))*sin(v)", "0.8*sin(u) + 0.3*cos(2*v)")
MAX_FORMULA_CHARS = 300
SPACE_WIDGETS = ("geo_pu", "geo_pv", "geo_qu", "geo_qv", "geo_angle", "geo_length",
                 "geo_radius")
"""The widgets whose bounds or defaults belong to the space shown: they start again at the new
space's defaults when the visitor picks another space (a value of the last one could lie
outside the new domain)."""
LESSON_KEY = "geometry_lesson"
"""The frame's lesson picker on this page (``lessons.selector``)."""

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


def _new_space() -> None:
    """The visitor chose another space (callback): forget the last space's points, direction,
    length and loop radius, so that they open at the new space's defaults. Not called when a
    link or a lesson sets the space: their values are meant for it."""
    state = st.session_state
    for key in SPACE_WIDGETS:
        state.pop(key, None)
        state.pop(f"{key}__value", None)


def _check_formula(text: str) -> None:
    """The page's own bounded parser (:func:`geomcore.expr.parse_expression`): a formula in a
    link that it refuses (``__import__('os')``, ``9**9**9``, thousands of characters) opens
    the default formula instead, with the frame's notice."""
    parse_expression(text, ("u", "v"), ())


st.title(t("geometry.lab.title"))
st.caption(t("geometry.page.caption"))

# -- which space ---------------------------------------------------------------------------------
with st.sidebar:
    st.header(t("geometry.sidebar.space"))
    kind = links.radio(t("geometry.sidebar.kind"), KINDS, "catalog", key="geo_kind",
                       format_func=options("geometry.kinds").get, on_change=_new_space)
    if kind == "catalog":
        names = surfaces.names()
        name = links.selectbox(t("geometry.sidebar.surface"), names, "torus", key="geo_surface",
                               format_func=lambda n: t(f"geometry.surfaces.{n}.title"),
                               on_change=_new_space)
        spec = surfaces.spec(name)
        params = tuple(
            (k, links.slider(k, *spec.param_ranges[k], spec.params[k], step=0.05,
                             key=f"geo_param_{name}_{k}"))
            for k in spec.params
        )
        cfg = cached.SpaceConfig("catalog", name, params=params)
        for param_name, param_value in params:
            lessons.fact(f"param_{param_name}", param_value)
        st.caption(t(f"geometry.surfaces.{name}.description"))
    elif kind == "custom":
        st.caption(t("geometry.sidebar.custom_caption"))
        fx, fy, fz = (
            links.text_input(t("geometry.sidebar.formula", axis=axis), default,
                             key=f"geo_custom_{axis}", max_chars=MAX_FORMULA_CHARS,
                             validate=_check_formula, counter=False)
            for axis, default in zip("xyz", CUSTOM_DEFAULT, strict=True)
        )
        c1, c2 = st.columns(2)
        two_pi = round(2 * math.pi, 4)
        u_range = (links.number_input(t("geometry.sidebar.u_from"), -50.0, 50.0, 0.0,
                                      key="geo_custom_u0", container=c1, on_change=_new_space),
                   links.number_input(t("geometry.sidebar.u_to"), -50.0, 50.0, two_pi,
                                      key="geo_custom_u1", container=c2, on_change=_new_space))
        v_range = (links.number_input(t("geometry.sidebar.v_from"), -50.0, 50.0, 0.0,
                                      key="geo_custom_v0", container=c1, on_change=_new_space),
                   links.number_input(t("geometry.sidebar.v_to"), -50.0, 50.0, two_pi,
                                      key="geo_custom_v1", container=c2, on_change=_new_space))
        periodic = (links.checkbox(t("geometry.sidebar.u_periodic"), True, key="geo_custom_up",
                                   container=c1),
                    links.checkbox(t("geometry.sidebar.v_periodic"), True, key="geo_custom_vp",
                                   container=c2))
        cfg = cached.SpaceConfig("custom", "custom", formulas=(fx, fy, fz), u_range=u_range,
                                 v_range=v_range, periodic=periodic)
    else:
        name = links.selectbox(t("geometry.sidebar.manifold"), metrics.names(), key="geo_stat",
                               format_func=lambda n: t(f"geometry.manifolds.{n}.title"),
                               on_change=_new_space)
        cfg = cached.SpaceConfig("statistical", name)
    is_surface = kind != "statistical"
    field = links.radio(t("geometry.sidebar.colour_by"), figs.FIELDS, key="geo_field",
                        format_func=figs.field_label, disabled=not is_surface)


def _explain() -> None:
    with st.expander(t("geometry.explain.title"), key="geo_explain", on_change="rerun"):
        st.markdown(t("geometry.explain.intro"))
        st.latex(r"\ddot x^k + \Gamma^k_{ij}(x)\,\dot x^i \dot x^j = 0,\qquad "
                 r"\Gamma^k_{ij} = \tfrac12 g^{kl}(\partial_i g_{lj} + \partial_j g_{li} "
                 r"- \partial_l g_{ij}).")
        st.markdown(t("geometry.explain.modes"))


space = None
with guarded(t("geometry.errors.this_surface")):
    if cfg.kind == "custom" and not (cfg.u_range[0] < cfg.u_range[1]
                                     and cfg.v_range[0] < cfg.v_range[1]):
        raise ValueError(t("geometry.errors.empty_range"))
    if cfg.kind == "custom":
        for axis, text in zip("xyz", cfg.formulas, strict=True):
            if len(text) > MAX_FORMULA_CHARS:
                raise ValueError(t("geometry.errors.formula_too_long", axis=axis, n=len(text),
                                   max=MAX_FORMULA_CHARS))
    with st.spinner(t("geometry.spinners.custom", seconds=cached.CUSTOM_TIMEOUT_S)
                    if cfg.kind == "custom" else t("geometry.spinners.space")):
        space = cached.space_for(cfg)

if space is None:
    st.info(t("geometry.errors.fix_surface"))
    _explain()
    st.stop()

if isinstance(space, surfaces.ParametricSurface):
    with guarded(t("geometry.errors.total_curvature"), warning=True):
        total_curvature = cached.total_curvature_for(cfg)
        lessons.fact("total_curvature_over_pi", total_curvature / math.pi)
        lessons.fact("euler_characteristic", total_curvature / (2 * math.pi))

# -- mode and points -----------------------------------------------------------------------------
mode = links.radio(t("geometry.mode"), MODES, key="geo_mode",
                   format_func=options("geometry.modes").get, horizontal=True)
labels: tuple[str, ...]
if isinstance(space, surfaces.ParametricSurface):
    domain = (space.u_range, space.v_range)
    labels = ("u", "v")
else:
    first, second = figs.finite_domain(space)
    domain = (first, second)
    labels = tuple(map(figs.plain_label, space.coord_labels))
map_key = f"geo_map_{cfg.key}"
start = figs.start_defaults(cfg.name if cfg.kind != "custom" else "custom")
fractions = {"pu": start.u_frac, "pv": start.v_frac, "qu": 0.45, "qv": 0.55}
if cfg.kind == "statistical":
    fractions.update(qu=0.70, qv=0.35)
state = st.session_state
# A lesson chosen since the last run has reset the widgets: points remembered from before it
# must not come back.
if state.get("_geo_lesson_seen") != state.get(LESSON_KEY):
    for remembered_key in SPACE_WIDGETS:
        state.pop(f"{remembered_key}__value", None)
state["_geo_lesson_seen"] = state.get(LESSON_KEY)
point_defaults: dict[str, float] = {}
# The point lives in a plain session-state entry ("…__value") besides its slider's key: a
# slider's own state is dropped by Streamlit when a run ends without drawing it (an invalid
# formula stops the page early), and the widget and the picture must keep agreeing afterwards.
for w, frac in fractions.items():
    key = f"geo_{w}"
    lo, hi = domain[0] if w[1] == "u" else domain[1]
    point_defaults[key] = min(max(round(lo + frac * (hi - lo), 3), lo), hi)
    remembered = state.get(f"{key}__value")
    if key not in state and remembered is not None:
        state[key] = min(max(remembered, lo), hi)

click_target = state.get("geo_click_target", "start")
targets = ("geo_qu", "geo_qv") if click_target == "end" and mode == "shortest" \
    else ("geo_pu", "geo_pv")
apply_click(map_key, targets, domain)


def _point_sliders(prefix: str, title: str) -> tuple[float, float]:
    values = []
    for axis, (lo, hi), coordinate in zip("uv", domain, labels, strict=True):
        key = f"geo_{prefix}{axis}"
        value = links.slider(t("geometry.sidebar.point_coordinate", point=title,
                               coordinate=coordinate), float(lo), float(hi),
                             point_defaults[key], key=key, step=0.01)
        state[f"{key}__value"] = float(value)
        values.append(float(value))
    return (values[0], values[1])


with st.sidebar:
    st.header(t("geometry.sidebar.controls"))
    p = _point_sliders("p", t("geometry.sidebar.start_point"))
    lessons.fact("start_u", p[0])
    lessons.fact("start_v", p[1])
    if mode == "geodesic":
        angle = links.slider(t("geometry.sidebar.direction"), 0, 359, start.angle,
                             key="geo_angle", help=t("geometry.sidebar.direction_help"))
        length = links.slider(t("geometry.sidebar.length"), 0.1, cached.MAX_GEODESIC_LENGTH,
                              start.length, step=0.1, key="geo_length")
    elif mode == "spray":
        n_dirs = links.slider(t("geometry.sidebar.directions"), 8, cached.MAX_SPRAY_DIRECTIONS,
                              48, step=8, key="geo_ndirs")
        length = links.slider(t("geometry.sidebar.radius"), 0.1, cached.MAX_SPRAY_RADIUS, 2.5,
                              step=0.1, key="geo_spray_length",
                              help=t("geometry.sidebar.radius_help"))
        n_circles = links.slider(t("geometry.sidebar.circles"), 0, 8, 4, key="geo_ncircles")
    elif mode == "shortest":
        q = _point_sliders("q", t("geometry.sidebar.end_point"))
        lessons.fact("end_u", q[0])
        lessons.fact("end_v", q[1])
        links.radio(t("geometry.sidebar.click_sets"), ["start", "end"], horizontal=True,
                    key="geo_click_target", format_func=options("geometry.click").get)
    else:
        loop_kinds = ["circle"] + (["parallel"] if space.periodic[1] else [])
        loop_kind = links.radio(t("geometry.sidebar.loop"), loop_kinds, horizontal=True,
                                key="geo_loop_kind", format_func=options("geometry.loops").get)
        span = min(domain[0][1] - domain[0][0], domain[1][1] - domain[1][0])
        if loop_kind == "circle":
            # bounds that stay valid however small a custom surface's ranges are
            r_max = max(round(0.45 * span, 3), 0.002)
            radius = links.slider(t("geometry.sidebar.loop_radius"), 0.001, r_max,
                                  min(max(round(0.15 * span, 3), 0.001), r_max),
                                  key="geo_radius", help=t("geometry.sidebar.loop_radius_help"))
        else:
            st.caption(t("geometry.sidebar.parallel_caption"))

# -- compute ---------------------------------------------------------------------------------------
curves: list[figs.Curve] = []
points: list[tuple[Any, str]] = [(p, t("geometry.figure.start"))]
arrows: list[figs.Arrow] = []
drawing: figs.TransportDrawing | None = None
summary: list[tuple[str, str, str | None]] = []
stat_path = None
with guarded(t("geometry.errors.start_curvature"), warning=True):
    here = np.asarray(p, float)
    curvature_here = (space.gaussian_curvature(here[0], here[1])
                      if isinstance(space, surfaces.ParametricSurface)
                      else space.gaussian_curvature(here))
    lessons.fact("start_curvature", float(np.asarray(curvature_here)))


def _metric(name: str, value: str, helptext: str | None = None) -> None:
    summary.append((t(f"geometry.metrics.{name}"), value, helptext))


with guarded(t(f"geometry.what.{mode}")):
    if mode == "geodesic":
        geo = cached.geodesic_for(cfg, p, math.radians(angle), length)
        curves.append(figs.Curve(geo.coords, t("geometry.curves.geodesic"), geo.xyz, 0))
        _metric("length", f"{geo.length:.4f}")
        _metric("energy_drift", f"{geo.energy_drift:.1e}", t("geometry.metrics.energy_drift_help"))
        lessons.fact("geodesic_length", geo.length)
        if not geo.ok:
            st.warning(figs.stop_sentence(geo))
        stat_path = geo.coords
    elif mode == "spray":
        with st.spinner(t("geometry.spinners.spray")):
            spray, circles = cached.spray_for(cfg, p, n_dirs, length, n_circles)
        curves.append(figs.join_curves([(g.coords, g.xyz) for g in spray],
                                       t("geometry.curves.geodesics")))
        if circles:
            curves.append(figs.join_curves([(c.coords, c.xyz) for c in circles],
                                           t("geometry.curves.circles"), color_index=1,
                                           width=4))
        stopped = sum(not g.ok for g in spray)
        _metric("geodesics", str(len(spray)))
        _metric("stopped", str(stopped), t("geometry.metrics.stopped_help"))
        _metric("circle_radii", ", ".join(f"{c.radius:.2f}" for c in circles) or "–")
        lessons.fact("spray_stopped", stopped)
        if circles:
            ratios = [cached.circle_length(space, c) / (2 * math.pi * c.radius) for c in circles]
            _metric("outer_ratio", f"{ratios[-1]:.3f}", t("geometry.metrics.outer_ratio_help"))
            lessons.fact("inner_circle_radius", circles[0].radius)
            lessons.fact("outer_circle_radius", circles[-1].radius)
            lessons.fact("inner_circle_ratio", ratios[0])
            # Bertrand–Diguet–Puiseux: C(r) = 2πr − (π/3) K r³ + O(r⁴), so the shortfall of the
            # smallest circle estimates K at the centre
            lessons.fact("inner_circle_curvature", 6 * (1 - ratios[0]) / circles[0].radius ** 2)
            lessons.fact("outer_circle_ratio", ratios[-1])
            lessons.fact("inner_circle_cusps", cached.circle_cusps(circles[0]))
            lessons.fact("outer_circle_cusps", cached.circle_cusps(circles[-1]))
    elif mode == "shortest":
        points.append((q, t("geometry.figure.end")))
        with st.spinner(t("geometry.spinners.shortest")):
            res = cached.shortest_for(cfg, p, q)
        geo = res.geodesic
        if res.ok:
            curves.append(figs.Curve(geo.coords, t("geometry.curves.shortest"), geo.xyz, 0))
            _metric("geodesic_length", f"{geo.length:.4f}")
            lessons.fact("shortest_length", geo.length)
        else:
            st.error(t("geometry.errors.two_point_failed", reason=geo.message))
        curves.append(figs.Curve(res.segment, t("geometry.curves.segment"), res.segment_xyz, 4,
                                 dash="dash", width=3))
        if res.chord is not None:
            _metric("chord", f"{res.chord:.4f}", t("geometry.metrics.chord_help"))
            lessons.fact("chord_length", res.chord)
        _metric("straight", f"{res.straight:.4f}", t("geometry.metrics.straight_help"))
        lessons.fact("straight_length", res.straight)
        if cfg.kind == "statistical":
            reference = cached.fisher_rao_distance(cfg.name, p, q)
            if reference is not None:
                _metric("closed_form", f"{reference:.4f}", t("geometry.metrics.closed_form_help"))
                lessons.fact("closed_form_distance", reference)
            if cfg.name == "gaussian" and res.ok:
                lessons.fact("path_max_sigma", float(np.max(geo.coords[:, 1])))
        stat_path = geo.coords if res.ok else None
    else:
        loop = ("circle", p[0], p[1], radius) if loop_kind == "circle" else ("parallel", p[0])
        with st.spinner(t("geometry.spinners.transport")):
            tr = cached.transport_for(cfg, loop)
        curves.append(figs.Curve(tr.loop, t("geometry.curves.loop"), tr.loop_xyz, 3))
        drawing = figs.transport_drawing(tr)
        if loop_kind == "circle":
            points = [(p, t("geometry.figure.centre"))]
        total = tr.gauss_bonnet_total
        reduced = figs.reduce_angle(total)
        # both in degrees and reduced into (−180°, 180°]: the holonomy is only defined mod 360°
        edge = ("" if tr.edge_holonomy == 0.0 else
                t("geometry.metrics.gauss_bonnet_edge", band=tr.enclosed_curvature,
                  edge=tr.edge_holonomy))
        _metric("holonomy", f"{math.degrees(tr.holonomy):.2f}°",
                t("geometry.metrics.holonomy_help", rad=tr.holonomy))
        _metric("gauss_bonnet", f"{math.degrees(reduced):.2f}°",
                t("geometry.metrics.gauss_bonnet_help", rad=reduced, total=total) + edge)
        _metric("gap", f"{tr.gauss_bonnet_gap:.1e}")
        lessons.fact("holonomy_deg", math.degrees(tr.holonomy))
        lessons.fact("curvature_deg", math.degrees(reduced))
        lessons.fact("gauss_bonnet_gap", tr.gauss_bonnet_gap)
        if loop_kind == "circle":
            lessons.fact("loop_radius", radius)


# -- draw ------------------------------------------------------------------------------------------
def _curves_only(fig: Any) -> str:
    """The CSV of the curves and points only: every trace would also write the casing under
    each line and the clickable grid (thousands of rows)."""
    return curves_csv(fig, traces=figs.curve_traces(fig))


left, right = st.container(key="geo_figures").columns(2)
csv_name = f"geometry-{mode}"
if isinstance(space, surfaces.ParametricSurface):
    with left, guarded(t("geometry.what.surface_view")):
        chart(figs.make_surface_figure(space, field=field, curves=curves, points=points,
                                       arrows=arrows, transport=drawing),
              csv=f"{csv_name}-3d", export=_curves_only, key=f"geo_surface_{cfg.key}")
    with right, guarded(t("geometry.what.parameter_map")):
        chart(figs.make_parameter_map(space, field=field, curves=curves, points=points,
                                      arrows=arrows, transport=drawing),
              csv=csv_name, export=_curves_only, key=map_key, on_select="rerun",
              selection_mode="points")
else:
    with left, guarded(t("geometry.what.coordinate_plane")):
        chart(figs.make_metric_plane(space, curves=curves, points=points, arrows=arrows,
                                     transport=drawing, manifold=cfg.name),
              csv=csv_name, export=_curves_only, key=map_key, on_select="rerun",
              selection_mode="points")
    with right:
        if cfg.name == "gaussian" and stat_path is not None:
            with guarded(t("geometry.what.densities")):
                chart(figs.make_gaussian_path_figure(stat_path), csv="geometry-densities",
                      key="geo_gaussian_densities")
        elif cfg.name == "categorical" and stat_path is not None:
            with guarded(t("geometry.what.distributions")):
                chart(figs.make_categorical_path_figure(stat_path), key="geo_categorical_bars")
        else:
            reading = cfg.name if cfg.name in ("poincare", "gaussian", "categorical") \
                else "poincare"
            st.markdown(t("geometry.reading.ellipses") + " " + t(f"geometry.reading.{reading}"))
            if cfg.name in ("gaussian", "categorical"):
                st.caption(t("geometry.reading.choose_mode"))

if summary:
    cols = st.columns(len(summary))
    for col, (label, value, helptext) in zip(cols, summary, strict=True):
        col.metric(label, value, help=helptext)


_explain()

# Simplifying a catalog surface's formulas takes seconds, so they are computed only while the
# panel is open (a custom surface's come ready from its bounded derivation); its key keeps it
# open when a warning appears above it.
formulas_panel = st.expander(t("geometry.formulas.title"), key="geo_formulas",
                             on_change="rerun")
if formulas_panel.open:
    with formulas_panel, guarded(t("geometry.what.formulas")):
        with st.spinner(t("geometry.formulas.spinner")):
            tex = cached.latex_for(cfg)
        if "immersion" in tex:
            st.latex(tex["immersion"])
        st.latex(tex["metric"])
        st.latex(r"\begin{gathered}" + tex["christoffel"] + r"\end{gathered}")
        st.latex(tex["gaussian_curvature"])
        if is_surface:
            total = cached.total_curvature_for(cfg)
            st.markdown(t("geometry.formulas.total", total=total, over_pi=total / math.pi))
