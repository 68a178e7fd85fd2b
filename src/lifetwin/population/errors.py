"""Errors of population work: each one sentence a study operator or a person can act on."""

from __future__ import annotations

from lifetwin.core.errors import LifeTwinError


class PopulationError(LifeTwinError):
    """A population job that cannot run as asked."""


class SecureAggregationError(PopulationError):
    """Secure aggregation settings that would fail, or a run in which rounds did not aggregate."""


class RuntimeMissingError(PopulationError):
    """The separate Flower runtime (or another optional piece) is not installed."""
