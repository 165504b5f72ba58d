"""The duty roster and storm mode on every database backend: shifts stored from an event that
names who imported them, off-duty teams passed over (and counted) by routing, a task kept
when its team's shift ends, storm mode's reserves, capacity and note in every decision there,
and a replay of it all equal to the live tables."""

from __future__ import annotations

import json
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import select

from dispatch.adapters.orm import AssignmentRow, DutyShiftRow, IncidentRow, StormModeRow
from dispatch.service_layer import tasks
from dispatch.service_layer.access import Caller, Role
from dispatch.service_layer.roster import (
    RosterFileError,
    duty_board,
    export_roster,
    import_shifts,
    read_roster,
)
from dispatch.service_layer.routing import handle_incident_records, route_queue
from dispatch.service_layer.services import Services
from dispatch.service_layer.storm import declare_storm_mode, end_storm_mode, storm_status
from dispatch.service_layer.watchdog import run_watchdog
from events.log import LoggedEvent
from models.clock import ManualClock
from models.errors import Forbidden, InvalidTransition, NotFound
from models.roster import Shift
from models.team import Team
from tests.integration.spine_helpers import incident, seed_teams
from tests.integration.test_replay_scenario import replay_live
from tests.integration.test_routing_service import as_record

ZHANG = Caller(Role.DISPATCHER, name="dispatcher:zhang")
AUDITOR = Caller(Role.AUDITOR, name="auditor:li")


def team(team_id: str, lon: float, region: str = "jingzhou", **extra: object) -> Team:
    return Team.model_validate(
        {
            "id": team_id,
            "name": f"Team {team_id}",
            "region": region,
            "home": {"latitude": 30.33, "longitude": lon},
            "members": 5,
            "party_members": 4,
            "capacity": 1,
            **extra,
        }
    )


def route(services: Services, first: int, count: int = 1, lon: float = 112.24) -> None:
    now = services.clock.now()
    records = [
        as_record(
            services, incident(n, 30.33, lon, now).model_copy(update={"region": "jingzhou"}), n
        )
        for n in range(first, first + count)
    ]
    handle_incident_records(services, records)


def explanation_of(services: Services, incident_id: str) -> dict[str, object]:
    with services.reads() as session:
        row = session.scalars(
            select(AssignmentRow).where(AssignmentRow.incident_id == incident_id)
        ).one()
        return dict(row.explanation[0]) | {"team_id": row.team_id}


def logged(services: Services, prefix: str) -> list[dict[str, object]]:
    with services.reads() as session:
        rows = session.execute(
            select(LoggedEvent.type, LoggedEvent.envelope)
            .where(LoggedEvent.type.like(f"{prefix}%"))
            .order_by(LoggedEvent.seq)
        ).all()
    return [{"type": t, **json.loads(e)["payload"]} for t, e in rows]


@pytest.fixture
def two_teams(services: Services) -> Services:
    seed_teams(services, [team("near", 112.25), team("far", 112.40)])
    return services


def test_imported_shifts_are_stored_from_an_event_naming_who_imported_them(
    two_teams: Services,
) -> None:
    services, now = two_teams, two_teams.clock.now()
    shifts = [Shift("near", now + timedelta(hours=1), now + timedelta(hours=9))]
    assert import_shifts(services, ZHANG, shifts, source="roster.csv") == 1
    (event,) = logged(services, "roster.")
    assert (event["type"], event["actor"], event["source"]) == (
        "roster.shifts_imported",
        "dispatcher:zhang",
        "roster.csv",
    )
    with services.reads() as session:
        stored = session.scalars(select(DutyShiftRow)).one()
        assert (stored.team_id, stored.starts_at, stored.ends_at) == (
            "near",
            shifts[0].starts_at,
            shifts[0].ends_at,
        )
        board = {t.team_id: t for t in duty_board(session, now).teams}
        csv_text = export_roster(session, "csv", now)
    assert not board["near"].on_duty and board["near"].next is not None
    assert board["far"].on_duty and not board["far"].rostered  # no roster: always on duty
    assert read_roster(csv_text, "out.csv") == shifts


def test_an_import_again_changes_the_end_of_a_shift_already_there(two_teams: Services) -> None:
    now = two_teams.clock.now()
    import_shifts(two_teams, ZHANG, [Shift("near", now, now + timedelta(hours=4))])
    import_shifts(two_teams, ZHANG, [Shift("near", now, now + timedelta(hours=8))])
    with two_teams.reads() as session:
        (only,) = session.scalars(select(DutyShiftRow)).all()
        assert only.ends_at == now + timedelta(hours=8)


def test_bad_imports_are_refused_and_change_nothing(two_teams: Services) -> None:
    now = two_teams.clock.now()
    with pytest.raises(NotFound, match="ghost"):
        import_shifts(two_teams, ZHANG, [Shift("ghost", now, now + timedelta(hours=1))])
    with pytest.raises(RosterFileError, match="ends before it starts"):
        import_shifts(two_teams, ZHANG, [Shift("near", now, now)])
    with pytest.raises(Forbidden):
        import_shifts(two_teams, AUDITOR, [Shift("near", now, now + timedelta(hours=1))])
    assert logged(two_teams, "roster.") == []


def test_an_off_duty_team_is_passed_over_and_the_pass_counts_it(two_teams: Services) -> None:
    services, now = two_teams, two_teams.clock.now()
    import_shifts(
        services, ZHANG, [Shift("near", now + timedelta(hours=2), now + timedelta(hours=10))]
    )
    outcome = handle_incident_records(
        services,
        [
            as_record(
                services,
                incident(1, 30.33, 112.24, now).model_copy(update={"region": "jingzhou"}),
                0,
            )
        ],
    )
    assert outcome.off_duty_passed_over == 1 and outcome.summary()["off_duty_passed_over"] == 1
    decision = explanation_of(services, "inc-00001")
    assert decision["team_id"] == "far"
    assert decision["passed_over"] == [
        {"team_id": "near", "rule": "off_duty", "distance_km": pytest.approx(0.96, abs=0.05)}
    ]


def test_a_shift_ending_mid_task_does_not_withdraw_the_task(
    two_teams: Services, clock: ManualClock
) -> None:
    services, now = two_teams, two_teams.clock.now()
    import_shifts(
        services, ZHANG, [Shift("near", now - timedelta(hours=1), now + timedelta(minutes=5))]
    )
    route(services, 1)
    assert explanation_of(services, "inc-00001")["team_id"] == "near"
    tasks.acknowledge(services, "inc-00001", Caller(Role.TEAM, team_id="near"))
    clock.advance(minutes=30)  # the shift is over, the task is not
    run_watchdog(services)
    with services.sessions.begin() as session:
        route_queue(session, services, clock.now())
    with services.reads() as session:
        row = session.get(IncidentRow, "inc-00001")
        assert row is not None and (row.team_id, row.state) == ("near", "acknowledged")
    route(services, 2)  # a new call: the near team is off duty now
    assert explanation_of(services, "inc-00002")["team_id"] == "far"


def test_storm_mode_calls_up_reserves_applies_its_capacity_and_says_so(
    services: Services,
) -> None:
    seed_teams(
        services,
        [
            team("duty", 112.40),
            team("reserve", 112.25, reserve=True),
            team("elsewhere", 114.3, "wuhan"),
        ],
    )
    route(services, 1)
    calm = explanation_of(services, "inc-00001")
    assert calm["team_id"] == "duty" and "storm_mode" not in calm
    assert calm["passed_over"] == [
        {
            "team_id": "reserve",
            "rule": "reserve_standby",
            "distance_km": pytest.approx(0.96, abs=0.05),
        }
    ]
    view = declare_storm_mode(services, ZHANG, "jingzhou", "暴雨红色预警")
    assert view.active and view.reserves == ["reserve"] and view.declared_by == "dispatcher:zhang"
    route(services, 2, count=6)  # capacity 1 each; the storm's 5 per team holds them all
    with services.reads() as session:
        sent = dict(session.execute(select(AssignmentRow.incident_id, AssignmentRow.team_id)).all())
    assert sorted(sent.values()).count("reserve") == 5  # the reserve, nearest, to its capacity
    decision = explanation_of(services, "inc-00002")
    assert decision["team_id"] == "reserve"
    assert decision["storm_mode"] == {
        "division": "jingzhou",
        "capacity_per_team": 5,
        "rest_rotation": False,
        "reserves_join": True,
    }
    ended = end_storm_mode(services, ZHANG, "jingzhou", "lifted")
    assert not ended.active and ended.ended_by == "dispatcher:zhang"
    events = [(e["type"], e.get("team_id"), e["actor"]) for e in logged(services, "reserve.")]
    assert events == [
        ("reserve.activated", "reserve", "dispatcher:zhang"),
        ("reserve.released", "reserve", "dispatcher:zhang"),
    ]
    (declared,) = logged(services, "storm.declared")
    assert (declared["division"], declared["source"], declared["reason"]) == (
        "jingzhou",
        "dispatcher",
        "暴雨红色预警",
    )
    assert declared["policy"]["capacity_per_team"] == 5  # type: ignore[index]


def test_storm_mode_refuses_twice_unknown_divisions_and_auditors(services: Services) -> None:
    seed_teams(services, [team("duty", 112.40)])
    declare_storm_mode(services, ZHANG, "jingzhou", "red warning")
    with pytest.raises(InvalidTransition):
        declare_storm_mode(services, ZHANG, "jingzhou", "again")
    with pytest.raises(NotFound):
        declare_storm_mode(services, ZHANG, "atlantis", "no teams there")
    with pytest.raises(Forbidden):
        end_storm_mode(services, AUDITOR, "jingzhou")
    end_storm_mode(services, ZHANG, "jingzhou")
    with pytest.raises(InvalidTransition):
        end_storm_mode(services, ZHANG, "jingzhou")
    with services.reads() as session:
        assert [v.active for v in storm_status(session)] == [False]
        assert session.get(StormModeRow, "jingzhou") is not None


def test_a_replay_equals_the_live_tables_after_roster_and_storm(services: Services) -> None:
    seed_teams(services, [team("duty", 112.40), team("reserve", 112.25, reserve=True)])
    now = services.clock.now()
    import_shifts(
        services, ZHANG, [Shift("duty", now - timedelta(hours=1), now + timedelta(hours=8))]
    )
    declare_storm_mode(services, ZHANG, "jingzhou", "red warning")
    route(services, 1, count=2)
    end_storm_mode(services, ZHANG, "jingzhou", "over")
    declare_storm_mode(services, ZHANG, "jingzhou", "again")
    result = replay_live(services)
    assert result.compared and not result.board.unprojected
    assert result.differences == [], result.differences[:5]


def test_two_declarations_at_once_make_one_storm_and_a_clear_refusal(services: Services) -> None:
    """The first declaration in a division finds no row to lock: without a lock of its own,
    two at once both decided, and the later one failed on its insert (a 500) or logged a
    second storm.declared."""
    divisions = [f"d{n}" for n in range(6)]
    seed_teams(services, [team(f"t-{d}", 112.40, region=d) for d in divisions])
    attempts = [d for d in divisions for _ in range(4)]
    start = threading.Barrier(len(attempts))

    def declare(division: str) -> str:
        start.wait()
        try:
            declare_storm_mode(services, ZHANG, division, "rainstorm")
        except InvalidTransition:
            return "refused"
        return "declared"

    with ThreadPoolExecutor(len(attempts)) as pool:
        outcomes = list(pool.map(declare, attempts))

    assert Counter(outcomes) == {"declared": len(divisions), "refused": 3 * len(divisions)}
    with services.reads() as session:
        declared = session.scalars(
            select(LoggedEvent.type).where(LoggedEvent.type == "storm.declared")
        ).all()
    assert len(declared) == len(divisions)
