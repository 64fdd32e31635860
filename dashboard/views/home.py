"""Home: what DiffGeo Lab is, and a link to each lab."""

import streamlit as st

from dashboard.labs import LABS

st.title("DiffGeo Lab")
st.markdown(
    "An interactive laboratory for **differential geometry at work in deep learning**. "
    "Every picture is computed live from the formulas (metric, Christoffel symbols, "
    "curvature, Fisher information), so you can change a parameter and watch the geometry "
    "respond. Everything runs offline on your own machine."
)
st.subheader("Labs")
for lab in LABS:
    with st.container(border=True):
        st.page_link(f"views/{lab.page_file}", label=lab.title, icon=lab.icon)
        st.caption(f"What you will see: {lab.what_you_see}.")
st.caption(
    "Tip for lecturers: each page opens with sensible defaults and every plot carries its own "
    "title, axis labels and colour bar, so it can be projected as it opens."
)
