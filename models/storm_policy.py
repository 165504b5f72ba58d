"""Storm mode's policy (config/storm.toml): which reserves join, whether rest rotation is off,
each team's capacity, the storm's SLA targets, and which CAP alerts declare storm mode
directly or only propose it. Pure: the caller reads the file."""

from __future__ import annotations

import tomllib
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class AlertAction(StrEnum):
    DECLARE = "declare"  # the alert declares storm mode in the divisions it covers
    PROPOSE = "propose"  # it proposes storm mode; a dispatcher confirms
    IGNORE = "ignore"


class AlertRule(BaseModel):
    """What an alert of this severity (and, if given, containing this event text) does."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    severity: str = Field(description="CAP severity: Extreme, Severe, Moderate, Minor, Unknown")
    event_contains: str = Field(default="", description="e.g. 暴雨红色; empty: any event")
    action: AlertAction


class StormPolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    reserves_join: bool = Field(default=True, description="reserve squads join under storm mode")
    rest_rotation: bool = Field(default=False, description="rest rotation stays on under storm")
    capacity_per_team: int | None = Field(
        default=5, ge=1, description="tasks a team may carry under storm; None: its own"
    )
    sla_targets_min: dict[str, float] = Field(
        default_factory=lambda: {"acknowledge": 10.0, "arrive": 90.0, "resolve": 480.0},
        description="the storm's SLA targets, in minutes, by clock",
    )
    alerts: tuple[AlertRule, ...] = (
        AlertRule(severity="Extreme", action=AlertAction.DECLARE),
        AlertRule(severity="Severe", event_contains="红色", action=AlertAction.DECLARE),
        AlertRule(severity="Severe", action=AlertAction.PROPOSE),
    )

    def action_for(self, severity: str, event: str) -> AlertAction:
        """The first rule matching the alert's severity and event; none: ignore it."""
        for rule in self.alerts:
            if rule.severity == severity and rule.event_contains in event:
                return rule.action
        return AlertAction.IGNORE


def load_storm_policy(text: str | None) -> StormPolicy:
    """The policy from TOML text; None: the built-in defaults."""
    if text is None:
        return StormPolicy()
    return StormPolicy.model_validate(tomllib.loads(text))
