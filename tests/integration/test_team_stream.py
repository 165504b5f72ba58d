"""A crew's phone on the board's live stream, over a real HTTP server: a team member hears the
events of the team's own tasks, in order, and nothing of another team's."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from dispatch.service_layer import tasks
from dispatch.service_layer.access import Role
from dispatch.service_layer.services import Services
from dispatch.views.log_tail import last_seq
from tests.integration.spine_helpers import WUHAN, incident, seed_teams, team
from tests.integration.test_lifecycle_support import crew, route
from tests.integration.test_live_stream import bearer, frames
from tests.served_api import api_in_a_thread

FAR = (WUHAN[0] + 0.5, WUHAN[1])  # team-b's patch


@pytest.fixture
def base_url(services: Services) -> Iterator[str]:
    seed_teams(services, [team("team-a", *WUHAN), team("team-b", *FAR)])
    with api_in_a_thread(services) as url:
        yield url


def test_a_team_hears_its_own_tasks_and_nothing_of_another_teams(
    base_url: str, services: Services
) -> None:
    with services.reads() as session:
        start = last_seq(session)
    now = services.clock.now()
    theirs, ours = incident(1, *FAR, now), incident(2, *WUHAN, now)

    def dispatch() -> None:
        route(services, [theirs])  # team-b's task comes first: team-a must not hear it
        route(services, [ours])
        tasks.acknowledge(services, ours.id, crew("team-a"))

    threading.Timer(0.5, dispatch).start()  # while the phone listens
    phone = bearer(services, Role.TEAM, "team-a")
    heard = frames(base_url, phone, until="task.acknowledged", params={"after": start})
    # the acknowledge clock starts just before the assignment is logged
    assert [f["type"] for f in heard] == [
        "sla.clocks_started",
        "team.assigned",
        "task.acknowledged",
    ]
    assert {f["data"]["payload"]["incident_id"] for f in heard} == {ours.id}
    ids = [f["id"] for f in heard]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)

    desk = bearer(services, Role.DISPATCHER)
    board = frames(base_url, desk, until="task.acknowledged", params={"after": start})
    assert theirs.id in {f["data"]["payload"].get("incident_id") for f in board}  # it was logged
