"""teams speak Chinese first

A team's record gains its English name beside the Chinese one, its leader's name in pinyin,
its members by role, the grid cells it serves, its party branch (一队一支部) and a short
introduction in both languages. Teams registered before keep empty values, as their logged
`team.registered` events replay to; the server defaults fill the existing rows and are then
dropped, because the ORM writes every column itself.

Revision ID: 5e2a9c7d1b84
Revises: c8d2e4f1a9b3
Create Date: 2026-12-02 14:00:00
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "5e2a9c7d1b84"
down_revision: str | Sequence[str] | None = "c8d2e4f1a9b3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (column, type, what the rows that exist already get)
COLUMNS: tuple[tuple[str, sa.types.TypeEngine[Any], str], ...] = (
    ("name_en", sa.String(200), "''"),
    ("leader_en", sa.String(100), "''"),
    ("roles", sa.JSON(), "'[]'"),
    ("grid_cells", sa.JSON(), "'[]'"),
    ("branch", sa.String(200), "''"),
    ("branch_en", sa.String(200), "''"),
    ("intro", sa.Text(), "''"),
    ("intro_en", sa.Text(), "''"),
)


def upgrade() -> None:
    with op.batch_alter_table("teams") as table:
        for name, type_, fill in COLUMNS:
            table.add_column(sa.Column(name, type_, nullable=False, server_default=sa.text(fill)))
    with op.batch_alter_table("teams") as table:
        for name, type_, _ in COLUMNS:
            table.alter_column(name, existing_type=type_, server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("teams") as table:
        for name, _, _ in COLUMNS:
            table.drop_column(name)
