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
        slug="latent",
        title="Latent geometry",
        icon=":material/blur_on:",
        page_file="latent.py",
        what_you_see=(
            "a decoder's pullback metric on its latent plane: the magnification map, metric "
            "unit circles, and latent geodesics against straight interpolation, with decoded "
            "digits along both paths and the decoded surface for 3-D data"
        ),
    ),
)
