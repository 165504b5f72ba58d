"""the hardship register: households by account number

The call-taker's form looks a household up by its account number (户号) or its address and
shows whether it is on the hardship register (困难户登记). `households` is reference data,
imported with `everycall households import`: not logged, not replayed.

Revision ID: e64da91d7416
Revises: 3b9c41d07a2e
Create Date: 2026-12-02 05:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e64da91d7416"
down_revision: str | Sequence[str] | None = "3b9c41d07a2e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "households",
        sa.Column("account", sa.String(32), primary_key=True),
        sa.Column("address", sa.String(500), nullable=False),
        sa.Column("address_key", sa.String(520), nullable=False),
        sa.Column("division", sa.String(64), nullable=False),
        sa.Column("hardship", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(500), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_households_address_key", "households", ["address_key"])
    op.create_index("ix_households_division", "households", ["division"])


def downgrade() -> None:
    op.drop_index("ix_households_division", "households")
    op.drop_index("ix_households_address_key", "households")
    op.drop_table("households")
