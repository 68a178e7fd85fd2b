"""Persons, imports and what the vault holds: ``person``, ``import``, ``pull``, ``show``,
``quarantine``, ``metrics``, ``demo``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from lifetwin.cli.app import (
    JsonOpt,
    PersonArg,
    app,
    context,
    emit,
    err,
    group,
    home,
    open_store,
    out,
    when,
)
from lifetwin.core.errors import LifeTwinError, MappingError

if TYPE_CHECKING:
    from lifetwin.operations.data import MetricValues
    from lifetwin.operations.person import MetricList, ProfileView
    from lifetwin.services.importer import ImportSummary
    from lifetwin.store.vault import Store

person_app = group("person", "Add and list the persons in the store.")

BATCH_SIZE = 50_000  # records per commit (lifetwin.services.importer.BATCH_SIZE)


@person_app.command("add")
def person_add(name: Annotated[str, typer.Argument(help="The person's name.")]) -> None:
    """Add a person, with their own data key."""
    store = open_store()
    person = store.add_person(name)
    out.print(f"Added {person.name} ({person.id}).")


@person_app.command("list")
def person_list() -> None:
    """List the persons in the store."""
    store = open_store()
    table = Table("name", "id", "added")
    for person in store.persons():
        table.add_row(person.name, person.id, person.created.strftime("%Y-%m-%d"))
    out.print(table)


@person_app.command("profile")
def person_profile(
    person: PersonArg,
    birth_date: Annotated[str | None, typer.Option("--birth-date", help="YYYY-MM-DD.")] = None,
    sex: Annotated[str | None, typer.Option("--sex", help="female, male or other.")] = None,
    postcode: Annotated[str | None, typer.Option("--postcode", help="Postal code.")] = None,
    facts: Annotated[
        list[str] | None,
        typer.Option("--set", help="Another fact as KEY=VALUE (e.g. smoker=no); repeatable."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show or set facts about the person that are not measurements (each answer is
    checked; every fact LifeTwin knows is listed, answered or not)."""
    from lifetwin.operations import person as ops

    given: dict[str, str | None] = {"birth_date": birth_date, "sex": sex, "postcode": postcode}
    for fact in facts or []:
        key, sep, value = fact.partition("=")
        if not sep or not key.strip():
            raise LifeTwinError(f"'{fact}' is not KEY=VALUE (e.g. smoker=no).")
        given[key.strip()] = value.strip()
    ctx = context(person)
    found = ops.set_profile(ctx, given) if any(v for v in given.values()) else ops.profile(ctx)
    emit(found, as_json, _render_profile)


def _render_profile(found: ProfileView) -> None:
    table = Table("fact", "answer", "what it is", "used by", title=f"{found.person}'s profile")
    for f in found.fields:
        answer = f.value or ""
        if f.problem:
            answer += f" (not usable: {f.problem})"
        used = dict.fromkeys(s.split(":")[0] for s in f.used_by)
        table.add_row(f.key, answer, f.label, ", ".join(used))
    out.print(table)
    out.print("Set one with --set KEY=VALUE (e.g. --set smoker=no).")


# -- what the person logs -------------------------------------------------------
@app.command("log")
def log_entry(
    person: PersonArg,
    mood: Annotated[
        float | None,
        typer.Option("--mood", help="Mood from -1 (very unpleasant) to +1 (very pleasant)."),
    ] = None,
    energy: Annotated[
        float | None, typer.Option("--energy", help="Energy from 1 (exhausted) to 5 (full).")
    ] = None,
    note: Annotated[str | None, typer.Option("--note", help="A journal note.")] = None,
    bp: Annotated[
        str | None, typer.Option("--bp", help="Blood pressure systolic/diastolic, e.g. 120/80.")
    ] = None,
    weight: Annotated[
        str | None, typer.Option("--weight", help="Weight in kg, or with a unit: '160 lb'.")
    ] = None,
    total_cholesterol: Annotated[
        str | None,
        typer.Option("--total-cholesterol", help="Total cholesterol in mg/dL (or '5.2 mmol/L')."),
    ] = None,
    hdl: Annotated[
        str | None, typer.Option("--hdl", help="HDL cholesterol in mg/dL (or '1.4 mmol/L').")
    ] = None,
    egfr: Annotated[
        str | None, typer.Option("--egfr", help="eGFR from a lab result, mL/min/1.73 m².")
    ] = None,
    glucose: Annotated[
        str | None, typer.Option("--glucose", help="A glucose reading in mg/dL (or mmol/L).")
    ] = None,
    at: Annotated[
        str | None,
        typer.Option("--at", help="When (ISO time; without an offset: your time zone). Now."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Log mood, energy, a note, or values measured elsewhere (stored as manual entries)."""
    from datetime import datetime

    from lifetwin.operations import manual

    moment = None
    if at is not None:
        try:
            moment = datetime.fromisoformat(at)
        except ValueError:
            raise LifeTwinError(f"'{at}' is not a time (use YYYY-MM-DDTHH:MM).") from None
    values: dict[str, str | float | None] = {
        "weight": weight,
        "total_cholesterol": total_cholesterol,
        "hdl": hdl,
        "egfr": egfr,
        "glucose": glucose,
    }
    done = manual.log(
        context(person),
        at=moment,
        mood=mood,
        energy=energy,
        note=note,
        blood_pressure=bp,
        values=values,
    )
    emit(done, as_json, lambda d: out.print(d.message, markup=False, soft_wrap=True))


# -- import --------------------------------------------------------------------
@app.command("import")
def import_(
    path: Annotated[Path, typer.Argument(help="The export file to import.")],
    person: Annotated[str, typer.Option("--person", "-p", help="Name or id of the person.")],
    fmt: Annotated[
        str | None, typer.Option("--format", help="The format, when detection is not wanted.")
    ] = None,
    mapping: Annotated[
        Path | None,
        typer.Option("--mapping", help="A JSON column mapping for a CSV/JSON file of your own."),
    ] = None,
    encoding: Annotated[
        str | None, typer.Option("--encoding", help="The file's text encoding, if not UTF-8.")
    ] = None,
    source: Annotated[
        str | None, typer.Option("--source", help="Name the source instead of the file's own.")
    ] = None,
    timezone: Annotated[
        str | None,
        typer.Option(
            "--timezone", help="Zone of times written without an offset (default: this machine's)."
        ),
    ] = None,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, help="Records per commit.")
    ] = BATCH_SIZE,
    as_json: JsonOpt = False,
) -> None:
    """Import an export file into a person's vault (idempotent: re-importing adds nothing)."""
    from rich.progress import (
        BarColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    from lifetwin.services.importer import import_file

    store = open_store()
    who = store.person(person)
    mapping_data = _read_mapping(mapping) if mapping else None
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,} records"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as bar:
        task = bar.add_task(f"Importing {path.name}", total=None)
        try:
            summary = import_file(
                store,
                who,
                path,
                fmt=fmt,
                mapping=mapping_data,
                encoding=encoding,
                source=source,
                timezone=timezone,
                batch_size=batch_size,
                progress=lambda done: bar.update(task, completed=done),
            )
        except KeyboardInterrupt:
            err.print(
                "Stopped: what was stored so far is kept, and importing the file again "
                "completes it (nothing is stored twice)."
            )
            raise typer.Exit(130) from None
    if as_json:
        from lifetwin.operations.data import ImportResult

        emit(ImportResult.of(summary), True, lambda _r: None)
    else:
        print_summary(summary)
    if not summary.ok:
        raise typer.Exit(1)


@app.command()
def pull(
    url: Annotated[str, typer.Argument(help="The Nightscout site, e.g. https://my.ns.example")],
    person: Annotated[str, typer.Option("--person", "-p", help="Name or id of the person.")],
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            envvar="NIGHTSCOUT_TOKEN",
            help="An access token (or the API secret) with the readable role.",
        ),
    ] = None,
    source: Annotated[str | None, typer.Option("--source", help="Name the source.")] = None,
    allow_network: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-network",
            help="A private network the server may be in (e.g. 192.168.1.0/24); repeatable. "
            "By default only https:// servers on the internet are reached.",
        ),
    ] = None,
) -> None:
    """Pull new CGM entries and treatments from a Nightscout server (incremental)."""
    from lifetwin.services.importer import pull_nightscout_into
    from lifetwin.settings import Settings

    if not url.startswith(("http://", "https://")):
        raise LifeTwinError(f"'{url}' is not a web address (http:// or https://).")
    allowed = Settings(allow_networks=allow_network or []).networks("allow_networks")
    allowed += Settings().networks("allow_networks")
    store = open_store()
    summary = pull_nightscout_into(
        store, store.person(person), url, token=token, source=source, allow=allowed
    )
    print_summary(summary)
    if not summary.ok:
        raise typer.Exit(1)


def _read_mapping(path: Path) -> dict[str, Any]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MappingError(f"The mapping file {path} does not exist.") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MappingError(f"The mapping file {path} is not valid JSON ({exc}).") from None
    if not isinstance(raw, dict):
        raise MappingError(f"The mapping file {path} must hold a JSON object.")
    return raw


def print_summary(s: ImportSummary) -> None:
    out.print(
        f"{s.file} ({s.format}): read {s.read:,}, stored {s.stored:,} new, "
        f"{s.duplicates:,} already there, {s.changed:,} updated, "
        f"{s.quarantined:,} quarantined, {s.problem_count:,} problems.",
        soft_wrap=True,
    )
    for what, count in sorted(s.skipped.items()):
        out.print(f"  skipped {count:,} × {what}", soft_wrap=True, markup=False)
    for problem in s.problems[:20]:
        err.print(f"  problem: {problem}", markup=False, highlight=False)
    if s.problem_count > 20:
        err.print(f"  … and {s.problem_count - 20:,} more problems.")
    for warning in s.warnings:
        err.print(f"warning: {warning}", markup=False, highlight=False)
    if s.fatal:
        err.print(f"error: {s.fatal}", markup=False, highlight=False)
    if s.quarantined:
        out.print("Quarantined values are kept aside; `lifetwin quarantine PERSON` lists them.")


# -- reading -------------------------------------------------------------------
@app.command()
def show(
    person: PersonArg,
    metric_code: Annotated[
        str | None,
        typer.Option(
            "--metric", "-m", help="Show the values of one metric (or event:KIND, e.g. event:meal)."
        ),
    ] = None,
    since: Annotated[str | None, typer.Option(help="From this date (YYYY-MM-DD).")] = None,
    until: Annotated[str | None, typer.Option(help="Up to this date (inclusive).")] = None,
    limit: Annotated[int, typer.Option(help="How many values to list (the latest).")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """What the vault holds: every metric with its sources, or the values of one metric
    (times in the person's time zone)."""
    from lifetwin.operations import data
    from lifetwin.operations import person as people

    ctx = context(person)
    if metric_code is None:
        emit(people.held_metrics(ctx), as_json, lambda r: _render_metrics(r, person))
        return
    found = data.metric_values(
        ctx, metric_code, since=when(since), until=when(until, end_of_day=True), limit=limit
    )
    zone = people.zone_of(ctx) if not as_json else None
    emit(found, as_json, lambda r: _render_values(r, ctx.person.name, zone))


def _render_metrics(found: MetricList, person: str) -> None:
    from lifetwin.core.display import local, zone

    where = zone(found.zone.name)
    table = Table(
        "metric",
        "unit",
        "source (device)",
        "count",
        "first",
        "last",
        title=f"{found.person}'s twin data (times in {found.zone.name})",
    )
    for m in found.items:
        for i, s in enumerate(m.streams):
            device = f" ({s.device})" if s.device else ""
            table.add_row(
                m.metric if i == 0 else "",
                m.unit if i == 0 else "",
                s.source + device,
                f"{s.count:,}",
                local(s.first, where),
                local(s.last, where),
            )
    out.print(table)
    for m in found.items:
        if m.note:
            out.print(m.note, markup=False, soft_wrap=True)
    if found.quarantined:
        out.print(f"{found.quarantined} values are quarantined (`lifetwin quarantine {person}`).")


def _render_values(found: MetricValues, name: str, where: Any) -> None:
    from lifetwin.core.display import amount, details, local, unit_label, zone_name

    if not found.count:
        out.print(f"No {found.name.lower()} values for {name} in that range.")
        return
    if found.metric.startswith("event:"):
        table = Table(
            "start", "end", "what", "details", "source", title=f"times in {zone_name(where)}"
        )
        for row in found.latest:
            table.add_row(
                local(row.start, where),
                local(row.end, where),
                str(row.value or ""),
                details(row.details or {}),
                row.source,
            )
        out.print(f"{found.name}: {found.count:,} records")
        out.print(table)
        return
    unit = unit_label(found.unit, found.metric)
    if found.mean is not None:
        out.print(
            f"{found.name} ({unit or 'no unit'}): {found.count:,} values, min "
            f"{amount(found.minimum, found.unit, found.metric)}, mean "
            f"{amount(found.mean, found.unit, found.metric)}, max "
            f"{amount(found.maximum, found.unit, found.metric)}",
            markup=False,
        )
    else:
        out.print(f"{found.name}: {found.count:,} records")
    table = Table("start", "end", "value", "source", title=f"times in {zone_name(where)}")
    for row in found.latest:
        value = row.value
        shown = (
            amount(value, found.unit, found.metric)
            if isinstance(value, float)
            else str(value if value is not None else "")
        )
        table.add_row(local(row.start, where), local(row.end, where), shown, row.source)
    out.print(table)


@app.command()
def quarantine(person: PersonArg) -> None:
    """List the values kept aside as implausible, with the reason for each."""
    from lifetwin.privacy.consent import Purpose

    ctx = context(person)
    items = ctx.vault().quarantined(purpose=Purpose.SELF_ACCESS)
    if not items:
        out.print(f"Nothing is quarantined for {ctx.person.name}.")
        return
    table = Table("time", "metric", "value", "source", "where", "reason")
    for item in items:
        o = item.observation
        where = f"{o.provenance.file or ''}:{o.provenance.line or ''}".strip(":")
        table.add_row(o.start.isoformat(), o.metric, str(o.value), o.source, where, item.reason)
    out.print(table)


@app.command()
def metrics() -> None:
    """List the metric vocabulary: codes, units, ranges and their standard names."""
    from lifetwin.core.vocabulary import metrics as all_metrics

    table = Table("code", "unit", "range", "kind", "HealthKit / Health Connect / OMH / LOINC")
    for m in all_metrics():
        span = f"{m.minimum:g} to {m.maximum:g}" if m.minimum is not None else ""
        names = " ".join(x for x in (m.healthkit, m.health_connect, m.openmhealth, m.loinc) if x)
        table.add_row(m.code, m.unit, span, m.kind.value, names)
    out.print(table)


@app.command()
def demo(
    name: Annotated[str, typer.Option(help="The demo person's name.")] = "Alex Demo",
    days: Annotated[int, typer.Option(min=1, max=365, help="Days of data.")] = 28,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed, the same person.")] = 7,
    if_missing: Annotated[
        bool, typer.Option("--if-missing", help="Do nothing if the demo person exists.")
    ] = False,
    account: Annotated[
        str,
        typer.Option(
            help="Also make a sign-in account of this name for the service ('' for none)."
        ),
    ] = "demo",
) -> None:
    """Create a demo person with weeks of realistic multi-source data."""
    from lifetwin.core.errors import PersonError
    from lifetwin.services.demo import create_demo

    store = open_store()
    if if_missing:
        try:
            existing = store.person(name)
        except PersonError:
            pass
        else:
            out.print(f"The demo person {name} already exists.")
            if account:
                _demo_account(store, existing.id, account, if_missing=True)
            return
    with err.status("Creating the demo person") as status:
        summary = create_demo(
            store,
            name=name,
            days=days,
            seed=seed,
            progress=lambda message: status.update(f"Creating the demo person: {message}"),
        )
    out.print(
        f"Created {summary.person.name} with {summary.days} days of data: "
        f"{summary.observations:,} observations and {summary.events:,} records."
    )
    if account:
        _demo_account(store, summary.person.id, account)


def _demo_account(store: Store, person_id: str, name: str, if_missing: bool = False) -> None:
    """A sign-in for the demo person; its password goes to HOME/demo-login.txt (0600)."""
    import secrets

    from lifetwin.services.accounts import AccountError, Accounts, Role

    login = home() / "demo-login.txt"
    if if_missing:
        try:
            Accounts(store).get(name)
        except AccountError:
            pass
        else:
            out.print(
                f"Sign in as {name}: the password is in {login}; the code comes from "
                f"`lifetwin --home {home()} account code {name}`."
            )
            return
    from lifetwin.core.files import write_private

    password = secrets.token_urlsafe(12)
    made = Accounts(store).create(name, password, Role.PERSON, person_id)
    write_private(  # 0600 from its first byte
        login,
        f"account: {made.name}\npassword: {password}\n"
        f"totp secret: {made.totp_secret}\n"
        f"totp uri: {made.guard().provisioning_uri(made.name)}\n",
    )
    out.print(
        f"Sign in as [bold]{made.name}[/bold] with password [bold]{password}[/bold] and "
        f"the code from `lifetwin --home {home()} account code {made.name}` (or add the "
        f"TOTP secret {made.totp_secret} to an authenticator app). Saved in {login}."
    )
