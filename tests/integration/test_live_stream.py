"""The board's live stream over a real HTTP server: every logged event arrives as a
Server-Sent Event with its sequence number, in order; a board that reconnects with
Last-Event-ID gets exactly what it missed; the dispatch center, auditors and team members (their
own team's events: test_team_stream.py) may listen."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from dispatch.service_layer import incidents
from dispatch.service_layer.access import Caller, Role
from dispatch.service_layer.services import Services
from dispatch.service_layer.tokens import create_token
from dispatch.views.log_tail import last_seq
from tests.integration.spine_helpers import WUHAN, incident, seed_teams, team
from tests.integration.test_lifecycle_support import route
from tests.served_api import api_in_a_thread

DESK = Caller(Role.DISPATCHER, name="desk-1")


@pytest.fixture
def base_url(services: Services) -> Iterator[str]:
    seed_teams(services, [team("team-a", *WUHAN)])
    with api_in_a_thread(services) as url:
        yield url


def bearer(services: Services, role: Role, team_id: str | None = None) -> dict[str, str]:
    with services.sessions.begin() as session:
        token = create_token(session, role, team_id, pepper=services.settings.api_token_pepper)
    return {"Authorization": f"Bearer {token}"}


def frames(
    base_url: str, headers: dict[str, str], until: str, params: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Read the stream until an event of type `until` arrives; each frame's id, type, data."""
    read: list[dict[str, Any]] = []
    frame: dict[str, Any] = {}
    timeout, deadline = httpx.Timeout(30.0), time.monotonic() + 60
    with httpx.stream(
        "GET", f"{base_url}/events/stream", headers=headers, params=params, timeout=timeout
    ) as answer:
        assert answer.status_code == 200, answer.read()
        assert answer.headers["content-type"].startswith("text/event-stream")
        for line in answer.iter_lines():
            assert time.monotonic() < deadline, f"no {until} within a minute; read {read}"
            if line.startswith("id: "):
                frame["id"] = int(line[4:])
            elif line.startswith("event: "):
                frame["type"] = line[7:]
            elif line.startswith("data: "):
                frame["data"] = json.loads(line[6:])
            elif not line and frame:
                read.append(frame)
                if frame["type"] == until:
                    return read
                frame = {}
    raise AssertionError(f"the stream ended before {until}")


def test_a_board_sees_each_change_live_and_after_a_reconnect_nothing_is_missed(
    base_url: str, services: Services
) -> None:
    desk = bearer(services, Role.DISPATCHER)
    with services.reads() as session:
        loaded = last_seq(session)  # what the board showed when it loaded
    reported = incident(1, *WUHAN, services.clock.now())
    threading.Timer(0.5, route, (services, [reported])).start()  # while the board listens
    seen = frames(base_url, desk, until="team.assigned", params={"after": loaded})
    types = [f["type"] for f in seen]
    assert types[0] == "incident.reported" and types[-1] == "team.assigned"
    ids = [f["id"] for f in seen]
    assert ids == list(range(loaded + 1, loaded + 1 + len(ids))), "events out of order or missing"
    assert seen[-1]["data"]["payload"]["team_id"] == "team-a"

    # the board is away while the incident is cancelled; it comes back where it left off
    incidents.cancel(services, reported.id, DESK, "duplicate call")
    again = frames(base_url, desk | {"Last-Event-ID": str(ids[-1])}, until="incident.cancelled")
    assert again[0]["id"] == ids[-1] + 1
    assert [f["type"] for f in again][-1] == "incident.cancelled"
    assert again[-1]["data"]["payload"]["actor"] == "desk-1"


def test_auditors_and_teams_listen_strangers_do_not(base_url: str, services: Services) -> None:
    url = f"{base_url}/events/stream"
    with httpx.stream("GET", url, headers=bearer(services, Role.AUDITOR), timeout=30) as answer:
        assert answer.status_code == 200
    team_token = bearer(services, Role.TEAM, "team-a")
    with httpx.stream("GET", url, headers=team_token, timeout=30) as answer:
        assert answer.status_code == 200
    assert httpx.get(url, timeout=30).status_code == 401
