"""Live delivery: events to open event streams and to signed webhooks, across workers.

:meth:`Broker.publish` stores an event ("alert", "forecast") for a person, sealed under
their key, in the store's ``events`` table — once per key, whichever worker publishes
it first — and queues one delivery job per webhook of the person that wants it. Event
streams on any worker read new events from the table; on PostgreSQL a ``LISTEN`` on
``lifetwin_events`` wakes them as soon as any worker (or process) publishes.

A webhook delivery is a POST of the JSON event with

    X-LifeTwin-Event: alert
    X-LifeTwin-Delivery: <uuid>
    X-LifeTwin-Signature: t=<unix seconds>,sha256=<hex HMAC-SHA256 of "t.body" under the secret>

to the checked address (:mod:`lifetwin.services.egress`: no private address, no
redirect), retried with exponential backoff on a failure. The person sees per delivery
only "delivered" or "failed" and the HTTP status.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from lifetwin.core.egress import EgressError, Network, check_url, send
from lifetwin.services.jobs import JobContext, JobError, Jobs
from lifetwin.store.crypto import PersonKeys
from lifetwin.store.sql import PostgresBackend
from lifetwin.store.vault import Store

log = logging.getLogger(__name__)
CHANNEL = "lifetwin_events"
EVENTS = ("alert", "forecast")


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value for a body sent at ``timestamp``.

    >>> sign("s", 1, b"{}").startswith("t=1,sha256=")
    True
    """
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return f"t={timestamp},sha256={mac.hexdigest()}"


def verify(
    secret: str, header: str, body: bytes, now: float | None = None, tolerance: int = 300
) -> bool:
    """Check a signature header as a receiver would (also refusing stale deliveries)."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        timestamp = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), header)


@dataclass
class Webhook:
    id: str
    url: str
    secret: str
    events: list[str] = field(default_factory=lambda: list(EVENTS))


@dataclass
class Delivery:
    id: str
    webhook_id: str
    event: str
    state: str  # "delivered", "failed", "retrying"
    status: int | None  # the receiver's HTTP status, when it answered
    attempts: int


class Broker:
    """Publishes a person's events to event streams and webhooks, on any worker."""

    def __init__(
        self,
        store: Store,
        jobs: Jobs,
        *,
        allow: Sequence[Network] = (),
        attempts: int = 4,
        backoff_s: float = 1.0,
        timeout_s: float = 5.0,
    ) -> None:
        self.store = store
        self.jobs = jobs
        self.allow = list(allow)
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s
        self._signals: defaultdict[str, int] = defaultdict(int)
        self._listener: threading.Thread | None = None
        self._stop = threading.Event()
        jobs.handlers["deliver"] = self._deliver
        jobs.max_attempts["deliver"] = attempts

    def _keys(self, person_id: str) -> PersonKeys | None:
        found = self.store.person_with_keys(person_id)
        return None if found is None else found[1]

    # -- publishing ------------------------------------------------------------------------
    def publish(
        self, person_id: str, event: str, data: dict[str, Any], key: str | None = None
    ) -> bool:
        """Send an event; with a ``key``, the same key is sent only once per person (by
        whichever worker is first)."""
        found = self.store.person_with_keys(person_id)
        if found is None:
            return False
        person, keys = found
        backend = self.store.backend
        if key is not None and not backend.publish_once(
            person_id, keys.tag(b"published|" + key.encode())
        ):
            return False
        message = {"event": event, "id": uuid.uuid4().hex, "data": data}
        sealed = keys.seal(
            json.dumps(message, default=str).encode(), b"event|" + person_id.encode()
        )
        backend.event_add(person_id, int(time.time() * 1000), sealed)
        if isinstance(backend, PostgresBackend):
            with contextlib.suppress(Exception):
                backend.notify(CHANNEL, person_id)
        self._signals[person_id] += 1
        vault = self.store.vault(person, actor="service")
        for hook in vault.webhooks():
            if event in hook.get("events", EVENTS):
                delivery = uuid.uuid4().hex
                backend.delivery_put(
                    delivery,
                    person_id,
                    hook["id"],
                    event,
                    "queued",
                    None,
                    0,
                    int(time.time() * 1000),
                )
                self.jobs.submit(
                    person,
                    "deliver",
                    {"hook": hook["id"], "delivery": delivery, "message": message},
                )
        return True

    # -- reading (event streams) ---------------------------------------------------------------
    def last_id(self, person_id: str) -> int:
        return self.store.backend.event_last_id(person_id)

    def read(self, person_id: str, after_id: int) -> list[tuple[int, dict[str, Any]]]:
        keys = self._keys(person_id)
        if keys is None:
            return []
        out = []
        for event_id, sealed in self.store.backend.events_after(person_id, after_id):
            out.append((event_id, json.loads(keys.open(sealed, b"event|" + person_id.encode()))))
        return out

    def signal(self, person_id: str) -> int:
        """A number that changes when an event for the person may have arrived."""
        return self._signals[person_id]

    def listen(self) -> None:
        """On PostgreSQL, wake event streams when any worker publishes (LISTEN/NOTIFY)."""
        backend = self.store.backend
        if not isinstance(backend, PostgresBackend):
            return
        if self._listener is not None and self._listener.is_alive():
            return
        self._stop.clear()

        def run() -> None:
            while not self._stop.is_set():
                try:
                    conn = backend.listen_connection()
                    conn.execute(f"LISTEN {CHANNEL}")
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=1.0, stop_after=100):
                            self._signals[note.payload] += 1
                    conn.close()
                except Exception:  # the server went away: listen again in a moment
                    log.warning("listening for live events failed; retrying", exc_info=True)
                    self._stop.wait(1.0)

        self._listener = threading.Thread(target=run, name="live-listen", daemon=True)
        self._listener.start()

    def stop(self) -> None:
        self._stop.set()

    # -- webhooks ----------------------------------------------------------------------------
    def deliveries(self, person_id: str, limit: int = 50) -> list[Delivery]:
        return [
            Delivery(d, hook, event, state, status, attempts)
            for d, hook, event, state, status, attempts, _ms in self.store.backend.delivery_rows(
                person_id, limit
            )
        ]

    def _deliver(self, ctx: JobContext) -> None:
        payload = ctx.job.payload
        person_id = ctx.job.person_id
        hooks = {}
        found = self.store.person_with_keys(person_id)
        if found is not None:
            hooks = {h["id"]: h for h in self.store.vault(found[0], actor="service").webhooks()}
        hook = hooks.get(payload["hook"])
        if hook is None:
            return  # removed since: nothing to deliver
        message = payload["message"]
        body = json.dumps(message).encode()
        headers = {
            "Content-Type": "application/json",
            "X-LifeTwin-Event": message["event"],
            "X-LifeTwin-Delivery": message["id"],
            "X-LifeTwin-Signature": sign(hook["secret"], int(time.time()), body),
        }
        status: int | None = None
        try:
            target = check_url(hook["url"], self.allow)
            status, _ = send(
                target,
                "POST",
                content=body,
                headers=headers,
                timeout_s=self.timeout_s,
                max_bytes=65536,
            )
        except EgressError:
            status = None
        ok = status is not None and 200 <= status < 300
        attempts = ctx.job.attempts
        last = attempts >= self.attempts
        state = "delivered" if ok else ("failed" if last else "retrying")
        self.store.backend.delivery_put(
            payload["delivery"],
            person_id,
            hook["id"],
            message["event"],
            state,
            status,
            attempts,
            int(time.time() * 1000),
        )
        if not ok and not last:
            raise JobError(
                "the receiver did not accept the delivery",
                retry_after_s=self.backoff_s * 2 ** (attempts - 1),
            )
        if not ok:
            raise JobError("the receiver did not accept the delivery; given up")


def webhook_problem(url: str, events: list[str], allow: Sequence[Network]) -> str | None:
    """Why a webhook cannot be registered (None when it can)."""
    unknown = sorted(set(events) - set(EVENTS))
    if unknown:
        return f"Unknown events {unknown}: use {' and '.join(EVENTS)}."
    try:
        check_url(url, allow)
    except EgressError as exc:
        return str(exc)
    return None


class BrokerNotifier:
    """Where background capabilities send what they find (the engine's Notifier interface
    for alerts, ``publish`` for other live events): the person's event stream and
    webhooks."""

    def __init__(self, broker: Broker, person_id: str) -> None:
        self.broker = broker
        self.person_id = person_id

    def notify(self, alert: Any) -> None:
        data = alert.model_dump(mode="json", exclude={"lineage"})
        self.broker.publish(
            self.person_id, "alert", data, key=f"{alert.kind}|{alert.metric}|{alert.day}"
        )

    def publish(self, kind: str, payload: dict[str, Any], key: str | None = None) -> None:
        self.broker.publish(self.person_id, kind, payload, key=key)
