"""A frozen database (connections accepted, nothing answered) must fail requests quickly with 503 and
Retry-After, fail readiness within its deadline, and the app must recover by itself once the database
answers again. The database sits behind a TCP relay the test can freeze."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bot.channels.web import create_app
from bot.settings import Settings
from bot.wiring import build_container
from tests.conftest import FIXTURE_KB


class FreezableRelay:
    """Relays TCP to the database; frozen, it accepts and holds connections and forwards nothing."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self.frozen = False
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self.thaw()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def freeze(self) -> None:
        self.frozen = True

    def thaw(self) -> None:
        """Answer again; connections held while frozen are dropped, as after a real outage."""
        self.frozen = False
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        if self.frozen:
            return  # held open, never answered
        up_reader, up_writer = await asyncio.open_connection(*self._target)
        self._writers.add(up_writer)
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(65536):
                if self.frozen:
                    await asyncio.sleep(3600)  # swallow: the other side waits for ever
                writer.write(data)
                await writer.drain()
        writer.close()


@pytest.fixture
async def relay(pg_url: str):
    url = make_url(pg_url)
    relay = FreezableRelay(url.host or "127.0.0.1", url.port or 5432)
    await relay.start()
    yield relay, url.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)
    await relay.stop()


async def test_a_frozen_database_gives_503_fast_and_recovers(
    relay, tmp_path: Path, aiohttp_client, caplog: pytest.LogCaptureFixture
) -> None:
    gate, url = relay
    settings = Settings(
        database_url=url,
        knowledge_dir=FIXTURE_KB,
        data_dir=tmp_path / "data",
        db_connect_timeout_seconds=1,
        db_statement_timeout_seconds=1,
        db_pool_timeout_seconds=1,
        _env_file=None,  # type: ignore[call-arg]
    )
    container = await build_container(settings)
    try:
        client = await aiohttp_client(create_app(container))
        question = {"community": "gongyuan", "question": "身份证丢了怎么补办"}
        assert (await client.post("/api/v1/ask", json=question)).status == 200
        assert (await client.get("/readyz")).status == 200

        gate.freeze()
        caplog.set_level(logging.WARNING)
        async with asyncio.timeout(5):  # the 1 s deadline, with room for a slow machine
            ready = await client.get("/readyz")
        assert ready.status == 503 and (await ready.json())["database"] == "unreachable"
        assert (await client.get("/livez")).status == 200  # the process itself is fine
        async with asyncio.timeout(15):  # connect, statement and pool limits are 1 s each
            asked = await client.post("/api/v1/ask", json=question)
        assert asked.status == 503 and asked.headers["Retry-After"].isdigit()
        assert (await asked.json())["error"] == "unavailable"
        page = await client.get("/c/gongyuan")
        assert page.status in (200, 503)  # the room page reads only the knowledge base
        assert not [r for r in caplog.records if r.exc_info], "an outage is one line, not a traceback"

        gate.thaw()
        async with asyncio.timeout(20):  # recovers by itself: no restart
            while (await client.post("/api/v1/ask", json=question)).status != 200:
                await asyncio.sleep(0.2)
        assert (await client.get("/readyz")).status == 200
    finally:
        gate.thaw()
        await container.close()
