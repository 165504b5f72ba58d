"""rate limits shared by API processes

Several API processes (uvicorn workers, several `everycall api`) on one database keep one
rate-limit bucket per token or client address between them, in `rate_limit_buckets`, unless
EVERYCALL_REDIS_URL puts the buckets in Redis.

Revision ID: 7c1e5a9b2d40
Revises: 04dd2f12e36c
Create Date: 2026-12-02 14:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7c1e5a9b2d40"
down_revision: str | Sequence[str] | None = "04dd2f12e36c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_limit_buckets",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("tat", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("rate_limit_buckets")
