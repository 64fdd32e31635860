"""Redraw the Home page's thumbnails and the README screenshot from the running app.

``make assets`` runs ``python -m deploy.make_assets``, which

1. starts ``streamlit run dashboard/app.py`` on 127.0.0.1 on a free port (headless, no file
   watcher) and waits until ``/_stcore/health`` answers;
2. opens each lab of ``dashboard/labs.py`` in headless Chromium (Debian's ``/usr/bin/chromium``
   through Playwright) at 1400×1000, waits for the page to finish running and its first Plotly
   chart to draw, screenshots that chart and writes it, trimmed and fitted into ``THUMB_SIZE``, to
   ``assets/<slug>.png``;
3. opens Home (which now shows the new thumbnails) and writes the window, 1400×1000, to
   ``assets/home.png`` for the README.

Thumbnails are thus the labs' real default figures and never go stale by hand; the test
``tests/dashboard/test_home_gallery.py`` checks there is one per lab and no other.
"""

from __future__ import annotations

import argparse
import io
import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import numpy as np
from PIL import Image

from dashboard.labs import ASSETS, LABS
from deploy.stclient import start_server

ROOT = Path(__file__).resolve().parents[1]
THUMB_SIZE = (640, 400)
HOME_SIZE = (1400, 1000)
HOME_PNG = ASSETS / "home.png"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu",
                  "--disable-background-networking"]
# A page is settled when Streamlit's running indicator is gone (checked twice, to ride out a
# quick rerun) and its first chart has drawn; Plotly then needs a moment to finish its layout.
_RUNNING = ('() => !document.querySelector(\'[data-testid="stStatusWidget"] '
            '[data-testid="stStatusWidgetRunningIcon"]\')')
_SETTLE_MS = 1500
# Grey levels at or above this count as the page's white background when trimming.
_WHITE = 250


def chromium_path() -> str:
    """Debian's Chromium, or a clear error saying how to install it."""
    for name in ("/usr/bin/chromium", "chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    raise RuntimeError("no chromium binary: install Debian's chromium (apt-get install chromium)")


@contextmanager
def serve_app() -> Iterator[str]:
    """Run the app on 127.0.0.1:<free port> for the ``with`` block; yields its base URL."""
    server = start_server(["server.fileWatcherType=none"])
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.stop()


def settle(page: Any, url: str, *, chart: bool, timeout_ms: float) -> None:
    """Open ``url`` and wait until the script stops running (and, if ``chart``, a Plotly chart
    has drawn)."""
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_ms)
    if chart:
        page.wait_for_selector(".js-plotly-plot .main-svg", timeout=timeout_ms)
    for _ in range(2):
        page.wait_for_timeout(600)
        page.wait_for_function(_RUNNING, timeout=timeout_ms)
    page.wait_for_timeout(_SETTLE_MS)


def trim(image: Image.Image, margin: int = 8) -> Image.Image:
    """``image`` cropped to its non-white content plus ``margin`` pixels (Plotly leaves wide
    white margins around a figure, which would shrink it in a small thumbnail)."""
    ink = image.convert("L").point(lambda v: 255 if v < _WHITE else 0)
    box = ink.getbbox()
    if box is None:
        return image
    left, top, right, bottom = box
    return image.crop((max(0, left - margin), max(0, top - margin),
                       min(image.width, right + margin), min(image.height, bottom + margin)))


def fit(png: bytes, size: tuple[int, int]) -> Image.Image:
    """The screenshot, trimmed of its white margins, scaled to fit inside ``size`` (aspect
    kept) and centred on its background colour.

    Every thumbnail has the same size so that the gallery's cards line up."""
    shot = trim(Image.open(io.BytesIO(png)).convert("RGB"))
    scale = min(size[0] / shot.width, size[1] / shot.height)
    inner = (max(1, round(shot.width * scale)), max(1, round(shot.height * scale)))
    # Padded with the figure's own background (the page's near-white), not a brighter white.
    canvas = Image.new("RGB", size, cast(tuple[int, int, int], shot.getpixel((0, 0))))
    canvas.paste(shot.resize(inner, Image.Resampling.LANCZOS),
                 ((size[0] - inner[0]) // 2, (size[1] - inner[1]) // 2))
    return canvas


def to_palette(image: Image.Image, exact: int = 96) -> Image.Image:
    """``image`` with a 256-colour palette (a PNG about a third the size).

    The ``exact`` most frequent colours (the white page, text, each trace's own colour) are
    kept exactly; the octree fills the rest of the palette for gradients, and error diffusion
    keeps a shaded 3-D surface smooth rather than banded. A palette from the octree alone
    turned the white page into off-white, and median cut merged a pink line into a grey one."""
    if image.width * image.height == 0:
        raise ValueError("cannot save an empty image: the screenshot has no pixels")
    rgb = image.convert("RGB")
    counts = rgb.getcolors(maxcolors=rgb.width * rgb.height) or []
    # An RGB image's colours are (r, g, b) tuples; Pillow types them more loosely.
    common = [cast(tuple[int, int, int], colour)
              for _, colour in sorted(counts, key=lambda c: c[0], reverse=True)[:exact]]
    fill = rgb.quantize(colors=256 - len(common), method=Image.Quantize.FASTOCTREE)
    entries = [v for colour in common for v in colour]
    entries += (fill.getpalette() or [])[: 3 * (256 - len(common))]
    palette = Image.new("P", (1, 1))
    palette.putpalette(entries)
    out = rgb.quantize(palette=palette, dither=Image.Dither.FLOYDSTEINBERG)
    # Pillow finds a pixel's palette entry through a coarse colour cache, which sent the white
    # page to a near-white entry; pixels of a kept colour get that colour's own entry back.
    pixels = np.asarray(rgb, dtype=np.int64)
    keys = (pixels[..., 0] << 16) | (pixels[..., 1] << 8) | pixels[..., 2]
    kept = np.array([(r << 16) | (g << 8) | b for r, g, b in common], dtype=np.int64)
    order = np.argsort(kept)
    where = np.clip(np.searchsorted(kept[order], keys), 0, len(kept) - 1)
    hit = kept[order][where] == keys
    index = np.asarray(out).copy()
    index[hit] = order[where[hit]]
    fixed = Image.frombytes("P", out.size, index.astype(np.uint8).tobytes())
    fixed.putpalette(entries)
    return fixed


def save_png(image: Image.Image, path: Path) -> int:
    """Write ``image`` as an optimised PNG; returns its size in bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    palette = to_palette(image)
    palette.save(path, format="PNG", optimize=True)
    return path.stat().st_size


def make_assets(slugs: Sequence[str] | None = None, *, timeout_s: float = 300.0) -> list[Path]:
    """Redraw ``assets/<slug>.png`` for the labs named (all by default) and ``assets/home.png``.

    Raises ``ValueError`` for a slug that is no lab, ``RuntimeError`` when the app or the
    browser cannot start; Playwright's ``TimeoutError`` when a page has not drawn a chart
    within ``timeout_s``."""
    known = {lab.slug for lab in LABS}
    unknown = sorted(set(slugs or ()) - known)
    if unknown:
        raise ValueError(f"no lab called {unknown}; the labs are {sorted(known)}")
    labs = [lab for lab in LABS if not slugs or lab.slug in slugs]
    from playwright.sync_api import sync_playwright  # the test extra; only this tool needs it

    timeout_ms = timeout_s * 1000
    written: list[Path] = []
    with serve_app() as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), headless=True,
                                     args=CHROMIUM_FLAGS)
        try:
            context = browser.new_context(
                viewport={"width": HOME_SIZE[0], "height": HOME_SIZE[1]},
                device_scale_factor=1)
            page = context.new_page()
            for lab in labs:
                t0 = time.monotonic()
                settle(page, f"{url}/{lab.slug}", chart=True, timeout_ms=timeout_ms)
                first = page.locator(".js-plotly-plot").first
                first.scroll_into_view_if_needed()
                page.mouse.move(0, 0)  # no hover label or mode bar on the picture
                page.wait_for_timeout(300)
                nbytes = save_png(fit(first.screenshot(), THUMB_SIZE), lab.thumbnail)
                written.append(lab.thumbnail)
                print(f"{lab.thumbnail.relative_to(ROOT)}: {nbytes / 1024:.0f} KiB "
                      f"({time.monotonic() - t0:.0f} s)", flush=True)
            settle(page, url, chart=False, timeout_ms=timeout_ms)
            page.wait_for_function(
                "n => [...document.querySelectorAll('[data-testid=\"stImage\"] img')]"
                ".filter(i => i.complete && i.naturalWidth > 0).length >= n",
                arg=sum(lab.thumbnail.is_file() for lab in LABS), timeout=timeout_ms)
            nbytes = save_png(Image.open(io.BytesIO(page.screenshot())).convert("RGB"),
                              HOME_PNG)
            written.append(HOME_PNG)
            print(f"{HOME_PNG.relative_to(ROOT)}: {nbytes / 1024:.0f} KiB", flush=True)
        finally:
            browser.close()
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("slugs", nargs="*", help="labs to redraw (default: every lab)")
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="seconds a page may take to draw its first chart (default 300)")
    args = parser.parse_args(argv)
    make_assets(args.slugs or None, timeout_s=args.timeout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
