"""The REST API under /api/v1, one module per resource. Conventions in docs/api.md."""
