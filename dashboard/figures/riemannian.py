"""Figure builders of the Riemannian-optimisation page: pure functions, data in, ``go.Figure``
out (no Streamlit).

* :func:`make_sphere_figure`: S² coloured by the Rayleigh quotient with the four methods' paths
  and, at one iteration, the Euclidean step, its tangent projection and the retraction;
* :func:`make_convergence_figure`: ``f - f*`` and the distance off the manifold per iteration;
* :func:`make_spd_cone_figure`: SPD(2) as the open cone ``{a > 0, ac > b²}`` with the inputs,
  the three means and the geodesics;
* :func:`make_tree_figure`: a tree on the Poincaré disk (edges as hyperbolic geodesics) beside
  its Euclidean embedding, animated over training;
* :func:`make_stiefel_figure`: RSGD, RAdam and RCG on Brockett's cost;
* :func:`make_federated_sphere_figure`, :func:`make_federated_gap_figure`,
  :func:`make_floor_figure`: federated runs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.figures.theme import SEQUENTIAL_SCALE, apply_layout, color
from dashboard.i18n import t
from geomcore.riemannian.demos import METHOD_LABELS, SPDMeans, SphereDemo, Trace
from geomcore.riemannian.federated import FederatedHistory
from geomcore.riemannian.problems import TreeEmbedding

__all__ = [
    "make_convergence_figure",
    "make_federated_gap_figure",
    "make_federated_sphere_figure",
    "make_floor_figure",
    "make_sphere_figure",
    "make_spd_cone_figure",
    "make_stiefel_figure",
    "make_tree_figure",
    "method_name",
    "run_message",
]

_METHOD_KEYS = {label: key for key, label in METHOD_LABELS.items()}


def method_name(label: str) -> str:
    """A run's name in the reader's language: the sphere methods of
    :data:`~geomcore.riemannian.demos.METHOD_LABELS` are translated, other names (RSGD, RAdam,
    RCG) are kept."""
    key = _METHOD_KEYS.get(label)
    return t(f"riemannian.methods.{key}") if key is not None else label

TINY = 1e-16
"""Gaps below this are drawn at it: a log axis cannot show 0 (reached to round-off)."""
SPHERE_SCENE = dict(xaxis=dict(title="x", range=[-1.3, 1.3]),
                    yaxis=dict(title="y", range=[-1.3, 1.3]),
                    zaxis=dict(title="z", range=[-1.3, 1.3]),
                    aspectmode="cube", camera=dict(eye=dict(x=1.5, y=1.3, z=0.9)))


MAX_CAMERA_ELEVATION = np.radians(35.0)
"""Highest camera above the equator: from higher up the box's tick labels crowd together."""
MIN_AXIS_ANGLE = np.radians(25.0)
"""Smallest horizontal angle between the camera and a coordinate axis."""


def _camera_towards(*points: np.ndarray, distance: float = 1.9) -> dict:
    """A camera looking at the sphere from the side where ``points`` are (their mean
    direction, lifted a little), so that the paths are on the visible hemisphere; its
    elevation stays within ±:data:`MAX_CAMERA_ELEVATION` and its heading at least
    :data:`MIN_AXIS_ANGLE` away from the x and y axes."""
    d = np.sum([p / max(np.linalg.norm(p), 1e-12) for p in points], axis=0)
    if np.linalg.norm(d) < 1e-6:
        d = np.array([1.0, 1.0, 0.6])
    d = d / np.linalg.norm(d) + np.array([0.0, 0.0, 0.35])
    across = float(np.hypot(d[0], d[1]))
    azimuth = float(np.arctan2(d[1], d[0])) if across > 1e-9 else np.pi / 4
    # looking along an axis foreshortens its tick labels into a crowd: turn 25° away from it
    axis = np.round(azimuth / (np.pi / 2)) * (np.pi / 2)
    if abs(azimuth - axis) < MIN_AXIS_ANGLE:
        azimuth = axis + (MIN_AXIS_ANGLE if azimuth >= axis else -MIN_AXIS_ANGLE)
    heading = np.array([np.cos(azimuth), np.sin(azimuth)])
    elevation = float(np.clip(np.arctan2(d[2], across), -MAX_CAMERA_ELEVATION,
                              MAX_CAMERA_ELEVATION))
    d = distance * np.array([*(np.cos(elevation) * heading), np.sin(elevation)])
    return dict(eye=dict(x=float(d[0]), y=float(d[1]), z=float(d[2])))


def _sphere_mesh(resolution: int = 60) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    u = np.linspace(0, np.pi, resolution)
    v = np.linspace(0, 2 * np.pi, 2 * resolution)
    uu, vv = np.meshgrid(u, v, indexing="ij")
    return np.sin(uu) * np.cos(vv), np.sin(uu) * np.sin(vv), np.cos(uu)


def _log_gap(values: np.ndarray) -> np.ndarray:
    """``f - f*`` for a log axis: at least :data:`TINY`, NaN where not finite."""
    out = np.where(np.isfinite(values), np.abs(values), np.nan)
    return np.maximum(out, TINY)


def _arrow(start: np.ndarray, vec: np.ndarray, ink: str, name: str,
           dash: str = "solid") -> list:
    end = start + vec
    length = float(np.linalg.norm(vec))
    traces: list = [go.Scatter3d(x=[start[0], end[0]], y=[start[1], end[1]],
                                 z=[start[2], end[2]], mode="lines", name=name,
                                 legendgroup=name, line=dict(color=ink, width=7, dash=dash),
                                 hoverinfo="name")]
    if length > 1e-9:
        unit = vec / length
        traces.append(go.Cone(x=[end[0]], y=[end[1]], z=[end[2]], u=[unit[0]], v=[unit[1]],
                              w=[unit[2]], sizemode="absolute", sizeref=0.09, anchor="tip",
                              showscale=False, colorscale=[[0, ink], [1, ink]],
                              legendgroup=name, showlegend=False, hoverinfo="skip"))
    return traces


SCENE_RADIUS = 1.25


def _inside_scene(points: np.ndarray) -> np.ndarray:
    """The path up to its first point beyond :data:`SCENE_RADIUS`, that point pulled back
    onto the radius along its direction (so that a path leaving the sphere shows where it
    heads instead of vanishing)."""
    norms = np.linalg.norm(points, axis=1)
    outside = np.flatnonzero(~(norms <= SCENE_RADIUS))
    if outside.size == 0:
        return points
    k = int(outside[0])
    last = points[k]
    if not np.all(np.isfinite(last)):
        return points[:k]
    return np.vstack([points[:k], last * (SCENE_RADIUS / norms[k])])


def make_sphere_figure(demo: SphereDemo, *, iteration: int, arrows_run: str,
                       shown: Sequence[str] | None = None) -> go.Figure:
    """S² coloured by the Rayleigh quotient ``xᵀAx``, each method's iterates, and at
    ``iteration`` of ``arrows_run``: the Euclidean step ``-η∇f``, its tangent projection
    ``-η grad f`` and the retraction back to the sphere (dashed). A path that leaves the scene
    (the never-projected run) ends where it crosses the radius 1.25."""
    xs, ys, zs = _sphere_mesh()
    pts = np.stack([xs, ys, zs], axis=-1)
    rq = np.einsum("...i,ij,...j->...", pts, demo.a, pts)
    fig = go.Figure()
    fig.add_trace(go.Surface(
        x=xs, y=ys, z=zs, surfacecolor=rq, colorscale=SEQUENTIAL_SCALE, opacity=0.75,
        colorbar=dict(title=dict(text="xᵀAx", side="right"), thickness=12, len=0.7, x=1.0),
        name=t("riemannian.figures.sphere.rayleigh"), showlegend=False,
        hovertemplate="xᵀAx = %{surfacecolor:.3f}<extra></extra>"))
    names = list(demo.runs) if shown is None else [n for n in demo.runs if n in shown]
    for i, name in enumerate(demo.runs):
        if name not in names:
            continue
        its = _inside_scene(demo.runs[name].iterates)
        fig.add_trace(go.Scatter3d(
            x=its[:, 0], y=its[:, 1], z=its[:, 2], mode="lines+markers", name=method_name(name),
            line=dict(color=color(i), width=5), marker=dict(size=3, color=color(i))))
    v = demo.v_max
    fig.add_trace(go.Scatter3d(x=[v[0], -v[0]], y=[v[1], -v[1]], z=[v[2], -v[2]],
                               mode="markers", name=t("riemannian.figures.sphere.optimum"),
                               marker=dict(size=7, color="black", symbol="diamond")))
    if arrows_run in demo.runs and demo.runs[arrows_run].iterates.shape[0] >= 2:
        s = demo.step_vectors(arrows_run, iteration)
        x = s["x"]
        fig.add_traces(_arrow(x, s["euclidean_step"], "#D55E00",
                              t("riemannian.figures.sphere.euclidean_step")))
        fig.add_traces(_arrow(x, s["tangent_step"], "#009E73",
                              t("riemannian.figures.sphere.tangent_step")))
        fig.add_traces(_arrow(s["tangent_end"], s["next"] - s["tangent_end"], "#CC79A7",
                              t("riemannian.figures.sphere.retraction"), dash="dash"))
    first = next(iter(demo.runs.values())).iterates
    camera = _camera_towards(first[0], first[-1]) if first.shape[0] else SPHERE_SCENE["camera"]
    apply_layout(fig, t("riemannian.figures.sphere.title"), height=680)
    fig.update_layout(scene=dict(SPHERE_SCENE, camera=camera),
                      margin=dict(l=0, r=0, t=60, b=100),
                      legend=dict(orientation="h", x=0.0, y=0.0, yanchor="top",
                                  font=dict(size=12)))
    return fig


def sphere_warnings(demo: SphereDemo) -> list[str]:
    """Plain messages for the runs meant to converge that did not decrease ``f - f*``
    (a step too large for the spectrum), or that failed (NaN)."""
    out = []
    spread = float(demo.eigenvalues.max() - demo.eigenvalues.min())
    for name, tr in demo.runs.items():
        if name == METHOD_LABELS["ambient"]:
            continue
        if tr.status not in ("ok", "max_iter"):
            out.append(t("riemannian.warnings.run", name=method_name(name),
                         message=tr.message))
        elif (tr.gap.size > 1 and abs(tr.gap[0]) > 1e-9
              and not abs(tr.gap[-1]) < 0.5 * abs(tr.gap[0])):
            out.append(t("riemannian.warnings.did_not_converge", name=method_name(name),
                         first=float(tr.gap[0]), last=float(tr.gap[-1]), lr=demo.lr,
                         spread=spread))
    return out


def run_message(tr: Trace) -> str:
    """What happened to a sphere run, in the reader's language, from its record (the
    solver's own message is English): diverged, left the manifold, stayed on it, or NaN."""
    steps = max(int(tr.f.size) - 1, 0)
    off = float(tr.off_manifold[-1]) if tr.off_manifold.size else math.nan
    if tr.status == "diverged":
        return t("riemannian.runs.diverged", f=float(tr.f[-1]), k=steps, off=off)
    if tr.status == "off_manifold":
        return t("riemannian.runs.off_manifold", k=steps, off=off)
    if tr.status in ("max_iter", "ok"):
        return t("riemannian.runs.on_manifold", k=steps, off=off)
    if tr.status == "nan":
        return t("riemannian.runs.nan", k=steps)
    return tr.message


def make_convergence_figure(runs: Mapping[str, Trace], *, title: str,
                            x_title: str | None = None) -> go.Figure:
    """Two panels: ``|f - f*|`` (log) and the distance from the manifold (log) per iteration."""
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.14,
                        subplot_titles=(t("riemannian.figures.convergence.gap"),
                                        t("riemannian.figures.convergence.off")))
    for i, (name, tr) in enumerate(runs.items()):
        k = np.arange(tr.f.size)
        label = method_name(name)
        fig.add_trace(go.Scatter(x=k, y=_log_gap(tr.gap), mode="lines", name=label,
                                 legendgroup=label, line=dict(color=color(i), width=2.5)),
                      row=1, col=1)
        fig.add_trace(go.Scatter(x=k, y=np.maximum(tr.off_manifold, TINY), mode="lines",
                                 name=label, legendgroup=label, showlegend=False,
                                 line=dict(color=color(i), width=2.5)), row=1, col=2)
    fig.update_yaxes(type="log", exponentformat="power", row=1, col=1, title_text="|f − f*|")
    fig.update_yaxes(type="log", exponentformat="power", row=1, col=2,
                     title_text=t("riemannian.figures.convergence.distance"))
    fig.update_xaxes(title_text=t("riemannian.figures.iteration") if x_title is None
                     else x_title)
    apply_layout(fig, title, height=440)
    fig.update_layout(legend=dict(orientation="h", x=0, y=-0.25, yanchor="top"),
                      margin=dict(b=120))
    return fig


# -- SPD(2) --------------------------------------------------------------------------------------
def _abc(m: np.ndarray) -> np.ndarray:
    """SPD(2) matrices ``[..., 2, 2]`` as cone coordinates ``(a, b, c)``."""
    return np.stack([m[..., 0, 0], m[..., 0, 1], m[..., 1, 1]], axis=-1)


MEAN_STYLE = {"arithmetic": ("#D55E00", "square"),
              "log_euclidean": ("#009E73", "diamond"),
              "affine": ("#0072B2", "circle")}
"""Mean → (colour, marker); its name is ``riemannian.figures.spd.means.<mean>``."""
GEODESIC_STYLE = {"euclidean": ("#D55E00", "dot"),
                  "log_euclidean": ("#009E73", "dash"),
                  "affine": ("#0072B2", "solid")}
"""Metric → (colour, dash); its name is ``riemannian.figures.spd.geodesics.<metric>``."""


def mean_name(key: str) -> str:
    """The name of one of the three SPD means in the reader's language."""
    return t(f"riemannian.figures.spd.means.{key}")


def make_spd_cone_figure(means: SPDMeans) -> go.Figure:
    """The boundary ``ac = b²`` of the SPD(2) cone (translucent), the input matrices, their
    three means, and the geodesics from the first input to the others in three metrics."""
    pts = _abc(means.inputs)
    top = float(max(pts[:, 0].max(), pts[:, 2].max())) * 1.15
    grid = np.linspace(0, top, 40)
    aa, cc = np.meshgrid(grid, grid, indexing="ij")
    fig = go.Figure()
    for sign in (1.0, -1.0):  # the two sheets b = ±sqrt(ac) of the boundary
        fig.add_trace(go.Surface(x=aa, y=sign * np.sqrt(aa * cc), z=cc, opacity=0.18,
                                 showscale=False, colorscale=[[0, "#8c96a0"], [1, "#8c96a0"]],
                                 name=t("riemannian.figures.spd.boundary"),
                                 legendgroup="boundary",
                                 showlegend=sign > 0, hoverinfo="skip"))
    for key, (ink, dash) in GEODESIC_STYLE.items():
        label = t(f"riemannian.figures.spd.geodesics.{key}")
        for j, curve in enumerate(means.geodesics[key]):
            q = _abc(curve)
            fig.add_trace(go.Scatter3d(x=q[:, 0], y=q[:, 1], z=q[:, 2], mode="lines",
                                       name=label, legendgroup=label, showlegend=j == 0,
                                       line=dict(color=ink, width=5, dash=dash)))
    fig.add_trace(go.Scatter3d(
        x=pts[:, 0], y=pts[:, 1], z=pts[:, 2], mode="markers+text",
        name=t("riemannian.figures.spd.inputs"),
        text=[f"A{i + 1}" for i in range(len(pts))], textposition="top center",
        marker=dict(size=6, color="black")))
    for key, (ink, symbol) in MEAN_STYLE.items():
        q = _abc(getattr(means, key))
        fig.add_trace(go.Scatter3d(x=[q[0]], y=[q[1]], z=[q[2]], mode="markers",
                                   name=mean_name(key),
                                   marker=dict(size=9, color=ink, symbol=symbol,
                                               line=dict(color="black", width=1))))
    apply_layout(fig, t("riemannian.figures.spd.title"),
                 height=600, title_width=60)
    fig.update_layout(scene=dict(xaxis=dict(title="a"), yaxis=dict(title="b"),
                                 zaxis=dict(title="c"), aspectmode="cube",
                                 camera=dict(eye=dict(x=1.6, y=-1.5, z=0.9))),
                      margin=dict(l=0, r=0, t=80, b=110),
                      legend=dict(orientation="h", x=0.0, y=0.0, yanchor="top",
                                  font=dict(size=12)))
    return fig


def swelling_rows(means: SPDMeans) -> list[dict[str, str]]:
    """Table rows: each input's determinant, then each mean's (column headers in the reader's
    language)."""
    matrix, det = t("riemannian.figures.spd.table.matrix"), t("riemannian.figures.spd.table.det")
    rows = [{matrix: f"A{i + 1}", det: f"{d:.4g}"}
            for i, d in enumerate(means.input_determinants)]
    rows += [{matrix: mean_name(k), det: f"{means.determinants[k]:.4g}"} for k in MEAN_STYLE]
    return rows


def swelling_text(means: SPDMeans) -> str:
    """The swelling effect in numbers, stated only as far as it holds."""
    arith = means.determinants["arithmetic"]
    geo = means.determinants["affine"]
    biggest = float(means.input_determinants.max())
    text = t("riemannian.figures.spd.swelling.dets", arith=arith, geo=geo)
    key = "swells" if arith > biggest * (1 + 1e-9) else "no_swelling"
    return text + " " + t(f"riemannian.figures.spd.swelling.{key}", biggest=biggest)


# -- Poincaré disk ---------------------------------------------------------------------------------
def disk_geodesic(x: np.ndarray, y: np.ndarray, n: int = 24) -> np.ndarray:
    """Points of the hyperbolic geodesic from ``x`` to ``y`` on the Poincaré disk: the Möbius
    form ``x ⊕ (t ⊗ (-x ⊕ y))``, a circle arc orthogonal to the boundary."""
    def add(p: np.ndarray, q: np.ndarray) -> np.ndarray:
        pq = p @ q if q.ndim == 1 else q @ p
        p2, q2 = p @ p, np.sum(q * q, axis=-1)
        num = (1 + 2 * pq + q2)[..., None] * p + (1 - p2) * q
        return num / (1 + 2 * pq + p2 * q2)[..., None]

    d = add(-x, y)
    r = float(np.linalg.norm(d))
    t = np.linspace(0, 1, n)
    if r < 1e-12:
        return np.repeat(x[None], n, axis=0)
    scaled = (np.tanh(t * np.arctanh(min(r, 1 - 1e-15))) / r)[:, None] * d
    return add(x, scaled)


def _edge_xy(positions: np.ndarray, edges: np.ndarray, hyperbolic: bool
             ) -> tuple[list[float | None], list[float | None]]:
    xs: list[float | None] = []
    ys: list[float | None] = []
    for i, j in edges:
        if hyperbolic:
            arc = disk_geodesic(positions[i], positions[j])
        else:
            arc = np.stack([positions[i], positions[j]])
        xs += [*arc[:, 0].tolist(), None]
        ys += [*arc[:, 1].tolist(), None]
    return xs, ys


def make_tree_figure(hyperbolic: TreeEmbedding, euclidean: TreeEmbedding) -> go.Figure:
    """The tree on the Poincaré disk (edges as geodesics: circle arcs orthogonal to the unit
    circle) beside its Euclidean embedding, nodes coloured by depth; animated over the
    training snapshots (▶ Replay and the slider)."""
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1, subplot_titles=(
        t("riemannian.figures.tree.disk", distortion=hyperbolic.distortion,
          map=hyperbolic.mean_average_precision),
        t("riemannian.figures.tree.plane", distortion=euclidean.distortion,
          map=euclidean.mean_average_precision)))
    circle = np.linspace(0, 2 * np.pi, 200)
    fig.add_trace(go.Scatter(x=np.cos(circle), y=np.sin(circle), mode="lines",
                             line=dict(color="#8c96a0", width=1.5),
                             name=t("riemannian.figures.tree.boundary"),
                             hoverinfo="skip"), row=1, col=1)
    depths = hyperbolic.tree.depths
    n_frames = min(hyperbolic.snapshots.shape[0], euclidean.snapshots.shape[0])

    def frame_traces(k: int) -> list:
        out = []
        for emb, hyp in ((hyperbolic, True), (euclidean, False)):
            idx = min(round(k * (emb.snapshots.shape[0] - 1) / max(n_frames - 1, 1)),
                      emb.snapshots.shape[0] - 1)
            pos = emb.snapshots[idx]
            ex, ey = _edge_xy(pos, emb.tree.edges, hyp)
            out.append(go.Scatter(x=ex, y=ey, mode="lines", line=dict(color="#5b6570",
                                                                        width=1.2)))
            out.append(go.Scatter(x=pos[:, 0], y=pos[:, 1], mode="markers",
                                  marker=dict(color=depths, size=9)))
        return out

    first = frame_traces(n_frames - 1)
    # depth by colour, explained in the legend entry (a colour bar did not fit beside two
    # square panels on a 1024-px screen)
    shared_marker = dict(colorscale=SEQUENTIAL_SCALE, cmin=0, cmax=int(depths.max()),
                         line=dict(color="black", width=0.5), showscale=False)
    for j, tr in enumerate(first):
        col = 1 + j // 2
        is_nodes = j % 2 == 1
        tr.update(name=t("riemannian.figures.tree.nodes" if is_nodes
                         else "riemannian.figures.tree.edges"),
                  legendgroup="nodes" if is_nodes else "edges", showlegend=col == 1,
                  hovertemplate="(%{x:.3f}, %{y:.3f})<extra></extra>" if is_nodes else None,
                  hoverinfo=None if is_nodes else "skip")
        if is_nodes:
            tr.marker.update(**shared_marker)
        fig.add_trace(tr, row=1, col=col)
    fig.frames = [go.Frame(data=frame_traces(k), traces=[1, 2, 3, 4], name=str(k))
                  for k in range(n_frames)]
    height, top, bottom = 780, 165, 240
    # offsets below the panels in pixels, converted to paper units (the plotting area's
    # height): axis titles (55 px), the slider with its value and labels (95 px), then the
    # buttons and the legend on rows of their own
    px = 1.0 / (height - top - bottom)
    frame_args = dict(frame=dict(duration=0, redraw=False), transition=dict(duration=0),
                      mode="immediate")
    slider = dict(active=n_frames - 1, x=0.0, y=-55 * px, len=1.0, xanchor="left",
                  yanchor="top", pad=dict(t=22, b=0, l=0, r=0),
                  currentvalue=dict(prefix=t("riemannian.figures.tree.snapshot") + " ",
                                    font=dict(size=13), offset=8),
                  steps=[dict(label=str(k), method="animate", args=[[str(k)], frame_args])
                         for k in range(n_frames)])
    play = dict(type="buttons", direction="left", x=0.0, y=-150 * px, xanchor="left",
                yanchor="top", pad=dict(r=6, t=0), showactive=False,
                buttons=[dict(label=t("riemannian.figures.tree.replay"), method="animate",
                              args=[None, dict(frame=dict(duration=150, redraw=False),
                                               fromcurrent=False, transition=dict(duration=0),
                                               mode="immediate")]),
                         dict(label=t("riemannian.figures.tree.pause"), method="animate",
                              args=[[None], frame_args])])
    fig.update_xaxes(range=[-1.08, 1.08], row=1, col=1, title_text="x₁", nticks=5)
    fig.update_yaxes(range=[-1.08, 1.08], row=1, col=1, title_text="x₂", nticks=5,
                     scaleanchor="x", scaleratio=1, constrain="domain")
    fig.update_xaxes(row=1, col=2, title_text="x₁", nticks=5)
    fig.update_yaxes(row=1, col=2, title_text="x₂", nticks=5, scaleanchor="x2", scaleratio=1,
                     constrain="domain")
    apply_layout(fig, t("riemannian.figures.tree.title"), height=height,
                 title_width=50)
    fig.update_layout(updatemenus=[play], sliders=[slider],
                      margin=dict(t=top, b=bottom, l=55, r=30),
                      legend=dict(orientation="h", x=0.0, y=-195 * px, yanchor="top",
                                  font=dict(size=13)))
    fig.update_annotations(font=dict(size=14))
    return fig


# -- Stiefel --------------------------------------------------------------------------------------
def make_stiefel_figure(runs: Mapping[str, Trace]) -> go.Figure:
    """``f - f*`` and the largest principal angle to the minimiser, per iteration, log scale."""
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.14, subplot_titles=(
        t("riemannian.figures.stiefel.gap"), t("riemannian.figures.stiefel.angle")))
    for i, (name, tr) in enumerate(runs.items()):
        k = np.arange(tr.f.size)
        fig.add_trace(go.Scatter(x=k, y=_log_gap(tr.gap), mode="lines", name=name,
                                 legendgroup=name, line=dict(color=color(i), width=2.5)),
                      row=1, col=1)
        fig.add_trace(go.Scatter(x=k, y=np.maximum(tr.angle, TINY), mode="lines", name=name,
                                 legendgroup=name, showlegend=False,
                                 line=dict(color=color(i), width=2.5)), row=1, col=2)
    fig.update_yaxes(type="log", exponentformat="power", row=1, col=1, title_text="f − f*")
    fig.update_yaxes(type="log", exponentformat="power", row=1, col=2,
                     title_text=t("riemannian.figures.stiefel.angle_axis"))
    fig.update_xaxes(title_text=t("riemannian.figures.iteration"))
    apply_layout(fig, t("riemannian.figures.stiefel.title"), height=440)
    fig.update_layout(legend=dict(orientation="h", x=0, y=-0.25, yanchor="top"),
                      margin=dict(b=120))
    return fig


# -- federated -------------------------------------------------------------------------------------
def make_federated_sphere_figure(history: FederatedHistory, round_index: int) -> go.Figure:
    """S² with the server's points up to ``round_index`` and, in that round, each client's
    local path from the server's point (colour per client) and the aggregate."""
    if history.client_paths is None or history.client_ids is None:
        raise ValueError("this run kept no client paths (run it with keep_paths=True)")
    xs, ys, zs = _sphere_mesh(36)
    fig = go.Figure()
    fig.add_trace(go.Surface(x=xs, y=ys, z=zs, opacity=0.22, showscale=False,
                             colorscale=[[0, "#c9ced6"], [1, "#c9ced6"]], hoverinfo="skip",
                             name="S²", showlegend=False))
    r = int(min(max(round_index, 1), history.rounds))
    server = history.server[: r + 1]
    fig.add_trace(go.Scatter3d(x=server[:, 0], y=server[:, 1], z=server[:, 2],
                               mode="lines+markers",
                               name=t("riemannian.figures.federated.server", r=r),
                               line=dict(color="black", width=5),
                               marker=dict(size=3, color="black")))
    paths = history.client_paths[r - 1]
    for path, cid in zip(paths, history.client_ids[r - 1], strict=True):
        label = (t("riemannian.figures.federated.centralised_step") if cid < 0
                 else t("riemannian.figures.federated.client", i=int(cid) + 1))
        ink = "#000000" if cid < 0 else color(int(cid) % 7)
        fig.add_trace(go.Scatter3d(x=path[:, 0], y=path[:, 1], z=path[:, 2],
                                   mode="lines+markers", name=label,
                                   line=dict(color=ink, width=6), marker=dict(size=3)))
    new = history.server[r]
    fig.add_trace(go.Scatter3d(x=[new[0]], y=[new[1]], z=[new[2]], mode="markers",
                               name=t("riemannian.figures.federated.aggregate", r=r),
                               marker=dict(size=8, color="#D55E00", symbol="diamond",
                                           line=dict(color="black", width=1))))
    v = history.solution[:, 0] if history.solution.ndim == 2 else history.solution
    fig.add_trace(go.Scatter3d(x=[v[0], -v[0]], y=[v[1], -v[1]], z=[v[2], -v[2]],
                               mode="markers",
                               name=t("riemannian.figures.federated.optimum"),
                               marker=dict(size=7, color="#009E73", symbol="diamond-open")))
    apply_layout(fig, t("riemannian.figures.federated.sphere_title", r=r),
                 height=680, title_width=55)
    fig.update_layout(scene=dict(SPHERE_SCENE, camera=_camera_towards(server[-1], new,
                                                                      distance=1.6)),
                      margin=dict(l=0, r=0, t=80, b=110),
                      legend=dict(orientation="h", x=0.0, y=0.0, yanchor="top",
                                  font=dict(size=12)))
    return fig


def make_federated_gap_figure(histories: Mapping[str, FederatedHistory]) -> go.Figure:
    """``f - f*`` per round (log) for each algorithm, and the client drift."""
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.14, subplot_titles=(
        t("riemannian.figures.federated.gap"), t("riemannian.figures.federated.drift")))
    for i, (name, h) in enumerate(histories.items()):
        k = np.arange(h.gap.size)
        fig.add_trace(go.Scatter(x=k, y=_log_gap(h.gap), mode="lines", name=name,
                                 legendgroup=name, line=dict(color=color(i), width=2.5)),
                      row=1, col=1)
        if np.any(h.client_drift[1:] > 0):  # the centralised run has no clients to drift
            fig.add_trace(go.Scatter(x=k[1:], y=np.maximum(h.client_drift[1:], TINY),
                                     mode="lines", name=name, legendgroup=name,
                                     showlegend=False, line=dict(color=color(i), width=2.5)),
                          row=1, col=2)
    fig.update_yaxes(type="log", exponentformat="power", row=1, col=1, title_text="f − f*")
    fig.update_yaxes(type="log", exponentformat="power", row=1, col=2,
                     title_text=t("riemannian.figures.federated.spread"))
    fig.update_xaxes(title_text=t("riemannian.figures.federated.round"))
    apply_layout(fig, t("riemannian.figures.federated.gap_title"), height=440)
    fig.update_layout(legend=dict(orientation="h", x=0, y=-0.25, yanchor="top"),
                      margin=dict(b=120))
    return fig


def make_floor_figure(floors: np.ndarray, local_steps: Sequence[int],
                      lrs: Sequence[float]) -> go.Figure:
    """RFedAvg's error floor against the step size, one line per number of local steps τ."""
    fig = go.Figure()
    for i, tau in enumerate(local_steps):
        fig.add_trace(go.Scatter(x=list(lrs), y=_log_gap(floors[i]), mode="lines+markers",
                                 name=t("riemannian.figures.floor.tau", tau=tau),
                                 line=dict(color=color(i), width=2.5)))
    fig.update_xaxes(type="log", title_text=t("riemannian.figures.floor.x"))
    fig.update_yaxes(type="log", exponentformat="power",
                     title_text=t("riemannian.figures.floor.y"))
    apply_layout(fig, t("riemannian.figures.floor.title"), height=420,
                 title_width=60)
    return fig
