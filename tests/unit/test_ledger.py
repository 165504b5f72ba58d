"""The work ledger's fold and arithmetic, from events alone: outcomes (a declined and a withdrawn
task stay on the team that had them), Asia/Shanghai months, minutes and the team summary."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dispatch.views.ledger import (
    SHANGHAI,
    Incidents,
    Month,
    Outcome,
    build_ledger,
    fold_tasks,
    tasks_in,
)

T0 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai


def at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


def assigned(incident: str, team: str, minutes: float = 0) -> tuple[str, dict[str, Any]]:
    return "team.assigned", {"incident_id": incident, "team_id": team, "assigned_at": at(minutes)}


def step(kind: str, incident: str, team: str, minutes: float, **extra: Any) -> tuple[str, Any]:
    field = {
        "task.acknowledged": "acknowledged_at",
        "task.arrived": "arrived_at",
        "task.resolved": "resolved_at",
        "task.declined": "declined_at",
    }[kind]
    return kind, {"incident_id": incident, "team_id": team, field: at(minutes), **extra}


def withdrawn(incident: str, team: str, minutes: float) -> tuple[str, dict[str, Any]]:
    payload = {
        "incident_id": incident,
        "from_team_id": team,
        "reason": "no acknowledgement within 5 min",
        "misses": 1,
        "withdrawn_at": at(minutes),
    }
    return "task.reassigned", payload


LIFE = [
    # inc-1: team A resolves it
    assigned("inc-1", "A"),
    step("task.acknowledged", "inc-1", "A", 2),
    step("task.arrived", "inc-1", "A", 30),
    step("task.resolved", "inc-1", "A", 90),
    # inc-2: team A declines it after acknowledging, team B takes it and is still on it
    assigned("inc-2", "A", 5),
    step("task.acknowledged", "inc-2", "A", 6),
    step("task.declined", "inc-2", "A", 8, reason="车辆故障 vehicle broke down"),
    assigned("inc-2", "B", 9),
    step("task.acknowledged", "inc-2", "B", 10),
    # inc-3: team B never answers, it is withdrawn; then cancelled while A holds it
    assigned("inc-3", "B", 20),
    withdrawn("inc-3", "B", 25),
    assigned("inc-3", "A", 26),
    ("incident.cancelled", {"incident_id": "inc-3", "released_team_id": "A",
                            "reason": "误报 false alarm", "cancelled_at": at(40)}),
]  # fmt: skip


def test_each_assignment_is_a_task_with_its_own_outcome() -> None:
    tasks = fold_tasks(LIFE)

    found = [(t.incident_id, t.team_id, t.outcome, t.reason) for t in tasks]
    assert found == [
        ("inc-1", "A", Outcome.RESOLVED, ""),
        ("inc-2", "A", Outcome.DECLINED, "车辆故障 vehicle broke down"),
        ("inc-2", "B", Outcome.OPEN, ""),
        ("inc-3", "B", Outcome.WITHDRAWN, "no acknowledgement within 5 min"),
        ("inc-3", "A", Outcome.CANCELLED, "误报 false alarm"),
    ]
    declined = tasks[1]
    assert declined.acknowledged_at == T0 + timedelta(minutes=6)
    assert declined.ended_at == T0 + timedelta(minutes=8)


def test_a_task_handed_to_another_team_by_hand_ends_as_reassigned_on_the_first() -> None:
    reason = "B 队更近 B is closer"
    by_hand = {"incident_id": "inc-1", "from_team_id": "A", "to_team_id": "B", "reason": reason}
    moved = ("incident.reassigned", by_hand | {"reassigned_at": at(3)})
    tasks = fold_tasks([*LIFE[:2], moved, assigned("inc-1", "B", 3)])

    first, second = tasks
    assert (first.team_id, first.outcome, first.reason) == ("A", Outcome.REASSIGNED, reason)
    assert first.acknowledged_at is not None and first.ended_at == T0 + timedelta(minutes=3)
    assert (second.team_id, second.outcome) == ("B", Outcome.OPEN)


def test_an_event_of_a_task_begun_before_the_read_changes_nothing() -> None:
    tasks = fold_tasks([step("task.acknowledged", "old", "A", 1), *LIFE[:2]])
    assert [(t.incident_id, t.acknowledged_at) for t in tasks] == [
        ("inc-1", T0 + timedelta(minutes=2))
    ]


def test_a_step_of_another_team_does_not_touch_the_holders_task() -> None:
    tasks = fold_tasks([assigned("inc-9", "A"), step("task.acknowledged", "inc-9", "B", 1)])
    assert tasks[0].acknowledged_at is None


def test_months_begin_at_midnight_in_shanghai() -> None:
    december = Month.parse("2026-12")
    assert december.start == datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
    assert december.end == datetime(2026, 12, 31, 16, 0, tzinfo=UTC)
    assert Month.parse("2026-01").start == datetime(2025, 12, 31, 16, 0, tzinfo=UTC)
    assert str(Month.of(datetime(2026, 11, 30, 16, 0, tzinfo=UTC))) == "2026-12"
    assert str(Month.of(datetime(2026, 11, 30, 15, 59, 59, tzinfo=UTC))) == "2026-11"


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "26-12", "2026-1", "0000-01", "2026-12x"])
def test_a_month_not_of_the_form_yyyy_mm_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="YYYY-MM"):
        Month.parse(text)


def test_a_task_belongs_to_the_month_of_its_assignment_in_shanghai() -> None:
    # T0 is 09:00 on 1 December in Shanghai: 570 minutes before is 23:30 on 30 November
    late_november, early_december = assigned("n", "A", -570), assigned("d", "A", -530)
    tasks = fold_tasks([late_november, early_december])

    assert [t.incident_id for t in tasks_in(tasks, Month(2026, 12))] == ["d"]
    assert [t.incident_id for t in tasks_in(tasks, Month(2026, 11))] == ["n"]
    assert tasks_in(tasks, Month(2026, 12), "B") == []


def known(clocks: dict[tuple[str, str], list[tuple[str, datetime, str, datetime]]]) -> Incidents:
    facts = {i: ("repair", "normal", "wuhan", f"{i} Road") for i in ("inc-1", "inc-2", "inc-3")}
    return Incidents(facts, clocks, {"A": "Team A", "B": "Team B"})


def test_rows_carry_shanghai_times_minutes_and_the_teams_own_verdicts() -> None:
    far = T0 + timedelta(days=1)
    clocks = {
        ("inc-1", "A"): [
            ("acknowledge", T0, "met", T0 + timedelta(minutes=5)),
            ("arrive", T0, "met", far),
            ("resolve", T0 + timedelta(minutes=30), "breached", T0 + timedelta(minutes=60)),
        ],
        ("inc-2", "A"): [("acknowledge", T0 + timedelta(minutes=5), "met", far)],
        ("inc-2", "B"): [("acknowledge", T0 + timedelta(minutes=9), "met", far)],
        # withdrawn: its acknowledge clock breached; a running one past its deadline too
        ("inc-3", "B"): [("acknowledge", T0 + timedelta(minutes=20), "breached", far)],
        ("inc-3", "A"): [("acknowledge", T0 + timedelta(minutes=26), "running", T0)],
    }
    now = T0 + timedelta(hours=2)
    ledger = build_ledger(fold_tasks(LIFE), known(clocks), Month(2026, 12), None, now)

    first = ledger.rows[0]
    assert first.assigned_at == datetime(2026, 12, 1, 9, 0, tzinfo=SHANGHAI)
    assert first.assigned_at.utcoffset() == timedelta(hours=8)
    assert (first.ack_minutes, first.arrive_minutes, first.resolve_minutes) == (2.0, 30.0, 90.0)
    assert (first.clocks_met, first.clocks_breached, first.sla) == (2, 1, "breached")
    by_task = {(r.incident_id, r.team_id): r for r in ledger.rows}
    assert by_task[("inc-2", "A")].sla == "met"  # acknowledged in time, then declined
    assert by_task[("inc-3", "B")].sla == "breached"
    assert by_task[("inc-3", "A")].sla == "breached"  # running past its deadline at `now`
    assert [r.team_id for r in ledger.rows] == ["A", "A", "A", "B", "B"]  # by team, then time


def test_the_summary_counts_outcomes_compliance_and_mean_minutes_per_team() -> None:
    ledger = build_ledger(fold_tasks(LIFE), known({}), Month(2026, 12), None, T0)

    a, b = ledger.summary
    assert (a.team_id, a.team_name, a.tasks) == ("A", "Team A", 3)
    assert (a.resolved, a.declined, a.cancelled, a.open) == (1, 1, 1, 0)
    assert (b.tasks, b.withdrawn, b.reassigned, b.open) == (2, 1, 0, 1)
    assert a.ack_min_mean == 1.5  # 2 and 1 minutes; the cancelled one never acknowledged
    assert a.sla_compliance is None  # no clock decided


def test_a_team_asked_for_has_a_summary_even_without_a_task() -> None:
    ledger = build_ledger([], known({}), Month(2026, 12), "A", T0)
    assert ledger.rows == []
    assert [(s.team_id, s.tasks, s.sla_compliance) for s in ledger.summary] == [("A", 0, None)]
