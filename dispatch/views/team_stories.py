"""A team's service stories, newest first, as its public page and the admin API show them."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.adapters.orm import TeamStoryRow

PAGE_STORIES = 20  # a phone screen's worth of reading; older ones stay in the log and the API


class StoryView(BaseModel):
    id: str
    team_id: str
    title: str
    body: str
    title_en: str
    body_en: str
    actor: str = Field(description="who added it")
    added_at: AwareDatetime = Field(description="UTC")


def team_stories(session: Session, team_id: str, limit: int = PAGE_STORIES) -> list[StoryView]:
    """The team's stories, newest first (ties by id, so the order is stable)."""
    rows = session.scalars(
        select(TeamStoryRow)
        .where(TeamStoryRow.team_id == team_id)
        .order_by(TeamStoryRow.added_at.desc(), TeamStoryRow.id)
        .limit(limit)
    )
    return [
        StoryView(
            id=r.id,
            team_id=r.team_id,
            title=r.title,
            body=r.body,
            title_en=r.title_en,
            body_en=r.body_en,
            actor=r.actor,
            added_at=r.added_at,
        )
        for r in rows
    ]
