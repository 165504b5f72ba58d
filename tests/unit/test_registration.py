"""Registration codes, profile links and the QR codes that carry them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import segno

from dispatch.service_layer.registry import (
    SERVICE_PROMISE,
    profile_text,
    profile_url,
    registration_code,
    write_qr,
)
from models.hubei import hubei_registry
from models.team import GeoPoint, Team

BASE = "https://everycall.example/"
BORDER, SCALE = 4, 10  # what write_qr promises; the decoders below rely on both


def _team(team_id: str = "HB-WH-001", **changes: object) -> Team:
    fields: dict[str, object] = {
        "id": team_id,
        "name": "国网湖北电力（武汉）共产党员服务队 第1队",
        "name_en": "State Grid Hubei (Wuhan) Party-Member Service Team No. 1",
        "region": "wuhan",
        "home": GeoPoint(latitude=30.59, longitude=114.30),
        "members": 20,
        "party_members": 14,
    }
    return Team.model_validate({**fields, **changes})


def _expected_modules(content: str) -> list[list[bool]]:
    """The module matrix segno makes for `content`: the reference the files must match."""
    return [[bool(m) for m in row] for row in segno.make(content, error="m", micro=False).matrix]


def _svg_modules(svg: str, size: int) -> list[list[bool]]:
    """Dark modules from segno's one-path SVG: `M x y` moves, `m dx dy` steps, `h n` draws."""
    path = re.search(r' d="([^"]+)"', svg)
    assert path is not None
    grid = [[False] * size for _ in range(size)]
    x = y = 0.0
    for op, a, b in re.findall(r"([Mmh])(-?[\d.]+)(?: (-?[\d.]+))?", path.group(1)):
        if op == "M":
            x, y = float(a), float(b)
        elif op == "m":
            x, y = x + float(a), y + float(b)
        else:
            for col in range(int(x), int(x + float(a))):
                grid[int(y) - BORDER][col - BORDER] = True
            x += float(a)
    return grid


def test_310_teams_get_310_unique_codes() -> None:
    codes = [registration_code(t) for t in hubei_registry()]
    assert len(set(codes)) == 310


def test_code_is_formatted_for_reading_aloud() -> None:
    code = registration_code(_team())
    assert re.fullmatch(r"EC-HB-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}", code)
    assert code == "EC-HB-ZQ86-T74F"  # pinned: printed cards must keep working


def test_code_depends_only_on_the_team_id() -> None:
    moved = _team(name="Renamed", home=GeoPoint(latitude=31.0, longitude=113.0), members=30)
    assert registration_code(moved) == registration_code(_team())
    assert registration_code(_team("HB-WH-002")) != registration_code(_team())


def test_profile_url_joins_the_base_and_the_quoted_id() -> None:
    assert profile_url(_team(), BASE) == "https://everycall.example/teams/HB-WH-001"
    assert profile_url(_team("a/b c"), "https://x.example") == "https://x.example/teams/a%2Fb%20c"


def test_profile_text_names_the_team_its_area_and_the_promise_chinese_first() -> None:
    team = _team(region="enshi", reserve=True, leader="罗华", leader_en="Luo Hua")
    text = profile_text(team)
    assert text.splitlines()[:2] == [
        "国网湖北电力（武汉）共产党员服务队 第1队",
        "State Grid Hubei (Wuhan) Party-Member Service Team No. 1",
    ]
    lines = text.splitlines()
    assert "区域：恩施土家族苗族自治州 / Area: Enshi Tujia and Miao Autonomous Prefecture" in lines
    assert "队长：罗华 / Leader: Luo Hua" in lines
    assert (
        "队员 20 名（党员 14 名），预备队 / 20 members (14 party members), reserve squad" in lines
    )
    assert any(
        line.startswith("服务：供电抢修、抗灾救灾、扶弱助困、设备义诊 / Skills: ") for line in lines
    )
    # every line after the names reads Chinese first: its English only after " / "
    assert not any(line.split(" / ")[0].isascii() for line in lines[2:])
    assert registration_code(_team()) in text
    assert text.endswith(SERVICE_PROMISE)
    assert "有呼必应、有难必帮" in SERVICE_PROMISE


def test_profile_text_of_a_seeded_team_names_its_branch() -> None:
    team = next(t for t in hubei_registry() if t.id == "HB-SZ-001")
    text = profile_text(team)
    assert text.splitlines()[:2] == ["光满服务队", "Guangman Service Team"]
    assert "队长：左光满 / Leader: Zuo Guangman" in text
    assert "支部（一队一支部）：国网随州供电公司第1党支部 / Branch: " in text


def test_profile_text_falls_back_to_the_region_code_outside_hubei() -> None:
    text = profile_text(_team(region="elsewhere", name_en="", leader=""))
    assert "区域：elsewhere / Area: elsewhere\n" in text
    assert "队长：未填写 / Leader: not named" in text
    assert text.splitlines()[1].startswith("区域")  # no English name: no empty line for it


def test_write_qr_writes_a_png_that_encodes_the_profile_link(tmp_path: Path) -> None:
    image_module = pytest.importorskip("PIL.Image")
    svg, png = write_qr(_team(), tmp_path / "qr", BASE)
    assert (svg.name, png.name) == ("HB-WH-001.svg", "HB-WH-001.png")
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    expected = _expected_modules(profile_url(_team(), BASE))
    with image_module.open(png) as image:
        pixels = image.convert("L")
        size = len(expected)
        assert pixels.size == ((size + 2 * BORDER) * SCALE,) * 2
        found = [
            [
                pixels.getpixel(((c + BORDER) * SCALE + 5, (r + BORDER) * SCALE + 5)) == 0
                for c in range(size)
            ]
            for r in range(size)
        ]
    assert found == expected


def test_write_qr_writes_an_svg_that_encodes_the_profile_link(tmp_path: Path) -> None:
    svg, _ = write_qr(_team(), tmp_path, BASE)
    text = svg.read_text(encoding="utf-8")
    assert text.startswith("<?xml") and "<svg" in text
    expected = _expected_modules(profile_url(_team(), BASE))
    assert _svg_modules(text, len(expected)) == expected
    assert _svg_modules(text, len(expected)) != _expected_modules(profile_url(_team(), "https://x"))


def test_write_qr_keeps_unsafe_ids_inside_the_directory(tmp_path: Path) -> None:
    svg, png = write_qr(_team("../../etc/passwd"), tmp_path, BASE)
    assert svg.parent == png.parent == tmp_path
    assert svg.name == "______etc_passwd.svg"
