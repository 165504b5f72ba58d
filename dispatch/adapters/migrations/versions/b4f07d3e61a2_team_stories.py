"""the teams' service stories, shown on a team's public page

An admin adds a story (`POST /teams/{id}/stories`, `everycall stories add`); it is logged as
`team.story_added`, naming who added it, and folded into `team_stories`, so a replay rebuilds
the table from the log.

Revision ID: b4f07d3e61a2
Revises: 7c1e5a9b2d40
Create Date: 2026-12-02 14:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b4f07d3e61a2"
down_revision: str | Sequence[str] | None = "7c1e5a9b2d40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "team_stories",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("team_id", sa.String(64), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("title_en", sa.String(200), nullable=False),
        sa.Column("body_en", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_team_stories_team_id", "team_stories", ["team_id"])


def downgrade() -> None:
    op.drop_index("ix_team_stories_team_id", "team_stories")
    op.drop_table("team_stories")
