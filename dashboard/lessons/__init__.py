"""Guided lessons: named settings of a lab with a short narrative whose numbers are live.

A lab's lessons are data, ``dashboard/lessons/<lab>.toml``::

    [[lessons]]
    id = "holonomy"                      # the URL's ?lesson=holonomy
    [lessons.settings]                   # widget key → value (the others take their defaults)
    geo_mode = "transport"
    [[lessons.claims]]                   # what the narrative asserts, checked live
    id = "angle"
    left = "holonomy_angle"              # a fact the page publishes
    relation = "close"                   # close | less | greater | true
    right = "enclosed_curvature"         # a fact or a number (not for "true")
    tol = 1e-6                           # close: |left − right| ≤ tol + rtol·|right|
    rtol = 0.0

Its texts live in the catalogs, under ``<lab>.lessons.<id>``: ``title``, ``body`` (what to look
at; placeholders ``{fact}`` or ``{fact:.3g}`` name facts), ``next`` (what to try next) and
``claims.<claim id>`` (one sentence per claim; it may cite ``{tol}`` and the facts).

The page publishes the numbers it computed with :func:`fact`; after the page, the frame draws
the panel with :func:`show_panel`: the narrative with the live numbers, and each claim with a
tick when it holds for what is on screen and a cross, said in words, when it does not (the
visitor moved a slider away from the lesson's setting, or a solve failed).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import streamlit as st

from dashboard import links
from dashboard.i18n import fill, placeholders, t

HERE = Path(__file__).resolve().parent
RELATIONS = ("close", "less", "greater", "true")
FACTS = "_lesson_facts"
CHECKS = "_lesson_checks"
"""``st.session_state`` keys: this run's facts, and the claims' verdicts (the tests read both)."""


@dataclass(frozen=True)
class Claim:
    id: str
    left: str
    relation: str
    right: str | float | None = None
    tol: float = 0.0
    rtol: float = 0.0


@dataclass(frozen=True)
class Lesson:
    lab: str
    id: str
    settings: Mapping[str, Any]
    claims: tuple[Claim, ...]

    def key(self, part: str) -> str:
        return f"{self.lab}.lessons.{self.id}.{part}"


@dataclass(frozen=True)
class Verdict:
    claim: Claim
    holds: bool | None
    """``None``: a fact it needs was not computed (the page stopped early)."""
    detail: str


@cache
def lessons_of(lab: str) -> tuple[Lesson, ...]:
    """The lessons of a lab, in their file's order (none if it has no file)."""
    path = HERE / f"{lab}.toml"
    if not path.is_file():
        return ()
    with path.open("rb") as f:
        data = tomllib.load(f)
    out = []
    for entry in data.get("lessons", []):
        claims = []
        for c in entry.get("claims", []):
            if c["relation"] not in RELATIONS:
                raise ValueError(f"{path}: unknown relation {c['relation']!r}")
            claims.append(Claim(id=c["id"], left=c["left"], relation=c["relation"],
                                right=c.get("right"), tol=float(c.get("tol", 0.0)),
                                rtol=float(c.get("rtol", 0.0))))
        out.append(Lesson(lab=lab, id=entry["id"], settings=dict(entry.get("settings", {})),
                          claims=tuple(claims)))
    ids = [lesson.id for lesson in out]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{path}: lesson ids repeat")
    return tuple(out)


def fact(name: str, value: float | bool) -> None:
    """Publish a number the page computed, for the lesson's narrative and claims."""
    facts = st.session_state.setdefault(FACTS, {})
    facts[name] = value


def _value(facts: Mapping[str, Any], ref: str | float | None) -> Any:
    if isinstance(ref, str):
        return facts.get(ref)
    return ref


def check(claim: Claim, facts: Mapping[str, Any]) -> Verdict:
    """Whether a claim holds for these facts, with the numbers behind the verdict."""
    left = _value(facts, claim.left)
    if claim.relation == "true":
        if left is None:
            return Verdict(claim, None, "")
        return Verdict(claim, bool(left), "")
    right = _value(facts, claim.right)
    if left is None or right is None:
        return Verdict(claim, None, "")
    a, b = float(left), float(right)
    if not (math.isfinite(a) and math.isfinite(b)):
        return Verdict(claim, False, f"{a:.6g} vs {b:.6g}")
    if claim.relation == "close":
        gap = abs(a - b)
        bound = claim.tol + claim.rtol * abs(b)
        return Verdict(claim, gap <= bound, f"|{a:.6g} − {b:.6g}| = {gap:.2g}")
    holds = a < b if claim.relation == "less" else a > b
    return Verdict(claim, holds, f"{a:.6g} {'<' if claim.relation == 'less' else '>'} {b:.6g}"
                   if holds else f"{a:.6g} vs {b:.6g}")


def apply(lesson: Lesson | None, page_keys: Mapping[str, Any]) -> None:
    """Put the page's widgets at their defaults, then at the lesson's settings (called by the
    lesson selector's callback, before the page's widgets exist in the next run)."""
    state = st.session_state
    for key in page_keys:
        if key in state:
            del state[key]
    if lesson is not None:
        for key, value in lesson.settings.items():
            state[key] = value


def selector(lab: str) -> Lesson | None:
    """The sidebar's lesson picker for ``lab`` (``?lesson=<id>`` in the URL); returns the
    lesson being followed. Choosing one resets the page's widgets to the lesson's settings."""
    st.session_state.pop(FACTS, None)
    chosen = lessons_of(lab)
    if not chosen:
        return None
    by_id = {lesson.id: lesson for lesson in chosen}
    key = f"{lab}_lesson"
    state = st.session_state
    first_visit = key not in state
    # the page's widgets as the last run registered them: the callback resets exactly those
    page_keys = state.get(f"_{lab}_widget_keys", {})

    def on_change() -> None:
        apply(by_id.get(state[key]), page_keys)

    current = links.selectbox(
        t("common.lessons.choose"), ["", *by_id], key=key, param="lesson", on_change=on_change,
        format_func=lambda i: t(f"{lab}.lessons.{i}.title") if i else t("common.lessons.none"))
    lesson = by_id.get(current)
    if lesson is not None and first_visit:
        # Opened from a link: the lesson's settings, except where the link says otherwise.
        for k, value in lesson.settings.items():
            if k not in st.query_params and k not in state:
                state[k] = value
    if lesson is not None:
        links.set_always(lesson.settings)
    return lesson


def remember_widgets(lab: str) -> None:
    """After the page: note its widgets, so that choosing a lesson resets all of them."""
    frame = {f"{lab}_lesson", *links.GLOBAL_PARAMS}
    keys = {k: v for k, v in links.registered().items() if k not in frame}
    st.session_state[f"_{lab}_widget_keys"] = keys


def show_panel(lesson: Lesson, container: Any) -> list[Verdict]:
    """Draw the lesson's narrative and claims into ``container`` (a slot at the top of the
    page, filled after the page has computed its facts)."""
    facts: dict[str, Any] = dict(st.session_state.get(FACTS, {}))
    verdicts = [check(c, facts) for c in lesson.claims]
    st.session_state[CHECKS] = {v.claim.id: v.holds for v in verdicts}
    shown = {k: v for k, v in facts.items() if v is not None}
    with container.container(border=True):
        st.markdown(f"**{t('common.lessons.heading', title=t(lesson.key('title')))}**")
        st.markdown(_fill_facts(t(lesson.key("body")), shown))
        for verdict in verdicts:
            text = _fill_facts(t(lesson.key(f"claims.{verdict.claim.id}")),
                               {**shown, "tol": verdict.claim.tol, "rtol": verdict.claim.rtol})
            if verdict.holds is None:
                st.markdown(f":material/help: {text} — *{t('common.lessons.unknown')}*")
            elif verdict.holds:
                st.markdown(f":green[:material/check_circle:] {text} "
                            f"<small>({verdict.detail})</small>" if verdict.detail else
                            f":green[:material/check_circle:] {text}", unsafe_allow_html=True)
            else:
                st.markdown(f":red[:material/cancel:] {text} — "
                            f"*{t('common.lessons.fails', detail=verdict.detail)}*")
        st.caption(_fill_facts(t(lesson.key("next")), shown))
    return verdicts


def _fill_facts(text: str, facts: Mapping[str, Any]) -> str:
    """Fill the facts; a fact the page did not compute shows as a dash."""
    filled = fill(text, facts)
    return fill(filled, {name: _Dash() for name in placeholders(filled)})


class _Dash:
    def __format__(self, spec: str) -> str:
        return "—"
