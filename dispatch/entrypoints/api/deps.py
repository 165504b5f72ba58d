"""What a route depends on, as `Annotated[..., Depends(...)]`: the services the app was started
with, and the caller behind the bearer token (a machine) or the session cookie (a person
signed in to the board), let through by role (service_layer/access.py). A person's changes
carry the session's CSRF token."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Header, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from dispatch.adapters.orm import UserRow
from dispatch.service_layer.access import READ_METHODS, Caller, Role, may_use_method, refusal
from dispatch.service_layer.services import Services
from dispatch.service_layer.tokens import lookup_caller
from dispatch.service_layer.users import session_caller

SESSION_COOKIE = "everycall_session"
CSRF_HEADER = "X-CSRF-Token"


def request_services(request: Request) -> Services:
    """The services the app was started with (see dispatch.entrypoints.api.app.create_app)."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(request_services)]

_bearer = HTTPBearer(
    auto_error=False,
    description="`Authorization: Bearer TOKEN`, a token from `everycall tokens create`",
)


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"}
    )


def signed_in(request: Request, services: ServicesDep) -> tuple[Caller, str, UserRow]:
    """The person behind the session cookie, the session's CSRF token, and their account."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise _unauthorized("not signed in")
    with services.reads() as session:
        found = session_caller(session, cookie, services.clock.now())
    if found is None:
        raise _unauthorized("the session has ended; sign in again")
    return found


SignedInDep = Annotated[tuple[Caller, str, UserRow], Depends(signed_in)]


def person_acting(request: Request, person: SignedInDep) -> tuple[Caller, str, UserRow]:
    """The signed-in person, for a change: 403 unless it carries the session's CSRF token."""
    sent = request.headers.get(CSRF_HEADER, "")
    if request.method not in READ_METHODS and not hmac.compare_digest(sent, person[1]):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"missing or wrong {CSRF_HEADER}")
    return person


PersonActingDep = Annotated[tuple[Caller, str, UserRow], Depends(person_acting)]


def current_caller(
    request: Request,
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    """The caller behind the bearer token, or else the signed-in person: 401 without either;
    403 for a person's change without the session's CSRF token; auditors only read."""
    if credentials is not None:
        with services.reads() as session:
            caller = lookup_caller(
                session, credentials.credentials, services.settings.api_token_pepper
            )
        if caller is None:
            raise _unauthorized("invalid or revoked token")
    elif request.cookies.get(SESSION_COOKIE):
        caller = person_acting(request, signed_in(request, services))[0]
    else:
        raise _unauthorized("missing bearer token or session")
    if not may_use_method(caller, request.method):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "auditors may read but not change anything")
    return caller


CallerDep = Annotated[Caller, Depends(current_caller)]


def require(*roles: Role) -> Callable[[Caller], Caller]:
    """A dependency that lets only `roles` through (403 for the others)."""
    allowed = frozenset(roles)

    def allowed_caller(caller: CallerDep) -> Caller:
        refused = refusal(caller, allowed)
        if refused is not None:
            raise HTTPException(status.HTTP_403_FORBIDDEN, refused)
        return caller

    return allowed_caller


Dispatcher = Annotated[Caller, Depends(require(Role.DISPATCHER, Role.ADMIN))]
Reader = Annotated[Caller, Depends(require(Role.DISPATCHER, Role.AUDITOR, Role.ADMIN))]
# Teams act on their own tasks; the dispatch center may record progress for any team (a crew
# phoning in); the event log names who it was.
TaskActor = Annotated[Caller, Depends(require(Role.TEAM, Role.DISPATCHER, Role.ADMIN))]


def idempotency_header(description: str) -> Any:
    """An Idempotency-Key header: printable ASCII, up to 200 characters."""
    return Header(min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$", description=description)
