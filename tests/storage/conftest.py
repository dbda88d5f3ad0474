"""Every storage test runs on a temporary SQLite file and, when POLICEBOT_TEST_PG names a PostgreSQL
server, again on PostgreSQL in a throwaway database of its own (the shared one is never touched)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.storage import create_engine, create_session_factory, make_uow_factory, migrate
from bot.storage.uow import SqlUnitOfWork

from .factories import COMMUNITIES, FakeClock


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    await migrate(database_url)
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_session_factory(engine)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def uow_factory(
    session_factory: async_sessionmaker[AsyncSession], clock: FakeClock
) -> Callable[[], SqlUnitOfWork]:
    make = make_uow_factory(session_factory, clock)
    async with make() as unit:
        await unit.communities.upsert_many(COMMUNITIES)
        await unit.commit()
    return make
