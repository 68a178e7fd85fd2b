"""The person's control: consent, the audit log and its receipts, the access report,
export and erasure."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from lifetwin.core.errors import LifeTwinError
from lifetwin.operations.context import Context
from lifetwin.operations.data import iso
from lifetwin.privacy.consent import ConsentError, Grant, Purpose, Scope, ScopeKind
from lifetwin.services.audit_view import Verification, actor_labels, verify_person
from lifetwin.services.erasure import Erased, erase_person
from lifetwin.services.export import export_person
from lifetwin.services.report import access_report

OWNER_PURPOSES = (
    Purpose.TWIN_CORE,
    Purpose.FORECASTING,
    Purpose.SIMULATION,
    Purpose.RECOMMENDATIONS,
    Purpose.RESEARCH,
    Purpose.PRODUCT_IMPROVEMENT,
)


# -- consent -------------------------------------------------------------------------------------
class GrantView(BaseModel):
    id: str
    scope: str
    purpose: str
    recipient: str | None
    text_version: str
    granted_at: datetime
    granted_by: str
    revoked_at: datetime | None
    active: bool

    @classmethod
    def of(cls, grant: Grant) -> GrantView:
        return cls(
            id=grant.id,
            scope=str(grant.scope),
            purpose=grant.purpose.value,
            recipient=grant.recipient,
            text_version=grant.text_version,
            granted_at=grant.granted_at,
            granted_by=grant.granted_by,
            revoked_at=grant.revoked_at,
            active=grant.active(datetime.now(UTC)),
        )


class GrantList(BaseModel):
    items: list[GrantView]
    next: str | None = None


class Revoked(BaseModel):
    revoked: str
    derived_removed: list[str]


class CategoryChange(BaseModel):
    """A data category switched on or off for a purpose (the privacy centre's switches)."""

    category: str
    purpose: str
    allowed: bool
    derived_removed: list[str]
    message: str


def consents(ctx: Context) -> GrantList:
    return GrantList(items=[GrantView.of(g) for g in ctx.vault().consents().grants])


def grant(
    ctx: Context,
    scope: str,
    purpose: str,
    *,
    recipient: str | None = None,
    text_version: str = "1",
    granted_by: str = "self",
) -> GrantView:
    made = ctx.vault().grant(
        Scope.parse(scope),
        _purpose(purpose),
        recipient=recipient,
        text_version=text_version,
        granted_by=granted_by,
    )
    return GrantView.of(made)


def revoke(ctx: Context, grant_id: str) -> Revoked:
    return Revoked(revoked=grant_id, derived_removed=ctx.vault().revoke(grant_id))


def _purpose(name: str) -> Purpose:
    try:
        return Purpose(name)
    except ValueError:
        names = ", ".join(p.value for p in Purpose)
        raise ConsentError(f"'{name}' is not a purpose; purposes: {names}.") from None


def set_category(ctx: Context, category: str, purpose: str, allowed: bool) -> CategoryChange:
    """Switch one data category on or off for one purpose. Switching off a category that an
    ``all`` grant covered keeps every other category as it was."""
    from lifetwin.core.vocabulary import domains

    names = {d.name for d in domains()}
    chosen = _purpose(purpose)
    if category not in names or chosen not in OWNER_PURPOSES:
        raise LifeTwinError("That is not a data category and purpose the person can switch.")
    vault = ctx.vault()
    removed: list[str] = []
    label = chosen.value.replace("_", " ")
    with vault.transaction():
        if allowed:
            vault.grant(Scope(kind=ScopeKind.DOMAIN, value=category), chosen)
            message = f"{category} may now be used for {label}."
        else:
            now = datetime.now(UTC)
            covering = [
                g
                for g in vault.consents().grants
                if g.active(now)
                and g.purpose is chosen
                and g.recipient is None
                and (
                    g.scope.kind is ScopeKind.ALL
                    or (g.scope.kind is ScopeKind.DOMAIN and g.scope.value == category)
                )
            ]
            for g in covering:
                removed += vault.revoke(g.id)
                if g.scope.kind is ScopeKind.ALL:
                    for other in sorted(names - {category}):
                        vault.grant(Scope(kind=ScopeKind.DOMAIN, value=other), chosen)
            message = f"{category} is no longer used for {label}"
            message += f"; removed {len(removed)} results computed from it." if removed else "."
    return CategoryChange(
        category=category,
        purpose=chosen.value,
        allowed=allowed,
        derived_removed=removed,
        message=message,
    )


class CategoryMatrix(BaseModel):
    """The privacy centre's switches: which category × purpose is allowed now."""

    categories: list[str]
    purposes: list[str]
    allowed: list[tuple[str, str]]
    other_grants: list[str]


def category_matrix(ctx: Context) -> CategoryMatrix:
    from lifetwin.core.vocabulary import domains

    names = [d.name for d in domains()]
    now = datetime.now(UTC)
    allowed: set[tuple[str, str]] = set()
    other: list[str] = []
    for g in ctx.vault().consents().grants:
        if not g.active(now):
            continue
        if g.scope.kind is ScopeKind.DOMAIN and g.recipient is None:
            allowed.add((g.scope.value, g.purpose.value))
        elif g.scope.kind is ScopeKind.ALL and g.recipient is None:
            allowed.update((d, g.purpose.value) for d in names)
            other.append(f"all data for {g.purpose.value}")
        else:
            other.append(
                f"{g.scope} for {g.purpose.value}" + (f" with {g.recipient}" if g.recipient else "")
            )
    return CategoryMatrix(
        categories=names,
        purposes=[p.value for p in OWNER_PURPOSES],
        allowed=sorted(allowed),
        other_grants=other,
    )


# -- the audit log --------------------------------------------------------------------------
class AuditEntry(BaseModel):
    seq: int
    time: str
    action: str
    actor: str
    purpose: str
    details: dict[str, Any] | None
    who: str = Field(default="", description="who did it, in plain words")
    sentence: str = Field(default="", description="what was read or stored, in plain words")


class AuditPage(BaseModel):
    items: list[AuditEntry]
    next_before: int | None


def audit(ctx: Context, *, limit: int = 100, before: int | None = None) -> AuditPage:
    """The person's audit entries, newest first, with accounts named for the key holder."""
    entries = ctx.vault().audit_entries()
    entries = [e for e in reversed(entries) if before is None or e.seq < before]
    page = entries[:limit]
    more = len(entries) > limit
    labels = actor_labels(ctx.store)
    items = []
    for e in page:
        who, sentence = plain(e.action, labels.get(e.actor, e.actor), e.purpose, e.details)
        items.append(
            AuditEntry(
                seq=e.seq,
                time=iso(e.ts_ms),
                action=e.action,
                actor=labels.get(e.actor, e.actor),
                purpose=e.purpose,
                details=e.details,
                who=who,
                sentence=sentence,
            )
        )
    return AuditPage(items=items, next_before=page[-1].seq if more and page else None)


def _purpose_words(purpose: str, recipient: str | None = None) -> str:
    words = {
        "twin_core": "your twin",
        "forecasting": "forecasts and alerts",
        "simulation": "what-if simulations",
        "recommendations": "recommendations",
        "sharing": "sharing",
        "research": "research",
        "product_improvement": "improving LifeTwin",
        "self_access": "your own view",
    }.get(purpose, purpose.replace("_", " "))
    return f"sharing with {recipient}" if purpose == "sharing" and recipient else words


def _thing(code: str | None) -> str:
    """A metric code or event kind as words (``heart rate``, ``workouts``)."""
    if not code:
        return "data"
    if code.startswith("event:"):
        return code.removeprefix("event:").replace("_", " ") + " records"
    try:
        from lifetwin.core.vocabulary import metric

        return metric(code).name.split(" (")[0].lower()
    except LifeTwinError:
        return code.replace("_", " ")


def _scope_words(scope: str | None) -> str:
    if not scope or scope == "all":
        return "all your data"
    kind, _, value = scope.partition(":")
    if kind == "domain":
        return f"your {value} data"
    if kind == "metric":
        return f"your {_thing(value)}"
    if kind == "source":
        return f"the data from {value.strip(chr(39))}"
    return scope


def plain(
    action: str, actor: str, purpose: str | None, details: dict[str, Any] | None
) -> tuple[str, str]:
    """(who, what they did) for one audit entry, in words a person reads: what was read
    or stored, how much, and for what (the times are the adapter's to show).

    >>> plain("read", "self", "forecasting", {"metric": "heart_rate", "count": 1200})
    ('You', 'read 1,200 heart rate values for forecasts and alerts.')
    >>> plain("read", "caregiver:ana", "sharing", {"metric": "glucose", "recipient": "ana"})[1]
    'read glucose values for sharing with ana.'
    """
    d = details or {}
    name = actor.split(" ")[0]
    token = " (with an API token)" if actor.endswith("(token)") else ""
    if name.startswith(("person:", "self")):
        who = "You" + token
    elif name == "service":
        who = "The service"
    else:
        role, _, account = name.partition(":")
        who = (f"{account} ({role})" if account else name) + token
    why = _purpose_words(purpose or "", d.get("recipient"))
    count = d.get("count")
    amount = f"{count:,} " if isinstance(count, int) else ""
    what = _thing(d.get("metric"))
    unit = "" if what.endswith("records") else " values"
    if action == "read":
        text = f"read {amount}{what}{unit} for {why}"
        if d.get("withheld"):
            text += f" ({d['withheld']:,} withheld: not granted)"
    elif action == "write" and d.get("what") == "profile":
        fields = ", ".join(str(f).replace("_", " ") for f in d.get("fields", [])[:6])
        text = f"saved profile answers ({fields})" if fields else "saved profile answers"
    elif action == "write":
        added, changed = d.get("added", 0), d.get("changed", 0)
        text = f"stored {added:,} new {what}{unit}" + (
            f" from {d['source']}" if d.get("source") else ""
        )
        if changed:
            text += f" and replaced {changed:,}"
    elif action == "view":
        text = f"looked at {str(d.get('what', 'data')).replace('_', ' ')} for {why}"
    elif action == "grant":
        text = f"allowed {_scope_words(d.get('scope'))} for {why}"
    elif action == "revoke":
        text = f"withdrew {_scope_words(d.get('scope'))} from {why}"
    elif action == "invalidate":
        gone = ", ".join(d.get("derived", []))
        text = f"deleted results computed from withdrawn data ({gone})"
    elif action == "derive":
        text = f"computed {str(d.get('name', 'a result')).replace(':', ' ')} for {why}"
    elif action == "export":
        made = f"{d.get('observations', 0):,} values and {d.get('events', 0):,} records"
        to = f" for {d['recipient']}" if d.get("recipient") else ""
        text = f"exported {made} as {d.get('format', 'a file')}{to}"
    elif action == "import":
        text = f"imported {d.get('file', 'a file')}"
    elif action == "create":
        text = "created this encrypted vault"
    elif action == "login":
        text = "signed in"
    elif action == "token":
        text = f"made an API token for {', '.join(d.get('purposes', []))}"
    elif action == "receipt":
        text = "made a signed receipt of this history"
    elif action == "report":
        text = "made the access report"
    elif action == "rectify":
        text = f"corrected a {what} value"
    else:
        extra = ", ".join(f"{k} {v}" for k, v in d.items() if isinstance(v, str | int))
        text = action.replace("_", " ") + (f" ({extra})" if extra else "")
    return who, text + "."


class Receipt(BaseModel):
    lifetwin_audit_receipt: int
    person: str
    seq: int
    hash: str
    state: str
    signature: str
    public_key: str
    issued: str


def receipt(ctx: Context) -> Receipt:
    """A signed receipt of the person's chain as it is now, to keep elsewhere."""
    ctx.vault().log_event("receipt", Purpose.SELF_ACCESS.value)
    return Receipt.model_validate(ctx.store.audit.receipt(ctx.person.id))


def verify(ctx: Context, given: dict[str, Any] | None = None) -> Verification:
    return verify_person(ctx.store, ctx.person, given)


# -- the access report, export, erasure ---------------------------------------------------------
class AccessReport(BaseModel):
    """The access report (GDPR Art. 15)."""

    person: dict[str, str]
    generated: str
    held: dict[str, list[dict[str, Any]]]
    quarantined: int
    corrections: int
    imports: list[dict[str, Any]]
    consents: list[dict[str, Any]]
    recipients: list[dict[str, Any]]
    retention: list[dict[str, Any]]
    automated_outputs: list[dict[str, Any]]
    accesses: dict[str, int]
    audit_intact: bool


def report(ctx: Context) -> AccessReport:
    return AccessReport.model_validate(access_report(ctx.store, ctx.person))


class ExportDone(BaseModel):
    path: str
    format: str
    observations: int
    events: int


def export(ctx: Context, fmt: str, out: Path, *, recipient: str | None = None) -> ExportDone:
    done = export_person(ctx.store, ctx.person, fmt, out, recipient=recipient)
    return ExportDone(
        path=str(done.path), format=done.format, observations=done.observations, events=done.events
    )


class ErasureDone(BaseModel):
    person: str
    accounts: list[str]
    files_removed: int


def erase(
    ctx: Context, confirm: str, *, upload_dir: Path | None = None, home: Path | None = None
) -> ErasureDone:
    """Erase the person — only when ``confirm`` is their name (any case)."""
    if confirm.strip().casefold() != ctx.person.name.strip().casefold():
        raise ConsentError("To erase, the confirmation must be the person's name exactly.")
    done: Erased = erase_person(
        ctx.store, ctx.person, actor=ctx.actor, upload_dir=upload_dir, home=home
    )
    return ErasureDone(person=done.person, accounts=done.accounts, files_removed=done.files_removed)


# -- sharing with a caregiver ---------------------------------------------------------------
class ShareView(BaseModel):
    grant: str
    category: str
    recipient: str
    since: datetime


class ShareList(BaseModel):
    """What the person shares, with whom (active sharing grants)."""

    items: list[ShareView]
    categories: list[str]


def shares(ctx: Context) -> ShareList:
    from lifetwin.core.vocabulary import domains

    now = datetime.now(UTC)
    items = [
        ShareView(
            grant=g.id,
            category="all" if g.scope.kind is ScopeKind.ALL else str(g.scope).partition(":")[2],
            recipient=g.recipient or "",
            since=g.granted_at,
        )
        for g in ctx.vault().consents().grants
        if g.purpose is Purpose.SHARING and g.active(now) and g.recipient
    ]
    return ShareList(items=items, categories=[d.name for d in domains()])


def share(ctx: Context, category: str, recipient: str) -> ShareView:
    """Share one data category with a caregiver's account (a sharing grant naming them)."""
    from lifetwin.core.vocabulary import domains
    from lifetwin.services.accounts import AccountError, Accounts, Role

    names = [d.name for d in domains()]
    if category not in names:
        raise ConsentError(f"'{category}' is not a data category (categories: {', '.join(names)}).")
    name = recipient.strip().lower()
    try:
        account = Accounts(ctx.store).get(name)
    except AccountError:
        raise ConsentError(f"There is no caregiver account '{name}' to share with.") from None
    if account.role is not Role.CAREGIVER:
        raise ConsentError(f"The account '{name}' is not a caregiver's; share with a caregiver.")
    made = ctx.vault().grant(
        Scope(kind=ScopeKind.DOMAIN, value=category), Purpose.SHARING, recipient=name
    )
    return ShareView(grant=made.id, category=category, recipient=name, since=made.granted_at)


def unshare(ctx: Context, grant_id: str) -> Revoked:
    """Stop a share (revoke its sharing grant)."""
    if not any(i.grant == grant_id for i in shares(ctx).items):
        raise ConsentError(f"There is no active share '{grant_id}'.")
    return revoke(ctx, grant_id)
