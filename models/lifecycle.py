"""The incident lifecycle as a pure state machine: which action may move which state where.

An incident *rests* in one of: reported, queued, assigned, acknowledged, en_route, on_scene,
resolved, cancelled, merged. Three more states are *passed through* and show in the timeline:

- declined: the team said no; the incident goes straight back to queued (that team excluded);
- reassigned: the acknowledgement deadline ran out (the task is withdrawn, back to queued), or
  a dispatcher handed the task to another team by hand (assigned again at once);
- escalated: a flag on the incident (`escalated = True`, event `incident.escalated`), not a
  resting state, so an escalated incident keeps its state and keeps being retried.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from models.errors import InvalidTransition
from models.incident import IncidentState

S = IncidentState


class Action(StrEnum):
    """What can happen to an incident; the value is the verb an error message uses."""

    QUEUE = "queue"
    ASSIGN = "assign"
    ACKNOWLEDGE = "acknowledge"
    DECLINE = "decline"
    WITHDRAW = "withdraw"  # the watchdog takes back a task that was not acknowledged in time
    DEPART = "mark en route"
    ARRIVE = "mark on scene"
    RESOLVE = "resolve"
    CANCEL = "cancel"
    MERGE = "merge"
    UNLINK = "unlink"
    ESCALATE = "escalate"
    CHANGE_PRIORITY = "change the priority of"
    REASSIGN = "reassign"  # by hand, to a team the dispatcher chooses


OPEN: frozenset[IncidentState] = frozenset(
    {S.REPORTED, S.QUEUED, S.ASSIGNED, S.ACKNOWLEDGED, S.EN_ROUTE, S.ON_SCENE}
)
WAITING: frozenset[IncidentState] = frozenset({S.REPORTED, S.QUEUED})
WITH_TEAM: frozenset[IncidentState] = frozenset(
    {S.ASSIGNED, S.ACKNOWLEDGED, S.EN_ROUTE, S.ON_SCENE}
)
TERMINAL: frozenset[IncidentState] = frozenset({S.RESOLVED, S.CANCELLED})
PASSING: frozenset[IncidentState] = frozenset({S.DECLINED, S.REASSIGNED, S.ESCALATED})


@dataclass(frozen=True)
class Rule:
    sources: frozenset[IncidentState]
    target: IncidentState | None  # None: the incident stays where it is
    via: IncidentState | None
    events: tuple[str, ...]


RULES: dict[Action, Rule] = {
    Action.QUEUE: Rule(frozenset({S.REPORTED}), S.QUEUED, None, ("incident.queued",)),
    Action.ASSIGN: Rule(WAITING, S.ASSIGNED, None, ("team.assigned",)),
    Action.ACKNOWLEDGE: Rule(frozenset({S.ASSIGNED}), S.ACKNOWLEDGED, None, ("task.acknowledged",)),
    Action.DECLINE: Rule(
        frozenset({S.ASSIGNED, S.ACKNOWLEDGED, S.EN_ROUTE}),
        S.QUEUED,
        S.DECLINED,
        ("task.declined",),
    ),
    Action.WITHDRAW: Rule(
        frozenset({S.ASSIGNED}), S.QUEUED, S.REASSIGNED, ("sla.breached", "task.reassigned")
    ),
    Action.DEPART: Rule(frozenset({S.ACKNOWLEDGED}), S.EN_ROUTE, None, ("task.departed",)),
    Action.ARRIVE: Rule(
        frozenset({S.ACKNOWLEDGED, S.EN_ROUTE}), S.ON_SCENE, None, ("task.arrived",)
    ),
    Action.RESOLVE: Rule(frozenset({S.ON_SCENE}), S.RESOLVED, None, ("task.resolved",)),
    Action.CANCEL: Rule(OPEN | {S.MERGED}, S.CANCELLED, None, ("incident.cancelled",)),
    Action.MERGE: Rule(WAITING, S.MERGED, None, ("incident.merged",)),
    Action.UNLINK: Rule(frozenset({S.MERGED}), S.QUEUED, None, ("incident.unlinked",)),
    Action.ESCALATE: Rule(OPEN, None, S.ESCALATED, ("incident.escalated",)),
    Action.CHANGE_PRIORITY: Rule(OPEN | {S.MERGED}, None, None, ("incident.reprioritized",)),
    # on scene the team is at work; a report is still being routed; a duplicate follows its master
    Action.REASSIGN: Rule(
        frozenset({S.QUEUED, S.ASSIGNED, S.ACKNOWLEDGED, S.EN_ROUTE}),
        S.ASSIGNED,
        S.REASSIGNED,
        ("incident.reassigned", "team.assigned", "sla.clocks_started"),
    ),
}


@dataclass(frozen=True)
class Transition:
    """An allowed move: where the incident rests afterwards and which events say so."""

    action: Action
    source: IncidentState
    target: IncidentState
    via: IncidentState | None
    events: tuple[str, ...]


def transition(state: IncidentState | str, action: Action, entity: str = "incident") -> Transition:
    """The move `action` makes from `state`, or InvalidTransition naming the current state."""
    current = IncidentState(state)
    rule = RULES[action]
    if current not in rule.sources:
        raise InvalidTransition(entity, current.value, action.value)
    return Transition(action, current, rule.target or current, rule.via, rule.events)


def allowed(state: IncidentState | str, action: Action) -> bool:
    return IncidentState(state) in RULES[action].sources
