"""Storm mode per division: declared by the dispatch center or by a weather alert, ended again;
each an event naming its actor, with the reserve squads it calls up and releases. Routing
reads the storms in force, with the roster's off-duty teams, once per pass (`conditions_at`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from functools import cache

from pydantic import AwareDatetime, BaseModel
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from dispatch.adapters.orm import StormModeRow, TeamRow, UserRow
from dispatch.config import storm_policy_path
from dispatch.service_layer.access import Caller, check_dispatcher
from dispatch.service_layer.roster import off_duty_teams
from dispatch.service_layer.services import Services
from dispatch.service_layer.unit_of_work import unit_of_work
from events.schemas import EventPayload
from events.schemas.storm import ReserveActivated, ReserveReleased, StormDeclared, StormEnded
from models.errors import InvalidTransition, NotFound
from models.storm import DutyConditions
from models.storm_policy import StormPolicy, load_storm_policy

DISPATCHER_SOURCE = "dispatcher"
STORM_LOCK_SPACE = 7274  # advisory lock keys (this, division hash): storm mode per division


@cache
def _policy_at(path: str | None) -> StormPolicy:
    if path is None:
        return load_storm_policy(None)
    with open(path, encoding="utf-8") as file:
        return load_storm_policy(file.read())


def policy_of(services: Services) -> StormPolicy:
    """The configured storm policy; config/storm.toml beside the code, or the built-in one."""
    return _policy_at(storm_policy_path(services.settings))


class StormView(BaseModel):
    """A division's storm mode as the board and the CLI show it."""

    division: str
    active: bool
    reason: str
    source: str
    declared_by: str
    declared_at: AwareDatetime | None
    ended_by: str | None
    ended_at: AwareDatetime | None
    policy: dict[str, object]
    reserves: list[str]  # the division's reserve squads (in the pool while active)


def declare_storm_mode(
    services: Services,
    caller: Caller,
    division: str,
    reason: str,
    source: str = DISPATCHER_SOURCE,
    policy: StormPolicy | None = None,
) -> StormView:
    """Storm mode on in `division` under `policy` (the configured one by default); its reserve
    squads join the pool if the policy says so. Refused (409) while it is already on."""
    check_dispatcher(caller, "declare storm mode")
    policy = policy or policy_of(services)
    now = services.clock.now()
    with unit_of_work(services) as uow:
        current = _locked(uow.session, division)
        if current is not None and current.active:
            raise InvalidTransition(f"storm mode in {division}", "on", "declare")
        reserves = _reserves(uow.session, division)
        events: list[EventPayload] = [
            StormDeclared(
                division=division,
                actor=caller.actor,
                reason=reason,
                source=source,
                policy=policy.model_dump(mode="json"),
                declared_at=now,
            )
        ]
        if policy.reserves_join:
            events += [
                ReserveActivated(team_id=t, member=m, division=division, actor=caller.actor, at=now)
                for t, m in _called_up(uow.session, division, reserves)
            ]
        uow.record(division, events, now)
        return _view(uow.session, _reread(uow.session, division))


def end_storm_mode(
    services: Services,
    caller: Caller,
    division: str,
    reason: str = "",
    source: str = DISPATCHER_SOURCE,
) -> StormView:
    """Storm mode off in `division`; the reserve squads it called up are released. Refused
    (409) when it is not on."""
    check_dispatcher(caller, "end storm mode")
    now = services.clock.now()
    with unit_of_work(services) as uow:
        current = _locked(uow.session, division)
        if current is None or not current.active:
            raise InvalidTransition(f"storm mode in {division}", "off", "end")
        called_up = bool(json.loads(current.policy).get("reserves_join", False))
        events: list[EventPayload] = [
            StormEnded(
                division=division, actor=caller.actor, reason=reason, source=source, ended_at=now
            )
        ]
        if called_up:
            squads = _reserves(uow.session, division)
            events += [
                ReserveReleased(team_id=t, member=m, division=division, actor=caller.actor, at=now)
                for t, m in _called_up(uow.session, division, squads)
            ]
        uow.record(division, events, now)
        return _view(uow.session, _reread(uow.session, division))


def storm_status(session: Session, division: str | None = None) -> list[StormView]:
    """Every division that has had storm mode (or the one asked for), active first."""
    query = select(StormModeRow).order_by(StormModeRow.active.desc(), StormModeRow.division)
    if division is not None:
        query = query.where(StormModeRow.division == division)
    views = [_view(session, row) for row in session.scalars(query)]
    if division is not None and not views:
        raise NotFound(f"division {division} has never been in storm mode")
    return views


def conditions_at(session: Session, now: datetime) -> DutyConditions:
    """What a routing pass needs of the roster and storm mode: read once, for every team."""
    return DutyConditions(off_duty=off_duty_teams(session, now), storms=_active_storms(session))


def _active_storms(session: Session) -> dict[str, StormPolicy]:
    """The divisions in storm mode, each with the policy it was declared under."""
    rows = session.execute(
        select(StormModeRow.division, StormModeRow.policy).where(StormModeRow.active.is_(True))
    ).all()
    return {division: _policy_of_row(text) for division, text in rows}


@cache
def _policy_of_row(text: str) -> StormPolicy:
    """A stored policy (JSON), parsed once per distinct text: every pass reads it again."""
    return StormPolicy.model_validate(json.loads(text))


def _locked(session: Session, division: str) -> StormModeRow | None:
    """The division's storm row, with the division locked for this transaction.

    A division's first declaration has no row to lock: on PostgreSQL two at once both found
    none, and the later one failed on its insert. So the division's name is locked there too
    (an advisory lock, until commit); SQLite's BEGIN IMMEDIATE serializes them already.
    """
    session.flush()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(:space, hashtext(:division))"),
            {"space": STORM_LOCK_SPACE, "division": division},
        )
    return session.get(StormModeRow, division, with_for_update=True, populate_existing=True)


def _reread(session: Session, division: str) -> StormModeRow | None:
    """The row as the events just recorded left it (the division is locked already)."""
    session.flush()
    return session.get(StormModeRow, division, populate_existing=True)


def _reserves(session: Session, division: str) -> list[str]:
    """The division's reserve squads; a division with no teams at all is not one of ours."""
    known = session.scalar(select(TeamRow.id).where(TeamRow.region == division).limit(1))
    if known is None:
        raise NotFound(f"no teams in division {division}")
    return _reserve_ids(session, division)


def _reserve_ids(session: Session, division: str) -> list[str]:
    query = select(TeamRow.id).where(TeamRow.region == division, TeamRow.reserve.is_(True))
    return list(session.scalars(query.order_by(TeamRow.id)))


def _called_up(
    session: Session, division: str, squads: Sequence[str]
) -> list[tuple[str, str | None]]:
    """The reserves storm mode calls up or releases: the squads (team, None), then the
    enabled reserve members of the division's teams (team, username)."""
    called: list[tuple[str, str | None]] = [(t, None) for t in squads]
    return called + list(_reserve_members(session, division))


def _reserve_members(session: Session, division: str) -> list[tuple[str, str]]:
    query = (
        select(UserRow.team_id, UserRow.username)
        .join(TeamRow, TeamRow.id == UserRow.team_id)
        .where(TeamRow.region == division, UserRow.reserve.is_(True), UserRow.disabled.is_(False))
    )
    return [(str(t), u) for t, u in session.execute(query.order_by(UserRow.username))]


def reserves_called_up(session: Session) -> set[str]:
    """The divisions whose storm mode has called up the reserves (members included)."""
    return {
        division for division, policy in _active_storms(session).items() if policy.reserves_join
    }


def _view(session: Session, row: StormModeRow | None) -> StormView:
    assert row is not None
    reserves = _reserve_ids(session, row.division)
    return StormView(
        division=row.division,
        active=row.active,
        reason=row.reason,
        source=row.source,
        declared_by=row.declared_by,
        declared_at=row.declared_at,
        ended_by=row.ended_by,
        ended_at=row.ended_at,
        policy=json.loads(row.policy),
        reserves=reserves,
    )
