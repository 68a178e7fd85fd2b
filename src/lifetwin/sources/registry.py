"""Finds connectors: the built-ins and any installed plugin (entry point group ``lifetwin``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pluggy

from lifetwin.core.errors import ImportFailedError
from lifetwin.sources import builtin
from lifetwin.sources.base import Connector, ConnectorSpec

HEAD_BYTES = 4096


@lru_cache(maxsize=1)
def plugin_manager() -> pluggy.PluginManager:
    manager = pluggy.PluginManager("lifetwin")
    manager.add_hookspecs(ConnectorSpec)
    manager.register(builtin, name="builtin_sources")
    manager.load_setuptools_entrypoints("lifetwin")
    return manager


def connectors() -> list[Connector]:
    found: list[Connector] = []
    for group in plugin_manager().hook.lifetwin_connectors():
        found.extend(group)
    return found


def connector(name: str) -> Connector:
    for candidate in connectors():
        if candidate.name == name:
            return candidate
    names = ", ".join(sorted(c.name for c in connectors()))
    raise ImportFailedError(f"'{name}' is not a format LifeTwin reads (formats: {names}).")


def detect(path: Path) -> Connector:
    """The first connector that recognizes the file."""
    with path.open("rb") as handle:
        head = handle.read(HEAD_BYTES)
    for candidate in connectors():
        if candidate.detect(path, head):
            return candidate
    names = ", ".join(sorted(c.name for c in connectors()))
    raise ImportFailedError(
        f"{path.name} is not in a format LifeTwin recognizes (formats: {names}); for a CSV or "
        "JSON file of your own layout, pass --mapping (see docs/importing.md)."
    )
