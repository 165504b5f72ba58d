"""A choice by hand, without a database: routing's pool measures every team for the incident,
the candidates rank the eligible nearest first, a refused choice says why in both languages,
and the explanation keeps the chosen team even beyond the short list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from models.incident import AreaClass, IncidentKind
from models.reassignment import (
    TeamCannotGoNow,
    TeamFacts,
    TeamUnfit,
    check_choice,
    hand_explanation,
    rank_candidates,
)
from models.routing import Assessed, Fix, TeamPool, TeamState, Unfit
from models.team import Skill

NOW = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)
HERE = (30.60, 114.30)
REPAIR = frozenset({Skill.REPAIR})


def state(team_id: str, north_deg: float, **changes: object) -> TeamState:
    fields: dict[str, object] = {
        "team_id": team_id,
        "latitude": HERE[0] + north_deg,
        "longitude": HERE[1],
        "skills": REPAIR,
        "capacity": 2,
        **changes,
    }
    return TeamState(**fields)  # type: ignore[arg-type]


TEAMS = [
    state("far", 0.20),
    state("near", 0.02),
    state("away", 0.01, available=False),
    state("full", 0.005, load=2),
    state("relief", 0.0, skills=frozenset({Skill.DISASTER_RELIEF})),
    # based far away, but its fresh fix is beside the incident
    state("moved", 0.50, fix=Fix(HERE[0] + 0.03, HERE[1], NOW - timedelta(minutes=1))),
]


def measured() -> list[Assessed]:
    return TeamPool(TEAMS, NOW).assess(*HERE, IncidentKind.REPAIR, AreaClass.URBAN)


def facts() -> dict[str, TeamFacts]:
    status = {True: "available", False: "off_duty"}
    return {
        t.team_id: TeamFacts(f"Team {t.team_id}", "wuhan", status[t.available], t.load, t.capacity)
        for t in TEAMS
    }


def test_the_pool_measures_every_team_eligible_nearest_first_then_the_others() -> None:
    found = measured()
    assert [(a.team_id, a.unfit) for a in found] == [
        ("near", None),
        ("moved", None),
        ("far", None),
        ("relief", Unfit.LACKS_SKILL),
        ("full", Unfit.FULL),
        ("away", Unfit.UNAVAILABLE),
    ]
    moved = next(a for a in found if a.team_id == "moved")
    assert moved.position == "fix" and moved.distance_km == pytest.approx(3.33, abs=0.02)
    assert all(a.eta_min > a.distance_km for a in found if a.distance_km > 0)  # urban < 60 km/h
    assert TeamPool([], NOW).assess(*HERE, IncidentKind.REPAIR, AreaClass.URBAN) == []


def test_the_team_with_the_incident_is_no_candidate_and_the_ranks_close_up() -> None:
    ranked = rank_candidates(measured(), facts(), Skill.REPAIR, "near", {"far": "declined: flood"})
    assert [(c.team_id, c.rank) for c in ranked if c.eligible] == [("moved", 1), ("far", 2)]
    near = next(c for c in ranked if c.team_id == "near")
    assert (near.problem, near.why_not) == ("current_team", "正承担此工单 has the incident now")
    assert ranked[2].team_id == "near"  # first of the ineligible: the nearest of them
    far = next(c for c in ranked if c.team_id == "far")
    assert far.eligible and far.excluded == "declined: flood"
    relief = next(c for c in ranked if c.team_id == "relief")
    assert not relief.has_skill and relief.why_not == "不具备所需技能 repair lacks the skill repair"


@pytest.mark.parametrize(
    ("team_id", "refused", "words"),
    [
        ("near", TeamCannotGoNow, "正承担此工单"),
        ("full", TeamCannotGoNow, "full (2/2 tasks)"),
        ("away", TeamCannotGoNow, "not available (off_duty)"),
        ("relief", TeamUnfit, "lacks the skill repair"),
        ("ghost", TeamUnfit, "no such team"),
    ],
)
def test_a_refused_choice_says_why_in_chinese_and_english(
    team_id: str, refused: type[Exception], words: str
) -> None:
    ranked = rank_candidates(measured(), facts(), Skill.REPAIR, "near", {})
    with pytest.raises(refused) as error:
        check_choice(team_id, ranked)
    message = str(error.value)
    assert message.startswith(f"不能改派给队伍 {team_id}：")
    assert f"cannot reassign to team {team_id}: " in message and words in message
    assert check_choice("far", ranked).team_id == "far"


def test_the_explanation_names_the_person_and_keeps_the_chosen_team_beyond_the_list() -> None:
    ranked = rank_candidates(measured(), facts(), Skill.REPAIR, None, {})
    chosen = check_choice("far", ranked)
    decision, *listed = hand_explanation(
        chosen, ranked, actor="user:zhang.wei", reason="认识路", from_team_id="near", listed=1
    )
    assert decision["decision"] == decision["selected_by"] == "by_hand"
    assert decision["reason"] == "人工改派 chosen by hand by user:zhang.wei: 认识路"
    assert (decision["by"], decision["from_team_id"]) == ("user:zhang.wei", "near")
    assert [(e["team_id"], e["rank"], e["chosen"]) for e in listed] == [
        ("near", 1, False),
        ("far", 3, True),
    ]
