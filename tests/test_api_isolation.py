"""Isolation, driven from the OpenAPI spec: for every operation that names a person (or one
of their grants, tokens, webhooks or imports), person A's credentials aimed at person B's
resources get 403 or 404, nothing of B's comes back, and nothing of B's changes.

New endpoints are covered automatically: the test walks the spec the service serves.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import ServiceWorld
from lifetwin.privacy.consent import Purpose, Scope
from lifetwin.services.accounts import Role
from lifetwin.store.crypto import MasterKey
from lifetwin.store.sql import SQLiteBackend
from lifetwin.store.vault import Store

SECRET_NAME = "Beatrix Quarantotto"
SECRET_VALUE = 123.456


def _example(schema: dict[str, Any], spec: dict[str, Any], name: str = "") -> Any:
    """A small valid instance of a JSON schema (enough to get past validation)."""
    if "$ref" in schema:
        ref = schema["$ref"].split("/")[-1]
        return _example(spec["components"]["schemas"][ref], spec, name)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"]
            return _example(options[0], spec, name)
    if "enum" in schema:
        return schema["enum"][0]
    known = {
        "url": "http://127.0.0.1:9/hook",
        "scope": "all",
        "time": "2026-01-01T00:00:00Z",
        "metric": "heart_rate",
        "person_id": "",
        "name": "Someone",
        "account": "someone",
        "password": "correct horse battery",
        "code": "000000",
    }
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        return {
            k: _example(v, spec, k) for k, v in props.items() if k in schema.get("required", [])
        }
    if kind == "array":
        return [_example(schema.get("items", {}), spec, name)] * max(1, schema.get("minItems", 1))
    if name in known:
        return known[name]
    if kind == "string":
        return "x"
    if kind in ("number", "integer"):
        return schema.get("minimum", 1) or 1
    if kind == "boolean":
        return False
    return None


@pytest.fixture
def two_persons(world: ServiceWorld) -> dict[str, Any]:
    a = world.add_person("Ada", "ada")
    b = world.add_person(SECRET_NAME, "bea")
    b_token = world.token("bea", b)
    b_auth = {"Authorization": f"Bearer {b_token}"}
    obs = [
        {
            "metric": "glucose",
            "value": SECRET_VALUE,
            "unit": "mg/dL",
            "time": "2026-01-01T00:00:00Z",
        }
    ]
    assert (
        world.client.post(f"/api/v1/persons/{b}/observations", json=obs, headers=b_auth).status_code
        == 201
    )
    b_vault = world.store.vault(world.store.person(b))
    grant = b_vault.grant(Scope.parse("all"), Purpose.TWIN_CORE)
    hook = world.client.post(
        f"/api/v1/persons/{b}/webhooks", json={"url": "http://127.0.0.1:9/b"}, headers=b_auth
    )
    ids = {
        "person_id": b,
        "grant_id": grant.id,
        "hook_id": hook.json()["id"],
        "token_id": world.accounts.tokens("bea")[0].id,
        "job_id": "0123456789ab",
    }
    return {"a": a, "b": b, "ids": ids, "b_token": b_token}


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    ops = []
    for path, methods in spec["paths"].items():
        if "{" not in path:
            continue
        for method, op in methods.items():
            ops.append((path, method, op))
    return ops


def _call(
    world: ServiceWorld,
    client: Any,
    path: str,
    method: str,
    op: dict[str, Any],
    ids: dict[str, str],
    headers: dict[str, str],
    spec: dict[str, Any],
) -> Any:
    url = path
    for name, value in ids.items():
        url = url.replace("{" + name + "}", value)
    params = {}
    for p in op.get("parameters", []):
        if p["in"] == "query" and p.get("required"):
            params[p["name"]] = {"metric": "glucose", "confirm": SECRET_NAME}.get(p["name"], "x")
    if path.endswith("/events"):
        params["once"] = "true"  # the stream ends when there is nothing to send
    body = op.get("requestBody", {}).get("content", {})
    kwargs: dict[str, Any] = {"params": params, "headers": headers}
    if "multipart/form-data" in body:
        kwargs["files"] = {"file": ("x.csv", b"a,b\n1,2\n", "text/csv")}
    elif "application/json" in body:
        kwargs["json"] = _example(body["application/json"]["schema"], spec)
        if isinstance(kwargs["json"], dict) and "observations" in kwargs["json"]:
            kwargs["json"] = {
                "observations": [
                    {
                        "metric": "heart_rate",
                        "value": 60,
                        "unit": "bpm",
                        "time": "2026-01-01T00:00:00Z",
                    }
                ]
            }
    return client.request(method.upper(), url, **kwargs)


def _b_state(world: ServiceWorld, b: str) -> tuple[Any, ...]:
    vault = world.store.vault(world.store.person(b))
    return (
        len(vault.read_series("glucose", purpose=Purpose.SELF_ACCESS)),
        len(vault.read_series("heart_rate", purpose=Purpose.SELF_ACCESS)),
        [(g.id, g.revoked_at) for g in vault.consents().grants],
        vault.webhooks(),
        [t.id for t in world.accounts.tokens("bea")],
    )


@pytest.mark.parametrize("credential", ["token", "session", "caregiver"])
def test_no_operation_lets_one_person_reach_anothers_data(
    world: ServiceWorld, two_persons: dict[str, Any], credential: str
) -> None:
    spec = world.client.get("/api/v1/openapi.json").json()
    ops = _operations(spec)
    person_ops = [o for o in ops if "{person_id}" in o[0]]
    assert len(person_ops) >= 20  # the spec really lists the person endpoints
    client = world.new_client()
    if credential == "token":
        headers = {"Authorization": f"Bearer {world.token('ada', two_persons['a'])}"}
    elif credential == "session":
        headers = {"X-CSRF-Token": world.sign_in(client, "ada")}
    else:
        world.accounts.create("dr-who", "correct horse battery", Role.CAREGIVER)
        world.store.vault(world.store.person(two_persons["a"])).grant(
            Scope.parse("all"), Purpose.SHARING, recipient="dr-who"
        )
        headers = {"X-CSRF-Token": world.sign_in(client, "dr-who")}
    before = _b_state(world, two_persons["b"])
    tested = 0
    for path, method, op in ops:
        response = _call(world, client, path, method, op, two_persons["ids"], headers, spec)
        where = f"{method.upper()} {path}"
        assert response.status_code in (403, 404), (
            f"{where} answered {response.status_code}: {response.text[:200]}"
        )
        text = response.text
        assert SECRET_NAME not in text, where
        assert str(SECRET_VALUE) not in text, where
        assert two_persons["ids"]["hook_id"] not in text or "{hook_id}" in path, where
        assert two_persons["b_token"] not in text, where
        tested += 1
    assert tested == len(ops)
    assert _b_state(world, two_persons["b"]) == before
    assert world.store.person(two_persons["b"]).name == SECRET_NAME


def test_the_committed_openapi_spec_is_the_served_one(tmp_path: Path) -> None:
    """docs/openapi.json is what a service with LifeTwin's own packs serves (installed
    packs such as the example add their routes to the served spec, not to the doc)."""
    from lifetwin.packs.registry import builtin_only

    committed = Path(__file__).parent.parent / "docs" / "openapi.json"
    with builtin_only():
        backend = SQLiteBackend(tmp_path / "spec.db", create=True)
        world = ServiceWorld(Store.initialize(backend, MasterKey.generate()))
        served = world.client.get("/api/v1/openapi.json").json()
        world.app.state.service.close()
    assert json.loads(committed.read_text()) == served, (
        "docs/openapi.json is stale: run `lifetwin openapi --builtin > docs/openapi.json`"
    )


def _allowed(declared: str, held: str) -> bool:
    """Whether a token holding only ``held`` may do an operation declaring ``declared``."""
    if declared == "read":  # reads for ?purpose=, self_access by default
        return held == "self_access"
    if declared == "any_purpose":
        return held != "write"
    return held in declared.split("|")


SCOPES = [p.value for p in Purpose if p is not Purpose.SHARING] + ["write"]


@pytest.mark.parametrize("held", SCOPES)
def test_every_operation_needs_its_own_scope(
    world: ServiceWorld, two_persons: dict[str, Any], held: str
) -> None:
    """A token of A with one scope, on A's own data: every operation whose declared scope
    (``x-lifetwin-scope`` in the spec) it lacks answers 403 and changes nothing; the others
    are not refused for the scope. Writing is never implied by a read purpose."""
    spec = world.client.get("/api/v1/openapi.json").json()
    a = two_persons["a"]
    token = world.token("ada", a, held)
    headers = {"Authorization": f"Bearer {token}"}
    ids = {**two_persons["ids"], "person_id": a}
    vault = world.store.vault(world.store.person(a))
    vault.grant(Scope.parse("all"), Purpose.TWIN_CORE)
    before = _b_state(world, a)
    client = world.new_client()
    checked = 0
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            declared = op.get("x-lifetwin-scope")
            assert declared is not None or path == "/health", f"{method} {path} declares no scope"
            if declared in (None, "account", "admin", "none"):
                continue
            response = _call(world, client, path, method, op, ids, headers, spec)
            where = f"{method.upper()} {path} with a {held} token"
            if _allowed(declared, held):
                assert response.status_code not in (401, 403), f"{where}: {response.text[:200]}"
            else:
                assert response.status_code == 403, f"{where}: {response.status_code}"
            checked += 1
    assert checked >= 30
    after = _b_state(world, a)
    if held != "write":  # only the write scope may add data
        assert after[:2] == before[:2]


# -- the study operator: studies and their aggregates, never a person ------------------------
def _operator_headers(world: ServiceWorld, client: Any, credential: str) -> dict[str, str]:
    from conftest import PASSWORD

    world.accounts.create("olga", PASSWORD, Role.OPERATOR)
    if credential == "session":
        return {"X-CSRF-Token": world.sign_in(client, "olga")}
    token = world.accounts.issue_token(world.accounts.get("olga"), "", ["research"])
    return {"Authorization": f"Bearer {token.secret}"}


@pytest.mark.parametrize("credential", ["session", "token"])
def test_an_operator_gets_403_on_every_route_that_is_not_a_studys(
    world: ServiceWorld, two_persons: dict[str, Any], credential: str
) -> None:
    """A study operator's session or token: every operation but the studies' own and the
    account's — every person route, the persons list, the administrator's — answers 403,
    returns nothing of anyone's and changes nothing, whoever the person is."""
    spec = world.client.get("/api/v1/openapi.json").json()
    client = world.new_client()
    headers = _operator_headers(world, client, credential)
    before = {p: _b_state(world, two_persons[p]) for p in ("a", "b")}
    checked = 0
    for who in ("a", "b"):
        ids = {**two_persons["ids"], "person_id": two_persons[who]}
        for path, methods in spec["paths"].items():
            for method, op in methods.items():
                if op.get("x-lifetwin-scope") in (None, "operator", "account", "none"):
                    continue
                response = _call(world, client, path, method, op, ids, headers, spec)
                where = f"{method.upper()} {path} as an operator ({credential})"
                assert response.status_code == 403, f"{where}: {response.status_code}"
                assert SECRET_NAME not in response.text, where
                assert str(SECRET_VALUE) not in response.text, where
                checked += 1
    assert checked >= 60
    assert {p: _b_state(world, two_persons[p]) for p in ("a", "b")} == before


PERSONAL_FIELDS = {"person", "person_id", "name", "pseudonym", "birth_date", "postcode"}


def _properties(schema: dict[str, Any], spec: dict[str, Any], seen: set[str]) -> Any:
    """Every (property name, schema) reachable from a response schema."""
    if "$ref" in schema:
        ref = schema["$ref"].split("/")[-1]
        if ref in seen:
            return
        seen.add(ref)
        yield from _properties(spec["components"]["schemas"][ref], spec, seen)
        return
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        for part in schema.get(key, []):
            yield from _properties(part, spec, seen)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            yield from _properties(schema[key], spec, seen)
    for name, sub in schema.get("properties", {}).items():
        yield name, sub
        yield from _properties(sub, spec, seen)


def test_no_operator_response_has_a_field_for_a_person(world: ServiceWorld) -> None:
    """What the operator's routes answer is shaped without a place for a person: no
    person, id, name or pseudonym field; what mentions persons is a count."""
    spec = world.client.get("/api/v1/openapi.json").json()
    operator_ops = [
        op
        for methods in spec["paths"].values()
        for op in methods.values()
        if op.get("x-lifetwin-scope") == "operator"
    ]
    assert len(operator_ops) >= 8
    for op in operator_ops:
        for code, response in op["responses"].items():
            if not code.startswith("2"):
                continue
            schema = response["content"]["application/json"]["schema"]
            for name, sub in _properties(schema, spec, set()):
                assert name not in PERSONAL_FIELDS, (op["summary"], name)
                if "person" in name:
                    assert sub.get("type") == "integer", (op["summary"], name)


def test_an_operators_token_names_no_person_and_carries_only_research(
    world: ServiceWorld, two_persons: dict[str, Any]
) -> None:
    from lifetwin.services.accounts import AccountError

    client = world.new_client()
    headers = _operator_headers(world, client, "session")
    olga = world.accounts.get("olga")
    for person, scopes in (
        (two_persons["a"], ["research"]),
        ("", ["self_access"]),
        ("", ["write"]),
    ):
        with pytest.raises(AccountError):
            world.accounts.issue_token(olga, person, scopes)
    made = client.post(  # type: ignore[attr-defined]
        "/api/v1/tokens", json={"person_id": "", "purposes": ["research"]}, headers=headers
    )
    assert made.status_code == 201, made.text
    refused = client.post(  # type: ignore[attr-defined]
        "/api/v1/tokens", json={"person_id": "", "purposes": ["twin_core"]}, headers=headers
    )
    assert refused.status_code == 403
    with pytest.raises(AccountError, match="needs the person"):
        world.accounts.issue_token(world.accounts.get("ada"), "", ["self_access"])
