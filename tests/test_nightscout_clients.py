"""Real Nightscout clients against LifeTwin: py-nightscout (Home Assistant's library) on a
running server, and what xDrip+, Loop and AndroidAPS upload (tests/fixtures/nightscout)."""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from browsing import serving_app
from conftest import ServiceWorld
from lifetwin.core.model import EventKind
from lifetwin.privacy.consent import Purpose, Scope
from lifetwin.services import nightscout as ns
from lifetwin.store.vault import Document, Store

FIXTURES = Path(__file__).parent / "fixtures" / "nightscout"
TIDEPOOL = Path(__file__).parent / "fixtures" / "generated" / "tidepool_export.json"


def _load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def _secret(token: str) -> dict[str, str]:
    return {"api-secret": hashlib.sha1(token.encode()).hexdigest()}


@pytest.fixture
def ana(world: ServiceWorld) -> dict[str, Any]:
    pid = world.add_person("Ana", "ana")
    token = world.token("ana", pid, "self_access", "write")
    return {"pid": pid, "token": token, "auth": _secret(token)}


def _post(world: ServiceWorld, ana: dict[str, Any], kind: str, body: Any) -> Any:
    return world.client.post(f"/api/v1/{kind}", json=body, headers=ana["auth"])


def _get(world: ServiceWorld, ana: dict[str, Any], path: str) -> Any:
    answer = world.client.get(path, headers=ana["auth"])
    assert answer.status_code == 200, answer.text
    return answer.json()


def _vault(world: ServiceWorld, pid: str) -> Any:
    return world.store.vault(world.store.person(pid))


def _events(world: ServiceWorld, pid: str, kind: EventKind) -> list[Any]:
    records = _vault(world, pid).read_records(f"event:{kind.value}", purpose=Purpose.SELF_ACCESS)
    return list(records)


# -- py-nightscout on a running server -----------------------------------------------------
@pytest.fixture
def served(world: ServiceWorld) -> Iterator[str]:
    """The world's app served by uvicorn on loopback (a real HTTP server)."""
    with serving_app(world.app) as url:
        yield url


def test_py_nightscout_reads_status_glucose_treatments_profiles_and_device_status(
    world: ServiceWorld, ana: dict[str, Any], served: str
) -> None:
    import py_nightscout as nightscout

    for kind, name in (
        ("entries", "xdrip_entries.json"),
        ("treatments", "aaps_treatments.json"),
        ("devicestatus", "loop_devicestatus.json"),
        ("profile", "profile_mmol.json"),
    ):
        assert _post(world, ana, kind, _load(name)).status_code == 200

    async def read(secret: str) -> tuple[Any, ...]:
        api = nightscout.Api(served, api_secret=secret)
        return (
            await api.get_server_status(),
            await api.get_sgvs(),
            await api.get_treatments(),
            await api.get_profiles(),
            await api.get_devices_status(),
            await api.get_latest_devices_status(),
        )

    status, sgvs, treatments, profiles, statuses, latest = asyncio.run(read(ana["token"]))
    assert status.apiEnabled is True
    assert status.settings["units"] == "mg/dl"

    uploaded = [e for e in _load("xdrip_entries.json") if e["type"] == "sgv"]
    newest = sorted(uploaded, key=lambda e: e["date"], reverse=True)
    assert len(sgvs) == 10  # Nightscout's default count, sensor values only
    assert [s.sgv for s in sgvs] == [e["sgv"] for e in newest[:10]]
    assert sgvs[0].date == datetime.fromtimestamp(newest[0]["date"] / 1000, UTC)
    assert sgvs[0].direction == "FortyFiveDown"  # 148 -> 141 in five minutes
    assert sgvs[0].delta == -7.0
    assert sgvs[0].sgv_mmol == round(141 / 18, 1)

    kinds = {t.eventType for t in treatments}
    assert {"Meal Bolus", "Correction Bolus", "Temp Basal", "Profile Switch"} <= kinds
    assert treatments[0].created_at > treatments[-1].created_at  # newest first

    definition = profiles.get_profile_definition_active_at(datetime(2026, 3, 20, tzinfo=UTC))
    assert definition.units == "mmol"
    weekday = definition.get_default_profile()
    assert weekday.basal.value_at_date(datetime(2026, 3, 20, 7, 0)) == 0.8
    assert weekday.target_low.value_at_date(datetime(2026, 3, 20, 7, 0)) == 5.5

    assert [s.device for s in statuses] == ["loop://iPhone", "loop://iPhone"]
    assert statuses[0].loop["iob"]["iob"] == 2.197  # the newer of the two
    assert statuses[0].pump.reservoir == 112.35
    assert latest["loop://iPhone"].loop["cob"]["cob"] == 20.1

    # py-nightscout's other form of a token: "token=<token>" sent as the api-secret itself
    status, sgvs, *_ = asyncio.run(read("token=" + ana["token"]))
    assert len(sgvs) == 10


def test_status_follows_the_persons_glucose_unit(world: ServiceWorld, ana: dict[str, Any]) -> None:
    anonymous = world.client.get("/api/v1/status.json").json()
    assert anonymous["settings"]["units"] == "mg/dl"
    assert _get(world, ana, "/api/v1/status.json")["settings"]["units"] == "mg/dl"
    _vault(world, ana["pid"]).set_profile(glucose_unit="mmol/L")
    assert _get(world, ana, "/api/v1/status.json")["settings"]["units"] == "mmol"
    wrong = world.client.get("/api/v1/status.json", headers=_secret("not a token"))
    assert wrong.status_code == 401


# -- xDrip+ --------------------------------------------------------------------------------
def test_xdrip_entries_come_back_as_nightscout_serves_them(
    world: ServiceWorld, ana: dict[str, Any]
) -> None:
    sent = _load("xdrip_entries.json")
    pushed = _post(world, ana, "entries", sent)
    assert pushed.status_code == 200, pushed.text
    answered = pushed.json()
    assert len(answered) == len(sent)  # Loop counts them
    assert all(len(e["_id"]) == 24 for e in answered)
    assert _post(world, ana, "entries", sent).json() == answered  # the same ids again
    glucose = _vault(world, ana["pid"]).read_series("glucose", purpose=Purpose.SELF_ACCESS)
    assert len(glucose) == 13  # 12 sensor values and one meter value; no calibration

    every = _get(world, ana, "/api/v1/entries.json?count=50")
    assert [e["date"] for e in every] == sorted((e["date"] for e in every), reverse=True)
    assert {e["type"] for e in every} == {"sgv", "mbg"}
    sgv = _get(world, ana, "/api/v1/entries/sgv.json?count=50")
    assert [e["type"] for e in sgv] == ["sgv"] * 12
    first = sgv[-1]
    assert first["direction"] == "NOT COMPUTABLE"  # nothing before it
    assert first["delta"] == 0
    by_date = {e["date"]: e for e in sent}
    for entry in sgv:
        original = by_date[entry["date"]]
        assert entry["sgv"] == original["sgv"]
        assert entry["dateString"].endswith("Z")
        assert entry["sysTime"] == entry["dateString"]
        assert entry["utcOffset"] == 60  # the phone was in Central European Time
        assert entry["device"] == "xDrip-DexcomG6"
        if entry is not first:
            assert entry["direction"] == original["direction"]
            assert entry["delta"] == original["delta"]
    meter = _get(world, ana, "/api/v1/entries/mbg.json")
    assert [(e["mbg"], e["type"]) for e in meter] == [(150, "mbg")]
    assert _get(world, ana, "/api/v1/entries/cal.json") == []
    current = _get(world, ana, "/api/v1/entries/current.json")
    assert current == sgv[:1]
    one = _get(world, ana, f"/api/v1/entries/{sgv[3]['_id']}.json")
    assert one == [sgv[3]]
    ids = {e["_id"] for e in answered}
    assert {e["_id"] for e in every} <= ids  # a POST's ids are the GET's ids
    missing = world.client.get("/api/v1/entries/" + "0" * 24, headers=ana["auth"])
    assert missing.status_code == 404
    assert missing.json()["detail"].endswith(".")


def test_date_queries_as_nightscout_clients_send_them(
    world: ServiceWorld, ana: dict[str, Any]
) -> None:
    sent = [e for e in _load("xdrip_entries.json") if e["type"] == "sgv"]
    _post(world, ana, "entries", sent)
    dates = sorted(e["date"] for e in sent)

    def dates_of(query: str) -> list[int]:
        return [e["date"] for e in _get(world, ana, f"/api/v1/entries/sgv.json?{query}")]

    assert dates_of(f"find[date][$gte]={dates[3]}&count=100") == dates[3:][::-1]
    assert dates_of(f"find[date][$gt]={dates[3]}&count=100") == dates[4:][::-1]
    assert dates_of(f"find[date][$lte]={dates[3]}&count=100") == dates[:4][::-1]
    assert dates_of(f"find[date][$lt]={dates[3]}&count=100") == dates[:3][::-1]
    lo, hi = ns.iso(dates[2]), ns.iso(dates[5])
    # Loop's fetchGlucose: find[dateString][$gte]/[$lte] in ISO 8601
    assert dates_of(f"find[dateString][$gte]={lo}&find[dateString][$lte]={hi}") == dates[2:6][::-1]
    plus = "2026-03-14T07:10:02.000 01:00"  # a '+' that arrived as a space
    assert dates_of(f"find[dateString][$gte]={plus}&count=100") == dates[2:][::-1]
    assert dates_of("count=2") == dates[-2:][::-1]
    assert dates_of("find[sgv][$gte]=150&count=100") == [
        e["date"] for e in sorted(sent, key=lambda e: -e["date"]) if e["sgv"] >= 150
    ]
    for bad, words in (
        ("find[date][$in]=1", "$in is not supported"),
        ("find[date][$gte]=yesterday", "is not a time"),
        ("count=-3", "count must be a whole number"),
        ("count=100000", "count must be a whole number"),
    ):
        answer = world.client.get(f"/api/v1/entries.json?{bad}", headers=ana["auth"])
        assert answer.status_code == 400, bad
        assert words in answer.json()["detail"]
        assert answer.json()["detail"].count(".") >= 1


def test_xdrip_upserts_a_treatment_and_finds_it_by_uuid(
    world: ServiceWorld, ana: dict[str, Any]
) -> None:
    treatment = _load("xdrip_treatment_put.json")
    put = world.client.put("/api/v1/treatments", json=treatment, headers=ana["auth"])
    assert put.status_code == 200, put.text
    assert put.json()["_id"] == treatment["_id"]
    found = _get(world, ana, f"/api/v1/treatments.json?find[uuid]={treatment['uuid']}")
    assert [t["_id"] for t in found] == [treatment["_id"]]
    assert found[0]["notes"] == "porridge"
    changed = dict(treatment, carbs=60)
    assert (
        world.client.put("/api/v1/treatments", json=changed, headers=ana["auth"]).status_code == 200
    )
    meals = _events(world, ana["pid"], EventKind.MEAL)
    assert [m.details["carbs_g"] for m in meals] == [60.0]  # replaced, not added
    assert [t["carbs"] for t in _get(world, ana, "/api/v1/treatments.json")] == [60]


# -- Loop ----------------------------------------------------------------------------------
def test_loop_devicestatus_gives_insulin_and_carbs_on_board_not_predictions(
    world: ServiceWorld, ana: dict[str, Any]
) -> None:
    sent = _load("loop_devicestatus.json")
    pushed = _post(world, ana, "devicestatus", sent)
    assert pushed.status_code == 200, pushed.text
    assert len(pushed.json()) == 2
    assert _post(world, ana, "devicestatus", sent).status_code == 200  # retried upload
    vault = _vault(world, ana["pid"])
    iob = vault.read_series("insulin_on_board", purpose=Purpose.SELF_ACCESS)
    cob = vault.read_series("carbs_on_board", purpose=Purpose.SELF_ACCESS)
    assert iob.values.tolist() == [2.316, 2.197]
    assert cob.values.tolist() == [23.5, 20.1]
    assert len(vault.read_series("glucose", purpose=Purpose.SELF_ACCESS)) == 0
    listed = _get(world, ana, "/api/v1/devicestatus.json?count=10")
    assert len(listed) == 2  # the retry did not double them
    assert [d["loop"] for d in listed] == [sent[1]["loop"], sent[0]["loop"]]  # whole
    assert listed[0]["pump"] == sent[1]["pump"]
    assert listed[0]["created_at"] == "2026-03-14T07:01:00.000Z"
    since = _get(
        world, ana, "/api/v1/devicestatus.json?find[created_at][$gte]=2026-03-14T07:00:00Z"
    )
    assert [d["identifier"] for d in since] == [sent[1]["identifier"]]


def test_loop_treatments_can_be_changed_and_deleted(
    world: ServiceWorld, ana: dict[str, Any]
) -> None:
    sent = _load("loop_treatments.json")
    pushed = _post(world, ana, "treatments", sent)
    assert pushed.status_code == 200, pushed.text
    answered = pushed.json()
    assert all(ns.OBJECT_ID.match(t["_id"]) for t in answered)  # Loop keeps these
    carbs = answered[0]
    assert carbs["identifier"] == sent[0]["_id"]  # Nightscout moves a UUID _id there
    listed = _get(world, ana, "/api/v1/treatments.json")
    assert {t["_id"] for t in listed} == {t["_id"] for t in answered}
    loop_fields = {"_id", "eventType", "timestamp", "enteredBy"}  # what Loop parses
    assert all(loop_fields <= set(t) for t in listed)

    modified = dict(carbs, carbs=50.0)
    assert (
        world.client.put("/api/v1/treatments", json=modified, headers=ana["auth"]).status_code
        == 200
    )
    meals = _events(world, ana["pid"], EventKind.MEAL)
    assert [m.details["carbs_g"] for m in meals] == [50.0]
    assert len(_get(world, ana, "/api/v1/treatments.json")) == 3

    gone = world.client.delete(f"/api/v1/treatments/{carbs['_id']}", headers=ana["auth"])
    assert gone.status_code == 200
    assert gone.json()["deletedCount"] == 1
    assert _events(world, ana["pid"], EventKind.MEAL) == []
    assert len(_get(world, ana, "/api/v1/treatments.json")) == 2
    again = world.client.delete(f"/api/v1/treatments/{carbs['_id']}", headers=ana["auth"])
    assert again.json()["deletedCount"] == 0  # as Nightscout: no retry loop in uploaders
    odd = world.client.delete("/api/v1/treatments/not-an-id", headers=ana["auth"])
    assert odd.status_code == 404
    test = world.client.get("/api/v1/experiments/test", headers=ana["auth"])
    assert test.json() == {"status": "ok"}  # Loop's check of the credentials


# -- AndroidAPS ----------------------------------------------------------------------------
def test_androidaps_treatments_become_events_and_stay_whole(
    world: ServiceWorld, ana: dict[str, Any]
) -> None:
    sent = _load("aaps_treatments.json")
    pushed = _post(world, ana, "treatments", sent)
    assert pushed.status_code == 200, pushed.text
    assert len({t["_id"] for t in pushed.json()}) == len(sent)  # bolus and carbs both kept
    insulin = _events(world, ana["pid"], EventKind.INSULIN)
    boluses = sorted(e.details["insulin_u"] for e in insulin if "insulin_u" in e.details)
    assert boluses == [0.35, 5.2]  # the meal bolus and the SMB
    basal = [e for e in insulin if e.details.get("type") == "temp basal"]
    assert len(basal) == 1
    assert basal[0].end - basal[0].start == timedelta(minutes=30)
    meals = _events(world, ana["pid"], EventKind.MEAL)
    assert [m.details["carbs_g"] for m in meals] == [55.0]  # not the withdrawn 10 g
    switch = _get(world, ana, "/api/v1/treatments.json?find[eventType]=Profile Switch")
    assert len(switch) == 1
    original = next(t for t in sent if t["eventType"] == "Profile Switch")
    assert switch[0]["profileJson"] == original["profileJson"]
    assert json.loads(switch[0]["profileJson"])["units"] == "mmol"
    window = _get(
        world,
        ana,
        "/api/v1/treatments.json?find[created_at][$gte]=2026-03-15T11:30:00Z"
        "&find[created_at][$lt]=2026-03-15T11:50:00Z",
    )
    assert [t["eventType"] for t in window] == ["Temp Basal", "Correction Bolus"]
    assert _post(world, ana, "treatments", sent).status_code == 200
    assert len(_get(world, ana, "/api/v1/treatments.json")) == len(sent)  # not doubled


def test_treatments_of_other_sources_are_served_too(
    world: ServiceWorld, ana: dict[str, Any]
) -> None:
    from lifetwin.services.importer import import_items
    from lifetwin.sources.base import ReadOptions
    from lifetwin.sources.cgm import TidepoolConnector

    import_items(
        world.store,
        world.store.person(ana["pid"]),
        lambda options: TidepoolConnector().read(TIDEPOOL, options),
        label=TIDEPOOL.name,
        digest="tidepool",
        fmt="tidepool",
        cursor_name="tidepool",
        options=ReadOptions(),
    )
    insulin = _events(world, ana["pid"], EventKind.INSULIN)
    meals = _events(world, ana["pid"], EventKind.MEAL)
    assert insulin
    assert meals
    listed = _get(world, ana, "/api/v1/treatments.json?count=1000")
    assert len(listed) == len(insulin) + len(meals)
    assert {t["enteredBy"] for t in listed} == {"Tidepool"}
    assert all(ns.OBJECT_ID.match(t["_id"]) for t in listed)
    assert {t["eventType"] for t in listed} <= {"Correction Bolus", "Temp Basal", "Carb Correction"}
    carbs = sorted(t["carbs"] for t in listed if "carbs" in t)
    assert carbs == sorted(m.details["carbs_g"] for m in meals)
    assert _get(world, ana, "/api/v1/treatments.json?count=1000") == listed  # stable ids


# -- profiles --------------------------------------------------------------------------------
def test_a_profile_in_mmol_is_kept_whole_and_the_newest_is_current(
    world: ServiceWorld, ana: dict[str, Any]
) -> None:
    profile = _load("profile_mmol.json")
    assert _post(world, ana, "profile", profile).status_code == 200
    later = copy.deepcopy(profile)
    later["startDate"] = "2026-03-10T00:00:00.000Z"
    later["units"] = "mg/dl"
    later["store"]["Weekday"]["units"] = "mg/dl"
    later["store"]["Weekday"]["target_low"] = [{"time": "00:00", "value": 100}]
    assert _post(world, ana, "profile", later).status_code == 200
    listed = _get(world, ana, "/api/v1/profile.json")
    assert [p["startDate"] for p in listed] == [later["startDate"], profile["startDate"]]
    assert listed[1]["store"] == profile["store"]
    assert listed[1]["units"] == "mmol"
    current = _get(world, ana, "/api/v1/profile/current")
    assert current["units"] == "mg/dl"
    assert current["store"]["Weekday"]["target_low"][0]["value"] == 100
    found = _get(world, ana, "/api/v1/profiles.json?find[startDate][$lt]=2026-03-05T00:00:00Z")
    assert [p["startDate"] for p in found] == [profile["startDate"]]
    assert _post(world, ana, "profile", profile).status_code == 200  # the same start: replaced
    assert len(_get(world, ana, "/api/v1/profile.json")) == 2


# -- what is refused -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "body", "words"),
    [
        ("treatments", [{"eventType": "Meal Bolus", "carbs": "lots"}], "Item 1"),
        ("treatments", [{"carbs": 20, "created_at": "2026-03-01T10:00:00Z"}], "no eventType"),
        ("treatments", [{"eventType": "Note", "created_at": "someday"}], "Item 1"),
        ("devicestatus", [{"created_at": "2026-03-01T10:00:00Z"}], "holds no device status"),
        ("devicestatus", [{"_id": "abc", "uploader": {"battery": 5}}], "24 hexadecimal digits"),
        ("profile", [{"defaultProfile": "A", "startDate": "2026-03-01T00:00:00Z"}], "store"),
        ("profile", [{"store": {"A": {"dia": 5}}, "units": "furlongs"}], "mg/dl or mmol"),
        ("profile", [{"store": {"A": {"dia": 5}}, "defaultProfile": "B"}], "not in its store"),
        ("entries", [{"sgv": 120}], "Item 1"),
        ("entries", [{"eventType": "Note"}], "is not an entry"),
    ],
)
def test_a_bad_document_refuses_the_batch_and_stores_nothing(
    world: ServiceWorld, ana: dict[str, Any], kind: str, body: list[Any], words: str
) -> None:
    good = {
        "treatments": {
            "eventType": "Carb Correction",
            "carbs": 12,
            "created_at": "2026-03-01T09:00:00Z",
        },
        "devicestatus": {
            "device": "x",
            "created_at": "2026-03-01T09:00:00Z",
            "openaps": {"iob": {"iob": 1.0}},
        },
        "profile": copy.deepcopy(_load("profile_mmol.json")),
        "entries": {"sgv": 130, "date": 1772355600000, "type": "sgv"},
    }[kind]
    answer = _post(world, ana, kind, [good, *body])
    assert answer.status_code == 400, answer.text
    detail = answer.json()["detail"]
    assert words.replace("Item 1", "Item 2") in detail or words in detail
    assert detail.endswith(".")
    assert "\n" not in detail
    vault = _vault(world, ana["pid"])
    for code in ("glucose", "insulin_on_board"):
        assert len(vault.read_series(code, purpose=Purpose.SELF_ACCESS)) == 0
    assert _events(world, ana["pid"], EventKind.MEAL) == []
    read_kind = {"profile": "profile.json"}.get(kind, f"{kind}.json")
    assert _get(world, ana, f"/api/v1/{read_kind}") == []


def test_credentials_as_each_client_sends_them(world: ServiceWorld, ana: dict[str, Any]) -> None:
    token = ana["token"]
    for headers, params in (
        (_secret(token), ""),
        ({"api-secret": f"token={token}"}, ""),
        ({"api-secret": token}, ""),
        ({"Authorization": f"Bearer {token}"}, ""),
        ({}, f"?token={token}"),
    ):
        answer = world.client.get(f"/api/v1/verifyauth{params}", headers=headers)
        assert answer.json()["message"]["message"] == "OK", headers
        assert answer.json()["message"]["canWrite"] is True
    nobody = world.client.get("/api/v1/verifyauth").json()["message"]
    assert (nobody["message"], nobody["canRead"], nobody["rolefound"]) == (
        "UNAUTHORIZED",
        False,
        "NOTFOUND",
    )
    wrong = world.client.get("/api/v1/verifyauth", headers=_secret("guess")).json()
    assert wrong["message"]["message"] == "UNAUTHORIZED"
    reader = world.token("ana", ana["pid"], "self_access")
    refused = world.client.post(
        "/api/v1/devicestatus", json=_load("loop_devicestatus.json"), headers=_secret(reader)
    )
    assert refused.status_code == 403
    assert "write scope" in refused.json()["detail"]
    assert (
        world.client.get("/api/v1/verifyauth", headers=_secret(reader)).json()["message"][
            "canWrite"
        ]
        is False
    )
    writer = world.token("ana", ana["pid"], "write")
    blind = world.client.get("/api/v1/treatments.json", headers=_secret(writer))
    assert blind.status_code == 403


def test_a_purpose_reads_kept_documents_only_under_a_grant_that_covers_them(
    world: ServiceWorld, ana: dict[str, Any]
) -> None:
    _post(world, ana, "devicestatus", _load("loop_devicestatus.json"))
    _post(world, ana, "entries", _load("xdrip_entries.json"))
    forecasting = _secret(world.token("ana", ana["pid"], "forecasting"))

    def count(path: str) -> int:
        answer = world.client.get(path, headers=forecasting)
        assert answer.status_code == 200, answer.text
        return len(answer.json())

    assert count("/api/v1/devicestatus.json") == 0
    assert count("/api/v1/entries.json") == 0
    vault = _vault(world, ana["pid"])
    vault.grant(Scope.parse("metric:glucose"), Purpose.FORECASTING)
    assert count("/api/v1/entries.json") == 10
    assert count("/api/v1/devicestatus.json") == 0  # a metric grant does not name them
    vault.grant(Scope.parse(f"source:{ns.SOURCE}"), Purpose.FORECASTING)
    assert count("/api/v1/devicestatus.json") == 2


def test_kept_documents_are_sealed_in_the_store(
    world: ServiceWorld, ana: dict[str, Any], tmp_path: Path
) -> None:
    _post(world, ana, "treatments", [_load("xdrip_treatment_put.json")])
    _post(world, ana, "profile", _load("profile_mmol.json"))
    _post(world, ana, "devicestatus", _load("loop_devicestatus.json"))
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("service.db*"))
    for plain in (b"porridge", b"Weekday", b"loop://iPhone", b"Insulet", b"Europe/Berlin"):
        assert plain not in raw


# -- the vault's documents -------------------------------------------------------------------
def test_documents_are_newest_first_across_days_and_replaced_by_id(store: Store) -> None:
    person = store.add_person("Bo")
    vault = store.vault(person)
    start = 1_767_225_600_000  # 2026-01-01
    docs = [
        Document(f"{i:024x}", start + i * 7 * 3_600_000, {"n": i, "eventType": "Note"})
        for i in range(40)
    ]
    assert vault.put_documents("nightscout:treatments", docs) == [None] * 40
    newest = vault.documents(
        "nightscout:treatments", source="s", purpose=Purpose.SELF_ACCESS, limit=5
    )
    assert [d.doc["n"] for d in newest] == [39, 38, 37, 36, 35]
    window = vault.documents(
        "nightscout:treatments",
        source="s",
        purpose=Purpose.SELF_ACCESS,
        since=datetime.fromtimestamp((start + 10 * 7 * 3_600_000) / 1000, UTC),
        until=datetime.fromtimestamp((start + 13 * 7 * 3_600_000) / 1000, UTC),
    )
    assert [d.doc["n"] for d in window] == [12, 11, 10]
    even = vault.documents(
        "nightscout:treatments",
        source="s",
        purpose=Purpose.SELF_ACCESS,
        limit=3,
        where=lambda d: d.doc["n"] % 2 == 0,
    )
    assert [d.doc["n"] for d in even] == [38, 36, 34]
    replaced = vault.put_documents(
        "nightscout:treatments", [Document(docs[5].id, docs[5].ts_ms + 1, {"n": 105})]
    )
    assert replaced == [docs[5]]
    assert vault.delete_document("nightscout:treatments", docs[6].id) == docs[6]
    assert vault.delete_document("nightscout:treatments", docs[6].id) is None
    every = vault.documents("nightscout:treatments", source="s", purpose=Purpose.SELF_ACCESS)
    assert len(every) == 39
    assert 105 in [d.doc["n"] for d in every]
    assert vault.streams() == []  # documents are no stream of observations
    other = store.vault(store.add_person("Cy"))
    assert (
        len(other.documents("nightscout:treatments", source="s", purpose=Purpose.SELF_ACCESS)) == 0
    )


# -- the query language ------------------------------------------------------------------------
FIELDS = st.sampled_from(["date", "dateString", "created_at", "sgv", "type", "eventType", "x.y"])
OPS = st.sampled_from(["", "[$gte]", "[$gt]", "[$lte]", "[$lt]", "[$eq]", "[$ne]", "[$exists]"])
MOMENTS = st.integers(min_value=0, max_value=4_000_000_000_000)


@settings(max_examples=300, deadline=None)
@given(
    params=st.lists(
        st.tuples(
            st.one_of(
                st.builds(lambda f, o: f"find[{f}]{o}", FIELDS, OPS),
                st.sampled_from(["count", "token", "find", "find[]", "find[a][b][c]"]),
                st.text(max_size=12),
            ),
            st.one_of(MOMENTS.map(str), st.text(max_size=24)),
        ),
        max_size=6,
    ),
    doc=st.dictionaries(
        st.sampled_from(["sgv", "type", "eventType", "x"]),
        st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=5)),
    ),
    ts=MOMENTS,
)
def test_any_query_string_is_read_or_refused_in_one_sentence(
    params: list[tuple[str, str]], doc: dict[str, Any], ts: int
) -> None:
    try:
        query = ns.parse_query(params)
    except ns.RefusedError as exc:
        refused: ns.RefusedError | None = exc
    else:
        refused = None
    if refused is not None:
        assert refused.status == 400
        assert str(refused).endswith(".")
        assert "\n" not in str(refused)
        return
    since, until = query.span_ms()
    if ns.matches(doc, ts, query.conditions):
        assert since is None or since <= ts
        assert until is None or ts < until
