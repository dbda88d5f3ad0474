"""Two app instances (two create_app apps, each with its own container and engine, on two test
servers) against the same PostgreSQL and Redis, as two replicas behind the proxy would be."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp.test_utils import TestClient

from bot.channels.web import create_app, web_notifiers
from bot.channels.web.keys import ASK_LIMIT, HUB, THROTTLE
from bot.channels.web.limits_redis import RedisAskLimiter, RedisLoginThrottle
from bot.channels.web.live import LiveHub, delivery_loop
from bot.channels.web.live_redis import RedisLiveHub
from bot.channels.web.throttle import AskLimiter, LoginThrottle
from bot.core.models import Role
from bot.services.delivery import DeliveryService
from bot.wiring import Container
from tests.web.test_live import read_event, wait_for_streams
from tests.web.test_resident import ask_json, rows

Build = Callable[[], Awaitable[Container]]


async def test_create_app_picks_the_redis_hub_and_limits_with_redis_url(containers: Build) -> None:
    container = await containers()
    shared = create_app(container)
    assert isinstance(shared[HUB], RedisLiveHub)
    assert isinstance(shared[ASK_LIMIT], RedisAskLimiter) and isinstance(shared[THROTTLE], RedisLoginThrottle)
    for limits in (shared[ASK_LIMIT], shared[THROTTLE]):
        await limits.close()
    container.settings.redis_url = None
    alone = create_app(container)
    assert type(alone[HUB]) is LiveHub
    assert type(alone[ASK_LIMIT]) is AskLimiter and type(alone[THROTTLE]) is LoginThrottle


async def test_an_answer_given_on_one_replica_reaches_the_page_open_on_the_other(
    aiohttp_client, containers: Build
) -> None:
    container_a, container_b = await containers(), await containers()
    # Replica A runs the delivery loop; B only serves the resident's page, so nothing B does
    # itself can put the answer there: it has to come from A through Redis.
    app_a = create_app(container_a)
    delivery = DeliveryService(container_a.uow_factory, container_a.clock, web_notifiers(app_a[HUB]))
    app_a.cleanup_ctx.append(delivery_loop(delivery, idle_seconds=0.05))
    app_b = create_app(container_b)
    client_a: TestClient = await aiohttp_client(app_a)
    client_b: TestClient = await aiohttp_client(app_b)
    assert isinstance(app_a[HUB], RedisLiveHub) and isinstance(app_b[HUB], RedisLiveHub)

    reply = await ask_json(client_b, "小区下水道堵了找谁")
    assert reply["outcome"] == "escalate"
    stream = await client_b.get("/c/gongyuan/events")
    assert stream.status == 200
    await wait_for_streams(app_b[HUB])

    officer = await container_a.staff.add("李警官", Role.OFFICER, ["gongyuan"])
    escalation_id = int(reply["ticket"][2:])
    await container_a.officers.answer(officer, escalation_id, "已通知物业疏通。")

    event = await read_event(stream, "answer", timeout=10)
    assert event["ticket"] == reply["ticket"] and event["answer"] == "已通知物业疏通。"
    assert app_a[HUB].stream_count() == 0  # the page was never on A
    # A settles the message once the broadcast returned, which may be just after B showed it.
    query = "select status from outbox where kind = 'officer_answer'"
    for _ in range(100):
        if await rows(container_b, query) == [("sent",)]:
            break
        await asyncio.sleep(0.05)
    assert await rows(container_b, query) == [("sent",)]
    stream.close()
    await client_a.close()
