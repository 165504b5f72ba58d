"""Response plans: teams per incident by kind and priority (models/response_plans.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from dispatch.config import Settings, response_plans_path
from models.response_plans import ResponsePlans, load_response_plans
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


def test_raising_the_level_adds_teams_up_to_the_ceiling() -> None:
    plans = ResponsePlans()
    assert plans.teams_at_level("repair", "normal", 1) == 2
    assert plans.teams_at_level("disaster_relief", "critical", 1) == 3
    assert plans.teams_at_level("repair", "normal", 99) == plans.max_teams


def test_a_plan_above_the_ceiling_is_refused(tmp_path: Path) -> None:
    policy = tmp_path / "plans.toml"
    policy.write_text("max_teams = 2\n[kind.outage.critical]\nteams = 3\n")
    with pytest.raises(ValidationError, match="above max_teams"):
        load_response_plans(policy)
