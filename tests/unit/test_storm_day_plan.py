"""The storm day simulate --storm sets up: the roster's off-duty teams, the burst's places and
kinds, and the alert file found from any directory."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dispatch.simulation.storm_day import (
    DEFAULT_ALERT,
    OFF_DUTY_EVERY,
    alert_file,
    storm_burst,
    storm_roster,
)
from models.hubei import hubei_registry
from models.incident import IncidentKind
from models.roster import off_duty

NOW = datetime(2026, 7, 2, 6, 30, tzinfo=UTC)
DIVISIONS = ["ezhou", "wuhan"]


def test_the_roster_keeps_one_regular_team_in_four_off_and_every_reserve_on() -> None:
    teams = hubei_registry()
    shifts = storm_roster(teams, DIVISIONS, NOW)
    local = [t for t in teams if t.region in DIVISIONS]
    assert sorted(s.team_id for s in shifts) == sorted(t.id for t in local)
    off = off_duty({s.team_id: [s] for s in shifts}, NOW)
    regular = [t for t in local if not t.reserve]
    assert len(off) == len(regular) // OFF_DUTY_EVERY
    assert not off & {t.id for t in local if t.reserve}  # storm mode, not the roster, decides
    by_division = Counter(t.region for t in local if t.id not in off and not t.reserve)
    assert all(by_division[d] >= 1 for d in DIVISIONS)  # each division keeps teams on duty


def test_no_division_under_storm_mode_rosters_nobody() -> None:
    assert storm_roster(hubei_registry(), [], NOW) == []


def test_the_burst_is_a_storm_s_in_the_storm_divisions() -> None:
    teams = hubei_registry()
    burst = storm_burst(teams, DIVISIONS)(400, NOW, 7, "unit")
    assert len({i.id for i in burst}) == 400
    assert all(i.id.startswith("sim-unit-") for i in burst)
    inside = sum(i.region in DIVISIONS for i in burst)
    assert inside >= 0.8 * len(burst)
    relief = sum(i.kind is IncidentKind.DISASTER_RELIEF for i in burst)
    assert 0.15 * len(burst) <= relief <= 0.35 * len(burst)


def test_the_default_alert_is_found_from_anywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    found = alert_file(Path(DEFAULT_ALERT))
    assert found.is_file() and b"<event>" in found.read_bytes()
    here = tmp_path / "mine.xml"
    here.write_text("<alert/>")
    assert alert_file(Path("mine.xml")) == Path("mine.xml")  # one of this directory comes first
