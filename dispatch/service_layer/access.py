"""Who may do what: the roles, the callers, and every rule that lets a caller act or not."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.adapters.orm import AssignmentRow, IncidentRow
from dispatch.service_layer.services import Services
from models.errors import Forbidden, NotFound, TaskWithdrawn

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
DISPATCH_ROLES = frozenset({"dispatcher", "admin"})  # act on any incident, for any team
REPORTING_ROLES = frozenset({"dispatcher", "admin"})


class Role(StrEnum):
    DISPATCHER = "dispatcher"
    TEAM = "team"
    AUDITOR = "auditor"  # reads everything, changes nothing
    ADMIN = "admin"


@dataclass(frozen=True)
class Caller:
    """Who acts: a person or machine through the API, or an in-process actor (the simulated
    crews, the demo). The role decides what they may do; `actor` names them in the event log."""

    role: Role
    team_id: str | None = None  # set only for Role.TEAM
    name: str = ""

    @property
    def actor(self) -> str:
        if self.name:
            return self.name
        return f"team:{self.team_id}" if self.role is Role.TEAM else self.role.value


# --- the HTTP API's gate --------------------------------------------------------------------


def refusal(caller: Caller, allowed: frozenset[Role]) -> str | None:
    """Why a caller whose role is not in `allowed` may not go on, or None when it may."""
    if caller.role in allowed:
        return None
    needed = " or ".join(sorted(allowed))
    return f"a {caller.role.value} may not do this (needs {needed})"


def may_use_method(caller: Caller, method: str) -> bool:
    """Auditors read; every other role may also change what its role allows."""
    return caller.role is not Role.AUDITOR or method in READ_METHODS


def check_own_task(services: Services, incident_id: str, caller: Caller) -> None:
    """A team learns nothing of tasks that are not its own: they look like no task at all."""
    if caller.role is not Role.TEAM:
        return
    with services.reads() as session:
        team_id = session.scalar(select(IncidentRow.team_id).where(IncidentRow.id == incident_id))
    if team_id is None or team_id != caller.team_id:
        raise NotFound(f"team {caller.team_id} has no task {incident_id}")


def check_still_own_task(session: Session, incident: IncidentRow, caller: Caller) -> None:
    """Before a team's move: a team that had the task and lost it (withdrawn, reassigned, given
    back) is told so (409); any other team learns nothing of it (404)."""
    if caller.role is not Role.TEAM or incident.team_id == caller.team_id:
        return
    had_it = session.scalar(
        select(AssignmentRow.id)
        .where(AssignmentRow.incident_id == incident.id, AssignmentRow.team_id == caller.team_id)
        .limit(1)
    )
    if had_it is None:
        raise NotFound(f"team {caller.team_id} has no task {incident.id}")
    raise TaskWithdrawn(
        f"task {incident.id} is no longer team {caller.team_id}'s: it was withdrawn from the team"
    )


def check_own_tasks(caller: Caller, team_id: str) -> None:
    """A team sees only its own task list."""
    if caller.role is Role.TEAM and caller.team_id != team_id:
        raise Forbidden("a team sees only its own tasks")


# --- the commands' rules --------------------------------------------------------------------


def check_may_report(caller: Caller) -> None:
    if caller.role.value not in REPORTING_ROLES:
        raise Forbidden(f"a {caller.role.value} may not report incidents")


def check_team(caller: Caller, incident: IncidentRow) -> None:
    """A team acts on its own tasks only; the dispatch center may act for any team."""
    if caller.role is Role.TEAM:
        if caller.team_id is None or caller.team_id != incident.team_id:
            raise Forbidden(f"incident {incident.id} is not a task of team {caller.team_id}")
    elif caller.role.value not in DISPATCH_ROLES:
        raise Forbidden(f"a caller with role {caller.role.value} cannot act on tasks")


def check_dispatcher(caller: Caller, what: str) -> None:
    if caller.role.value not in DISPATCH_ROLES:
        raise Forbidden(f"only the dispatch center can {what}")
