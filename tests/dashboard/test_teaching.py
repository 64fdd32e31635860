"""Every lab, in both languages, from links: catalogs in step, pages fully translated, lessons
whose claims hold, links that reopen the view, hostile links that fall back to defaults.

The tests walk what each page registers with :mod:`dashboard.links` and what it draws, so a lab
that follows the convention (README, "Contributing") is covered without a test of its own."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from dashboard import i18n, links
from dashboard.labs import LABS
from dashboard.lessons import CHECKS, lessons_of
from tests.dashboard.conftest import problems
from tests.dashboard.teaching import CJK, open_page, untranslated

SLUGS = [lab.slug for lab in LABS]
TAUGHT = [slug for slug in SLUGS if lessons_of(slug)]
"""Labs converted to the teaching convention (every lab, once the pass is complete)."""
LESSONS = [(slug, lesson.id) for slug in TAUGHT for lesson in lessons_of(slug)]


def _missing_keys(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "diffgeo.i18n" and r.levelno >= logging.WARNING]


def _run_state(at: Any) -> links._Run:
    return at.session_state["_links"]


# -- catalogs -------------------------------------------------------------------------------------

def test_catalogs_hold_the_same_keys_with_text():
    en, zh = i18n.catalog("en"), i18n.catalog("zh")
    assert sorted(set(en) ^ set(zh)) == []
    assert [k for k, v in {**en, **zh}.items() if not v.strip()] == []


def test_catalogs_agree_on_placeholders():
    en, zh = i18n.catalog("en"), i18n.catalog("zh")
    differ = {k: (i18n.placeholders(en[k]), i18n.placeholders(zh[k]))
              for k in en if k in zh and i18n.placeholders(en[k]) != i18n.placeholders(zh[k])}
    assert differ == {}


def test_chinese_catalog_is_chinese():
    """Every Chinese text with English words in it is a text someone forgot to translate
    (formulas, names and markup aside)."""
    from tests.dashboard.teaching import english_words

    left = {k: english_words(v) for k, v in i18n.catalog("zh").items() if english_words(v)}
    assert left == {}


@pytest.mark.parametrize("slug", SLUGS)
def test_every_lab_has_its_name_in_both_languages(slug):
    for lang in i18n.LANGUAGES:
        with i18n.use_language(lang):
            assert i18n.has(f"{slug}.lab.title")
            assert i18n.t(f"{slug}.lab.title") != i18n.MISSING.format(key=f"{slug}.lab.title")
    with i18n.use_language("zh"):
        assert CJK.search(i18n.t(f"{slug}.lab.what_you_see"))


# -- pages in both languages ----------------------------------------------------------------------

@pytest.mark.parametrize("slug", TAUGHT)
def test_page_in_chinese_is_complete(slug, caplog):
    caplog.set_level(logging.WARNING, logger="diffgeo.i18n")
    at = open_page(slug, {"lang": "zh"})
    assert not problems(at)
    assert _missing_keys(caplog) == []
    assert CJK.search(at.title[0].value)
    assert untranslated(at) == []


@pytest.mark.parametrize("slug", TAUGHT)
def test_page_in_english_has_every_text(slug, caplog):
    caplog.set_level(logging.WARNING, logger="diffgeo.i18n")
    at = open_page(slug, {"lang": "en"})
    assert not problems(at)
    assert _missing_keys(caplog) == []
    assert not CJK.search(at.title[0].value)


# -- lessons --------------------------------------------------------------------------------------

def test_every_lab_follows_the_convention():
    """Every lab has 3–6 lessons, so every lab is walked by the tests below."""
    assert TAUGHT == SLUGS
    assert all(3 <= len(lessons_of(slug)) <= 6 for slug in SLUGS), {
        slug: len(lessons_of(slug)) for slug in SLUGS}


@pytest.mark.parametrize("slug", SLUGS)
def test_lessons_are_well_formed(slug):
    for lesson in lessons_of(slug):
        for part in ("title", "body", "next"):
            assert i18n.has(lesson.key(part)), lesson.key(part)
        for claim in lesson.claims:
            assert i18n.has(lesson.key(f"claims.{claim.id}"))
        assert lesson.claims, f"{slug}/{lesson.id} asserts nothing"


@pytest.mark.parametrize(("slug", "lesson_id"), LESSONS)
def test_lesson_claims_hold_in_both_languages(slug, lesson_id, caplog):
    """Opened from its link, a lesson sets its widgets, shows its narrative and every claim it
    makes holds for the numbers on the page (English, then Chinese from the same caches)."""
    caplog.set_level(logging.WARNING, logger="diffgeo.i18n")
    lesson = next(x for x in lessons_of(slug) if x.id == lesson_id)
    for lang in ("en", "zh"):
        at = open_page(slug, {"lang": lang, "lesson": lesson_id})
        assert not problems(at), (lang, problems(at))
        for key, value in lesson.settings.items():
            assert at.session_state[key] == value, (lang, key)
        verdicts = at.session_state[CHECKS]
        assert verdicts == {c.id: True for c in lesson.claims}, (lang, verdicts)
        with i18n.use_language(lang):
            title = i18n.t(lesson.key("title"))
        assert any(title in m.value for m in at.markdown), lang
        assert not any("{" in m.value and "}" in m.value and "$" not in m.value
                       for m in at.markdown), "an unfilled placeholder"
    assert _missing_keys(caplog) == []


# -- links ----------------------------------------------------------------------------------------

def _widget_values(at: Any) -> dict[str, Any]:
    run = _run_state(at)
    return {key: at.session_state[key] for key in run.defaults}


def _round_trip(slug: str, kinds: set[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Open a link that moves every widget of these codec kinds to another valid value:
    returns (what the link asked for, what the reopened page shows of it)."""
    first = open_page(slug)
    run = _run_state(first)
    frame = {"lang", "projector", f"{slug}_lesson"}
    wanted: dict[str, Any] = {}
    params: dict[str, str] = {}
    for key, default in run.defaults.items():
        codec = run.codecs[key]
        if key in frame or codec.kind not in kinds:
            continue
        value = codec.other(default)
        if value == default:
            continue
        wanted[key] = value
        params[run.params[key]] = codec.encode(value)
    at = open_page(slug, params)
    assert not problems(at)
    again = _run_state(at)
    assert again.rejected == []
    # widgets the new settings hide (another mode's controls) are not on the page to compare
    shown = {k: v for k, v in _widget_values(at).items() if k in wanted}
    url = dict(at.query_params)
    for key in shown:
        assert url.get(again.params[key]) == params[again.params[key]], key
    return wanted, shown


@pytest.mark.parametrize("slug", TAUGHT)
def test_link_reopens_the_view(slug):
    """A link that moves every number, switch and multiple choice at once: reopened, each
    widget shows the link's value, nothing is rejected, and the address bar holds the same
    link. (Single choices, which often switch the page's mode, are the next test.)"""
    wanted, shown = _round_trip(slug, {"number", "flag", "choices"})
    assert wanted, f"{slug} registers no widget with the links module"
    assert shown == {k: wanted[k] for k in shown}
    assert len(shown) >= max(1, len(wanted) // 2), (sorted(wanted), sorted(shown))


@pytest.mark.parametrize("slug", TAUGHT)
def test_link_reopens_the_chosen_modes(slug):
    """Every single-choice widget (surface, view, dataset, method…) at another option."""
    wanted, shown = _round_trip(slug, {"choice"})
    assert wanted and shown
    assert shown == {k: wanted[k] for k in shown}


HOSTILE = ("nan", "inf", "1e308", "-1e308", "__import__('os').system('id')",
           "=HYPERLINK(\"http://x\")", "😀" * 40, "-0x1p3;DROP TABLE", "1" * 300)


@pytest.mark.parametrize("slug", TAUGHT)
def test_hostile_link_falls_back_to_defaults(slug):
    """Garbage for every widget (NaN, infinities, huge and negative numbers, code, formula
    injection, very long text), an unknown key and bad frame values: the page opens with its
    defaults, names what it ignored in one notice, and cleans the URL."""
    first = open_page(slug)
    run = _run_state(first)
    defaults = _widget_values(first)
    params = {"lang": "klingon", "projector": "maybe", "lesson": "../../etc/passwd",
              "no_such_setting": "1" * 5000}
    for i, key in enumerate(sorted(run.defaults)):
        if key in ("lang", "projector", f"{slug}_lesson"):
            continue
        name = run.params[key]
        long = run.codecs[key].kind == "text" or i % 3 == 0
        params[name] = "x" * (links.MAX_PARAM_CHARS + 10) if long else HOSTILE[i % len(HOSTILE)]
    at = open_page(slug, params)
    assert not problems(at)
    values = _widget_values(at)
    assert {k: v for k, v in values.items() if k in defaults} == {
        k: defaults[k] for k in values if k in defaults}
    notices = [i.value for i in at.info if "link" in i.value.lower()]
    assert len(notices) == 1
    assert "no_such_setting" in notices[0]
    url = dict(at.query_params)
    assert "no_such_setting" not in url
    assert all(value not in url.values() for value in HOSTILE)
