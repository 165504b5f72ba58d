"""support tasks: several teams for one incident

An incident whose response plan wants more than one team, or whose level a dispatcher raised,
gets support tasks (支援任务): incidents of their own at the same place, each pointing at its
lead incident. Incidents stored before have no lead (NULL), as their events replay to.

Revision ID: 9a4d6b2e8c15
Revises: 5e2a9c7d1b84
Create Date: 2026-12-04 02:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9a4d6b2e8c15"
down_revision: str | Sequence[str] | None = "5e2a9c7d1b84"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("incidents") as table:
        table.add_column(sa.Column("lead_id", sa.String(64), nullable=True))
        table.create_index("ix_incidents_lead_id", ["lead_id"])


def downgrade() -> None:
    with op.batch_alter_table("incidents") as table:
        table.drop_index("ix_incidents_lead_id")
        table.drop_column("lead_id")
