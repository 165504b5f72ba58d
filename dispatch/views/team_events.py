"""What a team's phone hears on the live stream: the events that name the team, and those about
the incidents it holds, while it holds them. A team learns nothing of other teams' tasks."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.adapters.orm import IncidentRow
from dispatch.views.log_tail import Logged
from models.lifecycle import WITH_TEAM

# where a payload names a team: its own task, the one it lost, the one it was handed, released
TEAM_FIELDS = ("team_id", "from_team_id", "to_team_id", "released_team_id")
_WITH_TEAM = frozenset(s.value for s in WITH_TEAM)
# the events that give a task to a team, and the field naming that team
_ASSIGNEE = {"team.assigned": "team_id", "incident.reassigned": "to_team_id"}


def held_incidents(session: Session, team_id: str) -> list[str]:
    """The team's open tasks now: where a stream for the team starts."""
    return list(
        session.scalars(
            select(IncidentRow.id)
            .where(IncidentRow.team_id == team_id)
            .where(IncidentRow.state.in_(_WITH_TEAM))
        )
    )


class TeamEvents:
    """One team's filter of the log, kept for one stream: it follows the team's tasks as the
    events give and take them."""

    def __init__(self, team_id: str, held: Iterable[str]) -> None:
        self.team_id = team_id
        self.held = set(held)
        self._name = json.dumps(team_id)

    def hears(self, event: Logged) -> bool:
        if not self._may_concern(event.envelope):
            return False
        payload: dict[str, Any] = json.loads(event.envelope)["payload"]
        incident_id = payload.get("incident_id")
        names_team = self._names_team(payload)
        if not names_team and incident_id not in self.held:
            return False
        if isinstance(incident_id, str):
            self._follow(event.type, incident_id, payload)
        return True

    def _names_team(self, payload: dict[str, Any]) -> bool:
        """The payload names the team, or one of its clocks does (routing starts a task's
        acknowledge clock just before it logs the assignment)."""
        if any(payload.get(field) == self.team_id for field in TEAM_FIELDS):
            return True
        clocks = payload.get("clocks")
        return isinstance(clocks, list) and any(
            isinstance(c, dict) and c.get("team_id") == self.team_id for c in clocks
        )

    def _may_concern(self, envelope: str) -> bool:
        """A text search before parsing: in a storm most events name neither the team nor its
        few tasks, and each phone's stream would otherwise parse every one."""
        return self._name in envelope or any(json.dumps(i) in envelope for i in self.held)

    def _follow(self, event_type: str, incident_id: str, payload: dict[str, Any]) -> None:
        """Take up a task given to the team; let go of one that left it."""
        assignee = _ASSIGNEE.get(event_type)
        if assignee is not None:
            if payload.get(assignee) == self.team_id:
                self.held.add(incident_id)
            else:
                self.held.discard(incident_id)
            return
        state = payload.get("state")
        if state and state not in _WITH_TEAM:
            self.held.discard(incident_id)
