"""SLA arithmetic: policy targets, deadlines, warnings, breaches and the clock rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from models.incident import AreaClass, IncidentKind, IncidentState, Priority
from models.lifecycle import Action
from models.sla import (
    ClockKind,
    ClockState,
    SlaClock,
    SlaPolicy,
    compliance,
    effects_of,
    load_policy,
    runs_in,
)

T0 = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)
CONFIG = Path(__file__).resolve().parents[2] / "config" / "sla.toml"
MIN = timedelta(minutes=1)


def target(
    policy: SlaPolicy, clock: ClockKind, area: str, priority: str = "normal", kind: str = "repair"
) -> float:
    return policy.target(clock, area=area, priority=priority, kind=kind) / MIN


@pytest.mark.parametrize("policy", [SlaPolicy(), load_policy(CONFIG)], ids=["built-in", "toml"])
@pytest.mark.parametrize(
    ("area", "arrive", "resolve"),
    [("urban", 45, 180), ("rural", 90, 240), ("remote", 120, 360)],
)
def test_default_targets_are_the_public_ones(
    policy: SlaPolicy, area: str, arrive: int, resolve: int
) -> None:
    assert target(policy, ClockKind.ACKNOWLEDGE, area) == 5
    assert target(policy, ClockKind.ARRIVE, area) == arrive
    assert target(policy, ClockKind.RESOLVE, area) == resolve


@pytest.mark.parametrize(
    ("priority", "kind"),
    [("critical", "repair"), ("normal", "disaster_relief"), ("critical", "disaster_relief")],
)
def test_critical_loads_and_disaster_relief_get_tighter_targets(priority: str, kind: str) -> None:
    policy = load_policy(CONFIG)
    assert target(policy, ClockKind.ACKNOWLEDGE, "urban", priority, kind) == 3
    assert target(policy, ClockKind.ARRIVE, "rural", priority, kind) == 60
    assert target(policy, ClockKind.RESOLVE, "remote", priority, kind) == 240


def test_the_tightest_matching_target_wins(tmp_path: Path) -> None:
    path = tmp_path / "sla.toml"
    path.write_text(
        "acknowledge = 10\n"
        "[priority.hardship]\nacknowledge = 8\narrive = { urban = 40 }\n"
        "[kind.vulnerable_assistance]\nacknowledge = 6\n"
    )
    policy = load_policy(path)
    assert target(policy, ClockKind.ACKNOWLEDGE, "urban", "hardship", "vulnerable_assistance") == 6
    assert target(policy, ClockKind.ACKNOWLEDGE, "urban", "hardship") == 8
    assert target(policy, ClockKind.ARRIVE, "urban", "hardship") == 40
    assert target(policy, ClockKind.ARRIVE, "rural", "hardship") == 90  # not overridden
    assert target(policy, ClockKind.ACKNOWLEDGE, "urban") == 10


@pytest.mark.parametrize(
    "text",
    ["[arrive]\nurban = 45\n", "acknowledge = 0\n", "acknowlege = 5\n", "[kind.picnic]\n"],
    ids=["missing-area", "zero", "typo", "unknown-kind"],
)
def test_a_bad_policy_file_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "sla.toml"
    path.write_text(text)
    with pytest.raises(ValidationError):
        load_policy(path)


def clock(minutes: float = 10, **kw: object) -> SlaClock:
    return SlaClock(ClockKind.ARRIVE, T0, timedelta(minutes=minutes), **kw)  # type: ignore[arg-type]


def test_deadline_warnings_and_breach_follow_the_target() -> None:
    c = clock(10)
    assert c.deadline == T0 + 10 * MIN
    assert c.next_due_at() == T0 + 5 * MIN
    assert c.due(T0 + 4.99 * MIN) == []
    assert [d.fraction for d in c.due(T0 + 5 * MIN)] == [0.5]
    assert [d.fraction for d in c.due(T0 + 8 * MIN)] == [0.5, 0.75]
    warned = c.warn(0.5).warn(0.75)
    assert warned.next_due_at() == T0 + 10 * MIN
    assert warned.due(T0 + 9.99 * MIN) == []
    (breach,) = warned.due(T0 + 10 * MIN)
    assert breach.is_breach
    assert c.due(T0 + 11 * MIN)[0].is_breach  # a late watchdog acts on the breach, not warnings


def test_a_clock_past_its_deadline_shows_as_breached_before_the_watchdog_acts() -> None:
    assert clock(10).state_at(T0 + 9 * MIN) is ClockState.RUNNING
    assert clock(10).state_at(T0 + 10 * MIN) is ClockState.BREACHED


def test_paused_time_is_added_to_the_deadline_and_nothing_is_due_while_paused() -> None:
    paused = clock(10).pause(T0 + 2 * MIN)
    assert paused.state is ClockState.PAUSED
    assert paused.due(T0 + 60 * MIN) == [] and paused.next_due_at() is None
    resumed = paused.resume(T0 + 32 * MIN)
    assert resumed.state is ClockState.RUNNING
    assert resumed.deadline == T0 + 40 * MIN
    assert resumed.warning_at(0.5) == T0 + 35 * MIN
    assert resumed.elapsed_fraction(T0 + 35 * MIN) == pytest.approx(0.5)


def test_a_new_target_counts_from_the_original_start() -> None:
    retargeted = clock(45).retarget(timedelta(minutes=30))
    assert retargeted.deadline == T0 + 30 * MIN
    assert retargeted.due(T0 + 31 * MIN)[0].is_breach


@pytest.mark.parametrize(
    ("closed_after", "verdict", "expected"),
    [
        (9, ClockState.MET, ClockState.MET),
        (10, ClockState.MET, ClockState.MET),
        (11, ClockState.MET, ClockState.BREACHED),
        (11, ClockState.STOPPED, ClockState.STOPPED),
        (3, ClockState.BREACHED, ClockState.BREACHED),
    ],
)
def test_closing_a_clock_gives_the_verdict_the_deadline_allows(
    closed_after: int, verdict: ClockState, expected: ClockState
) -> None:
    closed = clock(10).close(T0 + closed_after * MIN, verdict)
    assert (closed.state, closed.closed_at) == (expected, T0 + closed_after * MIN)
    assert closed.next_due_at() is None and not closed.is_open


def test_a_breach_already_announced_stays_a_breach() -> None:
    breached = clock(10).breach()
    assert breached.is_open and breached.due(T0 + 20 * MIN) == []
    assert breached.close(T0 + 20 * MIN, ClockState.MET).state is ClockState.BREACHED
    assert breached.close(T0 + 20 * MIN, ClockState.STOPPED).state is ClockState.BREACHED


@pytest.mark.parametrize("kind", list(ClockKind))
@pytest.mark.parametrize("state", list(IncidentState))
def test_only_a_merged_incident_pauses_its_clocks(kind: ClockKind, state: IncidentState) -> None:
    assert runs_in(kind, state) is (state is not IncidentState.MERGED)


@pytest.mark.parametrize(
    ("action", "starts", "closes"),
    [
        (Action.ASSIGN, (ClockKind.ACKNOWLEDGE,), {}),
        (Action.ACKNOWLEDGE, (), {ClockKind.ACKNOWLEDGE: ClockState.MET}),
        (Action.DECLINE, (), {ClockKind.ACKNOWLEDGE: ClockState.STOPPED}),
        (Action.WITHDRAW, (), {ClockKind.ACKNOWLEDGE: ClockState.BREACHED}),
        (Action.DEPART, (), {}),
        (Action.ARRIVE, (ClockKind.RESOLVE,), {ClockKind.ARRIVE: ClockState.MET}),
        (Action.RESOLVE, (), {ClockKind.RESOLVE: ClockState.MET}),
        (Action.CANCEL, (), dict.fromkeys(ClockKind, ClockState.STOPPED)),
        (Action.ESCALATE, (), {}),
        (Action.MERGE, (), {}),
    ],
)
def test_each_action_starts_and_closes_the_clocks_it_should(
    action: Action, starts: tuple[ClockKind, ...], closes: dict[ClockKind, ClockState]
) -> None:
    effects = effects_of(action)
    assert (effects.starts, effects.closes) == (starts, closes)


def test_compliance_counts_only_decided_clocks() -> None:
    assert compliance(3, 1) == 0.75
    assert compliance(0, 0) is None


def test_every_area_priority_and_kind_has_a_positive_target() -> None:
    policy = load_policy(CONFIG)
    for area in AreaClass:
        for priority in Priority:
            for kind in IncidentKind:
                for clock_kind in ClockKind:
                    assert policy.target(
                        clock_kind, area=area, priority=priority, kind=kind
                    ) > timedelta(0)
