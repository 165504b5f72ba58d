"""A team's record in both languages: events logged before the new fields still validate and
fold to a row with empty values, and a team whose roles or grid cells are wrong is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from dispatch.adapters.orm import team_record
from events.schemas.teams import TeamRegistered
from models.grid import cell_of
from models.team import GeoPoint, RoleCount, Team

GOLDEN_LOG = Path(__file__).parents[1] / "golden" / "v1_log.jsonl"


def _first_logged_registration() -> dict[str, object]:
    """The payload of the golden log's first team.registered, written before the new fields."""
    for line in GOLDEN_LOG.read_text(encoding="utf-8").splitlines():
        envelope = json.loads(json.loads(line)["envelope"])
        if envelope["type"] == "team.registered":
            return dict(envelope["payload"])
    raise AssertionError("the golden log has no team.registered")


def test_a_registration_logged_before_the_bilingual_fields_still_validates() -> None:
    payload = _first_logged_registration()
    assert "name_en" not in payload  # the point: it predates them
    event = TeamRegistered.model_validate(payload)
    assert (event.name_en, event.leader_en, event.roles, event.grid_cells) == ("", "", (), ())
    assert (event.branch, event.branch_en, event.intro, event.intro_en) == ("", "", "", "")


def test_an_old_registration_folds_to_a_row_with_empty_bilingual_columns() -> None:
    record = team_record(_first_logged_registration())
    assert {k: record[k] for k in ("name_en", "leader_en", "roles", "grid_cells")} == {
        "name_en": "",
        "leader_en": "",
        "roles": [],
        "grid_cells": [],
    }
    assert record["intro"] == record["intro_en"] == record["branch"] == ""


def test_a_new_registration_folds_every_bilingual_field() -> None:
    team = _team(
        name_en="Lin Li Service Team",
        leader_en="Lin Li",
        roles=[{"role": "队长", "role_en": "Leader", "count": 1}, {"role": "队员", "count": 5}],
        grid_cells=[cell_of(30.59, 114.30)],
        branch="国网武汉供电公司第2党支部",
        intro="公司打造的先锋团队之一。",
    )
    record = team_record(TeamRegistered(**team.model_dump()).model_dump(mode="json"))
    assert record["roles"] == [
        {"role": "队长", "role_en": "Leader", "count": 1},
        {"role": "队员", "role_en": "", "count": 5},
    ]
    assert record["grid_cells"] == [cell_of(30.59, 114.30)]
    assert (record["name_en"], record["branch"]) == ("Lin Li Service Team", team.branch)


def _team(**changes: object) -> Team:
    fields: dict[str, object] = {
        "id": "HB-WH-002",
        "name": "林丽服务队",
        "region": "wuhan",
        "home": GeoPoint(latitude=30.59, longitude=114.30),
        "leader": "林丽",
        "members": 6,
        "party_members": 4,
    }
    return Team.model_validate({**fields, **changes})


def test_roles_must_count_every_member_once() -> None:
    with pytest.raises(ValidationError, match="roles count 5 people but the team has 6"):
        _team(roles=[RoleCount(role="队长", count=1), RoleCount(role="队员", count=4)])
    with pytest.raises(ValidationError, match="count"):
        _team(roles=[{"role": "队长", "count": 0}])


def test_grid_cells_must_be_distinct_h3_cells() -> None:
    with pytest.raises(ValidationError, match="not an H3 cell id: 'W-001'"):
        _team(grid_cells=["W-001"])
    cell = cell_of(30.59, 114.30)
    with pytest.raises(ValidationError, match="listed twice"):
        _team(grid_cells=[cell, cell])


def test_a_team_shows_its_english_name_to_english_readers_when_it_has_one() -> None:
    assert _team(name_en="Lin Li Service Team").display_name("en") == "Lin Li Service Team"
    assert _team(name_en="Lin Li Service Team").display_name() == "林丽服务队"
    assert _team().display_name("en") == "林丽服务队"  # no English name: the Chinese one
