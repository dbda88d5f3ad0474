"""Urgent messages on Telegram, through the real Bot against the fake Bot API: the kind's guidance and
number first, the officers' group alarmed with a mention of the on-duty officer, the duty group told."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.telegram.fake_api import FakeBotAPI
from tests.telegram.harness import OFFICER, OFFICERS_CHAT, RESIDENT, Harness, make_harness

DUTY_CHAT = -100900
ON_DUTY = OFFICER.id


@pytest.fixture
async def tg(api: FakeBotAPI, tmp_path: Path) -> AsyncIterator[Harness]:
    harness = await make_harness(api, tmp_path)
    await harness.stop()
    community = harness.settings.knowledge_dir / "communities" / "gongyuan.yaml"
    text = community.read_text(encoding="utf-8")
    community.write_text(
        text.replace(
            "{name: 李警官, role: 社区民警,", f"{{name: 李警官, telegram_id: {ON_DUTY}, role: 社区民警,"
        ),
        encoding="utf-8",
    )
    harness.settings = harness.settings.model_copy(update={"duty_chat_id": DUTY_CHAT})
    await harness.start()
    yield harness
    await harness.stop()


async def test_an_urgent_message_leads_with_its_number_and_alarms_the_officers(tg: Harness) -> None:
    await tg.start_in(RESIDENT)
    reply = await tg.reply_to(RESIDENT, "屋裡好大一股煤氣味")
    text = reply["text"]
    assert text.startswith("🚨") and text.index("119") < text.index("WJ000001")
    assert "不要开关" in text and "已同时通知" in text and "预计答复时间" not in text

    assert await tg.deliver() == 3
    post, alarm = tg.api.sent("sendMessage", OFFICERS_CHAT)
    assert "紧急 · 火灾/燃气/被困" in post.params["text"] and "WJ000001" in post.params["text"]
    assert "紧急警情提醒" in alarm.params["text"]
    assert f'href="tg://user?id={ON_DUTY}"' in alarm.params["text"]
    (duty,) = tg.api.sent("sendMessage", DUTY_CHAT)
    assert "值班" in duty.params["text"] and "WJ000001" in duty.params["text"]
    assert not duty.params.get("reply_markup")


async def test_officer_queue_lists_urgent_first(tg: Harness) -> None:
    await tg.start_in(RESIDENT)
    await tg.reply_to(RESIDENT, "楼上装修太吵了怎么办")
    await tg.reply_to(RESIDENT, "我的孩子在商场走丢了")
    after = len(tg.api.calls)
    # The knowledge file's telegram_id puts the on-duty officer on the allowlist.
    await tg.send(OFFICER, "/queue", chat_id=OFFICERS_CHAT)
    listing = await tg.api.next_call("sendMessage", OFFICERS_CHAT, after=after)
    text = listing.params["text"]
    assert text.index("WJ000002") < text.index("WJ000001")
    assert "紧急·儿童或老人走失" in text
