"""Versioned migrations of the store's schema, run with alembic.

A store records its revision in ``alembic_version`` (``lt_alembic_version`` on
PostgreSQL). Revision ``0001`` is the first release's layout (which recorded only
``meta.schema_version = 1``); ``0002`` moved everything that changes into rows. A new
store is created at the head directly (the same DDL, without loading alembic); an older
one is upgraded in place by ``lifetwin migrate``, or on start, after a backup copy of
an SQLite file. Only one process upgrades at a time (a lock file next to an SQLite
store, an advisory lock on PostgreSQL); the others wait and then find it done.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lifetwin.core.errors import StoreError
from lifetwin.core.files import private_file
from lifetwin.store import schema
from lifetwin.store.sql import PostgresBackend, SQLBackend, SQLiteBackend

if TYPE_CHECKING:
    from lifetwin.store.crypto import MasterKey

HEAD = "0002"
SCHEMA_VERSION = 2
HERE = Path(__file__).parent


def _version_table(backend: SQLBackend) -> str:
    return backend.dialect.table("alembic_version")


def has_store(backend: SQLBackend) -> bool:
    """Whether the backend holds a LifeTwin store (of any version)."""
    return backend.table_exists("meta") and backend.meta_get("key_check") is not None


def current_revision(backend: SQLBackend) -> str | None:
    if backend.table_exists("alembic_version"):
        row = backend._one(f"SELECT version_num FROM {_version_table(backend)}")
        if row is not None:
            return str(row[0])
    version = backend.meta_get("schema_version")
    if version is not None and int(version) == 1:
        return "0001"
    return None


def needs_upgrade(backend: SQLBackend) -> bool:
    current = current_revision(backend)
    if current is not None and current > HEAD:
        raise StoreError(
            f"The store has format {current}, newer than this LifeTwin knows ({HEAD}); "
            "upgrade LifeTwin."
        )
    return current != HEAD


def create_head(backend: SQLBackend) -> None:
    """The tables of the newest format in an empty database, stamped as upgraded."""
    backend._script(schema.SCHEMA_V1)
    backend._script(schema.SCHEMA_V2_ADD)
    table = _version_table(backend)
    backend._run(
        f"CREATE TABLE IF NOT EXISTS {table} (version_num VARCHAR(32) NOT NULL PRIMARY KEY)"
    )
    backend._run(f"DELETE FROM {table}")
    backend._run(f"INSERT INTO {table} VALUES (?)", (HEAD,))
    backend.meta_set("schema_version", str(SCHEMA_VERSION).encode())


@contextlib.contextmanager
def _lock(backend: SQLBackend) -> Iterator[None]:
    if isinstance(backend, SQLiteBackend):
        lock_path = backend.path.with_name(backend.path.name + ".upgrade-lock")
        private_file(lock_path)
        with open(lock_path, "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return
    assert isinstance(backend, PostgresBackend)
    conn = backend.listen_connection()
    try:
        conn.execute("SELECT pg_advisory_lock(7400002)")
        yield
    finally:
        conn.close()


def _engine(backend: SQLBackend) -> Any:
    from sqlalchemy import create_engine, event
    from sqlalchemy.pool import NullPool

    if isinstance(backend, SQLiteBackend):
        engine = create_engine(f"sqlite:///{backend.path}", poolclass=NullPool)

        # pysqlite's own transaction handling leaves DDL outside transactions; take the
        # write lock at BEGIN so the whole upgrade is one transaction (SQLAlchemy's recipe).
        @event.listens_for(engine, "connect")
        def _connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None
            dbapi_connection.execute("PRAGMA busy_timeout=30000")

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    assert isinstance(backend, PostgresBackend)
    url = backend.url.split("://", 1)[1]
    return create_engine(f"postgresql+psycopg://{url}", poolclass=NullPool)


def _backup(backend: SQLBackend, from_revision: str) -> str:
    """A copy of an SQLite store before it is upgraded (0600); a note for PostgreSQL."""
    if isinstance(backend, SQLiteBackend):
        with contextlib.suppress(Exception):
            backend._connection().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = backend.path.with_name(f"{backend.path.name}.format-{from_revision}-{stamp}")
        private_file(target)
        shutil.copyfile(backend.path, target)
        os.chmod(target, 0o600)
        return (
            f"a copy of the store as it was is in {target} (it holds the old format: delete "
            "it once you have checked the upgrade)"
        )
    return "take a pg_dump backup before upgrading a server store you cannot restore otherwise"


def upgrade(backend: SQLBackend, master: MasterKey) -> list[str]:
    """Upgrade the store to the newest format in place; return what to tell the person."""
    from alembic import command
    from alembic.config import Config

    with _lock(backend):
        current = current_revision(backend)
        if current == HEAD:
            return []  # another process did it while this one waited
        if current is None:
            raise StoreError("The store's format cannot be told; it is damaged.")
        note = _backup(backend, current)
        engine = _engine(backend)
        try:
            with engine.begin() as connection:
                config = Config()
                config.set_main_option("script_location", str(HERE))
                config.attributes["connection"] = connection
                config.attributes["backend"] = backend
                config.attributes["master"] = master
                if not backend.table_exists("alembic_version"):
                    command.stamp(config, current)
                command.upgrade(config, "head")
        finally:
            engine.dispose()
    return [f"Upgraded the store from format {current} to {HEAD}; {note}."]


def run_sql(connection: Any, backend: SQLBackend, script: str) -> None:
    """Run one of our DDL scripts on an alembic connection, in the backend's dialect."""
    for statement in schema.statements(script):
        connection.exec_driver_sql(backend.dialect.sql(statement))
