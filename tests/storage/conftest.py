"""Every storage test runs on a temporary SQLite file and, when POLICEBOT_TEST_PG names a PostgreSQL
server, again on PostgreSQL in a throwaway database of its own (the shared one is never touched)."""

from __future__ import annotations

import asyncio
import io
import shutil
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import asyncpg
import pytest
from alembic import command
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.storage import create_engine, create_session_factory, make_uow_factory, migrate
from bot.storage.schema import alembic_config
from bot.storage.uow import SqlUnitOfWork

from .factories import COMMUNITIES, FakeClock

# Running Alembic for every test is most of a storage test's cost, so the schema is built once per
# session and reproduced from that: a copy of a migrated file on SQLite, and on PostgreSQL the script
# Alembic itself renders for every migration (offline mode), run as one batch on the emptied schema.
# test_migrations.py still runs the migrations for real on both databases and checks that they build
# the schema the tables describe.


@pytest.fixture(scope="session")
def migrated_sqlite_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("migrated") / "policebot.db"
    # A loop of its own on another thread: session fixtures may be set up while a test's loop runs.
    with ThreadPoolExecutor(max_workers=1) as executor:
        executor.submit(asyncio.run, migrate(f"sqlite+aiosqlite:///{path}")).result()
    return path


@pytest.fixture(scope="session")
def postgres_migration_script() -> str:
    output = io.StringIO()
    config = alembic_config()
    config.output_buffer = output
    config.set_main_option("sqlalchemy.url", "postgresql+asyncpg://")  # offline: never connects
    command.upgrade(config, "head", sql=True)
    return output.getvalue()


@pytest.fixture
async def engine(database_url: str, request: pytest.FixtureRequest) -> AsyncIterator[AsyncEngine]:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database:
        target = Path(url.database)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(request.getfixturevalue("migrated_sqlite_file"), target)
    else:
        script: str = request.getfixturevalue("postgres_migration_script")
        connection = await asyncpg.connect(
            url.set(drivername="postgresql").render_as_string(hide_password=False)
        )
        try:
            await connection.execute(script)  # no arguments: the simple protocol runs many statements
        finally:
            await connection.close()
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
