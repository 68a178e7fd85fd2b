"""Many processes on one store: no lost update, no lost write, no ungranted read.

Eight processes on PostgreSQL (four on SQLite) each run 200 random operations — grant,
revoke, read for a purpose, ingest — on the same few persons. Afterwards every
acknowledged grant and revocation is in the persons' consent rows (a concurrent grant never
wipes out a revocation, as the sealed-blob ledger of the first release could), every
acknowledged observation is stored, every audit chain verifies, and no read returned data
for a purpose without a grant active at some moment of that read.
"""

from __future__ import annotations

import json
import multiprocessing
import random
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lifetwin.privacy.consent import Purpose, Scope
from lifetwin.services.audit_view import verify_chain_of
from lifetwin.services.home import init_home, open_home
from lifetwin.store.codec import Columns

PERSONS = ["Ada", "Ben", "Cy"]
OPS = 200
PURPOSE = Purpose.RESEARCH


def _worker(home: str, worker: int, seed: int, out: str) -> None:
    rng = random.Random(seed)
    store = open_home(Path(home))
    log: list[dict[str, Any]] = []
    mine: dict[str, list[str]] = {p: [] for p in PERSONS}  # grants this worker made
    for n in range(OPS):
        name = rng.choice(PERSONS)
        vault = store.vault(store.person(name))
        op = rng.choice(["grant", "revoke", "read", "ingest"])
        started = time.time()
        try:
            if op == "grant":
                grant = vault.grant(Scope.parse("metric:heart_rate"), PURPOSE)
                mine[name].append(grant.id)
                log.append({"op": op, "person": name, "grant": grant.id})
            elif op == "revoke" and mine[name]:
                grant_id = mine[name].pop(rng.randrange(len(mine[name])))
                vault.revoke(grant_id)
                log.append({"op": op, "person": name, "grant": grant_id})
            elif op == "read":
                found = len(vault.read_series("heart_rate", purpose=PURPOSE))
                log.append(
                    {"op": op, "person": name, "count": found, "start": started, "end": time.time()}
                )
            else:
                ms = 1_700_000_000_000 + (worker * OPS + n) * 60_000
                z = np.zeros(1, dtype=np.int64)
                columns = Columns(np.array([ms], dtype=np.int64), z, np.array([61.0]), z, z, z, z)
                vault.write_columns("heart_rate", f"w{worker}", None, "bpm", columns)
                log.append({"op": "ingest", "person": name, "ms": ms, "source": f"w{worker}"})
        except Exception as exc:  # an operation that fails is simply not acknowledged
            log.append({"op": "error", "what": f"{type(exc).__name__}: {exc}"})
    store.close()
    Path(out).write_text(json.dumps(log))


def _run(home: Path, workers: int, tmp_path: Path) -> list[dict[str, Any]]:
    context = multiprocessing.get_context("spawn")
    outs = [tmp_path / f"log-{w}.json" for w in range(workers)]
    processes = [
        context.Process(target=_worker, args=(str(home), w, 1000 + w, str(outs[w])))
        for w in range(workers)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(600)
        assert process.exitcode == 0
    return [entry for out in outs for entry in json.loads(out.read_text())]


def _check(home: Path, log: list[dict[str, Any]]) -> None:
    errors = [e for e in log if e["op"] == "error"]
    assert not errors, errors[:5]
    store = open_home(home)
    for name in PERSONS:
        person = store.person(name)
        vault = store.vault(person)
        ledger = {g.id: g for g in vault.consents().grants}
        granted = {e["grant"] for e in log if e.get("person") == name and e["op"] == "grant"}
        revoked = {e["grant"] for e in log if e.get("person") == name and e["op"] == "revoke"}
        assert granted <= set(ledger), "an acknowledged grant is missing"
        for grant_id in revoked:
            assert ledger[grant_id].revoked_at is not None, "an acknowledged revocation was lost"
        for grant_id in granted - revoked:
            assert ledger[grant_id].revoked_at is None
        stored = vault.read_series("heart_rate", purpose=Purpose.SELF_ACCESS)
        written = {
            (e["source"], e["ms"]) for e in log if e.get("person") == name and e["op"] == "ingest"
        }
        sources = [s.source for s in stored.streams]
        have = {
            (sources[i], int(ms)) for i, ms in zip(stored.stream_index, stored.ts_ms, strict=True)
        }
        assert written <= have, "an acknowledged observation is missing"
        for read in (
            e for e in log if e.get("person") == name and e["op"] == "read" and e["count"]
        ):
            start = datetime.fromtimestamp(read["start"] - 0.5, UTC)
            end = datetime.fromtimestamp(read["end"] + 0.5, UTC)
            assert any(
                g.granted_at <= end and (g.revoked_at is None or g.revoked_at >= start)
                for g in ledger.values()
            ), "a read returned data with no grant active during it"
        found = verify_chain_of(store, person.id)
        assert found.intact, found.problem
    store.close()


def test_four_processes_on_sqlite(tmp_path: Path) -> None:
    home = tmp_path / "home"
    store = init_home(home)
    for name in PERSONS:
        store.add_person(name)
    store.close()
    _check(home, _run(home, 4, tmp_path))


@pytest.mark.postgres
def test_eight_processes_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    home = tmp_path / "home"
    store = init_home(home, store=postgres_url)
    for name in PERSONS:
        store.add_person(name)
    store.close()
    _check(home, _run(home, 8, tmp_path))
