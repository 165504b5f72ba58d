"""`everycall --help` in the reader's language: the Chinese help of every command group and
command, by its path (`teams list`), and of every option, by its English text. The English
help is the code's own (docstrings and `help=`), so the code's documentation and the English
help cannot drift; what has no Chinese entry shows its English in both languages."""

from __future__ import annotations

from typing import Any

from typer.core import TyperGroup

from dispatch.entrypoints.cli.i18n import Language, language

HELP_ZH: dict[str, str] = {
    "": "everycall：有呼必应、有难必帮。",
    "db": "数据库设置。",
    "db upgrade": "把数据库结构升级到最新迁移；每次启动都可放心运行。",
    "db init": "创建或升级数据库结构（同 `db upgrade`）；每次启动都可放心运行。",
    "audit": "审计员：核验、重放、回看事件历史（只读）。",
    "audit verify": "重算哈希链；有坏条目时以退出码 1 指出第一条（并核对保存的摘要）。",
    "audit digest": "以 `SEQ:HASH` 打印日志头：存到系统之外，日后核对。",
    "audit replay": "只凭日志重建全部投影，再与现有投影比较。",
    "audit state": "某一时刻的看板：未结工单、谁在办什么、运行中的时钟。",
    "audit timeline": "一个工单的全部事件：谁在何时做了什么，附派单依据。",
    "audit export": "导出整个日志供外部工具使用（hash = sha256(prev_hash + envelope)）。",
    "tokens": "调度中心、服务队、审计员和管理员的 API 令牌。",
    "tokens create": "创建令牌；明文只打印一次，单独在最后一行。",
    "tokens revoke": "吊销令牌：此后用它的请求一律拒绝（401）。",
    "tokens list": "全部令牌及其角色、队伍和状态（从不显示密钥）。",
    "users": "人员账号：调度员、审计员、管理员和队员。",
    "users add": "添加账号。",
    "users list": "全部账号及其角色、队伍和状态（从不显示密码或其哈希）。",
    "users disable": "停用账号：不能再登录，已有登录随即退出。",
    "users reset-password": "为账号设置新密码；已有登录随即退出。",
    "households": "困难户登记：按户号管理的住户。",
    "households import": (
        "导入文件中的住户，已登记的随之更新：整个文件生效，或遇到第一条坏行时全不生效。"
    ),
    "households list": "登记簿，按地区和户号排列。",
    "incidents": "报告、查看和列出工单。",
    "incidents report": "报告一个待派工单；最后一行单独打印其编号。",
    "incidents show": "一个工单：状态、队伍、SLA 时钟和时间线。",
    "incidents list": "工单列表，可按状态、地区、优先级或是否超时筛选。",
    "incidents cancel": "取消工单，并写明原因。",
    "incidents priority": "更改工单优先级；SLA 目标仍从报告时间算起。",
    "incidents unlink": "把被归为重复的报告拆出：单独派单。",
    "incidents reassign": "手工把工单改派给选定的队伍，并写明原因。",
    "incidents raise-level": "提级增派：为工单再派一支队伍（牵头工单的一项支援任务），并写明原因。",
    "tasks": "服务队处理自己的任务。",
    "tasks ack": "服务队接单。",
    "tasks decline": "服务队无法接单；任务退回重新派单。",
    "tasks en-route": "服务队已出发。",
    "tasks on-scene": "服务队已到场。",
    "tasks resolve": "任务已处理完毕。",
    "teams": "服务队登记：导入、导出、列表、详情、二维码。",
    "teams import": "以文件为全部登记：整个文件生效，或遇到第一条坏行时全不生效。",
    "teams export": "把登记导出为 CSV 或 JSON（按文件后缀）。",
    "teams list": "服务队列表，附负荷和状态。",
    "teams show": "一支服务队：名片、注册码、负荷、定位和网格单元。",
    "teams qr": "写出服务队的二维码（SVG 和 PNG），链接到其公开页面。",
    "grid": "服务网格：哪支队伍负责哪个单元。",
    "grid coverage": "无负责队伍的城镇单元，以及没有单元的队伍。",
    "sla": "SLA 报告。",
    "sla report": "按地区和队伍：来电、应答、接单和到场用时、SLA、未应答。",
    "ledger": "工作台账：按队伍和月份（北京时间）。",
    "ledger export": "一个月的全部任务及其时间、结果和 SLA，导出为 CSV 或 .xlsx。",
    "queue": "等待派队的工单，最早的在前，附优先级和已过时间。",
    "roster": "值班表：各队的班次。",
    "roster import": "把文件中的班次加入值班表（已有的班次改用文件中的结束时间）。",
    "roster export": "导出整个值班表（UTC 时间），格式为 CSV 或 iCalendar。",
    "roster now": "现在谁在岗、下一班是谁（北京时间）。",
    "storm": "暴雨模式：按地区开启和结束。",
    "storm declare": "按 config/storm.toml 在该地区开启暴雨模式：其预备队加入派单。",
    "storm end": "结束该地区的暴雨模式：其预备队随之解除。",
    "storm status": "处于（或曾处于）暴雨模式的地区，附宣布者和原因。",
    "stories": "服务故事：队伍公开页面上的故事，最新的在前。",
    "stories add": "为队伍页面添加一篇故事（不写电话号码：页面提供 95598）。",
    "stories list": "队伍的故事，最新的在前；时间为北京时间。",
    "simulate": "模拟一场暴雨：模拟的队伍应答（有的不理任务），盯住每个 SLA。",
    "demo": "录入登记，经 Kafka 送入一批工单并全部派出。",
    "serve": "在一个进程里运行 API、派单、SLA 看门狗、通知和发件箱转发。",
    "api": "单独运行 HTTP API（连同其发件箱转发）。",
    "dispatcher": "消费报告的工单并逐批派单，直到被中断。",
    "watchdog": "按计划运行 SLA 看门狗，直到被中断。",
    "notifier": "按事件日志通知队伍的任务（Web Push、短信、群机器人），直到被中断。",
}


# The options' and arguments' help, by its English text (the text in the code).
OPTION_HELP_ZH: dict[str, str] = {
    "a storm day: a CAP alert declares storm mode, a roster, reserves": (
        "暴雨天：CAP 预警宣布暴雨模式，排班，预备队加入"
    ),
    "a team member's team": "队员所在的队伍",
    "one team's id; every team if left out": "一支队伍的编号；不填则为全部队伍",
    "read the log's mirror on the everycall.audit topic instead": (
        "改读 everycall.audit 主题上的日志镜像"
    ),
    "JSON, for scripts": "输出 JSON，供脚本使用",
    "Kafka for --from-kafka (default: KAFKA_BOOTSTRAP_SERVERS)": (
        "--from-kafka 所用的 Kafka（默认：KAFKA_BOOTSTRAP_SERVERS）"
    ),
    "PNG chart of compliance over time": "SLA 达标率随时间变化的 PNG 图",
    "SEQ:HASH kept from `everycall audit digest`": (
        "之前由 `everycall audit digest` 保存的 SEQ:HASH"
    ),
    "SLA breached or not": "是否已超时",
    "YYYY-MM, a month in Asia/Shanghai": "YYYY-MM，按北京时间的月份",
    "a .csv or .json registry": ".csv 或 .json 格式的队伍登记",
    "also write the summary here": "同时把摘要写到这里",
    "also write the whole report as JSON": "同时把完整报告写成 JSON",
    "an empty database URL to rebuild into": "用来重建的空数据库 URL",
    "cells of interest: within this of each division centre [its urban radius]": (
        "关注的单元：距各地区中心这个距离以内（默认为其城区半径）"
    ),
    "csv (UTF-8 with BOM) or xlsx": "csv（带 BOM 的 UTF-8）或 xlsx",
    "directory for <id>.svg and <id>.png": "写入 <编号>.svg 和 <编号>.png 的目录",
    "dispatch priority": "派单优先级",
    "dispatcher, auditor, admin, or team (a member)": (
        "dispatcher（调度员）、auditor（审计员）、admin（管理员）或 team（队员）"
    ),
    "division code [from the place]": "地区代码（默认按位置）",
    "file to write": "要写入的文件",
    "how the call came in": "来电渠道",
    "incidents in the simulated burst": "模拟批次中的工单数",
    "incidents in the storm": "暴雨中的工单数",
    "interface to listen on [settings: 127.0.0.1]": "监听的网卡地址（设置默认：127.0.0.1）",
    "jsonl or csv": "jsonl 或 csv",
    "latitude, WGS84 degrees": "纬度，WGS84 度",
    "longitude, WGS84 degrees": "经度，WGS84 度",
    "only households on the hardship register": "只列困难户",
    "only in this division": "只看这个地区",
    "only in this state": "只看这个状态",
    "only of this priority": "只看这个优先级",
    "only this division, e.g. wuhan": "只看这个地区，例如 wuhan",
    "port [settings: 8000]": "端口（设置默认：8000）",
    "print JSON instead of a table": "输出 JSON 而不是表格",
    "print the view as JSON": "以 JSON 输出",
    "read the password from stdin (for scripts)": "从标准输入读密码（供脚本使用）",
    "repeat the command with the same key: one incident": "用同一个键重复执行：只生成一个工单",
    "seed of the simulated burst": "模拟批次的随机种子",
    "seed of the storm and of the crews": "暴雨和队伍行为的随机种子",
    "seed the Hubei registry when the database has no teams": "数据库中没有队伍时录入湖北登记",
    "share of tasks crews ignore": "队伍不理会的任务比例",
    "simulated minutes per tick (< 3 min)": "每一步模拟的分钟数（小于 3 分钟）",
    "stop at this time (ISO 8601; no offset means UTC)": (
        "到这个时间为止（ISO 8601；不带时区即 UTC）"
    ),
    "team rows to print, lowest SLA first; 0: all": "打印的队伍行数，SLA 最低的在前；0 为全部",
    "the CAP 1.2 alert of --storm (relative: to here or the repo)": (
        "--storm 使用的 CAP 1.2 预警（相对路径：相对当前目录或仓库）"
    ),
    "the account to disable": "要停用的账号",
    "the account": "账号",
    "the database to audit (default: EVERYCALL_DATABASE_URL)": (
        "要审计的数据库（默认：EVERYCALL_DATABASE_URL）"
    ),
    "the file to write": "要写入的文件",
    "the id shown by `tokens list`": "`tokens list` 显示的编号",
    "the incident id": "工单编号",
    "the incident to trace": "要追溯的工单",
    "the moment (ISO 8601; no offset means UTC)": "时刻（ISO 8601；不带时区即 UTC）",
    "the name people see, e.g. 张伟": "显示的姓名，例如 张伟",
    "the new priority": "新的优先级",
    "the register as .csv": ".csv 格式的登记簿",
    "the sign-in name, e.g. zhang.wei": "登录名，例如 zhang.wei",
    "the team a team token acts for": "队伍令牌所代表的队伍",
    "the team acting on its own task": "处理自己任务的队伍",
    "the team chosen": "选定的队伍",
    "the team id, e.g. HB-WH-001": "队伍编号，例如 HB-WH-001",
    "urban, rural or remote [from the place]": (
        "urban（城区）、rural（农村）或 remote（偏远）（默认按位置）"
    ),
    "what happened": "发生了什么",
    "what the token may do": "令牌的权限",
    "what was done": "做了什么",
    "where the public profiles live": "公开页面所在的网址",
    "where to write: .csv or .json": "写到哪里：.csv 或 .json",
    "where, in words": "地点的文字描述",
    "who holds it, shown in the event log": "持有人，记入事件日志",
    "why the team cannot go": "队伍去不了的原因",
    "why one more team is needed": "需要增派队伍的原因",
    "a team's reserve member: told of tasks only in storm mode": (
        "队伍的预备队员：仅在暴雨模式下接收任务通知"
    ),
    "why, for the record": "原因，记录在案",
    "why: a false alarm, a call withdrawn": "原因：误报、来电撤回等",
    "the roster as .csv (team_id,starts_at,ends_at) or .ics": (
        ".csv（team_id,starts_at,ends_at）或 .ics 格式的值班表"
    ),
    "csv or ics": "csv 或 ics",
    "write here; unset: standard output": "写到这里；不填则写到标准输出",
    "only this division, e.g. jingzhou": "只看这个地区，例如 jingzhou",
    "the division, e.g. jingzhou": "地区，例如 jingzhou",
    "why, e.g. 暴雨红色预警": "原因，例如 暴雨红色预警",
    "why it is over": "结束的原因",
    "one division; unset: all": "一个地区；不填则为全部",
    "标题, in Chinese": "标题（中文）",
    "正文, in Chinese": "正文（中文）",
    "the title in English": "英文标题",
    "the story in English": "英文正文",
    # Typer's own options of `everycall`
    "Install completion for the current shell.": "为当前 shell 安装命令补全。",
    "Show completion for the current shell, to copy it or customize the installation.": (
        "显示当前 shell 的命令补全脚本，以便复制或自行安装。"
    ),
}


def localise_help(command: Any, path: str = "") -> None:
    """Give a built command tree its groups', commands' and options' help in Chinese when
    the reader reads Chinese (English is the code's own text, already there). The tree is
    Typer's own build of click (`typer.main.get_command`), read by its attributes."""
    if language() is not Language.ZH:
        return
    command.help = HELP_ZH.get(path, command.help)
    for param in command.params:
        english = getattr(param, "help", None)
        if english:
            param.help = OPTION_HELP_ZH.get(english, english)
    for name, sub in getattr(command, "commands", {}).items():
        localise_help(sub, f"{path} {name}".strip())


class LocalisedGroup(TyperGroup):
    """The `everycall` group: its help is put into the reader's language as it starts, so
    a test or a shell with its own locale gets its own language."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        localise_help(self)
        return super().main(*args, **kwargs)
