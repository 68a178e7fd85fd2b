"""The store as a whole: the health check (``doctor``), maintenance and the installed packs."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel

from lifetwin.services.overview import freshness_days, summarize
from lifetwin.store.vault import Store

STALE_DAYS = 3


class StreamHealth(BaseModel):
    source: str
    metric: str
    count: int
    last: datetime | None
    age_days: float | None
    status: Literal["ok", "stale", "empty"]


class ImportHealth(BaseModel):
    file: str
    format: str
    started: str
    state: str


class PersonHealth(BaseModel):
    name: str
    streams: list[StreamHealth]
    imports: list[ImportHealth]


class Doctor(BaseModel):
    store: str
    formats: list[str]
    persons: list[PersonHealth]


def doctor(store: Store, person: str | None = None) -> Doctor:
    """What works and what does not: the store opens, each source's freshness (stale after
    three days), and imports that stopped or were never finished."""
    from lifetwin.sources.registry import connectors

    now = datetime.now(UTC)
    people = [store.person(person)] if person else store.persons()
    found: list[PersonHealth] = []
    for who in people:
        vault = store.vault(who)
        streams: list[StreamHealth] = []
        for row in summarize(vault):
            age = freshness_days(row, now)
            streams.append(
                StreamHealth(
                    source=row.stream.source,
                    metric=row.stream.metric,
                    count=row.count,
                    last=row.last,
                    age_days=round(age, 2) if age is not None else None,
                    status="empty" if age is None else ("ok" if age < STALE_DAYS else "stale"),
                )
            )
        imports: list[ImportHealth] = []
        for record in vault.imports():
            problems = record.counts.get("problems", 0)
            if record.finished is None:
                state = "unfinished (the process was killed?): import the file again"
            elif record.error:
                state = f"stopped: {record.error}; importing the file again completes it"
            elif not record.counts.get("read", 0):
                state = "read no records: is it the right file, or an empty export?"
            else:
                state = f"{problems} problems" if problems else "ok"
            imports.append(
                ImportHealth(
                    file=record.file, format=record.format, started=record.started, state=state
                )
            )
        found.append(PersonHealth(name=who.name, streams=streams, imports=imports))
    return Doctor(
        store=store.backend.describe(),
        formats=[c.name for c in connectors()],
        persons=found,
    )


class Maintained(BaseModel):
    persons: int
    raw_removed: int
    daily_written: int
    pruned: int
    scheduled_runs: int
    message: str


def maintain(store: Store) -> Maintained:
    """The daily chores: retention rules, the packs' scheduled capabilities, pruning of
    finished jobs, old live events, rate-limit windows and expired sessions, compaction."""
    from lifetwin.services.capabilities import run_scheduled
    from lifetwin.services.retention import maintain as apply_retention

    done = apply_retention(store)
    runs = run_scheduled(store)
    backend = store.backend
    now_ms = int(time.time() * 1000)
    week = 7 * 86_400_000
    pruned = (
        backend.job_prune(now_ms - week)
        + backend.events_prune(now_ms - 86_400_000)
        + backend.rate_prune(now_ms - 86_400_000)
        + backend.session_prune(now_ms)
    )
    store.compact()
    return Maintained(
        persons=done.persons,
        raw_removed=done.raw_removed,
        daily_written=done.daily_written,
        pruned=pruned,
        scheduled_runs=runs,
        message=(
            f"Checked {done.persons} person(s): {done.raw_removed:,} raw values summarized "
            f"into {done.daily_written:,} daily values; {runs:,} scheduled analyses run; "
            f"{pruned:,} finished jobs, old events, rate-limit windows and expired sessions "
            "removed; the store is compacted."
        ),
    )


class PackView(BaseModel):
    name: str
    title: str
    description: str
    module: str
    registers: dict[str, list[str]]


class PackList(BaseModel):
    items: list[PackView]


def packs() -> PackList:
    """Every installed pack (built-in or not) and what it registers."""
    from lifetwin.packs.registry import registry

    reg = registry()
    reg.surface()  # models, capabilities, routes and pages are asked for when first used
    commands = _commands(reg)
    items = []
    for entry in reg.packs.values():
        items.append(
            PackView(
                name=entry.name,
                title=entry.title,
                description=entry.description,
                module=entry.module,
                registers={
                    "categories": entry.domains,
                    "purposes": entry.purposes,
                    "metrics": entry.metrics,
                    "event kinds": entry.event_kinds,
                    "connectors": entry.connectors,
                    "models": entry.models,
                    "capabilities": entry.capabilities,
                    "commands": commands.get(entry.module, []),
                    "routes": entry.routes,
                    "pages": entry.pages,
                },
            )
        )
    return PackList(items=items)


def _commands(reg: Any) -> dict[str, list[str]]:
    """The commands each pack adds to ``lifetwin`` (asked on an empty app of its own)."""
    import typer

    found: dict[str, list[str]] = {}
    for _name, plugin in reg.plugins:
        function = getattr(plugin, "lifetwin_cli", None)
        if function is None or not hasattr(function, "lifetwin_impl"):
            continue
        probe = typer.Typer()
        function(probe)
        names = [c.name or getattr(c.callback, "__name__", "") for c in probe.registered_commands]
        names += [g.name or "" for g in probe.registered_groups]
        found[getattr(plugin, "__name__", "")] = sorted(n.replace("_", "-") for n in names if n)
    return found


class ServiceStatus(BaseModel):
    """What an administrator sees of the service (no personal data)."""

    backend: str
    persons: int
    accounts: dict[str, int]
    import_jobs_running: int
    jobs: dict[str, int]


def service_status(store: Store) -> ServiceStatus:
    from lifetwin.services.accounts import Accounts, Role

    accounts = Accounts(store).all()
    jobs = store.backend.job_counts()
    return ServiceStatus(
        backend=store.backend.describe(),
        persons=store.backend.person_count(),
        accounts={r.value: sum(a.role is r for a in accounts) for r in Role},
        import_jobs_running=jobs.get("running", 0) + jobs.get("queued", 0),
        jobs=jobs,
    )
