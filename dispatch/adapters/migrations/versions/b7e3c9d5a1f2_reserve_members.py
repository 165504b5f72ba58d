"""reserve members

A team member's account may be marked reserve (预备队员): told of the team's tasks only while
storm mode has called up the reserves of the team's division. Accounts made before are not
(false); the server default fills them and is then dropped, because the ORM writes every
column itself.

Revision ID: b7e3c9d5a1f2
Revises: 9a4d6b2e8c15
Create Date: 2026-12-04 02:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b7e3c9d5a1f2"
down_revision: str | Sequence[str] | None = "9a4d6b2e8c15"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as table:
        table.add_column(
            sa.Column("reserve", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("users") as table:
        table.alter_column("reserve", existing_type=sa.Boolean(), server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("users") as table:
        table.drop_column("reserve")
