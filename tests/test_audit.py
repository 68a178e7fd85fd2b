"""The tamper-evident audit log: every access recorded, every tampering detected."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import numpy as np
import pytest

from lifetwin.privacy.audit import CHECKPOINT_EVERY
from lifetwin.privacy.consent import Purpose, Scope
from lifetwin.services.home import init_home, open_home
from lifetwin.store.codec import Columns
from lifetwin.store.vault import Store


def _columns(n: int) -> Columns:
    z = np.zeros(n, dtype=np.int64)
    return Columns(
        1_700_000_000_000 + np.arange(n, dtype=np.int64) * 60_000, z, np.full(n, 70.0), z, z, z, z
    )


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    store = init_home(home)
    vault = store.vault(store.add_person("Ada"))
    vault.write_columns("heart_rate", "watch", None, "bpm", _columns(100))
    grant = vault.grant(Scope.parse("domain:vitals"), Purpose.FORECASTING)
    vault.read_series("heart_rate", purpose=Purpose.FORECASTING)
    vault.revoke(grant.id)
    for _ in range(20):
        vault.read_series("heart_rate", purpose=Purpose.SELF_ACCESS)
    store.close()
    return home


def _person_id(store: Store) -> str:
    return store.person("Ada").id


def _db(home: Path) -> sqlite3.Connection:
    return sqlite3.connect(home / "lifetwin.db", isolation_level=None)


def test_every_access_is_in_the_log_without_personal_values(home: Path) -> None:
    store = open_home(home)
    vault = store.vault(store.person("Ada"))
    entries = vault.audit_entries()
    actions = [e.action for e in entries]
    assert actions[:5] == ["create", "write", "grant", "read", "revoke"]
    read = entries[3]
    assert read.purpose == "forecasting"
    assert read.details is not None
    assert read.details["metric"] == "heart_rate"
    assert read.details["count"] == 100
    with _db(home) as db:
        raw = b"".join(bytes(r[0]) for r in db.execute("SELECT entry FROM audit"))
    assert b"heart_rate" not in raw  # details are sealed; the chain is verifiable without them
    assert store.audit.verify(vault.person.id) is None


def _tamper(home: Path, sql: str, *args: object) -> str | None:
    store = open_home(home)
    person = _person_id(store)
    with _db(home) as db:
        db.execute(sql, (*args, person))
    return store.audit.verify(person)


def test_an_altered_entry_is_named(home: Path) -> None:
    with _db(home) as db:
        (entry,) = db.execute("SELECT entry FROM audit WHERE seq = 4").fetchone()
    forged = bytes(entry).replace(b'"forecasting"', b'"twin_core__"')
    problem = _tamper(home, "UPDATE audit SET entry = ? WHERE seq = 4 AND person_id = ?", forged)
    assert problem == "entry 4 has been altered (its hash does not match its content)"


def test_a_deleted_entry_is_named(home: Path) -> None:
    problem = _tamper(home, "DELETE FROM audit WHERE seq = ? AND person_id = ?", 3)
    assert problem is not None
    assert problem.startswith("entry 3 is missing or out of order")


def test_two_swapped_entries_are_detected(home: Path) -> None:
    with _db(home) as db:
        rows = dict(db.execute("SELECT seq, entry FROM audit WHERE seq IN (5, 6)").fetchall())
        db.execute("UPDATE audit SET entry = ? WHERE seq = 5", (rows[6],))
        db.execute("UPDATE audit SET entry = ? WHERE seq = 6", (rows[5],))
    store = open_home(home)
    problem = store.audit.verify(_person_id(store))
    assert problem is not None
    assert "entry 5" in problem


def test_a_truncated_tail_is_detected(home: Path) -> None:
    problem = _tamper(home, "DELETE FROM audit WHERE seq > ? AND person_id = ?", 10)
    assert problem is not None
    assert "the tail was removed" in problem


def test_a_truncation_below_a_signed_checkpoint_is_detected_even_with_a_forged_head(
    tmp_path: Path,
) -> None:
    store = init_home(tmp_path / "big")
    vault = store.vault(store.add_person("Ada"))
    for _ in range(CHECKPOINT_EVERY + 10):
        vault.audit.append(vault.person.id, "read", purpose="twin_core")
    person = vault.person.id
    with sqlite3.connect(tmp_path / "big" / "lifetwin.db", isolation_level=None) as db:
        db.execute("DELETE FROM audit WHERE seq > 500")
        (digest,) = db.execute("SELECT hash FROM audit WHERE seq = 500").fetchone()
        db.execute("UPDATE audit_head SET seq = 500, hash = ?", (digest,))
    problem = store.audit.verify(person)
    assert problem is not None
    assert f"checkpoint covers entry {CHECKPOINT_EVERY}" in problem


def test_erasure_keeps_a_pseudonymous_verifiable_record(home: Path) -> None:
    store = open_home(home)
    person = store.person("Ada")
    store.erase(person)
    entries = store.audit.entries(person.id, None)
    assert entries[-1].action == "erase"
    assert store.audit.verify(person.id) is None
    assert person.id in store.backend.audit_persons()


def test_reads_from_many_threads_are_audited_by_group_commit_and_the_chains_verify(
    store: Store,
) -> None:
    """Reads append their entries together (one transaction for what arrives meanwhile);
    every read still returns only once its entry is committed, each gets its own number,
    and every chain verifies with its head signed — on both backends."""
    import threading

    persons = [store.add_person(f"Reader {i}") for i in range(5)]
    numbers: dict[str, list[int]] = {p.id: [] for p in persons}
    lock = threading.Lock()

    def reader(k: int) -> None:
        for i in range(40):
            person = persons[(k + i) % len(persons)]
            vault = store.vault(person, actor=f"reader-{k}")
            done = vault.log_event_soon("view", "twin_core", what="overview", i=i)
            seq = done.result(timeout=60)
            rows = {s for s, _raw, _hash in store.backend.audit_rows(person.id)}
            assert seq in rows  # committed before the caller goes on
            with lock:
                numbers[person.id].append(seq)
            vault.log_event("read", "twin_core", metric="heart_rate")  # outside a transaction

    threads = [threading.Thread(target=reader, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for person in persons:
        assert len(numbers[person.id]) == len(set(numbers[person.id])) == 64
        entries = store.vault(person).audit_entries()
        assert sum(e.action == "view" for e in entries) == 64
        assert sum(e.action == "read" for e in entries) == 64
        assert store.audit.verify(person.id) is None


def test_a_forked_process_audits_its_reads_with_its_own_group_commit(tmp_path: Path) -> None:
    """The group-commit thread does not survive fork(): a child (a process pool, say)
    starts its own instead of waiting for ever on its parent's."""
    import os

    home = tmp_path / "home"
    init_home(home).close()
    store = open_home(home)
    person = store.add_person("Ana")
    store.vault(person).log_event("read", "twin_core")  # the parent's group thread runs
    child = os.fork()
    if child == 0:  # pragma: no cover - the child's result is its exit status
        code = 1
        try:
            store.vault(person).log_event("read", "twin_core", who="child")
            code = 0
        finally:
            os._exit(code)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done, status = os.waitpid(child, os.WNOHANG)
        if done:
            break
        time.sleep(0.05)
    else:
        os.kill(child, 9)
        raise AssertionError("the child hung on its parent's group commit")
    assert os.waitstatus_to_exitcode(status) == 0
    reads = [e for e in store.vault(person).audit_entries() if e.action == "read"]
    assert len(reads) == 2
    assert store.audit.verify(person.id) is None
    store.close()
