"""A team's public profile, what its QR code links to: as JSON, or as a page for a phone
(team_page.py), in Chinese or English at the same address."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from dispatch.adapters.orm import TeamRow
from dispatch.entrypoints.api import stories
from dispatch.entrypoints.api.deps import ServicesDep
from dispatch.entrypoints.api.team_page import Language, TeamPage, choose_language, render_team_page
from dispatch.service_layer.registry import SERVICE_PROMISE, registration_code
from dispatch.service_layer.services import Services
from dispatch.views.team_record import read_team_record
from dispatch.views.team_stories import team_stories
from models.errors import NotFound
from models.hubei import DIVISION_BY_CODE, division_name
from models.story import phone_numbers_in
from models.team import Team

# the answer differs by what the reader accepts (JSON or a page) and in which language
VARY = "Accept, Accept-Language"


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
    # Chinese first with English beside, as on the page; personal phone numbers left out
    name_en: str = Field(description="the team's name in English")
    leader: str = Field(description="队长, in Chinese")
    leader_en: str = Field(description="the leader's name in pinyin")
    branch: str = Field(description="its paired party branch (一队一支部), in Chinese")
    branch_en: str = Field(description="the branch in English")
    intro: str = Field(description="a short introduction, in Chinese")
    intro_en: str = Field(description="the introduction in English")
    division_zh: str = Field(description="the division's official name in Chinese, e.g. 荆州市")
    division_en: str = Field(description="the division's name in English, e.g. Jingzhou")


def router() -> APIRouter:
    router = APIRouter(tags=["teams"])

    @router.get(
        "/teams/{team_id}",
        response_model=TeamProfile,
        responses={200: _HTML_TOO, 404: {"description": "no such team"}},
    )
    def team_profile(
        team_id: str,
        services: ServicesDep,
        response: Response,
        lang: Annotated[
            Language | None, Query(description="zh or en; else Accept-Language")
        ] = None,
        accept: Annotated[str, Header()] = "",
        accept_language: Annotated[str, Header()] = "",
    ) -> Response | TeamProfile:
        """A team's public profile (what its QR code links to); no token needed."""
        if "text/html" in accept:
            page = _page(services, team_id)
            language = choose_language(lang, accept_language)
            html = render_team_page(page, language)
            return HTMLResponse(html, headers={"Vary": VARY, "Content-Language": _tag(language)})
        response.headers["Vary"] = VARY
        return _profile(_team(services, team_id))

    router.include_router(stories.router())
    return router


_HTML_TOO = {"content": {"text/html": {}}, "description": "the profile, as JSON or as a page"}


def _tag(language: Language) -> str:
    return "zh-CN" if language == "zh" else "en"


def _team(services: Services, team_id: str) -> Team:
    with services.reads() as session:
        row = session.get(TeamRow, team_id)
        if row is None:
            raise NotFound(f"no team {team_id!r}")
        return row.to_team()


def _page(services: Services, team_id: str) -> TeamPage:
    now = services.clock.now()
    with services.reads() as session:
        row = session.get(TeamRow, team_id)
        if row is None:
            raise NotFound(f"no team {team_id!r}")
        team = row.to_team()
        record = read_team_record(session, team_id, now)
        told = team_stories(session, team_id)
    division = DIVISION_BY_CODE.get(team.region)
    return TeamPage(team, division, record, told, now)


def _profile(team: Team) -> TeamProfile:
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
        name_en=team.name_en,
        leader=_public(team.leader),
        leader_en=_public(team.leader_en),
        branch=_public(team.branch),
        branch_en=_public(team.branch_en),
        intro=_public(team.intro),
        intro_en=_public(team.intro_en),
        division_zh=division_name(team.region),
        division_en=division_name(team.region, "en"),
    )


def _public(text: str) -> str:
    """Registry text fit for a public answer: a personal phone number an import carried is
    left out, as on the page (only the 95598 hotline is offered)."""
    for number in phone_numbers_in(text):
        text = text.replace(number, "…")
    return text
