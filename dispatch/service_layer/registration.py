"""Registration codes and QR codes: what a team prints on its door card so residents can
reach its profile with one scan."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from urllib.parse import quote

import segno

from models.hubei import DIVISION_BY_CODE
from models.team import Team

SERVICE_PROMISE = "有呼必应、有难必帮 — every call answered, every difficulty helped"
# 32 symbols without 0/O and 1/I, so a code read aloud over the phone is not misheard
_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


def registration_code(team: Team) -> str:
    """`EC-HB-XXXX-XXXX`, from a SHA-256 of the team id: stable across renames and moves."""
    number = int.from_bytes(hashlib.sha256(team.id.encode("utf-8")).digest()[:5], "big")
    symbols = "".join(_ALPHABET[(number >> shift) & 31] for shift in range(35, -1, -5))
    return f"EC-HB-{symbols[:4]}-{symbols[4:]}"


def profile_url(team: Team, base_url: str) -> str:
    return f"{base_url.rstrip('/')}/teams/{quote(team.id, safe='')}"


def profile_text(team: Team) -> str:
    """The card text: who the team is, where it serves, and its promise."""
    division = DIVISION_BY_CODE.get(team.region)
    area = division.title if division else team.region
    kind = "reserve squad" if team.reserve else "service team"
    lines = [
        team.name,
        f"Area: {area}",
        f"Leader: {team.leader or 'not named'}",
        f"{team.members} members ({team.party_members} party members), {kind}",
        f"Skills: {', '.join(sorted(team.skills))}",
        f"Registration code: {registration_code(team)}",
        SERVICE_PROMISE,
    ]
    return "\n".join(lines)


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
