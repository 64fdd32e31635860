"""Shared helpers of the teaching tests: open a page from a link, collect what a visitor reads."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from streamlit.testing.v1 import AppTest

from dashboard.labs import LABS
from tests.dashboard.conftest import APP

PAGE_FILES = {lab.slug: f"views/{lab.page_file}" for lab in LABS}
CJK = re.compile(r"[\u4e00-\u9fff]")
# A run of four or more lower-case Latin letters is an English word a translation missed;
# names and notation written that way are allowed.
_WORD = re.compile(r"(?<![A-Za-z\\])[a-z]{4,}(?![A-Za-z])")
ALLOWED_WORDS = frozenset({
    "tanh", "relu", "sqrt", "softmax", "sigmoid", "sinh", "cosh", "arccos", "arcsin", "arctan",
    "isomap", "argmin", "argmax", "true", "false", "none", "http", "https", "diag", "logm",
    "expm", "sinc",
})
_LATEX = re.compile(r"\$\$.*?\$\$|\$[^$]*\$|\\[A-Za-z]+", re.S)
_HTML = re.compile(r"<[^>]+>")


def open_page(slug: str, params: Mapping[str, str] | None = None,
              timeout: float = 300) -> AppTest:
    """The page as a browser opening ``/<slug>?params`` would show it (its first run reads
    the URL; Home never runs in between)."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    for name, value in (params or {}).items():
        at.query_params[name] = value
    at.switch_page(PAGE_FILES[slug])
    at.run()
    return at


def english_words(text: str) -> list[str]:
    """The English words left in a text meant to be Chinese (formulas, markup and the
    allowed names removed)."""
    plain = _HTML.sub(" ", _LATEX.sub(" ", text))
    plain = re.sub(r":material/[a-z_]+:|:[a-z]+\[|https?://\S+|\{[A-Za-z_]\w*(:[^{}]*)?\}",
                   " ", plain)
    return [w for w in _WORD.findall(plain) if w not in ALLOWED_WORDS]


_TEXT_ELEMENTS = ("title", "header", "subheader", "markdown", "caption", "info", "warning",
                  "error", "success", "toast")
_LABELLED = ("selectbox", "radio", "multiselect", "slider", "select_slider", "number_input",
             "checkbox", "toggle", "text_input", "text_area", "button", "expander", "metric",
             "segmented_control", "pills", "tabs")


def _figure_texts(spec: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    layout = spec.get("layout", {})

    def walk(node: Any, path: str) -> Iterator[tuple[str, str]]:
        if isinstance(node, Mapping):
            for key, value in node.items():
                if key == "text" and isinstance(value, str):
                    yield path, value
                elif key == "title" and isinstance(value, str):
                    yield f"{path}.title", value
                else:
                    yield from walk(value, f"{path}.{key}")
        elif isinstance(node, list):
            for i, item in enumerate(node):
                yield from walk(item, f"{path}[{i}]")

    yield from walk(layout, "layout")
    for i, trace in enumerate(spec.get("data", [])):
        if trace.get("name") and trace.get("showlegend", True) is not False:
            yield f"data[{i}].name", str(trace["name"])
        for key in ("colorbar",):
            if isinstance(trace.get(key), Mapping):
                yield from walk(trace[key], f"data[{i}].{key}")
        marker = trace.get("marker")
        if isinstance(marker, Mapping) and isinstance(marker.get("colorbar"), Mapping):
            yield from walk(marker["colorbar"], f"data[{i}].marker.colorbar")


def visible_texts(at: AppTest) -> list[tuple[str, str]]:
    """(where, text) for what a visitor reads: text elements, widget labels and options,
    metric labels, expander labels, table headers, figure titles, axis and colour-bar titles,
    annotations and legend entries."""
    out: list[tuple[str, str]] = []
    for kind in _TEXT_ELEMENTS:
        for el in at.get(kind):
            out.append((kind, str(getattr(el, "value", "") or "")))
    for kind in _LABELLED:
        for el in at.get(kind):
            label = getattr(el, "label", None)
            if label:
                out.append((f"{kind} label", str(label)))
            help_text = getattr(el, "help", None)
            if help_text:
                out.append((f"{kind} help", str(help_text)))
            for option in getattr(el, "options", None) or []:
                out.append((f"{kind} option", str(option)))
    for el in at.get("plotly_chart"):
        spec = json.loads(el.proto.spec)
        out.extend((f"chart {el.proto.id or ''} {where}", text)
                   for where, text in _figure_texts(spec))
    for el in at.get("arrow_data_frame"):
        try:
            columns = list(el.value.columns)
        except Exception:  # noqa: BLE001 - a frame the test cannot read has no headers to check
            columns = []
        out.extend(("table header", str(c)) for c in columns)
    return out


def untranslated(at: AppTest) -> list[tuple[str, str, list[str]]]:
    """What a Chinese page still shows in English: (where, text, English words)."""
    found = []
    for where, text in visible_texts(at):
        words = english_words(text)
        if words:
            found.append((where, text[:120], words[:5]))
    return found
