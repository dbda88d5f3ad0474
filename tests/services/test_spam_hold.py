"""Officers' 无效信息 marks feed the limits: a resident whose tickets keep being closed as spam opens no
new ticket for a while, is told where to turn, and is still alarmed on for an emergency."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.channels.telegram.render import escalation_notice
from bot.channels.telegram.texts import Translator
from bot.channels.web.views import chat_reply
from bot.core.models import Channel, CloseReason, Outcome, ResidentRef, Role, Staff
from bot.core.replies import Notice, Reply, render_plain
from bot.settings import Settings
from bot.wiring import Container, build_container
from tests.conftest import fixture_kb_copy

MARKED = ResidentRef(Channel.WEB, "resident-marked")
NEIGHBOUR = ResidentRef(Channel.WEB, "resident-neighbour")
UNANSWERABLE = "我家楼下的路灯坏了好几天没人修"


class Clock:
    def __init__(self) -> None:
        self.at = datetime.now(UTC)

    def now(self) -> datetime:
        return self.at


@pytest.fixture
async def clock() -> Clock:
    return Clock()


@pytest.fixture
async def container(database_url: str, tmp_path: Path, clock: Clock) -> AsyncIterator[Container]:
    settings = Settings(
        database_url=database_url,
        knowledge_dir=fixture_kb_copy(tmp_path),
        data_dir=tmp_path / "data",
        spam_hold_marks=3,
        spam_hold_days=7,
    )
    container = await build_container(settings, clock=clock)
    yield container
    await container.close()


@pytest.fixture
async def officer(container: Container) -> Staff:
    return await container.staff.add("李警官", Role.OFFICER, ["gongyuan"], telegram_user_id=97)


async def _ask(container: Container, resident: ResidentRef, text: str = UNANSWERABLE) -> Reply:
    return await container.ask.ask("gongyuan", resident, text, Channel.WEB)


async def _mark(
    container: Container, officer: Staff, times: int, reason: CloseReason = CloseReason.SPAM
) -> None:
    for n in range(times):
        reply = await _ask(container, MARKED, f"{UNANSWERABLE}{'！' * n}第{n}次")
        assert reply.ticket is not None
        await container.officers.close(officer, int(reply.ticket.removeprefix("WJ")), reason)


async def _tickets(container: Container, resident: ResidentRef) -> int:
    async with container.uow_factory() as uow:
        return len(await uow.escalations.for_resident(resident, limit=100))


async def test_three_spam_marks_hold_the_next_ticket_and_say_where_to_turn(
    container: Container, officer: Staff
) -> None:
    await _mark(container, officer, 3)
    before = await _tickets(container, MARKED)

    held = await _ask(container, MARKED)

    assert held.outcome is Outcome.ESCALATE and held.notice is Notice.HELD
    assert held.ticket is None and held.due_at is None
    assert await _tickets(container, MARKED) == before  # no ticket, so no post to the officers
    assert held.consultation_id is not None  # the question itself is still recorded
    text = render_plain(held)
    assert "无效信息" in text and "110" in text and held.community.name in text
    assert "已转给" not in text and "工单号" not in text
    page = chat_reply(held, "Asia/Shanghai")["escalation"]
    assert page["ticket"] is None and "无效信息" in page["text"] and not page["due"]
    for language in ("zh", "en"):
        said = escalation_notice(held, Translator(language), "Asia/Shanghai")
        assert "110" in said and held.community.name in said

    neighbour = await _ask(container, NEIGHBOUR)
    assert neighbour.ticket is not None and neighbour.notice is None  # marks are one resident's


async def test_two_marks_or_other_reasons_do_not_hold(container: Container, officer: Staff) -> None:
    await _mark(container, officer, 2)
    await _mark(container, officer, 2, CloseReason.DUPLICATE)
    reply = await _ask(container, MARKED)
    assert reply.ticket is not None and reply.notice is None


async def test_an_emergency_from_a_held_resident_still_alarms(container: Container, officer: Staff) -> None:
    await _mark(container, officer, 3)
    urgent = await _ask(container, MARKED, "楼下有人拿刀砍人，快来人")
    assert urgent.urgent and urgent.ticket is not None and urgent.notice is not Notice.HELD


async def test_the_hold_ends_when_the_marks_age_out(
    container: Container, officer: Staff, clock: Clock
) -> None:
    await _mark(container, officer, 3)
    assert (await _ask(container, MARKED)).notice is Notice.HELD
    clock.at += timedelta(days=7, minutes=1)
    reply = await _ask(container, MARKED)
    assert reply.ticket is not None and reply.notice is None


async def test_none_of_these_is_held_too(container: Container, officer: Staff) -> None:
    await _mark(container, officer, 3)
    clarified = await _ask(container, MARKED, "身份证")
    assert clarified.outcome is Outcome.CLARIFY and clarified.consultation_id is not None
    before = await _tickets(container, MARKED)
    reply = await container.ask.escalate_consultation(clarified.consultation_id)
    assert reply.notice is Notice.HELD and reply.ticket is None
    assert await _tickets(container, MARKED) == before


async def test_marks_zero_turns_the_hold_off(database_url: str, tmp_path: Path, clock: Clock) -> None:
    settings = Settings(
        database_url=database_url,
        knowledge_dir=fixture_kb_copy(tmp_path),
        data_dir=tmp_path / "data",
        spam_hold_marks=0,
    )
    container = await build_container(settings, clock=clock)
    try:
        officer = await container.staff.add("李警官", Role.OFFICER, ["gongyuan"], telegram_user_id=97)
        await _mark(container, officer, 4)
        assert (await _ask(container, MARKED)).ticket is not None
    finally:
        await container.close()
