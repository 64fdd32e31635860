"""The list of labs that navigation and Home read: one entry per lab of the design, each
with its own page, slug, title and icon, in the design's order."""

from __future__ import annotations

from pathlib import Path

from dashboard.labs import LABS

DESIGN_ORDER = ["geometry", "optim", "embedding", "curvature", "riemannian", "latent",
                "duality"]
VIEWS = Path(__file__).resolve().parents[2] / "dashboard" / "views"


def test_every_lab_of_the_design_in_order():
    assert [lab.slug for lab in LABS] == DESIGN_ORDER


def test_slugs_titles_icons_and_pages_are_distinct_and_exist():
    for field in ("slug", "title", "icon", "page_file"):
        values = [getattr(lab, field) for lab in LABS]
        assert len(set(values)) == len(values), f"repeated {field}: {values}"
    for lab in LABS:
        assert lab.page_file == f"{lab.slug}.py" and (VIEWS / lab.page_file).is_file()
        assert lab.icon.startswith(":material/") and lab.what_you_see
