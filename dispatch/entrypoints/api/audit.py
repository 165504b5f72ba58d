"""The auditor's routes, `everycall audit` over HTTP for the audit pages: an incident's
timeline, the board as it stood at a moment (replayed from the log), the chain's verdict and
a kept digest's, and exports. Every one reads, from a read-only snapshot of the database, so
an auditor (or anyone) can change nothing through them."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import StreamingResponse
from sqlalchemy import Connection, select
from starlette.concurrency import run_in_threadpool

from dispatch.audit.source import read_snapshot
from dispatch.audit.verify import Digest, Finding, Verdict, check_digest, verify_log
from dispatch.entrypoints.api.audit_answers import (
    BoardAtMoment,
    IncidentTimeline,
    VerifyAnswer,
    attachment,
    board_csv,
    chain_status,
    digest_check,
    file_moment,
    timeline_answer,
    timeline_csv,
)
from dispatch.entrypoints.api.audit_runs import (
    BoardReplay,
    invalid_query,
    parse_moment,
    replay_board,
    replay_slot,
    within_limit,
)
from dispatch.entrypoints.api.deps import Reader, ServicesDep
from dispatch.service_layer.services import Services
from dispatch.views.timeline import incident_timeline
from events.log import EVENT_LOG, entry_message, read_entries
from models.errors import NotFound

MAX_SEQ = 2**62  # beyond any log, inside every database's integers
_DIGEST_FORM = re.compile("[0-9]+:[0-9a-f]{64}")  # what `everycall audit digest` prints
# Both parameters are checked by our own parsers, which say what is wrong in words; the
# schema states the same rules for clients.
Moment = Annotated[
    str,
    Query(
        min_length=1,
        max_length=64,
        description="the moment, ISO 8601 with its offset (2026-07-01T14:05:00+08:00)",
        json_schema_extra={"format": "date-time"},
    ),
]
DigestText = Annotated[
    str | None,
    Query(
        max_length=200,
        description="SEQ:HASH, as `everycall audit digest` prints it",
        json_schema_extra={"pattern": f"^{_DIGEST_FORM.pattern}$"},
    ),
]
_REPLAY_ANSWERS: dict[int | str, dict[str, Any]] = {
    409: {"description": "the log cannot be replayed (its head row is missing: see verify)"},
    422: {"description": "a moment that is no time, has no offset, or is too far to replay"},
    429: {"description": "another board replay is running on this server; see Retry-After"},
}
_CSV = {"text/csv": {"schema": {"type": "string"}}}
_SSE_EVENT = {
    "type": "object",
    "properties": {
        "event": {"enum": ["progress", "board", "failed"]},
        "data": {"type": "string", "description": "JSON: {done, total}, the board, or {detail}"},
    },
    "required": ["event", "data"],
}
_SSE = {"text/event-stream": {"schema": _SSE_EVENT}}
_JSONL = {"application/x-ndjson": {"schema": {"type": "string"}}}


def router() -> APIRouter:
    router = APIRouter(prefix="/audit", tags=["audit"])
    _timeline_routes(router)
    _board_routes(router)
    _verify_routes(router)
    return router


def _timeline_routes(router: APIRouter) -> None:
    @router.get("/incidents/{incident_id}/timeline")
    def timeline(incident_id: str, services: ServicesDep, _caller: Reader) -> IncidentTimeline:
        """Every logged event about an incident: when, what, who, in log order (404: none)."""
        return _timeline(services, incident_id)

    @router.get(
        "/incidents/{incident_id}/timeline/export",
        response_class=Response,
        responses={200: {"content": _CSV}},
    )
    def timeline_export(incident_id: str, services: ServicesDep, _caller: Reader) -> Response:
        """An incident's timeline as CSV, times in UTC and in Asia/Shanghai (404: no events)."""
        found = _timeline(services, incident_id)
        headers = attachment(f"everycall-timeline-{incident_id}.csv")
        return Response(timeline_csv(found), media_type="text/csv", headers=headers)


def _timeline(services: Services, incident_id: str) -> IncidentTimeline:
    with read_snapshot(services.settings.database_url) as connection:
        steps = incident_timeline(connection, incident_id)
    if not steps:
        raise NotFound(f"no events about incident {incident_id}")
    return timeline_answer(incident_id, steps)


def _board_routes(router: APIRouter) -> None:
    @router.get("/board", responses=_REPLAY_ANSWERS)
    def board(services: ServicesDep, _caller: Reader, at: Moment) -> BoardAtMoment:
        """The board as it stood at a moment, replayed from the log, with what the replay cost."""
        return _board(services, at)

    @router.get(
        "/board/progress",
        response_class=StreamingResponse,
        responses={**_REPLAY_ANSWERS, 200: {"content": _SSE}},
    )
    async def board_progress(
        services: ServicesDep, _caller: Reader, at: Moment
    ) -> StreamingResponse:
        """The board at a moment as Server-Sent Events: `progress` ({done, total}), then `board`."""
        moment = parse_moment(at)
        url = services.settings.database_url
        planned = await run_in_threadpool(_planned, url, moment, at)
        run = BoardReplay(url, moment, planned)
        await run_in_threadpool(run.start)
        headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        return StreamingResponse(run.frames(), media_type="text/event-stream", headers=headers)

    @router.get(
        "/board/export",
        response_class=Response,
        responses={**_REPLAY_ANSWERS, 200: {"content": {**_CSV, "application/json": {}}}},
    )
    def board_export(
        services: ServicesDep,
        _caller: Reader,
        at: Moment,
        format: Literal["csv", "json"] = "csv",
    ) -> Response:
        """The board at a moment as a file: CSV (the three lists in one table) or JSON."""
        found = _board(services, at)
        headers = attachment(f"everycall-board-at-{file_moment(found.at)}.{format}")
        if format == "json":
            return Response(found.model_dump_json(), media_type="application/json", headers=headers)
        return Response(board_csv(found), media_type="text/csv", headers=headers)


def _planned(url: str, moment: datetime, text: str) -> int:
    with read_snapshot(url) as connection:
        return within_limit(connection, moment, text)


def _board(services: Services, text: str) -> BoardAtMoment:
    moment = parse_moment(text)
    with replay_slot(), read_snapshot(services.settings.database_url) as connection:
        within_limit(connection, moment, text)
        return replay_board(connection, moment)


def _verify_routes(router: APIRouter) -> None:
    @router.get("/verify", responses={422: {"description": "a digest that is not SEQ:HASH"}})
    def verify(
        services: ServicesDep,
        _caller: Reader,
        digest: DigestText = None,
    ) -> VerifyAnswer:
        """The hash chain checked end to end, and whether a kept digest matches the log."""
        kept = _digest(digest)
        started = time.perf_counter()
        with read_snapshot(services.settings.database_url) as connection:
            verdict = verify_log(connection)
            finding = None if kept is None else _digest_finding(connection, kept, verdict)
        return VerifyAnswer(
            chain=chain_status(verdict),
            digest=None if kept is None else digest_check(kept, finding),
            elapsed_ms=round((time.perf_counter() - started) * 1000),
        )

    @router.get(
        "/log/export",
        response_class=StreamingResponse,
        responses={200: {"content": _JSONL}},
    )
    def log_export(
        services: ServicesDep,
        _caller: Reader,
        from_seq: Annotated[int, Query(ge=1, le=MAX_SEQ, description="the first entry")] = 1,
        to_seq: Annotated[
            int | None, Query(ge=1, le=MAX_SEQ, description="the last entry (default: all)")
        ] = None,
    ) -> StreamingResponse:
        """The log, or its entries from_seq..to_seq, as JSON Lines like `audit export` writes."""
        url = services.settings.database_url
        name = f"everycall-log-{from_seq}-{to_seq or 'end'}.jsonl"
        return StreamingResponse(
            _log_lines(url, from_seq, to_seq),
            media_type="application/x-ndjson",
            headers=attachment(name),
        )


def _digest(text: str | None) -> Digest | None:
    """The kept digest, exactly as printed (the page trims a paste); 422 for anything else."""
    if text is None:
        return None
    if _DIGEST_FORM.fullmatch(text) is None:
        reason = f"not a digest: {text!r} (expected SEQ:HASH, 64 hex digits, nothing around them)"
        raise invalid_query("digest", text, reason)
    return Digest.parse(text)


def _digest_finding(connection: Connection, kept: Digest, verdict: Verdict) -> Finding | None:
    """Where the kept digest fails: entries up to its seq that are not sound (the chain's
    finding), a log that ends before it, or another hash at its seq (history rewritten)."""
    if kept.seq > verdict.last.seq:
        return verdict.finding or check_digest(kept, verdict.last, None)
    stored = connection.execute(
        select(EVENT_LOG.c.hash).where(EVENT_LOG.c.seq == kept.seq)
    ).scalar()
    return check_digest(kept, verdict.last, stored)


def _log_lines(url: str, from_seq: int, to_seq: int | None) -> Iterator[bytes]:
    with read_snapshot(url) as connection:
        for entry in read_entries(connection, after_seq=from_seq - 1, until_seq=to_seq):
            yield entry_message(entry) + b"\n"
