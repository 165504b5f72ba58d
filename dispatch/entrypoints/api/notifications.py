"""The crew app's side of the notifications: the VAPID public key, the browser's push
subscription (bound to the session), the member's duty, a task seen; and the SMS gateway's
inbound replies (`POST /webhooks/sms`, signed; docs/notifications.md)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, HTTPException, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field, StrictBool
from starlette.concurrency import run_in_threadpool

from dispatch.adapters.notify_config import NotifyConfig, load_notify_config
from dispatch.adapters.vapid_keys import VapidKey, load_vapid_key
from dispatch.adapters.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER
from dispatch.entrypoints.api.deps import (
    SESSION_COOKIE,
    PersonActingDep,
    ServicesDep,
    SignedInDep,
    require,
)
from dispatch.service_layer import duty, push_subscriptions, seen, sms_replies, users
from dispatch.service_layer.access import Caller, Role
from dispatch.service_layer.services import Services
from models.errors import NotFound

TeamMember = Annotated[Caller, Depends(require(Role.TEAM))]
_SESSION: dict[int | str, dict[str, Any]] = {
    401: {"description": "not signed in, or the session has ended"},
    403: {"description": "not a team member, or a change without the session's CSRF token"},
}


class PublicKey(BaseModel):
    public_key: str = Field(description="base64url uncompressed P-256 point (applicationServerKey)")


class SubscriptionKeys(BaseModel):
    p256dh: str = Field(min_length=1, max_length=100)
    auth: str = Field(min_length=1, max_length=40)


class PushSubscriptionIn(BaseModel):
    """The browser's `PushSubscription.toJSON()`."""

    model_config = ConfigDict(extra="ignore")

    endpoint: str = Field(min_length=1, max_length=push_subscriptions.MAX_ENDPOINT_LENGTH)
    keys: SubscriptionKeys
    expirationTime: float | None = None  # the browser's name for it


class SubscriptionCreated(BaseModel):
    id: str


class Duty(BaseModel):
    on_duty: StrictBool = Field(description="true or false; nothing else reads as either")


class ReplyApplied(BaseModel):
    applied: str = Field(description="the event the reply became: task.acknowledged or declined")
    incident_id: str


def router() -> APIRouter:
    router = APIRouter(tags=["notifications"])
    kept: dict[str, Any] = {}  # the VAPID key and the configuration, read once per app

    def vapid(services: Services) -> VapidKey:
        if "vapid" not in kept:
            kept["vapid"] = load_vapid_key(services.settings)
        key: VapidKey = kept["vapid"]
        return key

    def notify_config(services: Services) -> NotifyConfig:
        if "config" not in kept:
            kept["config"] = load_notify_config(services.settings)
        config: NotifyConfig = kept["config"]
        return config

    @router.get("/push/key", responses={401: _SESSION[401]})
    def push_key(services: ServicesDep, _person: SignedInDep) -> PublicKey:
        """The key a browser subscribes to push with (any signed-in person)."""
        return PublicKey(public_key=vapid(services).public_key)

    @router.post(
        "/push/subscriptions",
        status_code=201,
        responses={**_SESSION, 422: {"description": "not an https push endpoint, or bad keys"}},
    )
    def subscribe(
        body: Annotated[PushSubscriptionIn, Body()],
        request: Request,
        services: ServicesDep,
        person: PersonActingDep,
    ) -> SubscriptionCreated:
        """Keep this browser's push subscription for this session (team members)."""
        caller, _, account = person
        duty.check_member(caller)
        session_key = users.session_hash(request.cookies[SESSION_COOKIE])
        keys = (body.endpoint, body.keys.p256dh, body.keys.auth)
        try:
            with services.sessions.begin() as session:
                found = push_subscriptions.subscribe(
                    session, account.username, session_key, keys, services.clock.now()
                )
        except push_subscriptions.SubscriptionRefused as refused:
            raise _unprocessable(["body"], str(refused)) from refused
        return SubscriptionCreated(id=found)

    @router.delete(
        "/push/subscriptions/{subscription_id}",
        status_code=204,
        responses={**_SESSION, 404: {"description": "no such subscription of yours"}},
    )
    def unsubscribe(subscription_id: str, services: ServicesDep, person: PersonActingDep) -> None:
        """Forget one of your push subscriptions."""
        with services.sessions.begin() as session:
            if not push_subscriptions.unsubscribe(session, person[2].username, subscription_id):
                raise NotFound(f"you have no push subscription {subscription_id}")

    @router.get("/me/duty", responses=_SESSION)
    def my_duty(services: ServicesDep, person: SignedInDep) -> Duty:
        """Whether you are on duty (team members; off duty, you are told nothing)."""
        team_id = duty.check_member(person[0])
        with services.reads() as session:
            return Duty(on_duty=duty.is_on_duty(session, person[2].username, team_id))

    @router.put("/me/duty", responses=_SESSION)
    def set_my_duty(
        body: Annotated[Duty, Body()], services: ServicesDep, person: PersonActingDep
    ) -> Duty:
        """Go on or off duty (team members); the event log names you."""
        caller, _, account = person
        return Duty(on_duty=duty.set_duty(services, caller, account.username, body.on_duty))

    @router.post("/tasks/{incident_id}/seen", status_code=204)
    def task_seen(incident_id: str, services: ServicesDep, caller: TeamMember) -> Response:
        """The crew app showed this task to the crew (the team's own tasks only)."""
        seen.mark_seen(services, incident_id, caller)
        return Response(status_code=204)

    @router.post(
        "/webhooks/sms",
        responses={
            401: {"description": "a bad or missing signature, or a stale timestamp"},
            403: {"description": "the reply does not come from the phone the text went to"},
            404: {"description": "no SMS gateway is configured"},
            409: {"description": "a message id already applied, or the task moved on"},
            422: {"description": "not 1 or 2 and a reason, or no reference to a text of ours"},
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": sms_replies.SmsReply.model_json_schema(by_alias=True)
                    }
                },
            }
        },
    )
    async def sms_reply(
        request: Request,
        services: ServicesDep,
        timestamp: Annotated[str, Header(alias=TIMESTAMP_HEADER)] = "",
        signature: Annotated[str, Header(alias=SIGNATURE_HEADER)] = "",
    ) -> ReplyApplied:
        """A crew's SMS reply from the gateway: `1` takes the task, `2 理由` declines it."""
        raw = await request.body()
        config = notify_config(services)
        try:
            applied = await run_in_threadpool(
                sms_replies.receive, services, config, raw, timestamp, signature
            )
        except sms_replies.ReplyRefused as refused:
            raise HTTPException(refused.status, refused.reason) from refused
        return ReplyApplied(applied=applied.event_type, incident_id=applied.incident_id)

    return router


def _unprocessable(where: list[str], message: str) -> HTTPException:
    detail = [{"type": "value_error", "loc": where, "msg": message}]
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail)
