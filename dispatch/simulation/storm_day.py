"""A storm day for `everycall simulate --storm`: a CAP alert taken in through the alert service
(so storm.toml's policy declares storm mode and the reserve squads join), a duty roster with
some of the storm divisions' teams off shift, a burst of reports concentrated in those
divisions with more disaster-relief calls, and the storm-day figures counted from the event
log of the run.

Storm mode is left on when the run ends, as on a real storm day: an alert's end is a
dispatcher's call (`everycall storm end`), not the simulator's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from uuid import uuid4

import orjson
from rich.console import Console
from sqlalchemy import func, select

from dispatch.adapters.orm import IncidentRow
from dispatch.service_layer.access import Caller, Role
from dispatch.service_layer.alerts import AlertAnswer, ingest_cap_alert
from dispatch.service_layer.roster import import_shifts
from dispatch.service_layer.services import Services
from dispatch.simulation.crews import CrewHabits
from dispatch.simulation.load import IncidentMaker, simulated_incidents
from dispatch.simulation.storm import SimulationSummary, run_simulation, seed_if_empty
from events.log import LoggedEvent
from events.schemas.alerts import DivisionAction
from models.clock import ManualClock
from models.incident import Incident, IncidentKind, IncidentState, Priority
from models.roster import Shift
from models.team import Team

DEFAULT_ALERT = "tests/data/cap/red-rainstorm-geocode.xml"  # 暴雨红色预警 over Wuhan and Ezhou
REPO_ROOT = Path(__file__).resolve().parents[2]
ACTOR = "everycall-simulate"
OFF_DUTY_EVERY = 4  # one regular team in four of a storm division is off shift
# a storm brings more disaster relief (critical) and outages than an ordinary day
STORM_KIND_WEIGHTS: dict[IncidentKind, float] = {
    IncidentKind.DISASTER_RELIEF: 0.25,
    IncidentKind.OUTAGE: 0.35,
    IncidentKind.REPAIR: 0.25,
    IncidentKind.VULNERABLE_ASSISTANCE: 0.10,
    IncidentKind.EQUIPMENT_CHECK: 0.05,
}
_STORM_ON = (DivisionAction.DECLARED, DivisionAction.ALREADY_ON)


def alert_file(path: Path) -> Path:
    """The alert file as given if it exists from here, else relative to the repository (so the
    default works from any directory the CLI is run in)."""
    if path.is_file() or path.is_absolute():
        return path
    return REPO_ROOT / path


def take_in_alert(services: Services, xml: bytes) -> AlertAnswer:
    """The alert through the real service, as the dispatch centre's feed sends it."""
    caller = Caller(Role.DISPATCHER, name=f"{ACTOR}:alert-feed")
    return ingest_cap_alert(services, caller, xml)


def storm_divisions(answer: AlertAnswer) -> list[str]:
    """The divisions the alert put (or found) under storm mode."""
    return sorted(o.division for o in answer.outcomes if o.action in _STORM_ON)


def storm_roster(teams: Sequence[Team], divisions: Sequence[str], now: datetime) -> list[Shift]:
    """A day's shifts for every team of the storm divisions: on duty from an hour ago, except
    every OFF_DUTY_EVERY-th regular team, whose shift starts only tomorrow (off duty all run).
    Reserve squads are rostered on: storm mode, not the roster, holds them back."""
    regular = sorted(t.id for t in teams if t.region in divisions and not t.reserve)
    off = set(regular[OFF_DUTY_EVERY - 1 :: OFF_DUTY_EVERY])
    shifts = []
    for team in sorted((t for t in teams if t.region in divisions), key=lambda t: t.id):
        starts = now + timedelta(hours=20) if team.id in off else now - timedelta(hours=1)
        shifts.append(Shift(team.id, starts, starts + timedelta(hours=24)))
    return shifts


def roster_the_day(services: Services, teams: Sequence[Team], divisions: Sequence[str]) -> int:
    """Import the day's roster through the roster service; returns the off-duty teams."""
    now = services.clock.now()
    shifts = storm_roster(teams, divisions, now)
    caller = Caller(Role.DISPATCHER, name=f"{ACTOR}:roster")
    import_shifts(services, caller, shifts, source="simulate --storm")
    return sum(not s.covers(now) for s in shifts)


def storm_burst(teams: Sequence[Team], divisions: Sequence[str]) -> IncidentMaker:
    """Reports scattered around the storm divisions' teams, weighted to the storm's kinds."""
    local = [t for t in teams if t.region in divisions] or list(teams)

    def make(count: int, at: datetime, seed: int, run: str) -> list[Incident]:
        return simulated_incidents(
            local, count, at, seed=seed, run=run, kind_weights=STORM_KIND_WEIGHTS
        )

    return make


def log_head(services: Services) -> int:
    """The last sequence number in the event log: the run's events come after it."""
    with services.reads() as session:
        return int(session.scalar(select(func.max(LoggedEvent.seq))) or 0)


@dataclass
class StormFigures:
    """What the storm day did, counted from the event log after `since` (this run's events)."""

    reserves_activated: int = 0
    off_duty_passed_over: int = 0
    multi_team_incidents: int = 0
    teams_per_incident: dict[str, int] = field(default_factory=dict)
    critical_relief_calls: int = 0
    critical_relief_with_two_teams: int = 0
    support_tasks: int = 0
    support_tasks_answered: int = 0


def count_storm_figures(services: Services, since: int, prefix: str) -> StormFigures:
    """- reserves_activated: reserve.activated events of the run;
    - off_duty_passed_over: off-duty teams routing passed over, as each team.assigned
      explanation lists them (passed_over with rule off_duty);
    - multi_team_incidents: incidents of the run whose tasks (the lead's and its supports',
      from a response plan or a raised level) went to two teams or more at once;
      `teams_per_incident` counts incidents by how many distinct teams served their tasks
      (a team taken off a task and replaced counts too);
    - critical_relief_calls: critical disaster-relief calls of the run that were routed (not
      merged into another), and how many of them had two teams or more on their tasks;
    - support_tasks: the run's support tasks, and how many a team acknowledged."""
    figures = StormFigures()
    with services.reads() as session:
        figures.reserves_activated = int(
            session.scalar(
                select(func.count())
                .where(LoggedEvent.seq > since)
                .where(LoggedEvent.type == "reserve.activated")
            )
            or 0
        )
        calls = session.execute(
            select(
                IncidentRow.id,
                IncidentRow.lead_id,
                IncidentRow.kind,
                IncidentRow.priority,
                IncidentRow.acknowledged_at,
            )
            .where(IncidentRow.id.like(f"{prefix}%"))
            .where(IncidentRow.state != IncidentState.MERGED.value)
        ).all()
        rows = session.execute(
            select(LoggedEvent.subject, LoggedEvent.envelope)
            .where(LoggedEvent.seq > since)
            .where(LoggedEvent.type == "team.assigned")
            .where(LoggedEvent.subject.like(f"{prefix}%"))
        )
        lead_of = {i: lead or i for i, lead, *_ in calls}
        teams_of: dict[str, set[str]] = {}
        tasks_with_team: dict[str, set[str]] = {}
        for incident_id, text in rows:
            payload = orjson.loads(text)["payload"]
            lead = lead_of.get(incident_id, incident_id)
            teams_of.setdefault(lead, set()).add(payload["team_id"])
            tasks_with_team.setdefault(lead, set()).add(incident_id)
            decision = payload["explanation"][0] if payload["explanation"] else {}
            passed = decision.get("passed_over", [])
            figures.off_duty_passed_over += sum(p.get("rule") == "off_duty" for p in passed)
    by_count = Counter(len(teams) for teams in teams_of.values())
    figures.teams_per_incident = {str(k): by_count[k] for k in sorted(by_count)}
    figures.multi_team_incidents = sum(len(t) > 1 for t in tasks_with_team.values())
    critical = [
        i
        for i, lead, kind, priority, _ in calls
        if lead is None and kind == IncidentKind.DISASTER_RELIEF and priority == Priority.CRITICAL
    ]
    supports = [acked for _, lead, _, _, acked in calls if lead is not None]
    figures.support_tasks = len(supports)
    figures.support_tasks_answered = sum(acked is not None for acked in supports)
    figures.critical_relief_calls = len(critical)
    figures.critical_relief_with_two_teams = sum(len(teams_of.get(i, ())) > 1 for i in critical)
    return figures


@dataclass
class StormDaySummary(SimulationSummary):
    """The plain run's figures (answers, SLA, estimate errors) and the storm day's."""

    storm_divisions: list[str] = field(default_factory=list)
    alert_event: str = ""
    alert_duplicate: bool = False
    off_duty_teams: int = 0
    reserves_activated: int = 0
    off_duty_passed_over: int = 0
    multi_team_incidents: int = 0
    teams_per_incident: dict[str, int] = field(default_factory=dict)
    critical_relief_calls: int = 0
    critical_relief_with_two_teams: int = 0
    support_tasks: int = 0
    support_tasks_answered: int = 0


def run_storm_day(
    services: Services,
    clock: ManualClock,
    incidents: int,
    habits: CrewHabits,
    console: Console,
    alert_xml: bytes,
    *,
    step_min: float = 2.5,
) -> StormDaySummary:
    """Take in the alert, roster the day, then run the storm burst as `everycall simulate`
    does, and count the storm day's figures from the log."""
    teams = seed_if_empty(services)
    since = log_head(services)
    answer = take_in_alert(services, alert_xml)
    divisions = storm_divisions(answer)
    off_duty = roster_the_day(services, teams, divisions) if divisions else 0
    console.print(
        f"{answer.event} ({answer.severity}): 暴雨模式 storm mode in {', '.join(divisions) or '—'};"
        f" {off_duty} teams off duty 不在岗"
    )
    run = uuid4().hex[:8]
    plain = run_simulation(
        services,
        clock,
        incidents,
        habits,
        console,
        step_min=step_min,
        run=run,
        make_incidents=storm_burst(teams, divisions),
    )
    figures = count_storm_figures(services, since, f"sim-{run}-")
    return StormDaySummary(
        **asdict(plain),
        storm_divisions=divisions,
        alert_event=answer.event,
        alert_duplicate=answer.duplicate,
        off_duty_teams=off_duty,
        **asdict(figures),
    )
