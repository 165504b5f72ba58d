"""The routing policy's knobs and the small rules built on them: reach, travel time, ageing."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from models.incident import PRIORITY_RANK, AreaClass, Incident, Priority


def _per_area(urban: float, rural: float, remote: float) -> dict[AreaClass, float]:
    return {AreaClass.URBAN: urban, AreaClass.RURAL: rural, AreaClass.REMOTE: remote}


class RoutingPolicy(BaseModel):
    """What the dispatch center may tune; the defaults follow the on-site service promises."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    fix_max_age_min: float = Field(
        default=30.0, gt=0, description="an older location fix is ignored: home base is used"
    )
    reach_min: dict[AreaClass, float] = Field(
        default_factory=lambda: _per_area(45.0, 90.0, 120.0),
        description="on-site SLA target per area class: a grid owner within it is preferred",
    )
    speed_kmh: dict[AreaClass, float] = Field(
        default_factory=lambda: _per_area(25.0, 40.0, 30.0),
        description="average speed over the geodesic distance, by the incident's area class",
    )
    shortlist_size: int = Field(default=5, ge=1, le=50, description="teams the explanation ranks")
    index_neighbours: int = Field(
        default=16, ge=1, le=1024, description="first spatial-index query size per incident"
    )
    rest_min: float = Field(
        default=15.0, ge=0, description="rest after finishing a task; 0 turns rotation off"
    )
    rest_slack_min: float = Field(
        default=10.0, ge=0, description="a resting team is skipped only for one this much slower"
    )
    ageing_step_min: float = Field(
        default=30.0, gt=0, description="waiting this long raises an incident one priority level"
    )

    @field_validator("reach_min", "speed_kmh")
    @classmethod
    def _every_area_positive(cls, value: dict[AreaClass, float]) -> dict[AreaClass, float]:
        missing = [a.value for a in AreaClass if a not in value]
        if missing:
            raise ValueError(f"missing area classes: {', '.join(missing)}")
        if any(v <= 0 for v in value.values()):
            raise ValueError("every value must be positive")
        return value

    def eta_min(self, distance_km: float, area: AreaClass) -> float:
        """Estimated travel time in minutes over a geodesic distance into an area class."""
        return distance_km / self.speed_kmh[area] * 60.0

    def reach_km(self, area: AreaClass) -> float:
        """The distance covered within the on-site target: the reach, in km."""
        return self.reach_min[area] / 60.0 * self.speed_kmh[area]


def effective_rank(incident: Incident, now: datetime, policy: RoutingPolicy) -> int:
    """Priority rank after ageing: every `ageing_step_min` waited moves one level up, to 0."""
    return aged_rank(incident.priority, incident.reported_at, now, policy)


def aged_rank(
    priority: Priority, reported_at: datetime, now: datetime, policy: RoutingPolicy
) -> int:
    waited = max(0.0, (now - reported_at).total_seconds() / 60.0)
    return max(0, PRIORITY_RANK[priority] - math.floor(waited / policy.ageing_step_min))


def dispatch_order(
    incidents: Iterable[Incident], now: datetime, policy: RoutingPolicy
) -> list[Incident]:
    """Most urgent first (after ageing), then first come first served, then by id."""
    return sorted(incidents, key=lambda i: (effective_rank(i, now, policy), i.reported_at, i.id))
