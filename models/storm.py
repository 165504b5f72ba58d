"""Who routing may send, by the roster and storm mode, as a pass sees it: the teams off shift,
and the divisions in storm mode with the policy each was declared under. Pure: the service
layer reads these once per routing pass, then applies them to every team state."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from models.routing import TeamState, Unfit
from models.storm_policy import StormPolicy


@dataclass(frozen=True, slots=True)
class DutyConditions:
    """The roster's off-duty teams and the divisions under storm mode, at one moment."""

    off_duty: frozenset[str] = frozenset()
    storms: Mapping[str, StormPolicy] = field(default_factory=dict)

    def withheld(self, team_id: str, region: str, reserve: bool) -> Unfit | None:
        """Why routing may not send this team now; None: it may."""
        if team_id in self.off_duty:
            return Unfit.OFF_DUTY
        if reserve:
            policy = self.storms.get(region)
            if policy is None or not policy.reserves_join:
                return Unfit.RESERVE
        return None

    def apply(self, state: TeamState, region: str, reserve: bool) -> TeamState:
        """The team as this pass may use it: withheld, or under its division's storm policy
        (the storm's capacity per team; no rest between tasks unless the policy keeps it)."""
        withheld = self.withheld(state.team_id, region, reserve)
        policy = self.storms.get(region)
        if withheld is None and policy is None:
            return state
        changes: dict[str, Any] = {"withheld": withheld}
        if policy is not None:
            if policy.capacity_per_team is not None:
                changes["capacity"] = policy.capacity_per_team
            if not policy.rest_rotation:
                changes["last_finished_at"] = None
        return dataclasses.replace(state, **changes)

    def storm_note(self, division: str) -> dict[str, object] | None:
        """What a decision made in a division under storm mode says of it; None elsewhere."""
        policy = self.storms.get(division)
        if policy is None:
            return None
        return {
            "division": division,
            "capacity_per_team": policy.capacity_per_team,
            "rest_rotation": policy.rest_rotation,
            "reserves_join": policy.reserves_join,
        }
