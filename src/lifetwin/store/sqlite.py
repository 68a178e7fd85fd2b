"""The embedded backend: one SQLite file in WAL mode.

Freed pages are zeroed (``secure_delete``), temporary data stays in memory,
and an erase checkpoints the write-ahead log so no old page lingers on disk.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from lifetwin.core.errors import StoreError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS persons (
    person_id TEXT PRIMARY KEY, name_tag BLOB NOT NULL UNIQUE,
    wrapped_key BLOB NOT NULL, sealed BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS streams (
    person_id TEXT NOT NULL, stream_id BLOB NOT NULL, sealed BLOB NOT NULL,
    PRIMARY KEY (person_id, stream_id));
CREATE TABLE IF NOT EXISTS blocks (
    person_id TEXT NOT NULL, stream_id BLOB NOT NULL, day INTEGER NOT NULL,
    sealed BLOB NOT NULL, PRIMARY KEY (person_id, stream_id, day)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS records (
    person_id TEXT NOT NULL, tag BLOB NOT NULL, stream_id BLOB NOT NULL,
    day INTEGER NOT NULL, sealed BLOB NOT NULL, PRIMARY KEY (person_id, tag));
CREATE INDEX IF NOT EXISTS records_by_day ON records (person_id, stream_id, day);
CREATE TABLE IF NOT EXISTS quarantine (
    person_id TEXT NOT NULL, tag BLOB NOT NULL, day INTEGER NOT NULL,
    sealed BLOB NOT NULL, PRIMARY KEY (person_id, tag));
CREATE TABLE IF NOT EXISTS imports (
    import_id INTEGER PRIMARY KEY AUTOINCREMENT, person_id TEXT NOT NULL,
    tag BLOB NOT NULL, sealed BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS audit (
    person_id TEXT NOT NULL, seq INTEGER NOT NULL, entry BLOB NOT NULL, hash BLOB NOT NULL,
    PRIMARY KEY (person_id, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS audit_head (
    person_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, hash BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS audit_checkpoints (
    person_id TEXT NOT NULL, seq INTEGER NOT NULL, hash BLOB NOT NULL, signature BLOB NOT NULL,
    PRIMARY KEY (person_id, seq));
CREATE TABLE IF NOT EXISTS state (
    person_id TEXT NOT NULL, tag BLOB NOT NULL, sealed BLOB NOT NULL,
    PRIMARY KEY (person_id, tag));
"""

_PERSON_TABLES = ("streams", "blocks", "records", "quarantine", "imports", "state")


class SQLiteBackend:
    name = "sqlite"

    def __init__(self, path: Path, create: bool) -> None:
        self.path = path
        if not create and not path.exists():
            raise StoreError(f"There is no LifeTwin store at {path}; run `lifetwin init` first.")
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA secure_delete=ON")
            self._db.execute("PRAGMA temp_store=MEMORY")
            self._db.execute("PRAGMA busy_timeout=10000")
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path} is not a usable LifeTwin store ({exc}).") from None
        self._depth = 0

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._db.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        else:
            self._db.execute("COMMIT")
        finally:
            self._depth = 0

    def meta_get(self, key: str) -> bytes | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else bytes(row[0])

    def meta_set(self, key: str, value: bytes) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def meta_delete(self, key: str) -> None:
        self._db.execute("DELETE FROM meta WHERE key = ?", (key,))

    def person_insert(
        self, person_id: str, name_tag: bytes, wrapped_key: bytes, sealed: bytes
    ) -> bool:
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO persons VALUES (?, ?, ?, ?)",
            (person_id, name_tag, wrapped_key, sealed),
        )
        return cursor.rowcount == 1

    def person_rows(self) -> list[tuple[str, bytes, bytes, bytes]]:
        rows = self._db.execute("SELECT * FROM persons ORDER BY person_id").fetchall()
        return [(r[0], bytes(r[1]), bytes(r[2]), bytes(r[3])) for r in rows]

    def person_by_tag(self, name_tag: bytes) -> tuple[str, bytes, bytes, bytes] | None:
        r = self._db.execute("SELECT * FROM persons WHERE name_tag = ?", (name_tag,)).fetchone()
        return None if r is None else (r[0], bytes(r[1]), bytes(r[2]), bytes(r[3]))

    def person_by_id(self, person_id: str) -> tuple[str, bytes, bytes, bytes] | None:
        r = self._db.execute("SELECT * FROM persons WHERE person_id = ?", (person_id,)).fetchone()
        return None if r is None else (r[0], bytes(r[1]), bytes(r[2]), bytes(r[3]))

    def person_rewrap(self, person_id: str, wrapped_key: bytes) -> None:
        self._db.execute(
            "UPDATE persons SET wrapped_key = ? WHERE person_id = ?", (wrapped_key, person_id)
        )

    def person_delete(self, person_id: str) -> None:
        with self.transaction():
            self._db.execute("DELETE FROM persons WHERE person_id = ?", (person_id,))
            for table in _PERSON_TABLES:
                self._db.execute(f"DELETE FROM {table} WHERE person_id = ?", (person_id,))

    def stream_put(self, person_id: str, stream_id: bytes, sealed: bytes) -> None:
        self._db.execute(
            "INSERT OR IGNORE INTO streams VALUES (?, ?, ?)", (person_id, stream_id, sealed)
        )

    def stream_rows(self, person_id: str) -> list[tuple[bytes, bytes]]:
        rows = self._db.execute(
            "SELECT stream_id, sealed FROM streams WHERE person_id = ?", (person_id,)
        ).fetchall()
        return [(bytes(a), bytes(b)) for a, b in rows]

    def stream_last_days(self, person_id: str) -> list[tuple[bytes, int]]:
        rows = self._db.execute(
            "SELECT stream_id, MAX(day) FROM blocks WHERE person_id = ? GROUP BY stream_id "
            "UNION ALL SELECT stream_id, MAX(day) FROM records WHERE person_id = ? "
            "GROUP BY stream_id",
            (person_id, person_id),
        ).fetchall()
        return [(bytes(a), int(b)) for a, b in rows]

    def block_get(
        self, person_id: str, stream_id: bytes, day_lo: int, day_hi: int
    ) -> list[tuple[int, bytes]]:
        return self._db.execute(
            "SELECT day, sealed FROM blocks WHERE person_id = ? AND stream_id = ? "
            "AND day BETWEEN ? AND ? ORDER BY day",
            (person_id, stream_id, day_lo, day_hi),
        ).fetchall()

    def block_put(
        self, person_id: str, stream_id: bytes, rows: Sequence[tuple[int, bytes]]
    ) -> None:
        self._db.executemany(
            "INSERT OR REPLACE INTO blocks VALUES (?, ?, ?, ?)",
            [(person_id, stream_id, day, sealed) for day, sealed in rows],
        )

    def block_delete(self, person_id: str, stream_id: bytes, day_lo: int, day_hi: int) -> None:
        self._db.execute(
            "DELETE FROM blocks WHERE person_id = ? AND stream_id = ? AND day BETWEEN ? AND ?",
            (person_id, stream_id, day_lo, day_hi),
        )

    def record_put(self, person_id: str, rows: Sequence[tuple[bytes, int, bytes, bytes]]) -> int:
        cursor = self._db.executemany(
            "INSERT OR IGNORE INTO records (person_id, stream_id, day, tag, sealed) "
            "VALUES (?, ?, ?, ?, ?)",
            [(person_id, *row) for row in rows],
        )
        return cursor.rowcount

    def record_get(
        self, person_id: str, stream_id: bytes, day_lo: int, day_hi: int
    ) -> list[tuple[bytes, bytes]]:
        rows = self._db.execute(
            "SELECT tag, sealed FROM records WHERE person_id = ? AND stream_id = ? "
            "AND day BETWEEN ? AND ? ORDER BY day",
            (person_id, stream_id, day_lo, day_hi),
        ).fetchall()
        return [(bytes(r[0]), bytes(r[1])) for r in rows]

    def quarantine_put(self, person_id: str, rows: Sequence[tuple[bytes, int, bytes]]) -> int:
        cursor = self._db.executemany(
            "INSERT OR IGNORE INTO quarantine (person_id, tag, day, sealed) VALUES (?, ?, ?, ?)",
            [(person_id, *row) for row in rows],
        )
        return cursor.rowcount

    def quarantine_get(self, person_id: str) -> list[tuple[bytes, bytes]]:
        rows = self._db.execute(
            "SELECT tag, sealed FROM quarantine WHERE person_id = ? ORDER BY day", (person_id,)
        ).fetchall()
        return [(bytes(r[0]), bytes(r[1])) for r in rows]

    def import_put(self, person_id: str, tag: bytes, sealed: bytes) -> int:
        cursor = self._db.execute(
            "INSERT INTO imports (person_id, tag, sealed) VALUES (?, ?, ?)",
            (person_id, tag, sealed),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def import_update(self, person_id: str, import_id: int, sealed: bytes) -> None:
        self._db.execute(
            "UPDATE imports SET sealed = ? WHERE person_id = ? AND import_id = ?",
            (sealed, person_id, import_id),
        )

    def import_rows(self, person_id: str) -> list[tuple[int, bytes, bytes]]:
        rows = self._db.execute(
            "SELECT import_id, tag, sealed FROM imports WHERE person_id = ? ORDER BY import_id",
            (person_id,),
        ).fetchall()
        return [(int(a), bytes(b), bytes(c)) for a, b, c in rows]

    def state_get(self, person_id: str, tag: bytes) -> bytes | None:
        row = self._db.execute(
            "SELECT sealed FROM state WHERE person_id = ? AND tag = ?", (person_id, tag)
        ).fetchone()
        return None if row is None else bytes(row[0])

    def state_put(self, person_id: str, tag: bytes, sealed: bytes) -> None:
        self._db.execute("INSERT OR REPLACE INTO state VALUES (?, ?, ?)", (person_id, tag, sealed))

    def state_delete(self, person_id: str, tag: bytes) -> None:
        self._db.execute("DELETE FROM state WHERE person_id = ? AND tag = ?", (person_id, tag))

    def audit_append(
        self, person_id: str, rows: Sequence[tuple[int, bytes, bytes]], head: tuple[int, bytes]
    ) -> None:
        with self.transaction():
            self._db.executemany(
                "INSERT INTO audit VALUES (?, ?, ?, ?)",
                [(person_id, seq, entry, digest) for seq, entry, digest in rows],
            )
            self._db.execute(
                "INSERT OR REPLACE INTO audit_head VALUES (?, ?, ?)", (person_id, *head)
            )

    def audit_rows(self, person_id: str) -> Iterator[tuple[int, bytes, bytes]]:
        cursor = self._db.execute(
            "SELECT seq, entry, hash FROM audit WHERE person_id = ? ORDER BY seq", (person_id,)
        )
        for seq, entry, digest in cursor:
            yield int(seq), bytes(entry), bytes(digest)

    def audit_head(self, person_id: str) -> tuple[int, bytes] | None:
        row = self._db.execute(
            "SELECT seq, hash FROM audit_head WHERE person_id = ?", (person_id,)
        ).fetchone()
        return None if row is None else (int(row[0]), bytes(row[1]))

    def audit_checkpoint_put(
        self, person_id: str, seq: int, digest: bytes, signature: bytes
    ) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO audit_checkpoints VALUES (?, ?, ?, ?)",
            (person_id, seq, digest, signature),
        )

    def audit_checkpoints(self, person_id: str) -> list[tuple[int, bytes, bytes]]:
        rows = self._db.execute(
            "SELECT seq, hash, signature FROM audit_checkpoints WHERE person_id = ? ORDER BY seq",
            (person_id,),
        ).fetchall()
        return [(int(a), bytes(b), bytes(c)) for a, b, c in rows]

    def audit_persons(self) -> list[str]:
        rows = self._db.execute("SELECT person_id FROM audit_head ORDER BY person_id").fetchall()
        return [str(r[0]) for r in rows]

    def compact(self) -> None:
        self._db.execute("VACUUM")
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def files(self) -> list[Path]:
        candidates = [
            self.path,
            self.path.with_name(self.path.name + "-wal"),
            self.path.with_name(self.path.name + "-shm"),
        ]
        return [p for p in candidates if p.exists()]

    def describe(self) -> str:
        return f"SQLite file {self.path}"

    def close(self) -> None:
        self._db.close()
