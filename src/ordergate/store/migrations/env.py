"""Alembic environment: runs on the connection ``store.migrate`` hands over."""

from __future__ import annotations

from alembic import context

from ordergate.store.tables import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through ordergate.store.migrate, not the alembic CLI")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
