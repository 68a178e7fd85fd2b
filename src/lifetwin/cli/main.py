"""`lifetwin`: the command line. Every command parses its input and calls the library."""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from lifetwin import __version__
from lifetwin.core.errors import LifeTwinError, MappingError
from lifetwin.core.model import Observation
from lifetwin.core.vocabulary import metric
from lifetwin.core.vocabulary import metrics as all_metrics
from lifetwin.privacy.consent import Purpose, Scope
from lifetwin.services import home as homes
from lifetwin.services.importer import BATCH_SIZE, ImportSummary
from lifetwin.services.importer import import_file as _import_file
from lifetwin.services.overview import freshness_days, summarize
from lifetwin.sources.registry import connectors
from lifetwin.store.vault import Store

SELF = Purpose.SELF_ACCESS

app = typer.Typer(
    name="lifetwin",
    help="LifeTwin: a private, encrypted digital twin of one person, built from their own data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
person_app = typer.Typer(help="Add and list the persons in the store.", no_args_is_help=True)
app.add_typer(person_app, name="person")
consent_app = typer.Typer(
    help="Grant and revoke the use of data per purpose.", no_args_is_help=True
)
app.add_typer(consent_app, name="consent")
audit_app = typer.Typer(help="Verify and read the tamper-evident audit log.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
key_app = typer.Typer(help="Manage the store's master key.", no_args_is_help=True)
app.add_typer(key_app, name="key")
account_app = typer.Typer(
    help="Accounts for the service (person, caregiver, admin) and their API tokens.",
    no_args_is_help=True,
)
app.add_typer(account_app, name="account")

out = Console()
err = Console(stderr=True, soft_wrap=True)


class _State:
    home: Path | None = None


HomeOption = Annotated[
    Path | None,
    typer.Option(
        "--home",
        envvar="LIFETWIN_HOME",
        help="Directory of the store (default: the per-user data directory).",
        show_default=False,
    ),
]


def _print_version(value: bool) -> None:
    if value:
        out.print(f"lifetwin {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    home: HomeOption = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print the version and exit.",
            callback=_print_version,
            is_eager=True,
        ),
    ] = False,
) -> None:
    _State.home = home


def _home() -> Path:
    return homes.resolve_home(_State.home)


def _passphrase(confirm: bool = False) -> str | None:
    given = os.environ.get("LIFETWIN_PASSPHRASE")
    if given:
        return given
    if not sys.stdin.isatty():
        return None
    answer: str = typer.prompt("Passphrase", hide_input=True, confirmation_prompt=confirm)
    return answer


def _open(upgrade: bool = True) -> Store:
    home = _home()
    passphrase = _passphrase() if homes.needs_passphrase(home) else None
    store = homes.open_home(home, passphrase=passphrase, upgrade=upgrade)
    for note in store.notes:
        err.print(note, markup=False, highlight=False)
    return store


def _when(text: str | None, end_of_day: bool = False) -> datetime | None:
    if text is None:
        return None
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime.combine(day, time.max if end_of_day else time.min, UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise LifeTwinError(f"'{text}' is not a date (use YYYY-MM-DD or an ISO time).") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# -- store ---------------------------------------------------------------------
@app.command()
def init(
    passphrase: Annotated[
        bool, typer.Option("--passphrase", help="Protect the store with a passphrase.")
    ] = False,
    store: Annotated[
        str,
        typer.Option(
            "--store",
            envvar="LIFETWIN_STORE",
            help="'sqlite' (embedded, the default) or a postgresql:// URL.",
        ),
    ] = "sqlite",
    if_missing: Annotated[
        bool, typer.Option("--if-missing", help="Do nothing if the store already exists.")
    ] = False,
) -> None:
    """Create an encrypted store (with a new master key file, or a passphrase)."""
    home = _home()
    if if_missing and (home / homes.CONFIG_FILE).exists():
        out.print(f"A store already exists in {home}.")
        return
    secret = None
    if passphrase:
        secret = _passphrase(confirm=True)
        if not secret:
            raise LifeTwinError(
                "A passphrase is needed: set LIFETWIN_PASSPHRASE or run in a terminal."
            )
    created = homes.init_home(home, store=store, passphrase=secret)
    key = "your passphrase" if passphrase else f"the key file {home / homes.KEY_FILE} (back it up)"
    out.print(f"Created a LifeTwin store in {created.backend.describe()}, opened with {key}.")
    created.close()


@person_app.command("add")
def person_add(name: Annotated[str, typer.Argument(help="The person's name.")]) -> None:
    """Add a person, with their own data key."""
    store = _open()
    person = store.add_person(name)
    out.print(f"Added {person.name} ({person.id}).")


@person_app.command("list")
def person_list() -> None:
    """List the persons in the store."""
    store = _open()
    table = Table("name", "id", "added")
    for person in store.persons():
        table.add_row(person.name, person.id, person.created.strftime("%Y-%m-%d"))
    out.print(table)


@person_app.command("profile")
def person_profile(
    person: Annotated[str, typer.Argument(help="Name or id of the person.")],
    birth_date: Annotated[str | None, typer.Option("--birth-date", help="YYYY-MM-DD.")] = None,
    sex: Annotated[str | None, typer.Option("--sex", help="female, male or other.")] = None,
    postcode: Annotated[str | None, typer.Option("--postcode", help="Postal code.")] = None,
    facts: Annotated[
        list[str] | None,
        typer.Option("--set", help="Another fact as KEY=VALUE (e.g. smoker=no); repeatable."),
    ] = None,
) -> None:
    """Show or set facts about the person that are not measurements."""
    store = _open()
    vault = store.vault(store.person(person))
    if birth_date is not None:
        _when(birth_date)  # refuses what is not a date
    extra: dict[str, str] = {}
    for fact in facts or []:
        key, sep, value = fact.partition("=")
        if not sep or not key.strip():
            raise LifeTwinError(f"'{fact}' is not KEY=VALUE.")
        extra[key.strip()] = value.strip()
    if any(v is not None for v in (birth_date, sex, postcode)) or extra:
        vault.set_profile(birth_date=birth_date, sex=sex, postcode=postcode, **extra)
    for key, value in sorted(vault.profile().items()):
        out.print(f"{key}: {value}")


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
) -> None:
    """Import an export file into a person's vault (idempotent: re-importing adds nothing)."""
    store = _open()
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
            summary = _import_file(
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
    _print_summary(summary)
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
    store = _open()
    summary = pull_nightscout_into(
        store, store.person(person), url, token=token, source=source, allow=allowed
    )
    _print_summary(summary)
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


def _print_summary(s: ImportSummary) -> None:
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
    if s.fatal:
        err.print(f"error: {s.fatal}", markup=False, highlight=False)
    if s.quarantined:
        out.print("Quarantined values are kept aside; `lifetwin quarantine PERSON` lists them.")


# -- reading -------------------------------------------------------------------
@app.command()
def show(
    person: Annotated[str, typer.Argument(help="Name or id of the person.")],
    metric_code: Annotated[
        str | None, typer.Option("--metric", "-m", help="Show the values of one metric.")
    ] = None,
    since: Annotated[str | None, typer.Option(help="From this date (YYYY-MM-DD).")] = None,
    until: Annotated[str | None, typer.Option(help="Up to this date (inclusive).")] = None,
    limit: Annotated[int, typer.Option(help="How many values to list (the latest).")] = 20,
) -> None:
    """What the vault holds: every stream, or the values of one metric."""
    store = _open()
    who = store.person(person)
    vault = store.vault(who)
    if metric_code is None:
        table = Table("metric", "source", "count", "first", "last", title=f"{who.name}'s twin data")
        for row in summarize(vault):
            table.add_row(
                row.stream.metric,
                row.stream.source,
                f"{row.count:,}",
                _fmt_time(row.first),
                _fmt_time(row.last),
            )
        out.print(table)
        quarantined = len(vault.quarantined(purpose=SELF))
        if quarantined:
            out.print(f"{quarantined} values are quarantined (`lifetwin quarantine {person}`).")
        return
    m = metric(metric_code)
    start, end = _when(since), _when(until, end_of_day=True)
    if m.is_numeric:
        series = vault.read_series(m.code, purpose=SELF, since=start, until=end)
        if not len(series):
            out.print(f"No {m.name.lower()} values for {who.name} in that range.")
            return
        v = series.values
        out.print(
            f"{m.name} ({series.unit}): {len(series):,} values, min {v.min():g}, "
            f"mean {v.mean():.4g}, max {v.max():g}"
        )
        rows = list(vault.series_observations(series.tail(limit)))
    else:
        records = vault.read_records(m.code, purpose=SELF, since=start, until=end)
        rows = [r for r in records if isinstance(r, Observation)][-limit:]
    table = Table("start", "end", "value", "unit", "source")
    for obs in rows:
        table.add_row(
            obs.start.isoformat(),
            obs.end.isoformat() if obs.end else "",
            f"{obs.value:g}" if isinstance(obs.value, float) else str(obs.value),
            obs.unit or "",
            obs.source,
        )
    out.print(table)


def _fmt_time(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else ""


@app.command()
def quarantine(person: Annotated[str, typer.Argument(help="Name or id of the person.")]) -> None:
    """List the values kept aside as implausible, with the reason for each."""
    store = _open()
    who = store.person(person)
    items = store.vault(who).quarantined(purpose=SELF)
    if not items:
        out.print(f"Nothing is quarantined for {who.name}.")
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
    table = Table("code", "unit", "range", "kind", "HealthKit / Health Connect / OMH / LOINC")
    for m in all_metrics():
        span = f"{m.minimum:g} to {m.maximum:g}" if m.minimum is not None else ""
        names = " ".join(x for x in (m.healthkit, m.health_connect, m.openmhealth, m.loinc) if x)
        table.add_row(m.code, m.unit, span, m.kind.value, names)
    out.print(table)


@app.command()
def doctor(
    person: Annotated[
        str | None, typer.Option("--person", "-p", help="Check one person only.")
    ] = None,
) -> None:
    """Check the store, the key and each person's sources; say what works and what does not."""
    home = _home()
    out.print(f"home: {home}")
    out.print(f"formats: {', '.join(c.name for c in connectors())}")
    store = _open()
    out.print(f"[green]ok[/green] store: {store.backend.describe()}, key opens it")
    now = datetime.now(UTC)
    people = [store.person(person)] if person else store.persons()
    if not people:
        out.print("no persons yet: `lifetwin person add NAME` or `lifetwin demo`")
    for who in people:
        vault = store.vault(who)
        table = Table("source", "metric", "count", "last value", "status", title=who.name)
        for row in summarize(vault):
            age = freshness_days(row, now)
            status = (
                "[green]ok[/green]"
                if age is not None and age < 3
                else ("[yellow]stale[/yellow]" if age is not None else "[red]empty[/red]")
            )
            if age is not None and age >= 3:
                status += f" ({age:.0f} days old)"
            table.add_row(
                row.stream.source, row.stream.metric, f"{row.count:,}", _fmt_time(row.last), status
            )
        out.print(table)
        for record in vault.imports():
            problems = record.counts.get("problems", 0)
            if record.finished is None:
                state = "unfinished (the process was killed?): import the file again"
            elif record.error:
                state = f"stopped: {record.error}; importing the file again completes it"
            else:
                state = f"{problems} problems" if problems else "ok"
            out.print(f"  import {record.file} ({record.format}) at {record.started[:16]}: {state}")


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

    store = _open()
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

    login = _home() / "demo-login.txt"
    if if_missing:
        try:
            Accounts(store).get(name)
        except AccountError:
            pass
        else:
            out.print(
                f"Sign in as {name}: the password is in {login}; the code comes from "
                f"`lifetwin --home {_home()} account code {name}`."
            )
            return
    from lifetwin.core.files import write_private

    password = secrets.token_urlsafe(12)
    account = Accounts(store).create(name, password, Role.PERSON, person_id)
    write_private(  # 0600 from its first byte
        login,
        f"account: {account.name}\npassword: {password}\n"
        f"totp secret: {account.totp_secret}\n"
        f"totp uri: {account.guard().provisioning_uri(account.name)}\n",
    )
    out.print(
        f"Sign in as [bold]{account.name}[/bold] with password [bold]{password}[/bold] and "
        f"the code from `lifetwin --home {_home()} account code {account.name}` (or add the "
        f"TOTP secret {account.totp_secret} to an authenticator app). Saved in {login}."
    )


@app.command()
def erase(
    person: Annotated[str, typer.Argument(help="Name or id of the person.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Erase a person: destroy their data key and every row of theirs."""
    from lifetwin.services.erasure import erase_person

    store = _open()
    who = store.person(person)
    if not yes and not typer.confirm(f"Erase {who.name} and all their data for good?"):
        out.print(f"Nothing was erased: {who.name} and their data are as they were.")
        return
    done = erase_person(store, who, upload_dir=_home() / "uploads", home=_home())
    accounts = f" and their account(s) {', '.join(done.accounts)}" if done.accounts else ""
    out.print(f"Erased {who.name}{accounts}: their key is destroyed and their data deleted.")


# -- consent, audit and rights ------------------------------------------------
PersonArg = Annotated[str, typer.Argument(help="Name or id of the person.")]


@consent_app.command("list")
def consent_list(person: PersonArg) -> None:
    """List every grant, active and revoked."""
    store = _open()
    ledger = store.vault(store.person(person)).consents()
    if not ledger.grants:
        out.print("No purpose is allowed: only the person's own view sees their data.")
        return
    table = Table("grant", "data", "purpose", "recipient", "granted", "by", "text", "revoked")
    for g in ledger.grants:
        table.add_row(
            g.id,
            str(g.scope),
            g.purpose.value,
            g.recipient or "",
            g.granted_at.strftime("%Y-%m-%d %H:%M"),
            g.granted_by,
            g.text_version,
            g.revoked_at.strftime("%Y-%m-%d %H:%M") if g.revoked_at else "",
        )
    out.print(table)


@consent_app.command("grant")
def consent_grant(
    person: PersonArg,
    scope: Annotated[
        str, typer.Option("--scope", help="all, domain:NAME, metric:CODE or source:NAME.")
    ],
    purpose: Annotated[Purpose, typer.Option("--purpose", help="What the data may be used for.")],
    recipient: Annotated[
        str | None, typer.Option("--recipient", help="Who receives it (needed for sharing).")
    ] = None,
    text_version: Annotated[
        str, typer.Option("--text-version", help="Version of the consent text shown.")
    ] = "1",
    by: Annotated[str, typer.Option("--by", help="'self' or 'guardian'.")] = "self",
) -> None:
    """Allow one purpose to use some of the person's data."""
    store = _open()
    vault = store.vault(store.person(person))
    made = vault.grant(
        Scope.parse(scope), purpose, recipient=recipient, text_version=text_version, granted_by=by
    )
    out.print(
        f"Granted {made.id}: {made.scope} for {made.purpose.value}"
        + (f" to {made.recipient}" if made.recipient else "")
        + "."
    )


@consent_app.command("revoke")
def consent_revoke(
    person: PersonArg, grant_id: Annotated[str, typer.Argument(help="The grant's id.")]
) -> None:
    """Revoke a grant; outputs computed from it are deleted and recomputed without it."""
    store = _open()
    removed = store.vault(store.person(person)).revoke(grant_id)
    out.print(
        f"Revoked {grant_id}."
        + (f" Deleted {len(removed)} derived output(s): {', '.join(removed)}." if removed else "")
    )


@audit_app.command("verify")
def audit_verify(
    person: Annotated[
        str | None, typer.Option("--person", "-p", help="Check one person only.")
    ] = None,
    receipt: Annotated[
        Path | None,
        typer.Option(
            "--receipt",
            help="A receipt saved with `audit receipt`: also prove history up to it is unchanged.",
        ),
    ] = None,
) -> None:
    """Prove every audit chain intact and signed, or name the first bad entry."""
    from lifetwin.privacy.audit import SERVICE_CHAIN
    from lifetwin.services.audit_view import verify_chain_of

    store = _open()
    given = _read_receipt(receipt) if receipt else None
    if given is not None and person is None:
        person = str(given.get("person", ""))
    ids = [store.person(person).id] if person else store.backend.audit_persons()
    if person is None and SERVICE_CHAIN not in ids and store.backend.account_rows():
        ids.append(SERVICE_CHAIN)
    bad = 0
    for chain in ids:
        found = verify_chain_of(store, chain, given)
        if not found.intact:
            bad += 1
            err.print(f"{chain}: {found.problem}", markup=False, highlight=False)
        else:
            extra = ", and it still holds the receipt's entry" if found.receipt_checked else ""
            out.print(f"{chain}: intact ({found.entries:,} entries, head signed{extra})")
    if bad:
        raise LifeTwinError(f"{bad} audit log(s) failed verification.")


def _read_receipt(path: Path) -> dict[str, Any]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LifeTwinError(f"The receipt {path} does not exist.") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        raise LifeTwinError(f"The file {path} is not an audit receipt.") from None
    if not isinstance(raw, dict):
        raise LifeTwinError(f"The file {path} is not an audit receipt.")
    return raw


@audit_app.command("receipt")
def audit_receipt(
    person: PersonArg,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write it to this file (0600).")
    ] = None,
) -> None:
    """A signed receipt of the person's audit chain as it is now: keep it somewhere else,
    and later `audit verify --receipt FILE` proves the history up to it was not rewritten."""
    from lifetwin.core.files import write_private

    store = _open()
    who = store.person(person)
    store.vault(who).log_event("receipt", "self_access")
    text = json.dumps(store.audit.receipt(who.id), indent=2) + "\n"
    if output:
        write_private(output, text)
        out.print(f"Wrote the receipt of {who.name}'s audit chain to {output}.")
    else:
        sys.stdout.write(text)


@audit_app.command("show")
def audit_show(
    person: PersonArg,
    limit: Annotated[int, typer.Option(help="How many entries (the latest).")] = 50,
) -> None:
    """Who accessed what, when, and for which purpose."""
    from lifetwin.services.audit_view import actor_labels

    store = _open()
    vault = store.vault(store.person(person))
    labels = actor_labels(store)
    table = Table("#", "when", "who", "action", "purpose", "what")
    for e in vault.audit_entries()[-limit:]:
        when = datetime.fromtimestamp(e.ts_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")
        what = ", ".join(
            f"{k}={v}" for k, v in (e.details or {}).items() if v not in (None, [], ())
        )
        table.add_row(str(e.seq), when, labels.get(e.actor, e.actor), e.action, e.purpose, what)
    out.print(table)


@app.command()
def report(
    person: PersonArg,
    fmt: Annotated[str, typer.Option("--format", help="md, html or json.")] = "md",
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write to this file instead of the terminal."),
    ] = None,
) -> None:
    """The access report: what is held, purposes, recipients, retention, automated outputs."""
    from lifetwin.services.report import access_report, to_html, to_markdown

    if fmt not in ("md", "html", "json"):
        raise LifeTwinError(f"'{fmt}' is not a report format (md, html or json).")
    store = _open()
    data = access_report(store, store.person(person))
    text = {"md": to_markdown, "html": to_html}.get(fmt, lambda r: json.dumps(r, indent=2))(data)
    if output:
        from lifetwin.core.files import write_private

        write_private(output, text)
        out.print(f"Wrote the access report to {output} (readable by you only).")
    else:
        print(text)


@app.command()
def export(
    person: PersonArg,
    fmt: Annotated[str, typer.Option("--format", help="fhir, omh or csv.")] = "csv",
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="The file to write (default: NAME-export.EXT here)."),
    ] = None,
    recipient: Annotated[
        str | None,
        typer.Option(
            "--recipient", help="Export only what this recipient was granted, pseudonymized."
        ),
    ] = None,
) -> None:
    """Export everything held for a person (or what a recipient may receive)."""
    from lifetwin.services.export import export_person

    store = _open()
    who = store.person(person)
    suffix = {"csv": "csv", "omh": "omh.json", "fhir": "fhir.json"}.get(fmt, fmt)
    path = output or Path(f"{who.name.replace(' ', '-').lower()}-export.{suffix}")
    done = export_person(store, who, fmt, path, recipient=recipient)
    out.print(
        f"Wrote {done.observations:,} observations and {done.events:,} events to {path} "
        "(readable by you only; it is not encrypted, so keep it safe or delete it)."
    )


@app.command()
def rectify(
    person: PersonArg,
    metric_code: Annotated[str, typer.Option("--metric", "-m", help="The metric's code.")],
    at: Annotated[str, typer.Option("--at", help="The value's time (ISO, with offset).")],
    reason: Annotated[str, typer.Option("--reason", help="Why it is wrong.")],
    value: Annotated[
        float | None, typer.Option("--value", help="The right value (in the metric's unit).")
    ] = None,
    remove: Annotated[bool, typer.Option("--remove", help="Remove the value instead.")] = False,
    source: Annotated[str | None, typer.Option("--source", help="Only this source.")] = None,
) -> None:
    """Mark a stored value wrong: correct it or remove it; the original is kept aside."""
    if (value is None) == (not remove):
        raise LifeTwinError("Give either --value (the right value) or --remove.")
    moment = _when(at)
    assert moment is not None
    store = _open()
    done = store.vault(store.person(person)).rectify(
        metric_code, moment, corrected=value, reason=reason, source=source
    )
    change = "removed" if done.corrected is None else f"now {done.corrected:g}"
    out.print(f"{done.metric} at {at} was {done.original:g}; {change}.")


@app.command()
def retention(
    person: PersonArg,
    metric_code: Annotated[str, typer.Option("--metric", "-m", help="The metric's code.")],
    days: Annotated[int, typer.Option("--days", min=1, help="Days to keep raw values.")],
) -> None:
    """Set how long raw values of a metric are kept before only daily summaries remain."""
    from lifetwin.services.retention import set_retention_rule

    store = _open()
    set_retention_rule(store.vault(store.person(person)), metric_code, days)
    out.print(f"Raw {metric_code} values are kept {days} days, then summarized per day.")


@app.command()
def maintain() -> None:
    """Apply retention rules, prune finished work, and compact the store."""
    import time as clock

    from lifetwin.services.retention import maintain as run

    store = _open()
    done = run(store)
    backend = store.backend
    now_ms = int(clock.time() * 1000)
    week = 7 * 86_400_000
    pruned = (
        backend.job_prune(now_ms - week)
        + backend.events_prune(now_ms - 86_400_000)
        + backend.rate_prune(now_ms - 86_400_000)
        + backend.session_prune(now_ms)
    )
    store.compact()
    out.print(
        f"Checked {done.persons} person(s): {done.raw_removed:,} raw values summarized "
        f"into {done.daily_written:,} daily values; {pruned:,} finished jobs, old events, "
        "rate-limit windows and expired sessions removed; the store is compacted."
    )


@app.command()
def twin(
    person: PersonArg,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Show the twin as it was before this date (YYYY-MM-DD)."),
    ] = None,
) -> None:
    """The twin's state: each metric's latest value against the person's own baselines."""
    from lifetwin.capabilities.twin_state import TwinState, refresh_twin

    store = _open()
    who = store.person(person)
    vault = store.vault(who)
    if as_of:
        state = TwinState.build(vault, _when(as_of))
        out.print(f"{who.name}'s twin as of {as_of} (rebuilt from the data before it)")
    else:
        state, learned = refresh_twin(vault)
        out.print(f"{who.name}'s twin ({learned:,} new observations learned)")
    if not state.overall:
        out.print("The twin has no data it may use (it needs the twin_core grant).")
        return
    table = Table("metric", "latest", "usual now (centre ± spread)", "z", "overall", "n")
    for code in sorted(state.overall):
        ts_ms, value, tz_min = state.latest[code]
        slot = state.hourly[code].get(TwinState.slot(ts_ms, tz_min))
        overall = state.overall[code]
        z = slot.z(value) if slot else None
        table.add_row(
            code,
            f"{value:g}",
            f"{slot.centre:.4g} ± {slot.spread:.3g}" if slot else "",
            f"{z:+.1f}" if z is not None else "",
            f"{overall.centre:.4g} ± {overall.spread:.3g}",
            f"{overall.n:,}",
        )
    out.print(table)
    if not as_of:
        from lifetwin.capabilities.measures import derived_measures

        for key, value in derived_measures(vault).items():
            out.print(f"{key.replace('_', ' ')}: {value}", markup=False)


@app.command()
def cgm(
    person: PersonArg,
    since: Annotated[str | None, typer.Option(help="From this date (YYYY-MM-DD).")] = None,
    until: Annotated[str | None, typer.Option(help="Up to this date (inclusive).")] = None,
) -> None:
    """The CGM report: time in ranges, mean, CV, GMI, MAGE, LBGI/HBGI and the AGP."""
    from lifetwin.capabilities.cgm_report import RANGES, cgm_report

    store = _open()
    who = store.person(person)
    report = cgm_report(
        store.vault(who), Purpose.SELF_ACCESS, _when(since), _when(until, end_of_day=True)
    )
    if not report.readings:
        out.print(f"No CGM readings for {who.name} in that range.")
        return
    out.print(
        f"{who.name}: {report.readings:,} readings, {_fmt_time(report.first)} to "
        f"{_fmt_time(report.last)}, {report.data_captured_pct:g} % captured"
    )
    out.print(
        f"mean {report.mean_mg_dl:g} mg/dL, SD {report.sd_mg_dl:g}, CV "
        f"{report.cv_pct:g} %, GMI {report.gmi_pct:g} %, MAGE {report.mage_mg_dl} mg/dL, "
        f"LBGI {report.lbgi:g}, HBGI {report.hbgi:g}"
    )
    bands = ", ".join(f"{label} mg/dL {report.ranges_pct[name]:g} %" for name, label in RANGES)
    out.print(f"time in ranges: {bands}", soft_wrap=True)
    table = Table(
        "hour",
        "p5",
        "p25",
        "median",
        "p75",
        "p95",
        "n",
        title="Ambulatory glucose profile (mg/dL, local time)",
    )
    for hour, cut in sorted(report.agp.items()):
        table.add_row(
            f"{hour:02d}:00",
            *(f"{cut[k]:g}" for k in ("p5", "p25", "p50", "p75", "p95")),
            f"{cut['n']:.0f}",
        )
    out.print(table)


@app.command()
def alerts(
    person: PersonArg,
    budget: Annotated[
        float,
        typer.Option(
            "--budget",
            min=0.01,
            max=10.0,
            help="Illness warning: false alerts per healthy month you accept.",
        ),
    ] = 0.1,
    deviation_budget: Annotated[
        float,
        typer.Option(
            "--deviation-budget",
            min=0.01,
            max=30.0,
            help="Unusual values: false alerts per metric per month you accept.",
        ),
    ] = 1.0,
    notify_file: Annotated[
        Path | None,
        typer.Option("--notify-file", help="Also append new alerts as JSON lines to this file."),
    ] = None,
) -> None:
    """Early warnings: the resting-heart-rate illness signal and unusual latest values."""
    from lifetwin.capabilities.early_warning import (
        FileNotifier,
        deviation_alerts,
        illness_alerts,
    )

    store = _open()
    vault = store.vault(store.person(person))
    notifiers = [FileNotifier(str(notify_file))] if notify_file else []
    found = illness_alerts(vault, false_alerts_per_month=budget, notifiers=notifiers)
    found += deviation_alerts(vault, false_alerts_per_month=deviation_budget, notifiers=notifiers)
    if not found:
        out.print("No early warnings. (They need data and a forecasting grant.)")
        return
    for alert in found:
        out.print(f"{alert.day.isoformat()}  {alert.message}", soft_wrap=True)


@app.command()
def insights(
    person: PersonArg,
    fdr: Annotated[
        float,
        typer.Option(
            "--fdr", min=0.001, max=0.5, help="False discovery rate across all pairs tested."
        ),
    ] = 0.05,
    min_days: Annotated[
        int, typer.Option("--min-days", min=10, help="Fewest days a pair needs.")
    ] = 28,
) -> None:
    """Associations between your daily metrics (lags of 0-2 days), with FDR control."""
    from lifetwin.capabilities.insights import daily_table, find_insights

    store = _open()
    table, units = daily_table(store.vault(store.person(person)), min_days=min_days)
    found = find_insights(table, units, min_days=min_days, fdr=fdr)
    if not found:
        out.print(
            f"No insights at a {fdr:g} false discovery rate from {len(table)} daily "
            "metrics (they need the twin_core grant and enough days)."
        )
        return
    for insight in found:
        out.print(f"- {insight.sentence} (q = {insight.q_value:.3g})", soft_wrap=True)


@app.command()
def forecast(
    person: PersonArg,
    metric_code: Annotated[
        str,
        typer.Option(
            "--metric",
            "-m",
            help="glucose, a daily metric (resting_heart_rate, body_mass, ...), sleep or spending.",
        ),
    ] = "glucose",
    horizon: Annotated[
        int | None,
        typer.Option(
            "--horizon",
            help="Glucose: only this horizon in minutes (30, 60 or 120). Daily metrics: "
            "days ahead (default 7).",
        ),
    ] = None,
) -> None:
    """Forecasts with intervals: glucose 30-120 minutes ahead, daily metrics days ahead."""
    from lifetwin.capabilities.glucose_forecast import HORIZONS_MIN, forecast_for_person

    store = _open()
    who = store.person(person)
    if metric_code in ("sleep", "spending") or metric(metric_code).code != "glucose":
        _forecast_daily(store, who, metric_code, horizon or 7)
        return
    if horizon is not None and horizon not in HORIZONS_MIN:
        raise LifeTwinError("The horizon must be 30, 60 or 120 minutes.")
    result = forecast_for_person(store.vault(who))
    if result is None:
        out.print(
            f"Not enough CGM data for {who.name} to forecast (two days are needed, "
            "and a forecasting grant)."
        )
        return
    when = datetime.fromtimestamp(result.last_reading_ms / 1000, UTC)
    out.print(
        f"Last reading {_fmt_time(when)} UTC: {result.last_mg_dl:g} mg/dL "
        f"(model learned from {result.trained_steps:,} five-minute steps)"
    )
    for item in result.forecasts:
        if horizon is None or item.horizon_min == horizon:
            out.print(
                f"  in {item.horizon_min} min: {item.value_mg_dl:.0f} mg/dL "
                f"(90 % interval {item.low_mg_dl:.0f} to {item.high_mg_dl:.0f})"
            )
    if result.hypo_warning:
        out.print("[bold red]A low (below 70 mg/dL) is forecast within the hour.[/bold red]")
    out.print("Decision support, not a dosing instruction.")


def _forecast_daily(store: Store, who: Any, name: str, horizon: int) -> None:
    from lifetwin.capabilities.daily_forecast import MIN_DAYS, forecast_daily

    if not 1 <= horizon <= 60:
        raise LifeTwinError("For daily metrics the horizon is 1 to 60 days.")
    result = forecast_daily(store.vault(who), name, horizon)
    if result is None:
        out.print(
            f"Not enough daily {name} data for {who.name} to forecast ({MIN_DAYS} days are "
            "needed, and a forecasting grant)."
        )
        return
    out.print(
        f"{name} for {who.name}: {result.days} days up to {result.last_day} "
        f"(Holt-Winters with a weekly season, 80 % intervals from its own past errors)"
    )
    for f in result.forecasts:
        out.print(f"  {f.day}: {f.value:.4g} {result.unit} ({f.low:.4g} to {f.high:.4g})")
    b = result.backtest
    table = Table(
        "backtest MAE", *(f"{h} d ahead" for h in b.horizons), title="Rolling-origin backtest"
    )
    for model_name, values in b.mae.items():
        table.add_row(
            model_name.replace("_", " "), *("—" if v is None else f"{v:.3g}" for v in values)
        )
    table.add_row("interval coverage", *("—" if c is None else f"{c:.0%}" for c in b.coverage))
    out.print(table)


@app.command()
def risk(person: PersonArg) -> None:
    """Validated risk scores from what the twin holds, with where each input came from."""
    from lifetwin.capabilities.risk import all_scores, gather_inputs

    store = _open()
    results = all_scores(gather_inputs(store.vault(store.person(person))))
    for result in results:
        if result.refused:
            out.print(f"[bold]{result.name}[/bold]: not computed ({result.refused})")
        else:
            out.print(
                f"[bold]{result.name}[/bold]: {result.value:g} {result.unit}, {result.category}"
            )
        for key, value in result.inputs.items():
            out.print(f"    {key}: {value}", markup=False)
        out.print(f"    source: {result.reference}", markup=False)
    out.print("Decision support, not a diagnosis: discuss these with a clinician.")


@app.command()
def population(
    metric_code: Annotated[str, typer.Option("--metric", "-m", help="The metric's code.")],
    k: Annotated[int, typer.Option("--k", min=2, help="Smallest group size allowed.")] = 5,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the table as JSON to this file.")
    ] = None,
) -> None:
    """A research table of per-person summaries: consented, generalized, k-anonymous."""
    from lifetwin.services.population import population_table

    table = population_table(_open(), metric_code, k=k)
    if output:
        output.write_text(json.dumps(table, indent=2), encoding="utf-8")
        out.print(f"Wrote {len(table)} rows to {output}.")
        return
    grid = Table("person", "birth year", "sex", "region", "mean", "count")
    for row in table:
        grid.add_row(
            row["person"],
            str(row["birth_year"] or ""),
            row["sex"] or "",
            row["region"] or "",
            f"{row['mean']:g}",
            str(row["count"]),
        )
    out.print(grid)


@key_app.command("rotate")
def key_rotate(
    passphrase: Annotated[
        bool,
        typer.Option(
            "--passphrase", help="Protect the store with a (new) passphrase instead of a key file."
        ),
    ] = False,
) -> None:
    """Replace the master key: data keys are re-wrapped, no data is re-encrypted."""
    home = _home()
    store = _open()
    if passphrase:
        secret = os.environ.get("LIFETWIN_NEW_PASSPHRASE") or (
            typer.prompt("New passphrase", hide_input=True, confirmation_prompt=True)
            if sys.stdin.isatty()
            else None
        )
        if not secret:
            raise LifeTwinError("A new passphrase is needed: set LIFETWIN_NEW_PASSPHRASE.")
        homes.rotate_to_passphrase(home, store, secret)
        out.print("The store is now opened with the new passphrase.")
    else:
        homes.rotate_to_key_file(home, store)
        out.print(f"A new master key is in {home / homes.KEY_FILE}; the old one opens nothing.")


@app.command()
def compact() -> None:
    """Reclaim space in the store and flush its logs."""
    _open().compact()
    out.print("The store is compacted.")


# -- accounts -------------------------------------------------------------------
@account_app.command("add")
def account_add(
    name: Annotated[str, typer.Argument(help="Account name (lower case).")],
    role: Annotated[str, typer.Option(help="person, caregiver or admin.")] = "person",
    person: Annotated[
        str | None, typer.Option(help="The person a person account owns (name or id).")
    ] = None,
    password_file: Annotated[
        Path | None,
        typer.Option(help="Read the password from this file instead of asking."),
    ] = None,
) -> None:
    """Create an account; prints its TOTP secret for an authenticator app."""
    from lifetwin.services.accounts import AccountError, Accounts, Role

    if role not in {r.value for r in Role}:
        raise AccountError(f"'{role}' is not a role: use person, caregiver or admin.")
    store = _open()
    person_id = store.person(person).id if person else None
    if password_file is not None:
        password = password_file.read_text(encoding="utf-8").strip()
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    account = Accounts(store).create(name, password, Role(role), person_id)
    out.print(
        f"Created the {account.role.value} account {account.name}. Add this to an "
        f"authenticator app: {account.guard().provisioning_uri(account.name)}",
        soft_wrap=True,
    )


@account_app.command("list")
def account_list() -> None:
    """List accounts and their tokens (never passwords or secrets)."""
    from lifetwin.services.accounts import Accounts

    store = _open()
    accounts = Accounts(store)
    names = {p.id: p.name for p in store.persons()}
    table = Table("account", "role", "person", "tokens", "created")
    for a in accounts.all():
        tokens = accounts.tokens(a.name)
        table.add_row(
            a.name, a.role.value, names.get(a.person_id or "", ""), str(len(tokens)), a.created[:16]
        )
    out.print(table)


@account_app.command("delete")
def account_delete(name: Annotated[str, typer.Argument(help="Account name.")]) -> None:
    """Delete an account and revoke its tokens (the person's data stays)."""
    from lifetwin.services.accounts import Accounts

    Accounts(_open()).delete(name)
    out.print(f"Deleted the account {name}.")


@account_app.command("code")
def account_code(name: Annotated[str, typer.Argument(help="Account name.")]) -> None:
    """Print the account's current TOTP code (for the demo and for testing; whoever
    holds the master key can read everything anyway)."""
    import time as clock

    from lifetwin.services.accounts import Accounts

    account = Accounts(_open()).get(name)
    out.print(account.guard().code_at(clock.time()))


@account_app.command("token")
def account_token(
    name: Annotated[str, typer.Argument(help="Account name.")],
    person: Annotated[str, typer.Option(help="The person the token is for (name or id).")],
    purpose: Annotated[
        list[str],
        typer.Option(
            help="A scope: a purpose the token may read for, or 'write' to add data "
            "(repeat for more)."
        ),
    ],
    days: Annotated[float, typer.Option(help="Days until it expires.")] = 90,
    label: Annotated[str, typer.Option(help="What the token is for.")] = "",
) -> None:
    """Make a scoped API token (person × scopes × expiry); shown once."""
    from lifetwin.services.accounts import Accounts, parse_scopes

    store = _open()
    accounts = Accounts(store)
    scopes = parse_scopes(purpose)
    made = accounts.issue_token(accounts.get(name), store.person(person).id, scopes, days, label)
    out.print(made.secret)
    err.print(
        f"Token {made.token.id} for {', '.join(made.token.purposes)}, "
        f"expires {made.token.expires[:16]}."
    )


@account_app.command("revoke-token")
def account_revoke_token(token_id: Annotated[str, typer.Argument(help="The token's id.")]) -> None:
    """Revoke an API token."""
    from lifetwin.services.accounts import Accounts

    Accounts(_open()).revoke_token(token_id)
    out.print(f"Revoked token {token_id}.")


@app.command()
def openapi() -> None:
    """Print the service's OpenAPI 3 spec (the one committed as docs/openapi.json)."""
    import tempfile

    from lifetwin.api.app import create_app
    from lifetwin.store.crypto import MasterKey
    from lifetwin.store.sql import SQLiteBackend

    with tempfile.TemporaryDirectory() as scratch:
        backend = SQLiteBackend(Path(scratch) / "spec.db", create=True)
        spec = create_app(Store.initialize(backend, MasterKey.generate())).openapi()
        backend.close()
    sys.stdout.write(json.dumps(spec, indent=1, sort_keys=True) + "\n")


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (LIFETWIN_HOST; 127.0.0.1).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Port to listen on (LIFETWIN_PORT; 8000).")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1, max=64, help="Service processes sharing the store (LIFETWIN_WORKERS; 1)."
        ),
    ] = None,
    ingest_per_minute: Annotated[
        int | None,
        typer.Option(min=1, help="Ingest requests allowed per account and minute (120)."),
    ] = None,
    max_body_mb: Annotated[
        int | None,
        typer.Option(min=1, max=1024, help="Largest JSON or NDJSON body, in MiB (8)."),
    ] = None,
) -> None:
    """Run the service and dashboard on http://HOST:PORT (settings: LIFETWIN_* variables,
    see docs/deployment.md)."""
    import uvicorn

    from lifetwin.logs import configure
    from lifetwin.settings import Settings

    given: dict[str, Any] = {
        "host": host,
        "port": port,
        "workers": workers,
        "ingest_requests": ingest_per_minute,
        "max_body_bytes": max_body_mb * 1024 * 1024 if max_body_mb else None,
    }
    settings = Settings(**{k: v for k, v in given.items() if v is not None})
    configure(settings.log_level)
    store = _open()  # upgraded here, once, before any worker starts
    described = store.backend.describe()
    out.print(
        f"LifeTwin is serving {described} at http://{settings.host}:{settings.port}"
        + (f" with {settings.workers} workers" if settings.workers > 1 else "")
    )
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": "warning",
        "proxy_headers": False,  # X-Forwarded-For is believed only from LIFETWIN_TRUSTED_PROXIES
        "server_header": False,
    }
    if settings.workers == 1:
        from lifetwin.api.app import create_app

        uvicorn.run(create_app(store, settings, home=_home(), close_store=True), **options)
        return
    store.close()
    # Every worker builds its app from the same settings (the environment).
    os.environ["LIFETWIN_HOME"] = str(_home())
    for name, value in given.items():
        if value is not None:
            os.environ[f"LIFETWIN_{name.upper()}"] = str(value)
    if homes.needs_passphrase(_home()) and not os.environ.get("LIFETWIN_PASSPHRASE"):
        secret = _passphrase()
        if secret:
            os.environ["LIFETWIN_PASSPHRASE"] = secret
    uvicorn.run(
        "lifetwin.api.app:app_from_environment",
        factory=True,
        workers=settings.workers,
        **options,
    )


@app.command()
def migrate() -> None:
    """Upgrade a store made by an older LifeTwin to this version's format, in place (an
    SQLite store is copied first; `serve` and other commands also do this on start)."""
    store = _open(upgrade=True)
    if not store.notes:
        out.print("The store is already in this version's format; nothing to do.")
    store.close()


def main() -> None:
    """Entry point: errors become one sentence on stderr and a non-zero exit."""
    os.umask(0o077)  # whatever this process writes is the owner's alone
    try:
        app()  # usage errors and aborted prompts are handled by typer itself
    except LifeTwinError as exc:
        err.print(f"error: {exc}", markup=False, highlight=False)
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("Stopped.")
        sys.exit(130)
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        err.print(f"error: {exc.strerror or exc}{where}.", markup=False, highlight=False)
        sys.exit(1)
    except Exception as exc:  # a bug: still one sentence, with a way to see more
        if os.environ.get("LIFETWIN_DEBUG"):
            raise
        err.print(
            f"error: LifeTwin hit an internal error ({type(exc).__name__}: {exc}); please "
            "report it, and set LIFETWIN_DEBUG=1 to see the details.",
            markup=False,
            highlight=False,
        )
        sys.exit(70)
