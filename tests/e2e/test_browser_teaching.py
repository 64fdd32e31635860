"""Teaching in a real browser: Chinese glyphs drawn (not boxes), a saved link reopening the same
picture in a fresh browser, the copy-link button, and every lab in Chinese and in projector
mode on a 1024×768 projector without overlapping text. Screenshots go to ``test-artifacts/``."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest
from PIL import Image

from dashboard.labs import LABS
from tests.e2e.helpers import (
    ARTIFACTS,
    chart_pixels,
    check_readable,
    differing_fraction,
    error_texts,
    open_and_settle,
    track_outside,
    wait_idle,
)

pytestmark = pytest.mark.e2e

# Draws two different Chinese characters and one unassigned code point with the font of the
# page's title. Without a CJK font all three come out as the same "tofu" box.
_GLYPHS_JS = """
() => {
  const family = getComputedStyle(document.querySelector('h1')).fontFamily;
  const draw = ch => {
    const c = document.createElement('canvas'); c.width = 64; c.height = 64;
    const g = c.getContext('2d'); g.fillStyle = '#fff'; g.fillRect(0, 0, 64, 64);
    g.fillStyle = '#000'; g.font = `48px ${family}`; g.fillText(ch, 4, 52);
    return Array.from(g.getImageData(0, 0, 64, 64).data).join(',');
  };
  return {a: draw('测'), b: draw('地'), missing: draw('\\u{10FFFD}')};
}
"""


def _context(browser, width: int = 1024, height: int = 768):
    return browser.new_context(viewport={"width": width, "height": height},
                               device_scale_factor=1)


@pytest.mark.parametrize("size", [(1400, 1000), (1024, 768)])
def test_chinese_is_drawn_with_a_cjk_font(browser, app_url, size):
    ctx = _context(browser, *size)
    pg = ctx.new_page()
    try:
        open_and_settle(pg, f"{app_url}/?lang=zh")
        ARTIFACTS.mkdir(exist_ok=True)
        pg.screenshot(path=str(ARTIFACTS / f"teaching-home-zh-{size[0]}x{size[1]}.png"))
        assert "曲面与测地线" in pg.inner_text("body")
        glyphs = pg.evaluate(_GLYPHS_JS)
        assert glyphs["a"] != glyphs["b"], "two Chinese characters drew the same box"
        assert glyphs["a"] != glyphs["missing"]
    finally:
        ctx.close()


def test_a_saved_link_reopens_the_same_view(browser, app_url):
    """Change a setting by hand, copy the address with the page's button, open it in a fresh
    browser: the widget and the first figure are the same, pixel for pixel (up to
    anti-aliasing)."""
    ctx = _context(browser, 1400, 1000)
    ctx.grant_permissions(["clipboard-read", "clipboard-write"])
    pg = ctx.new_page()
    try:
        open_and_settle(pg, f"{app_url}/geometry?lang=en", min_charts=1)
        pg.get_by_role("combobox", name="Surface").click()
        pg.keyboard.type("sphere")  # the torus is the default, which a link leaves out
        pg.keyboard.press("Enter")
        wait_idle(pg)
        assert "sphere" in pg.url
        pg.locator("#diffgeo-copy-link").click()
        pg.wait_for_function(
            "() => document.getElementById('diffgeo-copy-link').innerText.includes('✓')")
        link = pg.evaluate("() => navigator.clipboard.readText()")
        assert link == pg.url
        before = chart_pixels(pg, 1)  # the parameter map: 2-D
        Image.fromarray(before.astype(np.uint8)).save(ARTIFACTS / "teaching-link-original.png")
    finally:
        ctx.close()

    fresh = _context(browser, 1400, 1000)
    pg = fresh.new_page()
    try:
        outside = track_outside(pg)
        open_and_settle(pg, link, min_charts=1)
        assert parse_qs(urlparse(pg.url).query) == parse_qs(urlparse(link).query)
        after = chart_pixels(pg, 1)
        Image.fromarray(after.astype(np.uint8)).save(ARTIFACTS / "teaching-link-reopened.png")
        assert error_texts(pg) == [] and outside == []
        assert pg.locator("[data-testid='stAlertContentInfo']").count() == 0  # no notice
    finally:
        fresh.close()
    assert differing_fraction(before, after) < 0.002


def test_a_hostile_link_opens_the_defaults_with_a_notice(browser, app_url):
    ctx = _context(browser, 1024, 768)
    pg = ctx.new_page()
    try:
        open_and_settle(pg, f"{app_url}/geometry?lang=en&geo_surface=%3Cscript%3E"
                            f"&nope={'9' * 3000}", min_charts=1)
        notice = pg.locator("[data-testid='stAlertContentInfo']").first.inner_text()
        assert "reset to their defaults" in notice and "geo_surface" in notice
        assert "nope" not in pg.url and "script" not in pg.url
        assert error_texts(pg) == []
    finally:
        ctx.close()


@pytest.mark.parametrize("slug", [lab.slug for lab in LABS])
@pytest.mark.parametrize("mode", ["zh", "projector"])
def test_every_lab_reads_on_a_projector(browser, app_url, slug, mode):
    """At 1024×768: in Chinese, and in projector mode (sidebar folded away, larger type)."""
    ctx = _context(browser)
    pg = ctx.new_page()
    pg.set_default_timeout(240_000)
    try:
        outside = track_outside(pg)
        query = "lang=zh" if mode == "zh" else "lang=en&projector=1"
        open_and_settle(pg, f"{app_url}/{slug}?{query}", min_charts=1, timeout=240_000)
        if mode == "projector":
            assert pg.locator("[data-testid='stSidebar'][aria-expanded='true']").count() == 0
            sizes = pg.evaluate("() => Array.from(document.querySelectorAll("
                                "'.js-plotly-plot .gtitle')).map(t => parseFloat("
                                "getComputedStyle(t).fontSize))")
            assert sizes and min(sizes) >= 20, sizes
        check_readable(pg, f"teaching-{slug}-{mode}-1024x768", outside, min_width=None)
    finally:
        ctx.close()
