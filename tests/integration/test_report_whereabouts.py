"""The fault tests' post-mortem names where a missing report was last seen."""

from __future__ import annotations

from dispatch.adapters.outbox import relay
from dispatch.service_layer.access import Caller, Role
from dispatch.service_layer.intake import IncidentReport, accept_report
from dispatch.service_layer.services import Services
from tests.faults.whereabouts import last_seen
from tests.integration.spine_helpers import WUHAN


def places(services: Services, ids: list[str]) -> dict[str, str]:
    group = services.settings.consumer_group
    sightings = last_seen(services.engine, services.bootstrap_servers, group, ids)
    return {s.incident_id: s.place for s in sightings}


def test_a_report_is_traced_from_the_outbox_to_its_topic_offset_or_to_nowhere(
    services: Services,
) -> None:
    caller = Caller(Role.DISPATCHER, name="whereabouts-test")
    report = IncidentReport(kind="repair", latitude=WUHAN[0], longitude=WUHAN[1])
    accepted = accept_report(services, report, caller, idempotency_key=None)

    before = places(services, [accepted, "inc-never-reported"])
    assert before[accepted] == "in the outbox, not yet published"
    assert before["inc-never-reported"].startswith("nowhere")

    relay(services.sessions, services.publisher)
    after = places(services, [accepted])[accepted]
    assert after.startswith("on everycall.incidents partition"), after
    assert "not yet consumed (group committed up to 0)" in after
