"""The server backend: the same tables on PostgreSQL, for teams.

Connect with a ``postgresql://`` URL. Values arrive already sealed, so the
server (and its backups and logs) hold only ciphertext and keyed tags.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import psycopg

from lifetwin.core.errors import StoreError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS lt_meta (key TEXT PRIMARY KEY, value BYTEA NOT NULL);
CREATE TABLE IF NOT EXISTS lt_persons (
    person_id TEXT PRIMARY KEY, name_tag BYTEA NOT NULL UNIQUE,
    wrapped_key BYTEA NOT NULL, sealed BYTEA NOT NULL);
CREATE TABLE IF NOT EXISTS lt_streams (
    person_id TEXT NOT NULL, stream_id BYTEA NOT NULL, sealed BYTEA NOT NULL,
    PRIMARY KEY (person_id, stream_id));
CREATE TABLE IF NOT EXISTS lt_blocks (
    person_id TEXT NOT NULL, stream_id BYTEA NOT NULL, day INTEGER NOT NULL,
    sealed BYTEA NOT NULL, PRIMARY KEY (person_id, stream_id, day));
CREATE TABLE IF NOT EXISTS lt_records (
    person_id TEXT NOT NULL, tag BYTEA NOT NULL, stream_id BYTEA NOT NULL,
    day INTEGER NOT NULL, sealed BYTEA NOT NULL, PRIMARY KEY (person_id, tag));
CREATE INDEX IF NOT EXISTS lt_records_by_day ON lt_records (person_id, stream_id, day);
CREATE TABLE IF NOT EXISTS lt_quarantine (
    person_id TEXT NOT NULL, tag BYTEA NOT NULL, day INTEGER NOT NULL,
    sealed BYTEA NOT NULL, PRIMARY KEY (person_id, tag));
CREATE TABLE IF NOT EXISTS lt_imports (
    import_id BIGSERIAL PRIMARY KEY, person_id TEXT NOT NULL,
    tag BYTEA NOT NULL, sealed BYTEA NOT NULL);
CREATE TABLE IF NOT EXISTS lt_audit (
    person_id TEXT NOT NULL, seq BIGINT NOT NULL, entry BYTEA NOT NULL, hash BYTEA NOT NULL,
    PRIMARY KEY (person_id, seq));
CREATE TABLE IF NOT EXISTS lt_audit_head (
    person_id TEXT PRIMARY KEY, seq BIGINT NOT NULL, hash BYTEA NOT NULL);
CREATE TABLE IF NOT EXISTS lt_audit_checkpoints (
    person_id TEXT NOT NULL, seq BIGINT NOT NULL, hash BYTEA NOT NULL, signature BYTEA NOT NULL,
    PRIMARY KEY (person_id, seq));
CREATE TABLE IF NOT EXISTS lt_state (
    person_id TEXT NOT NULL, tag BYTEA NOT NULL, sealed BYTEA NOT NULL,
    PRIMARY KEY (person_id, tag));
"""

_PERSON_TABLES = (
    "lt_streams",
    "lt_blocks",
    "lt_records",
    "lt_quarantine",
    "lt_imports",
    "lt_state",
)


class PostgresBackend:
    name = "postgresql"

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self._db = psycopg.connect(url, autocommit=True)
            with self._db.transaction():
                # One schema set-up at a time when several processes start together.
                self._db.execute("SELECT pg_advisory_xact_lock(7400001)")
                self._db.execute(_SCHEMA)
        except psycopg.Error as exc:
            raise StoreError(f"Cannot use the PostgreSQL store at {_redact(url)}: {exc}") from None
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
        self._depth = 1
        try:
            with self._db.transaction():
                yield
        finally:
            self._depth = 0

    def meta_get(self, key: str) -> bytes | None:
        row = self._db.execute("SELECT value FROM lt_meta WHERE key = %s", (key,)).fetchone()
        return None if row is None else bytes(row[0])

    def meta_set(self, key: str, value: bytes) -> None:
        self._db.execute(
            "INSERT INTO lt_meta VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = "
            "excluded.value",
            (key, value),
        )

    def meta_delete(self, key: str) -> None:
        self._db.execute("DELETE FROM lt_meta WHERE key = %s", (key,))

    def person_insert(
        self, person_id: str, name_tag: bytes, wrapped_key: bytes, sealed: bytes
    ) -> bool:
        cursor = self._db.execute(
            "INSERT INTO lt_persons VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
            (person_id, name_tag, wrapped_key, sealed),
        )
        return cursor.rowcount == 1

    def person_rows(self) -> list[tuple[str, bytes, bytes, bytes]]:
        rows = self._db.execute("SELECT * FROM lt_persons ORDER BY person_id").fetchall()
        return [(r[0], bytes(r[1]), bytes(r[2]), bytes(r[3])) for r in rows]

    def person_by_tag(self, name_tag: bytes) -> tuple[str, bytes, bytes, bytes] | None:
        r = self._db.execute("SELECT * FROM lt_persons WHERE name_tag = %s", (name_tag,)).fetchone()
        return None if r is None else (r[0], bytes(r[1]), bytes(r[2]), bytes(r[3]))

    def person_by_id(self, person_id: str) -> tuple[str, bytes, bytes, bytes] | None:
        r = self._db.execute(
            "SELECT * FROM lt_persons WHERE person_id = %s", (person_id,)
        ).fetchone()
        return None if r is None else (r[0], bytes(r[1]), bytes(r[2]), bytes(r[3]))

    def person_rewrap(self, person_id: str, wrapped_key: bytes) -> None:
        self._db.execute(
            "UPDATE lt_persons SET wrapped_key = %s WHERE person_id = %s",
            (wrapped_key, person_id),
        )

    def person_delete(self, person_id: str) -> None:
        with self.transaction():
            self._db.execute("DELETE FROM lt_persons WHERE person_id = %s", (person_id,))
            for table in _PERSON_TABLES:
                self._db.execute(f"DELETE FROM {table} WHERE person_id = %s", (person_id,))

    def stream_put(self, person_id: str, stream_id: bytes, sealed: bytes) -> None:
        self._db.execute(
            "INSERT INTO lt_streams VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
            (person_id, stream_id, sealed),
        )

    def stream_rows(self, person_id: str) -> list[tuple[bytes, bytes]]:
        rows = self._db.execute(
            "SELECT stream_id, sealed FROM lt_streams WHERE person_id = %s", (person_id,)
        ).fetchall()
        return [(bytes(a), bytes(b)) for a, b in rows]

    def stream_last_days(self, person_id: str) -> list[tuple[bytes, int]]:
        rows = self._db.execute(
            "SELECT stream_id, MAX(day) FROM lt_blocks WHERE person_id = %s GROUP BY stream_id "
            "UNION ALL SELECT stream_id, MAX(day) FROM lt_records WHERE person_id = %s "
            "GROUP BY stream_id",
            (person_id, person_id),
        ).fetchall()
        return [(bytes(a), int(b)) for a, b in rows]

    def block_get(
        self, person_id: str, stream_id: bytes, day_lo: int, day_hi: int
    ) -> list[tuple[int, bytes]]:
        rows = self._db.execute(
            "SELECT day, sealed FROM lt_blocks WHERE person_id = %s AND stream_id = %s "
            "AND day BETWEEN %s AND %s ORDER BY day",
            (person_id, stream_id, day_lo, day_hi),
        ).fetchall()
        return [(int(d), bytes(s)) for d, s in rows]

    def block_put(
        self, person_id: str, stream_id: bytes, rows: Sequence[tuple[int, bytes]]
    ) -> None:
        with self._db.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO lt_blocks VALUES (%s, %s, %s, %s) ON CONFLICT "
                "(person_id, stream_id, day) DO UPDATE SET sealed = excluded.sealed",
                [(person_id, stream_id, day, sealed) for day, sealed in rows],
            )

    def _insert_new(self, sql: str, rows: list[tuple[object, ...]]) -> int:
        if not rows:
            return 0
        with self._db.cursor() as cursor:
            cursor.executemany(sql, rows)
            return max(cursor.rowcount, 0)

    def block_delete(self, person_id: str, stream_id: bytes, day_lo: int, day_hi: int) -> None:
        self._db.execute(
            "DELETE FROM lt_blocks WHERE person_id = %s AND stream_id = %s "
            "AND day BETWEEN %s AND %s",
            (person_id, stream_id, day_lo, day_hi),
        )

    def record_put(self, person_id: str, rows: Sequence[tuple[bytes, int, bytes, bytes]]) -> int:
        return self._insert_new(
            "INSERT INTO lt_records (person_id, stream_id, day, tag, sealed) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            [(person_id, *row) for row in rows],
        )

    def record_get(
        self, person_id: str, stream_id: bytes, day_lo: int, day_hi: int
    ) -> list[tuple[bytes, bytes]]:
        rows = self._db.execute(
            "SELECT tag, sealed FROM lt_records WHERE person_id = %s AND stream_id = %s "
            "AND day BETWEEN %s AND %s ORDER BY day",
            (person_id, stream_id, day_lo, day_hi),
        ).fetchall()
        return [(bytes(r[0]), bytes(r[1])) for r in rows]

    def quarantine_put(self, person_id: str, rows: Sequence[tuple[bytes, int, bytes]]) -> int:
        return self._insert_new(
            "INSERT INTO lt_quarantine (person_id, tag, day, sealed) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT DO NOTHING",
            [(person_id, *row) for row in rows],
        )

    def quarantine_get(self, person_id: str) -> list[tuple[bytes, bytes]]:
        rows = self._db.execute(
            "SELECT tag, sealed FROM lt_quarantine WHERE person_id = %s ORDER BY day", (person_id,)
        ).fetchall()
        return [(bytes(r[0]), bytes(r[1])) for r in rows]

    def import_put(self, person_id: str, tag: bytes, sealed: bytes) -> int:
        row = self._db.execute(
            "INSERT INTO lt_imports (person_id, tag, sealed) VALUES (%s, %s, %s) "
            "RETURNING import_id",
            (person_id, tag, sealed),
        ).fetchone()
        assert row is not None
        return int(row[0])

    def import_update(self, person_id: str, import_id: int, sealed: bytes) -> None:
        self._db.execute(
            "UPDATE lt_imports SET sealed = %s WHERE person_id = %s AND import_id = %s",
            (sealed, person_id, import_id),
        )

    def import_rows(self, person_id: str) -> list[tuple[int, bytes, bytes]]:
        rows = self._db.execute(
            "SELECT import_id, tag, sealed FROM lt_imports WHERE person_id = %s ORDER BY import_id",
            (person_id,),
        ).fetchall()
        return [(int(a), bytes(b), bytes(c)) for a, b, c in rows]

    def state_get(self, person_id: str, tag: bytes) -> bytes | None:
        row = self._db.execute(
            "SELECT sealed FROM lt_state WHERE person_id = %s AND tag = %s", (person_id, tag)
        ).fetchone()
        return None if row is None else bytes(row[0])

    def state_put(self, person_id: str, tag: bytes, sealed: bytes) -> None:
        self._db.execute(
            "INSERT INTO lt_state VALUES (%s, %s, %s) ON CONFLICT (person_id, tag) "
            "DO UPDATE SET sealed = excluded.sealed",
            (person_id, tag, sealed),
        )

    def state_delete(self, person_id: str, tag: bytes) -> None:
        self._db.execute("DELETE FROM lt_state WHERE person_id = %s AND tag = %s", (person_id, tag))

    def audit_append(
        self, person_id: str, rows: Sequence[tuple[int, bytes, bytes]], head: tuple[int, bytes]
    ) -> None:
        with self.transaction(), self._db.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO lt_audit VALUES (%s, %s, %s, %s)",
                [(person_id, seq, entry, digest) for seq, entry, digest in rows],
            )
            cursor.execute(
                "INSERT INTO lt_audit_head VALUES (%s, %s, %s) ON CONFLICT (person_id) "
                "DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
                (person_id, *head),
            )

    def audit_rows(self, person_id: str) -> Iterator[tuple[int, bytes, bytes]]:
        with self._db.cursor() as cursor:
            cursor.execute(
                "SELECT seq, entry, hash FROM lt_audit WHERE person_id = %s ORDER BY seq",
                (person_id,),
            )
            for seq, entry, digest in cursor:
                yield int(seq), bytes(entry), bytes(digest)

    def audit_head(self, person_id: str) -> tuple[int, bytes] | None:
        row = self._db.execute(
            "SELECT seq, hash FROM lt_audit_head WHERE person_id = %s", (person_id,)
        ).fetchone()
        return None if row is None else (int(row[0]), bytes(row[1]))

    def audit_checkpoint_put(
        self, person_id: str, seq: int, digest: bytes, signature: bytes
    ) -> None:
        self._db.execute(
            "INSERT INTO lt_audit_checkpoints VALUES (%s, %s, %s, %s) ON CONFLICT "
            "(person_id, seq) DO UPDATE SET hash = excluded.hash, signature = excluded.signature",
            (person_id, seq, digest, signature),
        )

    def audit_checkpoints(self, person_id: str) -> list[tuple[int, bytes, bytes]]:
        rows = self._db.execute(
            "SELECT seq, hash, signature FROM lt_audit_checkpoints WHERE person_id = %s "
            "ORDER BY seq",
            (person_id,),
        ).fetchall()
        return [(int(a), bytes(b), bytes(c)) for a, b, c in rows]

    def audit_persons(self) -> list[str]:
        rows = self._db.execute("SELECT person_id FROM lt_audit_head ORDER BY person_id")
        return [str(r[0]) for r in rows.fetchall()]

    def compact(self) -> None:
        for table in (
            "lt_blocks",
            "lt_records",
            "lt_quarantine",
            "lt_streams",
            "lt_state",
            "lt_persons",
        ):
            self._db.execute(f"VACUUM {table}")

    def files(self) -> list[Path]:
        return []

    def describe(self) -> str:
        return f"PostgreSQL at {_redact(self.url)}"

    def close(self) -> None:
        self._db.close()


def _redact(url: str) -> str:
    """Hide a password in a connection URL."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in credentials else url
