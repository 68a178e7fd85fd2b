"""Nightscout uploaders pushing to LifeTwin unchanged; live events over SSE and webhooks."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from conftest import ServiceWorld
from lifetwin.privacy.consent import Purpose, Scope
from lifetwin.services.live import verify

ENTRIES = Path(__file__).parent / "fixtures" / "realdata" / "oref0_examples_glucose.json"
TREATMENTS = Path(__file__).parent / "fixtures" / "generated" / "nightscout_treatments.json"


def _glucose(world: ServiceWorld, pid: str) -> int:
    vault = world.store.vault(world.store.person(pid))
    return len(vault.read_series("glucose", purpose=Purpose.SELF_ACCESS))


def test_an_uploader_pushes_real_entries_with_its_api_secret(world: ServiceWorld) -> None:
    pid = world.add_person("Ana", "ana")
    token = world.token("ana", pid, "self_access", "write")
    secret = {"api-secret": hashlib.sha1(token.encode()).hexdigest()}  # what uploaders send
    entries = json.loads(ENTRIES.read_text())
    status = world.client.get("/api/v1/status.json")
    assert status.json()["apiEnabled"] is True
    pushed = world.client.post("/api/v1/entries.json", json=entries, headers=secret)
    assert pushed.status_code == 200, pushed.text
    assert _glucose(world, pid) == len(entries)
    again = world.client.post("/api/v1/entries", json=entries, headers=secret)
    assert again.status_code == 200
    assert _glucose(world, pid) == len(entries)  # re-uploads are not doubled
    newest = world.client.get("/api/v1/entries.json?count=3", headers=secret).json()
    by_date = sorted(entries, key=lambda e: e["date"], reverse=True)[:3]
    assert [(e["date"], e["sgv"]) for e in newest] == [(e["date"], e["sgv"]) for e in by_date]
    with_token = world.client.get(f"/api/v1/entries?count=1&token={token}")
    assert with_token.status_code == 200
    assert with_token.json()[0]["date"] == by_date[0]["date"]


def test_treatments_go_to_their_own_endpoint(world: ServiceWorld) -> None:
    pid = world.add_person("Ana", "ana")
    token = world.token("ana", pid, "self_access", "write")
    secret = {"api-secret": hashlib.sha1(token.encode()).hexdigest()}
    treatments = json.loads(TREATMENTS.read_text())
    assert (
        world.client.post("/api/v1/treatments", json=treatments, headers=secret).status_code == 200
    )
    listed = world.client.get("/api/v1/treatments?count=50", headers=secret).json()
    assert any("insulin" in t for t in listed)
    assert any("carbs" in t for t in listed)
    wrong = world.client.post(
        "/api/v1/treatments", json=json.loads(ENTRIES.read_text())[:2], headers=secret
    )
    assert wrong.status_code == 400
    assert "not a treatment" in wrong.json()["detail"]


def test_a_wrong_secret_or_a_bad_document_stores_nothing(world: ServiceWorld) -> None:
    pid = world.add_person("Ana", "ana")
    token = world.token("ana", pid, "self_access", "write")
    entries = json.loads(ENTRIES.read_text())
    bad_secret = {"api-secret": hashlib.sha1(b"guess").hexdigest()}
    refused = world.client.post("/api/v1/entries", json=entries, headers=bad_secret)
    assert refused.status_code == 401
    assert "does not match" in refused.json()["detail"]
    plain = world.client.post("/api/v1/entries", json=entries, headers={"api-secret": "my secret"})
    assert plain.status_code == 401
    assert "sha-1" in plain.json()["detail"].lower()
    broken = [*entries[:5], {"sgv": 120}]  # no time at all
    secret = {"api-secret": hashlib.sha1(token.encode()).hexdigest()}
    response = world.client.post("/api/v1/entries", json=broken, headers=secret)
    assert response.status_code == 400
    assert "Item 6" in response.json()["detail"]
    assert _glucose(world, pid) == 0


def test_a_caregiver_token_cannot_upload(world: ServiceWorld) -> None:
    from lifetwin.services.accounts import Role

    pid = world.add_person("Ana", "ana")
    world.accounts.create("dr-lee", "correct horse battery", Role.CAREGIVER)
    world.store.vault(world.store.person(pid)).grant(
        Scope.parse("all"),
        Purpose.SHARING,
        recipient="dr-lee",
    )
    token = world.token("dr-lee", pid, "sharing")
    response = world.client.post(
        "/api/v1/entries",
        json=json.loads(ENTRIES.read_text()),
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 403


# -- live ---------------------------------------------------------------------------
class _Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[dict[str, str], bytes]]] = []
    fail_first = 0

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((dict(self.headers), body))
        if type(self).fail_first > 0:
            type(self).fail_first -= 1
            self.send_response(503)
        else:
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Any:
    _Receiver.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


def _hook(world: ServiceWorld, pid: str, url: str) -> tuple[dict[str, str], str]:
    auth = {"Authorization": f"Bearer {world.token('ana', pid)}"}
    made = world.client.post(f"/api/v1/persons/{pid}/webhooks", json={"url": url}, headers=auth)
    assert made.status_code == 201, made.text
    return auth, made.json()["secret"]


def _deliveries(world: ServiceWorld, pid: str, auth: dict[str, str]) -> list[dict[str, Any]]:
    for _ in range(200):
        found = world.client.get(f"/api/v1/persons/{pid}/webhooks", headers=auth).json()
        done = [d for d in found["deliveries"] if d["state"] in ("delivered", "failed")]
        if done:
            return done
        time.sleep(0.05)
    return []


def test_webhooks_are_signed_and_retried(world: ServiceWorld, receiver: Any) -> None:
    world.app.state.service.broker.backoff_s = 0.05
    pid = world.add_person("Ana", "ana")
    auth, secret = _hook(world, pid, f"http://127.0.0.1:{receiver.server_port}/hook")
    broker = world.app.state.service.broker
    _Receiver.fail_first = 1
    assert broker.publish(pid, "alert", {"metric": "resting_heart_rate"}, key="a")
    assert not broker.publish(pid, "alert", {"metric": "resting_heart_rate"}, key="a")  # once
    done = _deliveries(world, pid, auth)
    assert [(d["state"], d["attempts"], d["status"]) for d in done] == [("delivered", 2, 204)]
    assert len(_Receiver.received) == 2
    headers, body = _Receiver.received[-1]
    assert headers["X-LifeTwin-Event"] == "alert"
    assert verify(secret, headers["X-LifeTwin-Signature"], body)
    assert not verify("other", headers["X-LifeTwin-Signature"], body)
    assert not verify(secret, headers["X-LifeTwin-Signature"], body + b" ")
    assert json.loads(body)["data"] == {"metric": "resting_heart_rate"}


def test_a_webhook_that_never_answers_is_given_up_and_recorded(world: ServiceWorld) -> None:
    broker = world.app.state.service.broker
    broker.backoff_s, broker.attempts, broker.timeout_s = 0.01, 2, 0.5
    world.app.state.service.jobs.max_attempts["deliver"] = 2
    pid = world.add_person("Ana", "ana")
    auth, _secret = _hook(world, pid, "http://127.0.0.1:9/nothing")
    broker.publish(pid, "forecast", {"v": 1})
    done = _deliveries(world, pid, auth)
    # The person learns that it failed, not why (which would map the network's ports).
    assert [(d["state"], d["attempts"], d["status"]) for d in done] == [("failed", 2, None)]
    assert set(done[0]) == {"webhook_id", "event", "state", "status", "attempts"}


def test_new_alerts_reach_an_open_event_stream_and_the_persons_webhook(
    world: ServiceWorld, receiver: Any
) -> None:
    pid = world.add_person("Ana", "ana")
    auth, secret = _hook(world, pid, f"http://127.0.0.1:{receiver.server_port}/lifetwin")
    received: list[str] = []
    connected = threading.Event()

    def listen() -> None:
        with world.client.stream("GET", f"/api/v1/persons/{pid}/events", headers=auth) as stream:
            for line in stream.iter_lines():
                received.append(line)
                connected.set()
                if line.startswith("data:"):
                    return

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    assert connected.wait(10)
    world.app.state.service.broker.publish(
        pid, "alert", {"kind": "deviation", "metric": "heart_rate"}
    )
    thread.join(timeout=10)
    assert "event: alert" in received
    assert json.loads(next(x for x in received if x.startswith("data:"))[5:]) == {
        "kind": "deviation",
        "metric": "heart_rate",
    }
    for _ in range(100):
        if _Receiver.received:
            break
        time.sleep(0.05)
    headers, body = _Receiver.received[0]
    assert verify(secret, headers["X-LifeTwin-Signature"], body)
    listed = world.client.get(f"/api/v1/persons/{pid}/webhooks", headers=auth).json()
    assert secret not in json.dumps(listed)


def test_ingest_runs_the_early_warnings_and_publishes_new_ones(world: ServiceWorld) -> None:
    from datetime import UTC, datetime, timedelta

    world.app.state.service.settings.analyze_after_ingest = True
    pid = world.add_person("Ana", "ana")
    vault = world.store.vault(world.store.person(pid))
    vault.grant(
        Scope.parse("all"),
        Purpose.FORECASTING,
    )
    broker = world.app.state.service.broker
    auth = {"Authorization": f"Bearer {world.token('ana', pid)}"}
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=14)
    steps = 14 * 24 * 12  # every five minutes for two weeks
    usual = [
        {
            "metric": "heart_rate",
            "value": 60 + (i % 5),
            "unit": "bpm",
            "time": (start + timedelta(minutes=5 * i)).isoformat(),
        }
        for i in range(steps - 1)
    ]
    world.client.post(f"/api/v1/persons/{pid}/observations", json=usual, headers=auth)
    odd = [
        {
            "metric": "heart_rate",
            "value": 150,
            "unit": "bpm",
            "time": (start + timedelta(minutes=5 * (steps - 1))).isoformat(),
        }
    ]
    world.client.post(f"/api/v1/persons/{pid}/observations", json=odd, headers=auth)
    message = None
    for _ in range(200):
        alerts = [
            m
            for _id, m in broker.read(pid, 0)
            if m["event"] == "alert" and m["data"]["metric"] == "heart_rate"
        ]
        if alerts:
            message = alerts[0]
            break
        time.sleep(0.05)
    assert message is not None
    assert message["data"]["kind"] == "deviation"


def test_webhooks_need_https_to_the_internet(world: ServiceWorld) -> None:
    pid = world.add_person("Ana", "ana")
    auth = {"Authorization": f"Bearer {world.token('ana', pid)}"}
    url = f"/api/v1/persons/{pid}/webhooks"
    plain = world.client.post(url, json={"url": "http://93.184.216.34/x"}, headers=auth)
    assert plain.status_code == 422
    assert "https://" in plain.json()["detail"]
    assert (
        world.client.post(url, json={"url": "https://93.184.216.34/x"}, headers=auth).status_code
        == 201
    )
    # This test service allows loopback (its receivers run there); by default it is refused.
    assert (
        world.client.post(url, json={"url": "http://127.0.0.1:9/x"}, headers=auth).status_code
        == 201
    )
    bad = world.client.post(
        url, json={"url": "https://93.184.216.34", "events": ["everything"]}, headers=auth
    )
    assert bad.status_code == 422
