"""`everycall incidents reassign ID --team T --reason R` on the database, as an operator types
it: the task moves, the log names the operator and the reason, a refusal says why."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from dispatch.entrypoints.cli.main import app
from models.clock import ManualClock
from tests.integration.test_lifecycle_support import incident_row, payloads
from tests.integration.test_reassign_by_hand import World, world

__all__ = ["world"]  # the fixture: six teams, a task with team-a, team-full full


@pytest.fixture
def clock() -> ManualClock:
    """Now, as the CLI's own clock tells it: its clocks follow the world's."""
    return ManualClock(datetime.now(UTC))


def everycall(world: World, *args: str) -> tuple[int, str]:
    env = {
        "EVERYCALL_DATABASE_URL": world.services.settings.database_url,
        "COLUMNS": "200",
        "EVERYCALL_LANG": "en",  # the messages asserted below are the English ones
    }
    done = CliRunner().invoke(app, list(args), env=env)
    return done.exit_code, done.output


def test_the_operator_reassigns_by_hand_and_the_log_names_them(world: World) -> None:
    code, output = everycall(
        world, "incidents", "reassign", world.task_id, "--team", "team-b", "--reason", "路近"
    )
    assert code == 0, output
    assert f"incident {world.task_id} is now assigned (team team-b)" in output
    assert incident_row(world.services, world.task_id).team_id == "team-b"
    (withdrawn,) = payloads(world.services, world.task_id, "incident.reassigned")
    assert str(withdrawn["actor"]).startswith("cli:") and withdrawn["reason"] == "路近"


def test_a_refused_team_ends_the_command_saying_why(world: World) -> None:
    code, output = everycall(
        world, "incidents", "reassign", world.task_id, "--team", "team-full", "--reason", "r"
    )
    assert code == 1 and "refused:" in output and "full (1/1 tasks)" in output
    code, output = everycall(world, "incidents", "reassign", world.task_id, "--team", "team-b")
    assert code == 2 and "--reason" in output
    assert incident_row(world.services, world.task_id).team_id == "team-a"
