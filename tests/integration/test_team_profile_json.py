"""A team's public profile as JSON (`GET /teams/{id}`, Accept: application/json): Chinese first
with English beside, as the page reads, the division named in both languages, and no
personal phone number even when the registry carried one."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import nullcontext

import pytest
from fastapi.testclient import TestClient

from dispatch.entrypoints.api.app import create_app
from dispatch.service_layer.services import Services
from models.hubei import hubei_registry
from tests.integration.spine_helpers import seed_teams
from tests.integration.test_team_page import LEADER_PHONE, NEAR

JSON = {"Accept": "application/json"}


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    seeded = next(t for t in hubei_registry() if t.id == "HB-SZ-001")
    seed_teams(services, [NEAR.model_copy(update={"region": "jingzhou"}), seeded])
    app = create_app(lambda: nullcontext(services), run_relay=False)
    with TestClient(app) as test_client:
        yield test_client


def test_the_json_profile_carries_both_languages(client: TestClient) -> None:
    answer = client.get("/teams/near", headers=JSON)
    assert answer.status_code == 200
    profile = answer.json()
    assert (profile["name"], profile["name_en"]) == ("光满服务队", "Guangman Service Team")
    assert profile["leader"] == "左光满 …" and profile["leader_en"] == "Zuo Guangman"
    assert (profile["branch"], profile["branch_en"]) == (NEAR.branch, NEAR.branch_en)
    assert (profile["intro"], profile["intro_en"]) == (NEAR.intro, NEAR.intro_en)
    assert (profile["division_zh"], profile["division_en"]) == ("荆州市", "Jingzhou")
    assert profile["region"] == "jingzhou" and "有呼必应" in profile["service_promise"]
    assert LEADER_PHONE not in answer.text  # the page offers 95598, never a crew's phone


def test_a_seeded_teams_json_names_its_leader_and_branch(client: TestClient) -> None:
    profile = client.get("/teams/HB-SZ-001", headers=JSON).json()
    assert (profile["leader"], profile["leader_en"]) == ("左光满", "Zuo Guangman")
    assert profile["branch"] == "国网随州供电公司第1党支部" and profile["branch_en"]
    assert (profile["division_zh"], profile["division_en"]) == ("随州市", "Suizhou")
    assert client.get("/teams/HB-XX-999", headers=JSON).status_code == 404
