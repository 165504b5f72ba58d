"""The board's read models and the SLA report, on both databases, after a small scenario:
one task resolved, one missed and escalated, one waiting with no team."""

from __future__ import annotations

from pathlib import Path

import pytest

from dispatch.entrypoints.cli.sla import draw_chart
from dispatch.service_layer import tasks
from dispatch.service_layer.services import Services
from dispatch.service_layer.watchdog import run_watchdog
from dispatch.views import board
from dispatch.views.queue import waiting_queue
from dispatch.views.sla_report import build_report
from models.clock import ManualClock
from models.errors import NotFound
from tests.integration.spine_helpers import incident, seed_teams, team
from tests.integration.test_lifecycle_support import crew, route


@pytest.fixture
def scenario(services: Services, clock: ManualClock) -> Services:
    """a: resolved by t1; b: missed by t2 twice over two passes, escalated; c: waits."""
    seed_teams(services, [team("t1", 30.60, 114.30, capacity=1), team("t2", 30.70, 114.30, 1)])
    now = clock.now()
    route(services, [incident(1, 30.60, 114.30, now), incident(2, 30.70, 114.30, now)])
    route(services, [incident(3, 30.65, 114.30, now)])  # nobody has room: it waits
    clock.advance(minutes=2)
    tasks.acknowledge(services, "inc-00001", crew("t1"))
    clock.advance(minutes=10)
    tasks.mark_on_scene(services, "inc-00001", crew("t1"))
    run_watchdog(services)  # t2 missed inc-00002; inc-00003 waited 12 min: escalated
    clock.advance(minutes=30)
    tasks.resolve(services, "inc-00001", crew("t1"))
    return services


def test_incident_view_shows_state_team_clocks_timeline_and_why(scenario: Services) -> None:
    with scenario.reads() as session:
        view = board.incident_view(session, "inc-00001")
        with pytest.raises(NotFound):
            board.incident_view(session, "inc-none")
    assert (view.state, view.team_id, view.escalated) == ("resolved", "t1", False)
    assert [(c.kind, c.state) for c in view.clocks] == [
        ("acknowledge", "met"),
        ("arrive", "met"),
        ("resolve", "met"),
    ]
    assert view.timeline[0].type == "incident.reported"
    assert view.explanation  # the routing explanation of its team
    assert view.model_dump(mode="json")["reported_at"].startswith("2026-07-01")


def test_lists_filter_by_state_region_and_breach(scenario: Services) -> None:
    with scenario.reads() as session:
        everything = board.list_incidents(session)
        queued = board.list_incidents(session, state="queued")
        breached = board.list_incidents(session, breached=True)
        clean = board.list_incidents(session, breached=False)
        elsewhere = board.list_incidents(session, region="enshi")
        page = board.list_incidents(session, limit=1, offset=1)
    assert len(everything) == 3 and all(v.timeline == [] for v in everything)
    assert {v.id for v in queued} == {"inc-00002", "inc-00003"}
    assert [v.id for v in breached] == ["inc-00002"]
    assert {v.id for v in clean} == {"inc-00001", "inc-00003"}
    assert elsewhere == [] and len(page) == 1


def test_team_tasks_queue_and_summary(scenario: Services, clock: ManualClock) -> None:
    with scenario.reads() as session:
        assert board.team_tasks(session, "t1") == []  # resolved: no longer open
        queue = waiting_queue(session, clock.now(), scenario.settings.routing)
        summary = board.sla_summary(session, clock.now())
    assert [q["id"] for q in queue] == ["inc-00002", "inc-00003"]
    assert queue[0]["excluded_teams"] == ["t2"]
    assert queue[1]["escalated"] and queue[1]["waiting_min"] == 42
    assert summary["clocks"]["acknowledge"]["met"] == 1
    assert summary["clocks"]["acknowledge"]["breached"] == 1
    assert summary["waiting"] == 2 and summary["escalated_open"] == 1
    assert 0 < summary["compliance"] < 1


def test_the_report_counts_every_call_and_draws_its_chart(
    scenario: Services, clock: ManualClock, tmp_path: Path
) -> None:
    with scenario.reads() as session:
        report = build_report(session, clock.now())
    totals = report.totals
    assert (totals["received"], totals["answered"], totals["unanswered"]) == (3, 1, 2)
    assert totals["missed"] == 1 and totals["escalations"] == 1
    assert totals["ack_min_median"] == 2.0 and totals["arrive_min_median"] == 12.0
    teams = {t["name"]: t for t in report.teams}
    assert (teams["t1"]["received"], teams["t1"]["answered"]) == (1, 1)
    assert (teams["t2"]["received"], teams["t2"]["answered"], teams["t2"]["missed"]) == (1, 0, 1)
    assert [r["name"] for r in report.regions] == ["wuhan"]
    chart = tmp_path / "sla.png"
    draw_chart(report, chart)
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and chart.stat().st_size > 10_000
