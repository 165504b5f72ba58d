"""The public team page a QR code opens, as HTML for a phone: Chinese first, English at the same
address (by `Accept-Language` or `?lang=`), the article's three parts 亮身份、亮职责、亮承诺, the
team's service record and stories. Self-contained (no CDN, no web fonts) and every piece of text
escaped: stories and registry fields are people's typing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Literal

from dispatch.service_layer.registry import registration_code
from dispatch.views.team_map import team_map_svg
from dispatch.views.team_record import TeamRecord
from dispatch.views.team_stories import StoryView
from models.hubei import Division
from models.local_time import SHANGHAI
from models.story import HOTLINE, phone_numbers_in
from models.team import Skill, Team

Language = Literal["zh", "en"]

SKILL_WORDS: dict[Language, dict[Skill, str]] = {
    "zh": {
        Skill.REPAIR: "供电抢修：停电、故障，随叫随到",
        Skill.DISASTER_RELIEF: "抗灾救灾：暴雨、冰冻、洪水中保供电",
        Skill.ASSISTANCE: "扶弱助困：为孤寡老人和困难家庭上门服务",
        Skill.EQUIPMENT_CHECK: "设备义诊：免费检查家中线路和电器",
    },
    "en": {
        Skill.REPAIR: "Power repair: outages and faults, whenever called",
        Skill.DISASTER_RELIEF: "Disaster relief: keeping the power on through storms and floods",
        Skill.ASSISTANCE: "Help at home for elderly people and families in hardship",
        Skill.EQUIPMENT_CHECK: "Free check-ups of household wiring and appliances",
    },
}

TEXT: dict[Language, dict[str, str]] = {
    "zh": {
        "lang": "zh-CN",
        "switch": '<a href="?lang=en" hreflang="en" lang="en">English</a>',
        "call": f"拨打 {HOTLINE}",
        "kind": "共产党员服务队",
        "reserve": "共产党员服务队后备队",
        "identity": "亮身份",
        "duties": "亮职责",
        "promise": "亮承诺",
        "leader": "队长",
        "not_named": "未登记",
        "members": "队员 {members} 名，其中党员 {party} 名",
        "roles": "分工",
        "branch": "一队一支部",
        "code": "登记编号",
        "services": "服务项目",
        "grid": "服务网格",
        "grid_cells": "{cells} 个网格，一名队员包一格（{division}）",
        "grid_none": "服务{division}；网格尚未登记",
        "map": "{team}的服务网格地图",
        "close_up": "{team}的服务网格放大图",
        "pledge": "有呼必应、有难必帮",
        "record": "本月服务记录（{month}）",
        "record_line": "接到任务 {calls} 次，已响应 {answered} 次，已办结 {resolved} 次。",
        "ack": "响应用时中位数：{minutes}",
        "arrive": "到达现场用时中位数：{minutes}",
        "minutes": "{value} 分钟",
        "none_yet": "本月暂无",
        "stories": "服务故事",
        "no_stories": "暂无服务故事。",
        "as_of": "页面时间（北京时间）",
        "credit": "地图边界：Apache ECharts 4.9.0（Apache-2.0）",
    },
    "en": {
        "lang": "en",
        "switch": '<a href="?lang=zh" hreflang="zh-CN" lang="zh-CN">中文</a>',
        "call": f"Call {HOTLINE}",
        "kind": "Party-member service team",
        "reserve": "Party-member service team, reserve squad",
        "identity": "Who we are",
        "duties": "What we are responsible for",
        "promise": "What we promise",
        "leader": "Team leader",
        "not_named": "not registered",
        "members": "{members} members, {party} of them Party members",
        "roles": "Roles",
        "branch": "Party branch (one team, one branch)",
        "code": "Registration code",
        "services": "Services",
        "grid": "Service grid",
        "grid_cells": "{cells} grid cells, one member answers for each ({division})",
        "grid_none": "Serves {division}; its grid cells are not registered yet",
        "map": "Map of the service grid of {team}",
        "close_up": "Close-up of the service grid of {team}",
        "pledge": "Every call answered, every difficulty helped",
        "record": "This month's service record ({month})",
        "record_line": "{calls} tasks given, {answered} acknowledged, {resolved} resolved.",
        "ack": "Median time to acknowledge: {minutes}",
        "arrive": "Median time to reach the site: {minutes}",
        "minutes": "{value} min",
        "none_yet": "none this month",
        "stories": "Service stories",
        "no_stories": "No service stories yet.",
        "as_of": "Page time (Asia/Shanghai)",
        "credit": "Map boundaries: Apache ECharts 4.9.0 (Apache-2.0)",
    },
}

STYLE = """
body{font-family:"Noto Sans CJK SC","Noto Sans SC","PingFang SC","Microsoft YaHei",sans-serif;
margin:0 auto;max-width:36em;padding:0 1em 2em;line-height:1.6;color:#1b1b1b;font-size:16px}
header{border-bottom:3px solid #c8102e;padding:.5em 0}
h1{font-size:1.4em;margin:.3em 0}h2{font-size:1.15em;color:#c8102e;margin:1.2em 0 .4em}
nav{text-align:right}.call{display:block;text-align:center;background:#c8102e;color:#fff;
padding:.7em;border-radius:.4em;font-size:1.2em;text-decoration:none;margin:1em 0}
.pledge{font-size:1.5em;font-weight:bold;text-align:center;color:#c8102e;margin:.5em 0}
svg{width:100%;height:auto;max-height:22em;margin-bottom:.5em}.division{fill:#eef3f8;stroke:#5b7a99;stroke-width:1}
.cells{fill:#f4c542;fill-opacity:.7;stroke:#b8860b;stroke-width:.5}.home{fill:#c8102e}
article{border-left:3px solid #f4c542;padding-left:.7em;margin:1em 0}
article p{white-space:pre-line;margin:.3em 0}time,footer{color:#666;font-size:.9em}
ul{padding-left:1.2em}
"""


@dataclass(frozen=True)
class TeamPage:
    """What the page shows, read once for one request."""

    team: Team
    division: Division | None
    record: TeamRecord
    stories: list[StoryView]
    now: datetime


def choose_language(asked: Language | None, accept_language: str) -> Language:
    """`?lang=` wins; else the reader's most preferred of Chinese and English (q-values, then
    order); Chinese when they name neither."""
    if asked is not None:
        return asked
    ranked: list[tuple[float, int, str]] = []
    for place, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        ranked.append((-quality, place, tag.strip().lower()))
    for negative_q, _place, tag in sorted(ranked):
        primary = tag.split("-")[0]
        if negative_q < 0 and primary in ("zh", "en"):
            return "en" if primary == "en" else "zh"
    return "zh"


def _public(text: str) -> str:
    """Registry text made safe for a public page: escaped, and any personal phone number an
    import carried left out (only the hotline is offered)."""
    for number in phone_numbers_in(text):
        text = text.replace(number, "…")
    return escape(text)


def _local(moment: datetime) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def _in(language: Language, chinese: str, english: str) -> str:
    """A registry text in the reader's language, the Chinese when no English was given."""
    return english or chinese if language == "en" else chinese


def _division_name(page: TeamPage, language: Language) -> str:
    if page.division is None:
        return page.team.region
    return page.division.display_name(language)


def _identity(page: TeamPage, t: dict[str, str], language: Language) -> str:
    team = page.team
    role_items = "".join(
        f"<li>{_public(_in(language, r.role, r.role_en))}：{r.count}</li>" for r in team.roles
    )
    members = t["members"].format(members=team.members, party=team.party_members)
    branch = _in(language, team.branch, team.branch_en)
    intro = _in(language, team.intro, team.intro_en)
    leader = _in(language, team.leader, team.leader_en) or t["not_named"]
    lines = [
        f"<p>{t['leader']}：<strong>{_public(leader)}</strong></p>",
        f"<p>{members}</p>",
        f"<p>{t['roles']}：</p><ul>{role_items}</ul>" if role_items else "",
        f"<p>{t['branch']}：{_public(branch)}</p>" if branch else "",
        f"<p>{_public(intro)}</p>" if intro else "",
        f"<p>{t['code']}：<strong>{escape(registration_code(team))}</strong></p>",
    ]
    return (
        f'<section aria-labelledby="identity"><h2 id="identity">{t["identity"]}</h2>'
        + "".join(lines)
        + "</section>"
    )


def _duties(page: TeamPage, t: dict[str, str], language: Language) -> str:
    team = page.team
    words = SKILL_WORDS[language]
    services = "".join(f"<li>{escape(words[s])}</li>" for s in sorted(team.skills))
    cells = team.grid_cells
    division = _public(_division_name(page, language))
    grid = (
        t["grid_cells"].format(cells=len(cells), division=division)
        if cells
        else t["grid_none"].format(division=division)
    )
    label = t["map"].format(team=_in(language, team.name, team.name_en))
    home = (team.home.latitude, team.home.longitude)
    svg = team_map_svg(team.region, home, cells, label)
    if cells:
        close_label = t["close_up"].format(team=_in(language, team.name, team.name_en))
        svg += team_map_svg(team.region, home, cells, close_label, close_up=True)
    return (
        f'<section aria-labelledby="duties"><h2 id="duties">{t["duties"]}</h2>'
        f"<p>{t['services']}：</p><ul>{services}</ul>"
        f"<p>{t['grid']}：{grid}</p><figure>{svg}</figure></section>"
    )


def _minutes(value: float | None, t: dict[str, str]) -> str:
    return t["none_yet"] if value is None else t["minutes"].format(value=f"{value:g}")


def _promise(page: TeamPage, t: dict[str, str]) -> str:
    r = page.record
    line = t["record_line"].format(calls=r.calls, answered=r.answered, resolved=r.resolved)
    return (
        f'<section aria-labelledby="promise"><h2 id="promise">{t["promise"]}</h2>'
        f'<p class="pledge" lang="zh-CN">有呼必应、有难必帮</p>'
        + (f'<p class="pledge-en">{t["pledge"]}</p>' if t["lang"] == "en" else "")
        + f"<h3>{t['record'].format(month=escape(r.month))}</h3>"
        f'<p data-testid="record">{line}</p>'
        f"<p>{t['ack'].format(minutes=_minutes(r.ack_min_median, t))}</p>"
        f"<p>{t['arrive'].format(minutes=_minutes(r.arrive_min_median, t))}</p></section>"
    )


def _stories(page: TeamPage, t: dict[str, str], language: Language) -> str:
    shown = []
    for story in page.stories:
        title = story.title_en or story.title if language == "en" else story.title
        body = story.body_en or story.body if language == "en" else story.body
        when = story.added_at.astimezone(SHANGHAI).isoformat()
        shown.append(
            f"<article><h3>{_public(title)}</h3>"
            f'<time datetime="{escape(when)}">{_local(story.added_at)}</time>'
            f"<p>{_public(body)}</p></article>"
        )
    return (
        f'<section aria-labelledby="stories"><h2 id="stories">{t["stories"]}</h2>'
        + ("".join(shown) or f"<p>{t['no_stories']}</p>")
        + "</section>"
    )


def render_team_page(page: TeamPage, language: Language) -> str:
    """The whole page, in `language`."""
    t = TEXT[language]
    team = page.team
    name = _public(_in(language, team.name, team.name_en))
    kind = t["reserve"] if team.reserve else t["kind"]
    return f"""<!doctype html>
<html lang="{t["lang"]}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{name}</title><style>{STYLE}</style></head>
<body>
<nav>{t["switch"]}</nav>
<header><h1>{name}</h1>
<p>{_public(_division_name(page, language))} · {kind}</p></header>
<a class="call" href="tel:{HOTLINE}">{t["call"]}</a>
{_identity(page, t, language)}
{_duties(page, t, language)}
{_promise(page, t)}
{_stories(page, t, language)}
<footer><p>{t["as_of"]}：{_local(page.now)}</p><p>{t["credit"]}</p></footer>
</body></html>
"""
