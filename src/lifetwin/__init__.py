"""LifeTwin: an open, privacy-first engine for personal digital twins.

The package is laid out along the data flow::

    core (model, vocabulary, units, validation)
      <- sources (connectors: one module per export format)
      <- store (encrypted per-person vaults on SQLite or PostgreSQL)
      <- services (importer, demo, doctor: what the adapters call)
      <- cli / api (thin adapters)
"""

__version__ = "0.1.0"
