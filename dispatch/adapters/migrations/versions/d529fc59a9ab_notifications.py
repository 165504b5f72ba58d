"""notifications: crews told of their tasks, and their replies

The notifier (docs/notifications.md) reads the event log from its cursor (`log_cursors`), keeps
each delivery until it is finished (`notification_deliveries`), and tells crews by Web Push
(`push_subscriptions`, bound to a web session) and webhooks; an SMS carries a reference
(`sms_references`) that a reply quotes, and each reply applied is kept by the gateway's message
id (`sms_replies`). `task_notices` and `member_duty` are folded from the log. The cursor starts
at the log's head: an existing database is not notified of its past.

Revision ID: d529fc59a9ab
Revises: e64da91d7416
Create Date: 2026-12-02 06:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d529fc59a9ab"
down_revision: str | Sequence[str] | None = "e64da91d7416"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "task_notices",
        sa.Column("incident_id", sa.String(64), primary_key=True),
        sa.Column("team_id", sa.String(64), primary_key=True),
        sa.Column("first_sent_at", TIME, nullable=True),
        sa.Column("notified_at", TIME, nullable=True),
        sa.Column("seen_at", TIME, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
    )
    op.create_table(
        "member_duty",
        sa.Column("username", sa.String(64), primary_key=True),
        sa.Column("team_id", sa.String(64), nullable=False),
        sa.Column("on_duty", sa.Boolean(), nullable=False),
        sa.Column("changed_at", TIME, nullable=False),
    )
    op.create_index("ix_member_duty_team_id", "member_duty", ["team_id"])
    op.create_table(
        "push_subscriptions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("session_hash", sa.String(64), nullable=False),
        sa.Column("endpoint_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("endpoint", sa.Text(), nullable=False),
        sa.Column("p256dh", sa.String(100), nullable=False),
        sa.Column("auth", sa.String(40), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
    )
    op.create_index("ix_push_subscriptions_username", "push_subscriptions", ["username"])
    op.create_index("ix_push_subscriptions_session_hash", "push_subscriptions", ["session_hash"])
    cursors = op.create_table(
        "log_cursors",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("seq", sa.Integer(), nullable=False),
    )
    _create_deliveries()
    op.create_table(
        "sms_references",
        sa.Column("reference", sa.String(16), primary_key=True),
        sa.Column("incident_id", sa.String(64), nullable=False),
        sa.Column("team_id", sa.String(64), nullable=False),
        sa.Column("recipient", sa.String(100), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
    )
    op.create_table(
        "sms_replies",
        sa.Column("message_id", sa.String(128), primary_key=True),
        sa.Column("reference", sa.String(16), nullable=False),
        sa.Column("received_at", TIME, nullable=False),
    )
    head = op.get_bind().execute(sa.text("SELECT seq FROM event_log_head WHERE id = 1")).scalar()
    op.bulk_insert(cursors, [{"name": "notifier", "seq": int(head or 0)}])


def _create_deliveries() -> None:
    op.create_table(
        "notification_deliveries",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("about_event_id", sa.String(64), nullable=False),
        sa.Column("about", sa.String(64), nullable=False),
        sa.Column("incident_id", sa.String(64), nullable=False),
        sa.Column("team_id", sa.String(64), nullable=True),
        sa.Column("channel", sa.String(100), nullable=False),
        sa.Column("recipient", sa.String(100), nullable=False),
        sa.Column("target", sa.String(100), nullable=False),
        sa.Column("notice", sa.JSON(), nullable=False),
        sa.Column("reference", sa.String(16), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("next_at", TIME, nullable=True),
        sa.Column("queued_seq", sa.Integer(), nullable=False),
    )
    op.create_index(
        "ix_notification_deliveries_about_event_id", "notification_deliveries", ["about_event_id"]
    )
    op.create_index("ix_notification_deliveries_state", "notification_deliveries", ["state"])


def downgrade() -> None:
    op.drop_table("sms_replies")
    op.drop_table("sms_references")
    op.drop_index("ix_notification_deliveries_state", "notification_deliveries")
    op.drop_index("ix_notification_deliveries_about_event_id", "notification_deliveries")
    op.drop_table("notification_deliveries")
    op.drop_table("log_cursors")
    op.drop_index("ix_push_subscriptions_session_hash", "push_subscriptions")
    op.drop_index("ix_push_subscriptions_username", "push_subscriptions")
    op.drop_table("push_subscriptions")
    op.drop_index("ix_member_duty_team_id", "member_duty")
    op.drop_table("member_duty")
    op.drop_table("task_notices")
