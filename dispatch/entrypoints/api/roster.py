"""The duty roster and storm mode for the dispatch center's board: who is on duty now and
next, shifts added, storm mode declared, ended and shown per division."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, status
from pydantic import AwareDatetime, BaseModel, Field

from dispatch.entrypoints.api.deps import Dispatcher, Reader, ServicesDep
from dispatch.service_layer.roster import (
    DutyBoard,
    RosterFileError,
    duty_board,
    import_shifts,
)
from dispatch.service_layer.storm import (
    StormView,
    declare_storm_mode,
    end_storm_mode,
    storm_status,
)
from models.roster import Shift

DIVISION_PATTERN = r"^[a-z][a-z0-9_-]{0,63}$"
Division = Annotated[
    str, Path(min_length=1, max_length=64, pattern=DIVISION_PATTERN, description="e.g. jingzhou")
]
_AS_EVERY_422 = {
    "application/json": {"schema": {"$ref": "#/components/schemas/HTTPValidationError"}}
}


def _refused(
    unprocessable: str = "a malformed body or parameter", **codes: str
) -> dict[int | str, dict[str, Any]]:
    answers: dict[int | str, dict[str, Any]] = {
        int(code[1:]): {"description": text} for code, text in codes.items()
    }
    answers[422] = {"description": unprocessable, "content": _AS_EVERY_422}
    return answers


# per request: the longest body of this many stays under the API's body limit (a 422, never a
# 413); a whole year's roster goes through `everycall roster import`
MAX_SHIFTS_PER_REQUEST = 200


class ShiftBody(BaseModel):
    """A shift as the board sends it: its start and its length, so it always ends after it
    starts (the roster's files give the end: `everycall roster import`)."""

    team_id: str = Field(min_length=1, max_length=64)
    starts_at: AwareDatetime
    minutes: int = Field(ge=1, le=7 * 24 * 60, description="its length, at most a week")

    def shift(self) -> Shift:
        ends_at = self.starts_at + timedelta(minutes=self.minutes)
        return Shift(self.team_id, self.starts_at, ends_at)


class ShiftsRequest(BaseModel):
    shifts: list[ShiftBody] = Field(min_length=1, max_length=MAX_SHIFTS_PER_REQUEST)
    source: str = Field(default="api", max_length=200, description="where they came from")


class ShiftsImportedAnswer(BaseModel):
    imported: int


class StormRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=500, description="why, e.g. 暴雨红色预警")


def router() -> APIRouter:
    router = APIRouter(tags=["roster and storm mode"])

    @router.get("/roster/now", responses=_refused())
    def roster_now(
        services: ServicesDep,
        _caller: Reader,
        division: Annotated[
            str | None, Query(min_length=1, max_length=64, pattern=DIVISION_PATTERN)
        ] = None,
    ) -> DutyBoard:
        """Who is on duty now and who comes on next, team by team."""
        with services.reads() as session:
            return duty_board(session, services.clock.now(), division)

    @router.post(
        "/roster/shifts",
        responses=_refused(
            "a malformed body, or a time out of range (year 1 or 9999 with an offset)",
            c404="a team not in the registry",
        ),
    )
    def add_shifts(
        body: ShiftsRequest, services: ServicesDep, caller: Dispatcher
    ) -> ShiftsImportedAnswer:
        """Add shifts to the roster (a shift already there by team and start gets this end)."""
        try:
            shifts = [s.shift() for s in body.shifts]
            return ShiftsImportedAnswer(
                imported=import_shifts(services, caller, shifts, body.source)
            )
        except (RosterFileError, OverflowError) as error:
            problem = {"type": "shift_refused", "loc": ["body", "shifts"], "msg": str(error)}
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, [problem]) from error

    @router.get("/storm", responses=_refused())
    def storms(services: ServicesDep, _caller: Reader) -> list[StormView]:
        """Every division that is or was in storm mode, those in it first."""
        with services.reads() as session:
            return storm_status(session)

    @router.post(
        "/storm/{division}",
        responses=_refused(c404="no teams in the division", c409="already in storm mode"),
    )
    def declare(
        division: Division, body: StormRequest, services: ServicesDep, caller: Dispatcher
    ) -> StormView:
        """Declare storm mode in the division: its reserve squads join the pool."""
        return declare_storm_mode(services, caller, division, body.reason)

    @router.delete(
        "/storm/{division}",
        responses=_refused(c409="not in storm mode"),
    )
    def end(
        division: Division,
        services: ServicesDep,
        caller: Dispatcher,
        reason: Annotated[str, Query(max_length=500, description="why it is over")] = "",
    ) -> StormView:
        """End storm mode in the division: its reserve squads are released."""
        return end_storm_mode(services, caller, division, reason)

    return router
