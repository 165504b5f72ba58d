"""Simulated crews: each does what is due by the simulated clock, in one transaction a tick.

Crews acknowledge within a couple of minutes, except that a share of tasks (`no_ack_rate`) is
ignored, which the watchdog must catch; then they set off, travel at 40 km/h, work and resolve.
Every decision is fixed by a seed, so the same run decides the same way.
"""

from __future__ import annotations

import hashlib
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.adapters.orm import AssignmentRow, IncidentRow
from dispatch.service_layer.access import Caller, Role
from dispatch.service_layer.services import Services
from dispatch.service_layer.tasks import (
    acknowledge_in,
    mark_en_route_in,
    mark_on_scene_in,
    resolve_in,
)
from dispatch.service_layer.unit_of_work import Commands, unit_of_work
from models.errors import SupportsStillOpen

SPEED_KMH = 40.0


def _chance(*parts: object) -> float:
    """A uniform number in [0, 1) fixed by `parts`: the same run decides the same way."""
    digest = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


@dataclass(frozen=True)
class CrewHabits:
    """How simulated crews behave; times in simulated minutes."""

    no_ack_rate: float = 0.2
    seed: int = 7
    ack_within_min: tuple[float, float] = (0.2, 1.5)  # by the next tick, inside 3 min
    set_off_after_min: float = 1.0
    work_min: tuple[float, float] = (15.0, 45.0)

    def ignores(self, incident_id: str, team_id: str) -> bool:
        return _chance(self.seed, "ignore", incident_id, team_id) < self.no_ack_rate

    def _between(self, span: tuple[float, float], *parts: object) -> timedelta:
        low, high = span
        return timedelta(minutes=low + (high - low) * _chance(self.seed, *parts))

    def ack_delay(self, incident_id: str, team_id: str) -> timedelta:
        return self._between(self.ack_within_min, "ack", incident_id, team_id)

    def travel(self, distance_km: float) -> timedelta:
        return timedelta(minutes=5 + distance_km / SPEED_KMH * 60)

    def work(self, incident_id: str) -> timedelta:
        return self._between(self.work_min, "work", incident_id)


@dataclass
class Task:
    incident_id: str
    team_id: str
    state: str
    assigned_at: datetime
    acknowledged_at: datetime | None
    arrived_at: datetime | None
    distance_km: float


def open_tasks(session: Session, distances: dict[tuple[str, str], float]) -> list[Task]:
    """Every task a team holds now, with the distance routing measured for it (`distances`
    remembers them from tick to tick: only new assignments are looked up)."""
    rows = session.execute(
        select(
            IncidentRow.id,
            IncidentRow.team_id,
            IncidentRow.state,
            IncidentRow.assigned_at,
            IncidentRow.acknowledged_at,
            IncidentRow.arrived_at,
        )
        .where(IncidentRow.state.in_(["assigned", "acknowledged", "en_route", "on_scene"]))
        .where(IncidentRow.assigned_at.is_not(None))  # always set while a team holds it
        .order_by(IncidentRow.id)
    ).all()
    unknown = sorted({r.id for r in rows if (r.id, r.team_id) not in distances})
    for start in range(0, len(unknown), 500):
        for incident_id, team_id, km in session.execute(
            select(AssignmentRow.incident_id, AssignmentRow.team_id, AssignmentRow.distance_km)
            .where(AssignmentRow.incident_id.in_(unknown[start : start + 500]))
            .order_by(AssignmentRow.id)
        ):
            distances[(incident_id, team_id)] = km
    return [
        Task(
            incident_id=r.id,
            team_id=str(r.team_id),
            state=r.state,
            assigned_at=r.assigned_at,
            acknowledged_at=r.acknowledged_at,
            arrived_at=r.arrived_at,
            distance_km=distances.get((r.id, str(r.team_id)), 0.0),
        )
        for r in rows
        if r.assigned_at is not None
    ]


def act_as_crews(
    services: Services, habits: CrewHabits, distances: dict[tuple[str, str], float] | None = None
) -> int:
    """Every crew does what is due by now, all in one transaction; returns steps taken."""
    now = services.clock.now()
    distances = {} if distances is None else distances
    with unit_of_work(services, batched=True) as uow:
        due = [
            (task, step)
            for task in open_tasks(uow.session, distances)
            if (step := next_step(habits, task, now))
        ]
        uow.rows.lock_incidents([task.incident_id for task, _ in due])
        for task, step in due:
            crew = Caller(Role.TEAM, team_id=task.team_id, name=f"sim-crew:{task.team_id}")
            if step == "resolve":
                _resolve_when_supports_done(uow, task.incident_id, crew, now)
            else:
                STEPS[step](uow, task.incident_id, crew, now)
    return len(due)


def _resolve_when_supports_done(
    uow: Commands, incident_id: str, crew: Caller, now: datetime
) -> None:
    """A lead crew whose support teams are still at work taps resolve again on a later tick."""
    with suppress(SupportsStillOpen):
        resolve_in(uow, incident_id, crew, "simulated crew", now)


STEPS = {
    "acknowledge": acknowledge_in,
    "en_route": mark_en_route_in,
    "on_scene": mark_on_scene_in,
}


def next_step(habits: CrewHabits, task: Task, now: datetime) -> str | None:
    """What the crew of `task` does now, if anything: acknowledge, en_route, on_scene, resolve."""
    if task.state == "assigned":
        if habits.ignores(task.incident_id, task.team_id):
            return None  # the watchdog will take it back
        ready = task.assigned_at + habits.ack_delay(task.incident_id, task.team_id) <= now
        return "acknowledge" if ready else None
    acked = task.acknowledged_at or task.assigned_at
    set_off = acked + timedelta(minutes=habits.set_off_after_min)
    if task.state == "acknowledged":
        return "en_route" if set_off <= now else None
    if task.state == "en_route":
        return "on_scene" if set_off + habits.travel(task.distance_km) <= now else None
    arrived = task.arrived_at
    if task.state == "on_scene" and arrived and arrived + habits.work(task.incident_id) <= now:
        return "resolve"
    return None
