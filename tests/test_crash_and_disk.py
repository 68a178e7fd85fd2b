"""Crash safety (SIGKILL mid-import) and what reaches the disk (no plaintext, ever)."""

from __future__ import annotations

import os
import signal
import sqlite3
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from lifetwin.core.model import Event, EventKind, Observation
from lifetwin.privacy.consent import Purpose
from lifetwin.services.home import init_home, open_home
from lifetwin.services.importer import import_file
from lifetwin.store.codec import Columns

SELF = Purpose.SELF_ACCESS


def _big_csv(path: Path, n: int) -> None:
    start = np.datetime64("2024-01-01T00:00:00")
    times = (start + np.arange(n) * np.timedelta64(1, "m")).astype(str)
    values = 60 + (np.arange(n) % 50)
    with path.open("w") as handle:
        handle.write("start,metric,value,unit\n")
        handle.writelines(f"{t}Z,heart_rate,{v},bpm\n" for t, v in zip(times, values, strict=True))


def _stored_blocks(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM blocks").fetchone()[0])


def test_sigkill_mid_import_loses_nothing_committed_and_reimport_completes(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    init_home(home).add_person("Ada")
    csv = tmp_path / "minutes.csv"
    total = 200_000
    _big_csv(csv, total)
    env = {**os.environ, "LIFETWIN_HOME": str(home)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "lifetwin", "import", str(csv), "-p", "Ada", "--batch-size", "2000"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while _stored_blocks(home / "lifetwin.db") < 20 and time.monotonic() < deadline:
        assert proc.poll() is None, "the import finished before it could be interrupted"
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    store = open_home(home)
    with sqlite3.connect(home / "lifetwin.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    vault = store.vault(store.person("Ada"))
    kept = vault.read_series("heart_rate", purpose=SELF)
    assert 0 < len(kept) < total
    assert np.all(np.diff(kept.ts_ms) == 60_000)  # a clean prefix, no holes or damage
    assert vault.imports()[0].finished is None  # the interrupted import is visible as such

    summary = import_file(store, store.person("Ada"), csv)
    assert summary.stored == total - len(kept)
    assert summary.duplicates == len(kept)
    final = vault.read_series("heart_rate", purpose=SELF)
    assert len(final) == total
    assert final.values[-1] == 60 + (total - 1) % 50


CANARY_NAME = "Zebulon Quixotic-Canary"
CANARY_TEXT = "canary-diary-entry-7f3a"
CANARY_SOURCE = "canary-device-src-91b2"
CANARY_VALUE = 123.456789


def _all_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


def test_no_plaintext_personal_value_reaches_the_disk(tmp_path: Path) -> None:
    home = tmp_path / "home"
    store = init_home(home)
    person = store.add_person(CANARY_NAME)
    vault = store.vault(person)
    n = 3000
    z = np.zeros(n, dtype=np.int64)
    values = np.full(n, CANARY_VALUE)
    cols = Columns(1_700_000_000_000 + np.arange(n, dtype=np.int64) * 60_000, z, values, z, z, z, z)
    vault.write_columns("glucose", CANARY_SOURCE, CANARY_SOURCE, "mg/dL", cols)
    when = np.datetime64("2024-01-01T08:00:00").astype(object)
    from datetime import UTC

    start = when.replace(tzinfo=UTC)
    vault.write_records(
        [
            Observation(
                metric="journal_note", value=CANARY_TEXT, start=start, source=CANARY_SOURCE
            ),
            Event(
                kind=EventKind.PURCHASE,
                start=start,
                title=CANARY_TEXT,
                details={"merchant": CANARY_NAME},
                source=CANARY_SOURCE,
            ),
        ]
    )
    store.close()  # flush everything the database keeps in memory

    blob = _all_bytes(home)
    needles = [
        CANARY_NAME,
        CANARY_NAME.lower(),
        CANARY_TEXT,
        CANARY_SOURCE,
        "journal_note",
        "glucose",
        "123.456789",
    ]
    for needle in needles:
        for encoding in ("utf-8", "utf-16-le"):
            assert needle.encode(encoding) not in blob, needle
    assert struct.pack("<d", CANARY_VALUE) not in blob
    assert struct.pack(">d", CANARY_VALUE) not in blob

    # And after erasure, the person cannot be read back even with the master key.
    store = open_home(home)
    store.erase(store.person(CANARY_NAME))
    store.close()
    assert CANARY_NAME.encode() not in _all_bytes(home)
    assert open_home(home).persons() == []
