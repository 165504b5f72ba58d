"""The team registry: seeding, listing and reading teams in the database, a team's location
fixes, and what a team prints on its door card (registration code, card text, QR code) so
residents can reach its profile with one scan.

Every registry change is logged as an event, so a replay rebuilds the registry as it was.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import segno
from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.adapters.orm import TeamRow
from dispatch.service_layer import folds
from dispatch.service_layer.live_rows import LiveRows
from dispatch.service_layer.services import Services
from dispatch.service_layer.unit_of_work import unit_of_work
from events.log import SqlEventLog
from events.schemas import envelope_for
from events.schemas.teams import TeamLocated, TeamRegistered, TeamRetired
from models.errors import NotFound
from models.hubei import division_name
from models.team import SKILL_ZH, Skill, Team

PRODUCER = "everycall-registry"
SERVICE_PROMISE = "有呼必应、有难必帮 — every call answered, every difficulty helped"
# 32 symbols without 0/O and 1/I, so a code read aloud over the phone is not misheard
_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


def replace_registry(session: Session, teams: Sequence[Team], at: datetime) -> int:
    """Make `teams` the whole registry, inside the caller's transaction (all or nothing):
    decide the events (retired, registered), then fold them into the rows, as replay does."""
    retired = set(session.scalars(select(TeamRow.id))) - {t.id for t in teams}
    events = [
        envelope_for(TeamRetired(team_id=t), producer=PRODUCER, key=t, at=at)
        for t in sorted(retired)
    ]
    events += [
        envelope_for(TeamRegistered(**t.model_dump()), producer=PRODUCER, key=t.region, at=at)
        for t in teams
    ]
    folds.apply(LiveRows(session), events)
    SqlEventLog().append(session, events)
    return len(teams)


def list_teams(session: Session, region: str | None = None) -> list[Team]:
    query = select(TeamRow).order_by(TeamRow.id)
    if region:
        query = query.where(TeamRow.region == region)
    return [row.to_team() for row in session.scalars(query)]


def report_location(
    services: Services,
    team_id: str,
    lat: float,
    lon: float,
    *,
    located_at: datetime | None = None,
    accuracy_m: float | None = None,
    actor: str = "",
) -> bool:
    """A team's location fix (taken now, unless `located_at` says when): stored for routing and
    logged, in one transaction. A fix older than the team's last one is not recorded (two
    phones of one crew, or a fix sent late), so routing keeps the newer; returns whether it was.
    """
    now = services.clock.now()
    taken = min(located_at or now, now)  # a phone's clock a little ahead is taken as now
    with unit_of_work(services) as uow:
        row = uow.session.get(TeamRow, team_id, with_for_update=True)
        if row is None:
            raise NotFound(f"no team {team_id!r}")
        if row.fix_at is not None and row.fix_at > taken:
            return False
        located = TeamLocated(
            team_id=team_id,
            latitude=lat,
            longitude=lon,
            located_at=taken,
            actor=actor,
            accuracy_m=accuracy_m,
        )
        envelope = envelope_for(located, producer=PRODUCER, key=row.region, at=now)
        uow.record_envelopes([envelope], now, staged=False)
    return True


# --- door cards ------------------------------------------------------------------------------


def registration_code(team: Team) -> str:
    """`EC-HB-XXXX-XXXX`, from a SHA-256 of the team id: stable across renames and moves."""
    number = int.from_bytes(hashlib.sha256(team.id.encode("utf-8")).digest()[:5], "big")
    symbols = "".join(_ALPHABET[(number >> shift) & 31] for shift in range(35, -1, -5))
    return f"EC-HB-{symbols[:4]}-{symbols[4:]}"


def profile_url(team: Team, base_url: str) -> str:
    return f"{base_url.rstrip('/')}/teams/{quote(team.id, safe='')}"


def profile_text(team: Team) -> str:
    """The card text, Chinese first with English beside: who the team is (亮身份), where it
    serves and who answers for it (亮职责), and its promise (亮承诺). Each line says it whole
    in Chinese, then ` / ` and the same in English, so a reader of either reads one half."""
    skills = [s for s in Skill if s in team.skills]
    lines = [
        team.name,
        *([team.name_en] if team.name_en else []),
        _beside(f"区域：{division_name(team.region)}", f"Area: {division_name(team.region, 'en')}"),
        _beside(
            f"队长：{team.leader or '未填写'}",
            f"Leader: {team.leader_en or team.leader or 'not named'}",
        ),
        _beside(
            f"队员 {team.members} 名（党员 {team.party_members} 名），"
            + ("预备队" if team.reserve else "服务队"),
            f"{team.members} members ({team.party_members} party members), "
            + ("reserve squad" if team.reserve else "service team"),
        ),
        *(
            [
                _beside(
                    f"支部（一队一支部）：{team.branch}", f"Branch: {team.branch_en or team.branch}"
                )
            ]
            if team.branch
            else []
        ),
        _beside(
            f"服务：{'、'.join(SKILL_ZH[s] for s in skills)}",
            f"Skills: {', '.join(s.replace('_', ' ') for s in skills)}",
        ),
        _beside(
            f"注册码：{registration_code(team)}", f"Registration code: {registration_code(team)}"
        ),
        SERVICE_PROMISE,
    ]
    return "\n".join(lines)


def _beside(chinese: str, english: str) -> str:
    return f"{chinese} / {english}"


def profile_qr(team: Team, base_url: str) -> segno.QRCode:
    """The QR code of the profile link; error level M survives a scuffed door card."""
    return segno.make(profile_url(team, base_url), error="m", micro=False)


def write_qr(team: Team, directory: Path, base_url: str) -> tuple[Path, Path]:
    """Write `<team id>.svg` and `<team id>.png` into `directory`; returns both paths."""
    directory.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9_-]", "_", team.id)  # ids come from imported files
    qr = profile_qr(team, base_url)
    svg, png = directory / f"{stem}.svg", directory / f"{stem}.png"
    qr.save(str(svg), scale=10, border=4, title=team.name)
    qr.save(str(png), scale=10, border=4)
    return svg, png
