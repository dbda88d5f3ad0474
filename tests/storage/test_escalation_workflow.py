"""Claiming, answering, closing and handing over tickets: one winner per race (首问负责)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.models import Escalation, EscalationStatus, Staff
from bot.core.ports import ConflictError, NotFoundError
from bot.storage.uow import SqlUnitOfWork

from .factories import FakeClock, add_escalation, add_staff

T0 = datetime(2024, 3, 1, 2, 5, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
async def officers(uow_factory: Callable[[], SqlUnitOfWork]) -> tuple[Staff, Staff]:
    return (
        await add_staff(uow_factory, "王警官", telegram_user_id=101),
        await add_staff(uow_factory, "张警官", telegram_user_id=102),
    )


@pytest.fixture
async def ticket(uow_factory: Callable[[], SqlUnitOfWork], clock: FakeClock) -> Escalation:
    return await add_escalation(uow_factory, clock, opened=T0)


async def test_claim_takes_an_open_ticket_and_the_same_officer_again_changes_nothing(
    uow_factory: Callable[[], SqlUnitOfWork], officers: tuple[Staff, Staff], ticket: Escalation
) -> None:
    wang, _ = officers
    async with uow_factory() as uow:
        claimed = await uow.escalations.claim(ticket.id, wang, at(3))
        await uow.commit()
    assert claimed == replace(
        ticket, status=EscalationStatus.CLAIMED, officer="王警官", officer_id=wang.id, claimed_at=at(3)
    )
    async with uow_factory() as uow:
        assert await uow.escalations.claim(ticket.id, wang, at(9)) == claimed
        assert await uow.escalations.get(ticket.id) == claimed


async def test_claim_refuses_another_officers_ticket_an_answered_or_closed_one_and_unknown_ids(
    uow_factory: Callable[[], SqlUnitOfWork],
    clock: FakeClock,
    officers: tuple[Staff, Staff],
    ticket: Escalation,
) -> None:
    wang, zhang = officers
    async with uow_factory() as uow:
        await uow.escalations.claim(ticket.id, wang, at(3))
        await uow.commit()
    answered = await add_escalation(uow_factory, clock, user="2002")
    closed = await add_escalation(uow_factory, clock, user="2003")
    async with uow_factory() as uow:
        await uow.escalations.answer(answered.id, zhang, "请携带户口簿办理。", at(5))
        await uow.escalations.close(closed.id, at(5))
        await uow.commit()

    async with uow_factory() as uow:
        with pytest.raises(ConflictError):
            await uow.escalations.claim(ticket.id, zhang, at(4))
        with pytest.raises(ConflictError):
            await uow.escalations.claim(answered.id, zhang, at(6))
        with pytest.raises(ConflictError):
            await uow.escalations.claim(closed.id, wang, at(6))
        with pytest.raises(NotFoundError):
            await uow.escalations.claim(ticket.id + 1000, wang, at(6))
        assert (await uow.escalations.get(ticket.id)).officer_id == wang.id  # type: ignore[union-attr]


async def test_answering_an_unclaimed_ticket_claims_it_for_the_answering_officer(
    uow_factory: Callable[[], SqlUnitOfWork], officers: tuple[Staff, Staff], ticket: Escalation
) -> None:
    wang, _ = officers
    async with uow_factory() as uow:
        answered = await uow.escalations.answer(ticket.id, wang, "请携带户口簿办理。", at(20))
        await uow.commit()
    assert answered == replace(
        ticket,
        status=EscalationStatus.ANSWERED,
        officer="王警官",
        officer_id=wang.id,
        answer="请携带户口簿办理。",
        claimed_at=at(20),
        answered_at=at(20),
    )


async def test_the_claiming_officer_answers_and_may_correct_the_answer_but_nobody_else(
    uow_factory: Callable[[], SqlUnitOfWork], officers: tuple[Staff, Staff], ticket: Escalation
) -> None:
    wang, zhang = officers
    async with uow_factory() as uow:
        await uow.escalations.claim(ticket.id, wang, at(3))
        with pytest.raises(ConflictError):
            await uow.escalations.answer(ticket.id, zhang, "抢答", at(4))
        first = await uow.escalations.answer(ticket.id, wang, "第一版", at(10))
        corrected = await uow.escalations.answer(ticket.id, wang, "更正版", at(15))
        with pytest.raises(ConflictError):
            await uow.escalations.answer(ticket.id, zhang, "抢答", at(16))
        await uow.commit()

    assert (first.claimed_at, first.answered_at, first.answer) == (at(3), at(10), "第一版")
    # Corrected text; the first answer's time stays (response times measure the resident's wait).
    assert corrected == replace(first, answer="更正版")
    async with uow_factory() as uow:
        assert await uow.escalations.get(ticket.id) == corrected
        with pytest.raises(NotFoundError):
            await uow.escalations.answer(ticket.id + 1000, wang, "x", at(20))


async def test_close_from_any_state_and_again_keeps_the_first_closing(
    uow_factory: Callable[[], SqlUnitOfWork],
    clock: FakeClock,
    officers: tuple[Staff, Staff],
    ticket: Escalation,
) -> None:
    wang, _ = officers
    answered = await add_escalation(uow_factory, clock, user="2002")
    async with uow_factory() as uow:
        await uow.escalations.answer(answered.id, wang, "已答复", at(5))
        closed_open = await uow.escalations.close(ticket.id, at(30))
        closed_answered = await uow.escalations.close(answered.id, at(31))
        again = await uow.escalations.close(ticket.id, at(40))
        await uow.commit()

    assert closed_open == replace(ticket, status=EscalationStatus.CLOSED, closed_at=at(30))
    assert again == closed_open
    assert (closed_answered.status, closed_answered.answer, closed_answered.closed_at) == (
        EscalationStatus.CLOSED,
        "已答复",
        at(31),
    )
    async with uow_factory() as uow:
        with pytest.raises(NotFoundError):
            await uow.escalations.close(ticket.id + 1000, at(40))
        with pytest.raises(ConflictError):
            await uow.escalations.answer(ticket.id, wang, "太晚了", at(41))


async def test_hand_over_reopens_unclaimed_in_the_new_community_with_reminders_reset(
    uow_factory: Callable[[], SqlUnitOfWork], officers: tuple[Staff, Staff], ticket: Escalation
) -> None:
    wang, zhang = officers
    async with uow_factory() as uow:
        await uow.escalations.claim(ticket.id, wang, at(3))
        await uow.escalations.set_reminded(ticket.id, 1)
        handed = await uow.escalations.hand_over(ticket.id, "minzhu", at(8))
        await uow.commit()

    assert handed == replace(ticket, community="minzhu")
    async with uow_factory() as uow:
        assert (await uow.escalations.view(ticket.id)).reminded == 0  # type: ignore[union-attr]
        # Anybody may take it now.
        assert (await uow.escalations.claim(ticket.id, zhang, at(9))).officer_id == zhang.id
        # Back to the same community is allowed too.
        assert (await uow.escalations.hand_over(ticket.id, "minzhu", at(10))).status is EscalationStatus.OPEN
        with pytest.raises(NotFoundError):
            await uow.escalations.hand_over(ticket.id, "nowhere", at(10))
        with pytest.raises(NotFoundError):
            await uow.escalations.hand_over(ticket.id + 1000, "xinhua", at(10))
        await uow.escalations.answer(ticket.id, zhang, "已答复", at(11))
        with pytest.raises(ConflictError):
            await uow.escalations.hand_over(ticket.id, "xinhua", at(12))


async def test_a_claim_waiting_on_an_uncommitted_claim_loses_once_it_commits(
    uow_factory: Callable[[], SqlUnitOfWork], officers: tuple[Staff, Staff], ticket: Escalation
) -> None:
    # Select-then-update would let the second officer overwrite the first: both would read "open".
    wang, zhang = officers

    async def claim_as_zhang() -> Escalation:
        async with uow_factory() as uow:
            claimed = await uow.escalations.claim(ticket.id, zhang, at(4))
            await uow.commit()
            return claimed

    async with uow_factory() as first:
        await first.escalations.claim(ticket.id, wang, at(3))
        second = asyncio.create_task(claim_as_zhang())
        await asyncio.sleep(0.3)
        # PostgreSQL: waiting for wang's row lock. SQLite: waiting for the write lock at BEGIN.
        assert not second.done()
        await first.commit()
    with pytest.raises(ConflictError):
        await asyncio.wait_for(second, timeout=10)

    async with uow_factory() as uow:
        assert (await uow.escalations.get(ticket.id)).officer_id == wang.id  # type: ignore[union-attr]


@pytest.mark.parametrize("action", ["claim", "answer"])
async def test_officers_racing_for_one_ticket_leave_exactly_one_winner(
    uow_factory: Callable[[], SqlUnitOfWork], ticket: Escalation, action: str
) -> None:
    officers = [await add_staff(uow_factory, f"警官{n}", telegram_user_id=200 + n) for n in range(5)]

    async def act(officer: Staff) -> Escalation:
        async with uow_factory() as uow:
            if action == "claim":
                done = await uow.escalations.claim(ticket.id, officer, at(3))
            else:
                done = await uow.escalations.answer(ticket.id, officer, f"{officer.name}的答复", at(3))
            await uow.commit()
            return done

    results = await asyncio.gather(*(act(officer) for officer in officers), return_exceptions=True)

    winners = [r for r in results if isinstance(r, Escalation)]
    assert len(winners) == 1
    assert all(isinstance(r, ConflictError) for r in results if not isinstance(r, Escalation))
    async with uow_factory() as uow:
        stored = await uow.escalations.get(ticket.id)
    assert stored == winners[0]
    winner = next(o for o in officers if o.id == stored.officer_id)  # type: ignore[union-attr]
    assert stored.officer == winner.name  # type: ignore[union-attr]
    if action == "answer":
        assert stored.answer == f"{winner.name}的答复"  # type: ignore[union-attr]
