"""Links that reopen a view: every widget's value round-trips through the page's URL.

Pages create their widgets through the functions of this module instead of ``st.slider``,
``st.selectbox``…; each takes the same arguments plus the default ``value`` and a required
``key``, which is also the widget's name in the URL (``?latent_n=1200&latent_model=ae``)::

    from dashboard import links
    n = links.slider(t("latent.sidebar.points"), 200, 2500, 1000, step=100, key="latent_n")

What each function does, in one run:

1. It records the widget's *codec*: how its value is written in a URL and read back, with the
   widget's own bounds (numbers), options (choices) or length limit (text).
2. If the session has no value for the key yet (the first run of the page), it reads the URL:
   a valid value becomes the widget's value, anything else (unknown option, NaN, a number out
   of the widget's range, a string too long, text the page's validator rejects) is replaced by
   the default and named in a one-line notice. A URL value never reaches a parser unchecked
   and never exceeds a widget's bounds.
3. It creates the widget without a ``value`` argument (the value is in ``st.session_state``),
   then writes the value into the URL, or removes it from there when it is the default, so
   the address bar always holds the view and stays short.

The frame (``dashboard/app.py``) calls :func:`begin` and :func:`enter` before the page and
:func:`finish` after it: :func:`finish` shows the notice and drops the parameters that no
widget of the page claimed (unknown keys, and the keys of widgets the page no longer shows);
the sidebar's "Copy link to this view" button copies the address bar as it is when clicked.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from dashboard.i18n import t

GLOBAL_PARAMS = frozenset({"lang", "projector", "lesson"})
"""URL parameters of the frame, valid on every page."""
MAX_PARAM_CHARS = 2000
"""Longer URL values are refused before any parsing (a number or an option is far shorter)."""
_STATE = "_links"


@dataclass(frozen=True)
class Codec:
    """How one widget's value is written in a URL and read back."""

    encode: Callable[[Any], str]
    decode: Callable[[str], Any]
    """Raises ``ValueError`` for anything the widget could not hold."""
    kind: str = "text"
    """``number``, ``choice``, ``choices``, ``flag`` or ``text``."""
    other: Callable[[Any], Any] = lambda value: value
    """A valid value different from the one given where the widget has one (the tests' round
    trip: a link that changes every widget at once)."""
    fit: Callable[[Any, Any], Any] = lambda value, default: value
    """``fit(value, default)``: a value kept from an earlier run made valid for the widget as
    drawn now (its range or options follow another setting): numbers are clamped into the
    range, a lost option becomes the default, lost options leave a multiple choice."""


@dataclass
class _Run:
    """What :func:`start` resets and the widgets of one run fill in."""

    page: str | None = None
    first_run: bool = False
    codecs: dict[str, Codec] = field(default_factory=dict)
    defaults: dict[str, Any] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    """Widget key → URL parameter name (the same unless a widget says otherwise)."""
    always: set[str] = field(default_factory=set)
    """Keys written even when at their default (the language; a lesson's settings)."""
    rejected: list[str] = field(default_factory=list)
    notice: Any = None


def _run() -> _Run:
    state = st.session_state
    if _STATE not in state:
        state[_STATE] = _Run()
    run: _Run = state[_STATE]
    return run


# -- codecs ---------------------------------------------------------------------------------------

def _checked(raw: str) -> str:
    if len(raw) > MAX_PARAM_CHARS:
        raise ValueError("too long")
    return raw.strip()


def number_codec(lo: float, hi: float, *, integer: bool) -> Codec:
    """A number within ``[lo, hi]`` (whole when ``integer``); NaN and infinities refused."""

    def decode(raw: str) -> float | int:
        text = _checked(raw)
        if len(text) > 40:
            raise ValueError("not a number")
        value = float(text)
        if not math.isfinite(value) or not lo <= value <= hi:
            raise ValueError("out of range")
        if integer:
            if value != int(value):
                raise ValueError("not whole")
            return int(value)
        return value

    def encode(value: Any) -> str:
        return str(int(value)) if integer else repr(float(value))

    def other(value: Any) -> Any:
        # half-way towards the lower bound (less work than the default), else the upper one
        target = (lo + value) / 2 if value > lo else (value + hi) / 2
        if not integer:
            return float(target)
        whole = int(math.floor(target)) if value > lo else int(math.ceil(target))
        return whole if whole != value else value + (1 if value < hi else -1)

    def fit(value: Any, default: Any) -> Any:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return default
        return min(max(value, type(value)(lo)), type(value)(hi))

    return Codec(encode, decode, "number", other, fit)


def choice_codec(options: Sequence[Any]) -> Codec:
    """One of ``options``, written as its ``str``."""
    by_text = {str(o): o for o in options}

    def decode(raw: str) -> Any:
        text = _checked(raw)
        if text not in by_text:
            raise ValueError("not an option")
        return by_text[text]

    def other(value: Any) -> Any:
        values = list(by_text.values())
        if len(values) < 2:
            return value
        i = values.index(value) if value in values else -1
        return values[(i + 1) % len(values)]

    def fit(value: Any, default: Any) -> Any:
        return value if str(value) in by_text else default

    return Codec(str, decode, "choice", other, fit)


def choices_codec(options: Sequence[Any], max_selections: int | None = None) -> Codec:
    """Several distinct ``options``, written comma-separated."""
    by_text = {str(o): o for o in options}
    if any("," in text for text in by_text):
        raise ValueError("multiselect options written in a URL must not contain commas")

    def decode(raw: str) -> list[Any]:
        text = _checked(raw)
        parts = [p for p in text.split(",") if p] if text else []
        if len(set(parts)) != len(parts) or any(p not in by_text for p in parts):
            raise ValueError("not a list of options")
        if max_selections is not None and len(parts) > max_selections:
            raise ValueError("too many")
        return [by_text[p] for p in parts]

    def other(values: Any) -> list[Any]:
        chosen = list(values)
        if len(chosen) > 1:
            return chosen[:-1]
        rest = [o for o in by_text.values() if o not in chosen]
        if max_selections is not None and len(chosen) >= max_selections:
            return rest[:1] or chosen
        return chosen + rest[:1]

    def fit(values: Any, default: Any) -> list[Any]:
        return [v for v in (values or []) if str(v) in by_text]

    return Codec(lambda values: ",".join(str(v) for v in values), decode, "choices", other,
                 fit)


def flag_codec() -> Codec:
    """On or off: ``1``/``0`` (``true``/``false`` also read)."""

    def decode(raw: str) -> bool:
        text = _checked(raw).lower()
        if text in ("1", "true"):
            return True
        if text in ("0", "false"):
            return False
        raise ValueError("not a flag")

    return Codec(lambda v: "1" if v else "0", decode, "flag", lambda v: not v)


def text_codec(max_chars: int, validate: Callable[[str], object] | None = None) -> Codec:
    """Text of at most ``max_chars`` printable characters that ``validate`` accepts (it raises
    ``ValueError`` otherwise, e.g. the page's own formula check)."""

    def decode(raw: str) -> str:
        if len(raw) > min(max_chars, MAX_PARAM_CHARS):
            raise ValueError("too long")
        if any(not ch.isprintable() and ch not in "\n" for ch in raw):
            raise ValueError("control characters")
        if validate is not None:
            validate(raw)
        return raw

    return Codec(str, decode, "text")


# -- the run --------------------------------------------------------------------------------------

def begin() -> None:
    """Begin a run: forget the last run's widgets (the frame's own widgets follow)."""
    st.session_state[_STATE] = _Run(page=_run().page)


def enter(page: str) -> None:
    """The page of this run is ``page`` (its URL path; ``""`` for Home). On the first run of a
    page the widgets read their values from the URL; a notice slot opens at the top."""
    run = _run()
    run.first_run = run.page != page
    run.page = page
    run.notice = st.empty()


def _read_url(key: str, param: str, codec: Codec) -> tuple[bool, Any]:
    raw = st.query_params.get(param)
    if raw is None:
        return False, None
    try:
        return True, codec.decode(raw)
    except (ValueError, TypeError, OverflowError):
        _run().rejected.append(param)
        return False, None


def _register(key: str, default: Any, codec: Codec, param: str | None) -> None:
    """Record the widget and give it its first value (from the URL, else ``default``)."""
    run = _run()
    name = param or key
    run.codecs[key] = codec
    run.defaults[key] = default
    run.params[key] = name
    state = st.session_state
    if key in state:
        fitted = codec.fit(state[key], default)
        if fitted != state[key]:
            state[key] = fitted
    else:
        # Only the first run of a page reads the URL: later, a missing key is a widget shown
        # again or reset by a lesson, and the URL may still hold the value it replaced.
        found, value = (_read_url(key, name, codec) if run.first_run or name in GLOBAL_PARAMS
                        else (False, None))
        state[key] = value if found else default


def _publish(key: str) -> None:
    """Write the widget's current value into the URL (or remove it: it is the default)."""
    run = _run()
    name = run.params[key]
    value = st.session_state.get(key)
    # None: a segmented control clicked off; the link then reopens the default
    if value is None or value == run.defaults[key] and key not in run.always:
        if name in st.query_params:
            del st.query_params[name]
        return
    text = run.codecs[key].encode(value)
    if st.query_params.get(name) != text:
        st.query_params[name] = text


def set_always(keys: Iterable[str]) -> None:
    """Keep these keys in the URL even at their defaults (a lesson's settings: reopening the
    link must not re-apply the lesson over a value the visitor set back to its default)."""
    _run().always.update(keys)


def _target(container: Any) -> Any:
    return st if container is None else container


def _widget(kind: str, key: str, default: Any, codec: Codec, container: Any,
            param: str | None, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Any:
    _register(key, default, codec, param)
    result = getattr(_target(container), kind)(*args, key=key, **kwargs)
    _publish(key)
    return result


# -- the widgets ----------------------------------------------------------------------------------

def _number(kind: str, label: str, min_value: float, max_value: float, value: float, key: str,
            container: Any, param: str | None, kwargs: Mapping[str, Any]) -> Any:
    integer = all(isinstance(v, int) and not isinstance(v, bool)
                  for v in (min_value, max_value, value))
    codec = number_codec(min_value, max_value, integer=integer)
    return _widget(kind, key, value, codec, container, param, (label, min_value, max_value),
                   kwargs)


def slider(label: str, min_value: float, max_value: float, value: float, *, key: str,
           container: Any = None, param: str | None = None, **kwargs: Any) -> Any:
    """``st.slider`` of one number, kept in the URL."""
    return _number("slider", label, min_value, max_value, value, key, container, param, kwargs)


def number_input(label: str, min_value: float, max_value: float, value: float, *, key: str,
                 container: Any = None, param: str | None = None, **kwargs: Any) -> Any:
    """``st.number_input`` with both bounds, kept in the URL."""
    return _number("number_input", label, min_value, max_value, value, key, container, param,
                   kwargs)


def select_slider(label: str, options: Sequence[Any], value: Any, *, key: str,
                  container: Any = None, param: str | None = None, **kwargs: Any) -> Any:
    """``st.select_slider`` of one option, kept in the URL."""
    return _widget("select_slider", key, value, choice_codec(options), container, param,
                   (label,), {"options": list(options), **kwargs})


def _single_choice(kind: str, label: str, options: Sequence[Any], value: Any, key: str,
                   container: Any, param: str | None, kwargs: Mapping[str, Any]) -> Any:
    choices = list(options)
    default = choices[0] if value is None else value
    return _widget(kind, key, default, choice_codec(choices), container, param,
                   (label, choices), kwargs)


def selectbox(label: str, options: Sequence[Any], value: Any = None, *, key: str,
              container: Any = None, param: str | None = None, **kwargs: Any) -> Any:
    """``st.selectbox``, kept in the URL; ``value`` defaults to the first option."""
    return _single_choice("selectbox", label, options, value, key, container, param, kwargs)


def radio(label: str, options: Sequence[Any], value: Any = None, *, key: str,
          container: Any = None, param: str | None = None, **kwargs: Any) -> Any:
    """``st.radio``, kept in the URL; ``value`` defaults to the first option."""
    return _single_choice("radio", label, options, value, key, container, param, kwargs)


def segmented_control(label: str, options: Sequence[Any], value: Any = None, *, key: str,
                      container: Any = None, param: str | None = None, **kwargs: Any) -> Any:
    """``st.segmented_control`` (one selection), kept in the URL."""
    return _single_choice("segmented_control", label, options, value, key, container, param,
                          kwargs)


def multiselect(label: str, options: Sequence[Any], value: Sequence[Any], *, key: str,
                container: Any = None, param: str | None = None, **kwargs: Any) -> Any:
    """``st.multiselect``, kept in the URL (options written comma-separated)."""
    options = list(options)
    codec = choices_codec(options, kwargs.get("max_selections"))
    return _widget("multiselect", key, list(value), codec, container, param,
                   (label, options), kwargs)


def checkbox(label: str, value: bool = False, *, key: str, container: Any = None,
             param: str | None = None, **kwargs: Any) -> bool:
    """``st.checkbox``, kept in the URL."""
    return bool(_widget("checkbox", key, bool(value), flag_codec(), container, param,
                        (label,), kwargs))


def toggle(label: str, value: bool = False, *, key: str, container: Any = None,
           param: str | None = None, **kwargs: Any) -> bool:
    """``st.toggle``, kept in the URL."""
    return bool(_widget("toggle", key, bool(value), flag_codec(), container, param,
                        (label,), kwargs))


def _text_widget(kind: str, label: str, value: str, key: str, max_chars: int,
                 validate: Callable[[str], object] | None, counter: bool, container: Any,
                 param: str | None, kwargs: Mapping[str, Any]) -> str:
    limit = {"max_chars": max_chars} if counter else {}
    return str(_widget(kind, key, value, text_codec(max_chars, validate), container, param,
                       (label,), {**limit, **kwargs}))


def text_input(label: str, value: str, *, key: str, max_chars: int,
               validate: Callable[[str], object] | None = None, counter: bool = True,
               container: Any = None, param: str | None = None, **kwargs: Any) -> str:
    """``st.text_input``, kept in the URL. ``max_chars`` is required: it bounds the URL value,
    and with ``counter`` the field too (Streamlit then shows a character counter, which covers
    the end of a short field: a formula field turns it off and checks the length itself).
    ``validate`` raises ``ValueError`` for text the page would refuse, so that a link with such
    text opens the default instead."""
    return _text_widget("text_input", label, value, key, max_chars, validate, counter,
                        container, param, kwargs)


def text_area(label: str, value: str, *, key: str, max_chars: int,
              validate: Callable[[str], object] | None = None, counter: bool = True,
              container: Any = None, param: str | None = None, **kwargs: Any) -> str:
    """``st.text_area``, kept in the URL (see :func:`text_input`)."""
    return _text_widget("text_area", label, value, key, max_chars, validate, counter,
                        container, param, kwargs)


# -- the end of a run -----------------------------------------------------------------------------

def registered() -> dict[str, Any]:
    """Widget key → default for the widgets of this run (what the tests walk through)."""
    return dict(_run().defaults)


def codec(key: str) -> Codec:
    """The codec of a widget of this run."""
    return _run().codecs[key]


def param_name(key: str) -> str:
    """The URL parameter of a widget of this run."""
    return _run().params[key]


def finish() -> None:
    """After the page: drop the URL parameters no widget claimed, and on the page's first run
    name the rejected and unknown ones in a one-line notice."""
    run = _run()
    claimed = set(run.params.values()) | GLOBAL_PARAMS
    unknown = [name for name in st.query_params if name not in claimed]
    for name in unknown:
        del st.query_params[name]
    if not run.first_run:
        return
    # unknown names first: they are the likeliest typo in a hand-written link
    ignored = sorted(set(unknown)) + sorted(set(run.rejected) - set(unknown))
    if ignored and run.notice is not None:
        shown = [name if len(name) <= 40 else name[:37] + "…" for name in ignored[:8]]
        more = len(ignored) - len(shown)
        names = ", ".join(shown) + (f" (+{more})" if more > 0 else "")
        run.notice.info(t("common.links.ignored", names=names), icon=":material/link_off:")


def notice_shown() -> list[str]:
    """The parameters rejected in this run (for the tests)."""
    return list(_run().rejected)


COPY_BUTTON = """
<button class="diffgeo-copy-link" id="diffgeo-copy-link" type="button">{label}</button>
<script>
(() => {{
  const button = document.getElementById('diffgeo-copy-link');
  if (!button || button.dataset.ready) return;
  button.dataset.ready = '1';
  const done = () => {{
    button.innerText = '{copied}';
    setTimeout(() => {{ button.innerText = '{label}'; }}, 2000);
  }};
  const fallback = url => {{
    const area = document.createElement('textarea');
    area.value = url;
    document.body.appendChild(area);
    area.select();
    let ok = false;
    try {{ ok = document.execCommand('copy'); }} catch (e) {{ ok = false; }}
    area.remove();
    if (ok) done(); else window.prompt('{label}', url);
  }};
  button.addEventListener('click', () => {{
    const url = window.location.href;
    if (navigator.clipboard && window.isSecureContext) {{
      navigator.clipboard.writeText(url).then(done, () => fallback(url));
    }} else {{
      fallback(url);
    }}
  }});
}})();
</script>
<style>
.diffgeo-copy-link {{ width: 100%; padding: 0.4rem 0.75rem; border-radius: 0.5rem;
  border: 1px solid rgba(49, 51, 63, 0.2); background: white; color: #1B1F24;
  font: inherit; cursor: pointer; }}
.diffgeo-copy-link:hover {{ border-color: #0072B2; color: #0072B2; }}
</style>
"""
"""The copy button: it runs in the visitor's browser and copies the address bar as it is when
clicked (fragments update the URL without a full run, so a link drawn by the server could be
stale). On a plain-http class server the clipboard API is off; the fallback copies through a
selected text area, and as a last resort shows the link to copy by hand."""


def copy_link_button() -> None:
    """The "Copy link to this view" button (in the sidebar)."""
    label = t("common.links.copy").replace("'", "’")
    copied = t("common.links.copied").replace("'", "’")
    st.html(COPY_BUTTON.format(label=label, copied=copied), unsafe_allow_javascript=True)
