"""An incident at the command line in Chinese: its card, clocks and timeline in Chinese, its
times in Asia/Shanghai, its `--json` the same in both languages."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from rich.cells import cell_len
from typer.testing import CliRunner

from dispatch.entrypoints.cli.main import app
from models.clock import ManualClock
from tests.faults.harness import everycall_command
from tests.integration.test_reassign_by_hand import World, world

__all__ = ["world"]  # the fixture: six teams, a task with team-a


@pytest.fixture
def clock() -> ManualClock:
    """Now, as the CLI's own clock tells it."""
    return ManualClock(datetime.now(UTC))


def everycall(world: World, lang: str, *args: str) -> str:
    env = {
        "EVERYCALL_DATABASE_URL": world.services.settings.database_url,
        "COLUMNS": "80",
        "EVERYCALL_LANG": lang,
    }
    done = CliRunner().invoke(app, list(args), env=env)
    assert done.exit_code == 0, done.output
    return done.output


def test_an_incident_reads_in_chinese_with_shanghai_times(world: World) -> None:
    shown = everycall(world, "zh", "incidents", "show", world.task_id)
    assert f"工单 {world.task_id}" in shown and "SLA 时钟" in shown and "时间线" in shown
    assert "已派单" in shown and "+08:00" in shown
    view = json.loads(everycall(world, "zh", "incidents", "show", world.task_id, "--json"))
    reported = datetime.fromisoformat(view["reported_at"])  # as stored: UTC
    in_hubei = reported.astimezone(ZoneInfo("Asia/Shanghai"))
    assert f"{in_hubei:%Y-%m-%d %H:%M:%S} +08:00" in shown
    listed = everycall(world, "zh", "incidents", "list")
    assert world.task_id in listed and "报告时间" in listed


def test_the_json_of_an_incident_is_the_same_in_both_languages(world: World) -> None:
    chinese = everycall(world, "zh", "incidents", "show", world.task_id, "--json")
    english = everycall(world, "en", "incidents", "show", world.task_id, "--json")
    assert chinese == english
    assert json.loads(english)["state"] == "assigned"


def test_the_routing_explanation_keeps_team_ids_whole_at_80_columns(world: World) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVERYCALL_")}
    env |= {
        "EVERYCALL_DATABASE_URL": world.services.settings.database_url,
        "COLUMNS": "80",
        "EVERYCALL_LANG": "zh",
    }
    done = subprocess.run(
        [*everycall_command(), "audit", "timeline", world.task_id],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    tables = [line for line in out.splitlines() if line[:1] in "┏┃┡│└"]
    assert max(cell_len(line) for line in tables) <= 80, out
    assert "…" not in out, out  # nothing cut: what does not fit wraps or is named as dropped
    assert f"工单 {world.task_id}" in out and "派单依据" in out
    ranked = {cells[2].strip() for line in out.splitlines() if len(cells := line.split("│")) > 3}
    assert {"team-a", "team-b", "team-c", "team-full"} <= ranked, out
