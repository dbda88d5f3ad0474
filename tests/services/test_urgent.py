"""Urgent consultations: the right number first, a ticket due in minutes, officers alarmed at once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text as sql

from bot.core.models import Channel, Outcome, ResidentRef, Role
from bot.core.replies import render_plain
from bot.core.triage import UrgentKind
from bot.services.callbacks import NotUrgentError
from bot.settings import Settings
from bot.wiring import Container, build_container
from tests.conftest import fixture_kb_copy

RESIDENT = ResidentRef(Channel.WEB, "resident-token-9")
OFFICERS_CHAT = -100300
DUTY_CHAT = -100999
OFFICER_TG = 4242


@pytest.fixture
async def container(database_url: str, tmp_path: Path) -> AsyncIterator[Container]:
    kb_dir = fixture_kb_copy(tmp_path, officer_chat_id=OFFICERS_CHAT, officer_telegram_id=OFFICER_TG)
    settings = Settings(
        database_url=database_url,
        knowledge_dir=kb_dir,
        data_dir=tmp_path / "data",
        duty_chat_id=DUTY_CHAT,
        urgent_due_minutes=15,
    )
    container = await build_container(settings)
    yield container
    await container.close()


async def _outbox(container: Container) -> list[tuple[str, str]]:
    async with container.engine.connect() as conn:
        rows = await conn.execute(sql("select kind, recipient from outbox order by id"))
        return [tuple(r) for r in rows]


@pytest.mark.parametrize(
    ("text", "kind", "number"),
    [
        ("不想活了", UrgentKind.SELF_HARM, "120"),
        ("孩子不见了！刚才还在小区里玩", UrgentKind.MISSING, "110"),
        ("屋里好大一股煤气味", UrgentKind.FIRE, "119"),
        ("有人晕倒了，没有呼吸", UrgentKind.MEDICAL, "120"),
        ("撞了人就跑了", UrgentKind.TRAFFIC, "122"),
        ("对方让我把钱转到安全账户", UrgentKind.FRAUD, "96110"),
        ("someone is breaking in", UrgentKind.CRIME, "110"),
    ],
)
async def test_the_reply_leads_with_the_kinds_guidance_and_number(
    container: Container, text: str, kind: UrgentKind, number: str
) -> None:
    reply = await container.ask.ask("gongyuan", RESIDENT, text, Channel.WEB)
    assert reply.urgent and reply.urgent_kind is kind and reply.outcome is Outcome.ESCALATE
    assert number in reply.numbers
    plain = render_plain(reply)
    assert plain.startswith("【紧急求助】") and number in plain.split("\n\n")[0]
    assert "已同时通知" in plain and reply.ticket in plain
    assert "预计答复时间" not in plain and "工作日" not in plain


async def test_a_crash_with_a_fire_gives_both_numbers_in_the_reply(container: Container) -> None:
    reply = await container.ask.ask("gongyuan", RESIDENT, "车撞了还起火了，人卡在里面出不来", Channel.WEB)
    assert reply.urgent_kind is not None and reply.also_kind is not None
    assert {reply.urgent_kind, reply.also_kind} == {UrgentKind.TRAFFIC, UrgentKind.FIRE}
    first = render_plain(reply).split("\n\n")[0]
    assert "122" in first and "119" in first and {"122", "119"} <= set(reply.numbers)


async def test_an_urgent_ticket_is_due_in_minutes_and_alarms_officers_and_duty(container: Container) -> None:
    before = container.clock.now()
    reply = await container.ask.ask("gongyuan", RESIDENT, "救命 有人在砍人", Channel.WEB)
    assert reply.due_at is not None
    assert timedelta(minutes=14) < reply.due_at - before < timedelta(minutes=16)
    assert await _outbox(container) == [
        ("escalation_post", str(OFFICERS_CHAT)),
        ("urgent_alert", str(OFFICERS_CHAT)),
        ("urgent_alert", str(DUTY_CHAT)),
    ]
    async with container.uow_factory() as uow:
        view = await uow.escalations.view(int(reply.ticket.removeprefix("WJ")))
        posts = await uow.outbox.lease_due(container.clock.now(), 10, 30)
    assert view.urgent and view.urgent_kind == "crime"
    alert = next(p for p in posts if p.kind == "urgent_alert" and p.recipient == str(OFFICERS_CHAT))
    assert alert.payload["officers"] == [{"name": "李警官", "telegram_id": OFFICER_TG}]
    assert alert.payload["urgent_kind"] == "crime"


async def test_urgent_tickets_go_first_in_the_officers_queue(container: Container) -> None:
    routine = await container.ask.ask("gongyuan", RESIDENT, "我家楼下的路灯坏了好几天没人修", Channel.WEB)
    urgent = await container.ask.ask("gongyuan", RESIDENT, "我家厨房起火了", Channel.WEB)
    officer = await container.staff.add("李警官", Role.OFFICER, ["gongyuan"])
    queue = await container.officers.queue(officer)
    assert [v.escalation.ticket for v in queue] == [urgent.ticket, routine.ticket]


async def test_triage_comes_before_the_menu_and_the_referral(container: Container) -> None:
    # "身份证" alone gets "did you mean"; with a burglar in the house it is an emergency first.
    reply = await container.ask.ask("gongyuan", RESIDENT, "身份证 家裡有賊 我躲在房間裡", Channel.WEB)
    assert reply.urgent_kind is UrgentKind.CRIME and not reply.choices and reply.referral is None
    async with container.engine.connect() as conn:
        row = (await conn.execute(sql("select urgent, urgent_kind, outcome from consultations"))).one()
    assert tuple(row) == (True, "crime", "escalate")


async def test_past_and_prevention_questions_get_the_knowledge_answer(container: Container) -> None:
    for text in ("怎么防止孩子走丢", "如果遇到抢劫怎么办", "上个月被盗了，案子有进展吗"):
        reply = await container.ask.ask("gongyuan", RESIDENT, text, Channel.WEB)
        assert not reply.urgent and reply.urgent_kind is None, text


async def test_a_callback_number_is_stored_on_that_ticket_and_masked_in_the_alarm(
    container: Container,
) -> None:
    reply = await container.ask.ask("gongyuan", RESIDENT, "有人一直跟着我", Channel.WEB)
    masked = await container.ask.leave_callback(reply.consultation_id, "１３８ 1234-5678")
    assert masked == "138****5678"
    async with container.uow_factory() as uow:
        view = await uow.escalations.view(int(reply.ticket.removeprefix("WJ")))
        notes = [
            m for m in await uow.outbox.lease_due(container.clock.now(), 20, 30) if m.payload.get("note")
        ]
    assert view.escalation.callback_phone == "13812345678"
    assert notes and all("13812345678" not in str(n.payload) for n in notes)
    with pytest.raises(ValueError):
        await container.ask.leave_callback(reply.consultation_id, "not a number")
    routine = await container.ask.ask("gongyuan", RESIDENT, "身份证丢了怎么补办", Channel.WEB)
    with pytest.raises(NotUrgentError):
        await container.ask.leave_callback(routine.consultation_id, "13812345678")


async def test_a_huge_hostile_urgent_message_is_still_urgent(container: Container) -> None:
    text = "你们这些废物！" * 300 + "救命 有人在砍人"
    reply = await container.ask.ask("gongyuan", RESIDENT, text, Channel.WEB)
    assert reply.urgent_kind is UrgentKind.CRIME
    assert render_plain(reply).startswith("【紧急求助】请立即拨打 110")
