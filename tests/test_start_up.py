"""What a start of the app loads: the migration machinery and the Redis client only when they are used.

Each stays in memory for the life of the process once imported (Alembic with Mako and Pygments some
10 MB, redis-py a few), so a start checks first whether it needs them. Run in fresh processes: the test
process has imported both long before.
"""

from __future__ import annotations

from pathlib import Path

from bot.storage import current_revision, head_revision
from tests.conftest import FIXTURE_KB
from tests.test_cli import app_env, run_python

# The container and the web app, built as `policebot run` builds them; then the modules asked about.
_START = """
import asyncio
import sys

from bot.channels.web.app import create_app
from bot.channels.web.live import live_hub_for
from bot.wiring import build_container


async def main():
    container = await build_container()
    try:
        create_app(container, hub=live_hub_for(container.settings))
    finally:
        await container.close()


asyncio.run(main())
print(" ".join(name for name in ("alembic", "mako", "redis") if name in sys.modules))
"""


def _start(tmp_path: Path, database_url: str) -> list[str]:
    env = app_env(tmp_path, FIXTURE_KB, database_url, unset=frozenset({"REDIS_URL"}))
    result = run_python(tmp_path, env, "-c", _START, timeout=180)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


async def test_a_start_on_a_current_schema_imports_neither_alembic_nor_redis(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"
    assert _start(tmp_path, url) == ["alembic", "mako"]  # a new database: Alembic builds the schema
    assert await current_revision(url) == head_revision()
    assert _start(tmp_path, url) == []  # at head: one query, no Alembic; no REDIS_URL: no Redis client
    assert await current_revision(url) == head_revision()


async def test_a_replica_that_loses_the_race_for_the_first_rows_reads_them_and_starts(
    tmp_path: Path, postgres_url: str, monkeypatch
) -> None:
    """Two replicas starting together on a new database: both see no communities, and the second to
    insert them breaks the primary key. It tries again and finds them (before: it exited). On
    PostgreSQL, as replicas run: SQLite's single writer cannot interleave two start-ups this way."""
    from sqlalchemy import insert
    from sqlalchemy.ext.asyncio import create_async_engine

    from bot.settings import Settings
    from bot.storage.repositories.communities import SqlCommunityRepository
    from bot.storage.tables import CommunityRow
    from bot.wiring import build_container
    from tests.conftest import _run_as_admin

    url = postgres_url
    await _run_as_admin(url, "DROP SCHEMA IF EXISTS public CASCADE", "CREATE SCHEMA public")
    upsert = SqlCommunityRepository.upsert_many
    raced: list[str] = []

    async def other_replica_first(self, communities) -> None:
        if not raced:  # the other replica's rows land between this one's look and its insert
            raced.append("yes")
            flush = self._session.flush

            async def insert_then_flush(*args, **kwargs):
                other = create_async_engine(url)
                async with other.begin() as connection:
                    rows = [
                        {"slug": c.slug, "name": c.name, "district": c.district, "sample": c.sample}
                        for c in communities
                    ]
                    await connection.execute(insert(CommunityRow), rows)
                await other.dispose()
                return await flush(*args, **kwargs)

            self._session.flush = insert_then_flush
        await upsert(self, communities)

    monkeypatch.setattr(SqlCommunityRepository, "upsert_many", other_replica_first)
    settings = Settings(database_url=url, knowledge_dir=FIXTURE_KB, data_dir=tmp_path / "data")
    container = await build_container(settings)
    try:
        assert raced == ["yes"]
        async with container.uow_factory() as uow:
            assert set(await uow.communities.list_slugs()) == set(container.kb.communities)
    finally:
        await container.close()
