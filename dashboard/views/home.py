"""Home: a gallery with one card per lab (thumbnail, title linking to the lab, what it shows)."""

import streamlit as st

from dashboard.i18n import t
from dashboard.labs import LABS

# Cards of a fixed width in a wrapping row: three side by side at 1400 px, two on a 1024 px
# projector (the main column is then 564 px wide beside the sidebar), one on a phone, without
# the page having to know the window's width.
CARD_WIDTH = 265

st.title(t("common.home.title"))
st.markdown(t("common.home.intro"))

with st.container(horizontal=True, gap="small", horizontal_alignment="distribute"):
    for lab in LABS:
        with st.container(border=True, width=CARD_WIDTH):
            # A lab added before `make assets` was rerun still gets its card, without a picture.
            if lab.thumbnail.is_file():
                st.image(str(lab.thumbnail), width="stretch",
                         alt=t("common.home.thumbnail_alt", title=lab.title))
            st.page_link(f"views/{lab.page_file}", label=f"**{lab.title}**", icon=lab.icon)
            st.caption(t("common.home.what_you_will_see", what=lab.what_you_see))
