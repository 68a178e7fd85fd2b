"""What one worker of the service holds, and the work it does for requests.

Nothing here serializes requests: the store handles concurrency (per-person
transactions), and everything that must be the same in every worker lives in the store
(sessions, rate limits, jobs, live events). A worker keeps only caches — twin overviews,
tokens, persons' keys — and drops them when the store says something changed, whoever
changed it (another worker, another machine, the command line).
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.datastructures import UploadFile

from lifetwin.api.encoding import Encoded, encode
from lifetwin.api.ingest import Batch, to_chunks
from lifetwin.api.security import ApiError, Gate, Principal
from lifetwin.core.files import private_dir
from lifetwin.services.background import (
    Background,
    ImportStatus,
    UploadTooLargeError,
    import_status,
    receive_upload,
)
from lifetwin.services.erasure import erase_person
from lifetwin.services.importer import ImportSummary, import_items
from lifetwin.services.jobs import Jobs
from lifetwin.services.live import Broker
from lifetwin.settings import Settings
from lifetwin.sources.base import ReadOptions
from lifetwin.store.vault import Person, Store

if TYPE_CHECKING:
    from lifetwin.operations.context import Context
    from lifetwin.operations.twin import Overview

log = logging.getLogger(__name__)
OVERVIEW_TTL_S = 600.0  # a safety net: "today" moves on even without writes


class Service:
    def __init__(
        self, store: Store, settings: Settings | None = None, home: Path | None = None
    ) -> None:
        self.store = store
        self.settings = settings or Settings()
        self.home = home
        self.gate = Gate(store, self.settings)
        upload = self.settings.upload_dir or (home / "uploads" if home else None)
        self.upload_dir = upload or Path(tempfile.mkdtemp(prefix="lifetwin-uploads-"))
        private_dir(self.upload_dir)
        self.jobs = Jobs(
            store,
            upload_dir=self.upload_dir,
            lease_s=self.settings.job_lease_s,
            attempts=self.settings.job_attempts,
        )
        self.broker = Broker(
            store,
            self.jobs,
            allow=self.settings.networks("allow_networks"),
            attempts=self.settings.webhook_attempts,
            backoff_s=self.settings.webhook_backoff_s,
            timeout_s=self.settings.webhook_timeout_s,
        )
        self.background = Background(store, self.jobs, self.broker, self.settings)
        self._add_pack_jobs()
        self._overviews: dict[str, tuple[float, int, Overview, Encoded | None]] = {}
        self._overview_lock = threading.Lock()
        self._started = False

    def _add_pack_jobs(self) -> None:
        """The packs' kinds of job (every worker knows them: any worker may take any job)."""
        from lifetwin.packs.registry import registry

        for kind in registry().jobs.values():
            self.jobs.handlers[kind.name] = kind.run
            if kind.attempts is not None:
                self.jobs.max_attempts[kind.name] = kind.attempts

    def start(self) -> None:
        """Begin the background work of this worker (when the app starts serving)."""
        if self._started:
            return
        self._started = True
        removed = self.jobs.clean_uploads()
        if removed:
            log.info("removed %d upload(s) left by a worker that stopped", removed)
        self.jobs.start(self.settings.job_threads)
        self.broker.listen()

    def close(self, timeout: float = 30.0) -> None:
        """Stop taking background work and wait for what runs here (before the store closes).
        ``start`` may be called again afterwards (a test client runs the lifespan often)."""
        self.jobs.stop(timeout)
        self.broker.stop()
        self.gate.close()
        self._started = False

    # -- the overview, cached per person until their data or consent changes ---------------
    def _generation(self, person_id: str) -> int:
        return self.gate.generations("person:" + person_id)

    def _cached(self, ctx: Context) -> tuple[float, int, Overview, Encoded | None] | None:
        """The person's cached overview while their data and consent are unchanged; once
        older than ``OVERVIEW_TTL_S`` ("today" moves on) it is still served while one
        background thread computes it again."""
        person_id = ctx.person.id
        hit = self._overviews.get(person_id)
        if hit is None or hit[1] != self._generation(person_id):
            return None
        if time.monotonic() - hit[0] > OVERVIEW_TTL_S:
            self.gate.refresher.soon("overview:" + person_id, lambda: self._compute(ctx))
        return hit

    def _compute(self, ctx: Context) -> Overview:
        from lifetwin.operations.twin import overview

        generation = self._generation(ctx.person.id)
        found = overview(ctx)
        with self._overview_lock:
            self._overviews[ctx.person.id] = (time.monotonic(), generation, found, None)
        return found

    def cached_overview_reply(self, ctx: Context) -> Encoded | None:
        """The cached overview's body and ETag, encoded once per cached overview."""
        hit = self._cached(ctx)
        if hit is None:
            return None
        made, generation, data, encoded = hit
        if encoded is None:
            encoded = encode(data)
            with self._overview_lock:
                if self._overviews.get(ctx.person.id) is hit:
                    self._overviews[ctx.person.id] = (made, generation, data, encoded)
        return encoded

    def overview(self, ctx: Context) -> Overview:
        """The person's overview (cached, or computed now), once the audit entry of viewing
        it is committed."""
        hit = self._cached(ctx)
        found = self._compute(ctx) if hit is None else hit[2]
        self.viewed(ctx).result()
        return found

    @staticmethod
    def viewed(ctx: Context) -> Future[int]:
        """The audit entry of viewing the overview, written by group commit with the other
        reads arriving meanwhile (done when committed: the answer waits for it)."""
        return ctx.vault().log_event_soon("view", "twin_core", what="overview")

    def changed(self, person_id: str) -> None:
        """Data or consent of a person changed: every worker recomputes what it derived."""
        self.store.backend.generation_bump("person:" + person_id)
        self.gate.generations.refresh()
        with self._overview_lock:
            self._overviews.pop(person_id, None)

    def after_write(self, person: Person) -> None:
        self.changed(person.id)
        self.background.after_write(person)

    # -- ingest ------------------------------------------------------------------------------
    def ingest(self, person: Person, items: Batch, digest: str, label: str) -> ImportSummary:
        """Write all of the (already validated) observations or none."""
        chunks = to_chunks(items, label)
        summary = import_items(
            self.store,
            person,
            lambda _opts: iter(chunks),
            label=label,
            digest=digest,
            fmt="api",
            cursor_name="api",
            options=ReadOptions(),
        )
        self.after_write(person)
        return summary

    # -- erasure -----------------------------------------------------------------------------
    @staticmethod
    def confirms(person: Person, typed: str) -> bool:
        """Whether what was typed to confirm an erasure is the person's name."""
        return typed.strip().casefold() == person.name.strip().casefold()

    def erase(self, person: Person, principal: Principal) -> None:
        """Erase the person with their accounts, tokens, sessions, jobs and uploads."""
        erase_person(
            self.store, person, actor=principal.actor, upload_dir=self.upload_dir, home=self.home
        )
        self.gate.forget()
        with self._overview_lock:
            self._overviews.pop(person.id, None)

    # -- imports -------------------------------------------------------------------------------
    async def receive_upload(
        self, person: Person, upload: UploadFile, fmt: str | None
    ) -> ImportStatus:
        """Keep an uploaded export sealed (refusing it past the size limit, keeping nothing)
        and queue its import."""
        try:
            job_id = await receive_upload(
                self.jobs,
                person,
                upload.filename or "upload",
                lambda: upload.read(1 << 20),
                fmt,
                self.settings.max_upload_bytes,
            )
        except UploadTooLargeError as exc:
            raise ApiError(413, str(exc)) from None
        status = self.import_status(person, job_id)
        assert status is not None
        return status

    def import_status(self, person: Person, job_id: str) -> ImportStatus | None:
        job = self.jobs.get(job_id)
        if job is None or job.person_id != person.id or job.kind != "import":
            return None
        return import_status(job)
