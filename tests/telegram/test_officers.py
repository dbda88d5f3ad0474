"""Officers end to end: the escalation post, claim, answer by reply, delivery to the resident, rating."""

from __future__ import annotations

from typing import Any

from bot.core.models import CloseReason, EscalationStatus, Role, StatsQuery
from tests.telegram.harness import (
    HEXI_CHAT,
    OFFICER,
    OFFICERS_CHAT,
    RESIDENT,
    STRANGER,
    Harness,
    Person,
    buttons,
)

ANSWER = "请带身份证和房产证明到公园社区警务室登记，我们会联系物业处理噪音问题。"


async def escalate(tg: Harness) -> dict[str, Any]:
    """A resident's question goes to the officers; returns the post in their group."""
    await tg.start_in(RESIDENT)
    reply = await tg.reply_to(RESIDENT, "楼上装修太吵了怎么办")
    assert "WJ000001" in reply["text"]
    after = len(tg.api.calls)
    assert await tg.deliver() == 1
    return tg.message_of(await tg.api.next_call("sendMessage", OFFICERS_CHAT, after=after))


async def status(tg: Harness, escalation_id: int = 1) -> EscalationStatus:
    async with tg.c.uow_factory() as uow:
        escalation = await uow.escalations.get(escalation_id)
    assert escalation is not None
    return escalation.status


async def test_claim_answer_by_reply_reaches_the_resident_who_rates_it(tg: Harness) -> None:
    await tg.c.staff.add("李警官", Role.OFFICER, ["gongyuan"], telegram_user_id=OFFICER.id)
    post = await escalate(tg)
    assert "WJ000001" in post["text"] and "公园社区" in post["text"] and "装修" in post["text"]
    assert [label for label, _ in buttons(post)] == ["认领", "答复", "转交", "办结", "存为知识"]

    after = len(tg.api.calls)
    answered = await tg.callback_answer(await tg.click(OFFICER, post, "认领"))
    assert "已认领" in answered["text"]
    edited = await tg.api.next_call("editMessageText", OFFICERS_CHAT, after=after)
    assert "办理中" in edited.params["text"] and "李警官" in edited.params["text"]
    assert await status(tg) is EscalationStatus.CLAIMED

    after = len(tg.api.calls)
    await tg.send(OFFICER, ANSWER, chat_id=OFFICERS_CHAT, reply_to=edited.result)
    confirmation = await tg.api.next_call("sendMessage", OFFICERS_CHAT, after=after)
    assert "已答复工单 WJ000001" in confirmation.params["text"]
    assert await status(tg) is EscalationStatus.ANSWERED

    after = len(tg.api.calls)
    assert await tg.deliver() == 1
    delivered = tg.message_of(await tg.api.next_call("sendMessage", RESIDENT.id, after=after))
    assert ANSWER in delivered["text"] and "WJ000001" in delivered["text"] and "李警官" in delivered["text"]
    assert [label for label, _ in buttons(delivered)] == ["满意", "基本满意", "不满意"]

    thanks = await tg.callback_answer(await tg.click(RESIDENT, delivered, "基本满意"))
    assert "谢谢" in thanks["text"]
    snapshot = await tg.c.stats.snapshot(StatsQuery())
    assert snapshot.satisfaction.get("basically") == 1 and sum(snapshot.satisfaction.values()) == 1


async def test_answer_button_then_reply_to_the_prompt(tg: Harness) -> None:
    await tg.c.staff.add("李警官", Role.OFFICER, ["gongyuan"], telegram_user_id=OFFICER.id)
    post = await escalate(tg)
    after = len(tg.api.calls)
    await tg.click(OFFICER, post, "答复")
    prompt = await tg.api.next_call("sendMessage", OFFICERS_CHAT, after=after)
    assert prompt.params["reply_markup"]["force_reply"] is True
    assert "WJ000001" in prompt.params["text"]

    # The bot restarts before the officer types: the prompt's mapping is in the database.
    await tg.restart()
    after = len(tg.api.calls)
    await tg.send(OFFICER, ANSWER, chat_id=OFFICERS_CHAT, reply_to=prompt.result)
    confirmation = await tg.api.next_call("sendMessage", OFFICERS_CHAT, after=after)
    assert "已答复" in confirmation.params["text"]
    assert await status(tg) is EscalationStatus.ANSWERED


async def test_restart_between_escalation_and_answer_still_delivers(tg: Harness) -> None:
    await tg.c.staff.add("李警官", Role.OFFICER, ["gongyuan"], telegram_user_id=OFFICER.id)
    post = await escalate(tg)

    await tg.restart()  # new Container, Bot and Dispatcher on the same database

    after = len(tg.api.calls)
    await tg.send(OFFICER, ANSWER, chat_id=OFFICERS_CHAT, reply_to=post)
    await tg.api.next_call("sendMessage", OFFICERS_CHAT, after=after)
    await tg.restart()
    after = len(tg.api.calls)
    assert await tg.deliver() == 1
    delivered = await tg.api.next_call("sendMessage", RESIDENT.id, after=after)
    assert ANSWER in delivered.params["text"]
    # No update was handled twice across the restarts: one question, one consultation.
    snapshot = await tg.c.stats.snapshot(StatsQuery())
    assert snapshot.total == 1


async def test_not_on_the_allowlist_cannot_claim_or_answer(tg: Harness) -> None:
    await tg.c.staff.add("李警官", Role.OFFICER, ["gongyuan"], telegram_user_id=OFFICER.id)
    post = await escalate(tg)

    refused = await tg.callback_answer(await tg.click(STRANGER, post, "认领"))
    assert refused.get("show_alert") in (True, "true") and "名单" in refused["text"]

    after = len(tg.api.calls)
    await tg.send(STRANGER, "我来答：找物业", chat_id=OFFICERS_CHAT, reply_to=post)
    reply = await tg.api.next_call("sendMessage", OFFICERS_CHAT, after=after)
    assert "名单" in reply.params["text"]
    assert await status(tg) is EscalationStatus.OPEN
    assert await tg.deliver() == 0  # nothing went to the resident


async def test_officer_of_another_community_is_refused(tg: Harness) -> None:
    hexi = Person(2002, "王警官")
    await tg.c.staff.add("王警官", Role.OFFICER, ["hexi"], telegram_user_id=hexi.id)
    post = await escalate(tg)
    refused = await tg.callback_answer(await tg.click(hexi, post, "认领"))
    assert "不负责" in refused["text"]
    assert await status(tg) is EscalationStatus.OPEN


async def test_second_claim_is_told_who_owns_the_ticket(tg: Harness) -> None:
    colleague = Person(2003, "赵警官")
    await tg.c.staff.add("李警官", Role.OFFICER, ["gongyuan"], telegram_user_id=OFFICER.id)
    await tg.c.staff.add("赵警官", Role.OFFICER, ["gongyuan"], telegram_user_id=colleague.id)
    post = await escalate(tg)
    await tg.callback_answer(await tg.click(OFFICER, post, "认领"))
    lost = await tg.callback_answer(await tg.click(colleague, post, "认领"))
    assert "李警官" in lost["text"] and lost.get("show_alert") in (True, "true")

    after = len(tg.api.calls)
    await tg.send(colleague, "我来答", chat_id=OFFICERS_CHAT, reply_to=post)
    reply = await tg.api.next_call("sendMessage", OFFICERS_CHAT, after=after)
    assert "李警官" in reply.params["text"]


async def test_hand_over_posts_to_the_other_community(tg: Harness) -> None:
    await tg.c.staff.add("李警官", Role.OFFICER, ["gongyuan"], telegram_user_id=OFFICER.id)
    post = await escalate(tg)
    after = len(tg.api.calls)
    await tg.click(OFFICER, post, "转交")
    targets = await tg.api.next_call("editMessageReplyMarkup", OFFICERS_CHAT, after=after)
    after = len(tg.api.calls)
    await tg.click(OFFICER, targets.result, "河西社区")
    edited = await tg.api.next_call("editMessageText", OFFICERS_CHAT, after=after)
    assert "转交给<b>河西社区</b>" in edited.params["text"]
    async with tg.c.uow_factory() as uow:
        escalation = await uow.escalations.get(1)
    assert escalation is not None and escalation.community == "hexi"
    after = len(tg.api.calls)
    await tg.deliver()
    reposted = await tg.api.next_call("sendMessage", HEXI_CHAT, after=after)
    assert "WJ000001" in reposted.params["text"] and "河西社区" in reposted.params["text"]


async def test_close_and_save_as_knowledge(tg: Harness) -> None:
    await tg.c.staff.add("李警官", Role.OFFICER, ["gongyuan"], telegram_user_id=OFFICER.id)
    post = await escalate(tg)
    early = await tg.callback_answer(await tg.click(OFFICER, post, "存为知识"))
    assert "先答复" in early["text"]

    after = len(tg.api.calls)
    await tg.send(OFFICER, ANSWER, chat_id=OFFICERS_CHAT, reply_to=post)
    await tg.api.next_call("sendMessage", OFFICERS_CHAT, after=after)
    saved = await tg.callback_answer(await tg.click(OFFICER, post, "存为知识"))
    assert "知识草稿" in saved["text"]
    assert len(await tg.c.drafts.list()) == 1

    closed = await tg.callback_answer(await tg.click(OFFICER, post, "办结"))
    assert "已办结" in closed["text"]
    assert await status(tg) is EscalationStatus.CLOSED


async def test_closing_without_an_answer_asks_why(tg: Harness) -> None:
    await tg.c.staff.add("李警官", Role.OFFICER, ["gongyuan"], telegram_user_id=OFFICER.id)
    post = await escalate(tg)
    after = len(tg.api.calls)
    refused = await tg.callback_answer(await tg.click(OFFICER, post, "办结"))
    assert "还没有答复" in refused["text"] and refused.get("show_alert")
    await tg.api.next_call("editMessageReplyMarkup", OFFICERS_CHAT, after=after)  # the reasons
    assert await status(tg) is EscalationStatus.OPEN
    after = len(tg.api.calls)
    await tg.callback_answer(await tg.click(OFFICER, post, "返回"))
    await tg.api.next_call("editMessageText", OFFICERS_CHAT, after=after)  # the actions again
    assert await status(tg) is EscalationStatus.OPEN
    after = len(tg.api.calls)
    await tg.callback_answer(await tg.click(OFFICER, post, "办结"))
    await tg.api.next_call("editMessageReplyMarkup", OFFICERS_CHAT, after=after)
    closed = await tg.callback_answer(await tg.click(OFFICER, post, "无效信息"))
    assert "已办结（无效信息）" in closed["text"]
    assert await status(tg) is EscalationStatus.CLOSED
    async with tg.c.uow_factory() as uow:
        view = await uow.escalations.view(1)
    assert view is not None and view.escalation.close_reason is CloseReason.SPAM


async def test_anonymous_group_admin_is_refused_politely(tg: Harness) -> None:
    post = await escalate(tg)
    after = len(tg.api.calls)
    group = {"id": OFFICERS_CHAT, "type": "supergroup", "title": "民警群"}
    anonymous = Person(1087968824, "Group")
    await tg.send(anonymous, "我来答复", chat_id=OFFICERS_CHAT, reply_to=post, sender_chat=group)
    reply = await tg.api.next_call("sendMessage", OFFICERS_CHAT, after=after)
    assert "匿名" in reply.params["text"]
    assert await status(tg) is EscalationStatus.OPEN


async def test_ordinary_group_chatter_is_ignored(tg: Harness) -> None:
    await tg.c.staff.add("李警官", Role.OFFICER, ["gongyuan"], telegram_user_id=OFFICER.id)
    await tg.send(OFFICER, "大家早上好", chat_id=OFFICERS_CHAT)
    await tg.send(STRANGER, "收到", chat_id=OFFICERS_CHAT)
    after = len(tg.api.calls)
    await tg.start_in(RESIDENT)  # a later update, handled after the two above
    assert not [c for c in tg.api.calls[:after] if c.method == "sendMessage" and c.chat_id == OFFICERS_CHAT]


async def test_joining_a_group_tells_its_chat_id(tg: Harness) -> None:
    bot_user = {"id": 42, "is_bot": True, "first_name": "警务室"}
    group = {"id": -100777, "type": "supergroup", "title": "新民警群"}
    after = len(tg.api.calls)
    await tg.api.push(
        {
            "my_chat_member": {
                "chat": group,
                "from": OFFICER.as_user(),
                "date": 0,
                "old_chat_member": {"status": "left", "user": bot_user},
                "new_chat_member": {"status": "member", "user": bot_user},
            }
        }
    )
    hello = await tg.api.next_call("sendMessage", -100777, after=after)
    assert "-100777" in hello.params["text"] and "officer_chat_id" in hello.params["text"]
