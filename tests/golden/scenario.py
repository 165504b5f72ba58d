"""A scripted dispatch scenario: every command the system has, in a fixed order and time.

Used by the replay tests (replay == live after every step) and the tamper tests. The golden
v1 log was written once by `python -m tests.golden.scenario tests/golden`; it is kept as it
was, so a replay of it shows that old events still read. Do not rewrite it when the scenario
grows: write a new golden file (v2_…) if new event types need one.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from dispatch.service_layer import incidents, reassignment, tasks
from dispatch.service_layer.access import Caller, Role
from dispatch.service_layer.registry import replace_registry, report_location
from dispatch.service_layer.routing import handle_incident_records
from dispatch.service_layer.services import Services
from dispatch.service_layer.tasks import resolve_task
from dispatch.service_layer.watchdog import run_watchdog
from events import topics
from events.kafka import Record
from events.schemas import envelope_for
from events.schemas.incidents import IncidentReported
from models.clock import ManualClock
from models.incident import Incident, IncidentKind, Priority
from models.team import GeoPoint, Skill, Team

Step = Callable[[Services], None]


def team(team_id: str, lat: float, lon: float, capacity: int = 1, **extra: object) -> Team:
    return Team.model_validate(
        {
            "id": team_id,
            "name": f"Team {team_id}",
            "region": "wuhan",
            "home": GeoPoint(latitude=lat, longitude=lon),
            "leader": "Li Lei",
            "members": 6,
            "party_members": 4,
            "capacity": capacity,
            **extra,
        }
    )


TEAMS = [
    team("T-EAST", 30.60, 114.35, capacity=2),
    team("T-WEST", 30.58, 114.20),
    team("T-NORTH", 30.70, 114.30, skills=frozenset({Skill.REPAIR, Skill.DISASTER_RELIEF})),
]


def record(services: Services, n: int, lat: float, lon: float, kind: str = "repair") -> Record:
    incident = Incident(
        id=f"gold-{n:03d}",
        kind=IncidentKind(kind),
        priority=Priority.CRITICAL if kind == "disaster_relief" else Priority.NORMAL,
        latitude=lat,
        longitude=lon,
        address=f"No. {n} Jiefang Avenue",
        region="wuhan",
        reported_at=services.clock.now(),
    )
    envelope = envelope_for(
        IncidentReported(**incident.model_dump()),
        producer="call-centre",
        key="wuhan",
        at=services.clock.now(),
    )
    return Record(topics.INCIDENTS, 0, n, b"wuhan", envelope.to_bytes())


def _advance(services: Services, minutes: float) -> None:
    clock = services.clock
    assert isinstance(clock, ManualClock), "the scenario runs on a manual clock"
    clock.advance(minutes=minutes)


def import_registry(services: Services) -> None:
    with services.sessions.begin() as session:
        replace_registry(session, TEAMS, services.clock.now())


def report_burst(services: Services) -> None:
    """Five calls for three teams with four places: one waits in the queue."""
    _advance(services, 1)
    places = [(30.601, 114.351), (30.581, 114.201), (30.702, 114.301), (30.60, 114.34)]
    records = [record(services, n, lat, lon) for n, (lat, lon) in enumerate(places, 1)]
    records.append(record(services, 5, 30.69, 114.31, kind="disaster_relief"))
    handle_incident_records(services, records)


def redeliver(services: Services) -> None:
    """A redelivered report changes nothing and logs nothing."""
    handle_incident_records(services, [record(services, 1, 30.601, 114.351)])


DISPATCHER = Caller(Role.DISPATCHER, name="dispatcher:zhang")


def crew(team_id: str) -> Caller:
    return Caller(Role.TEAM, team_id=team_id, name=f"team:{team_id}")


def task_of(services: Services, team_id: str) -> str:
    return min(i for i, t in _assigned(services) if t == team_id)


def acknowledge_travel_arrive(services: Services) -> None:
    incident = task_of(services, "T-WEST")
    tasks.acknowledge(services, incident, crew("T-WEST"))
    _advance(services, 1)
    tasks.mark_en_route(services, incident, crew("T-WEST"))
    _advance(services, 1)
    tasks.mark_on_scene(services, incident, crew("T-WEST"))


def decline_one(services: Services) -> None:
    incident = task_of(services, "T-EAST")
    tasks.decline(services, incident, crew("T-EAST"), "crew stuck behind a flooded road")


def merge_duplicate(services: Services) -> None:
    """A second call about the flooded substation, 40 m from the first: linked, no new team."""
    grouping = services.settings.model_copy(update={"storm_radius_m": 200, "storm_window_min": 30})
    handle_incident_records(
        replace(services, settings=grouping),  # on, whatever the test settings say
        [record(services, 8, 30.6903, 114.3101, "disaster_relief")],
    )


def unlink_duplicate(services: Services) -> None:
    incidents.unlink_duplicate(services, "gold-008", DISPATCHER)


def reprioritize(services: Services) -> None:
    incidents.change_priority(services, "gold-004", DISPATCHER, Priority.HARDSHIP)


def watchdog_warns_then_withdraws(services: Services) -> None:
    """Unacknowledged tasks: a warning at half the target, then withdrawal at the deadline."""
    _advance(services, 3)
    run_watchdog(services)
    _advance(services, 3)
    run_watchdog(services)


def cancel_one(services: Services) -> None:
    waiting = [i for i, t in _incidents(services) if t in ("queued", "reported")]
    incidents.cancel(services, min(waiting), DISPATCHER, "caller reports power is back")


def locate_team(services: Services) -> None:
    _advance(services, 2)
    report_location(services, "T-WEST", 30.59, 114.22)


def resolve_two(services: Services) -> None:
    _advance(services, 30)
    for incident_id, team_id in sorted(_assigned(services))[:2]:
        resolve_task(services, incident_id, team_id, notes="line repaired")


def route_queue(services: Services) -> None:
    """A pass with no new records assigns what waited."""
    _advance(services, 1)
    handle_incident_records(services, [])


def change_registry(services: Services) -> None:
    """T-NORTH finishes its work and retires, T-EAST grows, T-SOUTH joins."""
    _advance(services, 5)
    for incident_id, team_id in sorted(_assigned(services)):
        if team_id == "T-NORTH":
            resolve_task(services, incident_id, team_id, notes="last job before retiring")
    east = TEAMS[0].model_copy(update={"capacity": 3})
    south = team("T-SOUTH", 30.50, 114.30, reserve=True)
    with services.sessions.begin() as session:
        replace_registry(session, [east, TEAMS[1], south], services.clock.now())


def reassign_by_hand(services: Services) -> None:
    """The dispatcher hands a task to the nearest team with room, and says why."""
    _advance(services, 1)
    first = next(c for c in reassignment.candidates(services, "gold-003") if c.eligible)
    reassignment.reassign(services, "gold-003", DISPATCHER, first.team_id, "crew needed nearby")


def report_more(services: Services) -> None:
    _advance(services, 3)
    handle_incident_records(
        services, [record(services, 6, 30.51, 114.31), record(services, 7, 30.60, 114.36)]
    )


def call_off_support(services: Services) -> None:
    """The critical disaster-relief call's plan wants a second team, and the one team with
    the skill holds its lead: the dispatcher calls the support task off."""
    _advance(services, 1)
    incidents.cancel(services, "gold-005.1", DISPATCHER, "no second relief team today")


def raise_level(services: Services) -> None:
    """T-EAST finishes two jobs; the dispatcher asks for one more team at a call, and its
    support task is routed with the queue."""
    from dispatch.service_layer.support_tasks import raise_level

    _advance(services, 1)
    for incident_id in ("gold-003", "gold-004"):
        resolve_task(services, incident_id, "T-EAST", notes="done")
    raise_level(services, "gold-006", DISPATCHER, "the line is down over two streets")
    route_queue(services)


def resolve_all(services: Services) -> None:
    """Support tasks first: a lead task resolves last."""
    _advance(services, 45)
    for incident_id, team_id in sorted(_assigned(services), key=lambda t: ("." not in t[0], t)):
        resolve_task(services, incident_id, team_id)


def notify_a_crew(services: Services) -> None:
    """An open task told to the team's group bot (one attempt fails, the retry is delivered), seen
    on the crew's phone; a member goes on duty and off again. The notifier's transactions as
    it runs them, without the network: the channels' answers are given."""
    from dispatch.adapters.notify_config import NotifyConfig, WebhookEndpoint
    from dispatch.service_layer.duty import set_duty
    from dispatch.service_layer.notify_record import Finished, record_progress, take_events
    from dispatch.service_layer.seen import mark_seen
    from models.notice import Outcome

    _advance(services, 2)
    incident_id, team_id = min(_assigned(services))
    member = Caller(Role.TEAM, team_id=team_id, name="user:wang.fang")
    set_duty(services, member, "wang.fang", True)
    bot = WebhookEndpoint.model_validate(
        {"name": "ops", "kind": "json", "url": "https://ops.example.cn/hook", "secret": "s"}
    )
    taken = take_events(services, NotifyConfig(webhooks=(bot,)))
    jobs = taken.jobs
    record_progress(services, [j for j in jobs if j.delivery.delivery_id not in taken.leaving], [])
    told = [j for j in jobs if j.incident_id == incident_id and j.about == "team.assigned"][-1]
    retry = told.retried(services.clock.now())
    delivered = [Finished(job, Outcome(True, status=200)) for job in jobs if job is not told]
    record_progress(services, [], [Finished(told, Outcome(False, "HTTP 500", 500, True), retry)])
    record_progress(services, [retry], delivered)
    record_progress(services, [], [Finished(retry, Outcome(True, status=200))])
    _advance(services, 0.5)
    mark_seen(services, incident_id, crew(team_id))
    set_duty(services, member, "wang.fang", False)


def roster_and_storm(services: Services) -> None:
    """The dispatcher imports T-EAST's shifts, declares storm mode in Wuhan (the reserve T-SOUTH
    is called up) and ends it (released)."""
    from datetime import timedelta

    from dispatch.service_layer.roster import import_shifts
    from dispatch.service_layer.storm import declare_storm_mode, end_storm_mode
    from models.roster import Shift

    _advance(services, 1)
    now = services.clock.now()
    shifts = [Shift("T-EAST", now - timedelta(hours=1), now + timedelta(hours=7))]
    import_shifts(services, DISPATCHER, shifts, source="roster.csv")
    declare_storm_mode(services, DISPATCHER, "wuhan", "暴雨红色预警 red rainstorm warning")
    _advance(services, 30)
    end_storm_mode(services, DISPATCHER, "wuhan", "the warning is lifted")


def weather_alert(services: Services) -> None:
    """The meteorological feed's orange rainstorm warning over Xiaogan proposes storm mode there;
    the feed sends it again, and the copy acts never."""
    from dispatch.service_layer.alerts import ingest_cap_alert

    xml = (
        Path(__file__).parents[1] / "data" / "cap" / "orange-rainstorm-proposes.xml"
    ).read_bytes()
    feed = Caller(Role.DISPATCHER, name="cma-hubei")
    _advance(services, 1)
    ingest_cap_alert(services, feed, xml)
    ingest_cap_alert(services, feed, xml)


def team_story(services: Services) -> None:
    """An admin adds a service story to T-EAST's public page."""
    from dispatch.service_layer.stories import add_story
    from models.story import StoryText

    story = StoryText(
        title="雨夜抢修",
        body="暴雨中连夜恢复了小区供电。",
        title_en="A night repair in the rain",
        body_en="Power back to the estate overnight, in the rainstorm.",
    )
    _advance(services, 1)
    add_story(services, "T-EAST", story, actor="user:admin.li")


def _assigned(services: Services) -> list[tuple[str, str]]:
    """Open tasks with a team: (incident, team)."""
    from sqlalchemy import select

    from dispatch.adapters.orm import IncidentRow

    with_team = ("assigned", "acknowledged", "en_route", "on_scene")
    with services.reads() as session:
        rows = session.execute(
            select(IncidentRow.id, IncidentRow.team_id).where(IncidentRow.state.in_(with_team))
        ).all()
    return [(str(i), str(t)) for i, t in rows]


def _incidents(services: Services) -> list[tuple[str, str]]:
    from sqlalchemy import select

    from dispatch.adapters.orm import IncidentRow

    with services.reads() as session:
        rows = session.execute(select(IncidentRow.id, IncidentRow.state)).all()
    return [(str(i), str(state)) for i, state in rows]


STEPS: list[tuple[str, Step]] = [
    ("import registry", import_registry),
    ("report a burst", report_burst),
    ("redeliver a report", redeliver),
    ("a team acknowledges, travels, arrives", acknowledge_travel_arrive),
    ("a team declines", decline_one),
    ("a storm duplicate is merged", merge_duplicate),
    ("the dispatcher unlinks it", unlink_duplicate),
    ("a priority changes", reprioritize),
    ("the watchdog warns, then withdraws", watchdog_warns_then_withdraws),
    ("the dispatcher cancels one", cancel_one),
    ("team reports its location", locate_team),
    ("resolve two tasks", resolve_two),
    ("route the queue", route_queue),
    ("the dispatcher calls off a support task", call_off_support),
    ("change the registry", change_registry),
    ("the dispatcher reassigns one by hand", reassign_by_hand),
    ("report more", report_more),
    ("the dispatcher raises a call's level", raise_level),
    ("a crew is told, once after a failure, and sees its task", notify_a_crew),
    ("the roster is imported, storm mode declared and ended", roster_and_storm),
    ("a weather alert proposes storm mode, once", weather_alert),
    ("an admin adds a team's story", team_story),
    ("resolve the rest", resolve_all),
]


def write_golden(directory: Path) -> None:
    """Run the scenario on a fresh SQLite file and keep its log and replayed state."""
    import tempfile

    from dispatch import bootstrap
    from dispatch.config import Settings
    from tests.golden.golden import dump_log, dump_state

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/golden.db"
        with bootstrap.database(Settings(database_url=url), clock=ManualClock()) as services:
            for _, step in STEPS:
                step(services)
            dump_log(services.engine, directory / "v1_log.jsonl")
            dump_state(services.engine, directory / "v1_state.json")


if __name__ == "__main__":
    write_golden(Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent))
