"""Live delivery: server-sent events to open pages and apps, signed webhooks with retries.

A :class:`Broker` receives events ("alert", "forecast") for a person and hands each
to every SSE subscriber of that person and to every webhook the person registered.
A webhook delivery is a POST of the JSON event with

    X-LifeTwin-Event: alert
    X-LifeTwin-Delivery: <uuid>
    X-LifeTwin-Signature: t=<unix seconds>,sha256=<hex HMAC-SHA256 of "t.body" under the secret>

retried with exponential backoff (1 s, 2 s, 4 s, … up to ``attempts``) on a network
error or a non-2xx answer. The receiver checks the signature and the time (replay).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from lifetwin.capabilities.early_warning import Alert


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
    events: list[str] = field(default_factory=lambda: ["alert", "forecast"])


@dataclass
class Delivery:
    webhook_id: str
    event: str
    status: int | None
    attempts: int
    ok: bool
    error: str = ""


class Broker:
    """Fan-out of a person's events to SSE subscribers and webhooks."""

    def __init__(
        self,
        webhooks_of: Callable[[str], list[Webhook]],
        attempts: int = 4,
        backoff_s: float = 1.0,
        timeout_s: float = 5.0,
    ) -> None:
        self._webhooks_of = webhooks_of
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s
        self._subscribers: dict[str, list[queue.Queue[dict[str, Any]]]] = {}
        self._lock = threading.Lock()
        self._seen: dict[str, set[str]] = {}
        self.deliveries: list[Delivery] = []  # the most recent, for the person to inspect

    def subscribe(self, person_id: str) -> queue.Queue[dict[str, Any]]:
        q: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=1000)
        with self._lock:
            self._subscribers.setdefault(person_id, []).append(q)
        return q

    def unsubscribe(self, person_id: str, q: queue.Queue[dict[str, Any]]) -> None:
        with self._lock:
            subs = self._subscribers.get(person_id, [])
            if q in subs:
                subs.remove(q)

    def publish(
        self, person_id: str, event: str, data: dict[str, Any], key: str | None = None
    ) -> bool:
        """Send an event; with a ``key``, the same key is sent only once per person."""
        with self._lock:
            if key is not None:
                seen = self._seen.setdefault(person_id, set())
                if key in seen:
                    return False
                seen.add(key)
            subscribers = list(self._subscribers.get(person_id, []))
        message = {"event": event, "id": uuid.uuid4().hex, "data": data}
        for q in subscribers:
            with contextlib.suppress(queue.Full):  # a subscriber that does not read misses it
                q.put_nowait(message)
        for hook in self._webhooks_of(person_id):
            if event in hook.events:
                threading.Thread(
                    target=self._deliver, args=(hook, message), daemon=True, name="webhook"
                ).start()
        return True

    def _deliver(self, hook: Webhook, message: dict[str, Any]) -> None:
        body = json.dumps(message).encode()
        status: int | None = None
        error = ""
        for attempt in range(1, self.attempts + 1):
            headers = {
                "Content-Type": "application/json",
                "X-LifeTwin-Event": message["event"],
                "X-LifeTwin-Delivery": message["id"],
                "X-LifeTwin-Signature": sign(hook.secret, int(time.time()), body),
            }
            try:
                response = httpx.post(
                    hook.url, content=body, headers=headers, timeout=self.timeout_s
                )
                status = response.status_code
                if 200 <= status < 300:
                    self._record(Delivery(hook.id, message["event"], status, attempt, True))
                    return
                error = f"HTTP {status}"
            except httpx.HTTPError as exc:
                error = type(exc).__name__
            if attempt < self.attempts:
                time.sleep(self.backoff_s * 2 ** (attempt - 1))
        self._record(Delivery(hook.id, message["event"], status, self.attempts, False, error))

    def _record(self, delivery: Delivery) -> None:
        with self._lock:
            self.deliveries.append(delivery)
            del self.deliveries[:-200]


class BrokerNotifier:
    """The twin engine's Notifier interface, publishing to the broker."""

    def __init__(self, broker: Broker, person_id: str) -> None:
        self.broker = broker
        self.person_id = person_id

    def notify(self, alert: Alert) -> None:
        data = alert.model_dump(mode="json", exclude={"lineage"})
        self.broker.publish(
            self.person_id, "alert", data, key=f"{alert.kind}|{alert.metric}|{alert.day}"
        )
