"""The operator's CLI next to a running `everycall serve`: report, show, list, and a team's
task from acknowledged to resolved, all without HTTP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_serve import (
    STARTUP_TIMEOUT_S,
    WUHAN,
    Served,
    clean_env,
    incident_state,
    run_cli,
    served,
    wait_until,
)

__all__ = ["served"]  # the fixture, shared with test_serve.py


def shown(served: Served, incident_id: str) -> dict[str, Any]:
    done = served.cli("incidents", "show", incident_id, "--json", check=False)
    return dict(json.loads(done.stdout)) if done.returncode == 0 else {}


@pytest.mark.timeout(900)  # a dozen CLI processes; slow on a busy machine
def test_operator_reports_and_a_team_takes_the_task_through_the_cli(served: Served) -> None:
    reported = served.cli(
        "incidents", "report", "--kind", "outage", "--lat", str(WUHAN[0]), "--lon",
        str(WUHAN[1]), "--priority", "hardship", "--address", "Building 3",
    )  # fmt: skip
    incident_id = reported.stdout.strip().splitlines()[-1]
    dispatcher = served.token("dispatcher")  # the board polls over HTTP: cheaper than a process
    wait_until(
        lambda: incident_state(served, incident_id, dispatcher).get("state") == "assigned",
        STARTUP_TIMEOUT_S,
        "assignment of the CLI report",
        served,
    )
    team = shown(served, incident_id)["team_id"]

    for step in (["ack"], ["en-route"], ["on-scene"], ["resolve", "--notes", "cable rejoined"]):
        done = served.cli("tasks", step[0], incident_id, "--team", team, *step[1:])
        assert incident_id in done.stdout  # "工单 … 现为…" or "incident … is now …"

    view = shown(served, incident_id)
    assert view["state"] == "resolved"
    assert view["priority"] == "hardship" and view["address"] == "Building 3"
    actors = {e["actor"] for e in view["timeline"] if e["type"].startswith("task.")}
    assert all(f"team {team}" in actor for actor in actors), actors
    table = served.cli("incidents", "show", incident_id).stdout
    assert "task.resolved" in table and "cable rejoined" in table
    listed = served.cli("incidents", "list", "--state", "resolved").stdout
    assert incident_id in listed
    assert incident_id not in served.cli("incidents", "list", "--state", "assigned").stdout
    too_late = served.cli("incidents", "cancel", incident_id, "--reason", "dup", check=False)
    assert too_late.returncode == 1 and "resolved" in too_late.stderr


def test_cli_refuses_clearly_with_non_zero_codes(tmp_path: Path) -> None:
    env = clean_env(tmp_path)  # no server needed: the CLI works on the database
    outside = run_cli(
        env, tmp_path, "incidents", "report", "--kind", "repair", "--lat", "95", "--lon", "114",
        check=False,
    )  # fmt: skip
    unknown = run_cli(env, tmp_path, "incidents", "show", "inc-nowhere", check=False)
    not_yours = run_cli(
        env, tmp_path, "tasks", "ack", "inc-nowhere", "--team", "nobody", check=False
    )
    no_team = run_cli(env, tmp_path, "tokens", "create", "--role", "team", check=False)

    assert outside.returncode == 2 and "latitude" in outside.stderr
    assert unknown.returncode == 1 and "inc-nowhere" in unknown.stderr
    assert not_yours.returncode == 1 and "inc-nowhere" in not_yours.stderr
    assert no_team.returncode == 2 and "--team" in no_team.stderr
