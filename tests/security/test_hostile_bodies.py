"""Attacker: anyone with a token sending bodies meant to break things (hole 7).

Every hostile body gets a 4xx problem document naming the item, nothing is written, and
the person's pages keep working for everyone.

Checked against the previous release: a time of day -104,166,666,667 was stored and then
broke /persons/{id} and /streams with a 500 for everyone; NaN, booleans and 2**70 got
past the hand-written check in places; Nightscout accepted ``date: Infinity``.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ServiceWorld
from lifetwin.privacy.consent import Purpose

GOOD = {"metric": "heart_rate", "value": 61, "unit": "bpm", "time": "2026-01-01T00:00:00Z"}


def _deep(levels: int) -> str:
    return "[" * levels + "1" + "]" * levels


HOSTILE: list[tuple[str, bytes]] = [
    ("NaN", b'{"observations": [{"metric": "heart_rate", "value": NaN, "time": 1767225600000}]}'),
    ("Infinity", b'[{"metric": "heart_rate", "value": Infinity, "time": 1767225600000}]'),
    ("-Infinity", b'[{"metric": "heart_rate", "value": -Infinity, "time": 1767225600000}]'),
    ("1e400", b'[{"metric": "heart_rate", "value": 1e400, "time": 1767225600000}]'),
    (
        "big value",
        b'[{"metric": "heart_rate", "value": 1180591620717411303424, "time": 1767225600000}]',
    ),
    ("big time", b'[{"metric": "heart_rate", "value": 60, "time": 1180591620717411303424}]'),
    ("far past", b'[{"metric": "heart_rate", "value": 60, "time": -9000000000000000000}]'),
    (
        "day -104,166,666,667",
        b'[{"metric": "heart_rate", "value": 60, "time": -8999999999988800000}]',
    ),
    ("year 1800", b'[{"metric": "heart_rate", "value": 60, "time": "1800-01-01T00:00:00Z"}]'),
    ("boolean", b'[{"metric": "heart_rate", "value": true, "time": 1767225600000}]'),
    ("string", b'[{"metric": "heart_rate", "value": "60", "time": 1767225600000}]'),
    (
        "boolean tz",
        b'[{"metric": "heart_rate", "value": 60, "time": 1767225600000, "tz_min": true}]',
    ),
    (
        "nested",
        b'[{"metric": "heart_rate", "value": 60, "time": 1767225600000, "x": '
        + _deep(100).encode()
        + b"}]",
    ),
    ("deep body", _deep(5000).encode()),
    ("object value", b'[{"metric": "heart_rate", "value": {"a": 1}, "time": 1767225600000}]'),
    ("null metric", b'[{"metric": null, "value": 60, "time": 1767225600000}]'),
    ("empty", b"[]"),
    ("not json", b"{"),
    ("binary", bytes(range(256))),
]


@pytest.mark.parametrize(("what", "body"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_a_hostile_ingest_body_is_refused_and_nothing_breaks(
    world: ServiceWorld, what: str, body: bytes
) -> None:
    pid = world.add_person("Ana", "ana")
    auth = {"Authorization": f"Bearer {world.token('ana', pid)}"}
    url = f"/api/v1/persons/{pid}/observations"
    answer = world.client.post(
        url, content=body, headers={**auth, "Content-Type": "application/json"}
    )
    assert 400 <= answer.status_code < 500, (what, answer.status_code, answer.text[:200])
    assert answer.headers["content-type"].startswith("application/problem+json")
    detail = answer.json()["detail"]
    assert detail.endswith(".")
    assert "Traceback" not in detail
    vault = world.store.vault(world.store.person(pid))
    assert len(vault.read_series("heart_rate", purpose=Purpose.SELF_ACCESS)) == 0
    for page in (f"/api/v1/persons/{pid}", f"/api/v1/persons/{pid}/streams"):
        assert world.client.get(page, headers=auth).status_code == 200


def test_the_refusal_names_the_item(world: ServiceWorld) -> None:
    pid = world.add_person("Ana", "ana")
    auth = {"Authorization": f"Bearer {world.token('ana', pid)}"}
    batch = [dict(GOOD, time=1767225600000 + i * 60_000) for i in range(10)]
    batch[6] = dict(batch[6], value=True)
    answer = world.client.post(f"/api/v1/persons/{pid}/observations", json=batch, headers=auth)
    assert answer.status_code == 422
    assert answer.json()["detail"].startswith("Observation 7")


NIGHTSCOUT: list[tuple[str, bytes]] = [
    ("date Infinity", b'[{"type": "sgv", "sgv": 120, "date": Infinity}]'),
    ("date 1e400", b'[{"type": "sgv", "sgv": 120, "date": 1e400}]'),
    ("huge date", b'[{"type": "sgv", "sgv": 120, "date": 99999999999999999999999}]'),
    ("date far past", b'[{"type": "sgv", "sgv": 120, "date": -9000000000000000000}]'),
    ("sgv NaN", b'[{"type": "sgv", "sgv": NaN, "date": 1767225600000}]'),
    ("deep", _deep(3000).encode()),
    (
        "deep item",
        b'[{"type": "sgv", "sgv": 120, "date": 1767225600000, "x": ' + _deep(100).encode() + b"}]",
    ),
    (
        "duration",
        b'[{"eventType": "Temp Basal", "created_at": "2026-01-01T00:00:00Z", "duration": 1e300}]',
    ),
]


@pytest.mark.parametrize(("what", "body"), NIGHTSCOUT, ids=[h[0] for h in NIGHTSCOUT])
def test_a_hostile_nightscout_upload_is_refused(
    world: ServiceWorld, what: str, body: bytes
) -> None:
    pid = world.add_person("Ana", "ana")
    auth = {"Authorization": f"Bearer {world.token('ana', pid)}"}
    kind = "treatments" if b"eventType" in body else "entries"
    answer = world.client.post(
        f"/api/v1/{kind}", content=body, headers={**auth, "Content-Type": "application/json"}
    )
    assert 400 <= answer.status_code < 500, (what, answer.status_code, answer.text[:200])
    vault = world.store.vault(world.store.person(pid))
    assert len(vault.read_series("glucose", purpose=Purpose.SELF_ACCESS)) == 0
    assert world.client.get(f"/api/v1/persons/{pid}/streams", headers=auth).status_code == 200


_MADE: dict[int, tuple[str, str]] = {}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    item=st.dictionaries(
        st.sampled_from(["metric", "value", "unit", "time", "end", "source", "tz_min", "x"]),
        json_values,
        max_size=8,
    )
)
def test_no_observation_body_makes_a_server_error(
    world: ServiceWorld, item: dict[str, Any]
) -> None:
    import json

    if id(world) not in _MADE:  # one person for all examples of this world
        made = world.add_person("Fuzz", "fuzz")
        _MADE[id(world)] = (made, world.token("fuzz", made))
    pid, token = _MADE[id(world)]
    body = json.dumps([item], allow_nan=True).encode()
    answer = world.client.post(
        f"/api/v1/persons/{pid}/observations",
        content=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert answer.status_code < 500, answer.text[:300]
