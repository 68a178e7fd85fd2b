"""One person's vault: the one front over everything stored about them, all sealed before
it reaches a backend.

A :class:`Store` (:mod:`lifetwin.store.store`) holds many persons; :meth:`Store.vault`
opens one person's vault with that person's own data key. Numeric observations live in
columnar blocks (one per stream and UTC day); categorical and text observations, events
and quarantined values live as sealed records, and so do documents an outside system
reads back whole (Nightscout's treatments, device status and profiles). Writes are
idempotent: the same observation written twice is stored once.

:class:`Vault` is a thin front over its parts, each a small class holding the person's
:class:`~lifetwin.store.context.PersonContext` (keys, backend, audit chain):

=========================  ===========================================================
part                       holds
=========================  ===========================================================
``streams.Streams``        stream descriptors
``consents.Consents``      the consent rows and the gate every read goes through
``series.SeriesStore``     numeric blocks: write, read for a purpose, rectify
``records.RecordStore``    categorical/text observations and events
``records.DocumentStore``  outside systems' documents
``derived.DerivedResults`` derived outputs with their lineage
``derived.State``          small sealed state: profile, webhooks
``imports.ImportLedger``   imported files and connector cursors
``imports.Quarantine``     values an import kept aside
``imports.Corrections``    values the person marked wrong
=========================  ===========================================================

Callers use the vault only; every read of observations names a purpose, and the parts'
readers apply the consent gate themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from datetime import datetime
from typing import Any

from lifetwin.core.model import Event, Observation, Quarantined
from lifetwin.privacy.audit import AuditLog
from lifetwin.privacy.consent import ConsentLedger, Grant, Purpose, Scope
from lifetwin.privacy.lineage import Derived
from lifetwin.store.codec import Columns
from lifetwin.store.consents import Consents
from lifetwin.store.context import DAY_MS, Person, PersonContext
from lifetwin.store.crypto import PersonKeys
from lifetwin.store.derived import DerivedResults, State
from lifetwin.store.imports import Correction, Corrections, ImportLedger, ImportRecord, Quarantine
from lifetwin.store.records import Document, Documents, DocumentStore, Records, RecordStore
from lifetwin.store.series import Series, SeriesStore, WriteCounts
from lifetwin.store.sql import SQLBackend as Backend
from lifetwin.store.store import Store
from lifetwin.store.streams import StreamInfo, Streams

__all__ = [
    "DAY_MS",
    "Correction",
    "Document",
    "Documents",
    "ImportRecord",
    "Person",
    "Records",
    "Series",
    "Store",
    "StreamInfo",
    "Vault",
    "WriteCounts",
]


class Vault:
    """One person's data, sealed under that person's own key."""

    def __init__(
        self, backend: Backend, person: Person, keys: PersonKeys, audit: AuditLog, actor: str
    ) -> None:
        self.backend = backend
        self.person = person
        self._keys = keys
        self.audit = audit
        self.actor = actor
        ctx = PersonContext(backend, person, keys, audit, actor)
        self._ctx = ctx
        self._streams = Streams(ctx)
        self._state = State(ctx)
        self._derived = DerivedResults(ctx)
        self._consents = Consents(ctx, self._streams, self._derived)
        self._imports = ImportLedger(ctx)
        self._quarantine = Quarantine(ctx)
        self._corrections = Corrections(self._state)
        self._series = SeriesStore(
            ctx, self._streams, self._consents, self._corrections, self._imports
        )
        self._records = RecordStore(ctx, self._streams, self._consents)
        self._documents = DocumentStore(ctx, self._consents)

    def log_event(self, action: str, purpose: str = "", **details: Any) -> None:
        """Append an entry to the person's audit chain (details are sealed)."""
        self._ctx.log_event(action, purpose, **details)

    def log_event_soon(self, action: str, purpose: str = "", **details: Any) -> Future[int]:
        """Append an entry by group commit with others arriving meanwhile (for reads that
        wait for it before they answer); the future is done once it is committed."""
        return self._ctx.log_event_soon(action, purpose, **details)

    def audit_entries(self) -> list[Any]:
        """This person's audit entries with their details opened."""
        return self.audit.entries(self.person.id, self._keys)

    def transaction(self) -> Any:
        """A transaction holding this person's write lock (for read-modify-write)."""
        return self._ctx.transaction()

    # -- streams -------------------------------------------------------------
    def reload_streams(self) -> None:
        """Forget the streams read so far (another vault of this person may have added some)."""
        self._streams.reload()

    def streams(self) -> list[StreamInfo]:
        return self._streams.all()

    def visible_streams(self, purpose: Purpose, recipient: str | None = None) -> list[StreamInfo]:
        """The streams a purpose (for a recipient) may use now; names only, no values."""
        return self._consents.visible(purpose, recipient)

    def stream_days(self, stream: StreamInfo) -> tuple[int, int] | None:
        """The first and last UTC day (since the epoch) a stream has data on."""
        return self._streams.days(stream)

    def stream_last_days(self) -> dict[bytes, int]:
        """The day (since the epoch, UTC) of each stream's newest data."""
        return self._streams.last_days()

    # -- numeric series ------------------------------------------------------
    def write_columns(
        self,
        metric_code: str,
        source: str,
        device: str | None,
        unit: str,
        columns: Columns,
    ) -> WriteCounts:
        """Store numeric observations (already in the canonical unit and validated)."""
        return self._series.write(metric_code, source, device, unit, columns)

    def read_series(
        self,
        metric_code: str,
        *,
        purpose: Purpose,
        recipient: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        source: str | None = None,
    ) -> Series:
        """Numeric observations of a metric with since <= start < until, from the
        streams the purpose may use now; the result carries its lineage."""
        return self._series.read(
            metric_code,
            purpose=purpose,
            recipient=recipient,
            since=since,
            until=until,
            source=source,
        )

    def series_observations(self, series: Series) -> Iterable[Observation]:
        """Turn a series back into Observation objects (slow; for display and export)."""
        return self._series.observations(series)

    def raw_blocks(self, stream_id: bytes, day_lo: int, day_hi: int) -> list[tuple[int, Columns]]:
        """Decoded blocks of one stream by UTC day (for maintenance jobs, not for reading:
        no purpose is checked here)."""
        return self._series.raw_blocks(stream_id, day_lo, day_hi)

    # -- the consent ledger; the gate itself sits inside every reader ----------------
    def consents(self) -> ConsentLedger:
        """Every grant the person gave, revoked ones included, from their rows.

        The rows are checked against the signed audit head first: a row replaced by an
        older copy, removed or added without the key makes this fail (closed)."""
        return self._consents.ledger()

    def grant(
        self,
        scope: Scope,
        purpose: Purpose,
        *,
        recipient: str | None = None,
        text_version: str = "1",
        granted_by: str = "self",
        at: datetime | None = None,
    ) -> Grant:
        return self._consents.grant(
            scope,
            purpose,
            recipient=recipient,
            text_version=text_version,
            granted_by=granted_by,
            at=at,
        )

    def revoke(self, grant_id: str, at: datetime | None = None) -> list[str]:
        """Revoke a grant; delete every derived output whose lineage used it.

        Returns the names of the derived outputs removed (they are recomputed, without
        the revoked data, the next time they are asked for).
        """
        return self._consents.revoke(grant_id, at)

    def import_grants(self, grants: Sequence[Grant]) -> None:
        """Write grants as they are (an upgrade from an older store), one row each."""
        self._consents.import_grants(grants)

    # -- records: categorical/text observations and events ------------------
    def record_id(self, item: Observation | Event) -> str:
        """A 24-hex-digit id of a record that says nothing about it (equal records, equal ids)."""
        return self._records.record_id(item)

    def delete_records(self, items: Sequence[Observation | Event]) -> int:
        """Remove these records (found by what makes them the same); return how many were
        there. For a source that changed or withdrew what it sent before."""
        return self._records.delete(items)

    def write_records(self, items: Sequence[Observation | Event]) -> WriteCounts:
        return self._records.write(items)

    def read_records(
        self,
        name: str,
        *,
        purpose: Purpose,
        recipient: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Records:
        """Records of a non-numeric metric code, or of events named ``event:<kind>``."""
        return self._records.read(
            name, purpose=purpose, recipient=recipient, since=since, until=until
        )

    # -- documents: an outside system's own records, kept whole --------------------------
    def opaque_id(self, text: str) -> str:
        """24 hex digits that stand for ``text`` in this vault and say nothing about it."""
        return self._documents.opaque_id(text)

    def put_documents(self, collection: str, docs: Sequence[Document]) -> list[Document | None]:
        """Store documents, each replacing the one with its id; return what each replaced
        (None where it is new). One transaction holding the person's lock."""
        return self._documents.put(collection, docs)

    def delete_document(self, collection: str, doc_id: str) -> Document | None:
        """Remove one document; return it (None when there was none)."""
        return self._documents.delete(collection, doc_id)

    def documents(
        self,
        collection: str,
        *,
        source: str,
        purpose: Purpose,
        recipient: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
        where: Callable[[Document], bool] | None = None,
    ) -> Documents:
        """Documents of a collection (sent by ``source``) with since <= time < until, newest
        first: at most ``limit`` of those ``where`` accepts, read for a purpose."""
        return self._documents.read(
            collection,
            source=source,
            purpose=purpose,
            recipient=recipient,
            since=since,
            until=until,
            limit=limit,
            where=where,
        )

    # -- quarantine ------------------------------------------------------------
    def write_quarantine(self, items: Sequence[Quarantined]) -> int:
        return self._quarantine.write(items)

    def quarantined(self, *, purpose: Purpose) -> list[Quarantined]:
        """Values kept aside; only the person's own view sees them."""
        return self._quarantine.read(purpose=purpose)

    # -- profile: facts about the person that are not measurements -------------
    def profile(self) -> dict[str, Any]:
        """Birth date, sex, postcode and the like, as the person gave them."""
        return self._state.profile()

    def set_profile(self, **facts: Any) -> None:
        """Store profile answers, each checked by the profile schema first
        (:mod:`lifetwin.core.profile`): one it refuses stores nothing and raises a
        ``ProfileError`` with one sentence."""
        self._state.set_profile(facts)

    # -- rectification -----------------------------------------------------------
    def corrections(self) -> list[Correction]:
        return self._corrections.all()

    def rectify(
        self,
        metric_code: str,
        start: datetime,
        *,
        corrected: float | None,
        reason: str,
        source: str | None = None,
    ) -> Correction:
        """Mark a stored value wrong: remove it, or replace it with ``corrected``.

        The original value and the reason are kept (``corrections()``); the wrong value
        is no longer read by anything, and re-importing the file does not bring it back.
        """
        return self._series.rectify(
            metric_code, start, corrected=corrected, reason=reason, source=source
        )

    # -- small sealed state, and derived outputs with their lineage -------------------
    def put_state(self, name: str, plain: bytes) -> None:
        """Store a small sealed value of this person under a name (a change to one person:
        run read-modify-write of it inside ``transaction()``)."""
        self._state.put(name, plain)

    def get_state(self, name: str) -> bytes | None:
        return self._state.get(name)

    def save_derived(self, derived: Derived) -> None:
        self._derived.save(derived)

    def derived(self, name: str) -> Derived | None:
        return self._derived.get(name)

    def derived_all(self) -> list[Derived]:
        return self._derived.all()

    def delete_derived(self, name: str) -> None:
        self._derived.delete(name)

    # -- webhooks: where the person's alerts are delivered --------------------------------
    def webhooks(self) -> list[dict[str, Any]]:
        return self._state.webhooks()

    def add_webhook(self, hook: dict[str, Any]) -> None:
        self._state.add_webhook(hook)

    def remove_webhook(self, hook_id: str) -> bool:
        return self._state.remove_webhook(hook_id)

    # -- imports and connector cursors ------------------------------------------
    def get_cursor(self, name: str) -> str | None:
        """The position a connector reached last time for ``name`` (None: start over)."""
        return self._imports.get_cursor(name)

    def set_cursor(self, name: str, value: str) -> None:
        self._imports.set_cursor(name, value)

    def begin_import(self, file: str, digest: str, fmt: str) -> ImportRecord:
        return self._imports.begin(file, digest, fmt)

    def finish_import(self, record: ImportRecord) -> None:
        self._imports.finish(record)

    def imports(self) -> list[ImportRecord]:
        return self._imports.all()

    # -- a cheap sign that stored rows changed (for models that learn incrementally) -------
    def sealed_digest(self, stream: StreamInfo, day_lo: int, day_hi: int) -> int:
        """A 128-bit digest of a stream's stored rows on UTC days ``day_lo..day_hi``, as
        sealed (see :meth:`Streams.sealed_digest`); no value is opened."""
        return self._streams.sealed_digest(stream, day_lo, day_hi)
