"""Attacker: a user of the service who wants it to call inside the operator's network
(hole 3 of the attack review: server-side request forgery through webhooks and pull).

Checked against the previous release: http://127.0.0.1:<any port>, https to
169.254.169.254, 10/8 and user@127.0.0.1 were all accepted and called, redirects were
followed, and the delivery log told a connection refusal from a timeout (a port scan).
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from conftest import Cli, ServiceWorld
from lifetwin.core.egress import EgressError, check_url
from lifetwin.store.crypto import MasterKey
from lifetwin.store.sql import SQLiteBackend
from lifetwin.store.vault import Store


class _Seen(BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []
    redirect_to: ClassVar[str] = ""

    def _any(self) -> None:
        type(self).hits.append(self.path)
        if type(self).redirect_to:
            self.send_response(302)
            self.send_header("Location", type(self).redirect_to)
        else:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"[]")

    do_GET = do_POST = _any  # noqa: N815

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def inside() -> Any:
    """A server 'inside the network' (on loopback) that records every request."""
    _Seen.hits, _Seen.redirect_to = [], ""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Seen)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


@pytest.fixture
def strict(tmp_path: Path) -> Any:
    """A service with the default settings (no network allowed beyond the internet)."""
    store = Store.initialize(SQLiteBackend(tmp_path / "s.db", create=True), MasterKey.generate())
    made = ServiceWorld(store, upload_dir=tmp_path / "uploads")
    yield made
    made.app.state.service.close()
    store.close()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/hook",
        "https://127.0.0.1:{port}/hook",
        "https://localhost:{port}/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://10.1.2.3/hook",
        "https://192.168.0.10/hook",
        "https://[::1]:{port}/hook",
        "https://[::ffff:127.0.0.1]:{port}/hook",
        "https://user@127.0.0.1:{port}/hook",
        "https://0.0.0.0:{port}/hook",
        "ftp://93.184.216.34/hook",
        "http://93.184.216.34/hook",  # the internet, but not https
    ],
)
def test_webhooks_to_this_machine_or_private_networks_are_refused(
    strict: ServiceWorld, inside: Any, url: str
) -> None:
    pid = strict.add_person("Ana", "ana")
    auth = {"Authorization": f"Bearer {strict.token('ana', pid)}"}
    answer = strict.client.post(
        f"/api/v1/persons/{pid}/webhooks",
        json={"url": url.format(port=inside.server_port)},
        headers=auth,
    )
    assert answer.status_code == 422, answer.text
    assert strict.store.vault(strict.store.person(pid)).webhooks() == []
    assert _Seen.hits == []


def test_a_checked_address_is_the_one_called_and_redirects_are_not_followed(
    world: ServiceWorld, inside: Any
) -> None:
    """The test service allows loopback; the receiver redirects to another inside port."""
    target = ThreadingHTTPServer(("127.0.0.1", 0), _Seen)
    threading.Thread(target=target.serve_forever, daemon=True).start()
    try:
        _Seen.redirect_to = f"http://127.0.0.1:{target.server_port}/secret"
        pid = world.add_person("Ana", "ana")
        auth = {"Authorization": f"Bearer {world.token('ana', pid)}"}
        url = f"http://127.0.0.1:{inside.server_port}/hook"
        made = world.client.post(f"/api/v1/persons/{pid}/webhooks", json={"url": url}, headers=auth)
        assert made.status_code == 201
        broker = world.app.state.service.broker
        broker.attempts = 1
        world.app.state.service.jobs.max_attempts["deliver"] = 1
        broker.publish(pid, "alert", {"x": 1})
        for _ in range(200):
            listed = world.client.get(f"/api/v1/persons/{pid}/webhooks", headers=auth).json()
            if listed["deliveries"] and listed["deliveries"][0]["state"] == "failed":
                break
            time.sleep(0.05)
        assert _Seen.hits == ["/hook"]  # the redirect's target was never asked
        delivery = listed["deliveries"][0]
        assert (delivery["state"], delivery["status"]) == ("failed", 302)
    finally:
        target.shutdown()


def test_a_delivery_says_only_delivered_or_failed(strict: ServiceWorld) -> None:
    pid = strict.add_person("Ana", "ana")
    auth = {"Authorization": f"Bearer {strict.token('ana', pid)}"}
    listed = strict.client.get(f"/api/v1/persons/{pid}/webhooks", headers=auth).json()
    assert listed == {"items": [], "deliveries": []}
    with pytest.raises(EgressError) as refused:
        check_url("https://127.0.0.1:22/")
    assert "22" not in str(refused.value)  # nothing about the port's state


def test_pull_refuses_this_machine_unless_allowed(cli: Cli, inside: Any, tmp_path: Path) -> None:
    assert cli("init").returncode == 0
    assert cli("person", "add", "Ana").returncode == 0
    url = f"http://127.0.0.1:{inside.server_port}"
    refused = cli("pull", url, "-p", "Ana")
    assert refused.returncode == 1
    assert refused.stderr.startswith("error: ")
    assert "private network" in refused.stderr
    assert _Seen.hits == []
    allowed = cli("pull", url, "-p", "Ana", "--allow-network", "127.0.0.0/8")
    assert allowed.returncode == 0, allowed.stderr
    assert _Seen.hits  # asked, once allowed by the operator


def test_a_name_that_resolves_inside_is_refused() -> None:
    with pytest.raises(EgressError):
        check_url("https://localhost/hook")
