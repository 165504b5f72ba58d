"""task moves keep their first answer

A team's moves (acknowledge, decline, en route, on scene, resolve) take an Idempotency-Key, as
reports do: the crew's phone queues taps made offline and sends each with the key made at the
tap. A replayed key gets the first answer again, so `idempotency_keys` keeps it (null for the
reports' keys, which answer with the incident id alone).

Revision ID: 04dd2f12e36c
Revises: d529fc59a9ab
Create Date: 2026-12-02 06:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "04dd2f12e36c"
down_revision: str | Sequence[str] | None = "d529fc59a9ab"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("idempotency_keys") as table:
        table.add_column(sa.Column("answer", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("idempotency_keys") as table:
        table.drop_column("answer")
