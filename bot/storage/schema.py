"""Bring the database schema up to date (or back) with the Alembic scripts shipped in the package.

`python -m bot.storage.schema` migrates DATABASE_URL to head and exits: the deployment's one-shot
migration step, run before the app's replicas start (they would each migrate at start otherwise).

Alembic is imported only to migrate: every start checks first, with one query, whether the database is
already at the shipped head, and importing Alembic (with Mako and Pygments) would otherwise hold some
10 MB for the life of the process.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import Connection

from bot.storage.db import create_engine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
MIGRATION_LOCK = 0x706F6C6963650001  # an arbitrary advisory lock key of our own ("police" + 1)
VERSION_TABLE = "alembic_version"  # Alembic's default: env.py names no other


async def migrate(url: str) -> None:
    await _run(url, _upgrade_to_head)


async def upgrade(url: str, revision: str) -> None:
    from alembic import command

    await _run(url, lambda connection: command.upgrade(alembic_config(connection), revision))


async def downgrade(url: str, revision: str) -> None:
    from alembic import command

    await _run(url, lambda connection: command.downgrade(alembic_config(connection), revision))


async def current_revision(url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())
    finally:
        await engine.dispose()


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

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
    # Called on every start: when already at head, skip Alembic altogether (its import, env.py and
    # its migration machinery).
    head = script_head(MIGRATIONS / "versions")
    if head is not None and stored_revisions(connection) == [head]:
        return
    from alembic import command

    command.upgrade(alembic_config(connection), "head")


def stored_revisions(connection: Connection) -> list[str]:
    """The revisions Alembic recorded in the database (none before the first migration)."""
    if not connection.dialect.has_table(connection, VERSION_TABLE):
        return []
    return list(connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars())


def script_head(versions: Path) -> str | None:
    """The head revision of the migration scripts in `versions`, read from their `revision` and
    `down_revision` assignments without importing them (they import Alembic). None when the history is
    anything but one line of written-out revisions to a single head: Alembic is asked then."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in versions.glob("*.py"):
        try:
            values = _literals(path, ("revision", "down_revision"))
        except ValueError:  # computed rather than written out
            return None
        revision, down = values.get("revision"), values.get("down_revision", ())
        if not isinstance(revision, str) or not (down is None or isinstance(down, str)):
            return None
        revisions.add(revision)
        if down is not None:
            parents.add(down)
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 and parents <= revisions else None


def _literals(path: Path, names: tuple[str, ...]) -> dict[str, object]:
    """The values of a Python file's module-level assignments (annotated or not) to `names`: ValueError
    when one is not a literal."""
    found: dict[str, object] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        elif isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        else:
            continue
        for target in targets:
            if isinstance(target, ast.Name) and target.id in names:
                found[target.id] = ast.literal_eval(value)
    return found


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
