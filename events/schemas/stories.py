"""Schemas of the teams' service stories (服务故事): what an admin tells of a team's work, shown
on the team's public page. Replay rebuilds the stories from these alone."""

from __future__ import annotations

from typing import ClassVar

from pydantic import AwareDatetime, Field

from events.schemas import EventPayload, register

TITLE_MAX = 200
BODY_MAX = 4_000


@register
class TeamStoryAdded(EventPayload):
    """An admin added a story to a team's page; the payload is the whole story and its author."""

    TYPE: ClassVar[str] = "team.story_added"
    VERSION: ClassVar[int] = 1

    story_id: str = Field(min_length=1, max_length=32)
    team_id: str = Field(min_length=1, max_length=64)
    title: str = Field(min_length=1, max_length=TITLE_MAX, description="in Chinese")
    body: str = Field(min_length=1, max_length=BODY_MAX, description="in Chinese")
    title_en: str = Field(default="", max_length=TITLE_MAX, description="in English, if given")
    body_en: str = Field(default="", max_length=BODY_MAX, description="in English, if given")
    actor: str = Field(min_length=1, max_length=200, description="who added it")
    added_at: AwareDatetime
