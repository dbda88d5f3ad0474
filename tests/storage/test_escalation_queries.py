"""What officers, reminders and residents read about tickets, and where tickets were posted."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.models import Channel, EscalationStatus, EscalationView, ResidentRef
from bot.core.ports import ConflictError, NotFoundError
from bot.storage.uow import SqlUnitOfWork

from .factories import FakeClock, add_escalation, add_staff

OPEN, CLAIMED, ANSWERED = EscalationStatus.OPEN, EscalationStatus.CLAIMED, EscalationStatus.ANSWERED


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2024, 3, day, hour, minute, tzinfo=UTC)


def ids(views: list[EscalationView]) -> list[int]:
    return [view.escalation.id for view in views]


async def test_view_carries_the_question_the_resident_and_how_to_reach_them(
    uow_factory: Callable[[], SqlUnitOfWork], clock: FakeClock
) -> None:
    escalation = await add_escalation(
        uow_factory,
        clock,
        channel=Channel.WEB,
        user="session-7f3a",
        urgent=True,
        candidates=("passport-lost", "id-card-lost"),
        text="护照丢了怎么办？",
    )
    plain = await add_escalation(uow_factory, clock, user="1001")

    async with uow_factory() as uow:
        view = await uow.escalations.view(escalation.id)
        plain_view = await uow.escalations.view(plain.id)
        assert await uow.escalations.view(escalation.id + 1000) is None

    assert view == EscalationView(
        escalation=escalation,
        question="护照丢了怎么办？",
        channel=Channel.WEB,
        resident=ResidentRef(Channel.WEB, "session-7f3a"),
        urgent=True,
        candidates=("passport-lost", "id-card-lost"),
        reminded=0,
        candidate_scores=(None, None),  # stored without scores
    )
    assert plain_view is not None
    assert (plain_view.channel, plain_view.resident, plain_view.urgent, plain_view.candidates) == (
        Channel.TELEGRAM,
        ResidentRef(Channel.TELEGRAM, "1001"),
        False,
        (),
    )


async def test_queue_is_by_due_time_filtered_by_community_and_status(
    uow_factory: Callable[[], SqlUnitOfWork], clock: FakeClock
) -> None:
    a = await add_escalation(uow_factory, clock, user="a", opened=utc(1, 2), due=utc(2, 2))
    b = await add_escalation(
        uow_factory, clock, user="b", community="minzhu", opened=utc(1, 2, 10), due=utc(2, 3)
    )
    c = await add_escalation(
        uow_factory, clock, user="c", opened=utc(1, 1), due=utc(2, 1)
    )  # added later, due first
    d = await add_escalation(uow_factory, clock, user="d", opened=utc(1, 3), due=utc(2, 4))
    officer = await add_staff(uow_factory)
    async with uow_factory() as uow:
        await uow.escalations.claim(d.id, officer, utc(1, 4))
        await uow.commit()

    async with uow_factory() as uow:
        queue = uow.escalations.queue
        assert ids(await queue(None, [OPEN])) == [c.id, a.id, b.id]
        assert ids(await queue(["xinhua"], [OPEN, CLAIMED])) == [c.id, a.id, d.id]
        assert ids(await queue(["minzhu", "xinhua"], [CLAIMED])) == [d.id]
        assert ids(await queue(None, [OPEN], limit=2)) == [c.id, a.id]
        assert await queue([], [OPEN, CLAIMED]) == []
        assert await queue(None, [ANSWERED]) == []
        assert (await queue(["xinhua"], [CLAIMED]))[0].escalation.officer == "李警官"


async def test_urgent_tickets_come_first_whatever_their_due_time(
    uow_factory: Callable[[], SqlUnitOfWork], clock: FakeClock
) -> None:
    routine = await add_escalation(uow_factory, clock, user="r", opened=utc(1, 1), due=utc(2, 1))
    urgent = await add_escalation(
        uow_factory, clock, user="u", opened=utc(1, 5), due=utc(1, 5, 15), urgent=True, urgent_kind="fire"
    )
    async with uow_factory() as uow:
        views = await uow.escalations.queue(None, [OPEN])
    assert ids(views) == [urgent.id, routine.id]
    assert (views[0].urgent, views[0].urgent_kind) == (True, "fire")


async def test_overdue_lists_open_and_claimed_tickets_past_due_below_a_reminder_level(
    uow_factory: Callable[[], SqlUnitOfWork], clock: FakeClock
) -> None:
    now = utc(2, 12)
    late = await add_escalation(uow_factory, clock, user="late", due=utc(2, 10))
    later = await add_escalation(uow_factory, clock, user="later", due=utc(2, 9))
    on_time = await add_escalation(uow_factory, clock, user="on-time", due=now)
    answered = await add_escalation(uow_factory, clock, user="answered", due=utc(1, 20))
    await add_escalation(uow_factory, clock, user="future", due=utc(3, 9))
    officer = await add_staff(uow_factory)
    async with uow_factory() as uow:
        await uow.escalations.claim(later.id, officer, utc(1, 5))
        await uow.escalations.set_reminded(later.id, 1)
        await uow.escalations.answer(answered.id, officer, "已答复", utc(2, 11))
        await uow.commit()

    async with uow_factory() as uow:
        assert ids(await uow.escalations.overdue(now, below_level=1)) == [late.id]
        # Most overdue first; due exactly now is not past due yet.
        assert ids(await uow.escalations.overdue(now, below_level=2)) == [later.id, late.id]
        await uow.escalations.set_reminded(late.id, 2)
        await uow.commit()

    async with uow_factory() as uow:
        assert ids(await uow.escalations.overdue(now, below_level=2)) == [later.id]
        assert ids(await uow.escalations.overdue(now + timedelta(seconds=1), below_level=2)) == [
            later.id,
            on_time.id,
        ]
        views = await uow.escalations.overdue(now, below_level=3)
        assert [(v.escalation.id, v.reminded) for v in views] == [(later.id, 1), (late.id, 2)]
        with pytest.raises(NotFoundError):
            await uow.escalations.set_reminded(late.id + 1000, 1)


async def test_for_resident_lists_that_accounts_tickets_newest_first(
    uow_factory: Callable[[], SqlUnitOfWork], clock: FakeClock
) -> None:
    first = await add_escalation(uow_factory, clock, user="42", opened=utc(1, 1))
    third = await add_escalation(uow_factory, clock, user="42", opened=utc(3, 1))
    second = await add_escalation(uow_factory, clock, user="42", opened=utc(2, 1), community="minzhu")
    await add_escalation(uow_factory, clock, user="42", channel=Channel.WEB, opened=utc(4, 1))
    await add_escalation(uow_factory, clock, user="43", opened=utc(4, 1))

    mine = ResidentRef(Channel.TELEGRAM, "42")
    async with uow_factory() as uow:
        assert ids(await uow.escalations.for_resident(mine)) == [third.id, second.id, first.id]
        assert ids(await uow.escalations.for_resident(mine, limit=2)) == [third.id, second.id]
        assert await uow.escalations.for_resident(ResidentRef(Channel.TELEGRAM, "nobody")) == []
        views = await uow.escalations.for_resident(ResidentRef(Channel.WEB, "42"))
    assert [(v.channel, v.resident) for v in views] == [(Channel.WEB, ResidentRef(Channel.WEB, "42"))]


async def test_posts_map_back_to_their_ticket(
    uow_factory: Callable[[], SqlUnitOfWork], clock: FakeClock
) -> None:
    group = -1001234567890  # supergroup ids do not fit in 32 bits
    one = await add_escalation(uow_factory, clock, user="1")
    two = await add_escalation(uow_factory, clock, user="2")
    async with uow_factory() as uow:
        await uow.escalations.add_post(one.id, group, 5001)
        await uow.escalations.add_post(one.id, group, 5001)  # a retried delivery records it again
        await uow.escalations.add_post(one.id, -1009, 5001)  # the same message id in another chat
        await uow.escalations.add_post(two.id, group, 5002)
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.escalations.by_post(group, 5001) == one.id
        assert await uow.escalations.by_post(-1009, 5001) == one.id
        assert await uow.escalations.by_post(group, 5002) == two.id
        assert await uow.escalations.by_post(group, 5003) is None
        with pytest.raises(ConflictError):
            await uow.escalations.add_post(two.id, group, 5001)
        with pytest.raises(NotFoundError):
            await uow.escalations.add_post(two.id + 1000, group, 5009)
        # The unit of work is still usable after both refusals.
        await uow.escalations.add_post(two.id, group, 5010)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.escalations.by_post(group, 5010) == two.id


async def test_candidate_scores_and_a_callback_number_are_kept(
    uow_factory: Callable[[], SqlUnitOfWork], clock: FakeClock
) -> None:
    escalation = await add_escalation(
        uow_factory, clock, candidates=("passport-lost", "id-card-lost"), candidate_scores=(71.25, 40.0)
    )
    async with uow_factory() as uow:
        await uow.escalations.set_callback_phone(escalation.id, "13812345678")
        await uow.commit()
    async with uow_factory() as uow:
        view = await uow.escalations.view(escalation.id)
    assert view is not None
    assert view.scored_candidates == (("passport-lost", 71.2), ("id-card-lost", 40.0))
    assert view.escalation.callback_phone == "13812345678"
