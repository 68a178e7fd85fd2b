"""The state one running service shares between requests, and the work it does for them.

One store, one lock serializing its use (the embedded SQLite store is one
connection), the gate (accounts, sessions, access), the live broker, import jobs and
a short-lived cache of twin overviews that every write for a person clears.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from starlette.datastructures import UploadFile

from lifetwin.api import views
from lifetwin.api.live import Broker, BrokerNotifier, Webhook
from lifetwin.api.security import ApiError, Gate, Principal, RateLimiter
from lifetwin.core.errors import LifeTwinError
from lifetwin.core.model import to_epoch_ms
from lifetwin.core.units import canonical_unit, conversion
from lifetwin.core.validation import FUTURE_TOLERANCE, plausible_mask, range_reason
from lifetwin.core.vocabulary import metric
from lifetwin.services.importer import ImportSummary, import_file, import_items
from lifetwin.sources.base import ReadOptions, SeriesChunk
from lifetwin.store.vault import Person, Store, Vault

OVERVIEW_TTL_S = 600.0  # a safety net for writes made outside the service


@dataclass
class Settings:
    max_body_bytes: int = 8 * 1024 * 1024  # JSON and NDJSON bodies
    max_upload_bytes: int = 512 * 1024 * 1024  # export files
    max_batch: int = 500_000  # observations per ingest request
    login_attempts: int = 5  # failed logins per name and address ...
    login_window_s: float = 300.0  # ... in this many seconds
    ingest_requests: int = 120  # ingest requests per token or session ...
    ingest_window_s: float = 60.0  # ... in this many seconds
    analyze_after_ingest: bool = True
    upload_dir: Path | None = None


@dataclass
class ImportJob:
    id: str
    person_id: str
    file: str
    state: str = "running"  # running, done, failed
    read: int = 0
    started: float = field(default_factory=time.time)
    summary: dict[str, Any] | None = None
    error: str | None = None

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "file": self.file,
            "state": self.state,
            "read": self.read,
            "seconds": round(time.time() - self.started, 1),
            "summary": self.summary,
            "error": self.error,
        }


def summary_dict(s: ImportSummary) -> dict[str, Any]:
    return {
        "file": s.file,
        "format": s.format,
        "read": s.read,
        "stored": s.stored,
        "duplicates": s.duplicates,
        "changed": s.changed,
        "quarantined": s.quarantined,
        "problem_count": s.problem_count,
        "problems": [
            {"file": p.file, "line": p.line, "reason": p.reason} for p in s.problems[:100]
        ],
        "skipped": s.skipped,
        "fatal": s.fatal,
    }


class Service:
    def __init__(self, store: Store, settings: Settings | None = None) -> None:
        self.store = store
        self.settings = settings or Settings()
        self.lock = threading.RLock()
        self.gate = Gate(store, self.lock)
        self.broker = Broker(self.webhooks)
        self.login_limiter = RateLimiter(self.settings.login_attempts, self.settings.login_window_s)
        self.ingest_limiter = RateLimiter(
            self.settings.ingest_requests, self.settings.ingest_window_s
        )
        self.jobs: dict[str, ImportJob] = {}
        self._overviews: dict[str, tuple[float, dict[str, Any]]] = {}
        self._refreshing: set[str] = set()
        self._threads: set[threading.Thread] = set()
        self._threads_lock = threading.Lock()
        self._closing = False
        self._generation: dict[str, int] = {}
        self._refreshing_lock = threading.Lock()
        upload = self.settings.upload_dir
        self.upload_dir = upload or Path(tempfile.mkdtemp(prefix="lifetwin-uploads-"))
        self.upload_dir.mkdir(parents=True, exist_ok=True, mode=0o700)

    # -- background work -----------------------------------------------------------
    def spawn(self, work: Callable[[], None], name: str) -> None:
        """Run store work in the background; close() waits for it."""
        with self._threads_lock:
            if self._closing:
                return
            thread = threading.Thread(target=work, daemon=True, name=name)
            self._threads.add(thread)
        thread.start()
        with self._threads_lock:
            self._threads = {t for t in self._threads if t.is_alive()}

    def close(self, timeout: float = 30.0) -> None:
        """Stop taking background work and wait for what runs (before the store closes)."""
        with self._threads_lock:
            self._closing = True
            running = list(self._threads)
        deadline = time.monotonic() + timeout
        for thread in running:
            thread.join(max(0.0, deadline - time.monotonic()))

    # -- cache -------------------------------------------------------------------
    def cached_overview(self, person_id: str, stale_ok: bool = False) -> dict[str, Any] | None:
        """The person's overview as last computed: None when there is none, or when it is
        older than OVERVIEW_TTL_S (unless ``stale_ok``: then a refresh is started in the
        background and the older one is served meanwhile)."""
        hit = self._overviews.get(person_id)
        if hit is None:
            return None
        if time.monotonic() - hit[0] > OVERVIEW_TTL_S:
            if not stale_ok:
                return None
            self._refresh_overview(person_id)
        return hit[1]

    def overview(self, principal: Principal, person: Person) -> dict[str, Any]:
        """The person's overview (cached, or computed now) and the audit entry of viewing it."""
        with self.lock:
            vault = self.gate.vault(principal, person)
            found = self.cached_overview(vault.person.id)
            if found is None:
                found = views.overview(vault)
                self.keep_overview(vault.person.id, found)
            vault.log_event("view", "twin_core", what="overview")
        return found

    def overview_at_once(self, principal: Principal, person: Person) -> dict[str, Any] | None:
        """The cached overview (even a stale one, which is then refreshed in the background)
        and the audit entry of viewing it, without waiting: None when nothing is cached or
        the store is busy (then call ``overview`` off the event loop)."""
        found = self.cached_overview(person.id, stale_ok=True)
        if found is None or not self.lock.acquire(blocking=False):
            return None
        try:
            self.gate.vault(principal, person).log_event("view", "twin_core", what="overview")
        finally:
            self.lock.release()
        return found

    def keep_overview(self, person_id: str, overview: dict[str, Any]) -> None:
        self._overviews[person_id] = (time.monotonic(), overview)

    def _refresh_overview(self, person_id: str) -> None:
        with self._refreshing_lock:
            if person_id in self._refreshing:
                return
            self._refreshing.add(person_id)

        generation = self._generation.get(person_id, 0)

        def run() -> None:
            try:
                with self.lock:
                    person = self.store.person(person_id)
                    overview = views.overview(self.store.vault(person, actor="service"))
                    if self._generation.get(person_id, 0) == generation:  # no write since
                        self.keep_overview(person_id, overview)
            except LifeTwinError:
                self._overviews.pop(person_id, None)
            finally:
                with self._refreshing_lock:
                    self._refreshing.discard(person_id)

        self.spawn(run, "overview")

    def changed(self, person_id: str) -> None:
        """Data or consent of a person changed: drop what was computed from it (the next
        overview is computed afresh, never served stale)."""
        with self.lock:
            self._generation[person_id] = self._generation.get(person_id, 0) + 1
            self._overviews.pop(person_id, None)

    # -- webhooks ------------------------------------------------------------------
    def webhooks(self, person_id: str) -> list[Webhook]:
        with self.lock:
            try:
                vault = self.store.vault(self.store.person(person_id), actor="service")
            except LifeTwinError:
                return []
            raw = vault.get_state("webhooks")
        return [Webhook(**w) for w in json.loads(raw)] if raw else []

    def save_webhooks(self, vault: Vault, hooks: list[Webhook]) -> None:
        vault.put_state("webhooks", json.dumps([h.__dict__ for h in hooks]).encode())

    # -- analysis ------------------------------------------------------------------
    def analyze(self, person: Person) -> None:
        """Recompute early warnings (and the glucose forecast when there is CGM) after new
        data; publish what is new. Runs in the background after an ingest."""
        from lifetwin.capabilities.early_warning import deviation_alerts, illness_alerts
        from lifetwin.capabilities.glucose_forecast import forecast_for_person

        notifier = BrokerNotifier(self.broker, person.id)
        with self.lock:
            try:
                vault = self.store.vault(person, actor="service")
                illness_alerts(vault, notifiers=[notifier])
                deviation_alerts(vault, notifiers=[notifier])
                if any(s.metric == "glucose" for s in vault.streams()):
                    result = forecast_for_person(vault)
                else:
                    result = None
            except LifeTwinError:
                return
        if result is not None:
            self.broker.publish(
                person.id,
                "forecast",
                {
                    "from": datetime.fromtimestamp(result.last_reading_ms / 1000, UTC).isoformat(),
                    "last_mg_dl": result.last_mg_dl,
                    "forecasts": [f.__dict__ for f in result.forecasts],
                    "hypo_warning": result.hypo_warning,
                },
                key=f"forecast|{result.last_reading_ms}",
            )

    def after_write(self, person: Person) -> None:
        self.changed(person.id)
        if self.settings.analyze_after_ingest:
            self.spawn(lambda: self.analyze(person), "analyze")

    # -- ingest --------------------------------------------------------------------
    def ingest(
        self, person: Person, items: list[dict[str, Any]], digest: str, label: str
    ) -> ImportSummary:
        """Validate every observation first; write all of them or none."""
        chunks = observations_to_chunks(items, label)
        with self.lock:
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

    # -- erasure ---------------------------------------------------------------------
    @staticmethod
    def confirms(person: Person, typed: str) -> bool:
        """Whether what was typed to confirm an erasure is the person's name."""
        return typed.strip().casefold() == person.name.strip().casefold()

    def erase(self, person: Person, principal: Principal) -> None:
        """Erase the person, their accounts and tokens; end the session that asked."""
        with self.lock:
            self.store.erase(person)
            self.gate.accounts.delete_for_person(person.id)
        self.gate.forget()
        self.changed(person.id)
        if principal.session is not None:
            self.gate.end_session(principal.session.id)

    # -- imports -------------------------------------------------------------------
    async def receive_upload(
        self, person: Person, upload: UploadFile, fmt: str | None
    ) -> ImportJob:
        """Save an uploaded export under the upload folder (refusing it past the size
        limit, keeping nothing) and start importing it."""
        name = Path(upload.filename or "upload").name[:200] or "upload"
        handle, tmp = tempfile.mkstemp(prefix="upload-", suffix="-" + name, dir=self.upload_dir)
        path = Path(tmp)
        size = 0
        with open(handle, "wb") as out:
            while chunk := await upload.read(1 << 20):
                size += len(chunk)
                if size > self.settings.max_upload_bytes:
                    out.close()
                    path.unlink(missing_ok=True)
                    limit = self.settings.max_upload_bytes // 2**20
                    raise ApiError(413, f"The file is larger than {limit} MiB.")
                out.write(chunk)
        return self.start_import(person, path, name, fmt)

    def start_import(self, person: Person, path: Path, name: str, fmt: str | None) -> ImportJob:
        job = ImportJob(id=uuid.uuid4().hex[:12], person_id=person.id, file=name)
        self.jobs[job.id] = job

        def progress(read: int) -> None:
            job.read = read
            # Between batches (each committed) let other requests use the store.
            self.lock.release()
            time.sleep(0.001)
            self.lock.acquire()

        def run() -> None:
            try:
                with self.lock:
                    summary = import_file(self.store, person, path, fmt=fmt, progress=progress)
                job.summary = summary_dict(summary)
                job.read = summary.read
                job.state = "done" if summary.fatal is None else "failed"
                job.error = summary.fatal
            except LifeTwinError as exc:
                job.state, job.error = "failed", str(exc)
            finally:
                path.unlink(missing_ok=True)
            self.after_write(person)

        self.spawn(run, f"import-{job.id}")
        return job


def _time_ms(raw: Any, where: str) -> int:
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        value = int(raw)
        return value if value > 10**11 else value * 1000  # seconds or milliseconds
    if isinstance(raw, str):
        try:
            when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise ApiError(422, f"{where}: '{raw}' is not an ISO 8601 time.") from None
        if when.tzinfo is None:
            raise ApiError(422, f"{where}: the time '{raw}' has no UTC offset.")
        return to_epoch_ms(when)
    raise ApiError(422, f"{where}: 'time' must be an ISO 8601 string or epoch milliseconds.")


def observations_to_chunks(items: list[dict[str, Any]], label: str) -> list[SeriesChunk]:
    """Turn API observations into series chunks, refusing the whole batch at the first
    bad one (unknown metric, unconvertible unit, impossible value, time in the future)."""
    groups: dict[
        tuple[str, str | None, str], tuple[list[int], list[float], list[int], list[int]]
    ] = {}
    limit_ms = to_epoch_ms(datetime.now(UTC) + FUTURE_TOLERANCE)
    for index, item in enumerate(items):
        where = f"observation {index + 1}"
        if not isinstance(item, dict):
            raise ApiError(422, f"{where} is not a JSON object.")
        code, value, unit = item.get("metric"), item.get("value"), item.get("unit")
        if not isinstance(code, str):
            raise ApiError(422, f"{where} has no 'metric'.")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ApiError(422, f"{where}: 'value' must be a number.")
        if unit is not None and not isinstance(unit, str):
            raise ApiError(422, f"{where}: 'unit' must be a string.")
        source = item.get("source", "api")
        if not isinstance(source, str) or not source.strip() or len(source) > 100:
            raise ApiError(422, f"{where}: 'source' must be a short non-empty string.")
        start = _time_ms(item.get("time", item.get("start")), where)
        if start > limit_ms:
            raise ApiError(422, f"{where}: the time {item.get('time')} is in the future.")
        end = item.get("end")
        duration = _time_ms(end, where) - start if end is not None else 0
        if duration < 0:
            raise ApiError(422, f"{where}: 'end' is before 'time'.")
        tz = item.get("tz_min", 0)
        if not isinstance(tz, int) or not -14 * 60 <= tz <= 14 * 60:
            raise ApiError(422, f"{where}: 'tz_min' must be whole minutes within ±14 h.")
        group = groups.setdefault((code, unit, source), ([], [], [], []))
        group[0].append(start)
        group[1].append(float(value))
        group[2].append(duration)
        group[3].append(tz)
    chunks = []
    for (code, unit, source), (starts, values, durations, tzs) in groups.items():
        try:
            m = metric(code)
            if not m.is_numeric:
                raise LifeTwinError(f"{m.code} is not numeric; send it as an event or record")
            converted = conversion(unit, m).apply_array(np.array(values))
            canonical_unit(m, unit)
        except LifeTwinError as exc:
            reason = str(exc).rstrip(".")
            end = "" if reason.endswith("?") else "."
            raise ApiError(422, f"Observations of '{code}' in '{unit}': {reason}{end}") from None
        bad = np.flatnonzero(~plausible_mask(m, converted))
        if len(bad):
            reason = range_reason(m, float(converted[bad[0]])) or "not a number"
            raise ApiError(422, f"An observation of {m.code} is impossible: {reason}.")
        n = len(starts)
        chunks.append(
            SeriesChunk(
                metric=m.code,
                unit=unit,
                source=source.strip(),
                device=None,
                file=label,
                start_ms=np.array(starts, dtype=np.int64),
                dur_ms=np.array(durations, dtype=np.int64),
                value=np.array(values, dtype=np.float64),
                tz_min=np.array(tzs, dtype=np.int64),
                line=np.zeros(n, dtype=np.int64),
            )
        )
    return chunks


def digest_of(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def ndjson(body: bytes, limit: int) -> Iterator[dict[str, Any]]:
    for number, line in enumerate(body.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ApiError(
                400, f"Line {number} of the NDJSON body is not JSON ({exc.args[0]})."
            ) from None
        if number > limit:
            raise ApiError(413, f"At most {limit:,} observations per request.")
        yield item
