"""Home, the gallery a teacher opens first, reads on a laptop (1400×1000) and on a projector
(1024×768): one card per lab in a grid (three across at 1400 px, two at 1024 px), every
thumbnail loaded, no two cards or texts overlapping, nothing wider than the window, nothing
fetched from outside 127.0.0.1, and a card's title opens its lab. Screenshots go to
``test-artifacts/home-layout-<size>[-end].png`` to be looked at."""

from __future__ import annotations

import pytest

from dashboard.labs import LABS
from tests.e2e.helpers import ARTIFACTS, error_texts, open_and_settle, wait_idle

pytestmark = pytest.mark.e2e

# Cards across, per window size: the main column is 940 px beside the sidebar at 1400 px and
# 564 px at 1024 px, and a card is 265 px wide.
COLUMNS = {"1400x1000": 3, "1024x768": 2}

# Each card (the layout wrapper around a thumbnail) with its thumbnail, title link and caption
# as rectangles [left, top, right, bottom], whether its image loaded, and the caption's
# font size and whether its text is cut off.
_CARDS_JS = """
() => [...document.querySelectorAll('[data-testid="stImage"]')].map(img => {
  const card = img.closest('[data-testid="stLayoutWrapper"]');
  const box = el => { const r = el.getBoundingClientRect();
                      return [r.left, r.top, r.right, r.bottom]; };
  const pic = img.querySelector('img');
  const link = card.querySelector('[data-testid="stPageLink"] a');
  const caption = card.querySelector('[data-testid="stCaptionContainer"]');
  return {
    card: box(card), parts: [box(pic), box(link), box(caption)],
    loaded: pic.complete && pic.naturalWidth > 0, link: link.textContent.trim(),
    href: link.getAttribute('href'),
    font: parseFloat(getComputedStyle(caption).fontSize),
    clipped: caption.scrollHeight > caption.clientHeight + 1,
  };
})
"""


def _apart(a: list[float], b: list[float]) -> bool:
    """Rectangles [left, top, right, bottom] that share at most a 1-px edge."""
    return a[2] <= b[0] + 1 or b[2] <= a[0] + 1 or a[3] <= b[1] + 1 or b[3] <= a[1] + 1


def _open_home(page, app_url: str) -> list[dict]:
    open_and_settle(page, app_url)
    page.wait_for_function(
        "n => [...document.querySelectorAll('[data-testid=\"stImage\"] img')]"
        ".filter(i => i.complete && i.naturalWidth > 0).length >= n", arg=len(LABS))
    return page.evaluate(_CARDS_JS)


def test_gallery_reads_at_both_sizes(sized_page, app_url):
    page, size, outside = sized_page
    cards = _open_home(page, app_url)
    ARTIFACTS.mkdir(exist_ok=True)
    # Streamlit scrolls inside its own container: one shot at the top, one at the last card.
    page.screenshot(path=str(ARTIFACTS / f"home-layout-{size}.png"))
    page.locator('[data-testid="stImage"]').last.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    page.screenshot(path=str(ARTIFACTS / f"home-layout-{size}-end.png"))
    assert error_texts(page) == []

    # The link's text starts with its icon's ligature name (e.g. "public").
    assert all(c["link"].endswith(lab.title) for c, lab in zip(cards, LABS, strict=True))
    assert [c["href"] for c in cards] == [lab.slug for lab in LABS]
    assert all(c["loaded"] for c in cards), "a thumbnail did not load"

    width = page.viewport_size["width"]
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    for c in cards:
        assert c["card"][2] <= width, f"{c['link']}: card runs past the window"
        assert c["font"] >= 14 and not c["clipped"], c["link"]
        pic, link, caption = c["parts"]
        # Inside its card and in order: picture, then title, then what you will see.
        for part in c["parts"]:
            assert not _apart(part, c["card"]) and c["card"][0] <= part[0] + 1
        assert pic[3] <= link[1] + 1 and link[3] <= caption[1] + 1, c["link"]
    for i, a in enumerate(cards):
        for b in cards[i + 1:]:
            assert _apart(a["card"], b["card"]), f"{a['link']} overlaps {b['link']}"

    first_row = [c for c in cards if abs(c["card"][1] - cards[0]["card"][1]) < 2]
    assert len(first_row) == COLUMNS[size]
    assert outside == [], f"fetched from outside: {outside}"


def test_a_card_title_opens_its_lab(page, app_url):
    _open_home(page, app_url)
    lab = LABS[-1]  # the last card: its link must work wherever the grid put it
    page.locator('[data-testid="stPageLink"] a', has_text=lab.title).click()
    page.wait_for_url(f"**/{lab.slug}")
    page.wait_for_selector(".js-plotly-plot .main-svg")  # the lab's page, drawing
    wait_idle(page)
    assert error_texts(page) == []
