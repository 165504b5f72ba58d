"""Response plans: how many teams an incident of a kind and priority needs, and which skill at
least one of them must have. The layout of config/response_plans.toml."""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from models.incident import IncidentKind, Priority
from models.team import Skill


class ResponsePlan(BaseModel):
    """The teams one incident needs: `teams` distinct teams, at least one with `required_skill`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    teams: int = Field(default=1, ge=1, le=10, description="distinct teams sent together")
    required_skill: Skill | None = Field(
        default=None, description="at least one of the teams has it; None: the kind's own skill"
    )


def _disaster_relief_plans() -> dict[IncidentKind, dict[Priority, ResponsePlan]]:
    return {
        IncidentKind.DISASTER_RELIEF: {
            Priority.CRITICAL: ResponsePlan(teams=2, required_skill=Skill.DISASTER_RELIEF)
        }
    }


class ResponsePlans(BaseModel):
    """A default plan, and plans by kind then priority; the most specific one applies.
    Built in: one team for everything, two for critical disaster relief (one with the skill)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    default: ResponsePlan = Field(default_factory=ResponsePlan)
    kind: dict[IncidentKind, dict[Priority, ResponsePlan]] = Field(
        default_factory=_disaster_relief_plans
    )
    max_teams: int = Field(default=5, ge=1, le=10, description="a raised level stops here")

    @model_validator(mode="after")
    def _plans_fit_the_ceiling(self) -> ResponsePlans:
        largest = max(
            [self.default.teams, *(p.teams for by in self.kind.values() for p in by.values())]
        )
        if largest > self.max_teams:
            raise ValueError(f"a plan asks for {largest} teams, above max_teams {self.max_teams}")
        return self

    def plan_for(self, kind: IncidentKind | str, priority: Priority | str) -> ResponsePlan:
        """The plan of an incident's kind and priority, else the default one."""
        return self.kind.get(IncidentKind(kind), {}).get(Priority(priority), self.default)


ID_LIMIT = 64  # an incident id's longest (models/incident.py)


def support_id(lead_id: str, n: int) -> str:
    """The id of a lead incident's n-th support task (n from 1): the lead's id and `.n`, so
    a redelivered report makes the same ids. A lead id too long for that is shortened and a
    digest of it added, so two long ids sharing a beginning still differ."""
    tail = f".{n}"
    if len(lead_id) + len(tail) <= ID_LIMIT:
        return lead_id + tail
    digest = hashlib.sha256(lead_id.encode()).hexdigest()[:12]
    return f"{lead_id[: ID_LIMIT - len(tail) - len(digest) - 1]}~{digest}{tail}"


def load_response_plans(path: Path | str | None) -> ResponsePlans:
    """The plans in a TOML file; the built-in ones when `path` is None."""
    if path is None:
        return ResponsePlans()
    with Path(path).open("rb") as source:
        return ResponsePlans.model_validate(tomllib.load(source))
