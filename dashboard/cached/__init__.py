"""Caching, one module per lab (``dashboard/cached/<lab>.py``), shared pieces in ``common``."""
