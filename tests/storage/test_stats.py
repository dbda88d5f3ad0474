"""Statistics on a small, fully known data set: every expected number can be checked by hand.

#  community  outcome   entry           urgent menu  created_at (UTC)   escalation        helpfulness
1  xinhua     answer    huji-birth                   03-01 02:00                          useful 03-01
2  xinhua     answer    huji-birth             yes   03-01 10:00                          useful 03-01
3  xinhua     clarify   -                            03-02 01:00        claimed, 03-02
4  minzhu     escalate  -               yes          03-02 15:30        open, 03-02       (unsatisfied 03-03)
5  minzhu     answer    id-card-renew                03-02 16:30 *                        not_useful 03-02
6  minzhu     answer    huji-birth             yes   03-03 08:00                          useful 03-03
7  xinhua     escalate  -               yes          03-03 09:00        answered, 03-03   (satisfied 03-03)

* 03-03 00:30 in Beijing: a UTC day, not a local one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import event, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.core.models import (
    CountRow,
    Helpfulness,
    NewEscalation,
    Outcome,
    Satisfaction,
    StatsQuery,
    StatsSnapshot,
)
from bot.storage.repositories import SqlStatsRepository
from bot.storage.tables import EscalationRow
from bot.storage.uow import SqlUnitOfWork

from .factories import FakeClock, add_consultation

BEIJING = timezone(timedelta(hours=8))


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2024, 3, day, hour, minute, tzinfo=UTC)


@pytest.fixture
async def known_data(uow_factory: Callable[[], SqlUnitOfWork], engine: AsyncEngine, clock: FakeClock) -> None:
    rows: list[dict[str, Any]] = [
        dict(community="xinhua", entry_id="huji-birth", at=utc(1, 2)),
        dict(community="xinhua", entry_id="huji-birth", via_menu=True, at=utc(1, 10)),
        dict(
            community="xinhua",
            outcome=Outcome.CLARIFY,
            entry_id=None,
            at=datetime(2024, 3, 2, 9, tzinfo=BEIJING),
        ),
        dict(community="minzhu", outcome=Outcome.ESCALATE, entry_id=None, urgent=True, at=utc(2, 15, 30)),
        dict(community="minzhu", entry_id="id-card-renew", at=utc(2, 16, 30)),
        dict(community="minzhu", entry_id="huji-birth", via_menu=True, at=utc(3, 8)),
        dict(community="xinhua", outcome=Outcome.ESCALATE, entry_id=None, urgent=True, at=utc(3, 9)),
    ]
    ids = [await add_consultation(uow_factory, user=f"u{n}", **row) for n, row in enumerate(rows, 1)]
    c = dict(enumerate(ids, 1))

    async def escalate(number: int, at: datetime) -> int:
        clock.current = at
        async with uow_factory() as uow:
            escalation = await uow.escalations.open(c[number], NewEscalation(due_at=at + timedelta(days=1)))
            await uow.commit()
        return escalation.id

    e3, e4, e7 = (
        await escalate(3, utc(2, 1, 5)),
        await escalate(4, utc(2, 15, 31)),
        await escalate(7, utc(3, 9)),
    )
    # Officer workflow is not in the repository ports yet: set the states directly.
    async with engine.begin() as connection:
        await connection.execute(update(EscalationRow).where(EscalationRow.id == e3).values(status="claimed"))
        await connection.execute(
            update(EscalationRow).where(EscalationRow.id == e7).values(status="answered")
        )

    async with uow_factory() as uow:
        await uow.feedback.add_helpfulness(c[1], Helpfulness.USEFUL, utc(1, 3))
        await uow.feedback.add_helpfulness(c[2], Helpfulness.USEFUL, utc(1, 11))
        await uow.feedback.add_helpfulness(c[5], Helpfulness.NOT_USEFUL, utc(2, 20))
        await uow.feedback.add_helpfulness(c[6], Helpfulness.USEFUL, utc(3, 8, 5))
        await uow.feedback.add_satisfaction(e4, Satisfaction.UNSATISFIED, utc(3, 12))
        await uow.feedback.add_satisfaction(e7, Satisfaction.SATISFIED, utc(3, 12))
        await uow.commit()


async def snapshot(uow_factory: Callable[[], SqlUnitOfWork], **query: object) -> StatsSnapshot:
    async with uow_factory() as uow:
        return await uow.stats.snapshot(StatsQuery(**query))  # type: ignore[arg-type]


def outcomes(answer: int = 0, clarify: int = 0, escalate: int = 0) -> dict[str, int]:
    return {"answer": answer, "clarify": clarify, "escalate": escalate}


def statuses(open: int = 0, claimed: int = 0, answered: int = 0, closed: int = 0) -> dict[str, int]:
    return {"open": open, "claimed": claimed, "answered": answered, "closed": closed}


def helpfulness(useful: int = 0, not_useful: int = 0) -> dict[str, int]:
    return {"useful": useful, "not_useful": not_useful}


def satisfaction(satisfied: int = 0, basically: int = 0, unsatisfied: int = 0) -> dict[str, int]:
    return {"satisfied": satisfied, "basically": basically, "unsatisfied": unsatisfied}


@pytest.mark.usefixtures("known_data")
async def test_everything(uow_factory: Callable[[], SqlUnitOfWork]) -> None:
    assert await snapshot(uow_factory) == StatsSnapshot(
        total=7,
        by_outcome=outcomes(answer=4, clarify=1, escalate=2),
        by_community=[CountRow("xinhua", 4), CountRow("minzhu", 3)],
        by_entry=[CountRow("huji-birth", 3), CountRow("id-card-renew", 1)],
        by_day=[CountRow("2024-03-01", 1), CountRow("2024-03-02", 3), CountRow("2024-03-03", 1)],
        urgent=2,
        menu_views=2,
        escalations=statuses(open=1, claimed=1, answered=1),
        feedback=helpfulness(useful=3, not_useful=1),
        satisfaction=satisfaction(satisfied=1, unsatisfied=1),
    )


@pytest.mark.usefixtures("known_data")
@pytest.mark.parametrize(
    "since",
    [utc(2, 0), datetime(2024, 3, 2, 8, tzinfo=BEIJING)],
    ids=["utc-bounds", "beijing-bounds"],
)
async def test_one_day(uow_factory: Callable[[], SqlUnitOfWork], since: datetime) -> None:
    assert await snapshot(uow_factory, since=since, until=since + timedelta(days=1)) == StatsSnapshot(
        total=3,
        by_outcome=outcomes(answer=1, clarify=1, escalate=1),
        by_community=[CountRow("minzhu", 2), CountRow("xinhua", 1)],
        by_entry=[CountRow("id-card-renew", 1)],
        by_day=[CountRow("2024-03-02", 3)],
        urgent=1,
        menu_views=0,
        escalations=statuses(open=1, claimed=1),
        feedback=helpfulness(not_useful=1),
        satisfaction=satisfaction(),
    )


@pytest.mark.usefixtures("known_data")
async def test_one_community(uow_factory: Callable[[], SqlUnitOfWork]) -> None:
    assert await snapshot(uow_factory, community="minzhu") == StatsSnapshot(
        total=3,
        by_outcome=outcomes(answer=2, escalate=1),
        by_community=[CountRow("minzhu", 3)],
        # Ties are broken by entry id so reports are stable.
        by_entry=[CountRow("huji-birth", 1), CountRow("id-card-renew", 1)],
        by_day=[CountRow("2024-03-02", 2)],  # 03-03 had a guide view only
        urgent=1,
        menu_views=1,
        escalations=statuses(open=1),
        feedback=helpfulness(useful=1, not_useful=1),
        satisfaction=satisfaction(unsatisfied=1),
    )


@pytest.mark.usefixtures("known_data")
async def test_community_and_since_together(uow_factory: Callable[[], SqlUnitOfWork]) -> None:
    assert await snapshot(uow_factory, community="xinhua", since=utc(2, 0)) == StatsSnapshot(
        total=2,
        by_outcome=outcomes(clarify=1, escalate=1),
        by_community=[CountRow("xinhua", 2)],
        by_entry=[],
        by_day=[CountRow("2024-03-02", 1), CountRow("2024-03-03", 1)],
        urgent=1,
        menu_views=0,
        escalations=statuses(claimed=1, answered=1),
        feedback=helpfulness(),
        satisfaction=satisfaction(satisfied=1),
    )


@pytest.mark.usefixtures("known_data")
async def test_since_is_inclusive_and_until_exclusive(uow_factory: Callable[[], SqlUnitOfWork]) -> None:
    before = await snapshot(uow_factory, until=utc(1, 10))
    from_then = await snapshot(uow_factory, since=utc(1, 10))
    assert (before.total, from_then.total) == (1, 6)
    assert before.menu_views == 0 and from_then.menu_views == 2


async def test_an_empty_database_gives_zeros(uow_factory: Callable[[], SqlUnitOfWork]) -> None:
    assert await snapshot(uow_factory) == StatsSnapshot(
        total=0,
        by_outcome=outcomes(),
        by_community=[],
        by_entry=[],
        by_day=[],
        urgent=0,
        menu_views=0,
        escalations=statuses(),
        feedback=helpfulness(),
        satisfaction=satisfaction(),
    )


@pytest.mark.usefixtures("known_data")
async def test_days_follow_the_offset_whatever_the_postgres_session_time_zone(
    engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no session time zone")
    async with session_factory() as session:
        await session.execute(text("SET TIME ZONE 'Asia/Shanghai'"))
        result = await SqlStatsRepository(session).snapshot(StatsQuery())
    # This repository counts at offset 0: the session's zone changes nothing.
    assert result.by_day == [CountRow("2024-03-01", 1), CountRow("2024-03-02", 3), CountRow("2024-03-03", 1)]


@pytest.mark.usefixtures("known_data")
async def test_aggregates_run_in_the_database(
    uow_factory: Callable[[], SqlUnitOfWork], engine: AsyncEngine
) -> None:
    # Every query is an aggregate: no rows are fetched to be counted in Python.
    statements: list[str] = []

    def record(_connection: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        await snapshot(uow_factory)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 9
    assert all("count(" in s.lower() for s in selects)


@pytest.mark.usefixtures("known_data")
async def test_days_are_counted_in_local_time(
    engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    """Row 5 was asked at 00:30 on 03-03 in Beijing: a Beijing dashboard counts it on 03-03, and a
    period starting at Beijing midnight of 03-03 includes it, from the rollups and live alike."""
    from bot.storage import rollups

    beijing = timedelta(hours=8)
    async with engine.begin() as connection:
        assert await rollups.ensure_day_offset(connection, beijing)  # counted in UTC days so far
        assert not await rollups.ensure_day_offset(connection, beijing)  # once only

    def local(**query: object) -> Any:
        async def run() -> StatsSnapshot:
            async with SqlUnitOfWork(session_factory, clock, beijing) as uow:
                return await uow.stats.snapshot(StatsQuery(**query))  # type: ignore[arg-type]

        return run()

    expected = [CountRow("2024-03-01", 1), CountRow("2024-03-02", 2), CountRow("2024-03-03", 2)]
    assert (await local()).by_day == expected  # 03-03 is today: counted live
    third = datetime(2024, 3, 3, tzinfo=BEIJING)
    day = await local(since=third, until=third + timedelta(days=1))
    assert day.total == 3 and day.by_day == [CountRow("2024-03-03", 2)]  # and one guide view
    clock.current = datetime(2024, 3, 10, tzinfo=UTC)  # every day whole: read from the rollups
    assert (await local()).by_day == expected
    day = await local(since=third, until=third + timedelta(days=1))
    assert day.total == 3 and day.by_day == [CountRow("2024-03-03", 2)]  # and one guide view
    # Today (the clock's day) is counted live, in the same local days.
    clock.current = datetime(2024, 3, 3, 12, tzinfo=BEIJING)
    assert (await local(since=third)).by_day == [CountRow("2024-03-03", 2)]
    clock.current = datetime(2024, 3, 2, 23, tzinfo=UTC)  # 07:00 on 03-03 in Beijing
    assert (await local(since=third)).by_day == [CountRow("2024-03-03", 2)]
