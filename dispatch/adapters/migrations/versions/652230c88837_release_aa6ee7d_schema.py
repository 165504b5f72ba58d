"""release aa6ee7d schema

The schema that `create_schema` of commit aa6ee7d made with `create_all`: every table, index
and constraint, the event log's head row, and the triggers that keep the log append-only.
It is written out here (not read from the ORM) so that it stays what that release made.

Revision ID: 652230c88837
Revises:
Create Date: 2026-07-01 08:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "652230c88837"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The ORM's UtcDateTime stores this type: aware UTC on PostgreSQL, naive UTC text on SQLite.
UTC_TIME = sa.DateTime(timezone=True)
GENESIS_HASH = "0" * 64
AUDIT_TOPIC = "everycall.audit"

# The guards as events/log.py installed them in that release (its _PG_GUARDS, split into
# statements, and _SQLITE_GUARDS), copied so that this revision does not follow that code.
PG_GUARDS = (
    """CREATE OR REPLACE FUNCTION everycall_refuse_history_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
        MESSAGE = 'event_log is append-only: ' || TG_OP || ' refused';
END $$""",
    """CREATE OR REPLACE FUNCTION everycall_head_moves_forward() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR NEW.seq < OLD.seq THEN
        RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
            MESSAGE = 'event_log_head only moves forward: ' || TG_OP || ' refused';
    END IF;
    RETURN NEW;
END $$""",
    """CREATE OR REPLACE TRIGGER event_log_append_only BEFORE UPDATE OR DELETE ON event_log
    FOR EACH ROW EXECUTE FUNCTION everycall_refuse_history_change()""",
    """CREATE OR REPLACE TRIGGER event_log_no_truncate BEFORE TRUNCATE ON event_log
    FOR EACH STATEMENT EXECUTE FUNCTION everycall_refuse_history_change()""",
    """CREATE OR REPLACE TRIGGER event_log_head_forward BEFORE UPDATE OR DELETE ON event_log_head
    FOR EACH ROW EXECUTE FUNCTION everycall_head_moves_forward()""",
)

SQLITE_GUARDS = (
    """CREATE TRIGGER IF NOT EXISTS event_log_no_update BEFORE UPDATE ON event_log
    BEGIN SELECT RAISE(ABORT, 'event_log is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER IF NOT EXISTS event_log_no_delete BEFORE DELETE ON event_log
    BEGIN SELECT RAISE(ABORT, 'event_log is append-only: DELETE refused'); END""",
    """CREATE TRIGGER IF NOT EXISTS event_log_head_forward BEFORE UPDATE ON event_log_head
    WHEN NEW.seq < OLD.seq
    BEGIN SELECT RAISE(ABORT, 'event_log_head only moves forward: UPDATE refused'); END""",
    """CREATE TRIGGER IF NOT EXISTS event_log_head_kept BEFORE DELETE ON event_log_head
    BEGIN SELECT RAISE(ABORT, 'event_log_head only moves forward: DELETE refused'); END""",
)


def upgrade() -> None:
    _create_state_tables()
    _create_log_tables()
    op.bulk_insert(
        sa.table(
            "event_log_head",
            sa.column("id", sa.Integer),
            sa.column("seq", sa.Integer),
            sa.column("hash", sa.String),
        ),
        [{"id": 1, "seq": 0, "hash": GENESIS_HASH}],
    )
    op.bulk_insert(
        sa.table(
            "event_log_published", sa.column("topic", sa.String), sa.column("seq", sa.Integer)
        ),
        [{"topic": AUDIT_TOPIC, "seq": 0}],
    )
    dialect = op.get_context().dialect.name
    for statement in {"postgresql": PG_GUARDS, "sqlite": SQLITE_GUARDS}.get(dialect, ()):
        op.execute(statement)


def _create_state_tables() -> None:
    """In the order create_all made them. Indexes carry create_all's ix_<table>_<column>
    names; constraints get no names here, so PostgreSQL gives them the ones it gave then."""
    op.create_table(
        "teams",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("home_lat", sa.Float(), nullable=False),
        sa.Column("home_lon", sa.Float(), nullable=False),
        sa.Column("leader", sa.String(100), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column("party_members", sa.Integer(), nullable=False),
        sa.Column("skills", sa.String(200), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("reserve", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("active_tasks", sa.Integer(), nullable=False),
        sa.Column("fix_lat", sa.Float(), nullable=True),
        sa.Column("fix_lon", sa.Float(), nullable=True),
        sa.Column("fix_at", UTC_TIME, nullable=True),
        sa.Column("last_finished_at", UTC_TIME, nullable=True),
    )
    op.create_index("ix_teams_region", "teams", ["region"])

    op.create_table(
        "incidents",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column("address", sa.String(500), nullable=False),
        sa.Column("area_class", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("reported_at", UTC_TIME, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("team_id", sa.String(64), nullable=True),
        sa.Column("assigned_at", UTC_TIME, nullable=True),
        sa.Column("report_event_id", sa.String(64), nullable=False),
        sa.Column("escalated", sa.Boolean(), nullable=False),
        sa.Column("master_id", sa.String(64), nullable=True),
        sa.Column("waiting_since", UTC_TIME, nullable=True),
        sa.Column("acknowledged_at", UTC_TIME, nullable=True),
        sa.Column("arrived_at", UTC_TIME, nullable=True),
        sa.Column("resolved_at", UTC_TIME, nullable=True),
    )
    op.create_index("ix_incidents_kind_place", "incidents", ["kind", "latitude", "longitude"])
    for column in ("priority", "team_id", "master_id", "escalated", "region", "state"):
        op.create_index(f"ix_incidents_{column}", "incidents", [column])

    op.create_table(
        "assignments",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("incident_id", sa.String(64), nullable=False),
        sa.Column("team_id", sa.String(64), nullable=False),
        sa.Column("assigned_at", UTC_TIME, nullable=False),
        sa.Column("distance_km", sa.Float(), nullable=False),
        sa.Column("rule", sa.String(32), nullable=False),
        sa.Column("explanation", sa.JSON(), nullable=False),
    )
    op.create_index("ix_assignments_incident_id", "assignments", ["incident_id"])
    op.create_index("ix_assignments_team_id", "assignments", ["team_id"])

    op.create_table(
        "incident_exclusions",
        sa.Column("incident_id", sa.String(64), primary_key=True),
        sa.Column("team_id", sa.String(64), primary_key=True),
        sa.Column("reason", sa.String(200), nullable=False),
    )

    op.create_table(
        "sla_clocks",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("incident_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(64), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("started_at", UTC_TIME, nullable=False),
        sa.Column("target_s", sa.Float(), nullable=False),
        sa.Column("paused_s", sa.Float(), nullable=False),
        sa.Column("paused_since", UTC_TIME, nullable=True),
        sa.Column("deadline", UTC_TIME, nullable=False),
        sa.Column("warned_50", sa.Boolean(), nullable=False),
        sa.Column("warned_75", sa.Boolean(), nullable=False),
        sa.Column("next_due_at", UTC_TIME, nullable=True),
        sa.Column("closed_at", UTC_TIME, nullable=True),
        sa.UniqueConstraint("incident_id", "kind", "attempt"),
    )
    for column in ("state", "incident_id", "next_due_at", "team_id"):
        op.create_index(f"ix_sla_clocks_{column}", "sla_clocks", [column])

    # Without AUTOINCREMENT on SQLite, as that release made it; the next revision adds it.
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("topic", sa.String(128), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
    )

    op.create_table(
        "dead_letters",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("topic", sa.String(128), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("offset", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.Column("received_at", UTC_TIME, nullable=False),
    )

    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("team_id", sa.String(64), nullable=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("revoked_at", UTC_TIME, nullable=True),
    )

    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("incident_id", sa.String(64), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
    )


def _create_log_tables() -> None:
    op.create_table(
        "event_log",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("event_id", sa.String(64), nullable=False, unique=True),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("occurred_at", UTC_TIME, nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("envelope", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    for column in ("type", "occurred_at", "subject"):
        op.create_index(f"ix_event_log_{column}", "event_log", [column])

    # A plain integer key, as create_all made it (SERIAL on PostgreSQL): the one row is id 1.
    op.create_table(
        "event_log_head",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )

    op.create_table(
        "event_log_published",
        sa.Column("topic", sa.String(128), primary_key=True),
        sa.Column("seq", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    # Dropping the tables drops their triggers; PostgreSQL keeps the trigger functions.
    for table in (
        "event_log_published",
        "event_log_head",
        "event_log",
        "idempotency_keys",
        "api_tokens",
        "dead_letters",
        "outbox",
        "sla_clocks",
        "incident_exclusions",
        "assignments",
        "incidents",
        "teams",
    ):
        op.drop_table(table)
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP FUNCTION everycall_head_moves_forward()")
        op.execute("DROP FUNCTION everycall_refuse_history_change()")
