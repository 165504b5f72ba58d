"""Several teams for one incident (config/response_plans.toml, models/response_plans.py).

A lead incident whose plan wants N teams gets N - 1 support tasks (支援任务): incidents of
their own at the lead's place, each with its own task, clocks and acknowledgement, routed like
any incident but never to a team already on the lead or on another of its supports. A
dispatcher raising the level adds one more, up to the plans' ceiling. The lead resolves last:
the incident is resolved when every one of its tasks is.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dispatch.adapters.orm import IncidentRow
from dispatch.config import response_plans_path
from dispatch.service_layer.access import Caller, check_dispatcher
from dispatch.service_layer.clock_starts import start_report_clocks
from dispatch.service_layer.clocks import DISPATCHER
from dispatch.service_layer.kept_answers import first_answer, remember, request_digest
from dispatch.service_layer.services import Services
from dispatch.service_layer.unit_of_work import Commands, UnitOfWork, unit_of_work
from dispatch.views.board import IncidentView, incident_view
from events.schemas.incidents import IncidentQueued, SupportRequested
from models.errors import InvalidTransition, LevelAtCeiling, SupportsStillOpen
from models.incident import Incident, IncidentState, ReporterChannel
from models.lifecycle import OPEN, TERMINAL, WITH_TEAM
from models.response_plans import ResponsePlans, load_response_plans, support_id

_CHUNK = 500  # ids per IN (...) query


@cache
def _plans_at(path: str | None) -> ResponsePlans:
    return load_response_plans(path)


def plans_of(services: Services) -> ResponsePlans:
    """The configured response plans; config/response_plans.toml, or the built-in ones."""
    return _plans_at(response_plans_path(services.settings))


# --- new reports: the plan's supports ------------------------------------------------------


def request_supports(
    uow: UnitOfWork[Any], leads: Sequence[Incident], now: datetime
) -> dict[str, tuple[Incident, str]]:
    """Support tasks for new reports whose plan wants several teams, their arrive clocks
    started from the lead's report time; returns each with its lead's id, by its id."""
    plans = plans_of(uow.services)
    items = []
    for lead in leads:
        wanted = plans.plan_for(lead.kind, lead.priority).teams
        reason = f"响应预案 response plan: {wanted} 支队伍 teams"
        for n in range(1, wanted):
            items.append(_support(lead, n, wanted, lead.reported_at, DISPATCHER, reason))
    if not items:
        return {}
    uow.record_all([(s.region, s) for s in items], now)
    supports = {s.id: (s.to_incident(), s.lead_id) for s in items}
    start_report_clocks(uow, [incident for incident, _ in supports.values()], now)
    return supports


def _support(
    lead: Incident, n: int, wanted: int, at: datetime, actor: str, reason: str
) -> SupportRequested:
    return SupportRequested(
        **lead.model_dump(exclude={"id", "channel", "reported_at"}),
        id=support_id(lead.id, n),
        channel=ReporterChannel.DISPATCHER,
        reported_at=at,
        lead_id=lead.id,
        teams_wanted=wanted,
        actor=actor,
        reason=reason,
    )


# --- routing: who must not go again ----------------------------------------------------------


def teams_on(session: Session, lead_ids: Iterable[str]) -> dict[str, set[str]]:
    """Per lead, the teams that hold its task or one of its supports' now."""
    ids = sorted(set(lead_ids))
    held: dict[str, set[str]] = {}
    with_team = [s.value for s in WITH_TEAM]
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        rows = session.execute(
            select(IncidentRow.id, IncidentRow.lead_id, IncidentRow.team_id)
            .where(or_(IncidentRow.id.in_(chunk), IncidentRow.lead_id.in_(chunk)))
            .where(IncidentRow.state.in_(with_team))
        )
        for incident_id, lead_id, team_id in rows:
            held.setdefault(lead_id or incident_id, set()).add(str(team_id))
    return held


SIBLING = "already on this incident 已在本事件执行任务"


def siblings_of(session: Session, incident: IncidentRow) -> set[str]:
    """The teams on the other tasks of `incident`'s incident, which a hand cannot give it."""
    lead = incident.lead_id or incident.id
    return teams_on(session, [lead]).get(lead, set()) - {str(incident.team_id)}


# --- the dispatcher's commands --------------------------------------------------------------


def raise_level(
    services: Services, incident_id: str, caller: Caller, reason: str, key: str | None = None
) -> IncidentView:
    """One more team for an incident (for its lead, when given a support task). With an
    Idempotency-Key, a retry gets the first answer and asks for no more teams."""
    try:
        return _raise_level(services, incident_id, caller, reason, key)
    except IntegrityError:
        if key is None:
            raise
        # a twin request with the same key committed first: answer as it was answered
        return _raise_level(services, incident_id, caller, reason, key)


def _raise_level(
    services: Services, incident_id: str, caller: Caller, reason: str, key: str | None
) -> IncidentView:
    check_dispatcher(caller, "raise an incident's level")
    now = services.clock.now()
    digest = request_digest(caller, raise_level=incident_id, reason=reason)
    with unit_of_work(services) as uow:
        lead = _locked_lead(uow, incident_id)  # a twin with the same key waits here
        if key is not None and (first := first_answer(uow.session, key, digest)) is not None:
            return first
        _add_support(uow, lead, caller, reason, now)
        uow.session.flush()
        view = incident_view(uow.session, incident_id)
        if key is not None:
            remember(uow.session, key, digest, view, now)
        return view


def _locked_lead(uow: Commands, incident_id: str) -> IncidentRow:
    """The incident's lead, locked. The lead is locked first, as cancelling it locks it then
    its supports: never the other way round, which two commands at once could deadlock on."""
    lead_id = uow.session.scalar(select(IncidentRow.lead_id).where(IncidentRow.id == incident_id))
    return uow.rows.incident(lead_id or incident_id)


def _add_support(
    uow: Commands, lead: IncidentRow, caller: Caller, reason: str, now: datetime
) -> None:
    """A new support task, queued for the next routing pass; refused once the incident has
    as many open tasks as the plans' ceiling, or when it is closed or merged into another."""
    if IncidentState(lead.state) not in OPEN:
        raise InvalidTransition(f"incident {lead.id}", lead.state, "raise the level of")
    supports = _supports_of(uow.session, lead.id)
    tasks = 1 + sum(IncidentState(s.state) not in TERMINAL for s in supports)
    ceiling = plans_of(uow.services).max_teams
    if tasks >= ceiling:
        raise LevelAtCeiling(
            f"已达最多 {ceiling} 支队伍 · incident {lead.id} has {tasks} tasks open, the most a"
            " level may ask for"
        )
    support = _support(lead.to_incident(), len(supports) + 1, tasks + 1, now, caller.actor, reason)
    uow.record(lead.region, [support], now)
    start_report_clocks(uow, [support.to_incident()], now)  # it waits from now
    queued = IncidentQueued(
        incident_id=support.id, reason="提级增派 level raised: waits for a team"
    )
    uow.record(lead.region, [queued], now)


def _supports_of(session: Session, lead_id: str) -> list[IncidentRow]:
    session.flush()
    return list(session.scalars(select(IncidentRow).where(IncidentRow.lead_id == lead_id)))


# --- the lead resolves last and takes its supports with it when called off -------------------


def check_supports_done(session: Session, lead: IncidentRow) -> None:
    """Refuse to resolve a lead task while one of its supports is still open."""
    open_ids = open_supports(session, lead)
    if open_ids:
        raise SupportsStillOpen(
            f"支援任务未完成，牵头任务暂不能办结 · incident {lead.id} resolves after its support"
            f" tasks: {', '.join(open_ids)} still open"
        )


def open_supports(session: Session, lead: IncidentRow) -> list[str]:
    """The support tasks of a lead that are still open (none for a support task)."""
    if lead.lead_id is not None:
        return []
    return [s.id for s in _supports_of(session, lead.id) if IncidentState(s.state) in OPEN]
