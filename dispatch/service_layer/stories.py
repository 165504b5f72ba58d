"""The teams' service stories: an admin adds one, it is logged as `team.story_added` naming
who added it, and folded into `team_stories` in the same transaction."""

from __future__ import annotations

import uuid

from dispatch.adapters.orm import TeamRow
from dispatch.service_layer.services import Services
from dispatch.service_layer.unit_of_work import unit_of_work
from events.schemas import envelope_for
from events.schemas.stories import TeamStoryAdded
from models.errors import NotFound
from models.story import StoryText

PRODUCER = "everycall-stories"


def add_story(services: Services, team_id: str, story: StoryText, actor: str) -> TeamStoryAdded:
    """Add `story` to the team's page; NotFound for a team not in the registry."""
    now = services.clock.now()
    with unit_of_work(services) as uow:
        row = uow.session.get(TeamRow, team_id)
        if row is None:
            raise NotFound(f"no team {team_id!r}")
        added = TeamStoryAdded(
            story_id=uuid.uuid4().hex,
            team_id=team_id,
            **story.model_dump(),
            actor=actor,
            added_at=now,
        )
        # the page reads the table; no consumer waits for stories on Kafka
        envelope = envelope_for(added, producer=PRODUCER, key=row.region, at=now)
        uow.record_envelopes([envelope], now, staged=False)
    return added
