"""Storm grouping as new reports are stored: each starts its arrive clock, and one near an
open incident of its kind, reported shortly after it, is merged into that incident (state
merged, clocks paused) instead of being routed; routing calls this before it routes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from dispatch.adapters.storm_search import open_masters_near
from dispatch.service_layer.batch_rows import BatchRows
from dispatch.service_layer.clock_starts import start_report_clocks
from dispatch.service_layer.clocks import DISPATCHER, snapshot
from dispatch.service_layer.unit_of_work import UnitOfWork
from events.schemas import EventPayload
from events.schemas.tasks import IncidentMerged
from models.grouping import find_duplicates
from models.incident import Incident, IncidentState


def on_reported(
    uow: UnitOfWork[BatchRows], incidents: Sequence[Incident], now: datetime
) -> list[Incident]:
    """New reports were stored: start their arrive clocks, link storm duplicates to their
    masters (state merged, clocks paused), and return the reports that still need a team."""
    if not incidents:
        return []
    settings = uow.services.settings
    window = timedelta(minutes=settings.storm_window_min)
    radius = settings.storm_radius_m
    masters = open_masters_near(uow.session, incidents, radius, window)
    links = find_duplicates(incidents, masters, radius, window)
    merged_ids = {link.incident_id for link in links}
    # the clocks start (and the event says so) before duplicates pause theirs
    paused = start_report_clocks(uow, incidents, now, merged_ids)
    if not links:
        return list(incidents)
    regions = {i.id: i.region for i in incidents}
    items: list[tuple[str, EventPayload]] = []
    for link in links:
        merged = IncidentMerged(
            incident_id=link.incident_id,
            actor=DISPATCHER,
            state=IncidentState.MERGED.value,
            clocks=[snapshot(paused[link.incident_id])],
            master_id=link.master_id,
            distance_m=link.distance_m,
            minutes_apart=link.minutes_apart,
        )
        items.append((regions[link.incident_id], merged))
    uow.record_all(items, now)
    return [i for i in incidents if i.id not in merged_ids]
