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
