"""`everycall roster` and `everycall storm` as the dispatch center runs them, on SQLite and
PostgreSQL: a roster file imported (or refused whole), exported and read back, who is on duty
now, storm mode declared, shown and ended, each naming the operator in the log."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from dispatch import bootstrap
from dispatch.entrypoints.cli.main import app
from dispatch.service_layer.registry import replace_registry
from events.log import LoggedEvent
from tests.integration.spine_helpers import team


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("EVERYCALL_DATABASE_URL", database_url)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("EVERYCALL_LANG", "en")
    teams = [team("team-a", 30.6, 114.3), team("team-b", 30.7, 114.3)]
    teams.append(team("reserve-w", 30.65, 114.3).model_copy(update={"reserve": True}))
    with bootstrap.database() as services, services.sessions.begin() as session:
        replace_registry(session, teams, services.clock.now())
    return CliRunner()


def run(cli: CliRunner, *args: str) -> tuple[int, str]:
    result = cli.invoke(app, list(args))
    return result.exit_code, result.output


def actors(event_type: str) -> list[str]:
    with bootstrap.database() as services, services.reads() as session:
        envelopes = session.scalars(
            select(LoggedEvent.envelope).where(LoggedEvent.type == event_type)
        ).all()
    return [json.loads(e)["payload"]["actor"] for e in envelopes]


def test_a_roster_file_imports_shows_who_is_on_duty_and_exports_again(
    cli: CliRunner, tmp_path: Path
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)

    def row(team_id: str, starts_h: int, ends_h: int) -> str:
        starts, ends = now + timedelta(hours=starts_h), now + timedelta(hours=ends_h)
        return f"{team_id},{starts.isoformat()},{ends.isoformat()}"

    rows = [row("team-a", -1, 7), row("team-b", 2, 10)]
    roster = tmp_path / "roster.csv"
    roster.write_text("team_id,starts_at,ends_at\n" + "\n".join(rows) + "\n", encoding="utf-8")
    code, out = run(cli, "roster", "import", str(roster))
    assert code == 0 and "imported 2" in out, out
    assert actors("roster.shifts_imported") and actors("roster.shifts_imported")[0].startswith(
        "cli:"
    )
    code, out = run(cli, "roster", "now", "--json")
    assert code == 0, out
    duty = {t["team_id"]: t for t in json.loads(out)["teams"]}
    assert (duty["team-a"]["on_duty"], duty["team-b"]["on_duty"]) == (True, False)
    assert duty["team-b"]["next"] is not None and duty["reserve-w"]["rostered"] is False
    code, out = run(cli, "roster", "now")
    assert code == 0 and "team-a" in out
    ics = tmp_path / "roster.ics"
    code, out = run(cli, "roster", "export", "--format", "ics", "--out", str(ics))
    assert code == 0, out
    assert ics.read_text(encoding="utf-8").count("BEGIN:VEVENT") == 2
    code, out = run(cli, "roster", "import", str(ics))  # the same shifts: nothing new
    assert code == 0 and "imported 2" in out, out
    code, out = run(cli, "roster", "export")
    assert code == 0 and out.count("\n") == 3  # the header and two shifts


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("team_id,starts_at,ends_at\nteam-a,2026-07-01T08:00,2026-07-01T16:00+08:00\n", "offset"),
        ("team,start,end\n", "header"),
        (
            "team_id,starts_at,ends_at\nghost,2026-07-01T08:00+08:00,2026-07-01T16:00+08:00\n",
            "ghost",
        ),
    ],
)
def test_a_bad_roster_file_is_refused_and_changes_nothing(
    cli: CliRunner, tmp_path: Path, text: str, said: str
) -> None:
    roster = tmp_path / "bad.csv"
    roster.write_text(text, encoding="utf-8")
    code, out = run(cli, "roster", "import", str(roster))
    assert code == 1 and said in out, out
    assert actors("roster.shifts_imported") == []


def test_storm_mode_is_declared_shown_and_ended_from_the_command_line(cli: CliRunner) -> None:
    code, out = run(cli, "storm", "declare", "wuhan", "--reason", "暴雨红色预警")
    assert code == 0 and "reserve-w" in out, out
    code, out = run(cli, "storm", "declare", "wuhan", "--reason", "again")
    assert code == 1 and "cannot declare" in out, out
    code, out = run(cli, "storm", "status", "--json")
    assert code == 0, out
    (shown,) = json.loads(out)
    assert (shown["division"], shown["active"], shown["reason"]) == ("wuhan", True, "暴雨红色预警")
    code, out = run(cli, "storm", "end", "wuhan", "--reason", "lifted")
    assert code == 0 and "ended" in out, out
    code, out = run(cli, "storm", "status")
    assert code == 0 and "wuhan" in out, out
    assert actors("storm.declared")[0].startswith("cli:")
    assert actors("reserve.released") == actors("storm.ended")
