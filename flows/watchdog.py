"""The SLA watchdog flow: one flow run handles every clock that is due, in one batch."""

from __future__ import annotations

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from dispatch import bootstrap
from dispatch.adapters.outbox import relay
from dispatch.service_layer.watchdog import run_watchdog


@task(name="act-on-due-clocks", cache_policy=NO_CACHE)
async def act_on_due_clocks() -> dict[str, int]:
    return run_watchdog(bootstrap.current()).as_dict()


@task(name="publish-outbox", cache_policy=NO_CACHE)
async def publish_outbox() -> int:
    services = bootstrap.current()
    return relay(services.sessions, services.publisher)


@flow(name="sla-watchdog", log_prints=False, validate_parameters=False)
async def sla_watchdog() -> dict[str, int]:
    """Warn, withdraw, reassign and escalate by the stored deadlines; then announce it."""
    outcome = await act_on_due_clocks()
    await publish_outbox()
    return outcome
