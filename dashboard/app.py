"""DiffGeo Lab entrypoint: page config and navigation (`streamlit run dashboard/app.py`)."""

from __future__ import annotations

import sys
from pathlib import Path

# `streamlit run dashboard/app.py` puts dashboard/ on sys.path, not the project root; make the
# packages importable even when the project is not pip-installed (e.g. in a fresh clone).
_ROOT = Path(__file__).resolve().parent.parent
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

import streamlit as st  # noqa: E402

from dashboard.labs import LABS  # noqa: E402

# The page scripts live in views/, not pages/: Streamlit treats a pages/ folder beside the
# entrypoint as a legacy multipage app, and a deep link such as /geometry opened before the
# entrypoint has run would then bypass this file (no layout, no navigation).
_PAGES = Path(__file__).parent / "views"

# A file shipped with the app: a ":material/…:" page icon is fetched from a font server as the
# favicon, which fails offline.
FAVICON = _ROOT / "assets" / "favicon.png"
# Projector mode: larger page text (the figures are enlarged by widgets.chart).
PROJECTOR_CSS = """<style>
[data-testid="stMain"] { font-size: 1.2rem; }
[data-testid="stMain"] h1 { font-size: 2.6rem; }
[data-testid="stMain"] [data-testid="stMarkdownContainer"] p,
[data-testid="stMain"] [data-testid="stMarkdownContainer"] li { font-size: 1.2rem; }
[data-testid="stMain"] [data-testid="stCaptionContainer"] p { font-size: 1.05rem; }
[data-testid="stMain"] [data-testid="stMetricLabel"] p { font-size: 1.15rem; }
[data-testid="stMain"] [data-testid="stMetricValue"],
[data-testid="stMain"] [data-testid="stMetricValue"] [data-testid="stMarkdownContainer"] p {
  font-size: 2.6rem; }
[data-testid="stMain"] [data-testid="stWidgetLabel"] p,
[data-testid="stMain"] [role="radiogroup"] p { font-size: 1.1rem; }
</style>"""

from dashboard import i18n, lessons, links  # noqa: E402
from dashboard.i18n import t  # noqa: E402
from dashboard.widgets import PROJECTOR_KEY, projector_on  # noqa: E402

links.begin()
# The language first: every title below is drawn in it. A link's ?lang= wins, then the choice
# made in this session, then the browser's language. Like every widget, the URL holds it only
# when it differs from that default: a link nobody chose a language for opens in the reader's.
with st.sidebar:
    lang = links.selectbox(
        t("common.language"), list(i18n.LANGUAGES),
        i18n.language_from_locale(st.context.locale), key="lang",
        format_func=i18n.LANGUAGES.__getitem__)
    i18n.set_session_language(st.session_state, lang)
    # before the page config, which folds the sidebar away in projector mode
    links.toggle(t("common.projector"), False, key=PROJECTOR_KEY,
                 help=t("common.projector_help"))

st.set_page_config(
    page_title="DiffGeo Lab",
    page_icon=str(FAVICON),
    layout="wide",
    # projector mode gives the figures the whole width; the arrow at the top left reopens it
    initial_sidebar_state="collapsed" if projector_on() else "expanded",
)

home = st.Page(str(_PAGES / "home.py"), title=t("common.nav_home"), icon=":material/home:",
               default=True)
labs = [
    st.Page(str(_PAGES / lab.page_file), title=lab.title, icon=lab.icon, url_path=lab.slug)
    for lab in LABS
]
page = st.navigation({"DiffGeo Lab": [home], t("common.nav_labs"): labs})
slug = page.url_path
links.enter(slug)
with st.sidebar:
    lesson = lessons.selector(slug) if slug else None
    links.copy_link_button()
if projector_on():
    st.html(PROJECTOR_CSS)
lesson_slot = st.empty()
try:
    page.run()
finally:
    # also after st.stop(): the URL and the lesson must follow what the page did show
    links.finish()
    if slug:
        lessons.remember_widgets(slug)
    if lesson is not None:
        lessons.show_panel(lesson, lesson_slot)
