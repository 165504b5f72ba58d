"""The call-taker's form in a browser, as a dispatcher takes a call: the address typed is
resolved offline to its division and district and puts the pin there, the pin is dragged and
moved with the keyboard, the open incident of the same kind nearby is shown before submitting,
the household's hardship flag sets the priority; the report then shows on the board where and
as the dispatcher chose. Debian's Chromium, internet blocked. Screenshot: out/call-taker.png."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.test_board_browser import (
    LIVE_WITHIN_MS,
    SHOTS,
    browser,
    offline_page,
    people,
    sign_in,
)
from tests.e2e.test_serve import Served, served, wait_until

__all__ = ["browser", "served"]  # the fixtures, shared with the board's tests

SAMPLE = Path(__file__).resolve().parents[2] / "config" / "households.sample.csv"
WUCHANG_SEAT = (30.554408, 114.31665)  # cpca's seat of 武昌区


def open_incident_near_wuchang(served: Served, headers: dict[str, str]) -> str:
    """A repair reported through the API a few hundred metres from the seat, once stored."""
    report = {
        "kind": "repair",
        "latitude": WUCHANG_SEAT[0] + 0.003,
        "longitude": WUCHANG_SEAT[1],
        "address": "武昌区中北路9号 earlier call",
    }
    answer = httpx.post(f"{served.base_url}/incidents", json=report, headers=headers, timeout=10)
    assert answer.status_code == 202, answer.text
    incident_id = str(answer.json()["id"])
    url = f"{served.base_url}/incidents/{incident_id}"
    stored = lambda: httpx.get(url, headers=headers, timeout=10).status_code == 200  # noqa: E731
    wait_until(stored, LIVE_WITHIN_MS / 1000, "the earlier report stored", served)
    return incident_id


def position(page: Page) -> tuple[float, float]:
    form = page.get_by_test_id("report")
    return (
        float(form.get_by_label("纬度").input_value()),
        float(form.get_by_label("经度").input_value()),
    )


def drag_pin(page: Page, right_px: float, up_px: float) -> None:
    pin = page.get_by_test_id("pin")
    pin.scroll_into_view_if_needed()  # the mouse reaches what the window shows
    box = pin.bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + right_px, y - up_px, steps=8)
    page.mouse.up()


@pytest.mark.timeout(900)
def test_a_dispatcher_takes_a_call_from_address_to_the_board(
    served: Served, browser: Browser
) -> None:
    people(served)
    assert "6 added" in served.cli("households", "import", str(SAMPLE)).stdout
    dispatcher = served.token("dispatcher")
    earlier = open_incident_near_wuchang(served, dispatcher)
    left: list[str] = []
    page = offline_page(browser, left)
    sign_in(page, served, "zhang.wei")
    expect(page.get_by_test_id("live")).to_have_text("实时", timeout=LIVE_WITHIN_MS)
    form = page.get_by_test_id("report")

    form.get_by_label("户号").fill("9900000001")
    expect(form.get_by_test_id("hardship")).to_contain_text("困难户 hardship register")
    expect(form.get_by_label("优先级")).to_have_value("hardship")

    form.get_by_label("地址").fill("武汉市武昌区中北路1号")
    expect(form.get_by_test_id("place")).to_contain_text("武汉市 武昌区")
    expect(form.get_by_test_id("place")).to_contain_text("区县驻地")
    expect(form.get_by_label("纬度")).to_have_value(str(WUCHANG_SEAT[0]))
    expect(form.get_by_test_id("pin-division")).to_contain_text("武汉市")
    pin = page.get_by_test_id("pin")
    expect(pin).to_be_visible()

    nearby = form.get_by_test_id("nearby")
    expect(nearby).to_contain_text("附近已有 1 起同类工单", timeout=LIVE_WITHIN_MS)
    nearby.get_by_role("button", name=earlier).click()
    expect(page.get_by_test_id("detail")).to_contain_text(earlier)

    seat = position(page)
    drag_pin(page, right_px=12, up_px=8)
    dragged = position(page)
    assert dragged[0] > seat[0] and dragged[1] > seat[1], (seat, dragged)
    assert abs(dragged[0] - seat[0]) < 0.2 and abs(dragged[1] - seat[1]) < 0.2  # no jump
    pin.focus()
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Shift+ArrowLeft")
    chosen = (round(dragged[0] + 0.001, 5), round(dragged[1] - 0.01, 5))
    expect(form.get_by_label("纬度")).to_have_value(str(chosen[0]))
    expect(form.get_by_label("经度")).to_have_value(str(chosen[1]))
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "call-taker.png"), full_page=True)

    form.get_by_role("button", name="提交").click()  # the warning does not stop it
    accepted = page.get_by_test_id("accepted")
    expect(accepted.or_(form.get_by_role("alert"))).to_contain_text(
        "已受理", timeout=LIVE_WITHIN_MS
    )
    reported = accepted.inner_text().split(":")[-1].strip()
    incidents = page.get_by_test_id("incidents")
    expect(incidents.get_by_text(reported)).to_be_visible(timeout=LIVE_WITHIN_MS)
    row = incidents.locator("tr", has_text=reported)
    expect(row).to_contain_text("hardship")
    expect(page.get_by_test_id("map").locator(f'g.mark[aria-label*="{reported}"]')).to_have_count(1)
    shown = httpx.get(f"{served.base_url}/incidents/{reported}", headers=dispatcher, timeout=10)
    view = shown.json()
    assert (view["latitude"], view["longitude"]) == pytest.approx(chosen, abs=1e-6)
    assert (view["priority"], view["region"]) == ("hardship", "wuhan")
    assert view["address"] == "武汉市武昌区中北路1号"
    assert left == [], f"the form asked the internet for {left}"
