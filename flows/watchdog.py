"""The SLA watchdog flow: one flow run handles every clock that is due, in one batch.

The run gets its services by a ticket (`SERVICES`, flows/handoff.py): flow and task parameters
go to the Prefect API, the services stay in this process.
"""

from __future__ import annotations

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from dispatch.adapters.outbox import relay
from dispatch.service_layer.services import Services
from dispatch.service_layer.watchdog import run_watchdog
from flows.handoff import Handoff

SERVICES: Handoff[Services] = Handoff()


@task(name="act-on-due-clocks", cache_policy=NO_CACHE)
async def act_on_due_clocks(ticket: int) -> dict[str, int]:
    return run_watchdog(SERVICES.get(ticket)).as_dict()


@task(name="publish-outbox", cache_policy=NO_CACHE)
async def publish_outbox(ticket: int) -> int:
    services = SERVICES.get(ticket)
    return relay(services.sessions, services.publisher)


@flow(name="sla-watchdog", log_prints=False, validate_parameters=False)
async def sla_watchdog(ticket: int) -> dict[str, int]:
    """Warn, withdraw, reassign and escalate by the stored deadlines; then announce it."""
    outcome = await act_on_due_clocks(ticket)
    await publish_outbox(ticket)
    return outcome


async def run_sla_watchdog(services: Services) -> dict[str, int]:
    """One watchdog flow run acting with `services`."""
    with SERVICES.handed(services) as ticket:
        return await sla_watchdog(ticket)
