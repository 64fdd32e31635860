"""The list of labs: one place that the navigation and the Home page both read."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# Shipped images (favicon, the Home page's thumbnails); `make assets` redraws the thumbnails.
ASSETS = Path(__file__).resolve().parent.parent / "assets"


@dataclass(frozen=True)
class Lab:
    slug: str
    title: str
    icon: str
    page_file: str
    what_you_see: str

    @property
    def thumbnail(self) -> Path:
        """``assets/<slug>.png``: the lab's first default figure, drawn by ``make assets``."""
        return ASSETS / f"{self.slug}.png"


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
        slug="embedding",
        title="Isomap vs GDE",
        icon=":material/scatter_plot:",
        page_file="embedding.py",
        what_you_see=(
            "swiss rolls and other manifolds unrolled by Isomap, the Geometric Deep Encoder and "
            "seven more methods: quality measures, maps for new points, the decoder's manifold, "
            "geodesics against straight chords, and the short circuits that break Isomap"
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
    Lab(
        slug="riemannian",
        title="Riemannian optimisation",
        icon=":material/explore:",
        page_file="riemannian.py",
        what_you_see=(
            "gradient steps on the sphere, Stiefel, SPD and Poincaré ball: retraction vs exp "
            "vs an unprojected step, SPD means and the swelling effect, a tree in the "
            "hyperbolic disk, and federated PCA whose server averages points of a manifold"
        ),
    ),
    Lab(
        slug="latent",
        title="Latent geometry",
        icon=":material/timeline:",
        page_file="latent.py",
        what_you_see=(
            "a decoder's pullback metric on its latent plane: the magnification map, metric "
            "unit circles, and latent geodesics against straight interpolation, with decoded "
            "digits along both paths and the decoded surface for 3-D data"
        ),
    ),
    Lab(
        slug="duality",
        title="Dual geometry",
        icon=":material/compare_arrows:",
        page_file="duality.py",
        what_you_see=(
            "exponential families in their natural (θ) and expectation (η) coordinates: "
            "optimiser paths on the probability simplex where mirror descent and natural "
            "gradient coincide, e-, m-, α- and Fisher–Rao geodesics, the Pythagorean theorem "
            "for KL, and EM as alternating projections"
        ),
    ),
)
