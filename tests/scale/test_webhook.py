"""Two replicas in webhook mode (two containers, two web apps with the receiver, two Bots talking to
one fake Bot API) on one PostgreSQL and Redis: each update is handled once, whichever replica gets it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.channels.telegram import WebhookReceiver, create_bot, create_dispatcher, create_shared_state
from bot.channels.telegram.middlewares import RedisResidentThrottle
from bot.channels.web import create_app
from bot.settings import Settings
from bot.wiring import Container
from tests.telegram.fake_api import TOKEN, FakeBotAPI
from tests.telegram.webhook_client import SECRET, WEBHOOK_URL, message_update, post
from tests.web.test_resident import rows

Build = Callable[[], Awaitable[Container]]
Replica = tuple[Container, WebhookReceiver, TestClient]


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    server = FakeBotAPI()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def replicas(
    aiohttp_client: Any, containers: Build, scale_settings: Settings, api: FakeBotAPI
) -> AsyncIterator[Callable[[], Awaitable[Replica]]]:
    scale_settings.bot_token = TOKEN
    scale_settings.telegram_api_base = api.url
    scale_settings.webhook_url = WEBHOOK_URL
    scale_settings.webhook_secret = SECRET
    closers: list[Any] = []

    async def start() -> Replica:
        container = await containers()
        bot = create_bot(container.settings)
        storage, throttle = create_shared_state(container.settings)
        closers.extend([bot.session, storage, throttle])
        receiver = WebhookReceiver(
            container,
            bot,
            create_dispatcher(container, storage=storage, throttle=throttle),
            recovery_interval=3600,
        )
        app = create_app(container)
        receiver.install(app)
        return container, receiver, await aiohttp_client(app)

    yield start
    for resource in closers:
        if resource is not None:
            await resource.close()


async def test_the_same_update_posted_to_both_replicas_is_handled_once(
    replicas: Callable[[], Awaitable[Replica]], api: FakeBotAPI
) -> None:
    (container_a, receiver_a, client_a), (_, receiver_b, client_b) = await replicas(), await replicas()
    user = 7001
    start = message_update(user, "/start gongyuan")
    assert await post(client_a, start) == 200
    await receiver_a.drain(5)
    after = len(api.calls)

    question = message_update(user, "身份证丢了怎么补办")
    assert await asyncio.gather(post(client_a, question), post(client_b, question)) == [200, 200]
    await asyncio.gather(receiver_a.drain(10), receiver_b.drain(10))

    replies = [c for c in api.calls[after:] if c.method == "sendMessage" and c.chat_id == user]
    assert len(replies) == 1
    assert await rows(container_a, "select count(*) from consultations") == [(1,)]
    assert await rows(container_a, "select count(*), count(processed_at) from telegram_updates") == [(2, 2)]


async def test_a_wrong_or_missing_secret_is_refused(
    replicas: Callable[[], Awaitable[Replica]], api: FakeBotAPI
) -> None:
    container, _, client = await replicas()
    assert await post(client, message_update(7002, "/start gongyuan"), secret="y" * 40) == 401
    assert await post(client, message_update(7002, "/start gongyuan"), secret=None) == 401
    assert await rows(container, "select count(*) from telegram_updates") == [(0,)]
    assert api.sent("sendMessage") == []


async def test_an_update_left_unfinished_by_a_crash_is_recovered_once(
    replicas: Callable[[], Awaitable[Replica]], api: FakeBotAPI
) -> None:
    (container_a, _, _), (_, receiver_b, _) = await replicas(), await replicas()
    user = 7003
    update = message_update(user, "/start gongyuan")
    # Replica A stored the update and answered Telegram, then died before handling it.
    async with container_a.uow_factory() as uow:
        assert await uow.updates.accept(update["update_id"], update, container_a.clock.now(), 0.0)
        await uow.commit()

    results = await asyncio.gather(receiver_b.recover_once(), receiver_b.recover_once())
    assert sorted(results) == [0, 1]
    assert await receiver_b.recover_once() == 0
    assert len(api.sent("sendMessage", user)) == 1
    assert await rows(container_a, "select count(processed_at) from telegram_updates") == [(1,)]


async def test_the_flood_throttle_is_shared_through_redis(redis_url: str) -> None:
    first = RedisResidentThrottle.from_url(redis_url, rate=2, per=60)
    second = RedisResidentThrottle.from_url(redis_url, rate=2, per=60)
    user = int(asyncio.get_running_loop().time() * 1000)  # fresh keys on every run
    try:
        assert [await first.check(user), await second.check(user), await first.check(user)] == [
            True,
            True,
            False,
        ]
        assert await second.check_warn(user) is True
        assert await first.check_warn(user) is False
        assert await first.check(user + 1) is True
    finally:
        await first.close()
        await second.close()
