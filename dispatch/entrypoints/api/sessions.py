"""People sign in and out: `POST /session` sets an HttpOnly, SameSite=Strict cookie and
returns the CSRF token every change through the board must send back (`X-CSRF-Token`);
`GET /session` says who is signed in; `DELETE /session` signs out. Sign-in attempts are rate
limited per account and per client address, in the buckets every API process shares."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, HTTPException, Request, Response, status
from pydantic import BaseModel, Field

from dispatch.entrypoints.api.deps import (
    SESSION_COOKIE,
    PersonActingDep,
    ServicesDep,
    SignedInDep,
)
from dispatch.service_layer import users

# five attempts at once, then one each 12 s: a person mistyping is not slowed, a guesser is
SIGN_IN_LIMIT = (1 / 12, 5)  # (per second, burst)


class SignInRequest(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)


class SessionView(BaseModel):
    username: str
    display_name: str
    role: str
    team_id: str | None
    csrf_token: str = Field(description="send it as X-CSRF-Token with every change")
    expires_at: datetime | None = None


def router() -> APIRouter:
    router = APIRouter(tags=["sessions"])

    @router.post("/session", responses={401: {"description": "wrong username or password"}})
    def sign_in(
        body: Annotated[SignInRequest, Body()],
        request: Request,
        response: Response,
        services: ServicesDep,
    ) -> SessionView:
        """Sign in with a username and password (accounts: `everycall users add`)."""
        client = request.client.host if request.client else "?"
        wait = max(
            services.rate_buckets.take(f"sign-in:user:{body.username}", *SIGN_IN_LIMIT),
            services.rate_buckets.take(f"sign-in:address:{client}", *SIGN_IN_LIMIT),
        )
        if wait > 0:
            raise HTTPException(
                status.HTTP_429_TOO_MANY_REQUESTS,
                "too many sign-in attempts; wait and try again",
                headers={"Retry-After": str(math.ceil(wait))},
            )
        with services.sessions.begin() as session:
            signed = users.sign_in(session, body.username, body.password, services.clock.now())
        if signed is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong username or password")
        response.set_cookie(
            SESSION_COOKIE,
            signed.cookie,
            max_age=int(users.SESSION_LIFETIME.total_seconds()),
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )
        caller = signed.caller
        return SessionView(
            username=body.username,
            display_name=signed.display_name,
            role=caller.role.value,
            team_id=caller.team_id,
            csrf_token=signed.csrf_token,
            expires_at=signed.expires_at,
        )

    @router.get("/session", responses={401: {"description": "not signed in"}})
    def who(person: SignedInDep) -> SessionView:
        """The person signed in on this browser, and the session's CSRF token."""
        caller, csrf, row = person
        return SessionView(
            username=row.username,
            display_name=row.display_name,
            role=caller.role.value,
            team_id=caller.team_id,
            csrf_token=csrf,
        )

    @router.delete(
        "/session",
        status_code=204,
        responses={
            401: {"description": "not signed in"},
            403: {"description": "the change lacks the session's CSRF token"},
        },
    )
    def sign_out(
        request: Request, response: Response, services: ServicesDep, _person: PersonActingDep
    ) -> None:
        """Sign out (any role): the cookie stops working, wherever it was copied to."""
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            with services.sessions.begin() as session:
                users.sign_out(session, cookie, services.clock.now())
        response.delete_cookie(SESSION_COOKIE, path="/")

    return router
