"""the duty roster and storm mode

Each team's shifts (`duty_shifts`, folded from `roster.shifts_imported`) and each division's
storm mode with the policy it was declared under (`storm_modes`, folded from `storm.declared`
and `storm.ended`): a replay rebuilds both from the log.

Revision ID: c8d2e4f1a9b3
Revises: b4f07d3e61a2
Create Date: 2026-12-02 14:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c8d2e4f1a9b3"
down_revision: str | Sequence[str] | None = "b4f07d3e61a2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "duty_shifts",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("team_id", sa.String(64), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("imported_by", sa.String(200), nullable=False),
    )
    for column in ("team_id", "starts_at", "ends_at"):
        op.create_index(f"ix_duty_shifts_{column}", "duty_shifts", [column])
    op.create_table(
        "storm_modes",
        sa.Column("division", sa.String(64), primary_key=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("policy", sa.Text(), nullable=False),
        sa.Column("declared_by", sa.String(200), nullable=False),
        sa.Column("declared_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sa.String(200), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("storm_modes")
    for column in ("team_id", "starts_at", "ends_at"):
        op.drop_index(f"ix_duty_shifts_{column}", "duty_shifts")
    op.drop_table("duty_shifts")
