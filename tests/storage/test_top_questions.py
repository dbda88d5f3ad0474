"""The questions the knowledge base lacks: most frequent masked texts per outcome."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.models import Outcome, StatsQuery, TextCount
from bot.storage.uow import SqlUnitOfWork

from .factories import new_consultation

PASSPORT = "护照丢了怎么办"
BIKE = "电动车被偷了"
BIKE_LONGER = "电动车被偷了怎么办"
# Every tie below is between BIKE and BIKE_LONGER: a prefix sorts first under any collation, while
# the order of unrelated Chinese texts depends on the database's (code point here, pinyin elsewhere).
NOISE = "楼上噪音扰民"


def utc(day: int, hour: int = 2) -> datetime:
    return datetime(2024, 3, day, hour, tzinfo=UTC)


@pytest.fixture
async def questions(uow_factory: Callable[[], SqlUnitOfWork]) -> None:
    escalate = {"outcome": Outcome.ESCALATE, "entry_id": None}
    minzhu = {"community": "minzhu"}
    rows: list[dict[str, Any]] = [
        {"text": PASSPORT, "at": utc(1), **escalate},
        {"text": PASSPORT, "at": utc(2), **escalate},
        {"text": PASSPORT, "at": utc(3), **minzhu, **escalate},
        {"text": PASSPORT, "at": utc(3, 5), **minzhu, **escalate},
        {"text": BIKE, "at": utc(2), **escalate},
        {"text": BIKE, "at": utc(2, 5), **escalate},
        {"text": BIKE, "at": utc(3), **escalate},
        {"text": BIKE_LONGER, "at": utc(1), **escalate},
        {"text": BIKE_LONGER, "at": utc(3), **escalate},
        {"text": BIKE_LONGER, "at": utc(3, 5), **escalate},
        {"text": NOISE, "at": utc(1), **escalate},
        {"text": NOISE, "at": utc(1), "outcome": Outcome.CLARIFY, "entry_id": None},
        {"text": PASSPORT, "at": utc(1), "entry_id": "passport-lost"},
        # Browsing an entry from a menu is not a question, whatever its outcome.
        *({"text": "办理身份证", "at": utc(2), "via_menu": True, "entry_id": "id-card"} for _ in range(4)),
        *({"text": NOISE, "at": utc(2), "via_menu": True, **escalate} for _ in range(4)),
    ]
    async with uow_factory() as uow:
        for n, row in enumerate(rows):
            await uow.consultations.add(new_consultation(user=f"u{n}", **row))
        await uow.commit()


async def top(
    make: Callable[[], SqlUnitOfWork], outcome: str, limit: int = 10, **query: Any
) -> list[TextCount]:
    async with make() as uow:
        return await uow.stats.top_questions(StatsQuery(**query), outcome, limit)


@pytest.mark.usefixtures("questions")
async def test_most_frequent_first_then_by_text(uow_factory: Callable[[], SqlUnitOfWork]) -> None:
    assert await top(uow_factory, Outcome.ESCALATE) == [
        TextCount(PASSPORT, 4),
        TextCount(BIKE, 3),
        TextCount(BIKE_LONGER, 3),
        TextCount(NOISE, 1),
    ]
    assert await top(uow_factory, "escalate", limit=2) == [TextCount(PASSPORT, 4), TextCount(BIKE, 3)]
    assert await top(uow_factory, "clarify") == [TextCount(NOISE, 1)]
    assert await top(uow_factory, "answer") == [TextCount(PASSPORT, 1)]


@pytest.mark.usefixtures("questions")
async def test_filtered_by_period_and_community(uow_factory: Callable[[], SqlUnitOfWork]) -> None:
    assert await top(uow_factory, "escalate", since=utc(2, 0), until=utc(3, 0)) == [
        TextCount(BIKE, 2),
        TextCount(PASSPORT, 1),
    ]
    assert await top(uow_factory, "escalate", community="minzhu") == [TextCount(PASSPORT, 2)]
    assert await top(uow_factory, "escalate", community="xinhua", since=utc(3, 0)) == [
        TextCount(BIKE_LONGER, 2),
        TextCount(BIKE, 1),
    ]


@pytest.mark.usefixtures("questions")
async def test_counted_in_the_database(uow_factory: Callable[[], SqlUnitOfWork], engine: AsyncEngine) -> None:
    statements: list[str] = []

    def record(_connection: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        await top(uow_factory, "escalate", limit=3)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
    (select,) = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert "GROUP BY" in select.upper() and "LIMIT" in select.upper()
