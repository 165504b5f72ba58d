"""What a person reads from the CLI: the language of its messages and the time zone of its times.

The language comes from `EVERYCALL_LANG` if set, else from the first of `LC_ALL`,
`LC_MESSAGES` and `LANG` that is set (the POSIX order). A value starting with `zh`
(`zh_CN.UTF-8`, `zh-CN`, `zh`) gives Chinese; any other value (`C.UTF-8`, `en_US.UTF-8`, `en`)
gives English. When none of them is set the CLI speaks Chinese: its users are Hubei's
dispatchers and crews, and a bare service account or container sets no locale at all. A shell
that names a locale gets what it names, so a developer's `LANG=C.UTF-8` reads English.

Only human text follows the language; `--json` output is the same in both. Times are stored
in UTC and shown in Asia/Shanghai with the offset beside them, so a copied time stays exact.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum

from dispatch.entrypoints.cli.messages import MESSAGES, VALUE_LABELS_ZH
from models import hubei
from models.local_time import SHANGHAI

LOCALE_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG")


class Language(StrEnum):
    ZH = "zh"
    EN = "en"


def language(environ: Mapping[str, str] | None = None) -> Language:
    """The language the environment asks for (see the module's docstring for the rules)."""
    env = os.environ if environ is None else environ
    chosen = env.get("EVERYCALL_LANG") or next(
        (env[name] for name in LOCALE_VARIABLES if env.get(name)), ""
    )
    if not chosen:
        return Language.ZH
    return Language.ZH if chosen.strip().lower().startswith("zh") else Language.EN


def say(key: str, **fields: object) -> str:
    """The catalogue's message `key` in the chosen language, its `{fields}` filled in."""
    zh, en = MESSAGES[key]
    return (zh if language() is Language.ZH else en).format(**fields)


def headers(*keys: str) -> tuple[str, ...]:
    """Table headers from the catalogue, in the chosen language."""
    return tuple(say(key) for key in keys)


def label(value: str) -> str:
    """A state, priority, kind, skill or role as a person reads it: 已派单 in Chinese; in
    English the value itself, as the API and the options spell it."""
    return VALUE_LABELS_ZH.get(value, value) if language() is Language.ZH else value


def division_name(code: str, *, full: bool = False) -> str:
    """A division as a person calls it: 荆州 in Chinese, Jingzhou in English (with `full`, the
    official name: 恩施土家族苗族自治州, Enshi Tujia and Miao Autonomous Prefecture). An
    unknown code is shown as it is."""
    return hubei.division_name(code, language().value, short=not full)


def local_time(moment: datetime, pattern: str = "%Y-%m-%d %H:%M", *, zone: bool = True) -> str:
    """A stored (UTC) time in Asia/Shanghai with its offset: `2026-12-02 21:03 +08:00`
    (without it when a table's title names the zone once). A naive time is taken as UTC,
    which is how the database keeps them."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    local = aware.astimezone(SHANGHAI)
    if not zone:
        return local.strftime(pattern)
    offset = local.strftime("%z")
    return f"{local.strftime(pattern)} {offset[:3]}:{offset[3:]}"
