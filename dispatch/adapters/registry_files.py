"""Import and export of the team registry as CSV or JSON. Loading is all-or-nothing: one bad
row rejects the file, with its line (CSV) or item (JSON) number and the reason.

Both languages travel: `name` and `name_en`, `leader` and `leader_en`, and so on. In CSV a
team's grid cells are one cell joined by ";" and its roles are a JSON array in one cell
(`[{"role": "队长", "role_en": "Leader", "count": 1}]`), so a role may hold any text. Files
written before these columns existed still import: the columns after `status` are optional.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from models.team import Team

# fmt: off
REQUIRED_COLUMNS = (
    "id", "name", "region", "latitude", "longitude", "leader",
    "members", "party_members", "skills", "capacity", "reserve", "status",
)
OPTIONAL_COLUMNS = (
    "name_en", "leader_en", "roles", "grid_cells", "branch", "branch_en", "intro", "intro_en",
)
# fmt: on
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS


class RegistryImportError(ValueError):
    """A registry file that cannot be imported; `where` is "line N", "item N" or ""."""

    def __init__(self, path: Path, where: str, reason: str) -> None:
        super().__init__(f"{path}: {where}: {reason}" if where else f"{path}: {reason}")
        self.path = path
        self.where = where
        self.reason = reason


def _record(team: Team) -> dict[str, Any]:
    """The flat shape shared by both formats: one column per field, home split in two."""
    return {
        "id": team.id,
        "name": team.name,
        "region": team.region,
        "latitude": team.home.latitude,
        "longitude": team.home.longitude,
        "leader": team.leader,
        "members": team.members,
        "party_members": team.party_members,
        "skills": sorted(team.skills),  # sorted so exports diff cleanly
        "capacity": team.capacity,
        "reserve": team.reserve,
        "status": team.status.value,
        "name_en": team.name_en,
        "leader_en": team.leader_en,
        "roles": [r.model_dump() for r in team.roles],
        "grid_cells": list(team.grid_cells),
        "branch": team.branch,
        "branch_en": team.branch_en,
        "intro": team.intro,
        "intro_en": team.intro_en,
    }


def export_csv(teams: Iterable[Team], path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        for team in teams:
            row = _record(team)
            row["skills"] = ";".join(row["skills"])
            row["reserve"] = "true" if team.reserve else "false"
            row["roles"] = json.dumps(row["roles"], ensure_ascii=False)
            row["grid_cells"] = ";".join(row["grid_cells"])
            writer.writerow(row)


def export_json(teams: Iterable[Team], path: Path) -> None:
    text = json.dumps([_record(t) for t in teams], ensure_ascii=False, indent=2)
    path.write_text(text + "\n", encoding="utf-8")


def export_teams(teams: Iterable[Team], path: Path) -> None:
    """Export in the format the suffix names (.csv or .json)."""
    exporters = {".csv": export_csv, ".json": export_json}
    if path.suffix.lower() not in exporters:
        raise ValueError(f"{path}: unknown registry format, use .csv or .json")
    exporters[path.suffix.lower()](teams, path)


def load_teams(path: Path) -> list[Team]:
    """Every team in the file, or RegistryImportError naming the first bad row."""
    loaders = {".csv": _csv_records, ".json": _json_records}
    if path.suffix.lower() not in loaders:
        raise RegistryImportError(path, "", "unknown registry format, use .csv or .json")
    try:
        # -sig: Excel writes a BOM; newline="": keep line ends inside quoted CSV fields as is
        with path.open(encoding="utf-8-sig", newline="") as f:
            text = f.read()
    except UnicodeDecodeError as e:
        raise RegistryImportError(path, "", f"not UTF-8 text ({e.reason})") from e
    teams: list[Team] = []
    first_seen: dict[str, str] = {}
    for where, record in loaders[path.suffix.lower()](path, text):
        team = _team(path, where, record)
        if team.id in first_seen:
            reason = f"id: duplicate {team.id!r}, first at {first_seen[team.id]}"
            raise RegistryImportError(path, where, reason)
        first_seen[team.id] = where
        teams.append(team)
    return teams


def _csv_records(path: Path, text: str) -> Iterator[tuple[str, dict[str, Any]]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, [])
    if _header_problem(header):
        raise RegistryImportError(path, "line 1", _header_problem(header))
    start = reader.line_num + 1
    for row in reader:
        # a quoted field may span lines: report where the row starts, as an editor shows it
        where, start = f"line {start}", reader.line_num + 1
        if not row:
            continue
        if len(row) != len(header):
            reason = f"expected {len(header)} fields, found {len(row)}"
            raise RegistryImportError(path, where, reason)
        record: dict[str, Any] = dict(zip(header, row, strict=True))
        yield where, _csv_lists(path, where, record)


def _csv_lists(path: Path, where: str, record: dict[str, Any]) -> dict[str, Any]:
    """The CSV cells that hold lists, as lists: skills and grid cells by ";", roles by JSON."""
    for column in ("skills", "grid_cells"):
        if column in record:
            record[column] = [s for s in record[column].split(";") if s]
    if "roles" in record:
        try:
            record["roles"] = json.loads(record["roles"]) if record["roles"].strip() else []
        except json.JSONDecodeError as e:
            raise RegistryImportError(path, where, f"roles: not a JSON array ({e.msg})") from e
    return record


def _header_problem(header: list[str]) -> str:
    """What is wrong with a CSV header, or "" when nothing is."""
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    unknown = sorted({c for c in header if c not in COLUMNS})
    repeated = sorted({c for c in header if header.count(c) > 1})
    problems = [
        f"{label} {', '.join(names)}"
        for label, names in (("missing", missing), ("unknown", unknown), ("repeated", repeated))
        if names
    ]
    if not problems:
        return ""
    return f"header: {'; '.join(problems)} (expected {','.join(COLUMNS)})"


def _json_records(path: Path, text: str) -> Iterator[tuple[str, dict[str, Any]]]:
    try:
        items = json.loads(text)
    except json.JSONDecodeError as e:
        raise RegistryImportError(path, f"line {e.lineno}", f"invalid JSON: {e.msg}") from e
    if not isinstance(items, list):
        raise RegistryImportError(path, "", "expected a JSON array of teams")
    for index, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise RegistryImportError(path, f"item {index}", "expected an object")
        yield f"item {index}", item


def _team(path: Path, where: str, record: dict[str, Any]) -> Team:
    fields = dict(record)
    if "latitude" in fields or "longitude" in fields:
        fields["home"] = {k: fields.pop(k) for k in ("latitude", "longitude") if k in fields}
    try:
        team = Team.model_validate(fields)
    except ValidationError as e:
        raise RegistryImportError(path, where, _reasons(e)) from e
    if team.party_members > team.members:
        reason = f"party_members: {team.party_members} is more than members ({team.members})"
        raise RegistryImportError(path, where, reason)
    return team


def _reasons(error: ValidationError) -> str:
    """Pydantic's errors with the field named as the file names it (latitude, not home.latitude)."""
    parts = []
    for detail in error.errors():
        loc = [str(p) for p in detail["loc"]]
        field = loc[-1] if loc[:1] == ["home"] else ".".join(loc)
        # a rule across fields (roles adding up to the members) has no one field to name
        parts.append(f"{field}: {detail['msg']}" if field else detail["msg"])
    return "; ".join(parts)
