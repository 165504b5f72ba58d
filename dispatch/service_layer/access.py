"""Who may do what: the roles, the callers, and every rule that lets a caller act or not."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from sqlalchemy import select

from dispatch.adapters.orm import IncidentRow
from dispatch.service_layer.services import Services
from models.errors import Forbidden, NotFound

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
    """Who asks: the role decides what they may do; `name` is the actor in the event log."""

    role: Role
    team_id: str | None = None  # set only for Role.TEAM
    name: str = ""

    @property
    def actor(self) -> str:
        return self.name or self.role.value


class Actor(Protocol):
    """Who acts on an incident; a Caller or a SystemCaller fits. Only its role, team and name
    matter to the lifecycle."""

    @property
    def role(self) -> str: ...

    @property
    def team_id(self) -> str | None: ...

    @property
    def name(self) -> str: ...


@dataclass(frozen=True)
class SystemCaller:
    """A caller for in-process actors (the simulation's crews, the demo)."""

    role: str = "dispatcher"
    team_id: str | None = None
    name: str = "system"


def actor_of(caller: Actor) -> str:
    if caller.name:
        return caller.name
    return f"team:{caller.team_id}" if str(caller.role) == "team" else str(caller.role)


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


def check_own_tasks(caller: Caller, team_id: str) -> None:
    """A team sees only its own task list."""
    if caller.role is Role.TEAM and caller.team_id != team_id:
        raise Forbidden("a team sees only its own tasks")


# --- the commands' rules --------------------------------------------------------------------


def check_may_report(caller: Caller) -> None:
    if caller.role.value not in REPORTING_ROLES:
        raise Forbidden(f"a {caller.role.value} may not report incidents")


def check_team(caller: Actor, incident: IncidentRow) -> None:
    """A team acts on its own tasks only; the dispatch center may act for any team."""
    role = str(caller.role)
    if role == "team":
        if caller.team_id is None or caller.team_id != incident.team_id:
            raise Forbidden(f"incident {incident.id} is not a task of team {caller.team_id}")
    elif role not in DISPATCH_ROLES:
        raise Forbidden(f"a caller with role {role} cannot act on tasks")


def check_dispatcher(caller: Actor, what: str) -> None:
    if str(caller.role) not in DISPATCH_ROLES:
        raise Forbidden(f"only the dispatch center can {what}")
