"""Alembic's entry point: runs the revisions on the connection that
dispatch/adapters/schema_migrations.py hands over, inside that caller's transaction."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    # The caller holds the schema lock and the transaction; a URL from an ini file would
    # bypass both.
    raise RuntimeError(
        "run the schema's migrations through dispatch.adapters.schema_migrations "
        "(upgrade, or alembic_config(connection) for other Alembic commands)"
    )
context.configure(
    connection=connection,
    # Only autogenerate reads it; a caller comparing with the ORM's metadata passes it.
    target_metadata=context.config.attributes.get("target_metadata"),
)
with context.begin_transaction():
    context.run_migrations()
