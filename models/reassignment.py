"""Reassigning an incident by hand: the teams a dispatcher may choose from (the nearest eligible
of the needed skill first, the others saying why not), why a chosen team is refused, and the
explanation its assignment keeps. The teams are measured by routing's pool (models/routing.py).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import NamedTuple

from pydantic import BaseModel, Field

from models.errors import DomainError, NoEligibleTeam
from models.routing import Assessed, Unfit
from models.team import Skill

HAND_RULE = "by_hand"  # the rule of an assignment a dispatcher chose
CURRENT_TEAM = "current_team"  # the problem of the team that has the incident now
ON_SIBLING_TASK = "on_sibling_task"  # it has another task of the same incident (response plans)

# each problem in Chinese and in English; filled from the team's own figures
_WORDS: dict[str, tuple[str, str]] = {
    Unfit.UNAVAILABLE.value: ("当前不可派（{status}）", "not available ({status})"),
    Unfit.FULL.value: ("任务已满（{load}/{capacity}）", "full ({load}/{capacity} tasks)"),
    Unfit.LACKS_SKILL.value: ("不具备所需技能 {skill}", "lacks the skill {skill}"),
    Unfit.OFF_DUTY.value: ("不在值班时段", "off duty by the roster"),
    Unfit.RESERVE.value: (
        "预备队待命（本区未启动防汛应急）",
        "a reserve squad on standby (no storm mode in its division)",
    ),
    CURRENT_TEAM: ("正承担此工单", "has the incident now"),
    ON_SIBLING_TASK: ("已在本事件执行另一任务", "has another task of this incident"),
}


class TeamUnfit(DomainError):
    """The chosen team can never take this incident: no such team, or it lacks the skill (the
    API answers 422)."""


class TeamCannotGoNow(NoEligibleTeam):
    """The chosen team cannot take the incident now: it has it already, it is full, or it is
    not available (the API answers 409)."""


class TeamFacts(NamedTuple):
    """What the registry says of a team, beside what routing measured."""

    name: str
    region: str
    status: str
    load: int
    capacity: int


class TeamCandidate(BaseModel):
    """A team a dispatcher may reassign the incident to, or why not."""

    rank: int | None = Field(description="1 for the eligible team nearest by travel time, …")
    team_id: str
    name: str
    region: str
    status: str = Field(description="available, busy or off_duty")
    distance_km: float = Field(ge=0)
    eta_min: float = Field(ge=0, description="travel time at the policy's speed for the area")
    position: str = Field(description="measured from its fresh fix (fix) or its base (home…)")
    load: int = Field(description="tasks it carries now")
    capacity: int
    skill: str = Field(description="the skill the incident's kind needs")
    has_skill: bool
    eligible: bool
    problem: str | None = Field(
        description="unavailable, full, lacks_skill, off_duty, reserve_standby or "
        "current_team; none when eligible"
    )
    why_not: str = Field(description="the problem in Chinese and English; empty when eligible")
    excluded: str | None = Field(
        default=None,
        description="why routing passes it over for this incident (it declined or missed it); "
        "a choice by hand may still pick it",
    )


def rank_candidates(
    assessed: Sequence[Assessed],
    facts: Mapping[str, TeamFacts],
    skill: Skill,
    current_team: str | None,
    excluded: Mapping[str, str],
    siblings: Collection[str] = (),
) -> list[TeamCandidate]:
    """Routing's measures as candidates: the eligible ranked 1, 2, … by travel time, then the
    others; the team that has the incident now, or another of its tasks (`siblings`), is no
    candidate."""
    problems = [(a, _problem(a, current_team, siblings)) for a in assessed if a.team_id in facts]
    problems.sort(key=lambda pair: pair[1] is not None)  # stable: each part keeps its order
    ranked, rank = [], 0
    for a, problem in problems:
        rank += problem is None
        team = facts[a.team_id]
        ranked.append(
            TeamCandidate(
                rank=rank if problem is None else None,
                team_id=a.team_id,
                name=team.name,
                region=team.region,
                status=team.status,
                distance_km=round(a.distance_km, 3),
                eta_min=round(a.eta_min, 1),
                position=a.position,
                load=team.load,
                capacity=team.capacity,
                skill=skill.value,
                has_skill=a.unfit is not Unfit.LACKS_SKILL,
                eligible=problem is None,
                problem=problem,
                why_not=_why_not(problem, team, skill),
                excluded=excluded.get(a.team_id),
            )
        )
    return ranked


def _problem(assessed: Assessed, current_team: str | None, siblings: Collection[str]) -> str | None:
    if assessed.team_id == current_team:
        return CURRENT_TEAM
    if assessed.team_id in siblings:
        return ON_SIBLING_TASK
    return None if assessed.unfit is None else assessed.unfit.value


def _words(problem: str, status: str, load: int, capacity: int, skill: str) -> tuple[str, str]:
    figures = {"status": status, "load": load, "capacity": capacity, "skill": skill}
    zh, en = _WORDS[problem]
    return zh.format(**figures), en.format(**figures)


def _why_not(problem: str | None, team: TeamFacts, skill: Skill) -> str:
    if problem is None:
        return ""
    zh, en = _words(problem, team.status, team.load, team.capacity, skill.value)
    return f"{zh} {en}"


def check_choice(team_id: str, candidates: Sequence[TeamCandidate]) -> TeamCandidate:
    """The chosen team among the candidates, or why it is refused, in Chinese and English."""
    chosen = next((c for c in candidates if c.team_id == team_id), None)
    if chosen is None:
        no_such = f"不能改派给队伍 {team_id}：没有这支队伍 · cannot reassign to team {team_id}"
        raise TeamUnfit(f"{no_such}: no such team")
    if chosen.problem is None:
        return chosen
    zh, en = _words(chosen.problem, chosen.status, chosen.load, chosen.capacity, chosen.skill)
    message = f"不能改派给队伍 {team_id}：{zh} · cannot reassign to team {team_id}: {en}"
    if chosen.problem == Unfit.LACKS_SKILL.value:
        raise TeamUnfit(message)
    raise TeamCannotGoNow(message)


def hand_explanation(
    chosen: TeamCandidate,
    candidates: Sequence[TeamCandidate],
    *,
    actor: str,
    reason: str,
    from_team_id: str | None,
    listed: int,
) -> list[dict[str, object]]:
    """What the assignment keeps, as routing's does: the decision (by hand, by whom, why), then
    the `listed` eligible teams nearest by travel time, the chosen one always among them."""
    decision: dict[str, object] = {
        "decision": HAND_RULE,
        "selected_by": HAND_RULE,
        "reason": f"人工改派 chosen by hand by {actor}: {reason}",
        "by": actor,
        "from_team_id": from_team_id,
        "hand_reason": reason,
    }
    shortlist = [c for c in candidates if c.eligible][:listed]
    if all(c.team_id != chosen.team_id for c in shortlist):
        shortlist.append(chosen)
    entries: list[dict[str, object]] = [
        {
            "rank": c.rank,
            "team_id": c.team_id,
            "distance_km": c.distance_km,
            "eta_min": c.eta_min,
            "position": c.position,
            "chosen": c.team_id == chosen.team_id,
        }
        for c in shortlist
    ]
    return [decision, *entries]
