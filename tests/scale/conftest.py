"""Scale-out tests: several app instances or delivery processes against one PostgreSQL and one Redis.

They need both servers: PostgreSQL from POLICEBOT_TEST_PG (a throwaway database of its own, emptied
for every test) and Redis from POLICEBOT_TEST_REDIS (default redis://127.0.0.1:6379/0); without them
the tests are skipped with the reason.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from bot.settings import Settings
from bot.wiring import Container, build_container
from tests.conftest import FIXTURE_KB, _run_as_admin

REDIS_URL_VARIABLE = "POLICEBOT_TEST_REDIS"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(autouse=True)
def one_scale_test_at_a_time(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The suite runs on several workers (pytest-xdist); these tests share one Redis, whose pub/sub
    channels and keys no database number separates, and start processes of their own: a lock in the
    folder all workers' temporary folders share lets one of them run at a time."""
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent
    with open(shared / "scale-tests.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def redis_url() -> str:
    import redis

    url = os.environ.get(REDIS_URL_VARIABLE, DEFAULT_REDIS_URL)
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis at {url} ({exc}); set {REDIS_URL_VARIABLE} to run the scale-out tests")
    finally:
        client.close()
    return url


@pytest.fixture
async def pg_url(postgres_url: str) -> str:
    """The session's throwaway PostgreSQL database, emptied (skips without POLICEBOT_TEST_PG)."""
    await _run_as_admin(postgres_url, "DROP SCHEMA IF EXISTS public CASCADE", "CREATE SCHEMA public")
    return postgres_url


@pytest.fixture
def scale_settings(pg_url: str, redis_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=pg_url,
        redis_url=redis_url,
        knowledge_dir=FIXTURE_KB,
        data_dir=tmp_path / "data",
        _env_file=None,  # type: ignore[call-arg]
    )


@pytest.fixture
async def containers(scale_settings: Settings) -> AsyncIterator[Callable[[], Awaitable[Container]]]:
    """Builds containers like separate processes would (each with its own engine); closes them all."""
    built: list[Container] = []

    async def build() -> Container:
        container = await build_container(scale_settings)
        built.append(container)
        return container

    yield build
    for container in built:
        await container.close()
