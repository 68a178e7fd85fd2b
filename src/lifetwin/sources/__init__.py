"""Connectors: one module per export format, each a plain generator.

A connector never writes to the store. It yields Observations, Events, or
Problems (a record it could not read, with file and line); the importer owns
normalization, deduplication, batching and progress.
"""
