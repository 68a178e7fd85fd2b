"""Attacker: someone with write access to the database but no key (hole 4 of the review).

Whatever they do to the audit rows — edit, delete, reorder, truncate, with or without
rebuilding the hashes and the head — ``audit verify`` reports it; rolling the whole
chain back to an older signed head is caught by a receipt the person kept; a consent,
account or token row replaced by an older sealed copy of itself is caught (consent on
the next read, which then fails closed).

Checked against the previous release: deleting the checkpoint rows, dropping entries and
rebuilding hashes verified "intact"; entries after the last checkpoint could be
relabelled; a revoked grant came back by restoring the older consent blob; actors were
account names in the clear.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lifetwin.core.errors import StoreError
from lifetwin.privacy.audit import GENESIS, SERVICE_CHAIN, chain_hash
from lifetwin.privacy.consent import Purpose, Scope
from lifetwin.services.accounts import Accounts, Role
from lifetwin.services.audit_view import verify_chain_of
from lifetwin.services.home import init_home, open_home

ME = Purpose.SELF_ACCESS


def _db(home: Path) -> sqlite3.Connection:
    return sqlite3.connect(home / "lifetwin.db", isolation_level=None)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home whose chain has ~40 entries and a consent history."""
    home = tmp_path_factory.mktemp("audit") / "home"
    store = init_home(home)
    vault = store.vault(store.add_person("Ada"))
    grant = vault.grant(Scope.parse("all"), Purpose.FORECASTING)
    for _ in range(30):
        vault.read_series("heart_rate", purpose=ME)
    vault.revoke(grant.id)
    for _ in range(5):
        vault.read_series("heart_rate", purpose=ME)
    store.close()
    return home


@pytest.fixture
def home(pristine: Path, tmp_path: Path) -> Path:
    import shutil

    copy = tmp_path / "home"
    shutil.copytree(pristine, copy)
    return copy


def _rows(db: sqlite3.Connection) -> list[tuple[str, int, bytes, bytes]]:
    return [
        (p, int(s), bytes(e), bytes(h))
        for p, s, e, h in db.execute("SELECT person_id, seq, entry, hash FROM audit ORDER BY seq")
    ]


def _rewrite(db: sqlite3.Connection, person: str, entries: list[bytes]) -> None:
    """Write a chain as an attacker without the key would: hashes rebuilt, head moved."""
    db.execute("DELETE FROM audit WHERE person_id = ?", (person,))
    previous = GENESIS
    for seq, raw in enumerate(entries, start=1):
        record = json.loads(raw)
        record["seq"] = seq
        raw = json.dumps(record, separators=(",", ":"), sort_keys=True).encode()
        previous = chain_hash(previous, raw)
        db.execute("INSERT INTO audit VALUES (?, ?, ?, ?)", (person, seq, raw, previous))
    db.execute(
        "UPDATE audit_head SET seq = ?, hash = ? WHERE person_id = ?",
        (len(entries), previous, person),
    )


def _verify(home: Path) -> str | None:
    store = open_home(home)
    try:
        person = store.person("Ada").id
        return verify_chain_of(store, person).problem
    finally:
        store.close()


def test_rebuilding_the_chain_without_checkpoints_is_caught(home: Path) -> None:
    with _db(home) as db:
        person = _rows(db)[0][0]
        entries = [e for p, _s, e, _h in _rows(db) if p == person]
        db.execute("DELETE FROM audit_checkpoints")
        _rewrite(db, person, entries[:-10])  # ten reads "never happened"
    assert _verify(home) is not None


def test_relabelling_the_newest_entry_is_caught(home: Path) -> None:
    with _db(home) as db:
        person = _rows(db)[0][0]
        entries = [e for p, _s, e, _h in _rows(db) if p == person]
        entries[-1] = entries[-1].replace(b'"read"', b'"view"')
        _rewrite(db, person, entries)
    assert "signature" in (_verify(home) or "")


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    operation=st.sampled_from(["edit", "delete", "swap", "truncate", "append"]),
    where=st.integers(min_value=0, max_value=10_000),
    rebuild=st.booleans(),
)
def test_any_change_to_the_rows_is_reported_unless_one_has_the_key(
    pristine: Path,
    tmp_path_factory: pytest.TempPathFactory,
    operation: str,
    where: int,
    rebuild: bool,
) -> None:
    import shutil

    home = tmp_path_factory.mktemp("prop") / "home"
    shutil.copytree(pristine, home)
    with _db(home) as db:
        rows = _rows(db)
        person = rows[0][0]
        entries = [e for p, _s, e, _h in rows if p == person]
        i = where % len(entries)
        changed = list(entries)
        if operation == "edit":
            changed[i] = changed[i].replace(b'"ts":', b'"ts":1')
        elif operation == "delete":
            del changed[i]
        elif operation == "swap":
            j = (i + 1) % len(changed)
            changed[i], changed[j] = changed[j], changed[i]
            if changed == entries:
                changed = changed[:-1]
        elif operation == "truncate":
            changed = changed[: max(1, i)] if i < len(changed) - 1 else changed[:-1]
        else:
            changed.append(changed[-1])
        if rebuild:
            _rewrite(db, person, changed)
        else:  # rows changed, their stored hashes and the head left as they were
            stored = [h for p, _s, _e, h in rows if p == person]
            db.execute("DELETE FROM audit WHERE person_id = ?", (person,))
            for seq, raw in enumerate(changed, start=1):
                digest = stored[seq - 1] if seq <= len(stored) else hashlib.sha256(raw).digest()
                db.execute("INSERT INTO audit VALUES (?, ?, ?, ?)", (person, seq, raw, digest))
    assert _verify(home) is not None


def test_a_receipt_catches_a_rollback_to_an_older_signed_head(home: Path, tmp_path: Path) -> None:
    import shutil

    before = tmp_path / "before"
    shutil.copytree(home, before)  # the attacker's earlier copy of the database
    store = open_home(home)
    vault = store.vault(store.person("Ada"))
    vault.read_series("heart_rate", purpose=ME)  # a read the attacker wants gone
    receipt = store.audit.receipt(vault.person.id)
    store.close()
    for name in ("lifetwin.db", "lifetwin.db-wal", "lifetwin.db-shm"):
        (home / name).unlink(missing_ok=True)
        if (before / name).exists():
            shutil.copy(before / name, home / name)
    store = open_home(home)
    person = store.person("Ada")
    assert verify_chain_of(store, person.id).intact  # consistent and signed: a rollback
    found = verify_chain_of(store, person.id, receipt)
    assert not found.intact
    assert "history was cut back" in (found.problem or "")
    forged = {**receipt, "seq": 3}
    assert "not valid" in (store.audit.check_receipt(person.id, forged) or "")
    store.close()


def test_an_older_copy_of_a_consent_row_brings_nothing_back(home: Path) -> None:
    store = open_home(home)
    vault = store.vault(store.person("Ada"))
    grant = vault.grant(Scope.parse("all"), Purpose.RESEARCH)
    store.close()
    with _db(home) as db:
        old = db.execute("SELECT tag, version, sealed FROM grants").fetchall()
    store = open_home(home)
    store.vault(store.person("Ada")).revoke(grant.id)
    store.close()
    with _db(home) as db:  # restore the rows as they were while the grant was active
        for tag, version, sealed in old:
            db.execute(
                "UPDATE grants SET version = ?, sealed = ? WHERE tag = ?", (version, sealed, tag)
            )
    store = open_home(home)
    vault = store.vault(store.person("Ada"))
    with pytest.raises(StoreError, match=r"consent records .* were altered"):
        vault.read_series("heart_rate", purpose=Purpose.RESEARCH)
    assert "consent" in (verify_chain_of(store, vault.person.id).problem or "")
    assert len(vault.read_series("heart_rate", purpose=ME)) == 0  # the person's own view works
    store.close()


def test_older_or_resurrected_account_and_token_rows_are_reported(home: Path) -> None:
    store = open_home(home)
    person = store.person("Ada")
    accounts = Accounts(store)
    accounts.create("ada", "correct horse battery", Role.PERSON, person.id)
    token = accounts.issue_token(accounts.get("ada"), person.id, ["self_access"])
    store.close()
    with _db(home) as db:
        old_account = db.execute("SELECT tag, version, sealed FROM accounts").fetchone()
        old_token = db.execute("SELECT * FROM tokens").fetchone()
    store = open_home(home)
    accounts = Accounts(store)
    accounts.set_password("ada", "a new password here")
    accounts.revoke_token(token.token.id)
    assert verify_chain_of(store, SERVICE_CHAIN).intact
    store.close()
    with _db(home) as db:
        db.execute(
            "UPDATE accounts SET version = ?, sealed = ? WHERE tag = ?",
            (old_account[1], old_account[2], old_account[0]),
        )
        db.execute("INSERT INTO tokens VALUES (?, ?, ?, ?, ?, ?, ?)", old_token)
    store = open_home(home)
    found = verify_chain_of(store, SERVICE_CHAIN)
    assert not found.intact
    store.close()


def test_actors_in_the_chain_are_pseudonyms(home: Path) -> None:
    store = open_home(home)
    person = store.person("Ada")
    Accounts(store).create("ada-lovelace", "correct horse battery", Role.PERSON, person.id)
    vault = store.vault(person, actor=store.actor_name("person", "ada-lovelace"))
    vault.read_series("heart_rate", purpose=ME)
    store.close()
    raw = b"".join(p.read_bytes() for p in home.glob("lifetwin.db*"))
    assert b"ada-lovelace" not in raw
    assert hashlib.sha256(b"ada-lovelace").hexdigest().encode() not in raw
