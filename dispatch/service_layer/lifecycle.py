"""What the lifecycle commands share (tasks.py for the teams', incidents.py for the dispatch
center's): the clocks an action closes and starts, and running a command in a unit of work of
its own that returns the incident as the board shows it.

Each command locks the incident, checks the caller (access.py) and the move
(models/lifecycle.py), and decides its events: the state after, and the clocks it changes
(models/sla.py), all in the payload. The unit of work (unit_of_work.py) folds them into the
rows, logs them and stages them for Kafka. The `*_in` variants run inside a caller's unit of
work (the simulated crews batch them).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from dispatch.adapters.orm import IncidentRow, SlaClockRow, clock_of
from dispatch.service_layer.clocks import ClockValues, facts_of, policy_of, target_of
from dispatch.service_layer.services import Services
from dispatch.service_layer.unit_of_work import Commands, unit_of_work
from dispatch.views.board import IncidentView, incident_view
from models.lifecycle import Action
from models.sla import ClockKind, ClockState, SlaClock, effects_of


def open_clocks(uow: Commands, incident_id: str) -> list[SlaClockRow]:
    """Clocks not yet closed (running, paused, or breached and still waiting to be done)."""
    return [
        row
        for row in uow.rows.clocks_of(incident_id)
        if row.closed_at is None and row.state != ClockState.STOPPED.value
    ]


def next_attempt(uow: Commands, incident_id: str, kind: ClockKind) -> int:
    clocks = uow.rows.clocks_of(incident_id)
    return 1 + max((r.attempt for r in clocks if r.kind == kind.value), default=0)


def changed_clock(row: SlaClockRow, clock: SlaClock, team_id: str | None = None) -> ClockValues:
    """A stored clock after a change: what its snapshot in the deciding event carries."""
    return ClockValues.of(
        row.incident_id, clock, attempt=row.attempt, team_id=team_id or row.team_id
    )


def clock_effects(
    uow: Commands, incident: IncidentRow, action: Action, team_id: str | None, now: datetime
) -> list[ClockValues]:
    """The clocks `action` closes and starts, as they will be after it."""
    effects = effects_of(action)
    changed = []
    if effects.closes:
        for row in open_clocks(uow, incident.id):
            verdict = effects.closes.get(ClockKind(row.kind))
            if verdict is None:
                continue
            # the team that met the arrive or resolve clock
            met_by = team_id if row.team_id is None and verdict is ClockState.MET else None
            changed.append(changed_clock(row, clock_of(row).close(now, verdict), met_by))
    policy = policy_of(uow.services)
    for kind in effects.starts:
        if kind is ClockKind.ACKNOWLEDGE:
            continue  # started by routing (clock_starts.start_clocks)
        clock = SlaClock(kind, now, target_of(policy, kind, facts_of(incident)))
        attempt = next_attempt(uow, incident.id, kind)
        changed.append(ClockValues.of(incident.id, clock, attempt=attempt, team_id=team_id))
    return changed


def run_command(
    services: Services, incident_id: str, act: Callable[[Commands, datetime], IncidentRow]
) -> IncidentView:
    """One command in a unit of work of its own; returns the incident as the board shows it."""
    now = services.clock.now()
    with unit_of_work(services) as uow:
        act(uow, now)  # unbatched: each event is logged and its rows written as recorded
        uow.session.flush()
        return incident_view(uow.session, incident_id)
