"""Weather alerts for the dispatch center: CAP 1.2 XML posted by the meteorological feed (a
dispatcher-role machine token) or by hand, and the board's list of alerts and proposals."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from dispatch.entrypoints.api.deps import Dispatcher, Reader, ServicesDep
from dispatch.service_layer.alerts import AlertAnswer, AlertsBoard, ingest_cap_alert, recent_alerts
from events.cap import MAX_ALERT_BYTES, InvalidAlert

CAP_MEDIA_TYPES = ("application/cap+xml", "application/xml", "text/xml")
# no maxLength: the API's body limit (api_body_limit_bytes, 64 KiB by default) comes first,
# and it is a setting, so the schema cannot name it; both answer 413
_XML_BODY = {"schema": {"type": "string"}}
_AS_EVERY_422 = {
    "application/json": {"schema": {"$ref": "#/components/schemas/HTTPValidationError"}}
}
_POST_ANSWERS: dict[int | str, dict[str, Any]] = {
    413: {"description": "larger than the API's body limit, or than a CAP alert may be"},
    409: {"description": "the same alert is being handled and did not finish in time"},
    415: {"description": "a body that does not say it is CAP XML"},
    422: {
        "description": "not XML, a DTD or entity (XXE), or not CAP 1.2; kept as a dead letter",
        "content": _AS_EVERY_422,
    },
}


def _refusal(code: int, kind: str, message: str) -> JSONResponse:
    """Shaped like every other 4xx with a list detail (the OpenAPI HTTPValidationError)."""
    return JSONResponse({"detail": [{"type": kind, "loc": ["body"], "msg": message}]}, code)


def _is_cap_xml(request: Request) -> bool:
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return media in CAP_MEDIA_TYPES


def router() -> APIRouter:
    router = APIRouter(tags=["weather alerts"])

    @router.post(
        "/alerts/cap",
        status_code=status.HTTP_202_ACCEPTED,
        response_model=AlertAnswer,
        responses=_POST_ANSWERS,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {media: _XML_BODY for media in CAP_MEDIA_TYPES},
            }
        },
    )
    async def post_cap_alert(
        request: Request, services: ServicesDep, caller: Dispatcher
    ) -> AlertAnswer | Response:
        """Take a CAP 1.2 alert: storm mode declared or proposed where it says, once per alert."""
        if not _is_cap_xml(request):
            return _refusal(415, "unsupported_media_type", f"send one of {CAP_MEDIA_TYPES}")
        body = await request.body()
        if len(body) > MAX_ALERT_BYTES:
            return _refusal(413, "too_large", f"an alert is at most {MAX_ALERT_BYTES} bytes")
        try:
            return await run_in_threadpool(ingest_cap_alert, services, caller, body)
        except InvalidAlert as error:
            return _refusal(422, "invalid_cap_alert", f"{error} (kept as a dead letter)")

    @router.get("/alerts", responses={422: {"description": "a malformed parameter"}})
    def list_alerts(
        services: ServicesDep,
        _caller: Reader,
        limit: Annotated[int, Query(ge=1, le=500, description="newest first")] = 50,
    ) -> AlertsBoard:
        """The newest weather alerts, what each did, and the storm-mode proposals."""
        with services.reads() as session:
            return recent_alerts(session, limit)

    return router
