"""The person's control: ``consent``, ``audit``, ``report``, ``export``, ``rectify``,
``retention`` and ``erase``."""

from __future__ import annotations

import json
import sys
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
from lifetwin.core.errors import LifeTwinError

if TYPE_CHECKING:
    from lifetwin.operations.privacy import AuditPage, GrantList

consent_app = group("consent", "Grant and revoke the use of data per purpose.")
audit_app = group("audit", "Verify and read the tamper-evident audit log.")


@consent_app.command("list")
def consent_list(person: PersonArg, as_json: JsonOpt = False) -> None:
    """List every grant, active and revoked."""
    from lifetwin.operations import privacy

    emit(privacy.consents(context(person)), as_json, _render_grants)


def _render_grants(found: GrantList) -> None:
    if not found.items:
        out.print("No purpose is allowed: only the person's own view sees their data.")
        return
    table = Table("grant", "data", "purpose", "recipient", "granted", "by", "text", "revoked")
    for g in found.items:
        table.add_row(
            g.id,
            g.scope,
            g.purpose,
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
    purpose: Annotated[str, typer.Option("--purpose", help="What the data may be used for.")],
    recipient: Annotated[
        str | None, typer.Option("--recipient", help="Who receives it (needed for sharing).")
    ] = None,
    text_version: Annotated[
        str, typer.Option("--text-version", help="Version of the consent text shown.")
    ] = "1",
    by: Annotated[str, typer.Option("--by", help="'self' or 'guardian'.")] = "self",
    as_json: JsonOpt = False,
) -> None:
    """Allow one purpose to use some of the person's data."""
    from lifetwin.operations import privacy

    made = privacy.grant(
        context(person),
        scope,
        purpose,
        recipient=recipient,
        text_version=text_version,
        granted_by=by,
    )
    emit(
        made,
        as_json,
        lambda g: out.print(
            f"Granted {g.id}: {g.scope} for {g.purpose}"
            + (f" to {g.recipient}" if g.recipient else "")
            + "."
        ),
    )


@consent_app.command("revoke")
def consent_revoke(
    person: PersonArg,
    grant_id: Annotated[str, typer.Argument(help="The grant's id.")],
    as_json: JsonOpt = False,
) -> None:
    """Revoke a grant; outputs computed from it are deleted and recomputed without it."""
    from lifetwin.operations import privacy

    done = privacy.revoke(context(person), grant_id)
    removed = done.derived_removed
    emit(
        done,
        as_json,
        lambda _d: out.print(
            f"Revoked {grant_id}."
            + (
                f" Deleted {len(removed)} derived output(s): {', '.join(removed)}."
                if removed
                else ""
            )
        ),
    )


@consent_app.command("share")
def consent_share(
    person: PersonArg,
    category: Annotated[str, typer.Option("--category", help="The data category to share.")],
    recipient: Annotated[
        str, typer.Option("--with", help="The caregiver's account name to share it with.")
    ],
    as_json: JsonOpt = False,
) -> None:
    """Share a data category with a caregiver's account (a sharing grant naming them)."""
    from lifetwin.operations import privacy

    made = privacy.share(context(person), category, recipient)
    emit(
        made,
        as_json,
        lambda m: out.print(f"Shared {m.category} with {m.recipient} (grant {m.grant})."),
    )


@consent_app.command("shares")
def consent_shares(person: PersonArg, as_json: JsonOpt = False) -> None:
    """List what the person shares, with whom."""
    from lifetwin.operations import privacy

    def render(found: privacy.ShareList) -> None:
        if not found.items:
            out.print("Nothing is shared with anyone.")
        for s in found.items:
            out.print(f"{s.grant}: {s.category} with {s.recipient} since {s.since:%Y-%m-%d}")

    emit(privacy.shares(context(person)), as_json, render)


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

    store = open_store()
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
    from lifetwin.operations import privacy

    ctx = context(person)
    text = privacy.receipt(ctx).model_dump_json(indent=2) + "\n"
    if output:
        write_private(output, text)
        out.print(f"Wrote the receipt of {ctx.person.name}'s audit chain to {output}.")
    else:
        sys.stdout.write(text)


@audit_app.command("show")
def audit_show(
    person: PersonArg,
    limit: Annotated[int, typer.Option(help="How many entries (the latest).")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Who accessed what, when, and for which purpose."""
    from lifetwin.operations import privacy
    from lifetwin.operations.person import zone_of

    ctx = context(person)
    emit(privacy.audit(ctx, limit=limit), as_json, lambda f: _render_audit(f, zone_of(ctx)))


def _render_audit(found: AuditPage, where: Any) -> None:
    from lifetwin.core.display import local, zone_name

    table = Table("#", f"when ({zone_name(where)})", "who", "what", title="Newest last")
    for e in reversed(found.items):
        table.add_row(str(e.seq), local(e.time, where, seconds=True), e.who, e.sentence)
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
    from lifetwin.operations import privacy
    from lifetwin.services.report import to_html, to_markdown

    if fmt not in ("md", "html", "json"):
        raise LifeTwinError(f"'{fmt}' is not a report format (md, html or json).")
    found = privacy.report(context(person))
    data = found.model_dump(mode="json")
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
    as_json: JsonOpt = False,
) -> None:
    """Export everything held for a person (or what a recipient may receive)."""
    from lifetwin.operations import privacy

    ctx = context(person)
    suffix = {"csv": "csv", "omh": "omh.json", "fhir": "fhir.json"}.get(fmt, fmt)
    path = output or Path(f"{ctx.person.name.replace(' ', '-').lower()}-export.{suffix}")
    done = privacy.export(ctx, fmt, path, recipient=recipient)
    emit(
        done,
        as_json,
        lambda d: out.print(
            f"Wrote {d.observations:,} observations and {d.events:,} events to {d.path} "
            "(readable by you only; it is not encrypted, so keep it safe or delete it)."
        ),
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
    moment = when(at)
    assert moment is not None
    done = (
        context(person)
        .vault()
        .rectify(metric_code, moment, corrected=value, reason=reason, source=source)
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

    set_retention_rule(context(person).vault(), metric_code, days)
    out.print(f"Raw {metric_code} values are kept {days} days, then summarized per day.")


@app.command()
def erase(
    person: PersonArg,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Erase a person: destroy their data key and every row of theirs."""
    from lifetwin.operations import privacy

    ctx = context(person)
    name = ctx.person.name
    if not yes:
        try:
            sure = typer.confirm(f"Erase {name} and all their data for good?", default=False)
        except typer.Abort:  # no answer (end of input): the same as no
            sure = False
        if not sure:
            out.print(f"Nothing was erased: {name} and their data are as they were.")
            return
    done = privacy.erase(ctx, name, upload_dir=home() / "uploads", home=home())
    accounts = f" and their account(s) {', '.join(done.accounts)}" if done.accounts else ""
    out.print(f"Erased {name}{accounts}: their key is destroyed and their data deleted.")
