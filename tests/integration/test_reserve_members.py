"""Reserve members (预备队员) of a regular team, on both databases: on duty, they are told of
nothing while storm mode is off in the team's division; declaring it calls them up with an
event naming each, ending it releases them, and only a team member can be one."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from dispatch.adapters.orm import UserRow
from dispatch.service_layer import users
from dispatch.service_layer.access import Caller, Role
from dispatch.service_layer.duty import set_duty
from dispatch.service_layer.recipients import members_on_duty, still_on_duty
from dispatch.service_layer.services import Services
from dispatch.service_layer.storm import declare_storm_mode, end_storm_mode
from dispatch.service_layer.users import AccountError
from tests.integration.spine_helpers import WUHAN, seed_teams, team
from tests.integration.test_roster_and_storm import logged

ZHANG = Caller(Role.DISPATCHER, name="user:zhang.wei")
PASSWORD = "长江大桥-2026-password"


def member(services: Services, username: str, team_id: str, reserve: bool = False) -> None:
    with services.sessions.begin() as session:
        users.add_user(
            session,
            username,
            Role.TEAM,
            PASSWORD,
            at=services.clock.now(),
            team_id=team_id,
            reserve=reserve,
        )
    set_duty(services, Caller(Role.TEAM, team_id, f"user:{username}"), username, True)


@pytest.fixture
def crews(services: Services) -> Services:
    """team-a in Wuhan with a regular and a reserve member, team-b in Ezhou with a reserve."""
    far = team("team-b", 30.39, 114.89).model_copy(update={"region": "ezhou"})
    seed_teams(services, [team("team-a", *WUHAN), far])
    member(services, "li.lei", "team-a")
    member(services, "wang.fang", "team-a", reserve=True)
    member(services, "zhao.min", "team-b", reserve=True)
    return services


def told(services: Services) -> tuple[dict[str, list[str]], set[str]]:
    with services.reads() as session:
        planned = dict(members_on_duty(session, ["team-a", "team-b"]))
        still = still_on_duty(session, {"li.lei", "wang.fang", "zhao.min"})
    return planned, still


def test_a_reserve_member_is_told_of_tasks_only_while_its_division_calls_up_reserves(
    crews: Services,
) -> None:
    assert told(crews) == ({"team-a": ["li.lei"]}, {"li.lei"})

    declare_storm_mode(crews, ZHANG, "wuhan", "暴雨红色预警")
    assert told(crews) == ({"team-a": ["li.lei", "wang.fang"]}, {"li.lei", "wang.fang"})
    activated = [e for e in logged(crews, "reserve.") if e["type"] == "reserve.activated"]
    assert [(e["team_id"], e["member"], e["actor"]) for e in activated] == [
        ("team-a", "wang.fang", "user:zhang.wei")
    ]  # Ezhou's reserve member stays on standby

    end_storm_mode(crews, ZHANG, "wuhan", "预警解除")
    assert told(crews) == ({"team-a": ["li.lei"]}, {"li.lei"})
    released = [e for e in logged(crews, "reserve.") if e["type"] == "reserve.released"]
    assert [(e["team_id"], e["member"]) for e in released] == [("team-a", "wang.fang")]


def test_only_a_team_member_can_be_a_reserve_member(services: Services) -> None:
    with services.sessions.begin() as session, pytest.raises(AccountError, match="reserve"):
        users.add_user(
            session, "zhang.wei", Role.DISPATCHER, PASSWORD, at=services.clock.now(), reserve=True
        )
    with services.reads() as session:
        assert session.scalars(select(UserRow)).all() == []
