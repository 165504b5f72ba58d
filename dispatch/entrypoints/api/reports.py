"""Reports: the SLA report as the page draws it (the same report as `everycall sla report`),
and the teams' work ledger (工作台账) as JSON, CSV or .xlsx."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response

from dispatch.entrypoints.api.deps import CallerDep, Reader, ServicesDep
from dispatch.service_layer.access import Caller, check_own_tasks
from dispatch.service_layer.clocks import policy_of
from dispatch.views.ledger import MONTH_PATTERN, Ledger, Month, read_ledger, team_exists
from dispatch.views.ledger_files import (
    CSV_TYPE,
    XLSX_TYPE,
    ledger_csv,
    ledger_filename,
    ledger_xlsx,
)
from dispatch.views.sla_report import build_report, report_time
from models.errors import NotFound

_LEDGER_FILES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the ledger: JSON, or a CSV or .xlsx attachment (see `format`)",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}},
        },
    },
    403: {"description": "a team member asked for another team's ledger, or every team's"},
    404: {"description": "no such team"},
    422: {"description": "a month not of the form YYYY-MM (1970 to 2999), or an unknown format"},
}


@dataclass(frozen=True)
class LedgerScope:
    caller: Caller
    team_id: str | None


def ledger_scope(
    caller: CallerDep,
    team_id: Annotated[
        str | None,
        Query(min_length=1, max_length=64, description="one team; every team if left out"),
    ] = None,
) -> LedgerScope:
    """Whose ledger: the dispatch centre, auditors and admins read any team's or every
    team's; a team member only its own (403 otherwise, before anything is read)."""
    check_own_tasks(caller, team_id or "")
    return LedgerScope(caller, team_id)


def router() -> APIRouter:
    router = APIRouter(tags=["reports"])

    @router.get("/reports/sla", responses={403: {"description": "a team member"}})
    def sla_report(services: ServicesDep, caller: Reader) -> dict[str, Any]:
        """`everycall sla report`: per region, per team and over time; with the policy's target."""
        with services.reads() as session:
            report = build_report(session, report_time(session, services.clock.now()))
        return {"target": policy_of(services).compliance, **report.as_dict()}

    @router.get("/reports/ledger", response_model=Ledger, responses=_LEDGER_FILES)
    def ledger(
        services: ServicesDep,
        scope: Annotated[LedgerScope, Depends(ledger_scope)],
        month: Annotated[
            str, Query(pattern=MONTH_PATTERN, description="YYYY-MM, in Asia/Shanghai")
        ],
        format: Literal["json", "csv", "xlsx"] = "json",
    ) -> Ledger | Response:
        """A month's work ledger (工作台账): each task's times, outcome and SLA; a team summary."""
        with services.reads() as session:
            if scope.team_id is not None and not team_exists(session, scope.team_id):
                raise NotFound(f"no team {scope.team_id!r}")
            now = report_time(session, services.clock.now())
            built = read_ledger(session, Month.parse(month), scope.team_id, now)
        if format == "json":
            return built
        return _attachment(built, format)

    return router


def _attachment(ledger: Ledger, format: Literal["csv", "xlsx"]) -> Response:
    if format == "csv":
        body, media_type = ledger_csv(ledger), CSV_TYPE
    else:
        body, media_type = ledger_xlsx(ledger), XLSX_TYPE
    filename = ledger_filename(ledger, format)
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
