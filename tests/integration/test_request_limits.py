"""The limits on what one client can send: body size (413) and rate per token (429)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import nullcontext

import pytest
from fastapi.testclient import TestClient

from dispatch.entrypoints.api.app import create_app
from dispatch.service_layer.access import Role
from dispatch.service_layer.services import Services
from dispatch.service_layer.tokens import create_token
from tests.integration.spine_helpers import WUHAN, seed_teams, team

REPORT = {"kind": "repair", "latitude": WUHAN[0], "longitude": WUHAN[1]}
BURST = 3
RATE = 0.01  # a token a hundred seconds: nothing refills while the test runs


@pytest.fixture
def limited(services: Services) -> Iterator[tuple[TestClient, Services]]:
    seed_teams(services, [team("team-a", *WUHAN)])
    tight = services.settings.model_copy(update={"api_rate_per_s": RATE, "api_rate_burst": BURST})
    wired = dataclasses.replace(services, settings=tight)
    with TestClient(create_app(lambda: nullcontext(wired), run_relay=False)) as client:
        yield client, wired


def bearer(services: Services, role: Role = Role.DISPATCHER) -> dict[str, str]:
    with services.sessions.begin() as session:
        return {"Authorization": f"Bearer {create_token(session, role)}"}


def test_a_token_over_its_rate_gets_429_with_retry_after_and_others_go_on(
    limited: tuple[TestClient, Services],
) -> None:
    client, services = limited
    busy, calm = bearer(services), bearer(services)
    answers = [client.get("/queue", headers=busy) for _ in range(BURST + 2)]
    assert [a.status_code for a in answers] == [200] * BURST + [429, 429]
    refused = answers[-1]
    assert 1 <= int(refused.headers["Retry-After"]) <= 1 / RATE
    assert "rate limit" in refused.json()["detail"]
    assert client.get("/queue", headers=calm).status_code == 200
    assert all(client.get("/healthz").status_code == 200 for _ in range(BURST + 2))


def test_bad_tokens_are_limited_too_before_any_lookup(
    limited: tuple[TestClient, Services],
) -> None:
    client, _ = limited
    forged = {"Authorization": "Bearer ec_000000000000_forged"}
    statuses = [client.get("/queue", headers=forged).status_code for _ in range(BURST + 1)]
    assert statuses == [401] * BURST + [429]


def test_a_body_over_the_limit_is_413_whether_declared_or_streamed(
    limited: tuple[TestClient, Services],
) -> None:
    client, services = limited
    limit = services.settings.api_body_limit_bytes
    big = REPORT | {"address": "x" * (limit + 1)}
    declared = client.post("/incidents", json=big, headers=bearer(services))
    assert declared.status_code == 413
    assert str(limit) in declared.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the server counts as it reads
        yield b'{"kind": "repair", "address": "'
        for _ in range(limit // 1024 + 1):
            yield b"x" * 1024
        yield b'"}'

    streamed = client.post(
        "/incidents",
        content=chunks(),
        headers=bearer(services) | {"Content-Type": "application/json"},
    )
    assert streamed.status_code == 413
