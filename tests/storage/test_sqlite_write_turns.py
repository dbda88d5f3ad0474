"""SQLite writers of one process take turns in order of arrival, and a turn always ends."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

import bot.storage.db as db
from bot.storage import create_engine


@pytest.fixture
async def sqlite(tmp_path: Path) -> AsyncEngine:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'turns.db'}")
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE log (n INTEGER)"))
    yield engine
    await engine.dispose()


async def test_writers_get_the_database_in_the_order_they_asked_for_it(sqlite: AsyncEngine) -> None:
    order: list[int] = []
    writers = 12
    # Each writer holds its own connection first, so that the order is BEGIN's alone.
    connections = [await sqlite.connect() for _ in range(writers)]

    async def write(n: int, connection: AsyncConnection) -> None:
        async with connection.begin():
            order.append(n)
            await connection.execute(text("INSERT INTO log (n) VALUES (:n)"), {"n": n})
            await asyncio.sleep(0.005)  # a request's work inside its transaction

    try:
        tasks = []
        for n, connection in enumerate(connections):
            tasks.append(asyncio.create_task(write(n, connection)))
            await asyncio.sleep(0.001)  # each asks a moment after the one before
        await asyncio.gather(*tasks)
    finally:
        for connection in connections:
            await connection.close()
    # SQLite's busy handler serves whichever waiter polls first: without turns the order is a shuffle
    # and one writer can lose every round until "database is locked".
    assert order == list(range(writers))
    async with sqlite.connect() as connection:
        assert await connection.scalar(text("SELECT count(*) FROM log")) == writers


async def test_a_turn_ends_with_a_failed_transaction_and_with_a_connection_given_back(
    sqlite: AsyncEngine,
) -> None:
    with pytest.raises(RuntimeError):
        async with sqlite.begin() as connection:
            await connection.execute(text("INSERT INTO log (n) VALUES (1)"))
            raise RuntimeError("the request failed half way")
    # A connection returned to the pool with its transaction open (rolled back by the pool's reset,
    # which the engine's rollback event does not see).
    connection = await sqlite.connect()
    await connection.execute(text("INSERT INTO log (n) VALUES (2)"))
    await connection.close()
    async with asyncio.timeout(2):  # the busy timeout is 15 s: a leaked turn would hang here
        async with sqlite.begin() as connection:
            await connection.execute(text("INSERT INTO log (n) VALUES (3)"))
    async with sqlite.connect() as connection:
        assert (await connection.execute(text("SELECT n FROM log"))).scalars().all() == [3]


async def test_a_writer_that_waits_too_long_fails_as_a_timeout_and_the_queue_moves_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_S", 0.2)
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'slow.db'}")
    try:
        release = asyncio.Event()

        async def hold() -> None:
            async with engine.begin() as connection:
                await connection.execute(text("SELECT 1"))
                await release.wait()

        holder = asyncio.create_task(hold())
        await asyncio.sleep(0.05)
        with pytest.raises(TimeoutError):  # told as an outage: 503 with Retry-After
            async with engine.begin() as connection:
                await connection.execute(text("SELECT 1"))
        release.set()
        await holder
        async with asyncio.timeout(2), engine.begin() as connection:
            assert await connection.scalar(text("SELECT 1")) == 1
    finally:
        await engine.dispose()
