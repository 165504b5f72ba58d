"""What the auditor's routes answer: an incident's timeline, the board at a moment with what
its replay cost, the chain's verdict and a kept digest's; and the same as CSV for a
spreadsheet (UTF-8 with a BOM, so Excel and WPS read the Chinese as Chinese)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
from pydantic import AwareDatetime, BaseModel, Field

from dispatch.audit.pointintime import BoardAt
from dispatch.audit.verify import Digest, Finding, Verdict
from dispatch.views.spreadsheet_text import inert_text
from dispatch.views.timeline import Step

# China keeps one offset all year (no daylight saving since 1991): a fixed zone is exact.
SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")
_UNSAFE_IN_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


class TimelineStep(BaseModel):
    seq: int = Field(description="the event's sequence number in the log")
    at: AwareDatetime = Field(description="when it occurred (UTC)")
    type: str
    version: int
    actor: str = Field(description="who did it: a person (user:NAME), a team, or a process")
    what: str = Field(description="what happened, in one line")
    payload: dict[str, Any]
    hash: str = Field(description="the entry's chain hash")


class IncidentTimeline(BaseModel):
    incident_id: str
    events: list[TimelineStep]


class OpenIncident(BaseModel):
    id: str
    state: str
    priority: str
    kind: str
    region: str
    team_id: str | None
    address: str
    escalated: bool
    reported_at: AwareDatetime


class BusyTeam(BaseModel):
    id: str
    name: str
    region: str
    status: str
    active_tasks: int
    capacity: int


class RunningClock(BaseModel):
    incident_id: str
    kind: str
    attempt: int
    team_id: str | None
    started_at: AwareDatetime
    deadline: AwareDatetime


class ReplayCost(BaseModel):
    events_replayed: int = Field(description="events folded to rebuild the board")
    up_to_seq: int = Field(description="the last event folded (0: none)")
    last_event_at: AwareDatetime | None = Field(description="when the last folded event occurred")
    log_entries: int = Field(description="entries in the log when it was replayed")
    elapsed_ms: int = Field(description="time the replay took on the server")
    limit: int = Field(description="the most events one replay here may fold")


class BoardCounts(BaseModel):
    open_incidents: int
    busy_teams: int
    running_clocks: int


class BoardAtMoment(BaseModel):
    at: AwareDatetime = Field(description="the moment asked for (UTC)")
    cost: ReplayCost
    counts: BoardCounts
    open_incidents: list[OpenIncident]
    busy_teams: list[BusyTeam]
    running_clocks: list[RunningClock]


class Problem(BaseModel):
    seq: int = Field(description="the first entry that is wrong")
    problem: str


class ChainStatus(BaseModel):
    intact: bool = Field(description="every entry chains and matches its hash and the head row")
    entries: int = Field(description="entries verified before the first problem (all if none)")
    head: str | None = Field(description="the head row as SEQ:HASH (None: it is missing)")
    last_verified: str = Field(description="the last sound entry as SEQ:HASH")
    finding: Problem | None
    detail: str


class DigestCheck(BaseModel):
    digest: str = Field(description="the digest checked, as SEQ:HASH")
    matches: bool = Field(description="the log up to the digest's seq is the one it was taken of")
    seq: int = Field(description="the digest's seq when it matches, else where it does not")
    detail: str


class VerifyAnswer(BaseModel):
    chain: ChainStatus
    digest: DigestCheck | None = Field(description="present when a digest was given")
    elapsed_ms: int


def timeline_answer(incident_id: str, steps: Sequence[Step]) -> IncidentTimeline:
    return IncidentTimeline(
        incident_id=incident_id,
        events=[
            TimelineStep(
                seq=s.seq,
                at=datetime.fromisoformat(s.occurred_at),
                type=s.type,
                version=s.version,
                actor=s.who,
                what=s.what,
                payload=s.payload,
                hash=s.hash,
            )
            for s in steps
        ],
    )


def board_answer(board: BoardAt, elapsed_s: float, limit: int) -> BoardAtMoment:
    replayed = board.replay.board
    cost = ReplayCost(
        events_replayed=replayed.events,
        up_to_seq=replayed.last_seq,
        last_event_at=replayed.last_occurred_at or None,
        log_entries=board.replay.head.seq,
        elapsed_ms=round(elapsed_s * 1000),
        limit=limit,
    )
    counts = BoardCounts(
        open_incidents=len(board.open_incidents),
        busy_teams=len(board.busy_teams),
        running_clocks=len(board.running_clocks),
    )
    return BoardAtMoment(
        at=board.moment,
        cost=cost,
        counts=counts,
        open_incidents=[OpenIncident.model_validate(r) for r in board.open_incidents],
        busy_teams=[BusyTeam.model_validate(r) for r in board.busy_teams],
        running_clocks=[RunningClock.model_validate(r) for r in board.running_clocks],
    )


def chain_status(verdict: Verdict) -> ChainStatus:
    finding = verdict.finding
    if finding is None:
        detail = f"OK {verdict.entries} entries, chain intact, head {verdict.last}"
    else:
        detail = f"FAIL {finding} (entries verified before it: {verdict.entries})"
    return ChainStatus(
        intact=finding is None,
        entries=verdict.entries,
        head=None if verdict.head is None else str(verdict.head),
        last_verified=str(verdict.last),
        finding=None if finding is None else Problem(seq=finding.seq, problem=finding.problem),
        detail=detail,
    )


def digest_check(digest: Digest, finding: Finding | None) -> DigestCheck:
    if finding is None:
        detail = f"the log up to seq {digest.seq} matches the digest"
        return DigestCheck(digest=str(digest), matches=True, seq=digest.seq, detail=detail)
    detail = f"does not match at seq {finding.seq}: {finding.problem}"
    return DigestCheck(digest=str(digest), matches=False, seq=finding.seq, detail=detail)


TIMELINE_COLUMNS = (
    "seq", "occurred_at", "occurred_at_shanghai", "type", "version", "actor", "what",
    "payload", "hash",
)  # fmt: skip
BOARD_COLUMNS = (
    "list", "id", "incident_id", "team_id", "state", "status", "priority", "kind", "region",
    "name", "address", "escalated", "attempt", "active_tasks", "capacity", "reported_at",
    "started_at", "deadline",
)  # fmt: skip


def timeline_csv(timeline: IncidentTimeline) -> str:
    rows = (
        {
            "seq": e.seq,
            "occurred_at": e.at.astimezone(UTC).isoformat(),
            "occurred_at_shanghai": e.at.astimezone(SHANGHAI).isoformat(),
            "type": e.type,
            "version": e.version,
            "actor": e.actor,
            "what": e.what,
            "payload": orjson.dumps(e.payload).decode(),
            "hash": e.hash,
        }
        for e in timeline.events
    )
    return _csv(TIMELINE_COLUMNS, rows)


def board_csv(board: BoardAtMoment) -> str:
    """The three lists in one table, told apart by the `list` column."""
    rows = [
        *({"list": "open_incident"} | i.model_dump() for i in board.open_incidents),
        *({"list": "busy_team"} | t.model_dump() for t in board.busy_teams),
        *({"list": "running_clock"} | c.model_dump() for c in board.running_clocks),
    ]
    return _csv(BOARD_COLUMNS, rows)


def _csv(columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> str:
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.DictWriter(out, columns, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    writer.writerows({k: _cell(v) for k, v in row.items()} for row in rows)
    return out.getvalue()


def _cell(value: Any) -> Any:
    return value.astimezone(UTC).isoformat() if isinstance(value, datetime) else inert_text(value)


def attachment(name: str) -> dict[str, str]:
    """The header that makes a browser save the answer under `name` (made safe)."""
    safe = _UNSAFE_IN_FILENAME.sub("_", name).strip("._") or "everycall-export"
    return {"Content-Disposition": f'attachment; filename="{safe}"'}


def file_moment(moment: datetime) -> str:
    """A moment as it can stand in a file name: 20260701T060500Z."""
    m = moment.astimezone(UTC)
    return f"{m.year:04d}{m.month:02d}{m.day:02d}T{m.hour:02d}{m.minute:02d}{m.second:02d}Z"
