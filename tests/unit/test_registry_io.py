"""Registry import and export: round trips, and bad files rejected whole with a location."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.adapters.registry_files import (
    REQUIRED_COLUMNS,
    RegistryImportError,
    export_csv,
    export_json,
    export_teams,
    load_teams,
)
from models.grid import cell_of
from models.hubei import hubei_registry
from models.team import GeoPoint, RoleCount, Skill, Team, TeamStatus

# a file as written before the registry kept both languages: the optional columns left out
HEADER = ",".join(REQUIRED_COLUMNS)
GOOD = "HB-WH-{n:03d},Team {n},wuhan,30.59,114.30,Li Wei,20,14,repair;assistance,3,false,available"


def _csv(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "teams.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _json(tmp_path: Path, items: object) -> Path:
    path = tmp_path / "teams.json"
    path.write_text(json.dumps(items), encoding="utf-8")
    return path


@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_hubei_registry_survives_export_and_import(tmp_path: Path, suffix: str) -> None:
    teams = hubei_registry()
    path = tmp_path / f"teams{suffix}"
    export_teams(teams, path)
    again = load_teams(path)
    assert again == teams
    # every field, both languages, field by field: a failure names the field that drifted
    for before, after in zip(teams, again, strict=True):
        assert after.model_dump() == before.model_dump()
    named = {t.id: t for t in again}["HB-SZ-001"]
    assert (named.name, named.name_en, named.leader) == (
        "光满服务队",
        "Guangman Service Team",
        "左光满",
    )
    assert all(t.name_en and t.leader_en and t.branch_en and t.intro_en for t in again)
    assert all(t.roles and len(t.grid_cells) == t.members for t in again)


def test_csv_export_has_the_documented_columns(tmp_path: Path) -> None:
    path = tmp_path / "teams.csv"
    export_csv(hubei_registry()[:1], path)
    header, row = path.read_text(encoding="utf-8").splitlines()
    assert header == (
        "id,name,region,latitude,longitude,leader,members,party_members,skills,capacity,"
        "reserve,status,name_en,leader_en,roles,grid_cells,branch,branch_en,intro,intro_en"
    )
    assert row.startswith("HB-WH-001,国网湖北电力（武汉）共产党员服务队 第1队,wuhan,")
    assert ",false,available,State Grid Hubei (Wuhan) Party-Member Service Team No. 1," in row
    assert '"[{""role"": ""队长"", ""role_en"": ""Leader"", ""count"": 1}' in row


def test_a_csv_written_before_the_bilingual_columns_still_imports(tmp_path: Path) -> None:
    [team] = load_teams(_csv(tmp_path, HEADER, GOOD.format(n=1)))
    assert (team.name, team.name_en, team.roles, team.grid_cells, team.intro) == (
        "Team 1",
        "",
        (),
        (),
        "",
    )


def test_csv_roles_that_are_not_json_are_rejected_with_the_line(tmp_path: Path) -> None:
    header = HEADER + ",roles"
    path = _csv(tmp_path, header, GOOD.format(n=1) + ',"队长:1"')
    with pytest.raises(RegistryImportError, match="line 2: roles: not a JSON array"):
        load_teams(path)


def test_roles_that_do_not_add_up_to_the_members_are_rejected(tmp_path: Path) -> None:
    roles = json.dumps([{"role": "队长", "count": 1}, {"role": "队员", "count": 5}])
    header = HEADER + ",roles"
    row = GOOD.format(n=1) + "," + '"' + roles.replace('"', '""') + '"'
    with pytest.raises(
        RegistryImportError, match=r"line 2: .*roles count 6 people but the team has 20"
    ):
        load_teams(_csv(tmp_path, header, row))


def test_a_grid_cell_that_is_not_an_h3_cell_is_rejected(tmp_path: Path) -> None:
    good = cell_of(30.59, 114.30)
    path = _csv(tmp_path, HEADER + ",grid_cells", GOOD.format(n=1) + f",{good};wuhan-1")
    with pytest.raises(
        RegistryImportError, match=r"line 2: grid_cells: .*not an H3 cell id: 'wuhan-1'"
    ):
        load_teams(path)
    path = _csv(tmp_path, HEADER + ",grid_cells", GOOD.format(n=1) + f",{good};{good}")
    with pytest.raises(RegistryImportError, match=r"line 2: grid_cells: .*listed twice"):
        load_teams(path)


_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)
_cells = st.lists(
    st.builds(cell_of, st.floats(29.0, 33.0), st.floats(108.5, 116.0)), unique=True, max_size=4
)


def _with_roles(team: Team, role: str, role_en: str) -> Team:
    """The team with all its members in one role, so the roles add up as a team's must."""
    roles = (RoleCount(role=role, role_en=role_en, count=team.members),) if role else ()
    return Team.model_validate({**team.model_dump(), "roles": roles})


_teams = st.builds(
    Team,
    id=st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=20),
    name=_text.filter(bool),
    region=_text.filter(bool),
    home=st.builds(GeoPoint, latitude=st.floats(-90, 90), longitude=st.floats(-180, 180)),
    leader=_text,
    members=st.integers(1, 10_000),
    party_members=st.just(0),
    skills=st.frozensets(st.sampled_from(Skill)),
    capacity=st.integers(1, 50),
    reserve=st.booleans(),
    status=st.sampled_from(TeamStatus),
    name_en=_text,
    leader_en=_text,
    grid_cells=_cells.map(tuple),
    branch=_text,
    branch_en=_text,
    intro=_text,
    intro_en=_text,
).flatmap(lambda t: st.builds(_with_roles, st.just(t), _text, _text))


@settings(max_examples=60, deadline=None)
@given(st.lists(_teams, max_size=5, unique_by=lambda t: t.id))
def test_any_teams_survive_a_csv_and_a_json_round_trip(teams: list[Team]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        csv_path, json_path = Path(directory, "t.csv"), Path(directory, "t.json")
        export_csv(teams, csv_path)
        export_json(teams, json_path)
        assert load_teams(csv_path) == teams
        assert load_teams(json_path) == teams


def test_bad_csv_row_is_rejected_with_its_line_number_and_nothing_is_imported(
    tmp_path: Path,
) -> None:
    bad = GOOD.format(n=3).replace(",20,14,", ",0,0,")
    path = _csv(tmp_path, HEADER, GOOD.format(n=1), GOOD.format(n=2), bad, GOOD.format(n=4))
    with pytest.raises(RegistryImportError) as caught:
        load_teams(path)
    assert caught.value.where == "line 4"
    assert caught.value.reason.startswith("members: Input should be greater than or equal to 1")
    assert "line 4: members:" in str(caught.value)


def test_csv_line_numbers_count_physical_lines_of_quoted_multiline_names(
    tmp_path: Path,
) -> None:
    two_line_name = GOOD.format(n=1).replace("Team 1", '"Team\none"')
    bad = GOOD.format(n=2).replace("30.59", "north")
    path = _csv(tmp_path, HEADER, two_line_name, "", bad)
    with pytest.raises(RegistryImportError, match=r"line 5: latitude: Input should be a valid num"):
        load_teams(path)


def test_bad_json_item_is_named_by_its_one_based_index(tmp_path: Path) -> None:
    good = {
        "id": "A",
        "name": "A",
        "region": "wuhan",
        "latitude": 30.5,
        "longitude": 114.3,
        "members": 10,
        "party_members": 7,
    }
    bad = {**good, "id": "B", "longitude": 500}
    with pytest.raises(RegistryImportError) as caught:
        load_teams(_json(tmp_path, [good, bad]))
    assert caught.value.where == "item 2"
    assert caught.value.reason.startswith("longitude: Input should be less than or equal to 180")


def test_unknown_json_field_is_rejected(tmp_path: Path) -> None:
    item = {
        "id": "A",
        "name": "A",
        "region": "wuhan",
        "latitude": 30.5,
        "longitude": 114.3,
        "members": 10,
        "party_members": 7,
        "colour": "red",
    }
    with pytest.raises(RegistryImportError, match="item 1: colour: Extra inputs"):
        load_teams(_json(tmp_path, [item]))


def test_json_that_is_not_an_array_of_objects_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(RegistryImportError, match="expected a JSON array"):
        load_teams(_json(tmp_path, {"teams": []}))
    with pytest.raises(RegistryImportError, match="item 1: expected an object"):
        load_teams(_json(tmp_path, ["HB-WH-001"]))
    broken = tmp_path / "broken.json"
    broken.write_text('[\n{"id": }\n]', encoding="utf-8")
    with pytest.raises(RegistryImportError, match="line 2: invalid JSON"):
        load_teams(broken)


def test_duplicate_ids_are_rejected_naming_both_rows(tmp_path: Path) -> None:
    path = _csv(tmp_path, HEADER, GOOD.format(n=1), GOOD.format(n=2), GOOD.format(n=1))
    with pytest.raises(RegistryImportError) as caught:
        load_teams(path)
    assert str(caught.value).endswith("line 4: id: duplicate 'HB-WH-001', first at line 2")


def test_more_party_members_than_members_is_rejected(tmp_path: Path) -> None:
    path = _csv(tmp_path, HEADER, GOOD.format(n=1).replace(",20,14,", ",10,14,"))
    with pytest.raises(RegistryImportError, match="line 2: party_members: 14 is more than members"):
        load_teams(path)


def test_csv_header_with_a_missing_or_misspelt_column_is_rejected(tmp_path: Path) -> None:
    path = _csv(tmp_path, HEADER.replace("capacity", "capacty"), GOOD.format(n=1))
    with pytest.raises(
        RegistryImportError, match="line 1: header: missing capacity; unknown capac"
    ):
        load_teams(path)


def test_csv_row_with_the_wrong_number_of_fields_is_rejected(tmp_path: Path) -> None:
    path = _csv(tmp_path, HEADER, GOOD.format(n=1) + ",extra")
    with pytest.raises(RegistryImportError, match="line 2: expected 12 fields, found 13"):
        load_teams(path)


def test_unknown_skill_is_rejected(tmp_path: Path) -> None:
    path = _csv(tmp_path, HEADER, GOOD.format(n=1).replace("repair;assistance", "repair;juggling"))
    with pytest.raises(RegistryImportError, match="line 2: skills"):
        load_teams(path)


def test_excel_csv_with_a_byte_order_mark_loads(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_text(f"{HEADER}\r\n{GOOD.format(n=1)}\r\n", encoding="utf-8-sig")
    [team] = load_teams(path)
    assert team.id == "HB-WH-001"
    assert team.skills == {Skill.REPAIR, Skill.ASSISTANCE}


def test_csv_that_is_not_utf8_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "gbk.csv"
    path.write_bytes(f"{HEADER}\n{GOOD.format(n=1).replace('Li Wei', '李伟')}\n".encode("gbk"))
    with pytest.raises(RegistryImportError, match="not UTF-8"):
        load_teams(path)


def test_unknown_suffix_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "teams.xlsx"
    path.write_bytes(b"")
    with pytest.raises(RegistryImportError, match="unknown registry format"):
        load_teams(path)
    with pytest.raises(ValueError, match="unknown registry format"):
        export_teams([], path)
