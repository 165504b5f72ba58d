"""CAP 1.2 alerts read safely and matched to Hubei's divisions: each sample in tests/data/cap
parses to what it says, or is refused with the reason a dead letter keeps."""

from __future__ import annotations

from pathlib import Path

import pytest

from events.cap import MAX_ALERT_BYTES, InvalidAlert, parse_alert
from models.cap_area import (
    Area,
    division_of_code,
    divisions_covered,
    parse_circle,
    parse_polygon,
)
from models.storm_policy import AlertAction, load_storm_policy

SAMPLES = Path(__file__).parents[1] / "data" / "cap"
STORM_TOML = Path(__file__).parents[2] / "config" / "storm.toml"


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def test_a_red_rainstorm_warning_by_geocode_covers_wuhan_and_ezhou() -> None:
    alert = parse_alert(sample("red-rainstorm-geocode.xml"))
    assert (alert.identifier, alert.sender) == (
        "42000041600000_20260702060000",
        "hubei@weather.cma.cn",
    )
    assert (alert.msg_type, alert.status, alert.severity) == ("Alert", "Actual", "Severe")
    assert alert.event == "暴雨红色预警"
    assert divisions_covered(alert.areas) == {
        "ezhou": "geocode 420700",
        "wuhan": "geocode 420100",
    }


def test_a_red_warning_drawn_as_a_polygon_covers_jingzhou_only() -> None:
    alert = parse_alert(sample("red-rainstorm-polygon.xml"))
    assert alert.areas[0].polygons and not alert.areas[0].geocodes
    assert divisions_covered(alert.areas) == {"jingzhou": "polygon"}


def test_an_orange_warning_by_county_code_covers_xiaogan() -> None:
    alert = parse_alert(sample("orange-rainstorm-proposes.xml"))
    assert divisions_covered(alert.areas) == {"xiaogan": "geocode 420902"}


def test_a_cancel_names_the_alert_it_cancels() -> None:
    alert = parse_alert(sample("all-clear-cancel.xml"))
    assert alert.msg_type == "Cancel"
    assert "42000041600000_20260702060000" in alert.references


def test_a_warning_in_two_languages_reads_the_chinese_and_covers_both_areas() -> None:
    alert = parse_alert(sample("red-rainstorm-bilingual.xml"))
    assert alert.event == "暴雨红色预警" and alert.headline.startswith("湖北省气象台")
    assert alert.expires is not None and alert.expires.isoformat() == "2026-07-02T20:00:00+08:00"
    assert divisions_covered(alert.areas) == {
        "ezhou": "geocode 420700",
        "wuhan": "geocode 420100",
    }


def test_an_alert_without_expires_has_none() -> None:
    assert parse_alert(sample("red-rainstorm-geocode.xml")).expires is None


@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("invalid-not-xml.xml", "not well-formed XML"),
        ("invalid-schema.xml", "not CAP 1.2"),
        ("xxe.xml", "DTD or entity"),
    ],
)
def test_a_bad_alert_is_refused_saying_why(name: str, said: str) -> None:
    with pytest.raises(InvalidAlert, match=said):
        parse_alert(sample(name))


def test_a_schema_violation_names_the_element() -> None:
    with pytest.raises(InvalidAlert) as refused:
        parse_alert(sample("invalid-schema.xml"))
    assert "severity" in str(refused.value)


def test_the_xxe_sample_never_reads_the_file_it_names() -> None:
    with pytest.raises(InvalidAlert) as refused:
        parse_alert(sample("xxe.xml"))
    assert "root:" not in str(refused.value)


def test_an_alert_over_the_size_limit_is_refused_before_parsing() -> None:
    padded = sample("red-rainstorm-geocode.xml") + b" " * MAX_ALERT_BYTES
    with pytest.raises(InvalidAlert, match="larger than"):
        parse_alert(padded)


def test_an_alert_of_another_cap_version_is_not_cap_1_2() -> None:
    older = sample("red-rainstorm-geocode.xml").replace(b"cap:1.2", b"cap:1.1")
    with pytest.raises(InvalidAlert, match=r"not CAP 1\.2"):
        parse_alert(older)


def test_a_malformed_polygon_is_refused() -> None:
    broken = sample("red-rainstorm-polygon.xml").replace(b"30.20,112.05 30.50", b"30.20 30.50", 1)
    with pytest.raises(InvalidAlert, match="polygon"):
        parse_alert(broken)


@pytest.mark.parametrize(
    ("code", "division"),
    [
        ("420100", "wuhan"),
        ("420111", "wuhan"),  # a district: its prefecture's prefix
        ("421087000000", "jingzhou"),  # twelve digits, down to the township
        ("429004", "xiantao"),  # a directly governed city: by its full code
        ("422801", "enshi"),
        ("110000", None),  # Beijing: not Hubei
        ("42", None),
        ("abcdef", None),
    ],
)
def test_a_gb_t_2260_code_names_its_division(code: str, division: str | None) -> None:
    assert division_of_code(code) == division


def test_a_polygon_needs_a_closed_ring() -> None:
    with pytest.raises(ValueError, match="first equal to the last"):
        parse_polygon("30,112 30.5,112 30.5,112.5 30,112.5")


def test_a_polygon_far_from_hubei_covers_nothing() -> None:
    beijing = parse_polygon("39.8,116.2 40.0,116.2 40.0,116.5 39.8,116.5 39.8,116.2")
    assert divisions_covered([Area("北京", polygons=(beijing,))]) == {}


def test_a_circle_covers_the_divisions_it_reaches_and_not_far_ones() -> None:
    near_wuhan = divisions_covered([Area("武汉", circles=(parse_circle("30.5928,114.3055 5"),))])
    assert near_wuhan["wuhan"] == "circle"
    assert "ezhou" not in near_wuhan and "enshi" not in near_wuhan
    wider = divisions_covered([Area("武汉周边", circles=(parse_circle("30.5928,114.3055 60"),))])
    assert {"wuhan", "ezhou", "huangshi"} <= set(wider) and "enshi" not in wider
    beijing = divisions_covered([Area("北京", circles=(parse_circle("39.9,116.4 50"),))])
    assert beijing == {}


@pytest.mark.parametrize("text", ["30.5,114.3", "30.5,114.3 -1", "30.5 114.3 5", "a,b 5"])
def test_a_malformed_circle_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_circle(text)


def test_an_alert_with_a_malformed_circle_is_invalid() -> None:
    circled = sample("red-rainstorm-polygon.xml").replace(
        b"</polygon>", b"</polygon><circle>30.3,112.2</circle>", 1
    )
    with pytest.raises(InvalidAlert, match="a circle is malformed"):
        parse_alert(circled)


def test_an_alert_with_a_circle_is_matched_by_it() -> None:
    circled = sample("red-rainstorm-polygon.xml").replace(
        b"</polygon>", b"</polygon><circle>31.0,110.5 5</circle>", 1
    )
    covered = divisions_covered(parse_alert(circled).areas)
    assert covered["jingzhou"] == "polygon" and "circle" in covered.values()


def test_a_division_named_twice_keeps_the_first_match() -> None:
    ring = parse_polygon("30.4,114.1 30.8,114.1 30.8,114.5 30.4,114.5 30.4,114.1")
    areas = [Area("武汉", geocodes=("420102",), polygons=(ring,))]
    assert divisions_covered(areas)["wuhan"] == "geocode 420102"


@pytest.mark.parametrize(
    ("severity", "event", "action"),
    [
        ("Severe", "暴雨红色预警", AlertAction.DECLARE),
        ("Extreme", "暴雨红色预警", AlertAction.DECLARE),
        ("Severe", "暴雨橙色预警", AlertAction.PROPOSE),
        ("Moderate", "暴雨黄色预警", AlertAction.PROPOSE),
        ("Minor", "暴雨蓝色预警", AlertAction.IGNORE),
    ],
)
def test_the_storm_policy_file_says_what_each_warning_does(
    severity: str, event: str, action: AlertAction
) -> None:
    policy = load_storm_policy(STORM_TOML.read_text(encoding="utf-8"))
    assert policy.action_for(severity, event) is action
