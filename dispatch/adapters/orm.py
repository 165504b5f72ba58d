"""Tables for the state of incidents, teams and assignments, plus the outbox and dead letters.

The event log's tables live in events/log.py and share the engine and the transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Engine,
    Float,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from dispatch.adapters.schema_migrations import upgrade
from events.log import UtcDateTime
from models.incident import AreaClass, Incident, IncidentKind, Priority, ReporterChannel
from models.sla import ClockKind, ClockState, SlaClock
from models.team import GeoPoint, RoleCount, Skill, Team, TeamStatus


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime()}


class TeamRow(Base):
    __tablename__ = "teams"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    region: Mapped[str] = mapped_column(String(64), index=True)
    home_lat: Mapped[float] = mapped_column(Float)
    home_lon: Mapped[float] = mapped_column(Float)
    leader: Mapped[str] = mapped_column(String(100), default="")
    members: Mapped[int] = mapped_column(Integer)
    party_members: Mapped[int] = mapped_column(Integer)
    skills: Mapped[str] = mapped_column(String(200), doc="comma-separated Skill values")
    capacity: Mapped[int] = mapped_column(Integer)
    reserve: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default=TeamStatus.AVAILABLE.value)
    active_tasks: Mapped[int] = mapped_column(Integer, default=0)
    # the last location fix a team reported; routing falls back to home when it is stale
    fix_lat: Mapped[float | None] = mapped_column(Float, default=None)
    fix_lon: Mapped[float | None] = mapped_column(Float, default=None)
    fix_at: Mapped[datetime | None] = mapped_column(default=None)
    last_finished_at: Mapped[datetime | None] = mapped_column(default=None, doc="for rest rotation")
    # who the team is, Chinese first with English beside (models/team.py)
    name_en: Mapped[str] = mapped_column(String(200), default="")
    leader_en: Mapped[str] = mapped_column(String(100), default="")
    roles: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, doc="[{role, count}]")
    grid_cells: Mapped[list[str]] = mapped_column(JSON, default=list, doc="H3 cell ids")
    branch: Mapped[str] = mapped_column(String(200), default="")
    branch_en: Mapped[str] = mapped_column(String(200), default="")
    intro: Mapped[str] = mapped_column(Text, default="")
    intro_en: Mapped[str] = mapped_column(Text, default="")

    def to_team(self) -> Team:
        return Team(
            id=self.id,
            name=self.name,
            region=self.region,
            home=GeoPoint(latitude=self.home_lat, longitude=self.home_lon),
            leader=self.leader,
            members=self.members,
            party_members=self.party_members,
            skills=frozenset(Skill(s) for s in self.skills.split(",") if s),
            capacity=self.capacity,
            reserve=self.reserve,
            status=TeamStatus(self.status),
            name_en=self.name_en,
            leader_en=self.leader_en,
            roles=tuple(RoleCount.model_validate(r) for r in self.roles),
            grid_cells=tuple(self.grid_cells),
            branch=self.branch,
            branch_en=self.branch_en,
            intro=self.intro,
            intro_en=self.intro_en,
        )


def team_record(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A team's row from its `team.registered` payload, its workload aside. The registry's
    live write and replay both fold the event through this, so the two cannot drift."""
    return {
        "id": payload["id"],
        "name": payload["name"],
        "region": payload["region"],
        "home_lat": payload["home"]["latitude"],
        "home_lon": payload["home"]["longitude"],
        "leader": payload.get("leader", ""),
        "members": payload["members"],
        "party_members": payload["party_members"],
        "skills": ",".join(sorted(payload["skills"])),
        "capacity": payload["capacity"],
        "reserve": payload["reserve"],
        "status": payload["status"],
        # absent from events logged before the registry spoke Chinese: the model's defaults
        "name_en": payload.get("name_en", ""),
        "leader_en": payload.get("leader_en", ""),
        "roles": [dict(r) for r in payload.get("roles", ())],
        "grid_cells": list(payload.get("grid_cells", ())),
        "branch": payload.get("branch", ""),
        "branch_en": payload.get("branch_en", ""),
        "intro": payload.get("intro", ""),
        "intro_en": payload.get("intro_en", ""),
    }


class IncidentRow(Base):
    __tablename__ = "incidents"
    # storm grouping reads the open incidents in boxes around a batch (adapters/storm_search.py)
    __table_args__ = (Index("ix_incidents_kind_place", "kind", "latitude", "longitude"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    priority: Mapped[str] = mapped_column(String(16), index=True)
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    address: Mapped[str] = mapped_column(String(500), default="")
    area_class: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(32))
    region: Mapped[str] = mapped_column(String(64), index=True)
    reported_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16), index=True)
    team_id: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    assigned_at: Mapped[datetime | None] = mapped_column(default=None)
    report_event_id: Mapped[str] = mapped_column(String(64))
    # the lifecycle's: escalation flag, storm grouping, milestones of the current task
    escalated: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    master_id: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    # a support task's lead incident (response plans: several teams for one incident)
    lead_id: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    waiting_since: Mapped[datetime | None] = mapped_column(
        default=None, doc="since when it waits for a team; the watchdog escalates long waits"
    )
    acknowledged_at: Mapped[datetime | None] = mapped_column(default=None)
    arrived_at: Mapped[datetime | None] = mapped_column(default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)

    def to_incident(self) -> Incident:
        """The incident as reported."""
        return Incident(
            id=self.id,
            kind=IncidentKind(self.kind),
            priority=Priority(self.priority),
            latitude=self.latitude,
            longitude=self.longitude,
            address=self.address,
            area_class=AreaClass(self.area_class),
            channel=ReporterChannel(self.channel),
            region=self.region,
            reported_at=self.reported_at,
        )


class AssignmentRow(Base):
    __tablename__ = "assignments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(String(64), index=True)
    team_id: Mapped[str] = mapped_column(String(64), index=True)
    assigned_at: Mapped[datetime]
    distance_km: Mapped[float] = mapped_column(Float)
    rule: Mapped[str] = mapped_column(String(32))
    explanation: Mapped[list[dict[str, Any]]] = mapped_column(JSON)


class IncidentExclusionRow(Base):
    """A team that must not be chosen again for an incident (it declined or missed the ack)."""

    __tablename__ = "incident_exclusions"

    incident_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    team_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    reason: Mapped[str] = mapped_column(String(200), default="")


class SlaClockRow(Base):
    """An SLA clock with its stored deadline: the watchdog reads these, so they survive restarts.

    `next_due_at` is the next warning or the deadline, whichever comes first (None once the
    watchdog has nothing left to do with it); see models/sla.py for the clock rules.
    """

    __tablename__ = "sla_clocks"
    __table_args__ = (UniqueConstraint("incident_id", "kind", "attempt"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    attempt: Mapped[int] = mapped_column(Integer, doc="acknowledge clocks: 1 per assignment")
    team_id: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    state: Mapped[str] = mapped_column(String(16), index=True)
    started_at: Mapped[datetime]
    target_s: Mapped[float] = mapped_column(Float)
    paused_s: Mapped[float] = mapped_column(Float, default=0.0)
    paused_since: Mapped[datetime | None] = mapped_column(default=None)
    deadline: Mapped[datetime]
    warned_50: Mapped[bool] = mapped_column(Boolean, default=False)
    warned_75: Mapped[bool] = mapped_column(Boolean, default=False)
    next_due_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)


def clock_of(row: SlaClockRow) -> SlaClock:
    """The stored clock as the pure clock of models/sla.py."""
    warned = frozenset(f for f, on in ((0.5, row.warned_50), (0.75, row.warned_75)) if on)
    return SlaClock(
        kind=ClockKind(row.kind),
        started_at=row.started_at,
        target=timedelta(seconds=row.target_s),
        state=ClockState(row.state),
        paused_for=timedelta(seconds=row.paused_s),
        paused_since=row.paused_since,
        warned=warned,
        closed_at=row.closed_at,
    )


class OutboxRow(Base):
    """A message to publish, written in the same transaction as the change it announces."""

    __tablename__ = "outbox"
    # Never reuse an id (SQLite would hand out max(id) + 1 again once the table drains): two
    # relays run at once (the API's and the dispatcher's), each deleting by the ids it read;
    # with a reused id, the slower one's delete took a new, unpublished row.
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(String(128))
    key: Mapped[str] = mapped_column(String(128))
    value: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]


class DeadLetterRow(Base):
    """A record that could not be handled, kept with its reason (also sent to the DLQ topic)."""

    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(String(128))
    partition: Mapped[int] = mapped_column(Integer)
    offset: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    value: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime]


class ApiTokenRow(Base):
    """An API token: only its keyed SHA-256 hash is stored; the plaintext is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    team_id: Mapped[str | None] = mapped_column(String(64), default=None)
    name: Mapped[str] = mapped_column(String(100), default="")
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class UserRow(Base):
    """A person who signs in to the board or the crew app: a role (a team for team members)
    and an argon2 hash of the password, never the password."""

    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    role: Mapped[str] = mapped_column(String(16))
    team_id: Mapped[str | None] = mapped_column(String(64), default=None)
    password_hash: Mapped[str] = mapped_column(String(200))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # a reserve member (预备队员) of a team: told of its tasks only while storm mode has called
    # up the reserves of the team's division
    reserve: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]


class WebSessionRow(Base):
    """A signed-in browser: the cookie's SHA-256 (the cookie itself is not kept), the CSRF
    token its changes must carry, and when it ends."""

    __tablename__ = "web_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None] = mapped_column(default=None)


class IdempotencyKeyRow(Base):
    """A client's Idempotency-Key and the incident its first request created or moved; for a
    team's move, the first answer too, which a replay of the key gets again."""

    __tablename__ = "idempotency_keys"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64), doc="SHA-256 of the request body")
    incident_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    answer: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)


class RateBucketRow(Base):
    """One rate-limit bucket, shared by every API process on the database: the time its
    bucket would be full again plus one request's interval (GCRA's theoretical arrival time).
    A row whose time has passed means a full bucket, the same as no row."""

    __tablename__ = "rate_limit_buckets"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    tat: Mapped[float] = mapped_column(Float, doc="Unix seconds; the bucket is full from here")


class HouseholdRow(Base):
    """A household on the register (困难户登记), imported from the register's file: reference
    data like the accounts, not dispatch state, so never logged nor replayed."""

    __tablename__ = "households"

    account: Mapped[str] = mapped_column(String(32), primary_key=True, doc="户号")
    address: Mapped[str] = mapped_column(String(500))
    # the county's code and the street part (views/places.address_key): two spellings of one
    # address find the same household
    address_key: Mapped[str] = mapped_column(String(520), index=True)
    division: Mapped[str] = mapped_column(String(64), index=True)
    hardship: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(String(500), default="")
    updated_at: Mapped[datetime]


# --- notifications (dispatch/service_layer/notifier.py, docs/notifications.md) ---------------


class TaskNoticeRow(Base):
    """How a team was told of a task and when its crew saw it: folded from the
    notification.* and task.seen events."""

    __tablename__ = "task_notices"

    incident_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    team_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    first_sent_at: Mapped[datetime | None] = mapped_column(default=None)
    notified_at: Mapped[datetime | None] = mapped_column(default=None, doc="first delivered")
    seen_at: Mapped[datetime | None] = mapped_column(default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)


class MemberDutyRow(Base):
    """Whether a team member is on duty (folded from member.duty_changed)."""

    __tablename__ = "member_duty"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    team_id: Mapped[str] = mapped_column(String(64), index=True)
    on_duty: Mapped[bool] = mapped_column(Boolean, default=False)
    changed_at: Mapped[datetime]


class PushSubscriptionRow(Base):
    """A browser's Web Push subscription, bound to the web session that made it: it goes when
    that session ends. The endpoint and keys are the browser's secrets, never logged."""

    __tablename__ = "push_subscriptions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    session_hash: Mapped[str] = mapped_column(String(64), index=True, doc="web_sessions.id_hash")
    endpoint_hash: Mapped[str] = mapped_column(String(64), unique=True)
    endpoint: Mapped[str] = mapped_column(Text)
    p256dh: Mapped[str] = mapped_column(String(100))
    auth: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime]


class LogCursorRow(Base):
    """How far a reader of the event log has acted on it (the notifier's, by name)."""

    __tablename__ = "log_cursors"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)


class NotificationDeliveryRow(Base):
    """A delivery not finished yet: queued, sending (its attempt logged as sent), waiting for
    a retry, or finished while others of its notice are not. A restart resumes from these."""

    __tablename__ = "notification_deliveries"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    about_event_id: Mapped[str] = mapped_column(String(64), index=True)
    about: Mapped[str] = mapped_column(String(64))
    incident_id: Mapped[str] = mapped_column(String(64))
    team_id: Mapped[str | None] = mapped_column(String(64), default=None)
    channel: Mapped[str] = mapped_column(String(100))
    recipient: Mapped[str] = mapped_column(String(100))
    target: Mapped[str] = mapped_column(String(100), doc="a subscription id or a username")
    notice: Mapped[dict[str, Any]] = mapped_column(JSON)
    reference: Mapped[str | None] = mapped_column(String(16), default=None)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    state: Mapped[str] = mapped_column(String(16), index=True)
    next_at: Mapped[datetime | None] = mapped_column(default=None)
    queued_seq: Mapped[int] = mapped_column(Integer, doc="the notified event's seq: the order")


class SmsReferenceRow(Base):
    """An outbound SMS's reference, so that a reply quoting it reaches its task."""

    __tablename__ = "sms_references"

    reference: Mapped[str] = mapped_column(String(16), primary_key=True)
    incident_id: Mapped[str] = mapped_column(String(64))
    team_id: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[str] = mapped_column(String(100), doc="sms:<keyed hash of the phone>")
    created_at: Mapped[datetime]


class SmsReplyRow(Base):
    """An inbound SMS reply applied, by the gateway's message id: a replay is refused."""

    __tablename__ = "sms_replies"

    message_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    reference: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime]


# --- the teams' service stories (events/schemas/stories.py) ---------------------------------


class TeamStoryRow(Base):
    """A service story on a team's public page (folded from team.story_added)."""

    __tablename__ = "team_stories"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    team_id: Mapped[str] = mapped_column(String(64), index=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    title_en: Mapped[str] = mapped_column(String(200), default="")
    body_en: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(200))
    added_at: Mapped[datetime]


# --- the duty roster and storm mode (events/schemas/storm.py) -------------------------------


class DutyShiftRow(Base):
    """One team's shift, [starts_at, ends_at) in UTC (folded from roster.shifts_imported); the
    id is the team and the shift's start, so importing a shift again changes its end."""

    __tablename__ = "duty_shifts"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    team_id: Mapped[str] = mapped_column(String(64), index=True)
    starts_at: Mapped[datetime] = mapped_column(index=True)
    ends_at: Mapped[datetime] = mapped_column(index=True)
    imported_by: Mapped[str] = mapped_column(String(200))


class StormModeRow(Base):
    """A division's storm mode, on or ended (folded from storm.declared and storm.ended), with
    the policy it was declared under: routing reads it once per batch."""

    __tablename__ = "storm_modes"

    division: Mapped[str] = mapped_column(String(64), primary_key=True)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(200), default="dispatcher")
    policy: Mapped[str] = mapped_column(Text, default="{}", doc="the StormPolicy as JSON")
    declared_by: Mapped[str] = mapped_column(String(200), default="")
    declared_at: Mapped[datetime | None] = mapped_column(default=None)
    ended_by: Mapped[str | None] = mapped_column(String(200), default=None)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL, a busy timeout and write-locking transactions."""
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Writers take the lock up front: two that both read first would deadlock.
        readonly = connection.get_execution_options().get(READ_ONLY_OPTION, False)
        connection.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

    return engine


def create_schema(engine: Engine) -> None:
    """Bring the schema to the newest migration: the tables, the event log's head row and its
    append-only guards. Idempotent, and safe when several processes start at once."""
    upgrade(engine)


READ_ONLY_OPTION = "everycall_read_only"


def session_factory(engine: Engine, *, read_only: bool = False) -> sessionmaker[Session]:
    """Sessions for writing, or (read_only) for reading without taking SQLite's write lock."""
    bind = engine.execution_options(**{READ_ONLY_OPTION: True}) if read_only else engine
    return sessionmaker(bind, expire_on_commit=False)
