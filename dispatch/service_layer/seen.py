"""A task seen: the crew's phone showed it to the crew. Logged once per team and task, so the
board can say "notified 14:03:12, seen 14:03:40"."""

from __future__ import annotations

from dispatch.adapters.orm import IncidentRow, TaskNoticeRow
from dispatch.service_layer.access import Caller, Role
from dispatch.service_layer.services import Services
from dispatch.service_layer.unit_of_work import unit_of_work
from events.schemas.notifications import TaskSeen
from models.errors import Forbidden, NotFound


def mark_seen(services: Services, incident_id: str, caller: Caller) -> bool:
    """Record that the calling team's crew saw its task; False if it was seen before."""
    if caller.role is not Role.TEAM or not caller.team_id:
        raise Forbidden("only a team's crew sees its tasks")
    now = services.clock.now()
    with unit_of_work(services) as uow:
        incident = uow.session.get(IncidentRow, incident_id)
        if incident is None or incident.team_id != caller.team_id:
            raise NotFound(f"team {caller.team_id} has no task {incident_id}")
        notice = uow.session.get(TaskNoticeRow, (incident_id, caller.team_id))
        if notice is not None and notice.seen_at is not None:
            return False
        seen = TaskSeen(
            incident_id=incident_id, team_id=caller.team_id, actor=caller.actor, seen_at=now
        )
        uow.record(incident.region, [seen], now)
    return True
