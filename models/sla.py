"""SLA policies and clocks: targets by area class, priority and kind, and the pure arithmetic of
deadlines, pauses, warnings and breaches at an injected `now`.

Three clocks per incident:

| clock       | starts                       | met when      | runs in             | paused in |
|-------------|------------------------------|---------------|---------------------|-----------|
| acknowledge | a team is assigned (one per  | acknowledged  | assigned            | merged    |
|             | assignment: `attempt` 1, 2…) |               |                     |           |
| arrive      | the report (reported_at)     | on scene      | every open state    | merged    |
| resolve     | arrival on scene             | resolved      | every open state    | merged    |

Waiting in the queue, a decline, a reassignment or an escalation never pause a clock: the caller
is still waiting. A merged duplicate is served by its master, so its clocks pause until it is
unlinked; the paused time is added to the deadline. A decline stops that team's acknowledge
clock without a verdict (an answer, not a miss); a withdrawal breaches it; cancelling stops
every clock. A priority change re-targets the running clocks from their original start, so the
arrive clock counts from the original report time.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, model_validator

from models.incident import AreaClass, IncidentKind, IncidentState, Priority
from models.lifecycle import Action

WARNING_FRACTIONS: tuple[float, ...] = (0.5, 0.75)


class ClockKind(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    ARRIVE = "arrive"
    RESOLVE = "resolve"


class ClockState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    MET = "met"
    BREACHED = "breached"
    STOPPED = "stopped"  # closed without a verdict: cancelled, or the team declined


OPEN_CLOCK_STATES = frozenset({ClockState.RUNNING, ClockState.PAUSED})
PAUSED_IN: dict[ClockKind, frozenset[IncidentState]] = {
    kind: frozenset({IncidentState.MERGED}) for kind in ClockKind
}


def runs_in(kind: ClockKind, state: IncidentState) -> bool:
    """Whether an open clock of `kind` counts down while the incident is in `state`."""
    return state not in PAUSED_IN[kind]


@dataclass(frozen=True)
class ClockEffects:
    """What an action does to the clocks: which start, and which close with what verdict."""

    starts: tuple[ClockKind, ...] = ()
    closes: dict[ClockKind, ClockState] = field(default_factory=dict)


STARTED_AT_REPORT: tuple[ClockKind, ...] = (ClockKind.ARRIVE,)
EFFECTS: dict[Action, ClockEffects] = {
    Action.ASSIGN: ClockEffects(starts=(ClockKind.ACKNOWLEDGE,)),
    Action.ACKNOWLEDGE: ClockEffects(closes={ClockKind.ACKNOWLEDGE: ClockState.MET}),
    Action.DECLINE: ClockEffects(closes={ClockKind.ACKNOWLEDGE: ClockState.STOPPED}),
    Action.WITHDRAW: ClockEffects(closes={ClockKind.ACKNOWLEDGE: ClockState.BREACHED}),
    Action.ARRIVE: ClockEffects(
        starts=(ClockKind.RESOLVE,), closes={ClockKind.ARRIVE: ClockState.MET}
    ),
    Action.RESOLVE: ClockEffects(closes={ClockKind.RESOLVE: ClockState.MET}),
    Action.CANCEL: ClockEffects(closes=dict.fromkeys(ClockKind, ClockState.STOPPED)),
    # the former team's clock stops (it is not that team's miss); the chosen team's starts
    Action.REASSIGN: ClockEffects(
        starts=(ClockKind.ACKNOWLEDGE,), closes={ClockKind.ACKNOWLEDGE: ClockState.STOPPED}
    ),
}


def effects_of(action: Action) -> ClockEffects:
    return EFFECTS.get(action, ClockEffects())


class TighterTargets(BaseModel):
    """Targets (minutes) for a priority or a kind; the tightest matching target wins."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    acknowledge: PositiveFloat | None = None
    arrive: dict[AreaClass, PositiveFloat] = Field(default_factory=dict)
    resolve: dict[AreaClass, PositiveFloat] = Field(default_factory=dict)

    def minutes(self, kind: ClockKind, area: AreaClass) -> float | None:
        if kind is ClockKind.ACKNOWLEDGE:
            return self.acknowledge
        return (self.arrive if kind is ClockKind.ARRIVE else self.resolve).get(area)


def _by_area(urban: float, rural: float, remote: float) -> dict[AreaClass, float]:
    return {AreaClass.URBAN: urban, AreaClass.RURAL: rural, AreaClass.REMOTE: remote}


class SlaPolicy(BaseModel):
    """SLA targets in minutes; the layout of config/sla.toml. Defaults are the public targets.

    Resolve targets count from arrival: 3 h urban, 4 h rural and (our choice, no public
    figure) 6 h remote, where crews may need to bring parts from town.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    compliance: float = Field(
        default=0.95, gt=0, le=1, description="the share of clocks the branch aims to meet"
    )
    acknowledge: PositiveFloat = 5
    arrive: dict[AreaClass, PositiveFloat] = Field(default_factory=lambda: _by_area(45, 90, 120))
    resolve: dict[AreaClass, PositiveFloat] = Field(default_factory=lambda: _by_area(180, 240, 360))
    priority: dict[Priority, TighterTargets] = Field(default_factory=dict)
    kind: dict[IncidentKind, TighterTargets] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _every_area_has_a_target(self) -> SlaPolicy:
        for name, targets in (("arrive", self.arrive), ("resolve", self.resolve)):
            missing = set(AreaClass) - targets.keys()
            if missing:
                raise ValueError(f"{name} has no target for {sorted(missing)}")
        return self

    def target(
        self,
        clock: ClockKind,
        *,
        area: AreaClass | str,
        priority: Priority | str,
        kind: IncidentKind | str,
    ) -> timedelta:
        """The target of a clock for an incident: the base one, or a tighter one if it applies."""
        area = AreaClass(area)
        minutes = float(
            self.acknowledge
            if clock is ClockKind.ACKNOWLEDGE
            else (self.arrive if clock is ClockKind.ARRIVE else self.resolve)[area]
        )
        for tighter in (self.priority.get(Priority(priority)), self.kind.get(IncidentKind(kind))):
            found = tighter.minutes(clock, area) if tighter else None
            if found is not None:
                minutes = min(minutes, found)
        return timedelta(minutes=minutes)


def load_policy(path: Path | str | None) -> SlaPolicy:
    """The policy in a TOML file; the built-in defaults when `path` is None."""
    if path is None:
        return SlaPolicy()
    with Path(path).open("rb") as source:
        return SlaPolicy.model_validate(tomllib.load(source))


@dataclass(frozen=True)
class Due:
    """Something the watchdog must do now: warn at a fraction, or act on a breach."""

    kind: ClockKind
    fraction: float | None  # None: the deadline itself

    @property
    def is_breach(self) -> bool:
        return self.fraction is None


@dataclass(frozen=True)
class SlaClock:
    """One clock. Its deadline is its start plus its target plus the time it spent paused."""

    kind: ClockKind
    started_at: datetime
    target: timedelta
    state: ClockState = ClockState.RUNNING
    paused_for: timedelta = timedelta(0)
    paused_since: datetime | None = None
    warned: frozenset[float] = frozenset()
    closed_at: datetime | None = None

    @property
    def deadline(self) -> datetime:
        """While paused, the deadline as it would be if the clock resumed at once."""
        return self.started_at + self.target + self.paused_for

    def warning_at(self, fraction: float) -> datetime:
        """When `fraction` of the target will have run (pauses so far excluded)."""
        return self.deadline - (1 - fraction) * self.target

    def next_due_at(self) -> datetime | None:
        """The next moment the watchdog must look at this clock; None when it never must."""
        if self.state is not ClockState.RUNNING:
            return None
        pending = [self.warning_at(f) for f in WARNING_FRACTIONS if f not in self.warned]
        return min([*pending, self.deadline])

    def due(self, now: datetime) -> list[Due]:
        """The breach if the deadline passed, else the warnings that are due, earliest first."""
        if self.state is not ClockState.RUNNING:
            return []
        if now >= self.deadline:
            return [Due(self.kind, None)]
        return [
            Due(self.kind, f)
            for f in WARNING_FRACTIONS
            if f not in self.warned and self.warning_at(f) <= now
        ]

    def state_at(self, now: datetime) -> ClockState:
        """The state to show: a running clock past its deadline shows as breached."""
        if self.state is ClockState.RUNNING and now >= self.deadline:
            return ClockState.BREACHED
        return self.state

    def elapsed_fraction(self, now: datetime) -> float:
        end = self.paused_since or self.closed_at or now
        running = (end - self.started_at) - self.paused_for
        return max(0.0, running / self.target) if self.target else 1.0

    def warn(self, fraction: float) -> SlaClock:
        return replace(self, warned=self.warned | {fraction})

    def breach(self) -> SlaClock:
        """The deadline passed while open; the clock stays open to record when it is done."""
        return replace(self, state=ClockState.BREACHED)

    def pause(self, now: datetime) -> SlaClock:
        if self.state is not ClockState.RUNNING:
            return self
        return replace(self, state=ClockState.PAUSED, paused_since=now)

    def resume(self, now: datetime) -> SlaClock:
        if self.state is not ClockState.PAUSED or self.paused_since is None:
            return self
        return replace(
            self,
            state=ClockState.RUNNING,
            paused_for=self.paused_for + (now - self.paused_since),
            paused_since=None,
        )

    def retarget(self, target: timedelta) -> SlaClock:
        """A new target, counted from the original start (a priority change)."""
        return replace(self, target=target)

    def close(self, now: datetime, verdict: ClockState) -> SlaClock:
        """Close with `verdict`; MET after the deadline (or once breached) counts as BREACHED."""
        clock = self.resume(now)
        if verdict is ClockState.MET and (
            clock.state is ClockState.BREACHED or now > clock.deadline
        ):
            verdict = ClockState.BREACHED
        if verdict is ClockState.STOPPED and clock.state is ClockState.BREACHED:
            verdict = ClockState.BREACHED  # a breach already announced stays one
        return replace(clock, state=verdict, closed_at=now)

    @property
    def is_open(self) -> bool:
        """Not yet closed: running, paused, or breached but still waiting to be done."""
        return self.closed_at is None and self.state is not ClockState.STOPPED


def compliance(met: int, breached: int) -> float | None:
    """Share of decided clocks that were met; None when none was decided."""
    decided = met + breached
    return round(met / decided, 4) if decided else None
