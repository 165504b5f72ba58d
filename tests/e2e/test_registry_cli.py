"""`everycall teams|grid|queue` as an operator types them, on a real SQLite file, no broker."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dispatch import bootstrap
from dispatch.adapters.registry_files import export_teams
from dispatch.config import Settings
from dispatch.entrypoints.cli.main import app
from dispatch.service_layer.registry import replace_registry
from dispatch.service_layer.routing import handle_incident_records
from events import topics
from events.kafka import Record
from events.schemas import envelope_for
from events.schemas.incidents import IncidentReported
from models.clock import ManualClock
from models.hubei import hubei_registry
from models.incident import Incident, IncidentKind, Priority
from tests.faults.harness import everycall_command
from tests.integration.spine_helpers import team


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("EVERYCALL_DATABASE_URL", f"sqlite:///{tmp_path / 'registry.db'}")
    monkeypatch.setenv("EVERYCALL_LANG", "en")  # the messages asserted are the English ones
    yield CliRunner()


@pytest.fixture
def hubei_csv(tmp_path: Path) -> Path:
    path = tmp_path / "hubei.csv"
    export_teams(hubei_registry(), path)
    return path


def run(cli: CliRunner, *args: str) -> tuple[int, str]:
    result = cli.invoke(app, list(args))
    return result.exit_code, result.output


def test_the_hubei_registry_imports_lists_and_exports_round_trip(
    cli: CliRunner, hubei_csv: Path, tmp_path: Path
) -> None:
    code, out = run(cli, "teams", "import", str(hubei_csv))
    assert code == 0 and "imported 310 teams" in out
    code, out = run(cli, "teams", "list", "--region", "shennongjia", "--json")
    assert code == 0
    assert [t["id"] for t in json.loads(out)] == ["HB-SN-001", "HB-SN-R01"]
    exported = tmp_path / "again.json"
    assert run(cli, "teams", "export", str(exported))[0] == 0
    again = json.loads(exported.read_text())
    assert len(again) == 310
    assert {t["id"] for t in again} == {t.id for t in hubei_registry()}


def test_a_bad_row_is_refused_with_its_line_and_nothing_is_imported(
    cli: CliRunner, hubei_csv: Path
) -> None:
    lines = hubei_csv.read_text().splitlines()
    fields = lines[4].split(",")
    fields[9] = "0"  # capacity of the team on line 5
    lines[4] = ",".join(fields)
    hubei_csv.write_text("\n".join(lines) + "\n")
    code, out = run(cli, "teams", "import", str(hubei_csv))
    assert code == 1
    assert "line 5" in out and "capacity" in out and "nothing changed" in out
    code, out = run(cli, "teams", "list", "--json")
    assert code == 0 and json.loads(out) == []


def test_a_bad_import_leaves_the_previous_registry_as_it_was(
    cli: CliRunner, hubei_csv: Path, tmp_path: Path
) -> None:
    assert run(cli, "teams", "import", str(hubei_csv))[0] == 0
    broken = tmp_path / "broken.json"
    broken.write_text('[{"id": "X-1", "name": "x", "region": "wuhan"}]')
    code, out = run(cli, "teams", "import", str(broken))
    assert code == 1 and "item 1" in out
    assert len(json.loads(run(cli, "teams", "list", "--json")[1])) == 310


def test_show_and_qr_give_the_card_and_the_codes(
    cli: CliRunner, hubei_csv: Path, tmp_path: Path
) -> None:
    run(cli, "teams", "import", str(hubei_csv))
    code, out = run(cli, "teams", "show", "HB-WH-001", "--json")
    assert code == 0
    shown = json.loads(out)
    assert shown["registration_code"].startswith("EC-HB-") and shown["grid_cells"] > 0
    code, out = run(cli, "teams", "qr", "HB-WH-001", "--out", str(tmp_path / "qr"))
    assert code == 0
    assert (tmp_path / "qr" / "HB-WH-001.svg").read_text().startswith("<?xml")
    assert (tmp_path / "qr" / "HB-WH-001.png").read_bytes()[:4] == b"\x89PNG"
    assert run(cli, "teams", "show", "NO-SUCH")[0] == 1


def test_grid_coverage_reports_unowned_town_cells_and_idle_teams(
    cli: CliRunner, hubei_csv: Path
) -> None:
    run(cli, "teams", "import", str(hubei_csv))
    code, out = run(cli, "grid", "coverage", "--json")
    assert code == 0
    report = json.loads(out)
    assert report["teams"] == 310 and report["cells_owned"] == 6_414
    assert report["teams_without_cells"] == []
    assert 0 < report["owned_of_interest"] <= report["cells_of_interest"]
    assert len(report["unowned_cells"]) == report["cells_of_interest"] - report["owned_of_interest"]


def test_queue_lists_the_waiting_incidents_oldest_first(cli: CliRunner, tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'registry.db'}")
    clock = ManualClock()
    with bootstrap.database(settings, clock) as services:
        with services.sessions.begin() as session:
            replace_registry(session, [team("only", 30.60, 114.30, capacity=1)], clock.now())
        reports = [
            Incident(
                id=f"inc-{n}",
                kind=IncidentKind.REPAIR,
                priority=priority,
                latitude=30.6 + n / 50,  # kilometres apart: not storm duplicates of each other
                longitude=114.3,
                region="wuhan",
                reported_at=clock.now() - timedelta(minutes=minutes),
            )
            for n, (priority, minutes) in enumerate(
                [(Priority.CRITICAL, 1), (Priority.LOW, 95), (Priority.NORMAL, 10)]
            )
        ]
        records = [
            Record(
                topics.INCIDENTS,
                0,
                n,
                b"wuhan",
                envelope_for(
                    IncidentReported(**i.model_dump()), producer="t", key="wuhan", at=clock.now()
                ).to_bytes(),
            )
            for n, i in enumerate(reports)
        ]
        outcome = handle_incident_records(services, records)
    # the 95-minute-old low-priority call has aged to the top and got the only team
    assert (outcome.assigned, outcome.queued) == (1, 2)
    code, out = run(cli, "queue", "--json")
    assert code == 0
    waiting = json.loads(out)
    assert [w["id"] for w in waiting] == ["inc-2", "inc-0"]
    assert [w["priority"] for w in waiting] == ["normal", "critical"]
    assert waiting[0]["age_min"] >= 10
    code, out = run(cli, "queue")
    assert code == 0 and "2 incidents waiting" in out


def test_teams_list_at_80_columns_shows_every_team_id_whole(
    cli: CliRunner, hubei_csv: Path, tmp_path: Path
) -> None:
    assert run(cli, "teams", "import", str(hubei_csv))[0] == 0
    env = {**os.environ, "EVERYCALL_DATABASE_URL": f"sqlite:///{tmp_path / 'registry.db'}"}
    listed = subprocess.run(
        [*everycall_command(), "teams", "list"],
        env={**env, "COLUMNS": "80"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    shown = {cell.strip() for line in lines for cell in line.split("│")[1:2]}
    assert {t.id for t in hubei_registry()} <= shown
