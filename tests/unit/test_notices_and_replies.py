"""What a crew is told and how its SMS reply is read: notices in Chinese first with English
beside, times in Asia/Shanghai; `1`, `2 理由` and their full-width forms; phones in one form."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dispatch.adapters.notify_config import NotifyConfig, WebhookEndpoint, normal_phone
from dispatch.service_layer.sms_replies import Move, ReplyRefused, read_move
from models.notice import TaskFacts, notice_for

FACTS = TaskFacts(
    "inc-1", "repair", "critical", "解放大道1号", 30.59, 114.31,
    deadline=datetime(2026, 7, 1, 6, 8, tzinfo=UTC),
)  # fmt: skip


def test_an_assignment_notice_is_chinese_first_with_the_deadline_in_shanghai_time() -> None:
    notice = notice_for("team.assigned", {}, FACTS)
    assert notice.title == "新任务 New task"
    assert (
        notice.body
        == "抢修 repair · 紧急 critical · 解放大道1号，请于 14:08 前接单 acknowledge by 14:08"
    )
    assert notice.payload() == {
        "title": notice.title,
        "body": notice.body,
        "incident_id": "inc-1",
        "url": "/#/crew/tasks/inc-1",
        "type": "team.assigned",
    }
    assert notice.sms_text("K7Q2MXYZ").endswith(
        "回复1接单，回复2+理由拒单 Reply 1 to accept, 2 and a reason to decline #K7Q2MXYZ"
    )


def test_a_withdrawal_asks_for_no_reply() -> None:
    notice = notice_for("task.reassigned", {}, FACTS)
    assert notice.title.startswith("任务已撤回") and "回复" not in notice.sms_text("R")


@pytest.mark.parametrize(
    ("text", "move"),
    [
        ("1", Move(decline=False)),
        (" 1 ", Move(decline=False)),
        ("2 路不通", Move(decline=True, reason="路不通")),
        ("2路不通", Move(decline=True, reason="路不通")),
        ("2，车坏了 在等拖车", Move(decline=True, reason="车坏了 在等拖车")),
    ],
)
def test_a_reply_reads_as_a_move(text: str, move: Move) -> None:
    assert read_move(text) == move


@pytest.mark.parametrize("text", ["", "2", "2  ", "12", "3", "好的", "21"])
def test_anything_else_is_refused_with_a_422(text: str) -> None:
    with pytest.raises(ReplyRefused) as refused:
        read_move(text)
    assert refused.value.status == 422


def test_a_phone_has_one_spelling() -> None:
    assert normal_phone("138 0013 8000") == normal_phone("+86-138-0013-8000") == "+8613800138000"


def test_a_configuration_takes_one_sms_gateway_and_known_events_only() -> None:
    gateway = {"kind": "sms", "url": "https://sms.example.cn/send", "secret": "s"}
    with pytest.raises(ValueError, match="one SMS gateway"):
        NotifyConfig.model_validate(
            {"webhooks": [gateway | {"name": "a"}, gateway | {"name": "b"}]}
        )
    with pytest.raises(ValueError, match="not notified"):
        WebhookEndpoint.model_validate(gateway | {"name": "a", "events": ["task.resolved"]})
