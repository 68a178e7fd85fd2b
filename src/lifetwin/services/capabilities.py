"""Runs the packs' capabilities when they are due: after new data arrives (``ingest``),
from ``lifetwin maintain`` (``schedule``), or when someone asks (``demand``, through the
operations layer).

Nothing here names a domain: which analyses follow an ingest is whatever the installed
packs registered with ``trigger=Trigger.INGEST`` whose inputs the person holds.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, Protocol

from lifetwin.core.errors import LifeTwinError
from lifetwin.packs.contract import Capability, Trigger
from lifetwin.store.vault import Person, Store, Vault

log = logging.getLogger("lifetwin.capabilities")


class Outbox(Protocol):
    """Where a capability run in the background sends what it found: alerts (the engine's
    ``Notifier`` interface) and other live events (a new forecast)."""

    def notify(self, alert: Any) -> None: ...

    def publish(self, kind: str, payload: dict[str, Any], key: str | None = None) -> None: ...


class NoOutbox:
    """Keeps nothing: for runs whose results are only stored (``lifetwin maintain``)."""

    def notify(self, alert: Any) -> None:
        return None

    def publish(self, kind: str, payload: dict[str, Any], key: str | None = None) -> None:
        return None


def due(capability: Capability, held: set[str]) -> bool:
    """Whether the person holds any of the capability's inputs (no inputs: always)."""
    return not capability.inputs or bool(held.intersection(capability.inputs))


def capabilities(trigger: Trigger) -> list[Capability]:
    from lifetwin.packs.registry import registry

    return [c for c in registry().capabilities.values() if c.trigger is trigger]


def run(
    vault: Vault, chosen: Iterable[Capability], outbox: Outbox, changed: set[str] | None = None
) -> list[str]:
    """Run each capability whose inputs the person holds (and, when ``changed`` names the
    metrics that just got data, only those that read one of them). A capability that
    cannot run (no grant, too little data) is skipped with a log line; it never stops the
    others. Returns the names of the capabilities that ran."""
    held = {s.metric for s in vault.streams()}
    ran: list[str] = []
    for capability in chosen:
        if not due(capability, held):
            continue
        if changed is not None and capability.inputs and not changed & set(capability.inputs):
            continue
        try:
            capability.run(vault, outbox)
        except LifeTwinError as exc:
            log.info("%s skipped for a person: %s", capability.name, exc)
            continue
        ran.append(capability.name)
    return ran


def run_on_ingest(
    store: Store, person: Person, outbox: Outbox, changed: set[str] | None = None
) -> list[str]:
    """The analyses that follow new data for ``person`` (a background job of the service)."""
    vault = store.vault(person, actor="service")
    return run(vault, capabilities(Trigger.INGEST), outbox, changed)


def run_scheduled(store: Store, outbox: Outbox | None = None) -> int:
    """Every person's scheduled capabilities (``lifetwin maintain``); how many ran."""
    chosen = capabilities(Trigger.SCHEDULE)
    if not chosen:
        return 0
    count = 0
    for person in store.persons():
        count += len(run(store.vault(person, actor="service"), chosen, outbox or NoOutbox()))
    return count
