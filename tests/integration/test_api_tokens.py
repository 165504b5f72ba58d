"""Tokens made and revoked with the `everycall tokens` CLI work (and stop working) in the API,
on both databases."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from dispatch.config import Settings
from dispatch.entrypoints.api.app import create_app
from dispatch.service_layer.services import Services
from tests.integration.spine_helpers import WUHAN, seed_teams, team

PEPPER = "pepper-for-the-cli-test"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"api_token_pepper": PEPPER})


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    seed_teams(services, [team("team-a", *WUHAN)])
    with TestClient(create_app(lambda: nullcontext(services), run_relay=False)) as test_client:
        yield test_client


def everycall(services: Services, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVERYCALL_")}
    env["EVERYCALL_DATABASE_URL"] = services.settings.database_url
    env["EVERYCALL_API_TOKEN_PEPPER"] = PEPPER
    return subprocess.run(
        [sys.executable, "-m", "dispatch.entrypoints.cli.main", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_token_works_until_revoked(
    client: TestClient, services: Services, tmp_path: Path
) -> None:
    created = everycall(services, tmp_path, "tokens", "create", "--role", "team", "--team",
                        "team-a", "--name", "crew phone")  # fmt: skip
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip().splitlines()[-1]
    headers = {"Authorization": f"Bearer {token}"}
    token_id = token.split("_")[1]

    assert client.get("/teams/team-a/tasks", headers=headers).status_code == 200
    assert client.get("/incidents", headers=headers).status_code == 403  # a team, not the center
    listed = everycall(services, tmp_path, "tokens", "list").stdout
    assert token_id in listed and "crew phone" in listed and token not in listed

    revoked = everycall(services, tmp_path, "tokens", "revoke", token_id)

    assert revoked.returncode == 0, revoked.stderr
    assert client.get("/teams/team-a/tasks", headers=headers).status_code == 401
    assert "revoked" in everycall(services, tmp_path, "tokens", "list").stdout


def test_cli_refuses_tokens_that_make_no_sense(services: Services, tmp_path: Path) -> None:
    unknown_team = everycall(services, tmp_path, "tokens", "create", "--role", "team",
                             "--team", "nobody")  # fmt: skip
    bound_dispatcher = everycall(services, tmp_path, "tokens", "create", "--role", "dispatcher",
                                 "--team", "team-a")  # fmt: skip
    unknown_id = everycall(services, tmp_path, "tokens", "revoke", "feedfacecafe")

    assert unknown_team.returncode == 2 and "nobody" in unknown_team.stderr
    assert bound_dispatcher.returncode == 2 and "only team tokens" in bound_dispatcher.stderr
    assert unknown_id.returncode == 1 and "feedfacecafe" in unknown_id.stderr
