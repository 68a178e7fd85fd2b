"""One SQL backend for both stores: the embedded SQLite file and a PostgreSQL server.

Backends move opaque bytes: all encryption happens above them
(``lifetwin.store.vault``, ``lifetwin.services.accounts``), so neither SQLite nor
PostgreSQL ever sees a personal value, a name or a credential in the clear.

The SQL is written once (``lifetwin.store.schema``); a :class:`Dialect` supplies what
differs: parameter marks, table prefixes, column types and how a connection is had.
Both dialects speak ``INSERT … ON CONFLICT``.

Concurrency. There is no process-wide lock. Each thread has its own SQLite connection
(WAL: readers never wait, one writer at a time); PostgreSQL connections come from a
pool (``psycopg_pool``). A change to one person runs in
``transaction(person_id)``: ``BEGIN IMMEDIATE`` on SQLite (the file's write lock),
``BEGIN`` and a transaction-scoped advisory lock on the person on PostgreSQL, so two
workers on two machines serialize their changes to one person and never to two
different ones. Whatever reads and then writes (the audit chain's head, a profile, a
rate-limit window) does both inside that transaction. Hooks registered with
:meth:`SQLBackend.before_commit` run at the end of the outermost transaction, inside
it (the audit log signs its chain heads there).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lifetwin.core.errors import StoreError

try:
    import fcntl
except ImportError:  # Windows: the in-process lock only
    fcntl = None  # type: ignore[assignment]
from lifetwin.core.files import private_dir, private_file, tighten
from lifetwin.store import schema

Row = tuple[Any, ...]


class Dialect:
    """What differs between SQLite and PostgreSQL in our SQL."""

    def __init__(self, name: str, prefix: str, param: str, types: dict[str, str]) -> None:
        self.name = name
        self.prefix = prefix
        self.param = param
        self.types = types
        self._cache: dict[str, str] = {}

    def table(self, name: str) -> str:
        return self.prefix + name

    def sql(self, text: str) -> str:
        """Our SQL (``{table}`` names, ``?`` marks, neutral types) in this dialect."""
        done = self._cache.get(text)
        if done is None:
            names = {t: self.table(t) for t in schema.TABLES_V2}
            done = text.format(**names)
            for neutral, concrete in self.types.items():
                done = done.replace(neutral, concrete)
            if self.param != "?":
                done = done.replace("?", self.param)
            self._cache[text] = done
        return done


SQLITE = Dialect(
    "sqlite",
    "",
    "?",
    {"SERIAL_KEY": "INTEGER PRIMARY KEY AUTOINCREMENT", "WITHOUT_ROWID": "WITHOUT ROWID"},
)
POSTGRES = Dialect(
    "postgresql",
    "lt_",
    "%s",
    {"SERIAL_KEY": "BIGSERIAL PRIMARY KEY", "WITHOUT_ROWID": "", "BLOB": "BYTEA"},
)


class _Local(threading.local):
    conn: Any = None
    depth: int = 0
    hooks: dict[Any, Callable[[], None]]
    after: list[Callable[[], None]]

    def __init__(self) -> None:
        self.hooks = {}
        self.after = []


def person_lock_key(person_id: str) -> int:
    """A signed 64-bit advisory-lock number for a person (PostgreSQL)."""
    digest = hashlib.blake2b(person_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class SQLBackend:
    """Row storage for a store. Methods run inside the current thread's transaction when
    there is one, else each on its own (autocommit)."""

    name: str
    dialect: Dialect
    closed: bool = False

    def __init__(self) -> None:
        self._local = _Local()

    # -- connections and transactions (dialect-specific parts below) -----------------
    @contextmanager
    def _checkout(self) -> Iterator[Any]:
        raise NotImplementedError

    def _begin(self, conn: Any) -> None:
        raise NotImplementedError

    def _writer(self) -> contextlib.AbstractContextManager[None]:
        """Held around a write transaction, before it begins (where the backend's own
        locking is not fair enough)."""
        return contextlib.nullcontext()

    def _lock_person(self, conn: Any, person_id: str) -> None:
        raise NotImplementedError

    @contextmanager
    def _use(self) -> Iterator[Any]:
        if self._local.conn is not None:
            yield self._local.conn
        else:
            with self._checkout() as conn:
                yield conn

    def in_transaction(self) -> bool:
        return self._local.depth > 0

    @contextmanager
    def transaction(self, person_id: str | None = None) -> Iterator[None]:
        """One transaction; with ``person_id``, one that holds that person's write lock."""
        local = self._local
        if local.depth:
            if person_id is not None:
                self._lock_person(local.conn, person_id)
            local.depth += 1
            try:
                yield
            finally:
                local.depth -= 1
            return
        with self._checkout() as conn, self._writer():
            self._begin(conn)
            local.conn, local.depth, local.hooks, local.after = conn, 1, {}, []
            try:
                if person_id is not None:
                    self._lock_person(conn, person_id)
                yield
                while local.hooks:  # a hook may register another; run until none is left
                    _key, hook = local.hooks.popitem()
                    hook()
            except BaseException:
                with contextlib.suppress(Exception):
                    conn.execute("ROLLBACK")
                local.conn, local.depth, local.hooks, local.after = None, 0, {}, []
                raise
            conn.execute("COMMIT")
            after = local.after
            local.conn, local.depth, local.hooks, local.after = None, 0, {}, []
        for done in after:
            done()

    @contextmanager
    def bound(self, conn: Any) -> Iterator[None]:
        """Use a connection someone else manages (alembic's, in a migration) as if it were
        this thread's open transaction; hooks run at the end, the commit is theirs."""
        local = self._local
        if local.depth:
            raise StoreError("bound() cannot be used inside a transaction.")
        local.conn, local.depth, local.hooks, local.after = conn, 1, {}, []
        try:
            yield
            while local.hooks:
                _key, hook = local.hooks.popitem()
                hook()
        finally:
            local.conn, local.depth, local.hooks, local.after = None, 0, {}, []

    def before_commit(self, key: Any, hook: Callable[[], None]) -> None:
        """Run ``hook`` once at the end of the current outermost transaction (inside it)."""
        if not self._local.depth:
            raise StoreError("before_commit needs a transaction.")
        self._local.hooks[key] = hook

    def after_commit(self, hook: Callable[[], None]) -> None:
        """Run ``hook`` after the current transaction commits (at once when there is none)."""
        if self._local.depth:
            self._local.after.append(hook)
        else:
            hook()

    # -- statement helpers --------------------------------------------------------------
    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        with self._use() as conn:
            return list(conn.execute(self.dialect.sql(sql), params).fetchall())

    def _one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        with self._use() as conn:
            row = conn.execute(self.dialect.sql(sql), params).fetchone()
            return None if row is None else tuple(row)

    def _run(self, sql: str, params: Sequence[Any] = ()) -> int:
        with self._use() as conn:
            return int(conn.execute(self.dialect.sql(sql), params).rowcount)

    def _many(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        if not rows:
            return 0
        with self._use() as conn:
            cursor = conn.cursor()
            try:
                cursor.executemany(self.dialect.sql(sql), rows)
                return max(int(cursor.rowcount), 0)
            finally:
                cursor.close()

    def _script(self, script: str) -> None:
        with self._use() as conn:
            for statement in schema.statements(script):
                conn.execute(self.dialect.sql(statement))

    def table_exists(self, name: str) -> bool:
        raise NotImplementedError

    # -- meta: store settings -------------------------------------------------------------
    def meta_get(self, key: str) -> bytes | None:
        row = self._one("SELECT value FROM {meta} WHERE key = ?", (key,))
        return None if row is None else bytes(row[0])

    def meta_set(self, key: str, value: bytes) -> None:
        self._run(
            "INSERT INTO {meta} (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def meta_set_if_absent(self, key: str, value: bytes) -> bytes:
        """Set a value only if none is there; return the one that is (first writer wins)."""
        self._run(
            "INSERT INTO {meta} (key, value) VALUES (?, ?) ON CONFLICT DO NOTHING", (key, value)
        )
        found = self.meta_get(key)
        assert found is not None
        return found

    def meta_delete(self, key: str) -> None:
        self._run("DELETE FROM {meta} WHERE key = ?", (key,))

    def meta_keys(self) -> list[str]:
        return [str(r[0]) for r in self._all("SELECT key FROM {meta} ORDER BY key")]

    # -- persons --------------------------------------------------------------------------
    def person_insert(
        self, person_id: str, name_tag: bytes, wrapped_key: bytes, sealed: bytes
    ) -> bool:
        """Add a person; False if the name tag is taken."""
        return (
            self._run(
                "INSERT INTO {persons} VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (person_id, name_tag, wrapped_key, sealed),
            )
            == 1
        )

    def person_rows(self) -> list[tuple[str, bytes, bytes, bytes]]:
        rows = self._all("SELECT * FROM {persons} ORDER BY person_id")
        return [(r[0], bytes(r[1]), bytes(r[2]), bytes(r[3])) for r in rows]

    def person_count(self) -> int:
        row = self._one("SELECT COUNT(*) FROM {persons}")
        return int(row[0]) if row else 0

    def person_by_tag(self, name_tag: bytes) -> tuple[str, bytes, bytes, bytes] | None:
        r = self._one("SELECT * FROM {persons} WHERE name_tag = ?", (name_tag,))
        return None if r is None else (r[0], bytes(r[1]), bytes(r[2]), bytes(r[3]))

    def person_by_id(self, person_id: str) -> tuple[str, bytes, bytes, bytes] | None:
        r = self._one("SELECT * FROM {persons} WHERE person_id = ?", (person_id,))
        return None if r is None else (r[0], bytes(r[1]), bytes(r[2]), bytes(r[3]))

    def person_rewrap(self, person_id: str, wrapped_key: bytes) -> None:
        self._run(
            "UPDATE {persons} SET wrapped_key = ? WHERE person_id = ?", (wrapped_key, person_id)
        )

    def person_delete(self, person_id: str) -> list[str]:
        """Remove the person's wrapped key and every row of theirs, in one transaction;
        return the ids of the jobs that were removed (their files are the caller's)."""
        with self.transaction(person_id):
            jobs = [
                str(r[0])
                for r in self._all("SELECT job_id FROM {jobs} WHERE person_id = ?", (person_id,))
            ]
            accounts = [
                bytes(r[0])
                for r in self._all("SELECT tag FROM {accounts} WHERE person_id = ?", (person_id,))
            ]
            for tag in accounts:
                self._run("DELETE FROM {sessions} WHERE account_tag = ?", (tag,))
                self._run("DELETE FROM {tokens} WHERE account_tag = ?", (tag,))
            self._run("DELETE FROM {persons} WHERE person_id = ?", (person_id,))
            for table in schema.PERSON_TABLES:
                self._run(f"DELETE FROM {{{table}}} WHERE person_id = ?", (person_id,))
            self._run("DELETE FROM {generations} WHERE scope = ?", ("person:" + person_id,))
        return jobs

    # -- streams, blocks, records, quarantine, imports, state --------------------------
    def stream_put(self, person_id: str, stream_id: bytes, sealed: bytes) -> None:
        self._run(
            "INSERT INTO {streams} VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (person_id, stream_id, sealed),
        )

    def stream_rows(self, person_id: str) -> list[tuple[bytes, bytes]]:
        rows = self._all(
            "SELECT stream_id, sealed FROM {streams} WHERE person_id = ?", (person_id,)
        )
        return [(bytes(a), bytes(b)) for a, b in rows]

    def stream_last_days(self, person_id: str) -> list[tuple[bytes, int]]:
        """The newest block (numeric) or record day of each stream."""
        rows = self._all(
            "SELECT stream_id, MAX(day) FROM {blocks} WHERE person_id = ? GROUP BY stream_id "
            "UNION ALL SELECT stream_id, MAX(day) FROM {records} WHERE person_id = ? "
            "GROUP BY stream_id",
            (person_id, person_id),
        )
        return [(bytes(a), int(b)) for a, b in rows]

    def block_day_span(self, person_id: str, stream_id: bytes) -> tuple[int, int] | None:
        """The first and last day a numeric stream has values on."""
        row = self._one(
            "SELECT MIN(day), MAX(day) FROM {blocks} WHERE person_id = ? AND stream_id = ?",
            (person_id, stream_id),
        )
        return None if row is None or row[0] is None else (int(row[0]), int(row[1]))

    def block_get(
        self, person_id: str, stream_id: bytes, day_lo: int, day_hi: int
    ) -> list[tuple[int, bytes]]:
        rows = self._all(
            "SELECT day, sealed FROM {blocks} WHERE person_id = ? AND stream_id = ? "
            "AND day BETWEEN ? AND ? ORDER BY day",
            (person_id, stream_id, day_lo, day_hi),
        )
        return [(int(d), bytes(s)) for d, s in rows]

    def block_put(
        self, person_id: str, stream_id: bytes, rows: Sequence[tuple[int, bytes]]
    ) -> None:
        """Insert or replace blocks by day."""
        self._many(
            "INSERT INTO {blocks} VALUES (?, ?, ?, ?) ON CONFLICT (person_id, stream_id, day) "
            "DO UPDATE SET sealed = excluded.sealed",
            [(person_id, stream_id, day, sealed) for day, sealed in rows],
        )

    def block_delete(self, person_id: str, stream_id: bytes, day_lo: int, day_hi: int) -> None:
        self._run(
            "DELETE FROM {blocks} WHERE person_id = ? AND stream_id = ? AND day BETWEEN ? AND ?",
            (person_id, stream_id, day_lo, day_hi),
        )

    def record_put(self, person_id: str, rows: Sequence[tuple[bytes, int, bytes, bytes]]) -> int:
        """Insert (stream_id, day, tag, sealed) rows whose tag is new; return how many."""
        return self._many(
            "INSERT INTO {records} (person_id, stream_id, day, tag, sealed) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [(person_id, *row) for row in rows],
        )

    def record_get(
        self, person_id: str, stream_id: bytes, day_lo: int, day_hi: int
    ) -> list[tuple[bytes, bytes]]:
        rows = self._all(
            "SELECT tag, sealed FROM {records} WHERE person_id = ? AND stream_id = ? "
            "AND day BETWEEN ? AND ? ORDER BY day",
            (person_id, stream_id, day_lo, day_hi),
        )
        return [(bytes(r[0]), bytes(r[1])) for r in rows]

    def record_upsert(self, person_id: str, rows: Sequence[tuple[bytes, int, bytes, bytes]]) -> int:
        """Insert (stream_id, day, tag, sealed) rows, replacing those whose tag exists."""
        return self._many(
            "INSERT INTO {records} (person_id, stream_id, day, tag, sealed) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (person_id, tag) DO UPDATE SET "
            "stream_id = excluded.stream_id, day = excluded.day, sealed = excluded.sealed",
            [(person_id, *row) for row in rows],
        )

    def record_by_tag(self, person_id: str, tag: bytes) -> tuple[bytes, int, bytes] | None:
        """(stream_id, day, sealed) of one record."""
        row = self._one(
            "SELECT stream_id, day, sealed FROM {records} WHERE person_id = ? AND tag = ?",
            (person_id, tag),
        )
        return None if row is None else (bytes(row[0]), int(row[1]), bytes(row[2]))

    def record_delete(self, person_id: str, tags: Sequence[bytes]) -> int:
        return self._many(
            "DELETE FROM {records} WHERE person_id = ? AND tag = ?",
            [(person_id, tag) for tag in tags],
        )

    def record_day_span(self, person_id: str, stream_id: bytes) -> tuple[int, int] | None:
        """The first and last day a stream has records on."""
        row = self._one(
            "SELECT MIN(day), MAX(day) FROM {records} WHERE person_id = ? AND stream_id = ?",
            (person_id, stream_id),
        )
        return None if row is None or row[0] is None else (int(row[0]), int(row[1]))

    def quarantine_put(self, person_id: str, rows: Sequence[tuple[bytes, int, bytes]]) -> int:
        return self._many(
            "INSERT INTO {quarantine} (person_id, tag, day, sealed) VALUES (?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            [(person_id, *row) for row in rows],
        )

    def quarantine_get(self, person_id: str) -> list[tuple[bytes, bytes]]:
        rows = self._all(
            "SELECT tag, sealed FROM {quarantine} WHERE person_id = ? ORDER BY day", (person_id,)
        )
        return [(bytes(r[0]), bytes(r[1])) for r in rows]

    def import_put(self, person_id: str, tag: bytes, sealed: bytes) -> int:
        row = self._one(
            "INSERT INTO {imports} (person_id, tag, sealed) VALUES (?, ?, ?) RETURNING import_id",
            (person_id, tag, sealed),
        )
        assert row is not None
        return int(row[0])

    def import_update(self, person_id: str, import_id: int, sealed: bytes) -> None:
        self._run(
            "UPDATE {imports} SET sealed = ? WHERE person_id = ? AND import_id = ?",
            (sealed, person_id, import_id),
        )

    def import_rows(self, person_id: str) -> list[tuple[int, bytes, bytes]]:
        rows = self._all(
            "SELECT import_id, tag, sealed FROM {imports} WHERE person_id = ? ORDER BY import_id",
            (person_id,),
        )
        return [(int(a), bytes(b), bytes(c)) for a, b, c in rows]

    def state_get(self, person_id: str, tag: bytes) -> bytes | None:
        row = self._one(
            "SELECT sealed FROM {state} WHERE person_id = ? AND tag = ?", (person_id, tag)
        )
        return None if row is None else bytes(row[0])

    def state_put(self, person_id: str, tag: bytes, sealed: bytes) -> None:
        """Insert or replace one sealed value of a person's small state."""
        self._run(
            "INSERT INTO {state} VALUES (?, ?, ?) ON CONFLICT (person_id, tag) "
            "DO UPDATE SET sealed = excluded.sealed",
            (person_id, tag, sealed),
        )

    def state_delete(self, person_id: str, tag: bytes) -> None:
        self._run("DELETE FROM {state} WHERE person_id = ? AND tag = ?", (person_id, tag))

    # -- consent grants: one row each, versioned ------------------------------------------
    def grant_rows(self, person_id: str) -> list[tuple[bytes, int, bytes]]:
        rows = self._all(
            "SELECT tag, version, sealed FROM {grants} WHERE person_id = ? ORDER BY tag",
            (person_id,),
        )
        return [(bytes(t), int(v), bytes(s)) for t, v, s in rows]

    def grant_versions(self, person_id: str) -> list[tuple[bytes, int]]:
        rows = self._all(
            "SELECT tag, version FROM {grants} WHERE person_id = ? ORDER BY tag", (person_id,)
        )
        return [(bytes(t), int(v)) for t, v in rows]

    def grant_put(self, person_id: str, tag: bytes, version: int, sealed: bytes) -> None:
        self._run(
            "INSERT INTO {grants} VALUES (?, ?, ?, ?) ON CONFLICT (person_id, tag) "
            "DO UPDATE SET version = excluded.version, sealed = excluded.sealed",
            (person_id, tag, version, sealed),
        )

    def consent_snapshot(
        self, person_id: str
    ) -> tuple[
        list[tuple[bytes, int, bytes]], tuple[int, bytes, bytes | None, bytes | None] | None
    ]:
        """A person's grant rows and their chain's signed head, read in one snapshot (a
        grant committed in between would otherwise look like tampering)."""
        if self._local.depth:
            return self.grant_rows(person_id), self.audit_head_signed(person_id)
        with self._checkout() as conn:
            conn.execute(self._snapshot_begin)
            self._local.conn, self._local.depth = conn, 1
            try:
                return self.grant_rows(person_id), self.audit_head_signed(person_id)
            finally:
                self._local.conn, self._local.depth = None, 0
                conn.execute("COMMIT")

    _snapshot_begin = "BEGIN"

    # -- derived results: one row each ------------------------------------------------------
    def derived_put(self, person_id: str, tag: bytes, sealed: bytes) -> None:
        self._run(
            "INSERT INTO {derived} VALUES (?, ?, ?) ON CONFLICT (person_id, tag) "
            "DO UPDATE SET sealed = excluded.sealed",
            (person_id, tag, sealed),
        )

    def derived_get(self, person_id: str, tag: bytes) -> bytes | None:
        row = self._one(
            "SELECT sealed FROM {derived} WHERE person_id = ? AND tag = ?", (person_id, tag)
        )
        return None if row is None else bytes(row[0])

    def derived_rows(self, person_id: str) -> list[tuple[bytes, bytes]]:
        rows = self._all("SELECT tag, sealed FROM {derived} WHERE person_id = ?", (person_id,))
        return [(bytes(t), bytes(s)) for t, s in rows]

    def derived_delete(self, person_id: str, tag: bytes) -> None:
        self._run("DELETE FROM {derived} WHERE person_id = ? AND tag = ?", (person_id, tag))

    # -- the audit chains ---------------------------------------------------------------------
    # The audit tables are kept when a person is erased: their chain stays verifiable.
    def audit_append(
        self, person_id: str, rows: Sequence[tuple[int, bytes, bytes]], head: tuple[int, bytes]
    ) -> None:
        """Add entries and move the head (unsigned until :meth:`audit_sign_head`)."""
        self._many(
            "INSERT INTO {audit} VALUES (?, ?, ?, ?)",
            [(person_id, seq, entry, digest) for seq, entry, digest in rows],
        )
        self._run(
            "INSERT INTO {audit_head} (person_id, seq, hash, state, signature) "
            "VALUES (?, ?, ?, NULL, NULL) ON CONFLICT (person_id) DO UPDATE SET "
            "seq = excluded.seq, hash = excluded.hash, state = NULL, signature = NULL",
            (person_id, *head),
        )

    def audit_sign_head(self, person_id: str, seq: int, state: bytes, signature: bytes) -> None:
        self._run(
            "UPDATE {audit_head} SET state = ?, signature = ? WHERE person_id = ? AND seq = ?",
            (state, signature, person_id, seq),
        )

    # -- many persons' chains at once (the group commit of reads) ------------------------
    def lock_persons(self, person_ids: Sequence[str]) -> None:
        """Take these persons' write locks in the current transaction, in this order."""
        conn = self._local.conn
        if conn is None:
            raise StoreError("lock_persons needs a transaction.")
        for person_id in person_ids:
            self._lock_person(conn, person_id)

    def audit_heads(self, person_ids: Sequence[str]) -> dict[str, tuple[int, bytes]]:
        marks = ", ".join("?" * len(person_ids))
        rows = self._all(
            f"SELECT person_id, seq, hash FROM {{audit_head}} WHERE person_id IN ({marks})",
            tuple(person_ids),
        )
        return {str(p): (int(seq), bytes(digest)) for p, seq, digest in rows}

    def grant_versions_of(self, person_ids: Sequence[str]) -> dict[str, list[tuple[bytes, int]]]:
        """:meth:`grant_versions` of many persons in one query."""
        marks = ", ".join("?" * len(person_ids))
        rows = self._all(
            f"SELECT person_id, tag, version FROM {{grants}} WHERE person_id IN ({marks}) "
            "ORDER BY person_id, tag",
            tuple(person_ids),
        )
        out: dict[str, list[tuple[bytes, int]]] = {}
        for p, tag, version in rows:
            out.setdefault(str(p), []).append((bytes(tag), int(version)))
        return out

    def audit_append_signed(
        self,
        rows: Sequence[tuple[str, int, bytes, bytes]],
        heads: Sequence[tuple[str, int, bytes, bytes | None, bytes | None]],
    ) -> None:
        """Add many persons' entries and set their heads, signed already."""
        self._many("INSERT INTO {audit} VALUES (?, ?, ?, ?)", rows)
        self._many(
            "INSERT INTO {audit_head} (person_id, seq, hash, state, signature) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (person_id) DO UPDATE SET "
            "seq = excluded.seq, hash = excluded.hash, state = excluded.state, "
            "signature = excluded.signature",
            heads,
        )

    def audit_rows(self, person_id: str, after: int = 0) -> Iterator[tuple[int, bytes, bytes]]:
        """Entries with seq > after, in order, fetched in pages (a chain can be long)."""
        while True:
            page = self._all(
                "SELECT seq, entry, hash FROM {audit} WHERE person_id = ? AND seq > ? "
                "ORDER BY seq LIMIT 5000",
                (person_id, after),
            )
            for seq, entry, digest in page:
                yield int(seq), bytes(entry), bytes(digest)
            if len(page) < 5000:
                return
            after = int(page[-1][0])

    def audit_row(self, person_id: str, seq: int) -> tuple[bytes, bytes] | None:
        row = self._one(
            "SELECT entry, hash FROM {audit} WHERE person_id = ? AND seq = ?", (person_id, seq)
        )
        return None if row is None else (bytes(row[0]), bytes(row[1]))

    def audit_last(self, person_id: str) -> tuple[int, bytes] | None:
        row = self._one(
            "SELECT seq, hash FROM {audit} WHERE person_id = ? ORDER BY seq DESC LIMIT 1",
            (person_id,),
        )
        return None if row is None else (int(row[0]), bytes(row[1]))

    def audit_head(self, person_id: str) -> tuple[int, bytes] | None:
        row = self._one("SELECT seq, hash FROM {audit_head} WHERE person_id = ?", (person_id,))
        return None if row is None else (int(row[0]), bytes(row[1]))

    def audit_head_signed(
        self, person_id: str
    ) -> tuple[int, bytes, bytes | None, bytes | None] | None:
        """(seq, hash, state digest, signature) of a chain's head."""
        row = self._one(
            "SELECT seq, hash, state, signature FROM {audit_head} WHERE person_id = ?",
            (person_id,),
        )
        if row is None:
            return None
        state = None if row[2] is None else bytes(row[2])
        signature = None if row[3] is None else bytes(row[3])
        return int(row[0]), bytes(row[1]), state, signature

    def audit_checkpoint_put(
        self, person_id: str, seq: int, digest: bytes, signature: bytes
    ) -> None:
        self._run(
            "INSERT INTO {audit_checkpoints} VALUES (?, ?, ?, ?) ON CONFLICT (person_id, seq) "
            "DO UPDATE SET hash = excluded.hash, signature = excluded.signature",
            (person_id, seq, digest, signature),
        )

    def audit_checkpoints(self, person_id: str) -> list[tuple[int, bytes, bytes]]:
        rows = self._all(
            "SELECT seq, hash, signature FROM {audit_checkpoints} WHERE person_id = ? ORDER BY seq",
            (person_id,),
        )
        return [(int(a), bytes(b), bytes(c)) for a, b, c in rows]

    def audit_persons(self) -> list[str]:
        rows = self._all("SELECT person_id FROM {audit_head} ORDER BY person_id")
        return [str(r[0]) for r in rows]

    # -- accounts, tokens and sessions (sealed under the service key) -----------------------
    def account_get(self, tag: bytes) -> tuple[str | None, int, bytes] | None:
        row = self._one("SELECT person_id, version, sealed FROM {accounts} WHERE tag = ?", (tag,))
        return None if row is None else (row[0], int(row[1]), bytes(row[2]))

    def account_insert(
        self, tag: bytes, person_id: str | None, version: int, sealed: bytes
    ) -> bool:
        return (
            self._run(
                "INSERT INTO {accounts} VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (tag, person_id, version, sealed),
            )
            == 1
        )

    def account_update(self, tag: bytes, version: int, sealed: bytes) -> None:
        self._run(
            "UPDATE {accounts} SET version = ?, sealed = ? WHERE tag = ?", (version, sealed, tag)
        )

    def account_delete(self, tag: bytes) -> None:
        self._run("DELETE FROM {sessions} WHERE account_tag = ?", (tag,))
        self._run("DELETE FROM {tokens} WHERE account_tag = ?", (tag,))
        self._run("DELETE FROM {accounts} WHERE tag = ?", (tag,))

    def account_rows(self) -> list[tuple[bytes, str | None, int, bytes]]:
        rows = self._all("SELECT tag, person_id, version, sealed FROM {accounts}")
        return [(bytes(t), p, int(v), bytes(s)) for t, p, v, s in rows]

    def token_insert(
        self,
        token_id: str,
        account_tag: bytes,
        person_id: str,
        nightscout: bytes,
        expires_ms: int,
        sealed: bytes,
    ) -> None:
        self._run(
            "INSERT INTO {tokens} VALUES (?, ?, ?, ?, ?, 1, ?)",
            (token_id, account_tag, person_id, nightscout, expires_ms, sealed),
        )

    def token_get(self, token_id: str) -> tuple[bytes, str, int, int, bytes] | None:
        """(account tag, person id, expiry ms, version, sealed) of a token."""
        row = self._one(
            "SELECT account_tag, person_id, expires_ms, version, sealed FROM {tokens} "
            "WHERE token_id = ?",
            (token_id,),
        )
        if row is None:
            return None
        return bytes(row[0]), str(row[1]), int(row[2]), int(row[3]), bytes(row[4])

    def token_by_nightscout(self, nightscout: bytes) -> str | None:
        row = self._one("SELECT token_id FROM {tokens} WHERE nightscout = ?", (nightscout,))
        return None if row is None else str(row[0])

    def token_delete(self, token_id: str) -> bool:
        return self._run("DELETE FROM {tokens} WHERE token_id = ?", (token_id,)) == 1

    def token_rows(self) -> list[tuple[str, bytes, str, int, int, bytes]]:
        rows = self._all(
            "SELECT token_id, account_tag, person_id, expires_ms, version, sealed FROM {tokens} "
            "ORDER BY token_id"
        )
        return [(str(a), bytes(b), str(c), int(d), int(e), bytes(f)) for a, b, c, d, e, f in rows]

    def session_put(
        self, sid: bytes, account_tag: bytes, person_id: str | None, expires_ms: int, sealed: bytes
    ) -> None:
        self._run(
            "INSERT INTO {sessions} VALUES (?, ?, ?, ?, ?)",
            (sid, account_tag, person_id, expires_ms, sealed),
        )

    def session_get(self, sid: bytes) -> tuple[bytes, int, bytes] | None:
        row = self._one(
            "SELECT account_tag, expires_ms, sealed FROM {sessions} WHERE sid = ?", (sid,)
        )
        return None if row is None else (bytes(row[0]), int(row[1]), bytes(row[2]))

    def session_delete(self, sid: bytes) -> None:
        self._run("DELETE FROM {sessions} WHERE sid = ?", (sid,))

    def session_prune(self, now_ms: int) -> int:
        return self._run("DELETE FROM {sessions} WHERE expires_ms < ?", (now_ms,))

    # -- rate limits: events in a sliding window, charged atomically -------------------------
    def rate_charge(self, key: bytes, now_ms: int, window_ms: int, limit: int, cost: int) -> int:
        """Charge ``cost`` events to ``key`` unless that would pass ``limit`` in the window;
        return 0 when charged, else the milliseconds until it would fit."""
        with self.transaction():
            self._run(
                "DELETE FROM {rate_events} WHERE key = ? AND ts_ms <= ?", (key, now_ms - window_ms)
            )
            rows = self._all("SELECT ts_ms FROM {rate_events} WHERE key = ? ORDER BY ts_ms", (key,))
            if len(rows) + max(cost, 1) > limit:
                oldest = int(rows[0][0]) if rows else now_ms
                return max(1, oldest + window_ms - now_ms)
            if cost > 0:
                self._many("INSERT INTO {rate_events} VALUES (?, ?)", [(key, now_ms)] * cost)
            return 0

    def rate_count(self, key: bytes, since_ms: int) -> int:
        row = self._one(
            "SELECT COUNT(*) FROM {rate_events} WHERE key = ? AND ts_ms > ?", (key, since_ms)
        )
        return int(row[0]) if row else 0

    def rate_reset(self, key: bytes) -> None:
        self._run("DELETE FROM {rate_events} WHERE key = ?", (key,))

    def rate_prune(self, before_ms: int) -> int:
        return self._run("DELETE FROM {rate_events} WHERE ts_ms < ?", (before_ms,))

    # -- the job queue -------------------------------------------------------------------------
    def job_insert(
        self, job_id: str, person_id: str, kind: str, run_after_ms: int, now_ms: int, sealed: bytes
    ) -> None:
        self._run(
            "INSERT INTO {jobs} VALUES (?, ?, ?, 'queued', 0, ?, 0, '', ?, ?, ?)",
            (job_id, person_id, kind, run_after_ms, now_ms, now_ms, sealed),
        )

    def job_claim(
        self, worker: str, now_ms: int, lease_ms: int
    ) -> tuple[str, str, str, int, bytes] | None:
        """Take the oldest job that is queued (or whose worker's lease ran out): (id,
        person, kind, attempt number, sealed). Two workers never take the same job."""
        with self.transaction():
            row = self._one(
                "SELECT job_id, person_id, kind, attempts, sealed FROM {jobs} "
                "WHERE (state = 'queued' AND run_after_ms <= ?) "
                "OR (state = 'running' AND locked_until_ms < ?) "
                "ORDER BY run_after_ms LIMIT 1" + self._skip_locked(),
                (now_ms, now_ms),
            )
            if row is None:
                return None
            attempts = int(row[3]) + 1
            self._run(
                "UPDATE {jobs} SET state = 'running', attempts = ?, locked_until_ms = ?, "
                "worker = ?, updated_ms = ? WHERE job_id = ?",
                (attempts, now_ms + lease_ms, worker, now_ms, row[0]),
            )
            return str(row[0]), str(row[1]), str(row[2]), attempts, bytes(row[4])

    def _skip_locked(self) -> str:
        return ""

    def job_update(
        self,
        job_id: str,
        state: str,
        sealed: bytes | None,
        now_ms: int,
        *,
        lease_until_ms: int | None = None,
        run_after_ms: int | None = None,
    ) -> None:
        sets = ["state = ?", "updated_ms = ?"]
        params: list[Any] = [state, now_ms]
        if sealed is not None:
            sets.append("sealed = ?")
            params.append(sealed)
        if lease_until_ms is not None:
            sets.append("locked_until_ms = ?")
            params.append(lease_until_ms)
        if run_after_ms is not None:
            sets.append("run_after_ms = ?")
            params.append(run_after_ms)
        self._run(f"UPDATE {{jobs}} SET {', '.join(sets)} WHERE job_id = ?", (*params, job_id))

    def job_get(self, job_id: str) -> tuple[str, str, str, int, int, int, bytes] | None:
        """(person, kind, state, attempts, created ms, updated ms, sealed)."""
        row = self._one(
            "SELECT person_id, kind, state, attempts, created_ms, updated_ms, sealed FROM {jobs} "
            "WHERE job_id = ?",
            (job_id,),
        )
        if row is None:
            return None
        return (
            str(row[0]),
            str(row[1]),
            str(row[2]),
            int(row[3]),
            int(row[4]),
            int(row[5]),
            bytes(row[6]),
        )

    def job_counts(self) -> dict[str, int]:
        return {
            str(s): int(n)
            for s, n in self._all("SELECT state, COUNT(*) FROM {jobs} GROUP BY state")
        }

    def job_ids(self) -> list[str]:
        return [str(r[0]) for r in self._all("SELECT job_id FROM {jobs}")]

    def job_prune(self, before_ms: int) -> int:
        return self._run(
            "DELETE FROM {jobs} WHERE state IN ('done', 'failed') AND updated_ms < ?",
            (before_ms,),
        )

    # -- uploads waiting for their import job (sealed chunks) ---------------------------------
    def upload_put(self, job_id: str, person_id: str, n: int, sealed: bytes) -> None:
        self._run("INSERT INTO {upload_chunks} VALUES (?, ?, ?, ?)", (job_id, n, person_id, sealed))

    def upload_chunk(self, job_id: str, n: int) -> bytes | None:
        row = self._one(
            "SELECT sealed FROM {upload_chunks} WHERE job_id = ? AND n = ?", (job_id, n)
        )
        return None if row is None else bytes(row[0])

    def upload_delete(self, job_id: str) -> None:
        self._run("DELETE FROM {upload_chunks} WHERE job_id = ?", (job_id,))

    def upload_orphans(self) -> list[str]:
        """Uploads whose job is gone or finished (left by a worker that died)."""
        rows = self._all(
            "SELECT DISTINCT u.job_id FROM {upload_chunks} u LEFT JOIN {jobs} j "
            "ON j.job_id = u.job_id WHERE j.job_id IS NULL OR j.state IN ('done', 'failed')"
        )
        return [str(r[0]) for r in rows]

    # -- webhooks, deliveries, live events, publish-once keys ---------------------------------
    def webhook_put(self, person_id: str, hook_id: str, sealed: bytes) -> None:
        self._run("INSERT INTO {webhooks} VALUES (?, ?, ?)", (person_id, hook_id, sealed))

    def webhook_rows(self, person_id: str) -> list[tuple[str, bytes]]:
        rows = self._all(
            "SELECT hook_id, sealed FROM {webhooks} WHERE person_id = ? ORDER BY hook_id",
            (person_id,),
        )
        return [(str(h), bytes(s)) for h, s in rows]

    def webhook_delete(self, person_id: str, hook_id: str) -> bool:
        return (
            self._run(
                "DELETE FROM {webhooks} WHERE person_id = ? AND hook_id = ?", (person_id, hook_id)
            )
            == 1
        )

    def delivery_put(
        self,
        delivery_id: str,
        person_id: str,
        hook_id: str,
        event: str,
        state: str,
        status: int | None,
        attempts: int,
        now_ms: int,
    ) -> None:
        self._run(
            "INSERT INTO {deliveries} VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (delivery_id) "
            "DO UPDATE SET state = excluded.state, status = excluded.status, "
            "attempts = excluded.attempts, updated_ms = excluded.updated_ms",
            (delivery_id, person_id, hook_id, event, state, status, attempts, now_ms),
        )

    def delivery_rows(
        self, person_id: str, limit: int = 50
    ) -> list[tuple[str, str, str, str, int | None, int, int]]:
        rows = self._all(
            "SELECT delivery_id, hook_id, event, state, status, attempts, updated_ms "
            "FROM {deliveries} WHERE person_id = ? ORDER BY updated_ms DESC LIMIT ?",
            (person_id, limit),
        )
        return [
            (str(a), str(b), str(c), str(d), None if e is None else int(e), int(f), int(g))
            for a, b, c, d, e, f, g in rows
        ]

    def event_add(self, person_id: str, ts_ms: int, sealed: bytes) -> int:
        row = self._one(
            "INSERT INTO {events} (person_id, ts_ms, sealed) VALUES (?, ?, ?) RETURNING event_id",
            (person_id, ts_ms, sealed),
        )
        assert row is not None
        return int(row[0])

    def events_after(self, person_id: str, after_id: int) -> list[tuple[int, bytes]]:
        rows = self._all(
            "SELECT event_id, sealed FROM {events} WHERE person_id = ? AND event_id > ? "
            "ORDER BY event_id LIMIT 100",
            (person_id, after_id),
        )
        return [(int(i), bytes(s)) for i, s in rows]

    def event_last_id(self, person_id: str) -> int:
        row = self._one("SELECT MAX(event_id) FROM {events} WHERE person_id = ?", (person_id,))
        return int(row[0]) if row and row[0] is not None else 0

    def events_prune(self, before_ms: int) -> int:
        return self._run("DELETE FROM {events} WHERE ts_ms < ?", (before_ms,))

    def publish_once(self, person_id: str, key: bytes) -> bool:
        """True the first time a key is seen for a person (by any worker)."""
        return (
            self._run(
                "INSERT INTO {published} VALUES (?, ?) ON CONFLICT DO NOTHING", (person_id, key)
            )
            == 1
        )

    # -- generations: what changed, for caches in every worker --------------------------------
    def generation_bump(self, scope: str) -> None:
        self._run(
            "INSERT INTO {generations} VALUES (?, 1) ON CONFLICT (scope) "
            "DO UPDATE SET gen = {generations}.gen + 1",
            (scope,),
        )

    def generations(self) -> dict[str, int]:
        return {str(s): int(g) for s, g in self._all("SELECT scope, gen FROM {generations}")}

    # -- maintenance ------------------------------------------------------------------------------
    def wipe_free_space(self) -> None:
        """After an erasure: make sure no freed page or log holds old data (cheap)."""

    def compact(self) -> None:
        """Reclaim space and flush logs so freed pages hold no old data (slow: maintain)."""
        raise NotImplementedError

    def files(self) -> list[Path]:
        """Every file this backend writes (for audits of what is on disk)."""
        return []

    def describe(self) -> str:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


# -- SQLite ---------------------------------------------------------------------------------------
class SQLiteBackend(SQLBackend):
    """The embedded store: one SQLite file in WAL mode, one connection per thread.

    Its files (the database, ``-wal``, ``-shm`` and the empty ``-writer`` lock) are
    created 0600 and tightened to 0600 when found looser. Freed pages are zeroed
    (``secure_delete``), temporary data stays in memory, and an erasure truncates the
    write-ahead log so no old page lingers.
    """

    name = "sqlite"
    dialect = SQLITE

    def __init__(self, path: Path, create: bool) -> None:
        super().__init__()
        self.path = path
        if not create and not path.exists():
            raise StoreError(f"There is no LifeTwin store at {path}; run `lifetwin init` first.")
        private_dir(path.parent)
        # Created 0600 from the first byte; SQLite gives its -wal and -shm files the mode
        # of the database file. Files found looser are tightened (and named in ``tightened``).
        self.tightened = [path] if private_file(path) else []
        for suffix in ("-wal", "-shm", "-writer"):
            if tighten(path.with_name(path.name + suffix)):
                self.tightened.append(path.with_name(path.name + suffix))
        self._connections: list[sqlite3.Connection] = []
        self._conn_lock = threading.Lock()
        self._thread_conn = threading.local()
        self._writers = threading.Lock()
        self._writer_file: int | None = None
        try:
            conn = self._connection()
            conn.execute("PRAGMA journal_mode=WAL")
        except sqlite3.DatabaseError as exc:
            self.close()
            raise StoreError(f"{path} is not a usable LifeTwin store ({exc}).") from None

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._thread_conn, "conn", None)
        if conn is None:
            if self.closed:
                raise StoreError("The store is closed.")
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA secure_delete=ON")
            conn.execute("PRAGMA temp_store=MEMORY")
            self._thread_conn.conn = conn
            with self._conn_lock:
                self._connections.append(conn)
        return conn

    @contextmanager
    def _checkout(self) -> Iterator[sqlite3.Connection]:
        try:
            yield self._connection()
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise StoreError(f"The store is busy ({exc}); try again.") from None
            raise

    def _begin(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")

    @contextmanager
    def _writer(self) -> Iterator[None]:
        """Writers queue here rather than in SQLite's busy handler, which sleeps (up to
        100 ms at a time) and let one service worker wait seconds while another kept
        committing. In the process a lock; between processes an ``flock`` on
        ``<store>-writer`` (a waiter wakes when it is released). ``BEGIN IMMEDIATE`` still
        takes SQLite's own lock, so a process without this (the ``sqlite3`` shell) is safe."""
        with self._writers:
            if fcntl is None:
                yield
                return
            if self._writer_file is None:
                lock = self.path.with_name(self.path.name + "-writer")
                self._writer_file = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
                tighten(lock)
            fcntl.flock(self._writer_file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._writer_file, fcntl.LOCK_UN)

    def _lock_person(self, conn: sqlite3.Connection, person_id: str) -> None:
        del conn, person_id  # BEGIN IMMEDIATE already holds the file's write lock

    def table_exists(self, name: str) -> bool:
        row = self._one(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
            (self.dialect.table(name),),
        )
        return row is not None

    def wipe_free_space(self) -> None:
        self._connection().execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def compact(self) -> None:
        conn = self._connection()
        conn.execute("VACUUM")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

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
        self.closed = True
        with self._conn_lock:
            for conn in self._connections:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            self._connections.clear()
        self._thread_conn = threading.local()
        with self._writers:
            if self._writer_file is not None:
                os.close(self._writer_file)
                self._writer_file = None


# -- PostgreSQL -----------------------------------------------------------------------------------
class PostgresBackend(SQLBackend):
    """The server store: the same tables (``lt_``-prefixed) on PostgreSQL, through a pool
    of connections shared by the threads of one process."""

    name = "postgresql"
    dialect = POSTGRES

    def __init__(self, url: str, pool_size: int | None = None) -> None:
        super().__init__()
        import psycopg
        from psycopg_pool import ConnectionPool

        self.url = url
        size = pool_size or int(os.environ.get("LIFETWIN_POOL_SIZE", "8"))
        try:
            self._pool = ConnectionPool(
                url,
                min_size=1,
                max_size=max(size, 1),
                kwargs={"autocommit": True},
                open=True,
                timeout=30,
                name="lifetwin",
            )
            self._pool.wait(timeout=30)
        except (psycopg.Error, Exception) as exc:  # the pool wraps connection errors
            raise StoreError(f"Cannot use the PostgreSQL store at {redact(url)}: {exc}") from None
        self._psycopg_error = psycopg.Error

    @contextmanager
    def _checkout(self) -> Iterator[Any]:
        with self._pool.connection() as conn:
            yield conn

    def _begin(self, conn: Any) -> None:
        conn.execute("BEGIN")

    def _lock_person(self, conn: Any, person_id: str) -> None:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (person_lock_key(person_id),))

    def lock_persons(self, person_ids: Sequence[str]) -> None:
        """The locks in this order, in one round trip (psycopg pipelines executemany)."""
        if self._local.conn is None:
            raise StoreError("lock_persons needs a transaction.")
        self._many("SELECT pg_advisory_xact_lock(?)", [(person_lock_key(p),) for p in person_ids])

    _snapshot_begin = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"

    def _skip_locked(self) -> str:
        return " FOR UPDATE SKIP LOCKED"

    def table_exists(self, name: str) -> bool:
        row = self._one("SELECT to_regclass(?) IS NOT NULL", (self.dialect.table(name),))
        return bool(row and row[0])

    def listen_connection(self) -> Any:
        """A connection of its own (not from the pool) for LISTEN."""
        import psycopg

        return psycopg.connect(self.url, autocommit=True)

    def notify(self, channel: str, payload: str) -> None:
        self._run("SELECT pg_notify(?, ?)", (channel, payload))

    def compact(self) -> None:
        with self._checkout() as conn:
            for table in ("blocks", "records", "quarantine", "streams", "state", "persons"):
                conn.execute(f"VACUUM {self.dialect.table(table)}")

    def describe(self) -> str:
        return f"PostgreSQL at {redact(self.url)}"

    def close(self) -> None:
        self.closed = True
        self._pool.close()


def redact(url: str) -> str:
    """Hide a password in a connection URL.

    >>> redact("postgresql://ada:secret@db:5432/lt")
    'postgresql://ada:***@db:5432/lt'
    """
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in credentials else url


def now_ms() -> int:
    return int(time.time() * 1000)
