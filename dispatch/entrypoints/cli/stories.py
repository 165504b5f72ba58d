"""`everycall stories`: a team's service stories (服务故事) on its public page, added and listed
straight on the database; each addition is logged naming the operator."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.markup import escape

from dispatch import bootstrap
from dispatch.entrypoints.cli.consoles import message_console
from dispatch.entrypoints.cli.i18n import local_time, say
from dispatch.entrypoints.cli.ops import operator
from dispatch.service_layer.stories import add_story
from dispatch.views.team_stories import team_stories
from models.errors import NotFound
from models.story import StoryText

stories_app = typer.Typer(
    help="服务故事 A team's service stories, shown newest first on its public page.",
    no_args_is_help=True,
)
console = message_console()  # a story id is copied whole, never wrapped
errors = message_console(stderr=True)
TeamArgument = Annotated[str, typer.Argument(help="the team id, e.g. HB-WH-001")]


@stories_app.command("add")
def add(
    team_id: TeamArgument,
    title: Annotated[str, typer.Option(help="标题, in Chinese")],
    body: Annotated[str, typer.Option(help="正文, in Chinese")],
    title_en: Annotated[str, typer.Option(help="the title in English")] = "",
    body_en: Annotated[str, typer.Option(help="the story in English")] = "",
) -> None:
    """Add a story to the team's page (no phone numbers: the page offers 95598)."""
    try:
        story = StoryText(title=title, body=body, title_en=title_en, body_en=body_en)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        errors.print(f"[red]{say('stories.not_added')}[/red] {escape(problems)}")
        raise typer.Exit(code=2) from error
    try:
        with bootstrap.database() as services:
            added = add_story(services, team_id, story, actor=f"cli:{operator()}")
    except NotFound as error:
        errors.print(f"[red]{say('stories.no_team', team_id=escape(team_id))}[/red]")
        raise typer.Exit(code=1) from error
    console.print(say("stories.added", story_id=added.story_id, team_id=escape(team_id)))


@stories_app.command("list")
def list_(
    team_id: TeamArgument,
    as_json: Annotated[bool, typer.Option("--json", help="JSON, for scripts")] = False,
) -> None:
    """The team's stories, newest first; times in Asia/Shanghai."""
    with bootstrap.database() as services, services.reads() as session:
        told = team_stories(session, team_id, limit=500)
    if as_json:
        typer.echo(json.dumps([s.model_dump(mode="json") for s in told], ensure_ascii=False))
        return
    console.print(say("stories.title", team_id=escape(team_id), count=len(told)))
    for story in told:
        when = local_time(story.added_at, zone=False)
        console.print(f"{when}  {story.id}  {escape(story.title)}  ({escape(story.actor)})")
