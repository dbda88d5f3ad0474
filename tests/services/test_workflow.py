"""Officers answer escalations; the outbox carries answers to residents whatever goes wrong."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest

from bot.core.models import (
    Channel,
    CloseReason,
    EscalationStatus,
    OutboxMessage,
    ResidentRef,
    Role,
    StatsQuery,
)
from bot.core.ports import ConflictError, DeliveryOutcome, DeliveryResult
from bot.services.delivery import DeliveryService
from bot.services.officers import PermissionDenied
from bot.settings import Settings
from bot.wiring import Container, build_container
from tests.conftest import fixture_kb_copy

RESIDENT = ResidentRef(Channel.TELEGRAM, "5001")
OFFICERS_CHAT = -100200


@dataclass
class ScriptedNotifier:
    """Answers deliveries from a script of results, then SENT; records every attempt."""

    script: list[DeliveryResult] = field(default_factory=list)
    attempts: list[OutboxMessage] = field(default_factory=list)

    async def deliver(self, message: OutboxMessage) -> DeliveryResult:
        self.attempts.append(message)
        if self.script:
            return self.script.pop(0)
        return DeliveryResult(DeliveryOutcome.SENT, posted=(int(message.recipient), 900 + len(self.attempts)))


class SteppingClock:
    def __init__(self, container: Container) -> None:
        self._real = container.clock
        self.offset = timedelta()

    def now(self):
        return self._real.now() + self.offset


@pytest.fixture
async def container(database_url: str, tmp_path: Path) -> AsyncIterator[Container]:
    kb_dir = fixture_kb_copy(tmp_path, officer_chat_id=OFFICERS_CHAT)
    settings = Settings(database_url=database_url, knowledge_dir=kb_dir, data_dir=tmp_path / "data")
    container = await build_container(settings)
    yield container
    await container.close()


async def _escalate(container: Container, text: str = "我家楼下的路灯坏了好几天没人修") -> int:
    reply = await container.ask.ask("gongyuan", RESIDENT, text, Channel.TELEGRAM)
    assert reply.ticket is not None
    return int(reply.ticket.removeprefix("WJ"))


async def test_escalation_is_posted_to_the_officers_group(container: Container) -> None:
    escalation_id = await _escalate(container)
    notifier = ScriptedNotifier()
    delivery = DeliveryService(container.uow_factory, container.clock, {Channel.TELEGRAM: notifier})
    assert await delivery.run_once() == 1
    (post,) = notifier.attempts
    assert post.kind == "escalation_post" and post.recipient == str(OFFICERS_CHAT)
    assert post.payload["ticket"] == f"WJ{escalation_id:06d}"
    async with container.uow_factory() as uow:
        assert await uow.escalations.by_post(OFFICERS_CHAT, 901) == escalation_id
    assert await delivery.run_once() == 0  # sent once, never again


async def test_first_claim_owns_the_question(container: Container) -> None:
    escalation_id = await _escalate(container)
    li = await container.staff.add("李警官", Role.OFFICER, ["gongyuan"], telegram_user_id=11)
    wang = await container.staff.add("王警官", Role.OFFICER, ["gongyuan"], telegram_user_id=12)
    results = await asyncio.gather(
        container.officers.claim(li, escalation_id),
        container.officers.claim(wang, escalation_id),
        return_exceptions=True,
    )
    winners = [r for r in results if not isinstance(r, Exception)]
    losers = [r for r in results if isinstance(r, ConflictError)]
    assert len(winners) == 1 and len(losers) == 1
    owner = li if winners[0].officer_id == li.id else wang
    other = wang if owner is li else li
    with pytest.raises(ConflictError):
        await container.officers.answer(other, escalation_id, "我来答")
    answered = await container.officers.answer(owner, escalation_id, "已联系市政维修，明天修好。")
    assert answered.status is EscalationStatus.ANSWERED


async def test_officers_of_other_communities_are_refused(container: Container) -> None:
    escalation_id = await _escalate(container)
    outsider = await container.staff.add("赵警官", Role.OFFICER, ["hexi"], telegram_user_id=21)
    with pytest.raises(PermissionDenied):
        await container.officers.claim(outsider, escalation_id)
    with pytest.raises(PermissionDenied):
        await container.officers.answer(outsider, escalation_id, "答复")
    queue = await container.officers.queue(outsider)
    assert queue == []


async def test_answer_reaches_the_resident_through_retries_exactly_once(container: Container) -> None:
    escalation_id = await _escalate(container)
    officer = await container.staff.add("李警官", Role.OFFICER, ["gongyuan"], telegram_user_id=11)
    await container.officers.answer(officer, escalation_id, "已转市政部门处理。")
    notifier = ScriptedNotifier(
        script=[
            DeliveryResult(DeliveryOutcome.SENT, posted=(OFFICERS_CHAT, 1)),  # the group post
            DeliveryResult(DeliveryOutcome.RETRY, retry_after=3, error="429"),
            DeliveryResult(DeliveryOutcome.RETRY, error="500"),
        ]
    )
    clock = SteppingClock(container)
    delivery = DeliveryService(container.uow_factory, clock, {Channel.TELEGRAM: notifier})
    for _ in range(6):
        await delivery.run_once()
        clock.offset += timedelta(seconds=5)
    answers = [m for m in notifier.attempts if m.kind == "officer_answer"]
    assert len(answers) == 3  # 429, 500, then delivered
    assert answers[-1].recipient == RESIDENT.channel_user_id
    assert answers[-1].payload["answer"] == "已转市政部门处理。"
    async with container.uow_factory() as uow:
        counts = await uow.outbox.counts()
    assert counts.get("sent") == 2 and not counts.get("pending")


async def test_a_resident_who_blocked_the_bot_is_recorded_not_retried(container: Container) -> None:
    escalation_id = await _escalate(container)
    officer = await container.staff.add("李警官", Role.OFFICER, ["gongyuan"], telegram_user_id=11)
    await container.officers.answer(officer, escalation_id, "答复内容")
    notifier = ScriptedNotifier(
        script=[
            DeliveryResult(DeliveryOutcome.SENT, posted=(OFFICERS_CHAT, 1)),
            DeliveryResult(DeliveryOutcome.BLOCKED, error="403 bot was blocked by the user"),
        ]
    )
    delivery = DeliveryService(container.uow_factory, container.clock, {Channel.TELEGRAM: notifier})
    await delivery.run_once()
    await delivery.run_once()
    async with container.uow_factory() as uow:
        assert (await uow.residents.prefs(RESIDENT)).blocked
        assert (await uow.outbox.counts()).get("blocked") == 1
    assert len(notifier.attempts) == 2


async def test_a_crashed_sender_leaves_the_message_for_the_next_one(container: Container) -> None:
    await _escalate(container)
    clock = SteppingClock(container)

    class Crashing:
        async def deliver(self, message: OutboxMessage) -> DeliveryResult:
            raise asyncio.CancelledError  # the process dies mid-send

    crashed = DeliveryService(container.uow_factory, clock, {Channel.TELEGRAM: Crashing()}, lease_seconds=30)
    with pytest.raises(asyncio.CancelledError):
        await crashed.run_once()
    survivor = ScriptedNotifier()
    delivery = DeliveryService(container.uow_factory, clock, {Channel.TELEGRAM: survivor})
    assert await delivery.run_once() == 0  # still leased by the dead sender
    clock.offset += timedelta(seconds=31)
    assert await delivery.run_once() == 1
    assert len(survivor.attempts) == 1


async def test_hand_over_and_close(container: Container) -> None:
    escalation_id = await _escalate(container)
    admin = await container.staff.add("管理员", Role.ADMIN, telegram_user_id=99)
    moved = await container.officers.hand_over(admin, escalation_id, "hexi")
    assert moved.community == "hexi" and moved.status is EscalationStatus.OPEN
    with pytest.raises(ValueError, match="还没有答复"):  # 办结 needs the answer or a reason
        await container.officers.close(admin, escalation_id)
    closed = await container.officers.close(admin, escalation_id, CloseReason.DUPLICATE)
    assert closed.status is EscalationStatus.CLOSED and closed.close_reason is CloseReason.DUPLICATE


async def test_closing_rules(container: Container) -> None:
    officer = await container.staff.add("李警官", Role.OFFICER, ["gongyuan"], telegram_user_id=98)
    answered = await _escalate(container)
    await container.officers.answer(officer, answered, "已联系物业修路灯。")
    closed = await container.officers.close(officer, answered)
    assert (closed.close_reason, closed.close_note) == (CloseReason.ANSWERED, None)

    by_phone = await _escalate(container, "我家门口的共享单车堆了一堆没人管")
    with pytest.raises(ValueError, match="电话里答复了什么"):
        await container.officers.close(officer, by_phone, CloseReason.PHONE, "  ")
    closed = await container.officers.close(
        officer, by_phone, CloseReason.PHONE, "已电话联系，约定明天上门查看"
    )
    assert closed.close_reason is CloseReason.PHONE and closed.answered_at is not None
    assert closed.answer == "民警已通过电话与您沟通：已电话联系，约定明天上门查看"

    referred = await _escalate(container, "小区外面的马路上有个大坑")
    with pytest.raises(ValueError, match="由哪个部门办理"):
        await container.officers.close(officer, referred, CloseReason.REFERRED)
    closed = await container.officers.close(officer, referred, CloseReason.REFERRED, "市政管理部门（12345）")
    assert closed.answer is not None and "市政管理部门（12345）负责办理" in closed.answer

    spam = await _escalate(container, "哈哈哈哈哈哈 测试一下机器人")
    closed = await container.officers.close(officer, spam, CloseReason.SPAM)
    assert closed.answer is None and closed.answered_at is None

    # The resident hears about the phone call and the referral in their channel, nothing about spam.
    async with container.uow_factory() as uow:
        due = await uow.outbox.lease_due(container.clock.now() + timedelta(seconds=1), 50, 60)
        await uow.commit()
    told = [m.payload["answer"] for m in due if m.kind == "officer_answer"]
    assert len(told) == 3 and any("电话" in t for t in told) and any("市政管理部门" in t for t in told)

    again = await container.officers.close(officer, spam, CloseReason.PHONE, "后来又打了电话")
    assert again.close_reason is CloseReason.SPAM  # the first closing stands

    await _escalate(container, "晚上楼下烧烤店太吵了")  # still waiting
    report = await container.reports.report(StatsQuery())
    # 办结率 leaves the spam out on both sides: 3 settled of 4 matters (not 4 of 5).
    assert (report.matters, report.settled, report.answer_rate) == (4, 3, 0.75)
    assert report.response.answered == 3  # the phone call and the referral were responses too


async def test_reminders_then_duty_group(container: Container) -> None:
    await _escalate(container)
    clock = SteppingClock(container)
    container.reminders._clock = clock
    container.reminders._duty_chat_id = -999
    assert await container.reminders.run_once() == 0
    clock.offset = timedelta(days=4)  # past the promised working day
    assert await container.reminders.run_once() >= 1
    async with container.uow_factory() as uow:
        leased = await uow.outbox.lease_due(clock.now(), 10, 60)
        await uow.commit()
    kinds = sorted(m.kind for m in leased)
    assert "reminder" in kinds and "duty_handover" in kinds
    assert await container.reminders.run_once() == 0  # each level once


async def test_resident_sees_own_questions_only(container: Container) -> None:
    await _escalate(container)
    other = ResidentRef(Channel.TELEGRAM, "6002")
    await container.ask.ask("gongyuan", other, "小区门口的垃圾没人清理", Channel.TELEGRAM)
    async with container.uow_factory() as uow:
        mine = await uow.escalations.for_resident(RESIDENT)
    assert len(mine) == 1 and mine[0].resident == RESIDENT


async def test_a_repeated_question_keeps_its_waiting_ticket(container: Container) -> None:
    first = await _escalate(container)
    again = await _escalate(container, "我家楼下的路灯，坏了好几天没人修！")  # punctuation aside, the same
    assert again == first
    other = await container.ask.ask(
        "gongyuan",
        ResidentRef(Channel.TELEGRAM, "2002"),
        "我家楼下的路灯坏了好几天了没人修",
        Channel.TELEGRAM,
    )
    assert other.ticket is not None and int(other.ticket[2:]) != first  # another resident: their own
    async with container.uow_factory() as uow:
        posts = await uow.outbox.lease_due(container.clock.now() + timedelta(seconds=1), 50, 60)
        await uow.commit()
    assert sorted(m.escalation_id for m in posts if m.kind == "escalation_post") == sorted(
        [first, int(other.ticket[2:])]
    )  # one post per ticket: the officers are not asked twice
    officer = await container.staff.add("李警官", Role.OFFICER, ["gongyuan"], telegram_user_id=97)
    await container.officers.answer(officer, first, "已通知街道修路灯。")
    after_answer = await _escalate(container)
    assert after_answer != first  # answered: asking again is a new matter
