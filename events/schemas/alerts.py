"""Schemas of the weather-alert stream: a CAP 1.2 alert received (with what it did in each
division it covers) and storm mode proposed for a dispatcher to confirm. Each names its actor."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from events.schemas import EventPayload, register


class DivisionAction(StrEnum):
    """What an alert did in one division it covers."""

    DECLARED = "declared"  # storm mode declared by the alert (the policy says declare)
    PROPOSED = "proposed"  # storm mode proposed; a dispatcher confirms (storm.proposed)
    ALREADY_ON = "already_on"  # storm mode was on already: nothing new
    END_PROPOSED = "end_proposed"  # a Cancel where storm mode is on: ending it is proposed
    NOTHING = "nothing"  # the policy ignores it, or it is a test, or nothing to cancel
    EXPIRED = "expired"  # its expires time had passed when it came (a late redelivery)
    NO_TEAMS = "no_teams"  # the division has no teams, so no storm mode to declare


class DivisionOutcome(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    division: str = Field(max_length=64)
    matched_by: str = Field(max_length=200, description='"geocode 420100" or "polygon"')
    action: DivisionAction


@register
class AlertReceived(EventPayload):
    """A valid CAP alert came in, once per identifier, sender and sent (CAP's own key)."""

    TYPE: ClassVar[str] = "alert.received"
    VERSION: ClassVar[int] = 1

    identifier: str = Field(max_length=500)
    sender: str = Field(max_length=500)
    sent: str = Field(max_length=64, description="as the alert says it, with its offset")
    status: str = Field(max_length=32, description="Actual, Exercise, System, Test, Draft")
    msg_type: str = Field(max_length=32, description="Alert, Update, Cancel, Ack, Error")
    references: str = Field(default="", max_length=4000)
    event: str = Field(max_length=500, description="e.g. 暴雨红色预警")
    severity: str = Field(max_length=32)
    headline: str = Field(default="", max_length=1000)
    origin: str = Field(max_length=200, description="api, or topic/partition@offset")
    actor: str = Field(max_length=200, description="who sent it in")
    outcomes: list[DivisionOutcome]
    received_at: AwareDatetime


class ProposedChange(StrEnum):
    DECLARE = "declare"
    END = "end"  # a Cancel of the alert: storm mode stays on until a dispatcher ends it


@register
class StormProposed(EventPayload):
    """An alert proposes declaring (or ending) storm mode in a division; a dispatcher decides."""

    TYPE: ClassVar[str] = "storm.proposed"
    VERSION: ClassVar[int] = 1

    division: str = Field(min_length=1, max_length=64)
    change: ProposedChange
    identifier: str = Field(max_length=500, description="the CAP alert that proposes it")
    sender: str = Field(max_length=500)
    event: str = Field(max_length=500)
    severity: str = Field(max_length=32)
    reason: str = Field(max_length=1000)
    actor: str = Field(max_length=200)
    proposed_at: AwareDatetime
