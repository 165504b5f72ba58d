"""`everycall --help` in the reader's language: the Chinese help of every command group and
command, by its path (`teams list`). The English help is each command's own docstring, so
the code's documentation and the English help cannot drift; a command without a Chinese
entry shows its docstring in both languages."""

from __future__ import annotations

import typer

from dispatch.entrypoints.cli.locale import Language, language

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
    "simulate": "模拟一场暴雨：模拟的队伍应答（有的不理任务），盯住每个 SLA。",
    "demo": "录入登记，经 Kafka 送入一批工单并全部派出。",
    "serve": "在一个进程里运行 API、派单、SLA 看门狗、通知和发件箱转发。",
    "api": "单独运行 HTTP API（连同其发件箱转发）。",
    "dispatcher": "消费报告的工单并逐批派单，直到被中断。",
    "watchdog": "按计划运行 SLA 看门狗，直到被中断。",
    "notifier": "按事件日志通知队伍的任务（Web Push、短信、群机器人），直到被中断。",
}


def localise_help(app: typer.Typer, path: str = "") -> None:
    """Give `app`'s groups and commands their Chinese help when the reader reads Chinese.
    Call it before the app runs: Typer builds its help from these at that moment."""
    if language() is not Language.ZH:
        return
    if path in HELP_ZH:
        app.info.help = HELP_ZH[path]
    for group in app.registered_groups:
        name = f"{path} {group.name}".strip()
        if name in HELP_ZH:
            group.help = HELP_ZH[name]
        if group.typer_instance is not None:
            localise_help(group.typer_instance, name)
    for command in app.registered_commands:
        named = command.name or (command.callback.__name__ if command.callback else "")
        name = f"{path} {named.replace('_', '-')}".strip()
        if name in HELP_ZH:
            command.help = HELP_ZH[name]
