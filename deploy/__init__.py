"""Serving DiffGeo Lab past one process: N Streamlit replicas behind nginx (`make serve-class`)."""
