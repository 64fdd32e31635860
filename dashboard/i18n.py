"""What a visitor reads, in English and 简体中文: one catalog per language, looked up by key.

A catalog is the folder ``dashboard/locales/<lang>/``: one TOML file per part of the app
(``common.toml`` for the frame and the Home page, ``<lab>.toml`` for each lab). A file's tables
become dotted keys prefixed by its name, so ``title`` in ``latent.toml`` is ``latent.title`` and
``dataset`` under ``[sidebar]`` is ``latent.sidebar.dataset``. Every language has the same keys.

>>> from dashboard.i18n import t, use_language
>>> t("common.language")
'Language / 语言'

Text may hold placeholders ``{name}`` or ``{name:.3f}`` (Python format specs), filled from the
keyword arguments of :func:`t`. Only names passed as arguments are replaced, so LaTeX braces
(``\\sqrt{x}``, ``e^{t}``) need no escaping. A key missing from a catalog shows as ``⟦key⟧``
(the tests look for that marker on every page) and is logged, instead of raising: a missing
sentence must never take a page down.

The language of the current script run is the Streamlit session's choice (set by the app's
frame, :func:`set_session_language`); outside Streamlit (tests, a notebook) it is English
unless :func:`use_language` says otherwise.
"""

from __future__ import annotations

import logging
import re
import tomllib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import Any

log = logging.getLogger("diffgeo.i18n")

LOCALES = Path(__file__).resolve().parent / "locales"
LANGUAGES: dict[str, str] = {"en": "English", "zh": "简体中文"}
"""Language code → the language's own name (what the switch shows)."""
DEFAULT_LANGUAGE = "en"
MISSING = "⟦{key}⟧"
"""How a key missing from the catalog shows on the page."""
SESSION_KEY = "_lang"
"""Where the frame keeps the session's language in ``st.session_state``."""

_override: ContextVar[str | None] = ContextVar("diffgeo_language", default=None)
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::([^{}]*))?\}")


def _flatten(prefix: str, table: Mapping[str, Any], out: dict[str, str], where: Path) -> None:
    for key, value in table.items():
        full = f"{prefix}.{key}"
        if isinstance(value, Mapping):
            _flatten(full, value, out, where)
        elif isinstance(value, str):
            out[full] = value
        else:
            raise ValueError(f"{where}: {full} is a {type(value).__name__}, not text")


@cache
def catalog(lang: str) -> dict[str, str]:
    """Every text of one language: dotted key → text (read once per process)."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; use one of {sorted(LANGUAGES)}")
    out: dict[str, str] = {}
    for path in sorted((LOCALES / lang).glob("*.toml")):
        with path.open("rb") as f:
            _flatten(path.stem, tomllib.load(f), out, path)
    return out


def placeholders(text: str) -> set[str]:
    """The names of the ``{name}`` placeholders in a text."""
    return {m.group(1) for m in _PLACEHOLDER.finditer(text)}


def fill(text: str, values: Mapping[str, Any]) -> str:
    """Replace the placeholders whose names are in ``values`` (with their format specs);
    leave any other braces alone."""
    if not values:
        return text

    def sub(m: re.Match[str]) -> str:
        name, spec = m.group(1), m.group(2)
        if name not in values:
            return m.group(0)
        return format(values[name], spec or "")

    return _PLACEHOLDER.sub(sub, text)


@contextmanager
def use_language(lang: str) -> Iterator[None]:
    """Within the block, :func:`t` speaks ``lang`` (tests, notebooks, ``make assets``)."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; use one of {sorted(LANGUAGES)}")
    token = _override.set(lang)
    try:
        yield
    finally:
        _override.reset(token)


def _session_language() -> str | None:
    # Imported here: the figure builders call t() and must stay usable without a Streamlit run.
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is None:
        return None
    try:
        lang = ctx.session_state[SESSION_KEY]
    except KeyError:
        return None
    return lang if lang in LANGUAGES else None


def language() -> str:
    """The language of the text being produced now: :func:`use_language`'s if inside one,
    else the Streamlit session's, else English."""
    return _override.get() or _session_language() or DEFAULT_LANGUAGE


def set_session_language(state: Any, lang: str) -> None:
    """Record the session's language in its ``st.session_state`` (the app's frame does this
    at the start of every run, before the page runs; fragments rerun without the frame and
    keep it)."""
    state[SESSION_KEY] = lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def language_from_locale(locale: str | None) -> str:
    """The app language for a browser locale such as ``zh-CN`` or ``en-GB``: every Chinese
    locale (zh, zh-CN, zh-TW, zh-Hans…) reads the Chinese catalog, anything else English."""
    if locale and locale.strip().lower().startswith("zh"):
        return "zh"
    return DEFAULT_LANGUAGE


def t(key: str, /, **values: Any) -> str:
    """The text of ``key`` in the current language, placeholders filled from ``values``."""
    lang = language()
    text = catalog(lang).get(key)
    if text is None:
        log.warning("missing text %s in the %s catalog", key, lang)
        return MISSING.format(key=key)
    return fill(text, values)


def has(key: str) -> bool:
    """Whether the catalogs hold ``key`` (checked in English; the tests keep the languages in
    step)."""
    return key in catalog(DEFAULT_LANGUAGE)


def options(prefix: str) -> dict[str, str]:
    """The texts under a table, keyed by their last component: ``options("latent.models")``
    → ``{"vae": "VAE", "ae": "…"}`` in the current language (for ``format_func``)."""
    start = prefix + "."
    return {k[len(start):]: v for k, v in catalog(language()).items()
            if k.startswith(start) and "." not in k[len(start):]}
