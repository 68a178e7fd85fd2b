"""Two service processes on one PostgreSQL, as on two machines behind a load balancer.

A session made on one works on the other; an upload made to one is polled on the other;
an alert produced on one reaches an event stream opened on the other (LISTEN/NOTIFY); a
worker killed (SIGKILL) in the middle of an import loses no job — the other retries it;
a token revoked with the command line stops working on both within a second.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from conftest import PASSWORD, Served
from lifetwin.privacy.consent import Purpose, Scope
from lifetwin.services.accounts import Accounts, Role
from lifetwin.services.home import init_home

pytestmark = pytest.mark.postgres

ENV = {
    "LIFETWIN_JOB_LEASE_S": "3",
    "LIFETWIN_CACHE_CHECK_S": "0.25",
    "LIFETWIN_ANALYZE_AFTER_INGEST": "false",
}


@pytest.fixture
def cluster(tmp_path: Path, postgres_url: str, serve: Any) -> dict[str, Any]:
    home_a = tmp_path / "node-a"
    store = init_home(home_a, store=postgres_url)
    person = store.add_person("Ana")
    store.vault(person).grant(Scope.parse("all"), Purpose.FORECASTING)
    accounts = Accounts(store)
    account = accounts.create("ana", PASSWORD, Role.PERSON, person.id)
    token = accounts.issue_token(account, person.id, ["self_access", "forecasting", "write"])
    store.close()
    home_b = tmp_path / "node-b"  # another machine: its own copy of the settings and key
    home_b.mkdir(mode=0o700)
    for name in ("config.json", "master.key"):
        shutil.copy(home_a / name, home_b / name)
    a: Served = serve(home_a, ENV)
    b: Served = serve(home_b, ENV)
    return {
        "a": a,
        "b": b,
        "pid": person.id,
        "token": token.secret,
        "token_id": token.token.id,
        "totp": account.totp_secret,
        "url": postgres_url,
        "home": home_a,
    }


def _auth(cluster: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {cluster['token']}"}


def test_a_session_made_on_one_node_works_on_the_other(cluster: dict[str, Any]) -> None:
    import pyotp

    code = pyotp.TOTP(cluster["totp"]).now()
    with httpx.Client(base_url=cluster["a"].url) as on_a:
        made = on_a.post(
            "/api/v1/session", json={"name": "ana", "password": PASSWORD, "code": code}
        )
        assert made.status_code == 200, made.text
        cookie = made.cookies["lifetwin_session"]
    with httpx.Client(base_url=cluster["b"].url, cookies={"lifetwin_session": cookie}) as on_b:
        me = on_b.get("/api/v1/me")
        assert me.status_code == 200
        assert me.json()["account"] == "ana"


def test_an_upload_to_one_node_is_polled_on_the_other(cluster: dict[str, Any]) -> None:
    pid = cluster["pid"]
    rows = "metric,value,unit,start\n" + "".join(
        f"heart_rate,{60 + m % 7},bpm,2026-01-01T{h:02d}:{m:02d}:00Z\n"
        for h in range(24)
        for m in range(60)
    )
    mapping_free = {"file": ("hr.csv", rows.encode(), "text/csv")}
    made = httpx.post(
        f"{cluster['a'].url}/api/v1/persons/{pid}/imports",
        files=mapping_free,
        data={"format": "table"},
        headers=_auth(cluster),
    )
    assert made.status_code == 202, made.text
    job = made.json()["id"]
    status: dict[str, Any] = {}
    for _ in range(300):
        status = httpx.get(
            f"{cluster['b'].url}/api/v1/persons/{pid}/imports/{job}", headers=_auth(cluster)
        ).json()
        if status["state"] in ("done", "failed"):
            break
        time.sleep(0.1)
    assert status["state"] == "done", status
    assert status["summary"]["stored"] == 1440


def test_an_alert_made_on_one_node_reaches_a_stream_on_the_other(cluster: dict[str, Any]) -> None:
    pid = cluster["pid"]
    received: list[str] = []
    connected = threading.Event()

    def listen() -> None:
        with httpx.stream(
            "GET",
            f"{cluster['b'].url}/api/v1/persons/{pid}/events",
            headers=_auth(cluster),
            timeout=60,
        ) as stream:
            for line in stream.iter_lines():
                received.append(line)
                connected.set()
                if line.startswith("data:"):
                    return

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    assert connected.wait(20)
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=14)
    usual = [
        {
            "metric": "heart_rate",
            "value": 60 + (i % 5),
            "unit": "bpm",
            "time": (start + timedelta(minutes=5 * i)).isoformat(),
        }
        for i in range(14 * 24 * 12 - 1)
    ]
    odd = [
        {
            "metric": "heart_rate",
            "value": 150,
            "unit": "bpm",
            "time": (start + timedelta(minutes=5 * (14 * 24 * 12 - 1))).isoformat(),
        }
    ]
    for batch in (usual, odd):
        sent = httpx.post(
            f"{cluster['a'].url}/api/v1/persons/{pid}/observations",
            json=batch,
            headers=_auth(cluster),
            timeout=60,
        )
        assert sent.status_code == 201, sent.text
    alerts = httpx.get(
        f"{cluster['a'].url}/api/v1/persons/{pid}/alerts", headers=_auth(cluster), timeout=60
    )
    assert alerts.status_code == 200
    assert any(a["metric"] == "heart_rate" for a in alerts.json()["items"])
    thread.join(30)
    assert "event: alert" in received
    data = json.loads(next(line for line in received if line.startswith("data:"))[5:])
    assert data["metric"] == "heart_rate"


def test_a_worker_killed_mid_import_loses_no_job(cluster: dict[str, Any], tmp_path: Path) -> None:
    pid = cluster["pid"]
    big = tmp_path / "big.csv"
    with big.open("w") as out:
        out.write("metric,value,unit,start\n")
        base = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp())
        for i in range(600_000):
            moment = datetime.fromtimestamp(base + i * 30, UTC).isoformat()
            out.write(f"heart_rate,{60 + i % 20},bpm,{moment}\n")
    with big.open("rb") as handle:
        made = httpx.post(
            f"{cluster['a'].url}/api/v1/persons/{pid}/imports",
            files={"file": ("big.csv", handle, "text/csv")},
            data={"format": "table"},
            headers=_auth(cluster),
            timeout=120,
        )
    assert made.status_code == 202, made.text
    job = made.json()["id"]
    worker = ""
    with psycopg.connect(cluster["url"], autocommit=True) as db:
        for _ in range(600):
            row = db.execute(
                "SELECT state, worker FROM lt_jobs WHERE job_id = %s", (job,)
            ).fetchone()
            if row and row[0] == "running" and row[1]:
                worker = row[1]
                break
            time.sleep(0.05)
    assert worker, "the import never started"
    victim_pid = int(worker.split(":")[1])
    victim = next(n for n in (cluster["a"], cluster["b"]) if _owns(n, victim_pid))
    survivor = cluster["b"] if victim is cluster["a"] else cluster["a"]
    os.kill(victim_pid, signal.SIGKILL)
    status: dict[str, Any] = {}
    for _ in range(1200):
        status = httpx.get(
            f"{survivor.url}/api/v1/persons/{pid}/imports/{job}", headers=_auth(cluster)
        ).json()
        if status["state"] in ("done", "failed"):
            break
        time.sleep(0.1)
    assert status["state"] == "done", status
    assert status["summary"]["read"] == 600_000
    victim.stop()


def _owns(node: Served, pid: int) -> bool:
    """Whether a process id is the node's server or one of its worker processes."""
    if node.process.pid == pid:
        return True
    try:
        parent = Path(f"/proc/{pid}/stat").read_text().split()[3]
    except OSError:
        return False
    return int(parent) == node.process.pid


def test_a_token_revoked_with_the_command_line_stops_on_both_nodes(cluster: dict[str, Any]) -> None:
    pid = cluster["pid"]
    for node in (cluster["a"], cluster["b"]):
        assert (
            httpx.get(
                f"{node.url}/api/v1/persons/{pid}/streams", headers=_auth(cluster)
            ).status_code
            == 200
        )
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIFETWIN_")}
    env["LIFETWIN_HOME"] = str(cluster["home"])
    done = subprocess.run(
        [sys.executable, "-m", "lifetwin", "account", "revoke-token", cluster["token_id"]],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    time.sleep(1.0)  # the promise: within a second, on every node
    for node in (cluster["a"], cluster["b"]):
        answer = httpx.get(f"{node.url}/api/v1/persons/{pid}/streams", headers=_auth(cluster))
        assert answer.status_code == 401
