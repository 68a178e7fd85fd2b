"""alembic's environment: migrations run on the connection LifeTwin hands over."""

from __future__ import annotations

from alembic import context

config = context.config
connection = config.attributes["connection"]
backend = config.attributes["backend"]
context.configure(
    connection=connection,
    target_metadata=None,
    version_table=backend.dialect.table("alembic_version"),
    transactional_ddl=True,
)
with context.begin_transaction():
    context.run_migrations()
