"""The HTTP service (FastAPI): a thin layer over the library."""
