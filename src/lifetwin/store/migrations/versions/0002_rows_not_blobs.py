"""Rows, not blobs: grants, derived results, accounts, tokens, sessions, rate limits,
jobs, webhooks and deliveries become rows; the audit head gets its signature.

Revision ID: 0002
Revises: 0001

Data moves with the store's keys (the migration runs as the key holder): each person's
sealed consent ledger becomes one row per grant, the derived-results index and each
derived result become rows, webhooks become rows, and the accounts and tokens kept
sealed in ``meta`` become rows keyed by keyed tags; the SHA-1 of each token, which the
first release kept in the clear and accepted as a credential, is replaced by a keyed
digest. Every audit chain gets an ``upgrade`` entry, so its head is signed.
"""

from __future__ import annotations

from alembic import context

from lifetwin.store import schema
from lifetwin.store.migrations import run_sql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from lifetwin.store.migrations.data import rows_from_blobs

    config = context.config
    connection = config.attributes["connection"]
    backend = config.attributes["backend"]
    run_sql(connection, backend, schema.SCHEMA_V2_ADD)
    dbapi = connection.connection.dbapi_connection
    with backend.bound(dbapi):
        rows_from_blobs(backend, config.attributes["master"])
        backend.meta_set("schema_version", b"2")


def downgrade() -> None:
    raise NotImplementedError("LifeTwin stores are not downgraded; restore the backup copy.")
