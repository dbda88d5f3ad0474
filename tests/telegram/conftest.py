from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.telegram.fake_api import FakeBotAPI
from tests.telegram.harness import Harness, make_harness


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    server = FakeBotAPI()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def tg(api: FakeBotAPI, tmp_path: Path) -> AsyncIterator[Harness]:
    harness = await make_harness(api, tmp_path)
    yield harness
    await harness.stop()
