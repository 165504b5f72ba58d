"""outbox never reuses ids

Two relays run at once (the API's and the dispatcher's), each deleting the rows it published
by their ids. SQLite without AUTOINCREMENT hands out max(id) + 1, so once the table drained a
new, unpublished row could take an id the slower relay was about to delete. On SQLite the
outbox is rebuilt with AUTOINCREMENT, keeping its rows and ids, and its sequence starts at the
highest id present. PostgreSQL's serial sequence never hands out an id twice: nothing to do.

Revision ID: e638b3f775fe
Revises: 652230c88837
Create Date: 2026-07-01 08:00:01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e638b3f775fe"
down_revision: str | Sequence[str] | None = "652230c88837"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = 'id, topic, "key", value, created_at'


def upgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        _rebuild_outbox(autoincrement=True)


def downgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        _rebuild_outbox(autoincrement=False)


def _rebuild_outbox(*, autoincrement: bool) -> None:
    """SQLite cannot add AUTOINCREMENT to a table: the old one steps aside, a new one takes its
    name (so its stored CREATE TABLE reads as create_all writes it) and its rows."""
    op.rename_table("outbox", "outbox_before_rebuild")
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("topic", sa.String(128), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sqlite_autoincrement=autoincrement,
    )
    op.execute(f"INSERT INTO outbox ({COLUMNS}) SELECT {COLUMNS} FROM outbox_before_rebuild")
    if autoincrement:
        # Ids go on from the highest kept, or from the highest ever handed out where the old
        # table counted them (made by create_all once the ORM asked for AUTOINCREMENT; the
        # rename took its count along). Copying the rows has set the first already.
        op.execute("DELETE FROM sqlite_sequence WHERE name = 'outbox'")
        op.execute(
            "INSERT INTO sqlite_sequence (name, seq) SELECT 'outbox', max("
            "coalesce((SELECT max(id) FROM outbox), 0), "
            "coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'outbox_before_rebuild'), 0))"
        )
    op.drop_table("outbox_before_rebuild")  # and its count in sqlite_sequence
