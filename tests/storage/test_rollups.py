"""The statistics' derived tables (bot.storage.rollups): whatever the period, the figures read through
them are those of a plain count over consultations, also with rows dated in the past, several
consultations per unit of work, merges on the way, concurrent writers, and after migration 0003."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.models import (
    CountRow,
    EscalationStatus,
    Helpfulness,
    Outcome,
    Satisfaction,
    StatsQuery,
    StatsSnapshot,
    TextCount,
)
from bot.storage import create_engine, migrate, rollups, upgrade
from bot.storage.tables import ConsultationRow
from bot.storage.types import UtcDateTime
from bot.storage.uow import SqlUnitOfWork

from .factories import COMMUNITIES, FakeClock, new_consultation

BEIJING = timezone(timedelta(hours=8))
ENTRIES = ["huji-birth", "id-card-renew", "passport-lost"]
TEXTS = ["q1 bike", "q1 bike stolen", "q2 noise", "q3 passport", "q4 parking"]


def utc(day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2024, 3, day, hour, minute, tzinfo=UTC)


def random_consultations(seed: int, count: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows = []
    for n in range(count):
        outcome = rng.choices(list(Outcome), weights=[6, 2, 2])[0]
        rows.append(
            {
                "user": f"r{n % 17}",
                "community": rng.choice(["xinhua", "minzhu"]),
                "outcome": outcome,
                "entry_id": rng.choice(ENTRIES) if outcome is Outcome.ANSWER else None,
                "via_menu": rng.random() < 0.25,
                "urgent": rng.random() < 0.1,
                "text": rng.choice(TEXTS),
                # Six days, any time of day; midnights too, the edges' favourite mistake.
                "at": utc(1) + timedelta(minutes=rng.randrange(6 * 24 * 4) * 15),
            }
        )
    rng.shuffle(rows)  # recorded out of order: rows dated in the past are the rule here
    return rows


async def record(uow_factory: Callable[[], SqlUnitOfWork], rows: list[dict[str, Any]], seed: int) -> None:
    rng = random.Random(seed)
    i = 0
    while i < len(rows):
        batch = rows[i : i + rng.choice([1, 1, 2, 3])]  # several consultations in one unit too
        async with uow_factory() as uow:
            for row in batch:
                await uow.consultations.add(new_consultation(**row))
            await uow.commit()
        i += len(batch)


def expected_snapshot(rows: list[dict[str, Any]], query: StatsQuery) -> StatsSnapshot:
    chosen = [
        r
        for r in rows
        if (query.since is None or r["at"] >= query.since)
        and (query.until is None or r["at"] < query.until)
        and (query.community is None or r["community"] == query.community)
    ]

    def ranked(counts: Counter[str]) -> list[CountRow]:
        return [CountRow(k, n) for k, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]

    outcomes = Counter(r["outcome"].value for r in chosen)
    return StatsSnapshot(
        total=len(chosen),
        by_outcome={o.value: outcomes.get(o.value, 0) for o in Outcome},
        by_community=ranked(Counter(r["community"] for r in chosen)),
        by_entry=ranked(Counter(r["entry_id"] for r in chosen if r["entry_id"])),
        by_day=[
            CountRow(d, n)
            for d, n in sorted(
                Counter(
                    r["at"].astimezone(UTC).date().isoformat() for r in chosen if not r["via_menu"]
                ).items()
            )
        ],
        urgent=sum(r["urgent"] for r in chosen),
        menu_views=sum(r["via_menu"] for r in chosen),
        escalations={s.value: 0 for s in EscalationStatus},
        feedback={h.value: 0 for h in Helpfulness},
        satisfaction={s.value: 0 for s in Satisfaction},
    )


def expected_top(rows: list[dict[str, Any]], query: StatsQuery, outcome: Outcome) -> list[TextCount]:
    counts = Counter(
        r["text"]
        for r in rows
        if r["outcome"] is outcome
        and not r["via_menu"]
        and (query.since is None or r["at"] >= query.since)
        and (query.until is None or r["at"] < query.until)
        and (query.community is None or r["community"] == query.community)
    )
    return [TextCount(t, n) for t, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))][:10]


QUERIES = [
    StatsQuery(),
    StatsQuery(community="minzhu"),
    StatsQuery(since=utc(2, 10, 37), until=utc(5, 3)),
    StatsQuery(since=utc(2), until=utc(5)),  # whole days only
    StatsQuery(since=datetime(2024, 3, 2, tzinfo=BEIJING), until=datetime(2024, 3, 6, tzinfo=BEIJING)),
    StatsQuery(since=utc(3, 6), until=utc(3, 18)),  # inside one day
    StatsQuery(since=utc(3, 23, 59), until=utc(4, 0, 1)),  # across one midnight
    StatsQuery(since=utc(2, 12)),
    StatsQuery(until=utc(4, 12), community="xinhua"),
    StatsQuery(since=utc(6), until=utc(9)),  # today and later
    StatsQuery(since=utc(9)),  # nothing
]


@pytest.fixture
def merge_often(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rollups, "MERGE_EVERY", 5)


@pytest.mark.usefixtures("merge_often")
async def test_figures_equal_a_plain_count_for_any_period(
    uow_factory: Callable[[], SqlUnitOfWork], clock: FakeClock
) -> None:
    rows = random_consultations(seed=7, count=150)
    await record(uow_factory, rows, seed=7)
    for today in (utc(4, 12), utc(1), utc(10)):  # "today" is counted live: its place must not matter
        clock.current = today
        async with uow_factory() as uow:
            for query in QUERIES:
                assert await uow.stats.snapshot(query) == expected_snapshot(rows, query), (today, query)
                for outcome in (Outcome.ESCALATE, Outcome.CLARIFY, Outcome.ANSWER):
                    top = await uow.stats.top_questions(query, outcome.value)
                    assert top == expected_top(rows, query, outcome), (query, outcome)


async def daily_rows(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return await connection.scalar(sa.select(sa.func.count()).select_from(rollups.DAYS))


@pytest.mark.usefixtures("merge_often")
async def test_merges_keep_about_one_row_per_key_and_day(
    uow_factory: Callable[[], SqlUnitOfWork], engine: AsyncEngine
) -> None:
    rows = [{"user": f"r{n}", "at": utc(2, 1) + timedelta(minutes=n)} for n in range(40)]
    await record(uow_factory, rows, seed=1)
    # One key (03-02, xinhua, answer): at most the rows added since the last merge, and the merged one.
    assert await daily_rows(engine) <= rollups.MERGE_EVERY
    async with uow_factory() as uow:
        assert (await uow.stats.snapshot(StatsQuery(since=utc(2), until=utc(3)))).total == 40


async def test_concurrent_writers_and_merges_lose_nothing(
    uow_factory: Callable[[], SqlUnitOfWork], clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rollups, "MERGE_EVERY", 3)

    async def writer(w: int) -> None:
        for n in range(15):
            async with uow_factory() as uow:
                at = utc(2 + n % 2, 8) + timedelta(seconds=w)
                await uow.consultations.add(new_consultation(user=f"w{w}", at=at, entry_id=ENTRIES[n % 3]))
                await uow.commit()

    await asyncio.gather(*(writer(w) for w in range(8)))
    clock.current = utc(10)
    async with uow_factory() as uow:
        snapshot = await uow.stats.snapshot(StatsQuery(since=utc(1), until=utc(5)))
    assert snapshot.total == 120
    assert snapshot.by_day == [CountRow("2024-03-02", 64), CountRow("2024-03-03", 56)]
    assert sum(row.count for row in snapshot.by_entry) == 120


async def test_rebuild_gives_the_same_figures(
    uow_factory: Callable[[], SqlUnitOfWork], engine: AsyncEngine, clock: FakeClock
) -> None:
    rows = random_consultations(seed=3, count=60)
    await record(uow_factory, rows, seed=3)
    clock.current = utc(10)
    query = StatsQuery(since=utc(1, 6))
    async with engine.begin() as connection:
        await rollups.rebuild(connection)
    async with uow_factory() as uow:
        assert await uow.stats.snapshot(query) == expected_snapshot(rows, query)
        assert await uow.stats.top_questions(query, "escalate") == expected_top(rows, query, Outcome.ESCALATE)


async def test_0003_fills_the_tables_from_existing_consultations(database_url: str) -> None:
    rows = random_consultations(seed=5, count=40)
    await upgrade(database_url, "0002")
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                sa.insert(sa.table("communities", *map(sa.column, ("slug", "name", "district", "sample")))),
                [
                    {"slug": c.slug, "name": c.name, "district": c.district, "sample": c.sample}
                    for c in COMMUNITIES
                ],
            )
            residents = sa.table(
                "residents",
                *map(sa.column, ("id", "channel", "channel_user_id")),
                sa.column("created_at", UtcDateTime()),
                sa.column("updated_at", UtcDateTime()),
            )
            first_seen = {"created_at": utc(1), "updated_at": utc(1)}
            await connection.execute(
                sa.insert(residents), [{"id": 1, "channel": "telegram", "channel_user_id": "1", **first_seen}]
            )
            # consultations did not change in 0003: the head table describes the 0002 one too.
            await connection.execute(
                sa.insert(ConsultationRow.__table__),
                [
                    {
                        "community": r["community"],
                        "resident_id": 1,
                        "channel": "telegram",
                        "text_masked": r["text"],
                        "outcome": r["outcome"].value,
                        "entry_id": r["entry_id"],
                        "score": 50.0,
                        "urgent": r["urgent"],
                        "via_menu": r["via_menu"],
                        "candidates": "",
                        "created_at": r["at"],
                    }
                    for r in rows
                ],
            )
        await migrate(database_url)
        async with engine.connect() as connection:
            days = await connection.scalar(sa.select(sa.func.sum(rollups.DAYS.c.consultations)))
            menus = await connection.scalar(sa.select(sa.func.sum(rollups.DAYS.c.menu_views)))
            entries = await connection.scalar(sa.select(sa.func.sum(rollups.ENTRIES.c.consultations)))
            gaps = await connection.scalar(sa.select(sa.func.count()).select_from(rollups.GAPS))
    finally:
        await engine.dispose()
    assert days == len(rows)
    assert menus == sum(r["via_menu"] for r in rows)
    assert entries == sum(r["entry_id"] is not None for r in rows)
    assert gaps == sum(r["outcome"] is not Outcome.ANSWER and not r["via_menu"] for r in rows)
