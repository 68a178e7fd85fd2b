"""The store and the service: ``init``, ``migrate``, ``maintain``, ``compact``, ``key``,
``doctor``, ``serve``, ``openapi``, ``packs`` and the service's ``account``s."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from lifetwin.cli.app import JsonOpt, app, emit, err, fmt_time, group, home, open_store, out
from lifetwin.cli.app import passphrase as ask_passphrase
from lifetwin.core.errors import LifeTwinError

if TYPE_CHECKING:
    from lifetwin.operations.store import Doctor, PackList

key_app = group("key", "Manage the store's master key.")
account_app = group(
    "account", "Accounts for the service (person, caregiver, operator, admin) and their API tokens."
)


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
    from lifetwin.services import home as homes

    where = home()
    if if_missing and (where / homes.CONFIG_FILE).exists():
        out.print(f"A store already exists in {where}.")
        return
    secret = None
    if passphrase:
        secret = ask_passphrase(confirm=True)
        if not secret:
            raise LifeTwinError(
                "A passphrase is needed: set LIFETWIN_PASSPHRASE or run in a terminal."
            )
    created = homes.init_home(where, store=store, passphrase=secret)
    key = "your passphrase" if passphrase else f"the key file {where / homes.KEY_FILE} (back it up)"
    out.print(f"Created a LifeTwin store in {created.backend.describe()}, opened with {key}.")
    created.close()


@app.command()
def migrate() -> None:
    """Upgrade a store made by an older LifeTwin to this version's format, in place (an
    SQLite store is copied first; `serve` and other commands also do this on start)."""
    store = open_store(upgrade=True)
    if not store.notes:
        out.print("The store is already in this version's format; nothing to do.")
    store.close()


@app.command()
def maintain() -> None:
    """Apply retention rules, run the scheduled analyses, prune finished work, and compact
    the store."""
    from lifetwin.operations.store import maintain as run

    done = run(open_store())
    out.print(done.message)


@app.command()
def compact() -> None:
    """Reclaim space in the store and flush its logs."""
    open_store().compact()
    out.print("The store is compacted.")


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
    from lifetwin.services import home as homes

    where = home()
    store = open_store()
    if passphrase:
        secret = os.environ.get("LIFETWIN_NEW_PASSPHRASE") or (
            typer.prompt("New passphrase", hide_input=True, confirmation_prompt=True)
            if sys.stdin.isatty()
            else None
        )
        if not secret:
            raise LifeTwinError("A new passphrase is needed: set LIFETWIN_NEW_PASSPHRASE.")
        homes.rotate_to_passphrase(where, store, secret)
        out.print("The store is now opened with the new passphrase.")
    else:
        homes.rotate_to_key_file(where, store)
        out.print(f"A new master key is in {where / homes.KEY_FILE}; the old one opens nothing.")


@app.command()
def doctor(
    person: Annotated[
        str | None, typer.Option("--person", "-p", help="Check one person only.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Check the store, the key and each person's sources; say what works and what does not."""
    from lifetwin.operations.store import doctor as check

    where = home()
    if not as_json:
        out.print(f"home: {where}")
    emit(check(open_store(), person), as_json, _render_doctor)


def _render_doctor(found: Doctor) -> None:
    out.print(f"formats: {', '.join(found.formats)}")
    out.print(f"[green]ok[/green] store: {found.store}, key opens it")
    if not found.persons:
        out.print("no persons yet: `lifetwin person add NAME` or `lifetwin demo`")
    colour = {"ok": "green", "stale": "yellow", "empty": "red"}
    for who in found.persons:
        table = Table("source", "metric", "count", "last value", "status", title=who.name)
        for row in who.streams:
            status = f"[{colour[row.status]}]{row.status}[/{colour[row.status]}]"
            if row.status == "stale" and row.age_days is not None:
                status += f" ({row.age_days:.0f} days old)"
            table.add_row(row.source, row.metric, f"{row.count:,}", fmt_time(row.last), status)
        out.print(table)
        for record in who.imports:
            out.print(
                f"  import {record.file} ({record.format}) at {record.started[:16]}: {record.state}"
            )


@app.command()
def packs(as_json: JsonOpt = False) -> None:
    """The installed packs and what each registers (metrics, connectors, capabilities, ...)."""
    from lifetwin.operations.store import packs as listed

    emit(listed(), as_json, _render_packs)


def _render_packs(found: PackList) -> None:
    for pack in found.items:
        out.print(f"[bold]{pack.name}[/bold] — {pack.title} ({pack.module})")
        if pack.description:
            out.print(f"  {pack.description}", markup=False)
        for label, names in pack.registers.items():
            if names:
                out.print(f"  {label}: {', '.join(names)}", markup=False, soft_wrap=True)


@app.command()
def openapi(
    builtin: Annotated[
        bool,
        typer.Option(
            "--builtin",
            help="Only LifeTwin and its built-in packs (what docs/openapi.json holds), not "
            "the other installed packs' routes.",
        ),
    ] = False,
) -> None:
    """Print the service's OpenAPI 3 spec (`--builtin`: the one committed as
    docs/openapi.json)."""
    import contextlib
    import tempfile

    from lifetwin.api.app import create_app
    from lifetwin.packs.registry import builtin_only
    from lifetwin.store.crypto import MasterKey
    from lifetwin.store.sql import SQLiteBackend
    from lifetwin.store.vault import Store

    with (
        builtin_only() if builtin else contextlib.nullcontext(),
        tempfile.TemporaryDirectory() as scratch,
    ):
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

    from lifetwin.logs import LOG_BLOCKS_S, configure
    from lifetwin.services import home as homes
    from lifetwin.settings import Settings

    given: dict[str, Any] = {
        "host": host,
        "port": port,
        "workers": workers,
        "ingest_requests": ingest_per_minute,
        "max_body_bytes": max_body_mb * 1024 * 1024 if max_body_mb else None,
    }
    settings = Settings(**{k: v for k, v in given.items() if v is not None})
    configure(settings.log_level, blocks_s=LOG_BLOCKS_S)
    store = open_store()  # upgraded here, once, before any worker starts
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
        from lifetwin.api.app import create_app, settled

        app = settled(create_app(store, settings, home=home(), close_store=True))
        uvicorn.run(app, **options)
        return
    store.close()
    # Every worker builds its app from the same settings (the environment).
    os.environ["LIFETWIN_HOME"] = str(home())
    for name, value in given.items():
        if value is not None:
            os.environ[f"LIFETWIN_{name.upper()}"] = str(value)
    if homes.needs_passphrase(home()) and not os.environ.get("LIFETWIN_PASSPHRASE"):
        secret = ask_passphrase()
        if secret:
            os.environ["LIFETWIN_PASSPHRASE"] = secret
    from lifetwin.api.workers import run_workers

    run_workers(
        uvicorn.Config(
            "lifetwin.api.app:app_from_environment",
            factory=True,
            workers=settings.workers,
            **options,
        )
    )


# -- accounts -------------------------------------------------------------------
@account_app.command("add")
def account_add(
    name: Annotated[str, typer.Argument(help="Account name (lower case).")],
    role: Annotated[
        str, typer.Option(help="person, caregiver, operator (of population studies) or admin.")
    ] = "person",
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
        raise AccountError(f"'{role}' is not a role: use person, caregiver, operator or admin.")
    store = open_store()
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

    store = open_store()
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

    Accounts(open_store()).delete(name)
    out.print(f"Deleted the account {name}.")


@account_app.command("code")
def account_code(name: Annotated[str, typer.Argument(help="Account name.")]) -> None:
    """Print the account's current TOTP code (for the demo and for testing; whoever
    holds the master key can read everything anyway)."""
    import time as clock

    from lifetwin.services.accounts import Accounts

    account = Accounts(open_store()).get(name)
    out.print(account.guard().code_at(clock.time()))


@account_app.command("token")
def account_token(
    name: Annotated[str, typer.Argument(help="Account name.")],
    purpose: Annotated[
        list[str],
        typer.Option(
            help="A scope: a purpose the token may read for, or 'write' to add data "
            "(repeat for more)."
        ),
    ],
    person: Annotated[
        str | None,
        typer.Option(help="The person the token is for (name or id; none for an operator)."),
    ] = None,
    days: Annotated[float, typer.Option(help="Days until it expires.")] = 90,
    label: Annotated[str, typer.Option(help="What the token is for.")] = "",
) -> None:
    """Make a scoped API token (person × scopes × expiry); shown once."""
    from lifetwin.services.accounts import Accounts, parse_scopes

    store = open_store()
    accounts = Accounts(store)
    scopes = parse_scopes(purpose)
    person_id = store.person(person).id if person else ""
    made = accounts.issue_token(accounts.get(name), person_id, scopes, days, label)
    out.print(made.secret)
    err.print(
        f"Token {made.token.id} for {', '.join(made.token.purposes)}, "
        f"expires {made.token.expires[:16]}."
    )


@account_app.command("revoke-token")
def account_revoke_token(token_id: Annotated[str, typer.Argument(help="The token's id.")]) -> None:
    """Revoke an API token."""
    from lifetwin.services.accounts import Accounts

    Accounts(open_store()).revoke_token(token_id)
    out.print(f"Revoked token {token_id}.")
