"""DiffGeo Lab's Streamlit dashboard: thin pages over geomcore, figures built in dashboard.figures."""
