"""The public team page in a browser, as a resident's phone opens it from the QR code: Debian's
Chromium driven by Playwright at 375 px wide, with the machine's CJK font (fonts-noto-cjk) and
every request that leaves 127.0.0.1 blocked. The screenshot goes to out/team-page.png."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    Page,
    ViewportSize,
    expect,
    sync_playwright,
)

from dispatch.service_layer.services import Services
from dispatch.service_layer.stories import add_story
from models.grid import cells_near
from models.story import StoryText
from tests.e2e.test_board_browser import keep_local
from tests.integration.spine_helpers import WUHAN, seed_teams, team
from tests.served_api import api_in_a_thread

SHOTS = Path(__file__).resolve().parents[2] / "out"
NAME = "国网湖北电力（武汉）共产党员服务队"
PLEDGE = "有呼必应、有难必帮"
PHONE: ViewportSize = {"width": 375, "height": 812}


@pytest.fixture
def base_url(services: Services) -> Iterator[str]:
    cells = sorted(cells_near(*WUHAN, 4.0))[:5]
    served = team("HB-WH-001", *WUHAN).model_copy(
        update={"name": NAME, "leader": "左光满", "grid_cells": tuple(cells)}
    )
    seed_teams(services, [served])
    story = StoryText(title="冒雨抢修保供电", body="暴雨夜里，队员们两小时恢复了全村供电。")
    add_story(services, "HB-WH-001", story, actor="admin")
    with api_in_a_thread(services) as url:
        yield url


@pytest.fixture
def browser() -> Iterator[Browser]:
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is missing: `make debian-packages` installs it"
    assert shutil.which("fc-list"), "fontconfig is missing"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield launched
        launched.close()


def phone_page(browser: Browser, left: list[str], locale: str) -> Page:
    context = browser.new_context(viewport=PHONE, locale=locale, is_mobile=True, has_touch=True)
    keep_local(context, left)
    return context.new_page()


# Each character drawn alone in the font the page gives the pledge: with a CJK font every glyph
# differs; with none, every one is the same empty box (what this machine showed before the font).
GLYPHS = """(text) => {
  const pledge = [...document.querySelectorAll('p.pledge')][0];
  const font = getComputedStyle(pledge).font;
  const canvas = document.createElement('canvas');
  canvas.width = 64; canvas.height = 64;
  const ink = canvas.getContext('2d', {willReadFrequently: true});
  ink.font = font;
  return [...text].filter(c => c !== '、').map(c => {
    ink.clearRect(0, 0, 64, 64);
    ink.fillText(c, 4, 48);
    const pixels = ink.getImageData(0, 0, 64, 64).data;
    let inked = 0, hash = 0;
    for (let i = 3; i < pixels.length; i += 4) {
      if (pixels[i] > 0) { inked++; hash = (hash * 31 + i) >>> 0; }
    }
    return {c, inked, hash, width: ink.measureText(c).width};
  });
}"""


@pytest.mark.timeout(300)
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_phone_shows_the_team_page_in_chinese_with_real_glyphs(
    base_url: str, browser: Browser
) -> None:
    left: list[str] = []
    page = phone_page(browser, left, "zh-CN")
    page.goto(f"{base_url}/teams/HB-WH-001")

    expect(page.get_by_role("heading", level=1)).to_have_text(NAME)
    expect(page.get_by_text("队长：左光满")).to_be_visible()
    expect(page.get_by_text("5 个网格，一名队员包一格（武汉市）", exact=False)).to_be_visible()
    for part in ("亮身份", "亮职责", "亮承诺", "服务故事"):
        expect(page.get_by_role("heading", name=part)).to_be_visible()
    expect(page.get_by_text(PLEDGE)).to_be_visible()
    expect(page.get_by_role("heading", name="冒雨抢修保供电")).to_be_visible()
    call = page.get_by_role("link", name="拨打 95598")
    expect(call).to_have_attribute("href", "tel:95598")
    expect(page.get_by_role("img", name=f"{NAME}的服务网格地图")).to_be_visible()
    close_up = page.get_by_role("img", name=f"{NAME}的服务网格放大图")
    expect(close_up.locator("path.cells")).to_be_visible()

    glyphs = page.evaluate(GLYPHS, PLEDGE)
    assert all(g["inked"] > 20 and g["width"] > 0 for g in glyphs), glyphs
    assert len({g["hash"] for g in glyphs}) == len(set(PLEDGE) - {"、"}), glyphs
    box = page.get_by_text(PLEDGE).bounding_box()
    assert box is not None and 0 < box["width"] <= PHONE["width"]
    # readable on the phone: nothing wider than the screen
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "team-page.png"), full_page=True)

    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", name="What we promise")).to_be_visible()
    expect(page.get_by_role("link", name="Call 95598")).to_have_attribute("href", "tel:95598")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert left == []
