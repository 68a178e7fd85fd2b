"""The service's background work on the job queue: uploaded imports and the analyses run
after new data (early warnings, the glucose forecast), publishing what is new.

The API and the dashboard call :func:`receive_upload` and :func:`after_write`; job
runners in any worker run :func:`run_import` and :func:`run_analysis`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lifetwin.core.errors import LifeTwinError
from lifetwin.services.importer import ImportSummary, import_file
from lifetwin.services.jobs import CHUNK_BYTES, Job, JobContext, Jobs
from lifetwin.services.live import Broker, BrokerNotifier
from lifetwin.settings import Settings
from lifetwin.store.vault import Person, Store

log = logging.getLogger(__name__)


class UploadTooLargeError(LifeTwinError):
    """An upload past the size limit (nothing of it is kept)."""


def summary_dict(s: ImportSummary) -> dict[str, Any]:
    from lifetwin.operations.data import ImportResult

    return ImportResult.of(s).model_dump(mode="json")


# The importer's advice names command-line options; an upload (the dashboard, the API)
# has none of them, so the advice says what to do there instead.
_UPLOAD_ADVICE = (
    (
        re.compile(
            r"pass --mapping \(see docs/importing\.md\)|pass --mapping to describe its layout"
        ),
        "describe its columns in a mapping file and import it with the command line's "
        "import command (see docs/importing.md)",
    ),
    (
        re.compile(r"save it as UTF-8 or pass --encoding(?: \(for example --encoding [\w-]+\))?"),
        "save it as UTF-8 and upload it again",
    ),
    (re.compile(r"; pass --encoding"), "; save it as UTF-8 and upload it again"),
)


def upload_advice(text: str) -> str:
    """The importer's advice as it fits an upload (no command-line options).

    >>> upload_advice("x.csv is not UTF-8; save it as UTF-8 or pass --encoding")
    'x.csv is not UTF-8; save it as UTF-8 and upload it again'
    """
    for pattern, advice in _UPLOAD_ADVICE:
        text = pattern.sub(advice, text)
    return text


@dataclass
class ImportStatus:
    """What the person sees of an upload's import."""

    id: str
    file: str
    state: str  # queued, running, done, failed
    read: int
    seconds: float
    summary: dict[str, Any] | None
    error: str | None

    def public(self) -> dict[str, Any]:
        return dict(self.__dict__)


def import_status(job: Job) -> ImportStatus:
    payload = job.payload
    state = job.state
    if state == "running" and payload.get("summary") is not None:
        state = "done"
    end = (
        job.updated_ms if state in ("done", "failed") else int(datetime.now(UTC).timestamp() * 1000)
    )
    return ImportStatus(
        id=job.id,
        file=str(payload.get("file", "")),
        state="running" if state == "queued" else state,
        read=int(payload.get("read", 0)),
        seconds=round(max(0, end - job.created_ms) / 1000, 1),
        summary=payload.get("summary"),
        error=payload.get("error"),
    )


async def receive_upload(
    jobs: Jobs,
    person: Person,
    name: str,
    chunks: AsyncIterator[bytes] | Callable[[], Awaitable[bytes]],
    fmt: str | None,
    limit_bytes: int,
) -> str:
    """Keep an uploaded file sealed under the person's key, chunk by chunk (refusing it
    past the size limit and keeping nothing), and queue its import; return the job id."""
    import asyncio
    import uuid

    job_id = uuid.uuid4().hex[:16]
    name = Path(name or "upload").name[:200] or "upload"
    size = 0
    n = 0
    buffer = bytearray()

    async def pieces() -> AsyncIterator[bytes]:
        if callable(chunks):
            while piece := await chunks():
                yield piece
        else:
            async for piece in chunks:
                yield piece

    try:
        async for piece in pieces():
            size += len(piece)
            if size > limit_bytes:
                raise UploadTooLargeError(f"The file is larger than {limit_bytes // 2**20} MiB.")
            buffer += piece
            while len(buffer) >= CHUNK_BYTES:
                part, buffer = bytes(buffer[:CHUNK_BYTES]), buffer[CHUNK_BYTES:]
                await asyncio.to_thread(jobs.store_upload_chunk, person, job_id, n, part)
                n += 1
        if buffer or n == 0:
            await asyncio.to_thread(jobs.store_upload_chunk, person, job_id, n, bytes(buffer))
            n += 1
    except BaseException:
        jobs.backend.upload_delete(job_id)
        raise
    payload = {"file": name, "format": fmt, "chunks": n, "bytes": size, "read": 0}
    jobs.submit(person, "import", payload, job_id=job_id)
    return job_id


class Background:
    """Registers the handlers of background work with a queue, and queues it."""

    def __init__(self, store: Store, jobs: Jobs, broker: Broker, settings: Settings) -> None:
        self.store = store
        self.jobs = jobs
        self.broker = broker
        self.settings = settings
        jobs.handlers["import"] = self.run_import
        jobs.handlers["analyze"] = self.run_analysis

    def after_write(self, person: Person) -> None:
        """New data for a person: queue the analyses (when the service runs them)."""
        if self.settings.analyze_after_ingest:
            self.jobs.submit(person, "analyze", {})

    def run_import(self, ctx: JobContext) -> None:
        payload = ctx.job.payload
        person = self.store.person(ctx.job.person_id)
        with self.jobs.upload_file(ctx.job, int(payload["chunks"])) as path:
            try:
                summary = import_file(
                    self.store,
                    person,
                    path,
                    fmt=payload.get("format"),
                    label=str(payload["file"]),
                    progress=lambda read: ctx.progress(read=read),
                )
            except LifeTwinError as exc:
                raise LifeTwinError(upload_advice(str(exc))) from None
        self.store.backend.upload_delete(ctx.job.id)
        shown = summary_dict(summary)
        shown["fatal"] = upload_advice(shown["fatal"]) if shown["fatal"] else None
        for problem in shown["problems"]:
            problem["reason"] = upload_advice(problem["reason"])
        payload.update(summary=shown, read=summary.read)
        self.after_write(person)
        if summary.fatal:
            raise LifeTwinError(upload_advice(summary.fatal))

    def run_analysis(self, ctx: JobContext) -> None:
        """The packs' ingest capabilities for the person (alerts, forecasts, the twin's
        state), each reading through the consent gate with its own purpose; what they find
        goes to the person's live events and webhooks."""
        from lifetwin.services.capabilities import run_on_ingest

        person = self.store.person(ctx.job.person_id)
        run_on_ingest(self.store, person, BrokerNotifier(self.broker, person.id))
