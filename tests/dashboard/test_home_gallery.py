"""Home is a gallery: every lab of ``dashboard/labs.py`` has its thumbnail ``assets/<slug>.png``
(drawn by ``make assets``), no thumbnail is left over from a lab that is gone, and the page
shows one card per lab with its picture and a link that opens the lab."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from dashboard.labs import ASSETS, LABS
from deploy.make_assets import HOME_PNG, HOME_SIZE, THUMB_SIZE, fit, to_palette
from tests.dashboard.conftest import problems, run_page

# Files of assets/ that are not lab thumbnails.
NOT_THUMBNAILS = {"favicon.png", HOME_PNG.name}
# A thumbnail of a real figure, optimised: above this it was saved raw or at the wrong size,
# below the lower bound it is (nearly) blank.
MIN_BYTES, MAX_BYTES = 4 * 1024, 150 * 1024


@pytest.mark.parametrize("lab", LABS, ids=[lab.slug for lab in LABS])
def test_every_lab_has_a_thumbnail(lab):
    path = lab.thumbnail
    assert path == ASSETS / f"{lab.slug}.png"
    assert path.is_file(), f"{path} is missing: run `make assets` and commit the PNGs"
    with Image.open(path) as img:
        img.verify()  # a whole, valid PNG, not a truncated file
    with Image.open(path) as img:
        assert img.format == "PNG"
        assert img.size == THUMB_SIZE
        # Not a blank picture: a figure has ink (dark pixels) on the white page.
        grey = img.convert("L")
        dark = sum(grey.histogram()[:128])
        assert dark > 0.002 * img.width * img.height, f"{path} is (almost) blank"
    assert MIN_BYTES <= path.stat().st_size <= MAX_BYTES, path.stat().st_size


def test_no_stale_thumbnails():
    thumbnails = {p.name for p in ASSETS.glob("*.png")} - NOT_THUMBNAILS
    assert thumbnails == {f"{lab.slug}.png" for lab in LABS}


def test_readme_screenshot_exists_and_is_shown():
    with Image.open(HOME_PNG) as img:
        assert img.format == "PNG" and img.size == HOME_SIZE
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert "![DiffGeo Lab home](assets/home.png)" in readme


def test_home_shows_one_card_per_lab():
    at = run_page("home")
    assert not problems(at)
    links = at.get("page_link")
    assert [link.proto.label.strip("*") for link in links] == [lab.title for lab in LABS]
    # Each link resolved to its lab's page (whose URL path is the slug, as app.py registers it).
    assert [link.proto.page for link in links] == [lab.slug for lab in LABS]
    images = at.get("image")
    assert len(images) == len(LABS)
    captions = [c.value for c in at.caption]
    for lab in LABS:
        assert any(lab.what_you_see in c for c in captions), lab.slug


def test_thumbnail_pipeline_keeps_the_figure_and_its_colours():
    """`make assets` trims the white margins, fits the figure into THUMB_SIZE with its aspect
    kept, and the palette PNG keeps the page's and the traces' exact colours."""
    page, ink, line = (252, 252, 252), (27, 31, 36), (230, 159, 0)
    shot = Image.new("RGB", (900, 700), page)
    shot.paste(ink, (300, 200, 500, 300))  # a 200×100 figure in wide margins
    shot.paste(line, (320, 240, 480, 250))
    shot.paste((0, 0, 0), (300, 200, 301, 201))
    buf = io.BytesIO()
    shot.save(buf, format="PNG")
    thumb = fit(buf.getvalue(), THUMB_SIZE)
    assert thumb.size == THUMB_SIZE
    box = thumb.convert("L").point(lambda v: 255 if v < 128 else 0).getbbox()
    assert box is not None
    left, top, right, bottom = box
    # Trimmed to the figure plus 8 px, then scaled by 640/216: the figure spans ~592 px.
    assert right - left == pytest.approx(200 * 640 / 216, abs=3)
    assert bottom - top == pytest.approx(100 * 640 / 216, abs=3)
    assert thumb.getpixel((0, 0)) == page  # padded with the figure's own background
    colours = {c for _, c in to_palette(thumb).convert("RGB").getcolors(1 << 20) or []}
    assert {page, ink, line} <= colours
