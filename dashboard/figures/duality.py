"""Figures of the Dual-geometry lab: the 2-simplex as a triangle with barycentric axes, the
Gaussian (μ, σ) half-plane, EM's fit and divergence. Pure builders: data in, ``go.Figure`` out.

The simplex of three outcomes is drawn in the plane with vertex ``i`` at ``VERTICES[i]``: a
probability vector ``p`` sits at ``Σ pᵢ VERTICES[i]`` (:func:`to_xy`). Gridlines ``pᵢ = 0.2,
0.4, 0.6, 0.8`` run parallel to the side opposite vertex ``i``; each axis is labelled along one
side.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go

from dashboard.figures.theme import SEQUENTIAL_SCALE, apply_layout, color
from dashboard.i18n import t
from geomcore.duality import EMResult, OptimizationPath

SQRT3_2 = math.sqrt(3.0) / 2.0
VERTICES = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, SQRT3_2]])
"""Plane positions of outcomes 1, 2, 3 (bottom left, bottom right, top)."""
GRID_VALUES = (0.2, 0.4, 0.6, 0.8)



def method_title(method: str) -> str:
    """The name of an optimiser (a key of ``geomcore.duality.METHODS``) in the current
    language."""
    return t(f"duality.methods.{method}")


METHODS_COLOR = {"gd_natural": 4, "projected_gd": 3, "mirror_descent": 1, "ngd_natural": 0,
                 "ngd_expectation": 2}
"""Palette index of each method (EG and NGD in θ in contrasting colours: one overlays the
other)."""


def curve_title(kind: str, alpha: float | None = None) -> str:
    """The legend name of a geodesic (``"e"``, ``"m"``, ``"fisher_rao"`` or ``"alpha"``, with
    its α when given) in the current language."""
    if kind == "alpha" and alpha is not None:
        return t("duality.curves.alpha_value", alpha=alpha)
    return t(f"duality.curves.{kind}")


CURVE_STYLES = {"e": dict(color=color(0), dash="solid"), "m": dict(color=color(1), dash="dash"),
                "fisher_rao": dict(color=color(2), dash="dot"),
                "alpha": dict(color=color(3), dash="solid")}
_OUTSIDE_PAD = 0.02


def to_xy(p: np.ndarray) -> np.ndarray:
    """Plane coordinates of probability vectors ``p`` (``shape=[..., 3]``), ``shape=[..., 2]``."""
    return np.asarray(p, dtype=float) @ VERTICES


def from_xy(xy: np.ndarray) -> np.ndarray:
    """Probability vectors of plane points (the inverse of :func:`to_xy`), ``shape=[..., 3]``."""
    xy = np.asarray(xy, dtype=float)
    p3 = xy[..., 1] / SQRT3_2
    p2 = xy[..., 0] - p3 / 2
    return np.stack([1.0 - p2 - p3, p2, p3], axis=-1)


def simplex_csv(fig: go.Figure) -> str:
    """The named curves and points of a simplex figure as CSV in probabilities,
    ``trace,p1,p2,p3`` (the triangle's frame, labels and masks are unnamed and left out)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["trace", "p1", "p2", "p3"])
    for trace in fig.data:
        if trace.type != "scatter" or not trace.name or trace.x is None or trace.y is None:
            continue
        xy = np.column_stack([np.asarray(trace.x, dtype=float), np.asarray(trace.y, dtype=float)])
        for row in from_xy(xy):
            writer.writerow([trace.name, *(repr(float(v)) for v in row)])
    return out.getvalue()


def simplex_grid(resolution: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A rectangular grid over the triangle's bounding box: ``x [nx]``, ``y [ny]`` and the
    barycentric coordinates ``p [ny, nx, 3]`` of every node (NaN outside the triangle)."""
    x = np.linspace(0.0, 1.0, resolution)
    y = np.linspace(0.0, SQRT3_2, max(2, int(round(resolution * SQRT3_2))))
    xx, yy = np.meshgrid(x, y)
    p3 = yy / SQRT3_2
    p2 = xx - p3 / 2
    p1 = 1.0 - p2 - p3
    p = np.stack([p1, p2, p3], axis=-1)
    outside = np.any(p < -1e-12, axis=-1)
    p[outside] = np.nan
    return x, y, np.clip(p, 0.0, 1.0)


def _text_trace(xy: np.ndarray, texts: list[str], size: int = 11,
                color_: str = "#444") -> go.Scatter:
    return go.Scatter(x=xy[:, 0], y=xy[:, 1], mode="text", text=texts,
                      textfont=dict(size=size, color=color_), hoverinfo="skip",
                      showlegend=False)


def _triangle_frame(fig: go.Figure, labels: tuple[str, str, str]) -> None:
    """Outline, barycentric gridlines with tick labels, axis names, vertex numbers, equal axes.

    Everything is a handful of traces (gridlines joined by gaps, labels as text markers): a
    Plotly shape or annotation per line costs a millisecond or more to build.
    """
    xs: list[float | None] = []
    ys: list[float | None] = []
    for i in range(3):
        j, k = (i + 1) % 3, (i + 2) % 3
        for c in GRID_VALUES:
            # the line pᵢ = c joins (pᵢ = c, pⱼ = 1 − c) and (pᵢ = c, pₖ = 1 − c)
            a = c * VERTICES[i] + (1 - c) * VERTICES[j]
            b = c * VERTICES[i] + (1 - c) * VERTICES[k]
            xs += [a[0], b[0], None]
            ys += [a[1], b[1], None]
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", hoverinfo="skip", showlegend=False,
                             line=dict(color="rgba(110,110,110,0.55)", width=1)))
    outline = np.vstack([VERTICES, VERTICES[:1]])
    fig.add_trace(go.Scatter(x=outline[:, 0], y=outline[:, 1], mode="lines",
                             line=dict(color="#1B1F24", width=2), hoverinfo="skip",
                             showlegend=False))
    # tick labels: p₂ under the bottom side, p₃ right of the right side, p₁ left of the left
    frac = np.asarray(GRID_VALUES)[:, None]
    texts = [f"{v:.1f}" for v in GRID_VALUES]
    right_normal, left_normal = np.array([SQRT3_2, 0.5]), np.array([-SQRT3_2, 0.5])
    fig.add_trace(_text_trace((1 - frac) * VERTICES[0] + frac * VERTICES[1] + [0.0, -0.035],
                              texts))
    fig.add_trace(_text_trace((1 - frac) * VERTICES[1] + frac * VERTICES[2]
                              + 0.045 * right_normal, texts))
    fig.add_trace(_text_trace(frac * VERTICES[0] + (1 - frac) * VERTICES[2]
                              + 0.045 * left_normal, texts))
    middle = np.array([[0.5, 0.0], [0.75, SQRT3_2 / 2], [0.25, SQRT3_2 / 2]])
    names = middle + np.array([[0.0, -0.085], [*(0.13 * right_normal)],
                               [*(0.13 * left_normal)]])
    fig.add_trace(_text_trace(names, [labels[1], labels[2], labels[0]], size=15,
                              color_="#1B1F24"))
    corners = VERTICES + np.array([[-0.035, -0.035], [0.035, -0.035], [0.0, 0.04]])
    fig.add_trace(_text_trace(corners, ["<b>1</b>", "<b>2</b>", "<b>3</b>"], size=15,
                              color_="#1B1F24"))
    fig.update_xaxes(visible=False, range=[-0.16, 1.16])
    fig.update_yaxes(visible=False, range=[-0.13, SQRT3_2 + 0.07], scaleanchor="x",
                     scaleratio=1)


def _mask_outside(fig: go.Figure) -> None:
    """White wedges over the bounding box outside the triangle (hide the grid's staircase)."""
    top = VERTICES[2]
    for corner, base in (((-0.2, -0.2), VERTICES[0]), ((1.2, -0.2), VERTICES[1])):
        xs = [base[0], top[0], top[0], corner[0], corner[0], base[0]]
        ys = [base[1], top[1], top[1] + 0.2, top[1] + 0.2, corner[1], corner[1]]
        fig.add_trace(go.Scatter(x=xs, y=ys, fill="toself", fillcolor="white", mode="none",
                                 hoverinfo="skip", showlegend=False))
    fig.add_trace(go.Scatter(x=[-0.2, 1.2, 1.2, -0.2, -0.2], y=[0, 0, -0.2, -0.2, 0],
                             fill="toself", fillcolor="white", mode="none", hoverinfo="skip",
                             showlegend=False))


def _axis_names() -> tuple[str, str, str]:
    return t("duality.fig.axis_p1"), t("duality.fig.axis_p2"), t("duality.fig.axis_p3")


def _hover(p: np.ndarray | list[np.ndarray]) -> list[str]:
    return [f"p = ({a:.3f}, {b:.3f}, {c:.3f})" for a, b, c in np.asarray(p)]


def make_simplex_loss_figure(x: np.ndarray, y: np.ndarray, loss: np.ndarray,
                             paths: Mapping[str, OptimizationPath], *, loss_name: str,
                             show_contours: bool = True, target: np.ndarray | None = None,
                             height: int = 600) -> go.Figure:
    """The loss coloured over the simplex, and each optimiser's path from the same start.

    ``loss`` has ``shape=[len(y), len(x)]`` (NaN outside the triangle). Mirror descent (EG) is
    drawn as open circles and NGD in θ as a line through them, so that their coincidence shows.
    """
    fig = go.Figure()
    finite = loss[np.isfinite(loss)]
    hi = float(np.percentile(finite, 97)) if finite.size else 1.0
    lo = float(finite.min()) if finite.size else 0.0
    fig.add_trace(go.Contour(
        x=x, y=y, z=np.minimum(loss, hi), colorscale=SEQUENTIAL_SCALE, zmin=lo, zmax=hi,
        contours=dict(coloring="heatmap", showlines=show_contours),
        line=dict(width=0.6, color="rgba(255,255,255,0.6)"), ncontours=18,
        colorbar=dict(title=dict(text=t("duality.fig.loss"), side="right"), len=0.8,
                      thickness=14),
        hoverinfo="skip", showlegend=False, connectgaps=False))
    _mask_outside(fig)
    _triangle_frame(fig, _axis_names())
    order = ["gd_natural", "projected_gd", "ngd_expectation", "ngd_natural", "mirror_descent"]
    for method in order:
        if method not in paths:
            continue
        path = paths[method]
        title = method_title(method)
        xy = to_xy(path.points)
        style = dict(color=color(METHODS_COLOR[method]))
        if method == "mirror_descent":
            trace = go.Scatter(x=xy[:, 0], y=xy[:, 1], mode="markers",
                               marker=dict(symbol="circle-open", size=9, line=dict(width=1.6),
                                           **style),
                               name=title, text=_hover(path.points),
                               hovertemplate="%{text}<extra>" + title + "</extra>")
        else:
            trace = go.Scatter(x=xy[:, 0], y=xy[:, 1], mode="lines",
                               line=dict(width=2.5 if method == "ngd_natural" else 2, **style),
                               name=title, text=_hover(path.points),
                               hovertemplate="%{text}<extra>" + title + "</extra>")
        fig.add_trace(trace)
    if paths:
        start = to_xy(next(iter(paths.values())).points[0])
        fig.add_trace(go.Scatter(x=[start[0]], y=[start[1]], mode="markers",
                                 name=t("duality.fig.start"),
                                 marker=dict(symbol="square", size=11, color="white",
                                             line=dict(color="#1B1F24", width=2))))
    if target is not None:
        star = to_xy(target)
        fig.add_trace(go.Scatter(x=[star[0]], y=[star[1]], mode="markers",
                                 name=t("duality.fig.minimum"),
                                 marker=dict(symbol="star", size=15, color="white",
                                             line=dict(color="#1B1F24", width=1.5))))
    apply_layout(fig, t("duality.fig.simplex_title", loss=loss_name), height=height)
    fig.update_layout(legend=dict(orientation="h", y=-0.04, x=0.5, xanchor="center",
                                  yanchor="top"),
                      margin=dict(l=10, r=10, b=70))
    return fig


def make_loss_curves_figure(paths: Mapping[str, OptimizationPath], *, floor: float,
                            height: int = 420) -> go.Figure:
    """``L(pₜ) − L*`` per step on a log scale, one line per method (``floor`` is ``L*``)."""
    fig = go.Figure()
    # below ~1e-16·|L*| the difference is round-off; draw it at that floor
    resolution = 1e-16 * max(1.0, abs(floor))
    for method, path in paths.items():
        gap = np.maximum(path.loss - floor, resolution)
        dash = "dot" if method == "mirror_descent" else "solid"
        fig.add_trace(go.Scatter(x=np.arange(gap.size), y=gap, mode="lines",
                                 name=method_title(method),
                                 line=dict(color=color(METHODS_COLOR[method]), dash=dash,
                                           width=3 if method == "mirror_descent" else 2)))
    apply_layout(fig, t("duality.fig.curves_title"), height=height)
    fig.update_yaxes(type="log", title=t("duality.fig.curves_y"), exponentformat="power")
    fig.update_xaxes(title=t("duality.fig.curves_x"))
    fig.update_layout(legend=dict(orientation="h", y=-0.22, x=0.5, xanchor="center",
                                  yanchor="top"), margin=dict(b=120))
    return fig


def make_simplex_geodesics_figure(curves: Mapping[str, np.ndarray], p: np.ndarray,
                                  q: np.ndarray, *, alpha: float | None = None,
                                  height: int = 560) -> go.Figure:
    """e-, m-, Fisher–Rao and α-geodesics from ``p`` to ``q`` drawn on the simplex."""
    fig = go.Figure()
    _triangle_frame(fig, _axis_names())
    for kind, pts in curves.items():
        xy = to_xy(pts)
        name = curve_title(kind, alpha)
        fig.add_trace(go.Scatter(x=xy[:, 0], y=xy[:, 1], mode="lines", name=name,
                                 line=dict(width=3 if kind == "alpha" else 2.4,
                                           **CURVE_STYLES[kind]),
                                 text=_hover(pts), hovertemplate="%{text}<extra></extra>"))
    for label, point, symbol in (("p", p, "circle"), ("q", q, "diamond")):
        xy = to_xy(point)
        fig.add_trace(go.Scatter(x=[xy[0]], y=[xy[1]], mode="markers+text", text=[label],
                                 name=label, textposition="top center", showlegend=False,
                                 marker=dict(size=11, symbol=symbol, color="#1B1F24"),
                                 textfont=dict(size=15), hoverinfo="skip"))
    apply_layout(fig, t("duality.fig.geo_simplex_title"), height=height)
    fig.update_layout(legend=dict(orientation="h", y=-0.04, x=0.5, xanchor="center",
                                  yanchor="top"), margin=dict(l=10, r=10, b=90))
    return fig


def make_gaussian_geodesics_figure(curves: Mapping[str, np.ndarray], p: np.ndarray,
                                   q: np.ndarray, *, alpha: float | None = None,
                                   height: int = 560) -> go.Figure:
    """The same geodesics between two normal distributions in the (μ, σ) half-plane."""
    fig = go.Figure()
    for kind, pts in curves.items():
        name = curve_title(kind, alpha)
        fig.add_trace(go.Scatter(x=pts[:, 0], y=pts[:, 1], mode="lines", name=name,
                                 line=dict(width=3 if kind == "alpha" else 2.4,
                                           **CURVE_STYLES[kind]),
                                 hovertemplate="μ = %{x:.3f}, σ = %{y:.3f}<extra></extra>"))
    for label, point, symbol in (("p", p, "circle"), ("q", q, "diamond")):
        fig.add_trace(go.Scatter(x=[point[0]], y=[point[1]], mode="markers+text", text=[label],
                                 name=label, textposition="top center", showlegend=False,
                                 marker=dict(size=11, symbol=symbol, color="#1B1F24"),
                                 textfont=dict(size=15), hoverinfo="skip"))
    apply_layout(fig, t("duality.fig.geo_normal_title"), height=height)
    top = max(float(np.max(pts[:, 1])) for pts in curves.values()) if curves else 1.0
    fig.update_yaxes(title=t("duality.fig.sigma_axis"), range=[0, top * 1.15], zeroline=True)
    fig.update_xaxes(title=t("duality.fig.mu_axis"))
    fig.update_layout(legend=dict(orientation="h", y=-0.16, x=0.5, xanchor="center",
                                  yanchor="top"), margin=dict(b=110))
    return fig


def make_pythagoras_figure(family_curve: np.ndarray, p: np.ndarray, q_star: np.ndarray,
                           r: np.ndarray, m_geodesic: np.ndarray, e_geodesic: np.ndarray,
                           pr_geodesic: np.ndarray, *, height: int = 560) -> go.Figure:
    """The right angle at q*: the m-geodesic from p to its m-projection q* on an e-flat family
    (a curve through the simplex) and the e-geodesic from q* to r along the family."""
    fig = go.Figure()
    _triangle_frame(fig, _axis_names())
    fam = to_xy(family_curve)
    fig.add_trace(go.Scatter(x=fam[:, 0], y=fam[:, 1], mode="lines",
                             name=t("duality.fig.family"),
                             line=dict(color="#777", width=6), opacity=0.45,
                             hoverinfo="skip"))
    for pts, name, kind in ((m_geodesic, t("duality.fig.m_pq"), "m"),
                            (e_geodesic, t("duality.fig.e_qr"), "e"),
                            (pr_geodesic, t("duality.fig.m_pr"), "pr")):
        xy = to_xy(pts)
        # the chord p → r of the triangle: grey, not one of the two legs
        style = (dict(color="#999", dash="dashdot") if kind == "pr"
                 else dict(CURVE_STYLES[kind]))
        fig.add_trace(go.Scatter(x=xy[:, 0], y=xy[:, 1], mode="lines", name=name,
                                 line=dict(width=2.6, **style), hoverinfo="skip"))
    for label, point, symbol in (("p", p, "circle"), ("q*", q_star, "square"),
                                 ("r", r, "diamond")):
        xy = to_xy(point)
        fig.add_trace(go.Scatter(x=[xy[0]], y=[xy[1]], mode="markers+text", text=[label],
                                 name=label, textposition="middle right", showlegend=False,
                                 marker=dict(size=12, symbol=symbol, color="#1B1F24"),
                                 textfont=dict(size=15), hovertext=_hover([point]),
                                 hoverinfo="text"))
    apply_layout(fig, t("duality.fig.pythagoras_title"), height=height)
    fig.update_layout(legend=dict(orientation="h", y=-0.04, x=0.5, xanchor="center",
                                  yanchor="top"), margin=dict(l=10, r=10, b=90))
    return fig


def _normal_pdf(x: np.ndarray, mu: float, sigma: float) -> np.ndarray:
    return np.exp(-0.5 * ((x - mu) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))


def make_em_fit_figure(x: np.ndarray, result: EMResult, step: int, *,
                       height: int = 460) -> go.Figure:
    """The data's histogram with the mixture after EM step ``step`` (0: the start)."""
    step = int(np.clip(step, 0, result.steps))
    w, mu, sig = result.weights[step], result.means[step], result.sigmas[step]
    grid = np.linspace(float(x.min()) - 1.0, float(x.max()) + 1.0, 400)
    fig = go.Figure()
    fig.add_trace(go.Histogram(x=x, histnorm="probability density", nbinsx=40,
                               marker=dict(color="rgba(120,120,120,0.45)"),
                               name=t("duality.fig.data")))
    total = np.zeros_like(grid)
    for j in range(2):
        comp = w[j] * _normal_pdf(grid, mu[j], sig[j])
        total += comp
        fig.add_trace(go.Scatter(x=grid, y=comp, mode="lines",
                                 name=t("duality.fig.component", j=j + 1, w=w[j], mu=mu[j],
                                        sigma=sig[j]),
                                 line=dict(color=color(j), dash="dash", width=2)))
    fig.add_trace(go.Scatter(x=grid, y=total, mode="lines",
                             name=t("duality.fig.mixture"),
                             line=dict(color="#1B1F24", width=2.5)))
    apply_layout(fig, t("duality.fig.em_fit_title", step=step), height=height)
    fig.update_xaxes(title="x")
    fig.update_yaxes(title=t("duality.fig.density"))
    fig.update_layout(legend=dict(orientation="h", y=-0.24, x=0.5, xanchor="center",
                                  yanchor="top"), margin=dict(b=150))
    return fig


def make_em_divergence_figure(result: EMResult, step: int | None = None, *,
                              height: int = 460) -> go.Figure:
    """The divergence between data and model manifolds after every half-step (E: e-projection,
    M: m-projection); it never increases."""
    d = result.divergence
    xs = np.arange(1, d.size + 1) / 2.0  # E-step of step t at t − ½, M-step at t
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=xs, y=d, mode="lines", line=dict(color="#888", width=1.5),
                             name=t("duality.fig.every_half_step"), hoverinfo="skip",
                             showlegend=False))
    for name, sl, symbol, c in ((t("duality.fig.after_e"), slice(0, None, 2), "circle", color(2)),
                                (t("duality.fig.after_m"), slice(1, None, 2), "square",
                                 color(1))):
        fig.add_trace(go.Scatter(x=xs[sl], y=d[sl], mode="markers", name=name,
                                 marker=dict(size=8, symbol=symbol, color=c),
                                 hovertemplate=t("duality.fig.em_hover") + "<extra></extra>"))
    if step is not None and 0 < step <= result.steps:
        fig.add_vline(x=step, line=dict(color="#999", dash="dot"))
    apply_layout(fig, t("duality.fig.em_div_title"), height=height, title_width=44)
    fig.update_yaxes(title=t("duality.fig.em_div_y"))
    fig.update_xaxes(title=t("duality.fig.em_div_x"))
    fig.update_layout(legend=dict(orientation="h", y=-0.22, x=0.5, xanchor="center",
                                  yanchor="top"), margin=dict(b=120))
    return fig


def pythagoras_text(lhs: float, kl_p_q: float, kl_q_r: float) -> str:
    """Both sides of the identity as a sentence with numbers."""
    return t("duality.fig.pythagoras_text", lhs=lhs, kl_pq=kl_p_q, kl_qr=kl_q_r,
             rhs=kl_p_q + kl_q_r, gap=lhs - kl_p_q - kl_q_r)
