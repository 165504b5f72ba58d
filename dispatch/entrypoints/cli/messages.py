"""The CLI's message catalogue: every message and table header, Chinese first, English beside.

Keys are grouped by command; `{fields}` are filled by `i18n.say`, and both languages of a
key take the same fields (a unit test holds them to it). Values a person reads in tables
(states, priorities, kinds, skills, roles) have Chinese labels in `VALUE_LABELS_ZH`; in English
they are shown as the API spells them, so what is read is what one types.
"""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    # Table headers shared by several commands
    "col.id": ("编号", "id"),
    "col.name": ("名称", "name"),
    "col.region": ("地区", "region"),
    "col.members": ("队员", "members"),
    "col.party": ("党员", "party"),
    "col.load": ("负荷", "load"),
    "col.status": ("状态", "status"),
    "col.skills": ("技能", "skills"),
    "col.incident": ("工单", "incident"),
    "col.state": ("状态", "state"),
    "col.priority": ("优先级", "priority"),
    "col.aged": ("老化后", "after ageing"),
    "col.kind": ("类型", "kind"),
    "col.age": ("已过", "age"),
    "col.waiting": ("等待", "waiting"),
    "col.excluded": ("已排除", "excluded"),
    "col.team": ("队伍", "team"),
    "col.reported": ("报告时间", "reported"),
    "col.flags": ("标记", "flags"),
    "col.area_class": ("区域类别", "area class"),
    "col.address": ("地址", "address"),
    "col.place": ("位置", "place"),
    "col.clock": ("时钟", "clock"),
    "col.started": ("开始", "started"),
    "col.deadline": ("期限", "deadline"),
    "col.warned": ("已预警", "warned"),
    "col.seq": ("序号", "seq"),
    "col.at": ("时间", "at"),
    "col.event": ("事件", "event"),
    "col.actor": ("操作者", "actor"),
    "col.details": ("详情", "details"),
    "col.role": ("角色", "role"),
    "col.holder": ("持有人", "name"),
    "col.created": ("创建时间", "created"),
    "col.username": ("用户名", "username"),
    "col.person": ("姓名", "name"),
    "col.account": ("户号", "account"),
    "col.hardship": ("困难户", "hardship"),
    "col.note": ("备注", "note"),
    "col.table": ("表", "table"),
    "col.key": ("键", "key"),
    "col.column": ("列", "column"),
    "col.live": ("现有", "live"),
    "col.replayed": ("重放", "replayed"),
    "col.active_tasks": ("在办任务", "active tasks"),
    "col.capacity": ("容量", "capacity"),
    "col.attempt": ("次数", "attempt"),
    "col.when": ("时间", "when"),
    "col.who": ("操作者", "who"),
    "col.what": ("内容", "what"),
    "col.measure": ("指标", "measure"),
    "col.value": ("数值", "value"),
    "col.received": ("来电", "received"),
    "col.answered": ("已应答", "answered"),
    "col.unanswered": ("未应答", "unanswered"),
    "col.ack_p50": ("确认中位(分)", "ack p50 min"),
    "col.ack_p90": ("确认P90(分)", "ack p90 min"),
    "col.arrive_p50": ("到场中位(分)", "arrive p50 min"),
    "col.arrive_p90": ("到场P90(分)", "arrive p90 min"),
    "col.sla": ("SLA", "SLA"),
    "col.escalated": ("升级", "escalated"),
    "col.missed": ("超时未接", "missed"),
    "col.declined": ("拒绝", "declined"),
    "col.task": ("任务", "task"),
    # Tables on a narrow terminal
    "table.dropped": (
        "（终端太窄，未显示：{columns}。加宽终端或设 COLUMNS=200 即可看到{json}）",
        "(too narrow for {columns}: widen the terminal or set COLUMNS=200{json})",
    ),
    "table.json": ("，或用 --json", ", or use --json"),
    "table.first_rows": ("前 {shown} 条，共 {total} 条", "first {shown} of {total}"),
    # Words
    "word.separator": ("、", ", "),
    "word.yes": ("是", "yes"),
    "word.no": ("否", "no"),
    "word.minutes": ("{minutes:.0f} 分钟", "{minutes:.0f} min"),
    "import.refused": ("导入被拒，未作任何更改：", "import refused, nothing changed:"),
    # everycall teams / grid / queue
    "teams.imported": (
        "已从 {path} 导入 {count} 支队伍（{retired} 支退役）",
        "imported {count} teams from {path} ({retired} retired)",
    ),
    "teams.export_refused": ("导出被拒：", "export refused:"),
    "teams.exported": ("已导出 {count} 支队伍到 {path}", "exported {count} teams to {path}"),
    "teams.reserve": ("（后备）", " (reserve)"),
    "teams.title": ("{count} 支队伍", "{count} teams"),
    "teams.title_in": ("{region} {count} 支队伍", "{count} teams in {region}"),
    "teams.no_team": ("没有队伍 {team_id}", "no team {team_id}"),
    "card.area": ("服务区域：{area}", "Area: {area}"),
    "card.leader": ("队长：{leader}", "Leader: {leader}"),
    "card.unnamed": ("未登记", "not named"),
    "card.members": (
        "队员 {members} 名（党员 {party} 名），{kind}",
        "{members} members ({party} party members), {kind}",
    ),
    "card.reserve": ("后备队", "reserve squad"),
    "card.service": ("服务队", "service team"),
    "card.roles": ("分工：{roles}", "Roles: {roles}"),
    "card.branch": ("结对支部（一队一支部）：{branch}", "Paired party branch: {branch}"),
    "card.skills": ("技能：{skills}", "Skills: {skills}"),
    "card.code": ("注册码：{code}", "Registration code: {code}"),
    "card.promise": (
        "有呼必应、有难必帮",
        "有呼必应、有难必帮: every call answered, every difficulty helped",
    ),
    "card.home": (
        "驻地：{lat:.5f}, {lon:.5f}；负责网格单元：{cells}",
        "Home: {lat:.5f}, {lon:.5f}; grid cells owned: {cells}",
    ),
    "card.load": (
        "负荷：{active}/{capacity} 项任务；状态：{status}",
        "Load: {active}/{capacity} tasks; status {status}",
    ),
    "card.fix": ("最近定位：{lat:.5f}, {lon:.5f}，{at}", "Last fix: {lat:.5f}, {lon:.5f} at {at}"),
    "qr.wrote": ("{code}：已写入 {svg} 和 {png}", "{code}: wrote {svg} and {png}"),
    "grid.summary": (
        "{teams} 支队伍负责 {owned:,} 个网格单元；城镇的 {interest:,} 个单元中 {covered:,} 个"
        "有负责队伍（{fraction:.1%}）",
        "{teams} teams own {owned:,} cells; of {interest:,} town cells {covered:,} have an "
        "owner ({fraction:.1%})",
    ),
    "grid.spread": (
        "每队网格单元数（最少 / 中位 / 最多）：{spread}",
        "cells per team (min / median / max): {spread}",
    ),
    "grid.unowned": ("无负责队伍的城镇单元", "town cells with no owner"),
    "grid.idle": ("没有网格单元的队伍", "teams with no cells"),
    "listing.count": ("{title}：{count}", "{title}: {count}"),
    "listing.more": (
        "  ……还有 {count} 个（--json 列出全部）",
        "  ... and {count} more (--json lists all)",
    ),
    "queue.title": (
        "{count} 个工单等待队伍，最早的在前",
        "{count} incidents waiting for a team, oldest first",
    ),
    # everycall incidents / tasks
    "ops.invalid": ("{where} 无效：", "invalid {where}:"),
    "ops.refused": ("被拒：", "refused:"),
    "ops.accepted": (
        "已受理；由运行中的 everycall api 的发件箱转发程序发布",
        "accepted; the outbox relay of the running everycall api publishes it",
    ),
    "incidents.title": ("{count} 个工单", "{count} incidents"),
    "ops.now_team": (
        "工单 {incident_id} 现为{state}（队伍 {team}）",
        "incident {incident_id} is now {state} (team {team})",
    ),
    "ops.now_priority": (
        "工单 {incident_id} 现为{state}（优先级 {priority}）",
        "incident {incident_id} is now {state} (priority {priority})",
    ),
    "flag.escalated": ("已升级", "escalated"),
    "flag.breached": ("已超时", "breached"),
    "flag.duplicate": ("与 {master} 重复", "duplicate of {master}"),
    "flag.support": ("{lead} 的支援", "support of {lead}"),
    "ops.level_raised": (
        "工单 {incident_id} 已提级增派：共 {count} 项任务",
        "incident {incident_id}: level raised, {count} tasks",
    ),
    "incident.group": ("本事件的 {count} 项任务", "the incident's {count} tasks"),
    "task.lead": ("牵头", "lead"),
    "task.support": ("支援", "support"),
    "task.this": ("{incident_id}（本工单）", "{incident_id} (this one)"),
    "incident.title": ("工单 {incident_id}", "incident {incident_id}"),
    "incident.clocks": ("SLA 时钟（北京时间 +08:00）", "SLA clocks (times at +08:00)"),
    "incident.timeline": ("时间线（北京时间 +08:00）", "timeline (times at +08:00)"),
    # everycall tokens
    "tokens.cannot_create": ("无法创建令牌：", "cannot create the token:"),
    "tokens.created": (
        "已创建{role}令牌 {token_id}{bound}；仅此一次显示：",
        "created {role} token {token_id}{bound}; it is shown only this once:",
    ),
    "tokens.bound": ("，供队伍 {team} 使用", " for team {team}"),
    "tokens.cannot_revoke": ("无法吊销：", "cannot revoke:"),
    "tokens.revoked": ("令牌 {token_id} 已吊销", "token {token_id} revoked"),
    "tokens.title": ("{count} 个 API 令牌", "{count} API tokens"),
    "tokens.revoked_at": ("已吊销 {at}", "revoked {at}"),
    "tokens.active": ("有效", "active"),
    # everycall users
    "users.password": ("密码", "Password"),
    "users.cannot_add": ("无法添加账号：", "cannot add the account:"),
    "users.added": ("已添加{role} {username}{bound}", "added {role} {username}{bound}"),
    "users.bound": ("（{team}）", " ({team})"),
    "users.reserve": ("（预备队员）", " (reserve)"),
    "users.disabled_state": ("停用", "disabled"),
    "users.active_state": ("启用", "active"),
    "users.title": ("{count} 个账号", "{count} accounts"),
    "users.cannot_disable": ("无法停用：", "cannot disable:"),
    "users.disabled": (
        "已停用 {username}；其登录已全部退出",
        "disabled {username}; every session of it has ended",
    ),
    "users.cannot_reset": ("无法重置密码：", "cannot reset the password:"),
    "users.reset": ("已重置 {username} 的密码", "reset the password of {username}"),
    # everycall households
    "households.imported": (
        "已从 {path} 导入 {count} 户：新增 {added} 户，更新 {updated} 户",
        "imported {count} households from {path}: {added} added, {updated} updated",
    ),
    "households.no_division": (
        "没有地区 {division!r}：可选 {choices}",
        "no division {division!r}: one of {choices}",
    ),
    "households.title": ("{count} 户", "{count} households"),
    # everycall ledger
    "ledger.writing": ("写入", "writing"),
    "ledger.no_team": ("没有该队伍 {team!r}", "no team {team!r}"),
    "ledger.reading": ("读取事件日志", "reading the event log"),
    "ledger.written": (
        "{rows} 条任务，{teams} 支队伍 → {output}",
        "{rows} tasks, {teams} teams → {output}",
    ),
    # everycall db
    "db.upgraded": (
        "数据库已升级到 {after}（原为 {was}）",
        "database upgraded to {after} (was {was})",
    ),
    "db.before_migrations": ("引入迁移之前的版本", "the release before migrations"),
    "db.empty": ("空库", "empty"),
    "db.current": ("数据库已是 {after}", "database already at {after}"),
    # everycall audit
    "audit.not_iso": ("{text!r} 不是 ISO 8601 时间", "{text!r} is not an ISO 8601 time"),
    "audit.no_head": ("数据库没有事件日志头", "the database has no event log head"),
    "audit.verified_before": (
        "在它之前核验通过的条目：{entries}",
        "entries verified before it: {entries}",
    ),
    "audit.digest_holds": ("；摘要 {kept} 相符", "; digest {kept} holds"),
    "audit.ok": (
        "{entries} 条，哈希链完整，头 {last}{against}",
        "{entries} entries, chain intact, head {last}{against}",
    ),
    "audit.no_kafka": ("没有可读的 Kafka", "no Kafka to read"),
    "audit.verifying": ("核验中", "verifying"),
    "audit.reading_topic": ("读取 everycall.audit", "reading everycall.audit"),
    "audit.exporting": ("导出中", "exporting"),
    "audit.source_topic": ("everycall.audit 主题", "the everycall.audit topic"),
    "audit.source_log": ("事件日志", "the event log"),
    "audit.replayed": (
        "已从{source}重放 {events} 个事件（至序号 {last_seq}）：{written}",
        "replayed {events} events from {source} (up to seq {last_seq}): {written}",
    ),
    "audit.no_projector": (
        "没有投影器：{kind}，{count} 个事件未应用",
        "no projector for {kind}: {count} events not applied",
    ),
    "audit.not_compared": (
        "未比较：现有投影是此刻的，不是 --until 时的",
        "not compared: the live projection is of now, not of --until",
    ),
    "audit.identical": (
        "一致：重放的投影与现有投影相同",
        "identical: the replayed projection equals the live one",
    ),
    "audit.differences": ("{count} 处差异（现有与重放）", "{count} differences (live vs replayed)"),
    "audit.board_at": (
        "{moment} 时的看板：重放 {events} 个事件（至序号 {last_seq}，最后一个在 {last_at}）",
        "the board at {moment}: {events} events replayed (up to seq {last_seq}, last at {last_at})",
    ),
    "audit.open_incidents": ("未结工单：{count}", "open incidents: {count}"),
    "audit.busy_teams": ("有任务的队伍：{count}", "teams with work: {count}"),
    "audit.running_clocks": ("运行中的 SLA 时钟：{count}", "running SLA clocks: {count}"),
    "audit.no_events": (
        "没有关于工单 {incident_id} 的事件",
        "no events about incident {incident_id}",
    ),
    "audit.timeline_title": (
        "工单 {incident_id}：{count} 个事件（北京时间 +08:00）",
        "incident {incident_id}: {count} events (times at +08:00)",
    ),
    "audit.explanation": ("派单依据（序号 {seq}）", "routing explanation (seq {seq})"),
    "audit.formats": ("可选 {formats}", "use one of {formats}"),
    "audit.exported": (
        "已导出 {count} 条到 {out}（{format}）",
        "exported {count} entries to {out} ({format})",
    ),
    # everycall sla report
    "sla.by_region": (
        "每个来电都有应答吗？按地区（来自报告）",
        "every call answered? by region (from the report)",
    ),
    "sla.by_team": (
        "按队伍（来自每次派单），{shown}/{total}，SLA 最低的在前",
        "by team (from each assignment), {shown} of {total}, lowest SLA first",
    ),
    "sla.all": ("合计", "all"),
    "sla.chart_written": ("图表已写入 {path}", "chart written to {path}"),
    "sla.report_written": ("报告已写入 {path}", "report written to {path}"),
    "sla.unanswered": ("{count} 个来电未应答", "{count} calls unanswered"),
    # everycall simulate / demo and the long-running processes
    "simulate.title": (
        "everycall simulate：每个来电都有应答吗？",
        "everycall simulate: every call answered?",
    ),
    "simulate.storm_title": (
        "everycall simulate --storm：暴雨天，每个来电都有应答吗？",
        "everycall simulate --storm: a storm day, every call answered?",
    ),
    "simulate.written": ("摘要已写入 {path}", "summary written to {path}"),
    "process.stopped": ("{name} 已停止", "{name} stopped"),
    # everycall roster
    "col.on_duty": ("在岗", "on duty"),
    "col.current": ("本班", "current"),
    "col.next": ("下一班", "next"),
    "roster.imported": (
        "已从 {path} 导入 {count} 个班次",
        "imported {count} shifts from {path}",
    ),
    "roster.exported": ("已导出到 {path}", "exported to {path}"),
    "roster.reserve": ("（预备队）", " (reserve)"),
    "roster.no_roster": ("（无排班）", " (no roster)"),
    "roster.title": (
        "在岗 {on_duty} 支，不在岗 {off_duty} 支，{at}（北京时间）",
        "{on_duty} on duty, {off_duty} off, at {at} (Asia/Shanghai)",
    ),
    # everycall storm
    "col.reason": ("原因", "reason"),
    "col.declared": ("宣布", "declared"),
    "col.source": ("来源", "source"),
    "storm.on": ("开启", "on"),
    "storm.ended": ("已结束", "ended"),
    "storm.said": (
        "{division}：暴雨模式{state}；预备队：{reserves}",
        "{division}: storm mode {state}; reserves: {reserves}",
    ),
    "storm.title": (
        "暴雨模式：{count} 个地区开启（北京时间）",
        "storm mode: {count} on (times in Asia/Shanghai)",
    ),
    # everycall stories
    "stories.not_added": ("服务故事未添加：", "story not added:"),
    "stories.no_team": ("没有该服务队：{team_id}", "no such team: {team_id}"),
    "stories.added": (
        "已添加服务故事：{story_id} → {team_id}",
        "story added: {story_id} → {team_id}",
    ),
    "stories.title": (
        "{team_id} 服务故事 {count} 篇（北京时间）",
        "{team_id} stories: {count} (times in Asia/Shanghai)",
    ),
}

VALUE_LABELS_ZH: dict[str, str] = {
    # incident states
    "reported": "已报告",
    "queued": "排队中",
    "assigned": "已派单",
    "acknowledged": "已接单",
    "en_route": "在途",
    "on_scene": "已到场",
    "resolved": "已处理",
    "declined": "已拒绝",
    "reassigned": "已改派",
    "escalated": "已升级",
    "cancelled": "已取消",
    "merged": "已合并",
    # priorities
    "critical": "紧急",
    "hardship": "困难户",
    "normal": "普通",
    "low": "低",
    # incident kinds and team skills
    "repair": "抢修",
    "outage": "停电",
    "disaster_relief": "抢险救灾",
    "vulnerable_assistance": "困难帮扶",
    "assistance": "帮扶",
    "equipment_check": "设备巡检",
    # team status
    "available": "空闲",
    "busy": "忙碌",
    "off_duty": "休息",
    # roles
    "dispatcher": "调度员",
    "team": "服务队",
    "auditor": "审计员",
    "admin": "管理员",
    # area classes
    "urban": "城区",
    "rural": "农村",
    "remote": "偏远",
    # SLA clocks
    "acknowledge": "接单",
    "arrive": "到场",
    "resolve": "处理",
    "running": "计时中",
    "met": "达标",
    "breached": "超时",
}
