"""Vault write/read speed and size, next to plain unencrypted SQLite doing the same work.

    python benchmarks/vault_io.py [--points 525600] [--repeat 5] [--no-postgres]

Writes one year of minute heart rate (525,600 points) for one person into an
encrypted vault in one bulk call, reads it back into a numpy array, compacts
and measures bytes on disk per observation. The baseline stores the same
points as (timestamp, value) rows in a plain SQLite table and reads them back
into numpy. The generic CSV importer's end-to-end rate is reported too. With
PostgreSQL installed (Debian's postgresql), the same is measured on a
throwaway local server. Prints a table and, last, one JSON line.
"""

from __future__ import annotations

import argparse
import json
import platform
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from lifetwin.privacy.consent import Purpose
from lifetwin.services.home import init_home
from lifetwin.services.importer import import_file
from lifetwin.store.codec import Columns
from lifetwin.store.crypto import MasterKey
from lifetwin.store.pgcluster import create_database, server_bindir, temporary_cluster
from lifetwin.store.sql import SQLBackend as Backend
from lifetwin.store.sql import SQLiteBackend
from lifetwin.store.vault import Store

SELF = Purpose.SELF_ACCESS

START_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z


def minute_heart_rate(n: int, seed: int = 1) -> Columns:
    rng = np.random.default_rng(seed)
    z = np.zeros(n, dtype=np.int64)
    hr = np.clip(
        62 + np.cumsum(rng.normal(0, 1.2, n)).round() % 60 + rng.integers(-2, 3, n), 40, 190
    )
    return Columns(
        ts_ms=START_MS + np.arange(n, dtype=np.int64) * 60_000,
        dur_ms=z,
        value=hr.astype(np.float64),
        tz_min=z + 60,
        quality=z,
        import_id=z + 1,
        record=np.arange(n, dtype=np.int64) + 2,
    )


def best_of(repeat: int, work: Callable[[], Any]) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        work()
        times.append(time.perf_counter() - t0)
    return min(times)


def bench_vault(
    backend_factory: Callable[[], Backend],
    cols: Columns,
    repeat: int,
    size_bytes: Callable[[Store], int],
) -> dict[str, float]:
    writes = []
    store = None
    for _ in range(repeat):
        backend = backend_factory()
        store = Store.initialize(backend, MasterKey.generate())
        vault = store.vault(store.add_person("Bench"))
        t0 = time.perf_counter()
        vault.write_columns("heart_rate", "watch", None, "bpm", cols)
        writes.append(time.perf_counter() - t0)
        if _ < repeat - 1:
            store.close()
    assert store is not None
    vault = store.vault(store.person("Bench"))
    read_s = best_of(repeat, lambda: vault.read_series("heart_rate", purpose=SELF).values)
    assert len(vault.read_series("heart_rate", purpose=SELF)) == len(cols)
    out = {"write_obs_per_s": len(cols) / min(writes), "read_ms": read_s * 1000}
    store.compact()
    out["bytes_per_obs"] = size_bytes(store) / len(cols)
    store.close()
    return out


def bench_plain_sqlite(folder: Path, cols: Columns, repeat: int) -> dict[str, float]:
    rows = list(zip(cols.ts_ms.tolist(), cols.value.tolist(), strict=True))
    writes = []
    for i in range(repeat):
        path = folder / f"plain-{i}.db"
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("CREATE TABLE hr (ts INTEGER PRIMARY KEY, value REAL NOT NULL)")
        t0 = time.perf_counter()
        conn.execute("BEGIN")
        conn.executemany("INSERT OR IGNORE INTO hr VALUES (?, ?)", rows)
        conn.execute("COMMIT")
        writes.append(time.perf_counter() - t0)
        if i < repeat - 1:
            conn.close()

    def read() -> np.ndarray:
        fetched = conn.execute(
            "SELECT ts, value FROM hr WHERE ts >= ? AND ts < ?",
            (START_MS, START_MS + len(cols) * 60_000),
        ).fetchall()
        return np.array(fetched, dtype=np.float64)[:, 1]

    read_s = best_of(repeat, read)
    conn.execute("VACUUM")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    size = sum(p.stat().st_size for p in folder.glob(f"plain-{repeat - 1}.db*"))
    return {
        "write_obs_per_s": len(cols) / min(writes),
        "read_ms": read_s * 1000,
        "bytes_per_obs": size / len(cols),
    }


def bench_csv_import(folder: Path, n: int) -> float:
    csv = folder / "hr.csv"
    times = np.datetime64("2024-01-01T00:00:00") + np.arange(n) * np.timedelta64(1, "m")
    with csv.open("w") as handle:
        handle.write("start,metric,value,unit\n")
        handle.writelines(
            f"{t}Z,heart_rate,{60 + i % 40},bpm\n" for i, t in enumerate(times.astype(str))
        )
    store = init_home(folder / "csv-home")
    person = store.add_person("Bench")
    t0 = time.perf_counter()
    summary = import_file(store, person, csv)
    elapsed = time.perf_counter() - t0
    assert summary.stored == n
    return n / elapsed


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}; Python {platform.python_version()}; numpy {np.__version__}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=525_600)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--csv-rows", type=int, default=200_000)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    cols = minute_heart_rate(args.points)
    results: dict[str, Any] = {"machine": machine(), "points": args.points}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        counter = iter(range(1000))
        results["lifetwin_sqlite"] = bench_vault(
            lambda: SQLiteBackend(folder / f"vault-{next(counter)}.db", create=True),
            cols,
            args.repeat,
            lambda store: sum(p.stat().st_size for p in store.backend.files()),
        )
        results["plain_sqlite"] = bench_plain_sqlite(folder, cols, args.repeat)
        results["csv_import_rows_per_s"] = bench_csv_import(folder, args.csv_rows)
        bindir = server_bindir()
        if bindir is not None and not args.no_postgres:
            from lifetwin.store.sql import PostgresBackend

            with temporary_cluster(bindir) as server:
                names = iter(range(1000))
                urls: list[str] = []

                def make() -> Backend:
                    urls.append(create_database(server, f"b{next(names)}"))
                    return PostgresBackend(urls[-1])

                def table_bytes(store: Store) -> int:
                    import psycopg

                    with psycopg.connect(urls[-1]) as conn:
                        row = conn.execute("SELECT pg_total_relation_size('lt_blocks')").fetchone()
                    return int(row[0]) if row else 0

                results["lifetwin_postgres"] = bench_vault(make, cols, args.repeat, table_bytes)
    ours, plain = results["lifetwin_sqlite"], results["plain_sqlite"]
    results["ratios_vs_plain_sqlite"] = {
        "write_speed": ours["write_obs_per_s"] / plain["write_obs_per_s"],
        "read_time": ours["read_ms"] / plain["read_ms"],
        "bytes_per_obs": ours["bytes_per_obs"] / plain["bytes_per_obs"],
    }
    print(f"machine: {results['machine']}")
    print(f"{'':28}{'write obs/s':>14}{'read ms':>10}{'bytes/obs':>11}")
    for key in ("lifetwin_sqlite", "plain_sqlite", "lifetwin_postgres"):
        if key in results:
            r = results[key]
            size = f"{r['bytes_per_obs']:.2f}" if "bytes_per_obs" in r else "-"
            print(f"{key:28}{r['write_obs_per_s']:>14,.0f}{r['read_ms']:>10.1f}{size:>11}")
    print(f"csv import (end to end): {results['csv_import_rows_per_s']:,.0f} rows/s")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
