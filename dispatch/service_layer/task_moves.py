"""A team's moves as the API takes them: one step on one task, checked as the team's own, and,
with an Idempotency-Key, applied once and answered as the first time.

The crew's phone queues taps made without a network and sends them later, each with the key
made at the tap; a tap whose answer was lost is sent again. The key, a digest of the move and
its caller, and the first answer are kept (kept_answers.py): the same key with another move is
refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy.exc import IntegrityError

from dispatch.adapters.orm import IncidentRow
from dispatch.service_layer import tasks
from dispatch.service_layer.access import Caller, check_still_own_task
from dispatch.service_layer.kept_answers import first_answer, remember, request_digest
from dispatch.service_layer.services import Services
from dispatch.service_layer.unit_of_work import Commands, unit_of_work
from dispatch.views.board import IncidentView, incident_view


class Step(StrEnum):
    """A team's move, named as in its route (`POST /tasks/{id}/<step>`)."""

    ACKNOWLEDGE = "ack"
    DECLINE = "decline"
    EN_ROUTE = "en-route"
    ON_SCENE = "on-scene"
    RESOLVE = "resolve"


StepCommand = Callable[[Commands, str, Caller, str, datetime], IncidentRow]

# each step's command; `text` is a decline's reason or a resolve's notes
_COMMANDS: dict[Step, StepCommand] = {
    Step.ACKNOWLEDGE: lambda uow, i, caller, text, now: tasks.acknowledge_in(uow, i, caller, now),
    Step.DECLINE: tasks.decline_in,
    Step.EN_ROUTE: lambda uow, i, caller, text, now: tasks.mark_en_route_in(uow, i, caller, now),
    Step.ON_SCENE: lambda uow, i, caller, text, now: tasks.mark_on_scene_in(uow, i, caller, now),
    Step.RESOLVE: tasks.resolve_in,
}


@dataclass(frozen=True)
class Move:
    """One tap: which step on which task, and its text."""

    step: Step
    incident_id: str
    text: str = ""

    def digest(self, caller: Caller) -> str:
        """Same move by the same caller, same digest: tells a replay from a reused key."""
        return request_digest(
            caller, step=self.step.value, incident_id=self.incident_id, text=self.text
        )


def take_step(services: Services, move: Move, caller: Caller, key: str | None) -> IncidentView:
    """The move, in a unit of work of its own; returns the incident as the board shows it.

    With a key already used for this move by this caller, the first answer, and nothing is
    applied again; used for anything else, IdempotencyKeyReused (422)."""
    try:
        return _take_step(services, move, caller, key)
    except IntegrityError:
        if key is None:
            raise
        # a twin request with the same key committed first: answer as it was answered
        return _take_step(services, move, caller, key)


def _take_step(services: Services, move: Move, caller: Caller, key: str | None) -> IncidentView:
    now = services.clock.now()
    digest = move.digest(caller)
    with unit_of_work(services) as uow:
        # the incident's lock first: a twin with the same key waits here, then finds its answer
        incident = uow.rows.incident(move.incident_id)
        if key is not None:
            first = first_answer(uow.session, key, digest)
            if first is not None:
                return first
        check_still_own_task(uow.session, incident, caller)
        _COMMANDS[move.step](uow, move.incident_id, caller, move.text, now)
        uow.session.flush()
        view = incident_view(uow.session, move.incident_id)
        if key is not None:
            remember(uow.session, key, digest, view, now)
        return view
