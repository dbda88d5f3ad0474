"""`policebot run` composes the channels and stops cleanly."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import aiohttp

from bot.app import serve
from bot.settings import Settings
from tests.conftest import FIXTURE_KB


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_run_serves_the_web_app_without_a_token_and_stops(tmp_path: Path, capsys) -> None:
    port = _free_port()
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}",
        knowledge_dir=FIXTURE_KB,
        data_dir=tmp_path / "data",
        web_port=port,
        bot_token=None,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(serve(settings, stop=stop))
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(100):
                try:
                    async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                        assert response.status == 200
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
            else:
                raise AssertionError("the web app did not come up")
            async with http.get(f"http://127.0.0.1:{port}/c/gongyuan") as response:
                assert "公园社区" in await response.text()
    finally:
        stop.set()
        assert await asyncio.wait_for(task, 20) == 0
    printed = capsys.readouterr().out
    assert f"http://127.0.0.1:{port}/" in printed
    assert "BOT_TOKEN" in printed
