"""`everycall demo`: a burst of incidents through Kafka, routed by Prefect flows, summarised."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import func, or_, select

from dispatch.adapters.orm import AssignmentRow, IncidentRow
from dispatch.service_layer.registry import list_teams, replace_registry
from dispatch.service_layer.services import Services
from dispatch.service_layer.team_pool import warm_routing
from dispatch.simulation.load import finish_due_tasks, publish_reports, simulated_incidents
from models.hubei import hubei_registry
from models.incident import IncidentState
from models.rules import Rule


@dataclass
class DemoSummary:
    reported: int
    assigned: int
    # grouped by storm grouping with an open incident nearby: that incident's team answers it
    merged: int
    unassigned: int
    latency_ms_p50: float
    latency_ms_p95: float
    latency_ms_p99: float
    # assignments by the routing rule that decided them (a re-dispatch counts again)
    by_grid_owner: int = 0
    by_spill_over: int = 0
    by_nearest: int = 0
    by_rest_rotation: int = 0
    by_queued_then_assigned: int = 0

    def as_dict(self) -> dict[str, float | int]:
        return dict(self.__dict__)


def run_demo(
    services: Services,
    incidents: int,
    console: Console,
    seed: int = 7,
    work_s: float = 1.0,
    timeout_s: float = 600.0,
) -> DemoSummary:
    """Seed the registry, stream the burst, route it all, and summarise from the database."""
    from flows.dispatcher import run_dispatcher  # Prefect loads only when routing starts

    with services.sessions.begin() as session:
        if not list_teams(session):
            replace_registry(session, hubei_registry(), services.clock.now())
        teams = list_teams(session)
    warm_routing(services)
    burst = simulated_incidents(teams, incidents, services.clock.now(), seed=seed)
    ids = [i.id for i in burst]
    console.print(
        f"{len(teams)} 支队伍在岗，经 Kafka 上报 {incidents} 起诉求 · {len(teams)} teams on "
        f"duty; reporting {incidents} incidents through Kafka at {services.bootstrap_servers}"
    )
    deadline = time.monotonic() + timeout_s

    with _progress(console) as progress:
        bar = progress.add_task("已应答 answered", total=incidents)

        def done() -> bool:
            answered = _count_answered(services, ids)
            progress.update(bar, completed=answered)
            return answered >= incidents or time.monotonic() > deadline

        async def crews() -> None:
            while not done():
                finish_due_tasks(services, timedelta(seconds=work_s))
                await asyncio.sleep(0.2)

        async def both() -> None:
            ready = asyncio.Event()
            dispatcher = asyncio.create_task(run_dispatcher(services, stop=done, ready=ready))
            await ready.wait()  # latency counts routing, not Prefect's start-up
            publish_reports(services.publisher, burst, "everycall-demo", services.clock.now())
            await asyncio.gather(dispatcher, crews())

        asyncio.run(both())
    return summarise(services, ids)


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]routing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def _count_answered(services: Services, ids: list[str]) -> int:
    """Incidents a team was assigned to, or that were merged into one that has a team."""
    with services.reads() as session:
        return sum(
            session.scalar(
                select(func.count())
                .where(IncidentRow.id.in_(ids[i : i + 5000]))
                .where(or_(IncidentRow.assigned_at.is_not(None), _MERGED))
            )
            or 0
            for i in range(0, len(ids), 5000)
        )


_MERGED = IncidentRow.state == IncidentState.MERGED.value


def summarise(services: Services, ids: list[str]) -> DemoSummary:
    """Counts and dispatch latency (report to stored assignment) of the given incidents."""
    latencies: list[float] = []
    by_rule: Counter[str] = Counter()
    merged = 0
    with services.reads() as session:
        for i in range(0, len(ids), 5000):
            merged += (
                session.scalar(
                    select(func.count()).where(IncidentRow.id.in_(ids[i : i + 5000]), _MERGED)
                )
                or 0
            )
            rows = session.execute(
                select(IncidentRow.reported_at, IncidentRow.assigned_at)
                .where(IncidentRow.id.in_(ids[i : i + 5000]))
                .where(IncidentRow.assigned_at.is_not(None))
            ).all()
            latencies += [(a - r).total_seconds() * 1000 for r, a in rows if a is not None]
            by_rule.update(
                dict(
                    session.execute(
                        select(AssignmentRow.rule, func.count())
                        .where(AssignmentRow.incident_id.in_(ids[i : i + 5000]))
                        .group_by(AssignmentRow.rule)
                    ).all()
                )
            )
    p50, p95, p99 = (np.percentile(latencies, q) if latencies else 0.0 for q in (50, 95, 99))
    return DemoSummary(
        reported=len(ids),
        assigned=len(latencies),
        merged=merged,
        unassigned=len(ids) - len(latencies) - merged,
        latency_ms_p50=round(float(p50), 1),
        latency_ms_p95=round(float(p95), 1),
        latency_ms_p99=round(float(p99), 1),
        **{f"by_{rule}": by_rule[rule] for rule in Rule},
    )


# The summary's rows, Chinese first with the English beside: the demo is what a dispatch
# center is shown first, and its figures are read by people, not only by scripts.
MEASURE_ZH = {
    "reported": "受理",
    "assigned": "派出",
    "merged": "并入附近工单",
    "unassigned": "未派出",
    "latency_ms_p50": "派单时延 p50（毫秒）",
    "latency_ms_p95": "派单时延 p95（毫秒）",
    "latency_ms_p99": "派单时延 p99（毫秒）",
    "by_grid_owner": "网格责任队",
    "by_spill_over": "跨区支援",
    "by_nearest": "就近派单",
    "by_rest_rotation": "轮休调配",
    "by_queued_then_assigned": "排队后派出",
}


def print_summary(console: Console, summary: DemoSummary, json_path: Path | None) -> None:
    table = Table(title="everycall 演示：有呼必应？ · every call answered?")
    table.add_column("指标 measure")
    table.add_column("数值 value", justify="right")
    for name, value in summary.as_dict().items():
        table.add_row(f"{MEASURE_ZH.get(name, '')} {name.replace('_', ' ')}".strip(), str(value))
    console.print(table)
    if json_path is not None:
        json_path.write_text(json.dumps(summary.as_dict(), indent=2) + "\n")
        console.print(f"汇总已写入 summary written to {json_path}")
