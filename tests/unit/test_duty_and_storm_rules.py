"""The roster's and storm mode's rules as a routing pass applies them: off-duty teams and
reserve squads outside storm mode are passed over and named; storm mode's policy changes
capacity and rest; the roster files and the storm policy file read as they are written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from models.grid import cell_of
from models.incident import Incident, IncidentKind
from models.roster import (
    RosterError,
    Shift,
    is_on_duty,
    off_duty,
    read_csv,
    read_ics,
    write_csv,
    write_ics,
)
from models.routing import Request, TeamPool, TeamState, Unfit
from models.storm import DutyConditions
from models.storm_policy import AlertAction, StormPolicy, load_storm_policy
from models.team import Skill

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 7, 1, 8, tzinfo=UTC)
ALL = frozenset(Skill)


def incident(lat: float = 30.50, lon: float = 114.50) -> Incident:
    return Incident(
        id="inc-1", kind=IncidentKind.REPAIR, latitude=lat, longitude=lon, reported_at=NOW
    )


def team(team_id: str, lon: float, **extra: object) -> TeamState:
    return TeamState(team_id, 30.50, lon, ALL, capacity=2, **extra)  # type: ignore[arg-type]


def test_an_off_duty_team_is_passed_over_and_named_in_the_explanation() -> None:
    conditions = DutyConditions(off_duty=frozenset({"near"}))
    states = [conditions.apply(team("near", 114.51), "wuhan", False), team("far", 114.60)]
    choice = TeamPool(states, NOW).choose(Request(incident()))
    assert choice is not None and choice.team_id == "far"
    assert [(p.team_id, p.rule) for p in choice.passed_over] == [("near", Unfit.OFF_DUTY)]
    assert choice.off_duty_passed_over == 1
    decision = choice.explanation()[0]
    assert decision["passed_over"] == [
        {"team_id": "near", "rule": "off_duty", "distance_km": pytest.approx(0.96, abs=0.01)}
    ]
    assert "passed over near (off_duty" in str(decision["reason"])


def test_a_withheld_team_farther_than_the_chosen_one_is_not_named() -> None:
    conditions = DutyConditions(off_duty=frozenset({"far"}))
    states = [team("near", 114.51), conditions.apply(team("far", 114.60), "wuhan", False)]
    choice = TeamPool(states, NOW).choose(Request(incident()))
    assert choice is not None and choice.team_id == "near"
    assert choice.passed_over == () and "passed_over" not in choice.explanation()[0]


def test_nobody_on_duty_means_the_incident_waits() -> None:
    conditions = DutyConditions(off_duty=frozenset({"only"}))
    pool = TeamPool([conditions.apply(team("only", 114.51), "wuhan", False)], NOW)
    assert pool.choose(Request(incident())) is None


def test_a_reserve_squad_waits_on_standby_until_storm_mode_in_its_division() -> None:
    calm = DutyConditions()
    assert calm.withheld("r1", "jingzhou", reserve=True) is Unfit.RESERVE
    storm = DutyConditions(storms={"jingzhou": StormPolicy()})
    assert storm.withheld("r1", "jingzhou", reserve=True) is None
    assert storm.withheld("r2", "wuhan", reserve=True) is Unfit.RESERVE  # another division
    no_reserves = DutyConditions(storms={"jingzhou": StormPolicy(reserves_join=False)})
    assert no_reserves.withheld("r1", "jingzhou", reserve=True) is Unfit.RESERVE


def test_an_off_duty_cell_owner_is_explained_as_off_duty_and_the_call_spills_over() -> None:
    held = DutyConditions(off_duty=frozenset({"owner"})).apply(team("owner", 114.50), "w", False)
    owners = {cell_of(30.50, 114.50): "owner"}
    choice = TeamPool([held, team("next", 114.60)], NOW, owners=owners).choose(Request(incident()))
    assert choice is not None and (choice.team_id, choice.rule.value) == ("next", "spill_over")
    assert choice.owner_status == "is off duty (off_duty)"
    assert choice.explanation()[0]["owner_status"] == "is off duty (off_duty)"


def test_a_reserve_squad_on_standby_nearer_than_the_chosen_team_is_named_so() -> None:
    held = DutyConditions().apply(team("reserve", 114.50), "wuhan", reserve=True)
    choice = TeamPool([held, team("duty", 114.70)], NOW).choose(Request(incident()))
    assert choice is not None and choice.team_id == "duty"
    assert [p.rule for p in choice.passed_over] == [Unfit.RESERVE]
    assert choice.off_duty_passed_over == 0


def test_storm_mode_sets_the_policy_capacity_and_turns_rest_rotation_off() -> None:
    storm = DutyConditions(storms={"jingzhou": StormPolicy(capacity_per_team=7)})
    rested = team("t", 114.5, last_finished_at=NOW - timedelta(minutes=1))
    inside = storm.apply(rested, "jingzhou", False)
    assert (inside.capacity, inside.last_finished_at, inside.withheld) == (7, None, None)
    assert storm.apply(rested, "wuhan", False) is rested  # elsewhere: unchanged
    assert storm.storm_note("jingzhou") == {
        "division": "jingzhou",
        "capacity_per_team": 7,
        "rest_rotation": False,
        "reserves_join": True,
    }
    assert storm.storm_note("wuhan") is None


def test_a_storm_policy_that_keeps_rest_and_capacity_leaves_them() -> None:
    keeps = DutyConditions(storms={"x": StormPolicy(capacity_per_team=None, rest_rotation=True)})
    rested = team("t", 114.5, last_finished_at=NOW)
    kept = keeps.apply(rested, "x", False)
    assert (kept.capacity, kept.last_finished_at) == (2, NOW)


def test_a_team_without_shifts_is_always_on_duty_and_a_shift_is_half_open() -> None:
    shift = Shift("a", NOW, NOW + timedelta(hours=8))
    assert is_on_duty([], NOW)
    assert is_on_duty([shift], NOW) and not is_on_duty([shift], shift.ends_at)
    assert off_duty({"a": [shift], "b": []}, shift.ends_at) == {"a"}


def test_the_roster_reads_back_what_it_writes_as_csv_and_icalendar() -> None:
    shifts = [Shift("a", NOW, NOW + timedelta(hours=8)), Shift("b", NOW, NOW + timedelta(hours=1))]
    assert read_csv(write_csv(shifts)) == shifts
    assert read_ics(write_ics(shifts, NOW)) == shifts


def test_a_roster_time_without_its_offset_or_ending_first_is_refused_with_its_line() -> None:
    with pytest.raises(RosterError, match="line 2: the time needs its offset"):
        read_csv("team_id,starts_at,ends_at\na,2026-07-01T08:00,2026-07-01T16:00+08:00\n")
    with pytest.raises(RosterError, match="line 2: the shift ends before it starts"):
        read_csv("team_id,starts_at,ends_at\na,2026-07-01T16:00+08:00,2026-07-01T08:00+08:00\n")


def test_the_storm_policy_file_declares_on_red_and_proposes_on_orange() -> None:
    policy = load_storm_policy((ROOT / "config" / "storm.toml").read_text(encoding="utf-8"))
    assert policy.action_for("Severe", "暴雨红色预警") is AlertAction.DECLARE
    assert policy.action_for("Severe", "暴雨橙色预警") is AlertAction.PROPOSE
    assert policy.action_for("Extreme", "anything") is AlertAction.DECLARE
    assert policy.action_for("Minor", "暴雨蓝色预警") is AlertAction.IGNORE
    assert (policy.reserves_join, policy.rest_rotation, policy.capacity_per_team) == (
        True,
        False,
        5,
    )
