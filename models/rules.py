"""The routing rules, over an already ranked list: grid owner, spill-over, rest rotation.

Whoever ranks the teams (the fast pool, or a brute-force reference) hands the same rules the
same ranking, so both decide alike by construction.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import NamedTuple


class Rule(StrEnum):
    """The rule that decided an assignment; stored with it."""

    GRID_OWNER = "grid_owner"  # the owner of the incident's grid cell, eligible and within reach
    SPILL_OVER = "spill_over"  # the owner could not go (or is out of reach): next-nearest
    NEAREST = "nearest"  # the cell has no owner: the nearest eligible team
    REST_ROTATION = "rest_rotation"  # the first pick had just finished a task and rests
    QUEUED_THEN_ASSIGNED = "queued_then_assigned"  # waited for a team to free up


class Ranked(NamedTuple):
    """One eligible team as the explanation shows it (a tuple: thousands are made a second)."""

    team_id: str
    distance_km: float
    eta_min: float
    position: str  # "fix", "home", or "home_stale_fix" (the fix was too old to trust)
    fix_age_min: float | None
    resting: bool


class RankingIncomplete(Exception):
    """The rules need a team beyond the part of the ranking that is known to be exact."""


class Ranking(NamedTuple):
    """Eligible teams by travel time (then id). `complete`: no eligible team is missing."""

    teams: Sequence[Ranked]
    complete: bool


class Verdict(NamedTuple):
    chosen: Ranked
    rule: Rule
    rested: Ranked | None = None  # the team rest rotation passed over


def decide(
    ranking: Ranking,
    owner: Ranked | None,
    has_owner: bool,
    reach_min: float,
    rest_slack_min: float,
) -> Verdict | None:
    """Apply the rules; `owner` is the cell owner when it is eligible. None: nobody can go."""
    if owner is not None and owner.eta_min <= reach_min:
        pick = owner
    elif ranking.teams:
        pick = ranking.teams[0]
    elif ranking.complete:
        return None
    else:
        raise RankingIncomplete
    if owner is not None and pick.team_id == owner.team_id:
        rule = Rule.GRID_OWNER  # also when out of reach but still the nearest
    else:
        rule = Rule.SPILL_OVER if has_owner else Rule.NEAREST
    if pick.resting:
        relief = _relief(ranking, pick, reach_min, rest_slack_min)
        if relief is not None:
            return Verdict(relief, Rule.REST_ROTATION, rested=pick)
    return Verdict(pick, rule)


def _relief(ranking: Ranking, rested: Ranked, reach_min: float, slack: float) -> Ranked | None:
    """The fastest team not resting that is close enough to stand in for `rested`: at most
    `slack` minutes slower, and within reach whenever the rested team was."""
    limit = rested.eta_min + slack
    if rested.eta_min <= reach_min:
        limit = min(limit, reach_min)
    for team in ranking.teams:
        if team.eta_min > limit:
            return None
        if not team.resting:
            return team
    if not ranking.complete:
        raise RankingIncomplete
    return None
