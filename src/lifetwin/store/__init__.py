"""Encrypted per-person vaults on an embedded (SQLite) or server (PostgreSQL) backend."""
