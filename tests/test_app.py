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
        shutdown_drain_seconds=1.0,
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
            # SIGTERM: readiness fails at once (the load balancer takes the replica out) while the
            # replica still answers what reaches it; then it stops.
            stop.set()
            await asyncio.sleep(0.2)
            async with http.get(f"http://127.0.0.1:{port}/readyz") as response:
                assert response.status == 503 and (await response.json())["status"] == "draining"
            async with http.get(f"http://127.0.0.1:{port}/c/gongyuan") as response:
                assert response.status == 200
    finally:
        stop.set()
        assert await asyncio.wait_for(task, 20) == 0
    printed = capsys.readouterr().out
    assert f"http://127.0.0.1:{port}/" in printed
    assert "BOT_TOKEN" in printed


async def test_run_with_a_token_answers_on_telegram_too(tmp_path: Path) -> None:
    from tests.telegram.fake_api import FakeBotAPI

    api = FakeBotAPI()
    await api.start()
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}",
        knowledge_dir=FIXTURE_KB,
        data_dir=tmp_path / "data",
        web_port=_free_port(),
        bot_token="42:TEST",
        telegram_api_base=api.url,
        shutdown_drain_seconds=0,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(serve(settings, stop=stop))
    try:
        user = {"id": 7001, "is_bot": False, "first_name": "居民"}
        chat = {"id": 7001, "type": "private", "first_name": "居民"}
        await api.push(
            {"message": {"message_id": 1, "date": 0, "chat": chat, "from": user, "text": "/start gongyuan"}}
        )
        # updates are handled concurrently: ask once the community is chosen
        await api.wait_for(lambda: any("公园社区" in str(c.params.get("text", "")) for c in api.sent()), 20)
        await api.push(
            {
                "message": {
                    "message_id": 2,
                    "date": 0,
                    "chat": chat,
                    "from": user,
                    "text": "身份证丢了怎么补办",
                }
            }
        )

        def answered() -> bool:
            return any("居民身份证丢失补领" in str(c.params.get("text", "")) for c in api.sent())

        await api.wait_for(answered, 20)
    finally:
        stop.set()
        assert await asyncio.wait_for(task, 30) == 0
        await api.stop()


def test_freed_memory_goes_back_to_the_system_where_the_c_library_can(monkeypatch) -> None:
    import ctypes

    from bot import app

    calls: list[int] = []

    class Glibc:
        def malloc_trim(self, pad: int) -> int:
            calls.append(pad)
            return 1

    monkeypatch.setattr(ctypes, "CDLL", lambda name: Glibc())
    app._return_freed_memory()
    assert calls == [0]

    class Musl:  # no malloc_trim: nothing to do, nothing raised
        pass

    monkeypatch.setattr(ctypes, "CDLL", lambda name: Musl())
    app._return_freed_memory()

    def missing(name):
        raise OSError("no C library")

    monkeypatch.setattr(ctypes, "CDLL", missing)
    app._return_freed_memory()
    assert calls == [0]
