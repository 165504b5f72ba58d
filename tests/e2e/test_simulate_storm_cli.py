"""`everycall simulate --storm` as an operator runs it, on SQLite and PostgreSQL: the red
rainstorm alert over Wuhan and Ezhou declares storm mode through the alert service, reserves
join, a roster keeps some teams off shift, and every call of the burst is still answered.
The figures of the summary are checked against the database the run left behind."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

INCIDENTS = 240
STORM_DIVISIONS = ["ezhou", "wuhan"]


def run_cli(tmp_path: Path, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("KAFKA_BOOTSTRAP_SERVERS", "PREFECT_API_URL")
    }
    env["EVERYCALL_DATABASE_URL"] = database_url
    env["PREFECT_HOME"] = str(tmp_path / "prefect")
    return subprocess.run(
        [sys.executable, "-m", "dispatch.entrypoints.cli.main", "simulate", *args],
        env=env,
        cwd=tmp_path,  # not the repo: the default alert is found all the same
        capture_output=True,
        text=True,
        timeout=900,
    )


def rows(database_url: str, sql: str) -> list[Any]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(text(sql)))
    finally:
        engine.dispose()


def test_storm_day_answers_every_call_with_reserves_and_a_roster(
    tmp_path: Path, database_url: str
) -> None:
    summary = tmp_path / "storm.json"
    done = run_cli(
        tmp_path,
        database_url,
        "--storm",
        "--incidents",
        str(INCIDENTS),
        "--summary-json",
        str(summary),
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    figures = json.loads(summary.read_text(encoding="utf-8"))
    for name in ("storm divisions", "reserves activated", "off duty passed over"):
        assert name in done.stdout, name

    # the alert declared storm mode in both divisions, and it is on in the database
    assert figures["storm_divisions"] == STORM_DIVISIONS
    assert figures["alert_event"] == "暴雨红色预警" and figures["alert_duplicate"] is False
    on = rows(database_url, "SELECT division FROM storm_modes WHERE active ORDER BY division")
    assert [d for (d,) in on] == STORM_DIVISIONS
    # each division's reserve squad joined, and the log says so
    assert figures["reserves_activated"] == 2
    activated = rows(database_url, "SELECT count(*) FROM event_log WHERE type='reserve.activated'")
    assert activated[0][0] == 2
    # the roster kept teams off shift, and routing passed over some nearer than the one sent
    assert figures["off_duty_teams"] >= 1
    assert figures["off_duty_passed_over"] >= 1

    # every call answered: each incident of the run is resolved (or merged into one that was)
    assert figures["reported"] == INCIDENTS
    assert figures["unanswered"] == 0
    assert figures["acknowledged"] + figures["merged"] == INCIDENTS
    calls = "FROM incidents WHERE id LIKE 'sim-%' AND lead_id IS NULL"
    states = dict(rows(database_url, f"SELECT state, count(*) {calls} GROUP BY 1"))
    assert sum(states.values()) == INCIDENTS, states  # none lost
    assert set(states) <= {"resolved", "merged"}, states
    supports = "FROM incidents WHERE id LIKE 'sim-%' AND lead_id IS NOT NULL"
    support_states = dict(rows(database_url, f"SELECT state, count(*) {supports} GROUP BY 1"))
    assert set(support_states) == {"resolved"}, support_states  # each support task done too
    # the burst was a storm's: concentrated in the two divisions, with critical relief calls
    where = dict(rows(database_url, "SELECT region, count(*) FROM incidents GROUP BY 1"))
    assert sum(where.get(d, 0) for d in STORM_DIVISIONS) >= 0.8 * INCIDENTS, where
    relief = rows(
        database_url,
        "SELECT count(*) FROM incidents WHERE kind='disaster_relief' AND priority='critical'",
    )
    assert relief[0][0] >= 0.1 * INCIDENTS

    # critical disaster-relief calls got two teams at once, each support task answered
    relief_calls = figures["critical_relief_calls"]
    assert relief_calls >= 1
    assert figures["critical_relief_with_two_teams"] == relief_calls
    assert figures["multi_team_incidents"] >= relief_calls
    assert figures["support_tasks"] == sum(support_states.values()) >= relief_calls
    assert figures["support_tasks_answered"] == figures["support_tasks"]
    per = figures["teams_per_incident"]
    assert sum(per.values()) == INCIDENTS - figures["merged"]
    assert sum(n for k, n in per.items() if int(k) > 1) >= figures["multi_team_incidents"]
    assert figures["reassigned"] >= 1

    # the estimates' error, finite and within the run and the longest time on site assumed
    assert figures["eta_measured"] > 0.9 * figures["acknowledged"]
    bound = figures["simulated_minutes"] + 240
    for name in ("eta_error_min_mean", "eta_error_min_p90", "ert_error_min_mean"):
        value = figures[name]
        assert value is not None and math.isfinite(value) and 0 <= value <= bound, (name, value)


def test_a_storm_alert_that_is_not_there_is_refused_before_anything_runs(tmp_path: Path) -> None:
    database = tmp_path / "never.db"
    done = run_cli(
        tmp_path, f"sqlite:///{database}", "--storm", "--storm-alert", "no-such-alert.xml"
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "no-such-alert.xml" in done.stdout + done.stderr
    assert not database.exists()
