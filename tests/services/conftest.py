"""The services on real storage with the fixture knowledge base; test modules that need officers'
groups or a writable copy of the knowledge define their own `container`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.settings import Settings
from bot.wiring import Container, build_container
from tests.conftest import FIXTURE_KB


@pytest.fixture
async def container(database_url: str, tmp_path: Path) -> AsyncIterator[Container]:
    settings = Settings(database_url=database_url, knowledge_dir=FIXTURE_KB, data_dir=tmp_path / "data")
    container = await build_container(settings)
    yield container
    await container.close()
