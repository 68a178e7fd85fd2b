"""Erasure leaves nothing behind (hole 5 of the attack review).

A canary planted in every field a person fills (name, notes, a file's name, an account
name, a webhook address) is found in no file under the home after erasure — not in the
database, its log, an upload left by an import that was cut off, or a demo login file —
and the person's accounts, tokens, sessions, jobs and webhooks are gone at once.

Checked against the previous release: an upload killed mid-import stayed in
``uploads/`` in plain text (with the patient's name), accounts and token digests stayed
until a compaction, and audit actors kept the account name.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

from conftest import PASSWORD, ServiceWorld
from lifetwin.core.model import Event, EventKind
from lifetwin.privacy.consent import Purpose, Scope
from lifetwin.services.accounts import Role
from lifetwin.services.erasure import erase_person
from lifetwin.services.home import init_home

CANARY = "Zqxcanary Wvbtremble"
ACCOUNT = "zqxcanary"
POSTCODE = "ZQX 9WV"  # a profile answer (the schema takes no free text)


def _grep(home: Path, needle: bytes) -> list[str]:
    found = []
    for path in home.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            if needle in data or needle.lower() in data.lower():
                found.append(path.name)
    return found


def test_a_canary_in_every_field_is_in_no_file_after_erasure(tmp_path: Path) -> None:
    home = tmp_path / "home"
    store = init_home(home)
    world = ServiceWorld(store, upload_dir=home / "uploads", job_threads=0)
    person = store.add_person(CANARY)
    world.accounts.create(ACCOUNT, PASSWORD, Role.PERSON, person.id)
    vault = store.vault(person)
    vault.write_records(
        [
            Event(
                kind=EventKind.JOURNAL_NOTE,
                start=vault.person.created,
                title=f"journal of {CANARY}",
                source="diary",
            )
        ]
    )
    vault.set_profile(postcode=POSTCODE)
    vault.grant(Scope.parse("all"), Purpose.SHARING, recipient="dr-" + ACCOUNT)
    token = world.token(ACCOUNT, person.id)
    auth = {"Authorization": f"Bearer {token}"}
    csv = f"time,heart_rate\n2026-01-01T00:00:00Z,61\n# {CANARY}\n".encode()
    upload = world.client.post(
        f"/api/v1/persons/{person.id}/imports",
        files={"file": (f"{CANARY}.csv", csv, "text/csv")},
        headers=auth,
    )
    assert upload.status_code == 202  # queued: no job runner here, like a worker cut off
    # What a worker killed mid-import leaves: the plain file it was reading.
    (home / "uploads" / f"{upload.json()['id']}.part").write_bytes(csv)
    world.client.post(
        f"/api/v1/persons/{person.id}/webhooks",
        json={"url": f"https://93.184.216.34/{ACCOUNT}"},
        headers=auth,
    )
    session = world.new_client()
    world.sign_in(session, ACCOUNT)
    (home / "demo-login.txt").write_text(f"account: {ACCOUNT}\npassword: x\n")

    erase_person(store, person, upload_dir=home / "uploads", home=home)
    time.sleep(world.settings.cache_check_s + 0.2)  # erased outside the service: its caches follow
    assert session.get("/api/v1/me").status_code == 401  # the session went with the account
    assert world.new_client().get("/api/v1/me", headers=auth).status_code == 401
    world.app.state.service.close()
    store.close()

    for needle in (CANARY, ACCOUNT, POSTCODE, token, hashlib.sha1(token.encode()).hexdigest()):
        assert _grep(home, needle.encode()) == [], needle


def test_erasure_removes_rows_at_once_without_a_compaction(world: ServiceWorld) -> None:
    pid = world.add_person("Ana", "ana")
    token = world.token("ana", pid)
    backend = world.store.backend
    world.store.vault(world.store.person(pid)).add_webhook(
        {"id": "h1", "url": "https://93.184.216.34/x", "secret": "s", "events": ["alert"]}
    )
    world.app.state.service.jobs.submit(world.store.person(pid), "analyze", {})
    erase_person(world.store, world.store.person(pid))
    time.sleep(world.settings.cache_check_s + 0.2)
    assert backend.account_rows() == []
    assert backend.token_rows() == []
    assert backend.webhook_rows(pid) == []
    assert backend.job_counts() == {} or all(
        backend.job_get(j) is None or backend.job_get(j)[0] != pid
        for j in backend.job_ids()  # type: ignore[index]
    )
    assert (
        world.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code
        == 401
    )


def test_an_upload_left_by_a_stopped_worker_is_removed_at_start(tmp_path: Path) -> None:
    home = tmp_path / "home"
    store = init_home(home)
    uploads = home / "uploads"
    uploads.mkdir(mode=0o700)
    (uploads / "0123456789abcdef.part").write_bytes(b"Patient: " + CANARY.encode())
    (uploads / "export-1.csv").write_bytes(CANARY.encode())
    world = ServiceWorld(store, upload_dir=uploads, job_threads=0)
    time.sleep(0.1)
    assert list(uploads.iterdir()) == []
    world.app.state.service.close()
    store.close()
