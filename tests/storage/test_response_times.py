"""Response times (限时办结) on hand-made tickets; every figure can be checked by hand.

#  community  opened (UTC)   answered after   due after   state
1  xinhua     03-01 02:00    10 min           1 day       answered
2  xinhua     03-01 23:50    20 min           1 day       answered (on 03-02: the period counts opening)
3  xinhua     03-02 02:00    30 min           1 day       closed after the answer
4  minzhu     03-02 04:00    100 min          60 min      answered late
5  xinhua     03-03 02:00    40 min           40 min      answered exactly on time
6  xinhua     03-03 03:00    -                1 day       open
7  xinhua     03-03 04:00    -                1 day       closed unanswered
8  minzhu     03-03 05:00    -                1 day       claimed

Minutes, all: 10 20 30 40 100; median 30; p90 at rank 0.9 * 4 = 3.6: 40 + 0.6 * (100 - 40) = 76.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.models import ResponseTimes, StatsQuery
from bot.storage.uow import SqlUnitOfWork

from .factories import FakeClock, add_escalation, add_staff


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2024, 3, day, hour, minute, tzinfo=UTC)


DAY = timedelta(days=1)


def minutes(n: int) -> timedelta:
    return timedelta(minutes=n)


@pytest.fixture
async def tickets(uow_factory: Callable[[], SqlUnitOfWork], clock: FakeClock) -> None:
    officer = await add_staff(uow_factory, communities=("minzhu", "xinhua"))
    rows = [
        ("xinhua", utc(1, 2), DAY, 10, "answered"),
        ("xinhua", utc(1, 23, 50), DAY, 20, "answered"),
        ("xinhua", utc(2, 2), DAY, 30, "closed"),
        ("minzhu", utc(2, 4), minutes(60), 100, "answered"),
        ("xinhua", utc(3, 2), minutes(40), 40, "answered"),
        ("xinhua", utc(3, 3), DAY, None, "open"),
        ("xinhua", utc(3, 4), DAY, None, "closed"),
        ("minzhu", utc(3, 5), DAY, None, "claimed"),
    ]
    for n, (community, opened, due_in, answered_after, state) in enumerate(rows, 1):
        ticket = await add_escalation(
            uow_factory, clock, user=f"r{n}", community=community, opened=opened, due=opened + due_in
        )
        async with uow_factory() as uow:
            if answered_after is not None:
                await uow.escalations.answer(ticket.id, officer, "答复", opened + minutes(answered_after))
            if state == "claimed":
                await uow.escalations.claim(ticket.id, officer, opened + minutes(5))
            if state == "closed":
                await uow.escalations.close(ticket.id, opened + minutes(120))
            await uow.commit()


async def response_times(make: Callable[[], SqlUnitOfWork], **query: object) -> ResponseTimes:
    async with make() as uow:
        return await uow.stats.response_times(StatsQuery(**query))  # type: ignore[arg-type]


CASES: list[tuple[dict[str, object], ResponseTimes]] = [
    ({}, ResponseTimes(answered=5, median_minutes=30, p90_minutes=76, within_due=4)),
    # 10 20 30 40: median 25; p90 at rank 2.7: 30 + 0.7 * 10
    ({"community": "xinhua"}, ResponseTimes(answered=4, median_minutes=25, p90_minutes=37, within_due=4)),
    ({"community": "minzhu"}, ResponseTimes(answered=1, median_minutes=100, p90_minutes=100, within_due=0)),
    # Ticket 2 opened on 03-01 and belongs there, although it was answered on 03-02.
    ({"until": utc(2, 0)}, ResponseTimes(answered=2, median_minutes=15, p90_minutes=19, within_due=2)),
    # 30 40 100: median 40; p90 at rank 1.8: 40 + 0.8 * 60
    ({"since": utc(2, 0)}, ResponseTimes(answered=3, median_minutes=40, p90_minutes=88, within_due=2)),
    (
        {"since": utc(3, 0), "community": "minzhu"},
        ResponseTimes(answered=0, median_minutes=None, p90_minutes=None, within_due=0),
    ),
]


@pytest.mark.usefixtures("tickets")
async def test_response_times(uow_factory: Callable[[], SqlUnitOfWork]) -> None:
    # One data set, many queries: cheaper than a parametrised test that rebuilds the tickets each time.
    for query, expected in CASES:
        result = await response_times(uow_factory, **query)
        assert (result.answered, result.within_due) == (expected.answered, expected.within_due), query
        assert result.median_minutes == pytest.approx(expected.median_minutes), query
        assert result.p90_minutes == pytest.approx(expected.p90_minutes), query


async def test_no_escalations_at_all(uow_factory: Callable[[], SqlUnitOfWork]) -> None:
    assert await response_times(uow_factory) == ResponseTimes(
        answered=0, median_minutes=None, p90_minutes=None, within_due=0
    )


async def test_seconds_count(uow_factory: Callable[[], SqlUnitOfWork], clock: FakeClock) -> None:
    officer = await add_staff(uow_factory)
    opened = utc(1, 2)
    ticket = await add_escalation(uow_factory, clock, opened=opened, due=opened + minutes(1))
    async with uow_factory() as uow:
        await uow.escalations.answer(ticket.id, officer, "答复", opened + timedelta(seconds=90))
        await uow.commit()
    assert await response_times(uow_factory) == ResponseTimes(
        answered=1, median_minutes=1.5, p90_minutes=1.5, within_due=0
    )
