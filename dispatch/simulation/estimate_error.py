"""How far the estimates were from what happened in a simulated run: each incident's first
estimate (made when it was reported, or when a team could first be found for it) against
when its first team was on site, and for outages when it was resolved (power back); and the
estimate made when a team was first assigned (its trip alone) against the same arrival."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import select

from dispatch.adapters.orm import AssignmentRow, IncidentRow
from dispatch.service_layer.services import Services
from models.estimates import Estimate, travel_minutes
from models.incident import IncidentKind


@dataclass
class FirstEstimates:
    """The first estimate seen of each incident of one run (ids starting with `prefix`)."""

    prefix: str
    on_site: dict[str, datetime] = field(default_factory=dict)
    restored: dict[str, datetime] = field(default_factory=dict)

    def record(self, found: Mapping[str, Estimate]) -> int:
        """Keeps the estimates of incidents not estimated before; returns how many."""
        kept = 0
        for incident_id, estimate in found.items():
            if incident_id in self.on_site or not incident_id.startswith(self.prefix):
                continue
            self.on_site[incident_id] = estimate.on_site_at
            if estimate.restored_at is not None:
                self.restored[incident_id] = estimate.restored_at
            kept += 1
        return kept


@dataclass(frozen=True)
class Happened:
    """When each incident of a run had a team on site, and each outage was resolved."""

    on_site: dict[str, datetime]
    restored: dict[str, datetime]


def what_happened(services: Services, prefix: str) -> Happened:
    on_site: dict[str, datetime] = {}
    restored: dict[str, datetime] = {}
    with services.reads() as session:
        for incident_id, kind, arrived_at, resolved_at in session.execute(
            select(
                IncidentRow.id, IncidentRow.kind, IncidentRow.arrived_at, IncidentRow.resolved_at
            ).where(IncidentRow.id.like(f"{prefix}%"))
        ):
            if arrived_at is not None:
                on_site[incident_id] = arrived_at
            if kind == IncidentKind.OUTAGE and resolved_at is not None:
                restored[incident_id] = resolved_at
    return Happened(on_site, restored)


def at_first_assignment(services: Services, prefix: str) -> dict[str, datetime]:
    """Each incident's estimate when a team was first assigned to it: that team's trip from
    where routing measured it (an assigned incident's estimate, models/estimates.py), so the
    travel model is measured apart from the queue's and the times on site it assumes."""
    found: dict[str, datetime] = {}
    with services.reads() as session:
        for incident_id, assigned_at, km, area in session.execute(
            select(
                AssignmentRow.incident_id,
                AssignmentRow.assigned_at,
                AssignmentRow.distance_km,
                IncidentRow.area_class,
            )
            .join(IncidentRow, IncidentRow.id == AssignmentRow.incident_id)
            .where(AssignmentRow.incident_id.like(f"{prefix}%"))
            .order_by(AssignmentRow.id)
        ):
            if incident_id not in found:
                found[incident_id] = assigned_at + timedelta(minutes=travel_minutes(km, area))
    return found


def absolute_errors_min(
    estimated: Mapping[str, datetime], actual: Mapping[str, datetime]
) -> list[float]:
    """|estimate − what happened| in minutes, for each incident that has both."""
    return [abs((estimated[i] - actual[i]).total_seconds()) / 60 for i in estimated if i in actual]


def mean_and_p90(errors: list[float]) -> tuple[float | None, float | None]:
    """The mean and the 90th percentile, to a tenth of a minute; None without any error."""
    if not errors:
        return None, None
    mean, p90 = float(np.mean(errors)), float(np.percentile(errors, 90))
    assert math.isfinite(mean) and math.isfinite(p90)
    return round(mean, 1), round(p90, 1)


@dataclass(frozen=True)
class EstimateErrors:
    eta_error_min_mean: float | None
    eta_error_min_p90: float | None
    eta_measured: int
    ert_error_min_mean: float | None
    ert_error_min_p90: float | None
    ert_measured: int
    eta_error_min_mean_at_assignment: float | None = None
    eta_error_min_p90_at_assignment: float | None = None


def estimate_errors(
    first: FirstEstimates, happened: Happened, assigned: Mapping[str, datetime] | None = None
) -> EstimateErrors:
    eta = absolute_errors_min(first.on_site, happened.on_site)
    ert = absolute_errors_min(first.restored, happened.restored)
    at_assignment = absolute_errors_min(assigned or {}, happened.on_site)
    return EstimateErrors(
        *mean_and_p90(eta), len(eta), *mean_and_p90(ert), len(ert), *mean_and_p90(at_assignment)
    )
