"""Choosing the team for each incident of a batch: fast, exact and explained.

A k-d tree over unit vectors gives each incident its nearest teams by straight line, for the
whole batch in one call; the geodesic (vectorised Vincenty) ranks that short list. A team
outside it is at least as far as the chord bound says, so a ranked entry nearer than the bound
is exact; when the rules need more than that, the incident asks the tree for more teams.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from models.geodesy import (
    FloatArray,
    ReducedPoints,
    geodesic_km,
    geodesic_km_exact,
    geodesic_lower_bound_km,
    unit_vectors,
)
from models.grid import cell_of
from models.incident import AreaClass, Incident, IncidentKind
from models.policy import RoutingPolicy
from models.rules import Ranked, Ranking, RankingIncomplete, Rule, Verdict, decide
from models.team import SKILL_FOR_KIND, Skill

SKILL_BITS: dict[Skill, int] = {skill: 1 << n for n, skill in enumerate(Skill)}
_KIND_BITS = {kind: SKILL_BITS[skill] for kind, skill in SKILL_FOR_KIND.items()}
_new = tuple.__new__  # builds a NamedTuple without its Python-level __new__: hot loop
DistanceFn = Callable[[float, float, float, float], float]


@dataclass(frozen=True, slots=True)
class Fix:
    """Where a team said it was, and when."""

    latitude: float
    longitude: float
    at: datetime


@dataclass(frozen=True, slots=True)
class TeamState:
    """A team as routing sees it at the start of a pass."""

    team_id: str
    latitude: float  # home base
    longitude: float
    skills: frozenset[Skill]
    capacity: int
    load: int = 0
    available: bool = True
    fix: Fix | None = None
    last_finished_at: datetime | None = None
    # off duty by the roster, or a reserve squad whose division is not in storm mode: the pass
    # books it for nothing and names it when it passes it over for a farther team
    withheld: Unfit | None = None


class Unfit(StrEnum):
    """Why a team cannot take an incident now: routing passes it over; a dispatcher choosing
    by hand sees why."""

    UNAVAILABLE = "unavailable"  # busy or off duty
    FULL = "full"  # no capacity left
    LACKS_SKILL = "lacks_skill"  # not the skill the incident's kind needs
    OFF_DUTY = "off_duty"  # the roster has it off shift now
    RESERVE = "reserve_standby"  # a reserve squad: it joins only under storm mode


# an owner's status in the explanation, as routing has always worded it
_OWNER_UNFIT = {
    Unfit.UNAVAILABLE: "unavailable",
    Unfit.FULL: "has no capacity left",
    Unfit.OFF_DUTY: "is off duty (off_duty)",
    Unfit.RESERVE: "is a reserve squad on standby (reserve_standby)",
}


class PassedOver(NamedTuple):
    """A withheld team nearer than the chosen one (among the incident's nearest), and why."""

    team_id: str
    rule: Unfit
    distance_km: float


class Assessed(NamedTuple):
    """One team measured for one incident, as a dispatcher choosing by hand sees it."""

    team_id: str
    distance_km: float
    eta_min: float
    position: str  # "fix", "home", or "home_stale_fix"
    fix_age_min: float | None
    unfit: Unfit | None  # None: it can take the incident


@dataclass(frozen=True, slots=True)
class Request:
    """An incident to route, the teams it must not get (id to reason), and whether it waited."""

    incident: Incident
    excluded: Mapping[str, str] = field(default_factory=dict)
    queued: bool = False
    skill: Skill | None = None  # a response plan's skill in place of the kind's own

    @property
    def needed_skill(self) -> Skill:
        return self.skill or SKILL_FOR_KIND[self.incident.kind]


class Choice(NamedTuple):
    """The chosen team, the rule that decided, and the ranked short list behind it.

    A tuple, and the text and the listing are built on demand: thousands are made a second.
    """

    incident_id: str
    team_id: str
    distance_km: float
    eta_min: float
    rule: Rule
    verdict: Verdict
    ranked: list[Ranked]  # the eligible teams nearest by travel time, in order
    owner: Ranked | None  # the cell owner, when it is eligible
    cell: str
    cell_owner: str | None
    owner_problem: str  # why the owner could not go, or "eligible"
    area_class: AreaClass
    reach_min: float
    reported_at: datetime
    decided_at: datetime
    passed_over: tuple[PassedOver, ...] = ()  # withheld teams nearer than the chosen one

    @property
    def off_duty_passed_over(self) -> int:
        return sum(1 for p in self.passed_over if p.rule is Unfit.OFF_DUTY)

    @property
    def selected_by(self) -> Rule:
        """The rule that picked the team (the same as `rule` unless it waited in the queue)."""
        return self.verdict.rule

    @property
    def waited_min(self) -> float:
        return max(0.0, (self.decided_at - self.reported_at).total_seconds() / 60.0)

    @property
    def owner_status(self) -> str:
        if self.owner is not None and self.owner.eta_min > self.reach_min:
            return f"is beyond reach ({self.owner.eta_min:.0f} min > {self.reach_min:.0f} min)"
        return self.owner_problem

    @property
    def shortlist(self) -> list[Ranked]:
        """The ranked teams, then the chosen team and the owner if they are not among them."""
        listed = list(self.ranked)
        for extra in (self.verdict.chosen, self.owner):
            if extra is not None and all(r.team_id != extra.team_id for r in listed):
                listed.append(extra)
        return listed

    @property
    def reason(self) -> str:
        """One sentence for the dispatcher."""
        text = _reason(
            self.verdict, self.cell_owner, self.owner_status, self.reach_min, self.area_class
        )
        if self.passed_over:
            text += "; passed over " + ", ".join(
                f"{p.team_id} ({p.rule.value}, {p.distance_km:.1f} km)" for p in self.passed_over
            )
        if self.rule is Rule.QUEUED_THEN_ASSIGNED:
            return f"waited {self.waited_min:.0f} min in the queue; {text}"
        return text

    def explanation(self) -> list[dict[str, object]]:
        """The decision first, then the ranked short list (the chosen team always in it)."""
        decision: dict[str, object] = {
            "decision": self.rule.value,
            "selected_by": self.selected_by.value,
            "reason": self.reason,
            "cell": self.cell,
            "cell_owner": self.cell_owner,
            "owner_status": self.owner_status,
            "area_class": self.area_class.value,
            "reach_min": self.reach_min,
            "waited_min": round(self.waited_min, 1),
        }
        if self.passed_over:  # only then: explanations logged before the roster stay as they were
            decision["passed_over"] = [
                {"team_id": p.team_id, "rule": p.rule.value, "distance_km": round(p.distance_km, 3)}
                for p in self.passed_over
            ]
        ranks = len(self.ranked)
        entries = [
            self._entry(n + 1 if n < ranks else None, r) for n, r in enumerate(self.shortlist)
        ]
        return [decision, *entries]

    def _entry(self, rank: int | None, r: Ranked) -> dict[str, object]:
        return {
            "rank": rank,
            "team_id": r.team_id,
            "distance_km": round(r.distance_km, 3),
            "eta_min": round(r.eta_min, 1),
            "position": r.position,
            "fix_age_min": None if r.fix_age_min is None else round(r.fix_age_min, 1),
            "resting": r.resting,
            "cell_owner": r.team_id == self.cell_owner,
            "chosen": r.team_id == self.team_id,
        }


class TeamPool:
    """The teams of one routing pass. `choose_many` books each chosen team as it goes."""

    def __init__(
        self,
        teams: Sequence[TeamState],
        now: datetime,
        policy: RoutingPolicy | None = None,
        owners: Mapping[str, str] | None = None,
    ) -> None:
        self.policy = policy or RoutingPolicy()
        self.now = now
        teams = sorted(teams, key=lambda t: t.team_id)  # index order breaks distance ties
        self.ids = [t.team_id for t in teams]
        self._index = {team_id: i for i, team_id in enumerate(self.ids)}
        self._capacity = [t.capacity for t in teams]
        self._withheld = [t.withheld for t in teams]
        self._spare = [
            max(0, t.capacity - t.load) if t.available and t.withheld is None else 0 for t in teams
        ]
        held = [i for i, w in enumerate(self._withheld) if w is not None]
        self._held_np = np.array(held, dtype=np.intp)
        self._spare_np = np.array(self._spare, dtype=np.int64)
        self._available = [t.available for t in teams]
        self._skills = [sum(SKILL_BITS[s] for s in t.skills) for t in teams]
        self._skills_np = np.array(self._skills, dtype=np.int64)
        self._position = [self._locate(t) for t in teams]
        self._resting = [self._rests(t) for t in teams]
        # what a Ranked entry shows of each team, besides its distance and travel time
        self._shown = [
            (t.team_id, p[2], p[3], r)
            for t, p, r in zip(teams, self._position, self._resting, strict=True)
        ]
        self._per_km = {area: 60.0 / speed for area, speed in self.policy.speed_kmh.items()}
        self._wanted = self.policy.shortlist_size
        # teams with room, per skill: an incident nobody can take is queued without a search
        self._can_go = {
            bit: int(np.count_nonzero((self._skills_np & bit != 0) & (self._spare_np > 0)))
            for bit in SKILL_BITS.values()
        }
        lat = np.array([p[0] for p in self._position], dtype=float)
        lon = np.array([p[1] for p in self._position], dtype=float)
        self._points = ReducedPoints(lat, lon)
        self._tree = cKDTree(unit_vectors(lat, lon)) if teams else None
        self._owner_index = {
            cell: self._index[team_id]
            for cell, team_id in (owners or {}).items()
            if team_id in self._index
        }

    def __len__(self) -> int:
        return len(self.ids)

    def _locate(self, team: TeamState) -> tuple[float, float, str, float | None]:
        """Fresh fix, else home base (saying whether a stale fix was passed over)."""
        if team.fix is None:
            return team.latitude, team.longitude, "home", None
        age = (self.now - team.fix.at).total_seconds() / 60.0
        if age <= self.policy.fix_max_age_min:
            return team.fix.latitude, team.fix.longitude, "fix", age
        return team.latitude, team.longitude, "home_stale_fix", age

    def _rests(self, team: TeamState) -> bool:
        if team.last_finished_at is None or self.policy.rest_min <= 0:
            return False
        return (self.now - team.last_finished_at).total_seconds() < self.policy.rest_min * 60

    # -- booking -------------------------------------------------------------------------

    def take(self, team_id: str) -> None:
        i = self._index[team_id]
        self._spare[i] -= 1
        self._spare_np[i] -= 1
        if self._spare[i] == 0:
            for bit in self._can_go:
                if self._skills[i] & bit:
                    self._can_go[bit] -= 1

    def load_of(self, team_id: str) -> int:
        """Tasks the team carries now, counting this pass's bookings."""
        i = self._index[team_id]
        return self._capacity[i] - self._spare[i] if self._available[i] else -1

    def spare_of(self, team_id: str) -> int:
        return self._spare[self._index[team_id]]

    # -- choosing ------------------------------------------------------------------------

    def choose(self, request: Request, book: bool = True) -> Choice | None:
        return self.choose_many([request], book)[0]

    def choose_many(self, requests: Sequence[Request], book: bool = True) -> list[Choice | None]:
        """Choose for each request in the given order (callers sort by priority first)."""
        if not requests or self._tree is None:
            return [None] * len(requests)
        m, k = len(requests), min(self.policy.index_neighbours, len(self))
        lat = np.array([r.incident.latitude for r in requests], dtype=float)
        lon = np.array([r.incident.longitude for r in requests], dtype=float)
        chord, idx = self._tree.query(unit_vectors(lat, lon), k=k)
        chord, idx = np.reshape(chord, (m, k)), np.reshape(idx, (m, k))
        cells = [cell_of(r.incident.latitude, r.incident.longitude) for r in requests]
        owners = np.array([self._owner_index.get(c, -1) for c in cells], dtype=np.intp)
        km, owner_km = self._geodesics(requests, lat, lon, idx, owners)
        order = np.lexsort((idx, km), axis=-1)  # by distance, then by team id
        # a team that cannot go at the start of the pass has km = inf and sorts last, so a
        # short prefix of each row is all the rules can use
        width = min(k, self.policy.shortlist_size + 3)
        idx, km = np.take_along_axis(idx, order, -1), np.take_along_axis(km, order, -1)
        complete = np.full(m, k == len(self))
        if width < k:
            complete &= np.isinf(km[:, width])
        rows_idx, rows_km = idx[:, :width].tolist(), km[:, :width].tolist()
        bounds = np.where(complete, np.inf, geodesic_lower_bound_km(chord[:, -1])).tolist()
        complete_list, owner_list, owner_km_list = (
            complete.tolist(),
            owners.tolist(),
            owner_km.tolist(),
        )
        passed = self._passed_over(requests, lat, lon, idx) if len(self._held_np) else None
        choices: list[Choice | None] = []
        for n, request in enumerate(requests):
            owner = _new(_OwnerAt, (owner_list[n], owner_km_list[n], cells[n]))
            row = _new(_Row, (rows_idx[n], rows_km[n], bounds[n], complete_list[n]))
            choice = self._try(request, row, owner)
            if isinstance(choice, _NeedMore):
                choice = self._choose_wider(request, k, owner)
            if choice is not None and passed is not None and passed[n]:
                nearer = tuple(p for p in passed[n] if p.distance_km < choice.distance_km)
                choice = choice._replace(passed_over=nearer)
            if choice is not None and book:
                self.take(choice.team_id)
            choices.append(choice)
        return choices

    def _geodesics(
        self,
        requests: Sequence[Request],
        lat: FloatArray,
        lon: FloatArray,
        idx: NDArray[np.intp],
        owners: NDArray[np.intp],
    ) -> tuple[FloatArray, FloatArray]:
        """Geodesics to the teams that can go now (inf for the others) and to the owners."""
        bits = np.array([SKILL_BITS[r.needed_skill] for r in requests], dtype=np.int64)
        can_go = (self._skills_np[idx] & bits[:, None] != 0) & (self._spare_np[idx] > 0)
        rows, cols = np.nonzero(can_go)
        owned = np.flatnonzero(owners >= 0)
        km = geodesic_km(
            ReducedPoints(lat, lon),
            np.concatenate([rows, owned]),
            self._points,
            np.concatenate([idx[rows, cols], owners[owned]]),
        )
        to_teams = np.full(idx.shape, np.inf)
        to_teams[rows, cols] = km[: len(rows)]
        to_owners = np.zeros(len(requests))
        to_owners[owned] = km[len(rows) :]
        return to_teams, to_owners

    def _passed_over(
        self,
        requests: Sequence[Request],
        lat: FloatArray,
        lon: FloatArray,
        idx: NDArray[np.intp],
    ) -> list[list[PassedOver]]:
        """Per request, the withheld teams with its skill among its nearest, nearest first; only
        a pass whose pool withholds some team pays for this."""
        bits = np.array([SKILL_BITS[r.needed_skill] for r in requests], dtype=np.int64)
        held = np.isin(idx, self._held_np) & (self._skills_np[idx] & bits[:, None] != 0)
        rows, cols = np.nonzero(held)
        found: list[list[PassedOver]] = [[] for _ in requests]
        if not len(rows):
            return found
        teams = idx[rows, cols]
        dist = geodesic_km(ReducedPoints(lat, lon), rows, self._points, teams)
        measured = zip(rows.tolist(), teams.tolist(), dist.tolist(), strict=True)
        for row, team, d in sorted(measured, key=_by_km):
            reason = self._withheld[team]
            assert reason is not None
            found[row].append(PassedOver(self.ids[team], reason, d))
        return found

    def _choose_wider(self, request: Request, k: int, owner: _OwnerAt) -> Choice | None:
        """Ask the tree for ever more teams until the rules have an exact answer."""
        assert self._tree is not None
        incident = request.incident
        bit = SKILL_BITS[request.needed_skill]
        if self._can_go[bit] == 0:
            return None
        point = unit_vectors(np.array(incident.latitude), np.array(incident.longitude))
        here = ReducedPoints(np.array([incident.latitude]), np.array([incident.longitude]))
        while True:
            k = min(len(self), max(4 * k, 64))
            if self._can_go[bit] <= k:  # few can go: measure them all, skip the tree
                k = len(self)
                idx = np.flatnonzero((self._spare_np > 0) & (self._skills_np & bit != 0))
                bound = math.inf
            else:
                chord, idx = self._tree.query(point, k=k)
                idx = np.atleast_1d(idx)
                bound = float(geodesic_lower_bound_km(np.atleast_1d(chord)[-1:])[0])
                # geodesics only for the teams that can go: the others never enter the ranking
                idx = idx[(self._spare_np[idx] > 0) & (self._skills_np[idx] & bit != 0)]
            km = geodesic_km(here, np.zeros_like(idx), self._points, idx)
            order = np.lexsort((idx, km))
            complete = k == len(self)
            row = _Row(idx[order].tolist(), km[order].tolist(), bound, complete)
            choice = self._try(request, row, owner)
            if not isinstance(choice, _NeedMore):
                return choice

    def _try(self, request: Request, row: _Row, owner_at: _OwnerAt) -> Choice | _NeedMore | None:
        """Rank the row's eligible teams and apply the rules; _NEED_MORE if not known exactly."""
        incident = request.incident
        area = incident.area_class
        per_km, bit = self._per_km[area], SKILL_BITS[request.needed_skill]
        excluded, wanted = request.excluded, self._wanted
        spare, shown, skills, ids = self._spare, self._shown, self._skills, self.ids
        idx, kms, bound, complete = row
        teams: list[Ranked] = []
        rested_only = True  # the rules look past the short list only while all rest
        for n, i in enumerate(idx):  # the hot loop of routing: kept plain on purpose
            km = kms[n]
            if km > bound:
                if km != math.inf:  # inf: the rest of the row cannot go anyway
                    complete = False
                break
            if spare[i] <= 0 or not skills[i] & bit or (excluded and ids[i] in excluded):
                continue
            entry = shown[i]
            teams.append(_new(Ranked, (entry[0], km, km * per_km, entry[1], entry[2], entry[3])))
            rested_only = rested_only and entry[3]
            if not rested_only and len(teams) >= wanted:
                complete = False  # the rules will not look further
                break
        if len(teams) < wanted and not complete:
            return _NEED_MORE
        owner = self._owner(request, owner_at, bit, per_km)
        reach = self.policy.reach_min[area]
        try:
            verdict = decide(
                Ranking(teams, complete),
                owner.ranked,
                owner.slot >= 0,
                reach,
                self.policy.rest_slack_min,
            )
        except RankingIncomplete:
            return _NEED_MORE
        if verdict is None:
            return None
        return self._choice(request, verdict, teams[:wanted], owner, reach)

    def _ranked(self, i: int, km: float, eta: float) -> Ranked:
        team_id, position, age, rests = self._shown[i]
        return Ranked(team_id, km, eta, position, age, rests)

    def _unfit(self, i: int, bit: int) -> Unfit | None:
        """Why team `i` cannot take an incident of skill `bit` now; None: it can."""
        withheld = self._withheld[i]
        if withheld is not None:
            return withheld
        if not self._available[i]:
            return Unfit.UNAVAILABLE
        if self._spare[i] <= 0:
            return Unfit.FULL
        if not self._skills[i] & bit:
            return Unfit.LACKS_SKILL
        return None

    def _owner(self, request: Request, at: _OwnerAt, bit: int, per_km: float) -> _Owner:
        i = at.slot
        if i < 0:
            return _new(_Owner, (-1, at.cell, None, "none: the cell has no owner"))
        team_id = self.ids[i]
        unfit = self._unfit(i, bit)
        if unfit is Unfit.LACKS_SKILL:
            return _Owner(i, at.cell, None, f"lacks the skill {request.needed_skill.value}")
        if unfit is not None:
            return _Owner(i, at.cell, None, _OWNER_UNFIT[unfit])
        if team_id in request.excluded:
            return _Owner(i, at.cell, None, f"is excluded ({request.excluded[team_id]})")
        ranked = self._ranked(i, at.km, at.km * per_km)
        return _new(_Owner, (i, at.cell, ranked, "eligible"))

    def _choice(
        self,
        request: Request,
        verdict: Verdict,
        ranked: list[Ranked],
        owner: _Owner,
        reach: float,
    ) -> Choice:
        incident, chosen = request.incident, verdict.chosen
        rule = Rule.QUEUED_THEN_ASSIGNED if request.queued else verdict.rule
        owner_id = self.ids[owner.slot] if owner.slot >= 0 else None
        fields = (
            incident.id,
            chosen.team_id,
            chosen.distance_km,
            chosen.eta_min,
            rule,
            verdict,
            ranked,
            owner.ranked,
            owner.cell,
            owner_id,
            owner.status,
            incident.area_class,
            reach,
            incident.reported_at,
            self.now,
            (),
        )
        return _new(Choice, fields)

    # -- a choice by hand -----------------------------------------------------------------

    def assess(
        self, latitude: float, longitude: float, kind: IncidentKind, area: AreaClass
    ) -> list[Assessed]:
        """Every team for one incident, measured as routing measures it: the eligible nearest
        by travel time first (then by id), then the others likewise, each saying why not."""
        if not self.ids:
            return []
        here = ReducedPoints(np.array([latitude]), np.array([longitude]))
        every = np.arange(len(self), dtype=np.intp)
        km = geodesic_km(here, np.zeros_like(every), self._points, every).tolist()
        per_km, bit = self._per_km[area], _KIND_BITS[kind]
        assessed = [
            Assessed(team_id, km[i], km[i] * per_km, position, age, self._unfit(i, bit))
            for i, (team_id, position, age, _) in enumerate(self._shown)
        ]
        assessed.sort(key=lambda a: (a.unfit is not None, a.eta_min, a.team_id))
        return assessed

    # -- the reference ---------------------------------------------------------------------

    def choose_exhaustive(
        self, request: Request, distance: DistanceFn = geodesic_km_exact
    ) -> Choice | None:
        """The same rules over every team that can go, each measured with `distance` (km): the
        brute-force reference the fast path is tested and benchmarked against. Books nothing."""
        incident = request.incident
        lat, lon = incident.latitude, incident.longitude
        bit = _KIND_BITS[incident.kind]
        can_go = [i for i in range(len(self)) if self._spare[i] > 0 and self._skills[i] & bit]
        pairs = sorted((distance(lat, lon, *self._position[i][:2]), i) for i in can_go)
        cell = cell_of(lat, lon)
        owner = self._owner_index.get(cell, -1)
        owner_km = distance(lat, lon, *self._position[owner][:2]) if owner >= 0 else 0.0
        row = _Row([i for _, i in pairs], [km for km, _ in pairs], math.inf, True)
        choice = self._try(request, row, _OwnerAt(owner, owner_km, cell))
        assert not isinstance(choice, _NeedMore)
        return choice


def _by_km(found: tuple[int, int, float]) -> tuple[int, float, int]:
    return found[0], found[2], found[1]


class _Row(NamedTuple):
    """Teams nearest an incident by geodesic; entries beyond `bound_km` may be out of order."""

    idx: list[int]
    km: list[float]
    bound_km: float
    complete: bool  # every team of the pool is in the row


class _OwnerAt(NamedTuple):
    slot: int  # -1: the cell has no owner in this pool
    km: float
    cell: str


class _Owner(NamedTuple):
    slot: int
    cell: str
    ranked: Ranked | None  # set when the owner is eligible
    status: str


class _NeedMore:
    """Marker: this row's exact part is too short for the rules."""


_NEED_MORE = _NeedMore()


def _reason(verdict: Verdict, owner: str | None, owner_status: str, reach: float, area: str) -> str:
    chosen = verdict.chosen
    eta = f"{chosen.eta_min:.0f} min ({chosen.distance_km:.1f} km)"
    if verdict.rule is Rule.GRID_OWNER:
        within = "within" if chosen.eta_min <= reach else "beyond, but nearest of all, of"
        return (
            f"{owner} owns the cell and can go: {eta}, {within} the {reach:.0f} min {area} target"
        )
    if verdict.rule is Rule.REST_ROTATION:
        rested = verdict.rested
        assert rested is not None
        return (
            f"{rested.team_id} ({rested.eta_min:.0f} min) just finished a task and rests; "
            f"{chosen.team_id} stands in: {eta}"
        )
    if verdict.rule is Rule.SPILL_OVER:
        return f"cell owner {owner} {owner_status}: spill-over to {chosen.team_id}, {eta}"
    return f"the cell has no owner: nearest eligible team {chosen.team_id}, {eta}"
