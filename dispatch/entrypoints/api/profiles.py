"""A team's public profile, what its QR code links to: as JSON, or as a page for a phone."""

from __future__ import annotations

import html
from typing import Annotated

from fastapi import APIRouter, Header
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel

from dispatch.adapters.orm import TeamRow
from dispatch.entrypoints.api.deps import ServicesDep
from dispatch.service_layer.registry import SERVICE_PROMISE, registration_code
from dispatch.service_layer.services import Services
from models.errors import NotFound
from models.hubei import DIVISION_BY_CODE


class TeamProfile(BaseModel):
    """What a resident sees after scanning a team's QR code."""

    id: str
    name: str
    region: str
    area: str
    registration_code: str
    service_promise: str
    members: int
    party_members: int
    skills: list[str]
    reserve: bool


def router() -> APIRouter:
    router = APIRouter(tags=["teams"])

    @router.get("/teams/{team_id}", response_model=TeamProfile, responses={200: _HTML_TOO})
    def team_profile(
        team_id: str, services: ServicesDep, accept: Annotated[str, Header()] = ""
    ) -> Response | TeamProfile:
        """A team's public profile (what its QR code links to); no token needed."""
        profile = _profile(services, team_id)
        if "text/html" in accept:
            return HTMLResponse(_profile_html(profile))
        return profile

    return router


_HTML_TOO = {"content": {"text/html": {}}, "description": "the profile, as JSON or as a page"}


def _profile(services: Services, team_id: str) -> TeamProfile:
    with services.reads() as session:
        row = session.get(TeamRow, team_id)
        if row is None:
            raise NotFound(f"no team {team_id!r}")
        team = row.to_team()
    division = DIVISION_BY_CODE.get(team.region)
    return TeamProfile(
        id=team.id,
        name=team.name,
        region=team.region,
        area=division.title if division else team.region,
        registration_code=registration_code(team),
        service_promise=SERVICE_PROMISE,
        members=team.members,
        party_members=team.party_members,
        skills=sorted(team.skills),
        reserve=team.reserve,
    )


def _profile_html(profile: TeamProfile) -> str:
    e = html.escape
    kind = "reserve squad" if profile.reserve else "service team"
    return f"""<!doctype html>
<html lang="zh"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(profile.name)}</title></head>
<body style="font-family: sans-serif; max-width: 36em; margin: 2em auto; padding: 0 1em">
<h1>{e(profile.name)}</h1>
<p>{e(profile.area)} · {profile.members} members ({profile.party_members} party members),
{kind}</p>
<p>Skills: {e(", ".join(profile.skills))}</p>
<p>Registration code: <strong>{e(profile.registration_code)}</strong></p>
<p><em>{e(profile.service_promise)}</em></p>
</body></html>
"""
