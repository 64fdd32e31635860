"""The list of labs: one place that the navigation and the Home page both read."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Lab:
    slug: str
    title: str
    icon: str
    page_file: str
    what_you_see: str


LABS: tuple[Lab, ...] = (
    Lab(
        slug="geometry",
        title="Surfaces & geodesics",
        icon=":material/public:",
        page_file="geometry.py",
        what_you_see=(
            "curvature-coloured surfaces, geodesics and their sprays, shortest paths, parallel "
            "transport with holonomy, and statistical manifolds under the Fisher metric"
        ),
    ),
    Lab(
        slug="optim",
        title="Natural gradient",
        icon=":material/trending_down:",
        page_file="optim.py",
        what_you_see=(
            "natural gradient, K-FAC, SGD, Momentum and Adam training the same network side by "
            "side: loss per step and per second, animated decision boundaries, trajectories, "
            "the Fisher spectrum and its ellipses, and the reparametrisation-invariance demo"
        ),
    ),
    Lab(
        slug="curvature",
        title="Ricci curvature",
        icon=":material/blur_on:",
        page_file="curvature.py",
        what_you_see=(
            "Ollivier and Forman curvature of neighbour graphs, checked against surfaces of "
            "known Gaussian curvature (the ε² law), then measured on Isomap and GDE embeddings "
            "and on a network's layers as it trains"
        ),
    ),
)
