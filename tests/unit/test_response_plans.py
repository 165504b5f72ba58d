"""Response plans: teams per incident by kind and priority (models/response_plans.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from dispatch.config import Settings, response_plans_path
from models.response_plans import ID_LIMIT, ResponsePlans, load_response_plans, support_id
from models.team import Skill


def test_built_in_plans_send_two_teams_to_critical_disaster_relief_one_with_the_skill() -> None:
    plans = ResponsePlans()
    critical = plans.plan_for("disaster_relief", "critical")
    assert (critical.teams, critical.required_skill) == (2, Skill.DISASTER_RELIEF)
    assert plans.plan_for("disaster_relief", "normal").teams == 1
    assert plans.plan_for("outage", "critical").teams == 1


def test_the_shipped_file_matches_the_built_in_plans() -> None:
    path = response_plans_path(Settings())
    assert path is not None and path.endswith("config/response_plans.toml")
    assert load_response_plans(path) == ResponsePlans()


def test_support_ids_follow_their_lead_and_fit_an_id_even_for_the_longest_leads() -> None:
    assert support_id("inc-0001", 1) == "inc-0001.1"
    long_a, long_b = "x" * 60 + "-aaa", "x" * 60 + "-bbb"
    ids = {support_id(lead, n) for lead in (long_a, long_b) for n in (1, 2, 10)}
    assert len(ids) == 6 and all(len(i) <= ID_LIMIT for i in ids)
    assert support_id(long_a, 10).endswith(".10")


def test_a_plan_above_the_ceiling_is_refused(tmp_path: Path) -> None:
    policy = tmp_path / "plans.toml"
    policy.write_text("max_teams = 2\n[kind.outage.critical]\nteams = 3\n")
    with pytest.raises(ValidationError, match="above max_teams"):
        load_response_plans(policy)
