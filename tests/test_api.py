"""The REST API: sign-in with MFA, sessions and CSRF, tokens, ingest, reads, privacy."""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from conftest import PASSWORD, ServiceWorld, totp_code
from lifetwin.privacy.consent import Purpose, Scope
from lifetwin.services.accounts import Role

REAL = Path(__file__).parent / "fixtures" / "realdata"
NOW = datetime.now(UTC).replace(microsecond=0)


def _obs(
    n: int, metric: str = "heart_rate", unit: str = "bpm", start: datetime | None = None
) -> list[dict[str, Any]]:
    first = start or NOW - timedelta(days=2)
    return [
        {
            "metric": metric,
            "value": 55 + i % 20,
            "unit": unit,
            "time": (first + timedelta(minutes=i)).isoformat(),
            "source": "watch",
        }
        for i in range(n)
    ]


def _count(world: ServiceWorld, person_id: str, metric: str = "heart_rate") -> int:
    vault = world.store.vault(world.store.person(person_id))
    return len(vault.read_series(metric, purpose=Purpose.SELF_ACCESS))


def _problem(response: Any, status: int, words: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert words.lower() in body["detail"].lower(), body["detail"]
    assert "Traceback" not in response.text


# -- sign-in, sessions, CSRF ----------------------------------------------------------------
def test_sign_in_needs_password_and_a_fresh_totp_code(world: ServiceWorld) -> None:
    world.add_person("Ana", "ana")
    client = world.client
    code = totp_code(world.store, "ana")
    wrong = client.post(
        "/api/v1/session", json={"name": "ana", "password": "nope nope nope", "code": code}
    )
    _problem(wrong, 401, "name, password or code is wrong")
    ok = client.post("/api/v1/session", json={"name": "ana", "password": PASSWORD, "code": code})
    assert ok.status_code == 200
    cookie = ok.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "secure" in cookie
    assert "samesite=strict" in cookie
    replay = world.new_client().post(
        "/api/v1/session", json={"name": "ana", "password": PASSWORD, "code": code}
    )
    _problem(replay, 401, "name, password or code is wrong")  # the same answer for every part
    assert client.get("/api/v1/me").json()["account"] == "ana"


def test_sign_in_attempts_are_rate_limited(world: ServiceWorld) -> None:
    world.add_person("Ana", "ana")
    for _ in range(world.settings.login_attempts):
        r = world.client.post(
            "/api/v1/session", json={"name": "ana", "password": "wrong password", "code": "000000"}
        )
        assert r.status_code == 401
    blocked = world.client.post(
        "/api/v1/session",
        json={"name": "ana", "password": PASSWORD, "code": totp_code(world.store, "ana")},
    )
    _problem(blocked, 429, "too many sign-in attempts")
    assert int(blocked.headers["retry-after"]) > 0


def test_session_writes_need_the_csrf_token(world: ServiceWorld) -> None:
    pid = world.add_person("Ana", "ana")
    csrf = world.sign_in(world.client, "ana")
    body = {"observations": _obs(3)}
    _problem(world.client.post(f"/api/v1/persons/{pid}/observations", json=body), 403, "csrf")
    assert _count(world, pid) == 0
    ok = world.client.post(
        f"/api/v1/persons/{pid}/observations", json=body, headers={"X-CSRF-Token": csrf}
    )
    assert ok.status_code == 201
    assert _count(world, pid) == 3


def test_no_credentials_and_bad_headers_are_401(world: ServiceWorld) -> None:
    pid = world.add_person("Ana", "ana")
    _problem(world.client.get(f"/api/v1/persons/{pid}/streams"), 401, "sign in")
    _problem(world.client.get("/api/v1/me", headers={"Authorization": "Basic abc"}), 401, "bearer")


# -- tokens ---------------------------------------------------------------------------------------
def test_tokens_are_scoped_expiring_and_tamper_evident(world: ServiceWorld) -> None:
    pid = world.add_person("Ana", "ana")
    token = world.token("ana", pid, "self_access")
    auth = {"Authorization": f"Bearer {token}"}
    assert world.client.get(f"/api/v1/persons/{pid}/streams", headers=auth).status_code == 200
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    _problem(
        world.client.get("/api/v1/me", headers={"Authorization": f"Bearer {tampered}"}),
        401,
        "not valid",
    )
    _problem(world.client.get(f"/api/v1/persons/{pid}/overview", headers=auth), 403, "twin_core")
    past = world.accounts.issue_token(
        world.accounts.get("ana"), pid, [Purpose.SELF_ACCESS], days=0.3 / 86400
    )
    time.sleep(0.4)
    _problem(
        world.client.get("/api/v1/me", headers={"Authorization": f"Bearer {past.secret}"}),
        401,
        "expired",
    )


def test_a_signed_in_person_makes_and_revokes_tokens(world: ServiceWorld) -> None:
    pid = world.add_person("Ana", "ana")
    csrf = world.sign_in(world.client, "ana")
    made = world.client.post(
        "/api/v1/tokens",
        json={"person_id": pid, "purposes": ["self_access"], "days": 1, "label": "app"},
        headers={"X-CSRF-Token": csrf},
    )
    assert made.status_code == 201
    secret = made.json()["token"]
    listed = world.client.get("/api/v1/tokens").json()
    assert [t["id"] for t in listed] == [made.json()["id"]]
    assert secret not in json.dumps(listed)
    assert (
        world.client.delete(
            f"/api/v1/tokens/{made.json()['id']}", headers={"X-CSRF-Token": csrf}
        ).status_code
        == 204
    )
    _problem(
        world.new_client().get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}),
        401,
        "not valid",
    )


def test_a_token_gone_behind_the_caches_back_stops_working_once_its_cache_time_passed(
    world: ServiceWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Caches follow the store's generations at once; their time is the safety net for a
    change that did not bump one (here: the token's row deleted directly). Past that time
    the old entry answers once more while it is read again in the background, and then
    the token is refused."""
    from lifetwin.api import security

    monkeypatch.setattr(security, "CACHE_S", 0.0)
    pid = world.add_person("Ana", "ana")
    token = world.accounts.issue_token(world.accounts.get("ana"), pid, [Purpose.SELF_ACCESS], 1)
    auth = {"Authorization": f"Bearer {token.secret}"}
    assert world.client.get("/api/v1/me", headers=auth).status_code == 200
    assert world.store.backend.token_delete(token.token.id)
    deadline = time.monotonic() + 10
    while world.client.get("/api/v1/me", headers=auth).status_code == 200:
        assert time.monotonic() < deadline, "the token still works after its row is gone"
        time.sleep(0.05)
    _problem(world.client.get("/api/v1/me", headers=auth), 401, "not valid")


def test_an_old_overview_is_answered_at_once_and_computed_again_meanwhile(
    world: ServiceWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lifetwin.api import service

    monkeypatch.setattr(service, "OVERVIEW_TTL_S", 0.0)
    pid = world.add_person("Ana", "ana")
    world.store.vault(world.store.person(pid)).grant(Scope.parse("all"), Purpose.TWIN_CORE)
    auth = {"Authorization": f"Bearer {world.token('ana', pid)}"}
    ingest = world.client.post(
        f"/api/v1/persons/{pid}/observations", json={"observations": _obs(50)}, headers=auth
    )
    assert ingest.status_code == 201
    first = world.client.get(f"/api/v1/persons/{pid}/overview", headers=auth)
    assert first.status_code == 200
    cached = world.app.state.service._overviews
    made = cached[pid][0]
    deadline = time.monotonic() + 10
    while cached[pid][0] == made:  # each answer past the time starts a recomputation
        assert time.monotonic() < deadline, "an overview past its time was not computed again"
        again = world.client.get(f"/api/v1/persons/{pid}/overview", headers=auth)
        assert again.status_code == 200
        assert again.json() == first.json()
        time.sleep(0.05)


def test_tokens_are_kept_only_as_digests(world: ServiceWorld, tmp_path: Path) -> None:
    pid = world.add_person("Ana", "ana")
    token = world.token("ana", pid)
    raw = b"".join(Path(p).read_bytes() for p in world.store.backend.files() if Path(p).exists())
    assert token.encode() not in raw
    assert hashlib.sha256(token.encode()).hexdigest().encode() not in raw  # sealed, too
    assert world.accounts.get("ana").totp_secret.encode() not in raw


# -- ingest ---------------------------------------------------------------------------------------
def test_ingest_json_and_ndjson_then_read_with_downsampling_and_pages(world: ServiceWorld) -> None:
    pid = world.add_person("Ana", "ana")
    auth = {"Authorization": f"Bearer {world.token('ana', pid)}"}
    first = world.client.post(
        f"/api/v1/persons/{pid}/observations", json={"observations": _obs(120)}, headers=auth
    )
    assert first.status_code == 201
    assert first.json()["stored"] == 120
    lines = "\n".join(json.dumps(o) for o in _obs(60, start=NOW - timedelta(days=1)))
    second = world.client.post(
        f"/api/v1/persons/{pid}/observations",
        content=lines.encode(),
        headers={**auth, "Content-Type": "application/x-ndjson"},
    )
    assert second.status_code == 201
    assert second.json()["stored"] == 60
    again = world.client.post(f"/api/v1/persons/{pid}/observations", json=_obs(120), headers=auth)
    assert again.json()["stored"] == 0
    assert again.json()["duplicates"] == 120
    page = world.client.get(
        f"/api/v1/persons/{pid}/observations",
        params={"metric": "heart_rate", "limit": 100},
        headers=auth,
    )
    body = page.json()
    assert len(body["points"]) == 100
    assert body["next_after_ms"] is not None
    assert 'rel="next"' in page.headers["link"]
    rest = world.client.get(
        f"/api/v1/persons/{pid}/observations",
        params={"metric": "heart_rate", "limit": 1000, "after_ms": body["next_after_ms"]},
        headers=auth,
    ).json()
    assert len(rest["points"]) == 80
    assert rest["next_after_ms"] is None
    hourly = world.client.get(
        f"/api/v1/persons/{pid}/observations",
        params={"metric": "heart_rate", "every": 3600},
        headers=auth,
    ).json()
    assert sum(p["n"] for p in hourly["points"]) == 180
    assert all(p["min"] <= p["mean"] <= p["max"] for p in hourly["points"])


def test_reads_carry_etags_and_answer_304(world: ServiceWorld) -> None:
    pid = world.add_person("Ana", "ana")
    auth = {"Authorization": f"Bearer {world.token('ana', pid)}"}
    world.client.post(f"/api/v1/persons/{pid}/observations", json=_obs(10), headers=auth)
    url = f"/api/v1/persons/{pid}/observations?metric=heart_rate"
    first = world.client.get(url, headers=auth)
    etag = first.headers["etag"]
    assert world.client.get(url, headers={**auth, "If-None-Match": etag}).status_code == 304
    world.client.post(
        f"/api/v1/persons/{pid}/observations",
        json=_obs(1, start=NOW - timedelta(hours=1)),
        headers=auth,
    )
    changed = world.client.get(url, headers={**auth, "If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag


@pytest.mark.parametrize(
    ("bad", "status", "words"),
    [
        ({"metric": "hart_rate"}, 422, "not a known metric"),
        ({"unit": "kg"}, 422, "heart_rate"),
        ({"time": (NOW + timedelta(days=30)).isoformat()}, 422, "in the future"),
        ({"value": 900}, 422, "impossible"),
        ({"value": "fast"}, 422, "must be a number"),
        ({"value": True}, 422, "must be a number"),
        ({"time": "yesterday"}, 422, "not an iso 8601 time"),
        ({"time": -104_166_666_667 * 86_400_000}, 422, "before 1900"),
        ({"time": 2**70}, 422, "beyond 64-bit"),
        ({"extra": [[[1]]]}, 422, "does not know"),
        ({"time": "2026-01-01T10:00:00"}, 422, "no utc offset"),
    ],
)
def test_one_bad_observation_refuses_the_whole_batch(
    world: ServiceWorld, bad: dict[str, Any], status: int, words: str
) -> None:
    pid = world.add_person("Ana", "ana")
    auth = {"Authorization": f"Bearer {world.token('ana', pid)}"}
    world.client.post(f"/api/v1/persons/{pid}/observations", json=_obs(5), headers=auth)
    batch = _obs(50, start=NOW - timedelta(days=1))
    batch[17] = {**batch[17], **bad}
    response = world.client.post(f"/api/v1/persons/{pid}/observations", json=batch, headers=auth)
    _problem(response, status, words)
    assert _count(world, pid) == 5  # nothing of the batch, nothing lost


def test_malformed_and_oversized_bodies_are_refused_clearly(tmp_path: Path) -> None:
    from lifetwin.store.crypto import MasterKey
    from lifetwin.store.sql import SQLiteBackend
    from lifetwin.store.vault import Store

    store = Store.initialize(SQLiteBackend(tmp_path / "s.db", create=True), MasterKey.generate())
    world = ServiceWorld(store, max_body_bytes=4096, upload_dir=tmp_path / "u")
    pid = world.add_person("Ana", "ana")
    auth = {"Authorization": f"Bearer {world.token('ana', pid)}"}
    url = f"/api/v1/persons/{pid}/observations"
    _problem(
        world.client.post(
            url, content=b'{"observations": [', headers={**auth, "Content-Type": "application/json"}
        ),
        400,
        "not json",
    )
    ndjson = json.dumps(_obs(1)[0]) + "\n{oops\n"
    _problem(
        world.client.post(
            url, content=ndjson.encode(), headers={**auth, "Content-Type": "application/x-ndjson"}
        ),
        400,
        "line 2",
    )
    _problem(world.client.post(url, json=_obs(200), headers=auth), 413, "larger than")
    _problem(
        world.client.post(url, content=b"a,b", headers={**auth, "Content-Type": "text/csv"}),
        415,
        "application/json",
    )
    _problem(
        world.client.post(url, json={"observations": []}, headers=auth), 422, "no observations"
    )
    assert _count(world, pid) == 0


def test_ingest_is_rate_limited_per_token(tmp_path: Path) -> None:
    from lifetwin.store.crypto import MasterKey
    from lifetwin.store.sql import SQLiteBackend
    from lifetwin.store.vault import Store

    store = Store.initialize(SQLiteBackend(tmp_path / "s.db", create=True), MasterKey.generate())
    world = ServiceWorld(store, ingest_requests=3, upload_dir=tmp_path / "u")
    pid = world.add_person("Ana", "ana")
    auth = {"Authorization": f"Bearer {world.token('ana', pid)}"}
    codes = [
        world.client.post(
            f"/api/v1/persons/{pid}/observations",
            json=_obs(1, start=NOW - timedelta(hours=i + 1)),
            headers=auth,
        ).status_code
        for i in range(4)
    ]
    assert codes == [201, 201, 201, 429]


# -- roles ----------------------------------------------------------------------------------------
def _caregiver_of_glucose(world: ServiceWorld, pid: str) -> Any:
    """Give the person heart rate and glucose, share glucose with a caregiver 'dr-lee'
    and return a client signed in as that caregiver."""
    world.accounts.create("dr-lee", PASSWORD, Role.CAREGIVER)
    auth = {"Authorization": f"Bearer {world.token('ana', pid)}"}
    world.client.post(
        f"/api/v1/persons/{pid}/observations",
        json=_obs(10) + _obs(5, "glucose", "mg/dL"),
        headers=auth,
    )
    vault = world.store.vault(world.store.person(pid))
    vault.grant(Scope.parse("metric:glucose"), Purpose.SHARING, recipient="dr-lee")
    client = world.new_client()
    world.sign_in(client, "dr-lee")
    return client


def test_a_caregiver_sees_only_what_was_shared_with_them(world: ServiceWorld) -> None:
    pid = world.add_person("Ana", "ana")
    other = world.add_person("Ben", "ben")
    client = _caregiver_of_glucose(world, pid)
    vault = world.store.vault(world.store.person(pid))
    assert [p["id"] for p in client.get("/api/v1/persons").json()["items"]] == [pid]
    streams = client.get(f"/api/v1/persons/{pid}/streams").json()["items"]
    assert [s["metric"] for s in streams] == ["glucose"]
    assert (
        client.get(f"/api/v1/persons/{pid}/observations?metric=heart_rate").json()["points"] == []
    )
    assert (
        len(client.get(f"/api/v1/persons/{pid}/observations?metric=glucose").json()["points"]) == 5
    )
    _problem(client.get(f"/api/v1/persons/{other}/streams"), 404, "no person")
    _problem(client.get(f"/api/v1/persons/{pid}/overview"), 403, "only the person")
    entries = vault.audit_entries()
    actor = world.store.actor_name("caregiver", "dr-lee")
    assert any(e.actor.startswith(actor) and e.purpose == "sharing" for e in entries)
    assert all("dr-lee" not in e.actor for e in entries)  # a pseudonym in the chain


def test_an_administrator_operates_but_reads_no_personal_data(world: ServiceWorld) -> None:
    pid = world.add_person("Ana", "ana")
    world.accounts.create("root", PASSWORD, Role.ADMIN)
    client = world.new_client()
    csrf = world.sign_in(client, "root")
    status = client.get("/api/v1/admin/status").json()
    assert status["persons"] == 1
    assert "Ana" not in json.dumps(status)
    _problem(client.get("/api/v1/persons"), 403, "administrator")
    _problem(client.get(f"/api/v1/persons/{pid}/streams"), 403, "administrator")
    made = client.post(
        "/api/v1/admin/persons",
        json={"name": "Cleo", "account": "cleo", "password": PASSWORD},
        headers={"X-CSRF-Token": csrf},
    )
    assert made.status_code == 201
    assert made.json()["totp_uri"].startswith("otpauth://")
    person = world.new_client()
    world.sign_in(person, "cleo")
    assert person.get("/api/v1/persons").json()["items"][0]["name"] == "Cleo"


# -- the twin, consent, export, erasure -----------------------------------------------------------
def test_revoking_consent_changes_the_overview_and_drops_derived_results(
    world: ServiceWorld,
) -> None:
    pid = world.add_person("Ana", "ana")
    csrf = world.sign_in(world.client, "ana")
    headers = {"X-CSRF-Token": csrf}
    world.client.post(f"/api/v1/persons/{pid}/observations", json=_obs(300), headers=headers)
    grant = world.client.post(
        f"/api/v1/persons/{pid}/consents",
        json={"scope": "domain:vitals", "purpose": "twin_core"},
        headers=headers,
    )
    assert grant.status_code == 201
    overview = world.client.get(f"/api/v1/persons/{pid}/overview").json()
    assert [m["metric"] for m in overview["metrics"]] == ["heart_rate"]
    revoked = world.client.delete(
        f"/api/v1/persons/{pid}/consents/{grant.json()['id']}", headers=headers
    )
    assert "twin:state" in revoked.json()["derived_removed"]
    after = world.client.get(f"/api/v1/persons/{pid}/overview").json()
    assert after["metrics"] == []
    assert after["twin_core"] is False


def test_every_overview_is_audited_also_when_answered_from_the_cache(
    world: ServiceWorld,
) -> None:
    """The second and later overviews come from the worker's cache on the event loop; each
    is still in the audit trail (under the token's pseudonym) before it is answered, and a
    revoked token is refused even though the overview is cached."""
    pid = world.add_person("Ana", "ana")
    token = world.token("ana", pid)
    auth = {"Authorization": f"Bearer {token}"}
    answers = [world.client.get(f"/api/v1/persons/{pid}/overview", headers=auth) for _ in range(4)]
    assert [a.status_code for a in answers] == [200] * 4
    assert len({a.headers["etag"] for a in answers}) == 1
    person = world.store.person(pid)
    views = [e for e in world.store.vault(person).audit_entries() if e.action == "view"]
    assert len(views) == 4
    assert all(e.details == {"what": "overview"} and e.actor.endswith("(token)") for e in views)
    assert world.store.audit.verify(pid) is None
    world.accounts.revoke_token(world.accounts.check_token(token).id)  # as the CLI does
    time.sleep(world.settings.cache_check_s + 0.1)  # every worker looks this often
    _problem(world.client.get(f"/api/v1/persons/{pid}/overview", headers=auth), 401, "")


def test_export_download_and_erase_with_confirmation(world: ServiceWorld) -> None:
    pid = world.add_person("Ana", "ana")
    csrf = world.sign_in(world.client, "ana")
    headers = {"X-CSRF-Token": csrf}
    world.client.post(f"/api/v1/persons/{pid}/observations", json=_obs(30), headers=headers)
    fhir = world.client.get(f"/api/v1/persons/{pid}/export?format=fhir")
    assert fhir.status_code == 200
    assert fhir.json()["resourceType"] == "Bundle"
    csv = world.client.get(f"/api/v1/persons/{pid}/export?format=csv")
    assert csv.text.count("heart_rate") == 30
    assert not list((world.settings.upload_dir or Path("/nonexistent")).glob("export-*"))
    _problem(
        world.client.delete(f"/api/v1/persons/{pid}", params={"confirm": "Bob"}, headers=headers),
        400,
        "confirm",
    )
    assert (
        world.client.delete(
            f"/api/v1/persons/{pid}", params={"confirm": "ana"}, headers=headers
        ).status_code
        == 204
    )
    assert world.store.persons() == []
    assert world.accounts.all() == []
    _problem(world.client.get("/api/v1/me"), 401, "sign in")


def test_audit_pages_newest_first(world: ServiceWorld) -> None:
    pid = world.add_person("Ana", "ana")
    auth = {"Authorization": f"Bearer {world.token('ana', pid)}"}
    for _ in range(5):
        world.client.get(f"/api/v1/persons/{pid}/streams", headers=auth)
    first = world.client.get(f"/api/v1/persons/{pid}/audit?limit=3", headers=auth).json()
    seqs = [e["seq"] for e in first["items"]]
    assert seqs == sorted(seqs, reverse=True)
    assert len(seqs) == 3
    second = world.client.get(
        f"/api/v1/persons/{pid}/audit?limit=3&before={first['next_before']}", headers=auth
    ).json()
    assert max(e["seq"] for e in second["items"]) < min(seqs)


def test_upload_a_real_clarity_export_and_watch_it_finish(world: ServiceWorld) -> None:
    pid = world.add_person("Ana", "ana")
    auth = {"Authorization": f"Bearer {world.token('ana', pid)}"}
    sample = REAL / "cgm" / "cgmquantify_dexcom_clarity_test_file.csv"
    with sample.open("rb") as handle:
        started = world.client.post(
            f"/api/v1/persons/{pid}/imports",
            files={"file": (sample.name, handle, "text/csv")},
            headers=auth,
        )
    assert started.status_code == 202
    location = started.headers["location"]
    for _ in range(200):
        job = world.client.get(location, headers=auth).json()
        if job["state"] != "running":
            break
        time.sleep(0.05)
    assert job["state"] == "done", job
    assert job["summary"]["format"] == "dexcom_clarity"
    assert job["summary"]["stored"] > 2000
    assert _count(world, pid, "glucose") == job["summary"]["stored"]
    report = world.client.get(f"/api/v1/persons/{pid}/cgm?days=0", headers=auth).json()
    assert report["readings"] == job["summary"]["stored"]


def test_a_broken_upload_reports_its_problem_and_keeps_what_was_there(world: ServiceWorld) -> None:
    pid = world.add_person("Ana", "ana")
    auth = {"Authorization": f"Bearer {world.token('ana', pid)}"}
    world.client.post(f"/api/v1/persons/{pid}/observations", json=_obs(5), headers=auth)
    started = world.client.post(
        f"/api/v1/persons/{pid}/imports",
        files={"file": ("export.zip", b"PK\x03\x04broken", "application/zip")},
        headers=auth,
    )
    for _ in range(200):
        job = world.client.get(started.headers["location"], headers=auth).json()
        if job["state"] != "running":
            break
        time.sleep(0.05)
    assert job["state"] == "failed"
    assert job["error"]
    assert "Traceback" not in job["error"]
    assert _count(world, pid) == 5


def test_dashboard_forms_without_their_csrf_token_change_nothing(world: ServiceWorld) -> None:
    pid = world.add_person("Ana", "ana")
    world.sign_in(world.client, "ana")
    html = {"Accept": "text/html"}
    consent = world.client.post(
        f"/p/{pid}/privacy/consent",
        data={"category": "vitals", "purpose": "twin_core", "action": "grant"},
        headers=html,
    )
    assert consent.status_code == 403
    assert "CSRF" in consent.text
    assert consent.headers["content-type"].startswith("text/html")
    assert world.store.vault(world.store.person(pid)).consents().grants == []
    erase = world.client.post(f"/p/{pid}/erase", data={"confirm": "Ana"}, headers=html)
    assert erase.status_code == 403
    assert [p.id for p in world.store.persons()] == [pid]
    login = world.new_client().post(
        "/login", data={"name": "ana", "password": PASSWORD, "code": "123456"}
    )
    assert login.status_code == 403  # no sign-in form token either


def test_a_caregiver_sees_the_shared_streams_in_the_dashboard(world: ServiceWorld) -> None:
    pid = world.add_person("Ana", "ana")
    client = _caregiver_of_glucose(world, pid)
    start = client.get("/")
    assert f"/p/{pid}/shared" in start.text
    shared = client.get(f"/p/{pid}/shared")
    assert shared.status_code == 200
    assert "glucose" in shared.text
    assert "heart rate" not in shared.text
    chart = client.get(f"/p/{pid}/metric/glucose?days=7")
    assert chart.status_code == 200
    assert "Privacy" not in chart.text  # no owner pages for a caregiver
    hidden = client.get(f"/p/{pid}/metric/heart_rate?days=7")
    assert "No values you may see" in hidden.text
    assert client.get(f"/p/{pid}/privacy", headers={"Accept": "text/html"}).status_code == 403
