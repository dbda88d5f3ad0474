from __future__ import annotations

import time

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from bot.storage import create_engine, current_revision, downgrade, head_revision, migrate, upgrade
from bot.storage.schema import MIGRATIONS, alembic_config
from bot.storage.tables import Base

APP_TABLES = {"communities", "residents", "consultations", "escalations", "feedback"}


async def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return set(await connection.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await engine.dispose()


def _revisions_oldest_first() -> list[str]:
    script = ScriptDirectory.from_config(alembic_config())
    return [r.revision for r in reversed(list(script.walk_revisions()))]


async def test_stairway_every_revision_goes_up_down_and_up_again(database_url: str) -> None:
    # Catches downgrades that forget something (the second upgrade then fails on leftovers).
    for revision in _revisions_oldest_first():
        previous = await current_revision(database_url)
        await upgrade(database_url, revision)
        assert await current_revision(database_url) == revision
        await downgrade(database_url, previous or "base")
        assert await current_revision(database_url) == previous
        await upgrade(database_url, revision)
    assert await current_revision(database_url) == head_revision()


async def test_migrate_creates_every_table_and_downgrade_to_base_removes_them(database_url: str) -> None:
    await migrate(database_url)
    assert await _tables(database_url) >= APP_TABLES
    await downgrade(database_url, "base")
    assert await _tables(database_url) & APP_TABLES == set()
    assert await current_revision(database_url) is None
    await migrate(database_url)
    assert await _tables(database_url) >= APP_TABLES


async def test_migrate_at_head_is_a_quick_no_op(database_url: str) -> None:
    await migrate(database_url)
    started = time.perf_counter()
    await migrate(database_url)
    assert time.perf_counter() - started < 1.0
    assert await current_revision(database_url) == head_revision() == "0001"


async def test_migrations_build_exactly_the_schema_the_tables_describe(database_url: str) -> None:
    await migrate(database_url)
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(
                lambda c: compare_metadata(
                    MigrationContext.configure(c, opts={"compare_type": True}), Base.metadata
                )
            )
    finally:
        await engine.dispose()
    assert differences == []


def test_migration_scripts_ship_inside_the_package() -> None:
    assert (MIGRATIONS / "env.py").is_file()
    assert list((MIGRATIONS / "versions").glob("0001_*.py"))
