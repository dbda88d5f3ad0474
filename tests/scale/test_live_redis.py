"""RedisLiveHub: broadcasts cross processes through Redis, and a broken subscription heals."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable

import pytest
import redis.asyncio as redis

from bot.channels.web import WebNotifier
from bot.channels.web.live import LiveEvent
from bot.channels.web.live_redis import RedisLiveHub
from bot.core.models import Channel, ResidentRef
from bot.core.ports import DeliveryOutcome
from tests.web.test_live import message

WEB = ResidentRef(Channel.WEB, "token-a")


@pytest.fixture
async def hubs(redis_url: str) -> AsyncIterator[Callable[..., RedisLiveHub]]:
    """Hubs on a channel of this test's own, started; stopped at the end."""
    channel = f"policebot:test:{uuid.uuid4().hex}"
    started: list[RedisLiveHub] = []

    async def make(**options: object) -> RedisLiveHub:
        hub = RedisLiveHub(redis_url, channel=channel, reconnect_seconds=0.1, **options)  # type: ignore[arg-type]
        await hub.start()
        await hub.wait_subscribed(5)
        started.append(hub)
        return hub

    yield make  # type: ignore[misc]
    for hub in started:
        hub.close()
        await hub.stop()


async def next_event(queue: asyncio.Queue[LiveEvent | None]) -> LiveEvent | None:
    return await asyncio.wait_for(queue.get(), 5)


async def test_a_broadcast_reaches_the_page_in_another_process(hubs) -> None:
    here, there = await hubs(), await hubs()
    with there.subscribe(WEB) as page, here.subscribe(ResidentRef(Channel.API, "token-a")) as api_caller:
        assert await here.broadcast(WEB, LiveEvent("answer", {"answer": "已答复"})) == 2  # replicas
        event = await next_event(page)
        assert event is not None and event.name == "answer" and event.data == {"answer": "已答复"}
        await asyncio.sleep(0.1)
        assert api_caller.empty()  # channels stay apart across replicas too


async def test_malformed_messages_are_ignored(hubs, redis_url: str) -> None:
    hub = await hubs()
    client = redis.Redis.from_url(redis_url)
    try:
        with hub.subscribe(WEB) as page:
            await client.publish(hub._channel, b"not json")
            await client.publish(
                hub._channel, b'{"channel": "carrier pigeon", "user": "x", "event": "answer"}'
            )
            await hub.broadcast(WEB, LiveEvent("answer", {"n": 1}))
            event = await next_event(page)
            assert event is not None and event.data == {"n": 1}
    finally:
        await client.aclose()


async def test_a_lost_subscription_comes_back_and_ends_the_pages_streams(hubs, redis_url: str) -> None:
    name = f"policebot-test-{uuid.uuid4().hex[:8]}"
    hub = await hubs(client_name=name)
    admin = redis.Redis.from_url(redis_url)
    try:
        with hub.subscribe(WEB) as page:
            subscribers = [c for c in await admin.client_list() if c["name"] == name and "sub" in c["cmd"]]
            assert subscribers, "the hub's subscriber connection"
            for connection in subscribers:
                await admin.client_kill_filter(_id=connection["id"])
            # Events published while it was away are lost: the page is told to reconnect (and then
            # reads the answers from the database).
            assert await next_event(page) is None
        await hub.wait_subscribed(5)
        with hub.subscribe(WEB) as page:
            await hub.broadcast(WEB, LiveEvent("answer", {"n": 2}))
            event = await next_event(page)
            assert event is not None and event.data == {"n": 2}
    finally:
        await admin.aclose()


async def test_the_notifier_asks_for_a_retry_when_redis_is_down() -> None:
    hub = RedisLiveHub("redis://127.0.0.1:1/0", start_timeout=0.2, reconnect_seconds=0.1)
    try:
        result = await WebNotifier(hub).deliver(message())
        assert result.outcome is DeliveryOutcome.RETRY and "Connection" in (result.error or "")
    finally:
        await hub.stop()
