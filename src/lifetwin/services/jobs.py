"""Background work as a durable queue on the store: imports, analyses, webhook deliveries.

A job is a row (``jobs``): its person, kind, state (queued, running, done, failed), the
number of attempts, and a payload sealed under the person's key. Any worker of any
process on any machine sharing the store may take a queued job; taking one is atomic
(``BEGIN IMMEDIATE`` on SQLite, ``FOR UPDATE SKIP LOCKED`` on PostgreSQL) and leases it
for ``job_lease_s``, renewed while it makes progress. A worker killed mid-job leaves a
lease that runs out; another worker then takes the job again (an import is idempotent,
so re-running it stores nothing twice). A job that meets any exception ends ``failed``
with one sentence for the person and a log line with the job's id — it never stays
``running``.

Uploaded files wait in the store as chunks sealed under the person's key (the job may
run on another machine); the file exists in plain form only while its import runs, in
a 0600 file under the home's ``uploads/`` folder that is removed when the job ends and
at start-up. Erasing a person removes their jobs and uploads in the same transaction.

A job that belongs to no person (a population study's training run) is submitted with
:meth:`Jobs.submit_service`: its person id is empty and its payload is sealed under a
key derived from the service key instead.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lifetwin.core.errors import LifeTwinError
from lifetwin.core.files import open_private, private_dir
from lifetwin.store.crypto import PersonKeys
from lifetwin.store.vault import Person, Store

log = logging.getLogger(__name__)
CHUNK_BYTES = 1 << 20
NO_PERSON = ""  # the person id of a service job (one that belongs to no person)


@dataclass
class Job:
    id: str
    person_id: str
    kind: str
    state: str
    attempts: int
    created_ms: int
    updated_ms: int
    payload: dict[str, Any] = field(default_factory=dict)


class JobError(LifeTwinError):
    """A job that failed in a way worth trying again later (e.g. a receiver that was down)."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


@dataclass
class JobContext:
    """What a handler gets: the job, the store, a way to report progress."""

    job: Job
    store: Store
    jobs: Jobs

    def progress(self, **changes: Any) -> None:
        """Save progress (and renew the lease: the job is alive)."""
        self.job.payload.update(changes)
        self.jobs.save(self.job, lease=True)


Handler = Callable[[JobContext], None]


def _now_ms() -> int:
    return int(time.time() * 1000)


class Jobs:
    """The queue of one store, and the threads of this process that run it."""

    def __init__(
        self,
        store: Store,
        *,
        upload_dir: Path,
        lease_s: float = 120.0,
        attempts: int = 3,
        worker: str | None = None,
    ) -> None:
        self.store = store
        self.backend = store.backend
        self.upload_dir = upload_dir
        self.lease_ms = int(lease_s * 1000)
        self.attempts = attempts
        self.worker = worker or f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.handlers: dict[str, Handler] = {}
        self.max_attempts: dict[str, int] = {}  # per kind; default ``attempts``
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._busy = 0
        self._busy_lock = threading.Lock()
        self._service_keys: PersonKeys | None = None

    # -- sealing ---------------------------------------------------------------------------
    def _keys(self, person_id: str) -> PersonKeys | None:
        if person_id == NO_PERSON:
            if self._service_keys is None:
                from lifetwin.services.accounts import Accounts

                self._service_keys = Accounts(self.store).service_keys("jobs")
            return self._service_keys
        found = self.store.person_with_keys(person_id)
        return None if found is None else found[1]

    def _seal(self, keys: PersonKeys, job_id: str, payload: dict[str, Any]) -> bytes:
        return keys.seal(json.dumps(payload, default=str).encode(), b"job|" + job_id.encode())

    def _open(self, keys: PersonKeys, job_id: str, sealed: bytes) -> dict[str, Any]:
        raw: dict[str, Any] = json.loads(keys.open(sealed, b"job|" + job_id.encode()))
        return raw

    # -- submitting and reading ----------------------------------------------------------------
    def submit(
        self,
        person: Person,
        kind: str,
        payload: dict[str, Any],
        *,
        job_id: str | None = None,
        delay_s: float = 0.0,
    ) -> str:
        keys = self._keys(person.id)
        if keys is None:
            raise LifeTwinError(f"The person '{person.name}' is no longer in this store.")
        job_id = job_id or uuid.uuid4().hex[:16]
        now = _now_ms()
        self.backend.job_insert(
            job_id,
            person.id,
            kind,
            now + int(delay_s * 1000),
            now,
            self._seal(keys, job_id, payload),
        )
        self._wake.set()
        return job_id

    def submit_service(
        self, kind: str, payload: dict[str, Any], *, job_id: str | None = None
    ) -> str:
        """Queue a job that belongs to no person (its payload sealed under the service)."""
        keys = self._keys(NO_PERSON)
        assert keys is not None
        job_id = job_id or uuid.uuid4().hex[:16]
        now = _now_ms()
        self.backend.job_insert(
            job_id, NO_PERSON, kind, now, now, self._seal(keys, job_id, payload)
        )
        self._wake.set()
        return job_id

    def get(self, job_id: str) -> Job | None:
        found = self.backend.job_get(job_id)
        if found is None:
            return None
        person_id, kind, state, attempts, created, updated, sealed = found
        keys = self._keys(person_id)
        payload = {} if keys is None else self._open(keys, job_id, sealed)
        return Job(job_id, person_id, kind, state, attempts, created, updated, payload)

    def save(
        self,
        job: Job,
        *,
        lease: bool = False,
        state: str | None = None,
        retry_in_s: float | None = None,
    ) -> None:
        keys = self._keys(job.person_id)
        if keys is None:
            return  # the person was erased meanwhile: the row is gone too
        now = _now_ms()
        if state is not None:
            job.state = state
        self.backend.job_update(
            job.id,
            job.state,
            self._seal(keys, job.id, job.payload),
            now,
            lease_until_ms=now + self.lease_ms if lease else None,
            run_after_ms=now + int(retry_in_s * 1000) if retry_in_s is not None else None,
        )

    # -- uploads ----------------------------------------------------------------------------------
    def store_upload_chunk(self, person: Person, job_id: str, n: int, data: bytes) -> None:
        keys = self._keys(person.id)
        if keys is None:
            raise LifeTwinError(f"The person '{person.name}' is no longer in this store.")
        aad = b"upload|" + job_id.encode() + b"|" + str(n).encode()
        self.backend.upload_put(job_id, person.id, n, keys.seal(data, aad))

    @contextmanager
    def upload_file(self, job: Job, chunks: int) -> Iterator[Path]:
        """The upload of a job as a plain 0600 file for as long as the block runs."""
        keys = self._keys(job.person_id)
        if keys is None:
            raise LifeTwinError("The person of this upload is no longer in this store.")
        private_dir(self.upload_dir)
        # The file's own extension, for formats known by it (a CSV of LifeTwin's layout).
        suffix = Path(str(job.payload.get("file", ""))).suffix.lower()
        if not re.fullmatch(r"\.[a-z0-9]{1,8}", suffix):
            suffix = ".part"
        path = self.upload_dir / f"{job.id}{suffix}"
        try:
            with open_private(path, "wb", None) as out:  # type: ignore[attr-defined]
                for n in range(chunks):
                    sealed = self.backend.upload_chunk(job.id, n)
                    if sealed is None:
                        raise LifeTwinError(
                            "A part of the uploaded file is missing; upload it again."
                        )
                    aad = b"upload|" + job.id.encode() + b"|" + str(n).encode()
                    out.write(keys.open(sealed, aad))
            yield path
        finally:
            path.unlink(missing_ok=True)

    def clean_uploads(self) -> int:
        """Remove plain upload files of jobs that are not running, and sealed chunks of
        finished jobs (what a worker killed mid-import leaves); return how many."""
        removed = 0
        for job_id in self.backend.upload_orphans():
            self.backend.upload_delete(job_id)
            removed += 1
        if self.upload_dir.exists():
            for path in self.upload_dir.iterdir():
                found = self.backend.job_get(path.name.split(".")[0])
                running = found is not None and found[2] == "running"
                if not running or path.suffix != ".part":
                    path.unlink(missing_ok=True)
                    removed += 1
        return removed

    # -- running -----------------------------------------------------------------------------
    def run_one(self) -> bool:
        """Take one job and run it; False when there was none."""
        claimed = self.backend.job_claim(self.worker, _now_ms(), self.lease_ms)
        if claimed is None:
            return False
        job_id, person_id, kind, attempts, sealed = claimed
        keys = self._keys(person_id)
        if keys is None:
            return True
        job = Job(
            job_id, person_id, kind, "running", attempts, 0, 0, self._open(keys, job_id, sealed)
        )
        handler = self.handlers.get(kind)
        with self._busy_lock:
            self._busy += 1
        try:
            if handler is None:
                raise LifeTwinError(f"No worker here knows jobs of kind '{kind}'.")
            limit = self.max_attempts.get(kind, self.attempts)
            if attempts > limit:
                raise LifeTwinError(
                    f"The job was tried {limit} times and stopped each time; it was given up."
                )
            handler(JobContext(job, self.store, self))
        except JobError as exc:
            job.payload["error"] = str(exc)
            if exc.retry_after_s is not None:
                log.info("job %s (%s) will be tried again: %s", job_id, kind, exc)
                self.save(job, state="queued", retry_in_s=exc.retry_after_s)
            else:
                log.warning("job %s (%s) failed: %s", job_id, kind, exc)
                self.save(job, state="failed")
        except LifeTwinError as exc:
            log.warning("job %s (%s) failed: %s", job_id, kind, exc)
            job.payload["error"] = str(exc)
            self.save(job, state="failed")
        except Exception:
            log.exception("job %s (%s) stopped on an internal error", job_id, kind)
            job.payload["error"] = (
                "The job stopped on an internal error (it is logged); what it had stored "
                "is kept, and running it again stores nothing twice."
            )
            self.save(job, state="failed")
        else:
            self.save(job, state="done")
        finally:
            with self._busy_lock:
                self._busy -= 1
        return True

    def start(self, threads: int) -> None:
        if any(t.is_alive() for t in self._threads):
            return
        self._stop.clear()
        self._threads = []
        for n in range(threads):
            thread = threading.Thread(target=self._loop, name=f"jobs-{n}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                worked = self.run_one()
            except Exception:  # the store was busy: try again in a moment
                if self.backend.closed:
                    return
                log.exception("the job runner could not take a job")
                worked = False
            if not worked:
                self._wake.wait(0.2)
                self._wake.clear()

    def idle(self) -> bool:
        """Nothing queued that is due, nothing running in this process."""
        with self._busy_lock:
            busy = self._busy
        counts = self.backend.job_counts()
        return busy == 0 and counts.get("queued", 0) == 0 and counts.get("running", 0) == 0

    def wait_idle(self, timeout_s: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.idle():
                return True
            time.sleep(0.05)
        return False

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop taking jobs and wait for the ones running here."""
        self._stop.set()
        self._wake.set()
        deadline = time.monotonic() + timeout_s
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
