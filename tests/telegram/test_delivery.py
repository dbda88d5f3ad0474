"""The notifier through DeliveryService: retry_after honoured, 5xx retried, 403 and 400 final."""

from __future__ import annotations

import asyncio

from bot.core.models import Channel, ResidentRef, Role
from tests.telegram.fake_api import bad_request, blocked, server_error, too_many_requests
from tests.telegram.harness import OFFICER, OFFICERS_CHAT, RESIDENT, Harness


async def answered_ticket(tg: Harness) -> None:
    """A resident's escalated question, answered by the officer: one message waits for the resident."""
    await tg.c.staff.add("李警官", Role.OFFICER, ["gongyuan"], telegram_user_id=OFFICER.id)
    officer = await tg.c.officers.staff_by_telegram(OFFICER.id)
    assert officer is not None
    await tg.start_in(RESIDENT)
    await tg.reply_to(RESIDENT, "楼上装修太吵了怎么办")
    assert await tg.deliver() == 1  # the post to the officers
    await tg.c.officers.answer(officer, 1, "已联系物业，今天起限制装修时间。")


async def test_429_then_500_then_success_delivers_exactly_once(tg: Harness) -> None:
    await answered_ticket(tg)
    tg.api.fail("sendMessage", too_many_requests(7, RESIDENT.id), server_error(RESIDENT.id))

    assert await tg.deliver() == 1  # 429: retry in 7 s, as Telegram asked
    assert await tg.deliver() == 0  # not due yet
    tg.clock.advance(6)
    assert await tg.deliver() == 0
    tg.clock.advance(1.5)
    assert await tg.deliver() == 1  # 500: retry after a back-off
    tg.clock.advance(600)
    assert await tg.deliver() == 1  # delivered
    tg.clock.advance(600)
    assert await tg.deliver() == 0

    attempts = tg.api.sent("sendMessage", RESIDENT.id, ok=False)[-3:]
    assert [c.status for c in attempts] == [429, 500, 200]
    delivered = [c for c in tg.api.sent("sendMessage", RESIDENT.id) if "已联系物业" in c.params["text"]]
    assert len(delivered) == 1
    assert (await tg.outbox_counts()).get("sent") == 2
    # The limiter kept the chat paused for the 7 seconds Telegram asked for.
    assert any(s >= 6.9 for s in tg.limiter_clock.slept)


async def test_403_marks_the_resident_blocked_and_is_not_retried(tg: Harness) -> None:
    await answered_ticket(tg)
    tg.api.fail("sendMessage", blocked(RESIDENT.id))
    assert await tg.deliver() == 1
    tg.clock.advance(3600)
    assert await tg.deliver() == 0
    assert (
        len(tg.api.sent("sendMessage", RESIDENT.id, ok=False))
        == len(tg.api.sent("sendMessage", RESIDENT.id)) + 1
    )
    counts = await tg.outbox_counts()
    assert counts.get("blocked") == 1
    async with tg.c.uow_factory() as uow:
        prefs = await uow.residents.prefs(ResidentRef(Channel.TELEGRAM, str(RESIDENT.id)))
    assert prefs.blocked


async def test_400_fails_at_once(tg: Harness) -> None:
    await answered_ticket(tg)
    tg.api.fail("sendMessage", bad_request(RESIDENT.id))
    assert await tg.deliver() == 1
    tg.clock.advance(3600)
    assert await tg.deliver() == 0
    assert (await tg.outbox_counts()).get("failed") == 1


async def test_escalation_post_is_mapped_to_its_ticket(tg: Harness) -> None:
    await tg.start_in(RESIDENT)
    await tg.reply_to(RESIDENT, "楼上装修太吵了怎么办")
    assert await tg.deliver() == 1
    post = tg.api.sent("sendMessage", OFFICERS_CHAT)[-1].result
    async with tg.c.uow_factory() as uow:
        assert await uow.escalations.by_post(OFFICERS_CHAT, post["message_id"]) == 1


async def test_resident_blocking_and_unblocking_the_bot_is_recorded(tg: Harness) -> None:
    await tg.start_in(RESIDENT)
    chat = {"id": RESIDENT.id, "type": "private", "first_name": RESIDENT.name}
    bot_user = {"id": 42, "is_bot": True, "first_name": "警务室"}

    async def member_update(old: dict[str, object], new: dict[str, object]) -> None:
        await tg.api.push(
            {
                "my_chat_member": {
                    "chat": chat,
                    "from": RESIDENT.as_user(),
                    "date": 0,
                    "old_chat_member": {**old, "user": bot_user},
                    "new_chat_member": {**new, "user": bot_user},
                }
            }
        )

    async def blocked_is(expected: bool) -> bool:
        for _ in range(100):
            async with tg.c.uow_factory() as uow:
                prefs = await uow.residents.prefs(ResidentRef(Channel.TELEGRAM, str(RESIDENT.id)))
            if prefs.blocked is expected:
                return True
            await asyncio.sleep(0.02)
        return False

    await member_update({"status": "member"}, {"status": "kicked", "until_date": 0})
    assert await blocked_is(True)
    await member_update({"status": "kicked", "until_date": 0}, {"status": "member"})
    assert await blocked_is(False)


async def test_reminders_and_duty_handover_are_posted(tg: Harness) -> None:
    from datetime import timedelta

    from bot.services.reminders import ReminderService

    await tg.start_in(RESIDENT)
    await tg.reply_to(RESIDENT, "楼上装修太吵了怎么办")
    assert await tg.deliver() == 1
    duty_chat = -100900
    reminders = ReminderService(
        tg.c.kb, tg.c.uow_factory, tg.clock, duty_chat_id=duty_chat, duty_after=timedelta(hours=4)
    )
    tg.clock.advance(5 * 24 * 3600)  # well past the promised time and the duty deadline
    assert await reminders.run_once() == 2
    after = len(tg.api.calls)
    assert await tg.deliver() == 2
    reminder = await tg.api.next_call("sendMessage", OFFICERS_CHAT, after=after)
    assert "超时提醒" in reminder.params["text"] and "WJ000001" in reminder.params["text"]
    assert "认领" in str(reminder.params["reply_markup"])
    handover = await tg.api.next_call("sendMessage", duty_chat, after=after)
    assert "值班移交" in handover.params["text"] and "尚未认领" in handover.params["text"]


async def test_answer_reaches_an_english_speaking_resident_in_english(tg: Harness) -> None:
    await answered_ticket(tg)
    async with tg.c.uow_factory() as uow:
        await uow.residents.set_language(
            ResidentRef(Channel.TELEGRAM, str(RESIDENT.id)), "en", tg.clock.now()
        )
        await uow.commit()
    after = len(tg.api.calls)
    assert await tg.deliver() == 1
    delivered = await tg.api.next_call("sendMessage", RESIDENT.id, after=after)
    assert "Officer's answer" in delivered.params["text"]
    assert "Satisfied" in str(delivered.params["reply_markup"])


async def test_network_errors_are_retried() -> None:
    from datetime import UTC, datetime

    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer

    from bot.channels.telegram import RateLimiter, TelegramNotifier
    from bot.core.models import DeliveryStatus, OutboxMessage
    from bot.core.ports import DeliveryOutcome
    from tests.telegram.fake_api import TOKEN

    # Nothing listens on port 9 of the loopback: the connection is refused at once.
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base("http://127.0.0.1:9")))
    try:
        notifier = TelegramNotifier(bot, RateLimiter())
        now = datetime.now(UTC)
        message = OutboxMessage(
            1,
            Channel.TELEGRAM,
            "1001",
            "rating_request",
            {"escalation_id": 1},
            DeliveryStatus.PENDING,
            1,
            now,
            now,
        )
        result = await notifier.deliver(message)
        assert result.outcome is DeliveryOutcome.RETRY and result.error
        unknown = await notifier.deliver(
            OutboxMessage(2, Channel.TELEGRAM, "1001", "mystery", {}, DeliveryStatus.PENDING, 1, now, now)
        )
        assert unknown.outcome is DeliveryOutcome.FAILED
        not_a_chat = await notifier.deliver(
            OutboxMessage(
                3, Channel.TELEGRAM, "web-token", "rating_request", {}, DeliveryStatus.PENDING, 1, now, now
            )
        )
        assert not_a_chat.outcome is DeliveryOutcome.FAILED
    finally:
        await bot.session.close()


async def test_a_slow_bot_api_with_two_senders_delivers_each_answer_once(tg: Harness) -> None:
    from bot.channels.telegram import RateLimiter, create_notifier
    from bot.services.delivery import DeliveryService
    from tests.telegram.harness import Person

    neighbour = Person(1002, "王五")
    await tg.start_in(neighbour)
    await tg.reply_to(neighbour, "小区门口的路灯坏了一周了")
    assert await tg.deliver() == 1  # the post to the officers
    await answered_ticket(tg)
    officer = await tg.c.officers.staff_by_telegram(OFFICER.id)
    assert officer is not None
    await tg.c.officers.answer(officer, 2, "路灯已报修，明天修好。")  # the first went to ticket 1

    # Each send takes 1 s; the two answers in one batch take 2 s, past the 1.5 s lease.
    tg.api.send_delay = 1.0
    assert tg.bot is not None
    senders = [
        DeliveryService(
            tg.c.uow_factory,
            tg.clock,
            {Channel.TELEGRAM: create_notifier(tg.c, tg.bot, RateLimiter())},
            lease_seconds=1.5,
            send_timeout_seconds=1.3,
        )
        for _ in range(2)
    ]
    first = asyncio.create_task(senders[0].run_once())
    await asyncio.sleep(0.1)
    stop = asyncio.Event()
    second = asyncio.create_task(senders[1].run(stop, idle_seconds=0.05))
    assert await asyncio.wait_for(first, 10) == 2
    await asyncio.sleep(1.0)
    stop.set()
    await asyncio.wait_for(second, 10)

    answers = [
        c
        for c in tg.api.sent("sendMessage")
        if "已联系物业" in c.params["text"] or "路灯已报修" in c.params["text"]
    ]
    assert sorted(c.chat_id for c in answers) == [RESIDENT.id, neighbour.id]
