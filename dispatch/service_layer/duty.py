"""A team member's duty: on duty they are told of their team's tasks; off duty, nothing. Set
from the crew app by the member alone; each change is an event that names them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.adapters.orm import MemberDutyRow, TeamRow
from dispatch.service_layer.access import Caller, Role
from dispatch.service_layer.services import Services
from dispatch.service_layer.unit_of_work import unit_of_work
from events.schemas.notifications import MemberDutyChanged
from models.errors import Forbidden


def check_member(caller: Caller) -> str:
    """The team of a team member; the other roles have no duty to set."""
    if caller.role is not Role.TEAM or not caller.team_id:
        raise Forbidden("only team members go on and off duty")
    return caller.team_id


def set_duty(services: Services, caller: Caller, username: str, on_duty: bool) -> bool:
    """The member goes on or off duty; no event when nothing changes."""
    team_id = check_member(caller)
    now = services.clock.now()
    with unit_of_work(services) as uow:
        current = uow.session.get(MemberDutyRow, username)
        if current is not None and (current.on_duty, current.team_id) == (on_duty, team_id):
            return on_duty
        region = uow.session.scalar(select(TeamRow.region).where(TeamRow.id == team_id)) or ""
        changed = MemberDutyChanged(
            username=username, team_id=team_id, on_duty=on_duty, actor=caller.actor, changed_at=now
        )
        uow.record(region, [changed], now)
    return on_duty


def is_on_duty(session: Session, username: str, team_id: str) -> bool:
    row = session.get(MemberDutyRow, username)
    return row is not None and row.on_duty and row.team_id == team_id
