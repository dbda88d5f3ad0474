"""Bring the database schema up to date (or back) with the Alembic scripts shipped in the package.

`python -m bot.storage.schema` migrates DATABASE_URL to head and exits: the deployment's one-shot
migration step, run before the app's replicas start (they would each migrate at start otherwise).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection

from bot.storage.db import create_engine

MIGRATIONS = Path(__file__).with_name("migrations")
MIGRATION_LOCK = 0x706F6C6963650001  # an arbitrary advisory lock key of our own ("police" + 1)


async def migrate(url: str) -> None:
    await _run(url, _upgrade_to_head)


async def upgrade(url: str, revision: str) -> None:
    await _run(url, lambda connection: command.upgrade(alembic_config(connection), revision))


async def downgrade(url: str, revision: str) -> None:
    await _run(url, lambda connection: command.downgrade(alembic_config(connection), revision))


async def current_revision(url: str) -> str | None:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())
    finally:
        await engine.dispose()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def alembic_config(connection: Connection | None = None) -> Config:
    # Built in code so that no alembic.ini has to ship or be found at run time.
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


async def _run(url: str, step: Callable[[Connection], None]) -> None:
    # Foreign keys off on SQLite: batch mode rebuilds tables by dropping them (see create_engine).
    engine = create_engine(url, enforce_foreign_keys=False)
    try:
        async with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # Replicas starting together migrate one at a time (the others then find the schema
                # at head); the lock ends with the transaction. SQLite's BEGIN IMMEDIATE does the same.
                await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            await connection.run_sync(step)
    finally:
        await engine.dispose()


def _upgrade_to_head(connection: Connection) -> None:
    # Called on every start: when already at head, skip env.py and Alembic's migration machinery.
    if MigrationContext.configure(connection).get_current_revision() == head_revision():
        return
    command.upgrade(alembic_config(connection), "head")


def main() -> int:
    import asyncio
    import logging

    from bot.settings import Settings

    logging.basicConfig(level=logging.INFO, format="%(message)s")  # Alembic reports each step
    url = Settings().database_url
    asyncio.run(migrate(url))
    print(f"database schema at revision {asyncio.run(current_revision(url))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
