"""Reassigning an incident by hand to a team a dispatcher chooses, with the reason: the teams to
choose from (`candidates`), and the command, in a unit of work of its own (`reassign`) or inside
a caller's (`reassign_in`). Routing's pool measures the teams (team_pool.py, models/routing.py);
the rules of a choice by hand are models/reassignment.py."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.adapters.orm import IncidentRow, TeamRow
from dispatch.service_layer import support_tasks
from dispatch.service_layer.access import Caller, check_dispatcher
from dispatch.service_layer.clocks import ClockValues, facts_of, policy_of, snapshot, target_of
from dispatch.service_layer.lifecycle import clock_effects, next_attempt, run_command
from dispatch.service_layer.services import Services
from dispatch.service_layer.storm import conditions_at
from dispatch.service_layer.team_pool import exclusions, state_of
from dispatch.service_layer.unit_of_work import Commands
from dispatch.views.board import IncidentView
from events.schemas.tasks import IncidentReassigned, SlaClocksStarted, TeamAssigned
from models.errors import NotFound
from models.incident import AreaClass, IncidentKind, IncidentState
from models.lifecycle import Action, transition
from models.policy import RoutingPolicy
from models.reassignment import (
    HAND_RULE,
    TeamCandidate,
    TeamFacts,
    check_choice,
    hand_explanation,
    rank_candidates,
)
from models.routing import TeamPool
from models.sla import ClockKind, SlaClock
from models.storm import DutyConditions
from models.team import SKILL_FOR_KIND


def candidates(services: Services, incident_id: str, limit: int = 100) -> list[TeamCandidate]:
    """The teams to reassign the incident to: the nearest eligible of the needed skill first,
    then the others, each saying why not."""
    with services.reads() as session:
        incident = session.get(IncidentRow, incident_id)
        if incident is None:
            raise NotFound(f"no incident {incident_id}")
        policy, now = services.settings.routing, services.clock.now()
        return ranked_for(session, incident, policy, now)[:limit]


def ranked_for(
    session: Session,
    incident: IncidentRow,
    policy: RoutingPolicy,
    now: datetime,
    duty: DutyConditions | None = None,
) -> list[TeamCandidate]:
    """Every team for the incident, measured as routing measures it: under the roster and
    storm mode too (`duty`, read here unless given: off-duty teams and reserves on standby
    cannot be chosen; a storm's capacity per team applies)."""
    rows = list(session.scalars(select(TeamRow).order_by(TeamRow.id)))
    duty = duty or conditions_at(session, now)
    states = [duty.apply(state_of(r), r.region, r.reserve) for r in rows]
    pool = TeamPool(states, now, policy)
    kind, area = IncidentKind(incident.kind), AreaClass(incident.area_class)
    assessed = pool.assess(incident.latitude, incident.longitude, kind, area)
    facts = {
        r.id: TeamFacts(r.name, r.region, r.status, r.active_tasks, state.capacity)
        for r, state in zip(rows, states, strict=True)
    }
    excluded = exclusions(session, [incident.id]).get(incident.id, {})
    siblings = support_tasks.siblings_of(session, incident)
    return rank_candidates(
        assessed, facts, SKILL_FOR_KIND[kind], incident.team_id, excluded, siblings
    )


def reassign_in(
    uow: Commands, incident_id: str, caller: Caller, team_id: str, reason: str, now: datetime
) -> IncidentRow:
    """Hand the incident to the team a dispatcher (or admin) chose, with the reason.

    Queued, assigned, acknowledged and en-route incidents may be reassigned; not one on scene
    (its team is at work), a report still being routed, a merged duplicate (it follows its
    master) or a closed one (409). The former team's task is withdrawn: its load drops and its
    running acknowledge clock stops (a breached one stays breached); it is not excluded, so
    routing may offer it again later. The chosen team gets the task as routing gives one, with
    a fresh acknowledge clock and an explanation naming the person and the reason. Refused:
    the team that has it now, a full or unavailable team (409); an unknown team or one
    without the skill (422)."""
    check_dispatcher(caller, "reassign an incident")
    incident = uow.rows.incident(incident_id)
    transition(incident.state, Action.REASSIGN, f"incident {incident_id}")
    duty = conditions_at(uow.session, now)
    ranked = _ranked_apart(uow, incident, now, duty)
    chosen = check_choice(team_id, ranked)
    former = incident.team_id
    withdrawn = IncidentReassigned(
        incident_id=incident.id,
        actor=caller.actor,
        state=IncidentState.QUEUED.value,  # between the two teams, as the fold leaves it
        clocks=[snapshot(c) for c in clock_effects(uow, incident, Action.REASSIGN, None, now)],
        from_team_id=former,
        to_team_id=team_id,
        reason=reason,
        reassigned_at=now,
    )
    listed = uow.services.settings.routing.shortlist_size
    explanation = hand_explanation(
        chosen, ranked, actor=caller.actor, reason=reason, from_team_id=former, listed=listed
    )
    storm = duty.storm_note(incident.region)
    if storm is not None:  # as routing's decisions say so
        explanation[0]["storm_mode"] = storm
    assigned = TeamAssigned(
        incident_id=incident.id,
        team_id=team_id,
        assigned_at=now,
        distance_km=chosen.distance_km,
        rule=HAND_RULE,
        explanation=explanation,
    )
    started = SlaClocksStarted(
        incident_id=incident.id,
        actor=caller.actor,
        state=IncidentState.ASSIGNED.value,
        clocks=[snapshot(_acknowledge_clock(uow, incident, team_id, now))],
    )
    uow.record(incident.region, [withdrawn, assigned, started], now)
    return incident


def _ranked_apart(
    uow: Commands, incident: IncidentRow, now: datetime, duty: DutyConditions
) -> list[TeamCandidate]:
    """The candidates, read on this transaction's connection by a session of its own: a team
    row left in the unit's session would keep its load as read here, and the locked read that
    writes the new loads (live_rows.flush) would then write over a concurrent change. Not
    locked here either: team rows are locked last (the lock order of clocks.py)."""
    uow.session.flush()  # what this transaction changed so far, for the other session to see
    with Session(bind=uow.session.connection()) as apart:
        return ranked_for(apart, incident, uow.services.settings.routing, now, duty)


def _acknowledge_clock(
    uow: Commands, incident: IncidentRow, team_id: str, now: datetime
) -> ClockValues:
    """The chosen team's acknowledge clock, from now, as routing starts one (clock_starts.py)."""
    target = target_of(policy_of(uow.services), ClockKind.ACKNOWLEDGE, facts_of(incident))
    attempt = next_attempt(uow, incident.id, ClockKind.ACKNOWLEDGE)
    clock = SlaClock(ClockKind.ACKNOWLEDGE, now, target)
    return ClockValues.of(incident.id, clock, attempt=attempt, team_id=team_id)


def reassign(
    services: Services, incident_id: str, caller: Caller, team_id: str, reason: str
) -> IncidentView:
    """Reassign by hand in a unit of work of its own; the incident as the board shows it."""
    return run_command(
        services,
        incident_id,
        lambda uow, now: reassign_in(uow, incident_id, caller, team_id, reason, now),
    )
