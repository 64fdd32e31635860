"""The list of labs: one place that the navigation and the Home page both read."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dashboard.i18n import t

# Shipped images (favicon, the Home page's thumbnails); `make assets` redraws the thumbnails.
ASSETS = Path(__file__).resolve().parent.parent / "assets"


@dataclass(frozen=True)
class Lab:
    slug: str
    icon: str
    page_file: str

    @property
    def title(self) -> str:
        """The lab's name in the current language (catalog key ``<slug>.lab.title``)."""
        return t(f"{self.slug}.lab.title")

    @property
    def what_you_see(self) -> str:
        """One line on what the lab shows (``<slug>.lab.what_you_see``)."""
        return t(f"{self.slug}.lab.what_you_see")

    @property
    def thumbnail(self) -> Path:
        """``assets/<slug>.png``: the lab's first default figure, drawn by ``make assets``."""
        return ASSETS / f"{self.slug}.png"


LABS: tuple[Lab, ...] = (
    Lab(slug="geometry", icon=":material/public:", page_file="geometry.py"),
    Lab(slug="optim", icon=":material/trending_down:", page_file="optim.py"),
    Lab(slug="embedding", icon=":material/scatter_plot:", page_file="embedding.py"),
    Lab(slug="curvature", icon=":material/blur_on:", page_file="curvature.py"),
    Lab(slug="riemannian", icon=":material/explore:", page_file="riemannian.py"),
    Lab(slug="latent", icon=":material/timeline:", page_file="latent.py"),
    Lab(slug="duality", icon=":material/compare_arrows:", page_file="duality.py"),
)
