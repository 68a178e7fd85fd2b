"""Fuzz the API from its own OpenAPI spec (schemathesis): whatever the request, the
answer is never a server error, and every error is a problem+json document."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from lifetwin.api.app import create_app
from lifetwin.privacy.consent import Purpose, Scope
from lifetwin.services.accounts import WRITE, Accounts, Role
from lifetwin.settings import Settings
from lifetwin.store.crypto import MasterKey
from lifetwin.store.sql import SQLiteBackend
from lifetwin.store.vault import Store

_HOME = Path(tempfile.mkdtemp(prefix="lifetwin-fuzz-"))
_STORE = Store.initialize(SQLiteBackend(_HOME / "fuzz.db", create=True), MasterKey.generate())
_PERSON = _STORE.add_person("Fuzz Target")
_VAULT = _STORE.vault(_PERSON)
for _purpose in (Purpose.TWIN_CORE, Purpose.FORECASTING):
    _VAULT.grant(Scope.parse("all"), _purpose)
_ACCOUNTS = Accounts(_STORE)
_ACCOUNTS.create("fuzz", "correct horse battery", Role.PERSON, _PERSON.id)
_TOKEN = _ACCOUNTS.issue_token(
    _ACCOUNTS.get("fuzz"),
    _PERSON.id,
    [p.value for p in Purpose if p is not Purpose.SHARING] + [WRITE],
    1,
).secret
APP = create_app(
    _STORE,
    Settings(
        analyze_after_ingest=False,
        ingest_requests=10**6,
        login_attempts=10**6,
        login_per_address=10**6,
        account_free_attempts=10**6,
        upload_dir=_HOME / "u",
        sse_max_s=0.3,  # event streams end quickly here, so every operation is fuzzed
    ),
)
APP.state.service.start()

# Every operation, the event stream and erasure included (erasure needs the exact name,
# which the fuzzer does not guess; if it did, later cases would meet a 404).
schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", APP)


@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_request_makes_the_service_fail(case: Any) -> None:
    if "person_id" in (case.path_parameters or {}):
        case.path_parameters["person_id"] = _PERSON.id  # aim at real data, not only 404s
    response = case.call(headers={"Authorization": f"Bearer {_TOKEN}"})
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.text[:300]}"
    if response.status_code >= 400:
        kind = response.headers["content-type"]
        kind = kind[0] if isinstance(kind, list) else kind
        assert kind.startswith("application/problem+json"), response.text[:200]
        assert "Traceback" not in response.text


@pytest.fixture(scope="module", autouse=True)
def _finish_background_work() -> Iterator[None]:
    yield
    APP.state.service.close()  # uploads the fuzzer started finish before the process ends
