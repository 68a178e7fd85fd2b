"""The first release's layout (schema version 1).

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from alembic import context

from lifetwin.store import schema
from lifetwin.store.migrations import run_sql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    config = context.config
    run_sql(config.attributes["connection"], config.attributes["backend"], schema.SCHEMA_V1)


def downgrade() -> None:
    raise NotImplementedError("LifeTwin stores are not downgraded; restore the backup copy.")
