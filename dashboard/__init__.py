"""DiffGeo Lab dashboard: thin pages over geomcore, figures built in dashboard.figures."""
