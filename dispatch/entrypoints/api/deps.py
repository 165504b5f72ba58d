"""What a route depends on, as `Annotated[..., Depends(...)]`: the services the app was started
with, and the caller behind the bearer token, let through by role (service_layer/access.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from dispatch.service_layer.access import Caller, Role, may_use_method, refusal
from dispatch.service_layer.services import Services
from dispatch.service_layer.tokens import lookup_caller


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


def current_caller(
    request: Request,
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    """The caller behind the bearer token: 401 without a valid one; auditors only read."""
    if credentials is None:
        raise _unauthorized("missing bearer token")
    with services.reads() as session:
        caller = lookup_caller(session, credentials.credentials, services.settings.api_token_pepper)
    if caller is None:
        raise _unauthorized("invalid or revoked token")
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
