"""`everycall incidents raise-level ID --reason R` on the database, as an operator types it: one
more task joins the incident and the log names the operator and the reason; `incidents show`
lists an incident's tasks in both languages and `incidents list` marks the supports; a refusal
says why."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from dispatch.entrypoints.cli import ops
from dispatch.entrypoints.cli.consoles import message_console
from dispatch.entrypoints.cli.main import app
from dispatch.service_layer.services import Services
from models.clock import ManualClock
from tests.integration.test_lifecycle_support import payloads, route
from tests.integration.test_support_tasks import call, relief

__all__ = ["relief"]  # the fixture: three relief teams and a repair team nearer than them

WHY = "两条街被淹 two streets flooded"


@pytest.fixture
def clock() -> ManualClock:
    """Now, as the CLI's own clock tells it: its clocks follow the world's."""
    return ManualClock(datetime.now(UTC))


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's console reads COLUMNS once, when its module is first imported, by whichever
    test of this process came first: these tests read whole rows, so they get 200 columns."""
    monkeypatch.setattr(ops, "console", message_console(width=200))


@pytest.fixture
def routed(relief: Services) -> Services:
    """A critical disaster relief call with two teams (call-1, call-1.1), a repair call with one."""
    route(relief, [call(1, relief.clock.now()), call(2, relief.clock.now(), "repair", "normal")])
    return relief


def everycall(services: Services, *args: str, lang: str = "en") -> tuple[int, str]:
    env = {
        "EVERYCALL_DATABASE_URL": services.settings.database_url,
        "COLUMNS": "200",
        "EVERYCALL_LANG": lang,
    }
    done = CliRunner().invoke(app, list(args), env=env)
    return done.exit_code, done.output


def test_the_operator_raises_the_level_and_the_log_names_them(routed: Services) -> None:
    code, output = everycall(routed, "incidents", "raise-level", "call-1", "--reason", WHY)
    assert code == 0, output
    assert "incident call-1: level raised, 3 tasks" in output
    assert "call-1 (this one)" in output
    (new,) = [line for line in output.splitlines() if "call-1.2" in line]
    assert "support" in new and "queued" in new
    (requested,) = payloads(routed, "call-1.2", "incident.support_requested")
    assert str(requested["actor"]).startswith("cli:") and requested["reason"] == WHY


def test_show_lists_the_tasks_of_an_incident_in_both_languages(routed: Services) -> None:
    code, english = everycall(routed, "incidents", "show", "call-1.1")
    assert code == 0, english
    assert "the incident's 2 tasks" in english
    rows = {line.split("│")[1].strip(): line for line in english.splitlines() if "relief-" in line}
    assert "lead" in rows["call-1"] and "relief-1" in rows["call-1"]
    assert "support" in rows["call-1.1 (this one)"] and "relief-2" in rows["call-1.1 (this one)"]
    code, chinese = everycall(routed, "incidents", "show", "call-1.1", lang="zh")
    assert code == 0, chinese
    assert "本事件的 2 项任务" in chinese and "牵头" in chinese and "call-1.1（本工单）" in chinese
    code, single = everycall(routed, "incidents", "show", "call-2")
    assert code == 0 and "tasks" not in single.split("SLA clocks")[0]
    code, listed = everycall(routed, "incidents", "list")
    (support,) = [line for line in listed.splitlines() if "call-1.1" in line]
    assert "support of call-1" in support


def test_a_refusal_ends_the_command_saying_why(routed: Services) -> None:
    for _ in range(3):  # two teams by its plan, five at the built-in ceiling
        assert everycall(routed, "incidents", "raise-level", "call-1", "--reason", WHY)[0] == 0
    code, output = everycall(routed, "incidents", "raise-level", "call-1.1", "--reason", "more")
    assert code == 1 and "refused:" in output and "has 5 tasks open" in output, output
    code, output = everycall(routed, "incidents", "raise-level", "call-1")
    assert code == 2 and "--reason" in output
    code, output = everycall(routed, "incidents", "raise-level", "nowhere", "--reason", "r")
    assert code == 1 and "no incident nowhere" in output
    assert payloads(routed, "call-1.5", "incident.support_requested") == []
