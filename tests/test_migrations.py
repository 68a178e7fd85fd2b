"""A store made by the previous release (format 1) is upgraded in place, on both backends,
keeping every value, grant, account, token and audit chain (fixtures: tests/fixtures/stores)."""

from __future__ import annotations

import hashlib
import json
import shutil
import stat
from pathlib import Path

import pytest

from conftest import Cli
from lifetwin.privacy.audit import SERVICE_CHAIN
from lifetwin.privacy.consent import Purpose, Scope
from lifetwin.services.accounts import Accounts
from lifetwin.services.audit_view import verify_chain_of
from lifetwin.services.home import HomeConfig, open_home
from lifetwin.store.vault import Store

FIXTURES = Path(__file__).parent / "fixtures" / "stores" / "v1"


def _sqlite_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    shutil.copytree(FIXTURES / "sqlite", home)
    (home / "lifetwin.db").chmod(0o644)  # as the first release created it
    return home


def _postgres_home(tmp_path: Path, url: str) -> Path:
    import psycopg

    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(FIXTURES / "postgresql" / "master.key", home / "master.key")
    shutil.copy(FIXTURES / "postgresql" / "facts.json", home / "facts.json")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute((FIXTURES / "postgresql" / "dump.sql").read_text())
        conn.execute("SET search_path TO public")
    HomeConfig(store=url, key="file").write(home)
    return home


def _check_upgraded(store: Store, facts: dict[str, object]) -> None:
    ada = store.person(str(facts["ada"]))
    vault = store.vault(ada)
    me = Purpose.SELF_ACCESS
    assert len(vault.read_series("heart_rate", purpose=me)) == facts["heart_rate"]
    assert len(vault.read_series("glucose", purpose=me)) == facts["glucose"]
    assert len(vault.read_records("event:meal", purpose=me)) == 1
    grants = {g.id: g for g in vault.consents().grants}
    assert set(facts["grants"]) <= set(grants)  # type: ignore[arg-type]
    assert grants[str(facts["revoked"])].revoked_at is not None
    assert vault.profile()["sex"] == "female"
    assert vault.derived("twin:state") is not None
    assert [h["id"] for h in vault.webhooks()] == ["h1"]
    # Consent still works, and is enforced: the revoked research grant allows nothing.
    assert len(vault.read_series("glucose", purpose=Purpose.RESEARCH)) == 0
    assert len(vault.read_series("glucose", purpose=Purpose.FORECASTING)) == facts["glucose"]
    accounts = Accounts(store)
    assert [a.name for a in accounts.all()] == ["ada", "dr-lee"]
    token = str(facts["token"])
    assert accounts.check_token(token).person_id == ada.id
    assert accounts.check_api_secret(hashlib.sha1(token.encode()).hexdigest()).account == "ada"
    assert not [k for k in store.backend.meta_keys() if k.startswith(("account/", "token"))]
    for chain in [*store.backend.audit_persons(), SERVICE_CHAIN]:
        found = verify_chain_of(store, chain)
        assert found.intact, (chain, found.problem)
    grant = vault.grant(Scope.parse("domain:sleep"), Purpose.RECOMMENDATIONS)
    assert grant.id in {g.id for g in vault.consents().grants}


def test_a_format_1_sqlite_store_is_upgraded_in_place_with_a_backup(tmp_path: Path) -> None:
    home = _sqlite_home(tmp_path)
    facts = json.loads((home / "facts.json").read_text())
    token_sha1 = hashlib.sha1(facts["token"].encode()).hexdigest().encode()
    assert token_sha1 in (home / "lifetwin.db").read_bytes()  # the hole of format 1
    store = open_home(home)
    notes = " ".join(store.notes)
    assert "Upgraded the store from format 0001 to 0002" in notes
    assert "readable by you only" in notes  # the 0644 database was tightened
    backups = list(home.glob("lifetwin.db.format-0001-*"))
    assert len(backups) == 1
    assert stat.S_IMODE(backups[0].stat().st_mode) == 0o600
    assert stat.S_IMODE((home / "lifetwin.db").stat().st_mode) == 0o600
    _check_upgraded(store, facts)
    store.close()
    after = b"".join(p.read_bytes() for p in home.glob("lifetwin.db*") if "format" not in p.name)
    assert token_sha1 not in after
    again = open_home(home)
    assert not [n for n in again.notes if "Upgraded" in n]  # once only
    again.close()


@pytest.mark.postgres
def test_a_format_1_postgresql_store_is_upgraded_in_place(
    tmp_path: Path, postgres_url: str
) -> None:
    home = _postgres_home(tmp_path, postgres_url)
    facts = json.loads((home / "facts.json").read_text())
    store = open_home(home)
    assert any("Upgraded the store from format 0001 to 0002" in n for n in store.notes)
    assert any("pg_dump" in n for n in store.notes)
    _check_upgraded(store, facts)
    store.close()


def test_lifetwin_migrate_upgrades_once(cli: Cli, tmp_path: Path) -> None:
    home = _sqlite_home(tmp_path)
    run = lambda *a: cli("--home", str(home), *a)  # noqa: E731
    first = run("migrate")
    assert first.returncode == 0, first.stderr
    assert "Upgraded the store from format 0001 to 0002" in first.stderr
    second = run("migrate")
    assert second.returncode == 0
    assert "already in this version's format" in second.stdout
    verified = run("audit", "verify")
    assert verified.returncode == 0, verified.stderr
    assert "service: intact" in verified.stdout
