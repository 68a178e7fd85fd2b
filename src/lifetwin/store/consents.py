"""A person's consent rows and the consent gate every read of their data goes through.

Grants are sealed rows, one per grant and version (a revocation writes version 2),
checked against the signed audit head before anything is decided on them: rows replaced,
removed or added without the key make every read for a purpose fail closed.

The gate (:meth:`Consents.allowed`, :meth:`Consents.documents_allowed`) is called by the
readers of series, records and documents themselves, inside their read methods; none of
them takes a list of streams already chosen, so no caller can read past it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from lifetwin.core.errors import StoreError
from lifetwin.privacy.consent import ConsentLedger, Grant, Purpose, Scope
from lifetwin.store.context import PersonContext
from lifetwin.store.derived import DerivedResults
from lifetwin.store.streams import StreamInfo, Streams


class Consents:
    """The person's grants (from their rows) and the gate built on them."""

    def __init__(self, ctx: PersonContext, streams: Streams, derived: DerivedResults) -> None:
        self._ctx = ctx
        self._streams = streams
        self._derived = derived

    def _tag(self, grant_id: str) -> bytes:
        return self._ctx.keys.tag(b"grant|" + grant_id.encode())

    def _aad(self, tag: bytes, version: int) -> bytes:
        return self._ctx.aad(b"grant", tag, str(version).encode())

    def ledger(self) -> ConsentLedger:
        ctx = self._ctx
        rows, head = ctx.backend.consent_snapshot(ctx.person.id)
        problem = ctx.audit.check_consent_rows(ctx.person.id, [(t, v) for t, v, _ in rows], head)
        if problem:
            raise StoreError(
                f"The consent records of {ctx.person.name} were altered ({problem}); nothing "
                "is read for any purpose until that is resolved (`lifetwin audit verify`)."
            )
        grants = [
            Grant.model_validate_json(ctx.keys.open(sealed, self._aad(tag, version)))
            for tag, version, sealed in rows
        ]
        return ConsentLedger(grants=sorted(grants, key=lambda g: (g.granted_at, g.id)))

    def _put(self, grant: Grant, version: int) -> None:
        ctx = self._ctx
        tag = self._tag(grant.id)
        sealed = ctx.keys.seal(grant.model_dump_json().encode(), self._aad(tag, version))
        ctx.backend.grant_put(ctx.person.id, tag, version, sealed)
        ctx.backend.generation_bump("person:" + ctx.person.id)

    def grant(
        self,
        scope: Scope,
        purpose: Purpose,
        *,
        recipient: str | None,
        text_version: str,
        granted_by: str,
        at: datetime | None,
    ) -> Grant:
        with self._ctx.transaction():
            made = ConsentLedger().grant(
                scope,
                purpose,
                recipient=recipient,
                text_version=text_version,
                granted_by=granted_by,
                at=at,
            )
            self._put(made, 1)
            self._ctx.log_event(
                "grant",
                purpose.value,
                grant=made.id,
                scope=str(scope),
                recipient=recipient,
                text_version=text_version,
                granted_by=granted_by,
            )
        return made

    def revoke(self, grant_id: str, at: datetime | None) -> list[str]:
        ctx = self._ctx
        with ctx.transaction():
            ledger = self.ledger()
            revoked = ledger.revoke(grant_id, at)
            version = dict(ctx.backend.grant_versions(ctx.person.id))[self._tag(grant_id)]
            self._put(revoked, version + 1)
            ctx.log_event("revoke", revoked.purpose.value, grant=grant_id, scope=str(revoked.scope))
            removed = [d.name for d in self._derived.all() if grant_id in d.lineage.grants]
            for name in removed:
                self._derived.delete(name)
            if removed:
                ctx.log_event("invalidate", revoked.purpose.value, grant=grant_id, derived=removed)
        return removed

    def import_grants(self, grants: Sequence[Grant]) -> None:
        with self._ctx.transaction():
            for grant in grants:
                self._put(grant, 1 if grant.revoked_at is None else 2)
            self._ctx.log_event("upgrade", what="consent rows", grants=len(grants))

    # -- the gate --------------------------------------------------------------
    def allowed(
        self, candidates: list[StreamInfo], purpose: Purpose, recipient: str | None
    ) -> tuple[list[StreamInfo], tuple[str, ...]]:
        """The candidate streams a purpose (for a recipient) may use now, and the ids of
        the grants that allow them (none are needed for the person's own access)."""
        if purpose is Purpose.SELF_ACCESS:
            return candidates, ()
        now = datetime.now(UTC)
        ledger = self.ledger()
        chosen: list[StreamInfo] = []
        grants: set[str] = set()
        for stream in candidates:
            allowing = ledger.allowing(stream.metric, stream.source, purpose, recipient, now)
            if allowing:
                chosen.append(stream)
                grants.update(g.id for g in allowing)
        return chosen, tuple(sorted(grants))

    def visible(self, purpose: Purpose, recipient: str | None) -> list[StreamInfo]:
        chosen, _ = self.allowed(self._streams.all(), Purpose(purpose), recipient)
        return chosen

    def documents_allowed(
        self, collection: str, source: str, purpose: Purpose, recipient: str | None
    ) -> tuple[bool, tuple[str, ...]]:
        """Beyond self_access, only an ``all`` grant or one for their source covers documents
        (they are no metric of the vocabulary, so no metric or domain grant names them)."""
        if purpose is Purpose.SELF_ACCESS:
            return True, ()
        allowing = self.ledger().allowing(collection, source, purpose, recipient, datetime.now(UTC))
        return bool(allowing), tuple(sorted(g.id for g in allowing))
