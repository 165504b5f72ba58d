"""The board's first read (GET /board/open) on both databases: every open incident with its
open clocks, the merged reports of open storm groups, nothing closed, and the log's head."""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

import pytest
from fastapi.testclient import TestClient

from dispatch.entrypoints.api.app import create_app
from dispatch.service_layer import incidents, tasks
from dispatch.service_layer.access import Role
from dispatch.service_layer.services import Services
from dispatch.service_layer.tokens import create_token
from dispatch.views.log_tail import last_seq
from dispatch.views.open_board import CLOCK_FIELDS, INCIDENT_FIELDS, open_board
from models.clock import ManualClock
from tests.integration.spine_helpers import incident, seed_teams, team
from tests.integration.test_lifecycle_support import DESK, crew, route

HERE, CLOSE = (30.6000, 114.3000), (30.6010, 114.3000)  # 111 m apart: one storm group


@pytest.fixture
def board_scenario(services: Services, clock: ManualClock) -> Services:
    """1 acknowledged with a duplicate (7) merged into it and one (8) merged, then cancelled;
    2 assigned; 3 waits for a team; 4 resolved; 5 cancelled; 6 merged into 5 (closed, so its
    group is not drawn)."""
    services.settings.storm_radius_m = 200.0
    seed_teams(services, [team("t1", 30.60, 114.30, capacity=3), team("t2", 30.90, 114.6, 1)])
    now = clock.now()
    route(services, [incident(1, *HERE, now), incident(2, 30.90, 114.60, now)])
    clock.advance(minutes=1)
    route(services, [incident(7, *CLOSE, clock.now())])  # merged into 1
    route(services, [incident(8, *CLOSE, clock.now())])  # merged into 1, cancelled below
    route(services, [incident(4, 30.40, 114.00, clock.now(), kind="outage")])
    route(services, [incident(5, 30.20, 114.00, clock.now(), kind="equipment_check")])
    route(services, [incident(6, 30.2005, 114.00, clock.now(), kind="equipment_check")])
    route(services, [incident(3, 30.91, 114.61, clock.now(), kind="outage")])  # both full
    tasks.acknowledge(services, "inc-00001", crew("t1"))
    for step in (tasks.acknowledge, tasks.mark_on_scene, tasks.resolve):
        step(services, "inc-00004", crew("t1"))
    incidents.cancel(services, "inc-00005", DESK, "false alarm")
    incidents.cancel(services, "inc-00008", DESK, "the caller's neighbour, already told")
    return services


def by_id(board: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row[0]: dict(zip(INCIDENT_FIELDS, row, strict=True)) for row in board["incidents"]}


def test_every_open_incident_and_the_duplicates_of_open_groups_nothing_closed(
    board_scenario: Services,
) -> None:
    with board_scenario.reads() as session:
        board = open_board(session)
        head = last_seq(session)

    shown = by_id(board)
    assert board["seq"] == head > 0
    assert list(shown) == ["inc-00001", "inc-00002", "inc-00003", "inc-00007"]  # by report, id
    states = {i: (r["state"], r["team_id"], r["master_id"]) for i, r in shown.items()}
    assert states == {
        "inc-00001": ("acknowledged", "t1", None),
        "inc-00002": ("assigned", "t2", None),
        "inc-00003": ("queued", None, None),
        "inc-00007": ("merged", None, "inc-00001"),
    }
    clocks = {i: sorted(c[0] for c in r["clocks"]) for i, r in shown.items()}
    # acknowledged: its acknowledge clock is closed (met), only arrive runs; a duplicate's
    # clocks are not drawn
    assert clocks == {
        "inc-00001": ["arrive"],
        "inc-00002": ["acknowledge", "arrive"],
        "inc-00003": ["arrive"],
        "inc-00007": [],
    }
    ack = dict(zip(CLOCK_FIELDS, shown["inc-00002"]["clocks"][0], strict=True))  # in kind order
    assert (ack["kind"], ack["attempt"], ack["state"]) == ("acknowledge", 1, "running")
    assert ack["deadline"] > ack["started_at"]


def test_an_empty_board_still_says_where_the_log_is(services: Services) -> None:
    with services.reads() as session:
        board = open_board(session)
    assert board["incidents"] == [] and board["seq"] == 0


def test_the_route_answers_compact_json_readers_only(board_scenario: Services) -> None:
    app = create_app(lambda: nullcontext(board_scenario), run_relay=False)
    with board_scenario.sessions.begin() as session:
        reader = create_token(session, Role.AUDITOR)
        team_token = create_token(session, Role.TEAM, "t1")
    with TestClient(app) as client:
        answer = client.get("/board/open", headers={"Authorization": f"Bearer {reader}"})
        refused = client.get("/board/open", headers={"Authorization": f"Bearer {team_token}"})
        anonymous = client.get("/board/open")

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["incident_fields"] == list(INCIDENT_FIELDS)
    first = dict(zip(INCIDENT_FIELDS, body["incidents"][0], strict=True))
    assert first["id"] == "inc-00001" and first["reported_at"].endswith("Z")
    assert (refused.status_code, anonymous.status_code) == (403, 401)
