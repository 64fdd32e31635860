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

st.set_page_config(
    page_title="DiffGeo Lab",
    page_icon=str(FAVICON),
    layout="wide",
    initial_sidebar_state="expanded",
)

home = st.Page(str(_PAGES / "home.py"), title="Home", icon=":material/home:", default=True)
labs = [
    st.Page(str(_PAGES / lab.page_file), title=lab.title, icon=lab.icon, url_path=lab.slug)
    for lab in LABS
]
page = st.navigation({"DiffGeo Lab": [home], "Labs": labs})
page.run()
