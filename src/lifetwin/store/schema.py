"""The tables of a LifeTwin store, written once for both SQL dialects.

Statements use ``{table}`` for table names (``lt_`` prefixed on PostgreSQL, so a store
can share a database) and ``?`` for parameters; :class:`lifetwin.store.sql.Dialect`
turns them into what each driver expects. Types are spelled once: ``BLOB`` becomes
``BYTEA`` and ``SERIAL_KEY`` an auto-increment key on PostgreSQL.

Every table holds only sealed values (AES-256-GCM under a person's key or the
service key), keyed tags (HMAC) and numbers; never a name, an account name, a
credential or a personal value in the clear.

The schema is versioned with alembic (``lifetwin.store.migrations``): version 1 is
the first release's layout, version 2 moved every piece of state that changes
(grants, derived results, accounts, tokens, sessions, rate limits, jobs, webhooks)
from sealed blobs into rows changed inside per-person transactions.
"""

from __future__ import annotations

TABLES_V1 = (
    "meta",
    "persons",
    "streams",
    "blocks",
    "records",
    "quarantine",
    "imports",
    "audit",
    "audit_head",
    "audit_checkpoints",
    "state",
)

# The first release's layout (schema version 1), as its stores hold it.
SCHEMA_V1 = """
CREATE TABLE IF NOT EXISTS {meta} (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS {persons} (
    person_id TEXT PRIMARY KEY, name_tag BLOB NOT NULL UNIQUE,
    wrapped_key BLOB NOT NULL, sealed BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS {streams} (
    person_id TEXT NOT NULL, stream_id BLOB NOT NULL, sealed BLOB NOT NULL,
    PRIMARY KEY (person_id, stream_id));
CREATE TABLE IF NOT EXISTS {blocks} (
    person_id TEXT NOT NULL, stream_id BLOB NOT NULL, day INTEGER NOT NULL,
    sealed BLOB NOT NULL, PRIMARY KEY (person_id, stream_id, day)) WITHOUT_ROWID;
CREATE TABLE IF NOT EXISTS {records} (
    person_id TEXT NOT NULL, tag BLOB NOT NULL, stream_id BLOB NOT NULL,
    day INTEGER NOT NULL, sealed BLOB NOT NULL, PRIMARY KEY (person_id, tag));
CREATE INDEX IF NOT EXISTS {records}_by_day ON {records} (person_id, stream_id, day);
CREATE TABLE IF NOT EXISTS {quarantine} (
    person_id TEXT NOT NULL, tag BLOB NOT NULL, day INTEGER NOT NULL,
    sealed BLOB NOT NULL, PRIMARY KEY (person_id, tag));
CREATE TABLE IF NOT EXISTS {imports} (
    import_id SERIAL_KEY, person_id TEXT NOT NULL,
    tag BLOB NOT NULL, sealed BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS {audit} (
    person_id TEXT NOT NULL, seq BIGINT NOT NULL, entry BLOB NOT NULL, hash BLOB NOT NULL,
    PRIMARY KEY (person_id, seq)) WITHOUT_ROWID;
CREATE TABLE IF NOT EXISTS {audit_head} (
    person_id TEXT PRIMARY KEY, seq BIGINT NOT NULL, hash BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS {audit_checkpoints} (
    person_id TEXT NOT NULL, seq BIGINT NOT NULL, hash BLOB NOT NULL, signature BLOB NOT NULL,
    PRIMARY KEY (person_id, seq));
CREATE TABLE IF NOT EXISTS {state} (
    person_id TEXT NOT NULL, tag BLOB NOT NULL, sealed BLOB NOT NULL,
    PRIMARY KEY (person_id, tag));
"""

# What version 2 adds: rows for everything that changes.
SCHEMA_V2_ADD = """
ALTER TABLE {audit_head} ADD COLUMN state BLOB;
ALTER TABLE {audit_head} ADD COLUMN signature BLOB;
CREATE TABLE IF NOT EXISTS {grants} (
    person_id TEXT NOT NULL, tag BLOB NOT NULL, version INTEGER NOT NULL,
    sealed BLOB NOT NULL, PRIMARY KEY (person_id, tag));
CREATE TABLE IF NOT EXISTS {derived} (
    person_id TEXT NOT NULL, tag BLOB NOT NULL, sealed BLOB NOT NULL,
    PRIMARY KEY (person_id, tag));
CREATE TABLE IF NOT EXISTS {accounts} (
    tag BLOB PRIMARY KEY, person_id TEXT, version INTEGER NOT NULL, sealed BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS {accounts}_by_person ON {accounts} (person_id);
CREATE TABLE IF NOT EXISTS {tokens} (
    token_id TEXT PRIMARY KEY, account_tag BLOB NOT NULL, person_id TEXT NOT NULL,
    nightscout BLOB NOT NULL UNIQUE, expires_ms BIGINT NOT NULL, version INTEGER NOT NULL,
    sealed BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS {tokens}_by_person ON {tokens} (person_id);
CREATE INDEX IF NOT EXISTS {tokens}_by_account ON {tokens} (account_tag);
CREATE TABLE IF NOT EXISTS {sessions} (
    sid BLOB PRIMARY KEY, account_tag BLOB NOT NULL, person_id TEXT,
    expires_ms BIGINT NOT NULL, sealed BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS {sessions}_by_account ON {sessions} (account_tag);
CREATE TABLE IF NOT EXISTS {rate_events} (
    key BLOB NOT NULL, ts_ms BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS {rate_events}_by_key ON {rate_events} (key, ts_ms);
CREATE TABLE IF NOT EXISTS {jobs} (
    job_id TEXT PRIMARY KEY, person_id TEXT NOT NULL, kind TEXT NOT NULL,
    state TEXT NOT NULL, attempts INTEGER NOT NULL, run_after_ms BIGINT NOT NULL,
    locked_until_ms BIGINT NOT NULL, worker TEXT NOT NULL, created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL, sealed BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS {jobs}_by_state ON {jobs} (state, run_after_ms);
CREATE INDEX IF NOT EXISTS {jobs}_by_person ON {jobs} (person_id);
CREATE TABLE IF NOT EXISTS {upload_chunks} (
    job_id TEXT NOT NULL, n INTEGER NOT NULL, person_id TEXT NOT NULL, sealed BLOB NOT NULL,
    PRIMARY KEY (job_id, n));
CREATE INDEX IF NOT EXISTS {upload_chunks}_by_person ON {upload_chunks} (person_id);
CREATE TABLE IF NOT EXISTS {webhooks} (
    person_id TEXT NOT NULL, hook_id TEXT NOT NULL, sealed BLOB NOT NULL,
    PRIMARY KEY (person_id, hook_id));
CREATE TABLE IF NOT EXISTS {deliveries} (
    delivery_id TEXT PRIMARY KEY, person_id TEXT NOT NULL, hook_id TEXT NOT NULL,
    event TEXT NOT NULL, state TEXT NOT NULL, status INTEGER, attempts INTEGER NOT NULL,
    updated_ms BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS {deliveries}_by_person ON {deliveries} (person_id, updated_ms);
CREATE TABLE IF NOT EXISTS {events} (
    event_id SERIAL_KEY, person_id TEXT NOT NULL, ts_ms BIGINT NOT NULL,
    sealed BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS {events}_by_person ON {events} (person_id, event_id);
CREATE TABLE IF NOT EXISTS {published} (
    person_id TEXT NOT NULL, key BLOB NOT NULL, PRIMARY KEY (person_id, key));
CREATE TABLE IF NOT EXISTS {generations} (scope TEXT PRIMARY KEY, gen BIGINT NOT NULL);
"""

TABLES_V2 = (
    *TABLES_V1,
    "grants",
    "derived",
    "accounts",
    "tokens",
    "sessions",
    "rate_events",
    "jobs",
    "upload_chunks",
    "webhooks",
    "deliveries",
    "events",
    "published",
    "generations",
)

# Rows that belong to one person: all of them go in the same step when they are erased
# (the audit chain stays; its details were sealed under the destroyed key).
PERSON_TABLES = (
    "streams",
    "blocks",
    "records",
    "quarantine",
    "imports",
    "state",
    "grants",
    "derived",
    "accounts",
    "tokens",
    "sessions",
    "jobs",
    "upload_chunks",
    "webhooks",
    "deliveries",
    "events",
    "published",
)


def statements(script: str) -> list[str]:
    """Split a script into its statements (no semicolons inside our statements)."""
    return [s.strip() for s in script.split(";") if s.strip()]
