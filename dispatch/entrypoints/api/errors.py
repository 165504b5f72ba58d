"""How errors answer: domain errors by their kind, an outage as 503 with Retry-After, a value
the database refuses as 422, every echoed input as strict JSON."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError, InterfaceError, OperationalError

from dispatch.entrypoints.api.middleware import printable, request_validation_error
from dispatch.service_layer.intake import IdempotencyKeyReused
from models.errors import (
    DomainError,
    Forbidden,
    InvalidTransition,
    LevelAtCeiling,
    NoEligibleTeam,
    NotFound,
    SupportsStillOpen,
    TaskWithdrawn,
)

DATABASE_RETRY_AFTER_S = 2


def add_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, request_validation_error)
    statuses: list[tuple[type[DomainError], int]] = [
        (NotFound, status.HTTP_404_NOT_FOUND),
        (Forbidden, status.HTTP_403_FORBIDDEN),
        (NoEligibleTeam, status.HTTP_409_CONFLICT),
        (LevelAtCeiling, status.HTTP_409_CONFLICT),
        (SupportsStillOpen, status.HTTP_409_CONFLICT),
        (DomainError, status.HTTP_400_BAD_REQUEST),
    ]
    for error_type, code in statuses:
        app.add_exception_handler(error_type, _answer_with(code))

    async def invalid_transition(request: Request, error: Exception) -> Response:
        assert isinstance(error, InvalidTransition)
        return JSONResponse(
            {"detail": str(error), "current_state": error.current}, status.HTTP_409_CONFLICT
        )

    app.add_exception_handler(InvalidTransition, invalid_transition)

    async def task_withdrawn(request: Request, error: Exception) -> Response:
        # `withdrawn` tells the crew's phone what to say without showing where the task went
        return JSONResponse({"detail": str(error), "withdrawn": True}, status.HTTP_409_CONFLICT)

    app.add_exception_handler(TaskWithdrawn, task_withdrawn)
    app.add_exception_handler(IdempotencyKeyReused, _idempotency_key_reused)
    for outage in (OperationalError, InterfaceError):
        app.add_exception_handler(outage, _database_unavailable)
    app.add_exception_handler(DataError, _not_storable)


async def _idempotency_key_reused(request: Request, error: Exception) -> Response:
    """422 shaped like every other 422 (the OpenAPI schema's), naming the header."""
    detail = {
        "type": "idempotency_key_reused",
        "loc": ["header", "idempotency-key"],
        "msg": str(error),
        "input": request.headers.get("idempotency-key"),
    }
    return JSONResponse({"detail": [detail]}, status.HTTP_422_UNPROCESSABLE_CONTENT)


async def _not_storable(request: Request, error: Exception) -> Response:
    """A value the database refuses (a NUL in a text, a number out of range): the client's."""
    detail = [{"type": "value_error", "loc": ["body"], "msg": "a value the database cannot store"}]
    return JSONResponse({"detail": detail}, status.HTTP_422_UNPROCESSABLE_CONTENT)


async def _database_unavailable(request: Request, error: Exception) -> Response:
    """The database is away (or locked past its timeout): the client retries later, with the
    same Idempotency-Key, so a commit whose answer was lost is not stored twice."""
    return JSONResponse(
        {"detail": "the database is unavailable; retry later with the same Idempotency-Key"},
        status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)},
    )


def _answer_with(code: int) -> Callable[[Request, Exception], Any]:
    async def answer(request: Request, error: Exception) -> Response:
        return JSONResponse({"detail": printable(str(error))}, code)

    return answer
