"""The person's control: consent, the audit log and its receipts, the access report,
export and erasure."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

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
    return AuditPage(
        items=[
            AuditEntry(
                seq=e.seq,
                time=iso(e.ts_ms),
                action=e.action,
                actor=labels.get(e.actor, e.actor),
                purpose=e.purpose,
                details=e.details,
            )
            for e in page
        ],
        next_before=page[-1].seq if more and page else None,
    )


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
