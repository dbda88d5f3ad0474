"""The webhook receiver on one app (SQLite): secret, parsing, durability before 200, recovery."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.channels.telegram import WebhookReceiver, create_bot, create_dispatcher
from bot.channels.telegram.middlewares import ResidentThrottle
from bot.channels.web import create_app
from bot.settings import Settings
from bot.wiring import Container, build_container
from tests.telegram.fake_api import TOKEN, FakeBotAPI
from tests.telegram.harness import officer_kb
from tests.telegram.webhook_client import PATH, SECRET, WEBHOOK_URL, message_update, post
from tests.web.raw_http import raw_request
from tests.web.test_resident import rows

USER = 1001


@pytest.fixture
async def container(api: FakeBotAPI, tmp_path: Path) -> AsyncIterator[Container]:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        knowledge_dir=officer_kb(tmp_path),
        data_dir=tmp_path / "data",
        bot_token=TOKEN,
        telegram_api_base=api.url,
        webhook_url=WEBHOOK_URL,
        webhook_secret=SECRET,
        _env_file=None,  # type: ignore[call-arg]
    )
    built = await build_container(settings)
    yield built
    await built.close()


@pytest.fixture
async def receiver(container: Container) -> AsyncIterator[WebhookReceiver]:
    bot = create_bot(container.settings)
    dispatcher = create_dispatcher(container, throttle=ResidentThrottle(rate=1000))
    yield WebhookReceiver(container, bot, dispatcher, recovery_interval=3600)
    await bot.session.close()


@pytest.fixture
async def client(aiohttp_client: Any, container: Container, receiver: WebhookReceiver) -> TestClient:
    app = create_app(container)
    receiver.install(app)
    return await aiohttp_client(app)


async def test_refuses_to_start_without_a_long_secret(
    container: Container, receiver: WebhookReceiver
) -> None:
    container.settings.webhook_secret = None
    with pytest.raises(ValueError, match="WEBHOOK_SECRET"):
        WebhookReceiver(container, receiver.bot, receiver.dispatcher)


async def test_registers_the_webhook_with_its_secret_and_update_types(
    client: TestClient, api: FakeBotAPI
) -> None:
    (call,) = await api.wait_for(lambda: api.sent("setWebhook"))
    assert call.params["url"] == WEBHOOK_URL
    assert call.params["secret_token"] == SECRET
    assert "message" in call.params["allowed_updates"]


async def test_an_unreachable_bot_api_at_start_degrades_telegram_only(
    aiohttp_client: Any,
    api: FakeBotAPI,
    container: Container,
    receiver: WebhookReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bot.channels.telegram import webhook
    from tests.telegram.fake_api import server_error

    monkeypatch.setattr(webhook, "REGISTER_DELAYS", (0.3,))
    api.fail("setWebhook", server_error(), server_error())
    app = create_app(container)
    receiver.install(app)
    client = await aiohttp_client(app)  # starts although setWebhook fails
    ready = await client.get("/readyz")
    assert ready.status == 200 and (await ready.json())["telegram"] == "degraded"
    assert (await client.get("/c/gongyuan")).status == 200  # the web room serves meanwhile
    await api.wait_for(lambda: api.sent("setWebhook"), timeout=5)  # registered on the third try
    assert len(api.sent("setWebhook", ok=False)) == 3
    async with asyncio.timeout(5):  # then the command menu, then it says so
        while (await (await client.get("/readyz")).json())["telegram"] != "ok":
            await asyncio.sleep(0.05)


async def test_an_update_is_answered_and_finished(
    client: TestClient, api: FakeBotAPI, container: Container, receiver: WebhookReceiver
) -> None:
    after = len(api.calls)
    assert await post(client, message_update(USER, "/start gongyuan")) == 200
    await api.next_call("sendMessage", USER, after=after)
    await receiver.drain(5)
    assert await rows(container, "select count(*), count(processed_at) from telegram_updates") == [(1, 1)]


async def test_a_wrong_or_missing_secret_is_refused_and_nothing_stored(
    client: TestClient, container: Container
) -> None:
    assert await post(client, message_update(USER, "/start"), secret="x" * 40) == 401
    assert await post(client, message_update(USER, "/start"), secret=None) == 401
    assert await rows(container, "select count(*) from telegram_updates") == [(0,)]


async def test_malformed_bodies_are_refused(client: TestClient, container: Container) -> None:
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
    assert (await client.post(PATH, data=b"{not json", headers=headers)).status == 400
    assert (await client.post(PATH, data=b"[1, 2]", headers=headers)).status == 400
    assert (await client.post(PATH, data=b'{"no": "update_id"}', headers=headers)).status == 400
    assert (await client.post(PATH, data=b"x" * (2 * 1024 * 1024), headers=headers)).status == 413
    assert (await client.get(PATH)).status == 405
    assert await rows(container, "select count(*) from telegram_updates") == [(0,)]


async def test_an_update_that_could_not_be_stored_is_not_acknowledged(
    client: TestClient, api: FakeBotAPI, receiver: WebhookReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def failing_accept(*_: Any) -> bool:
        raise ConnectionError("database down")

    monkeypatch.setattr(receiver, "accept", failing_accept)
    after = len(api.calls)
    assert await post(client, message_update(USER, "/start gongyuan")) == 503  # Telegram retries
    await receiver.drain(1)
    assert api.sent("sendMessage", USER)[after:] == []


async def test_the_update_is_committed_before_the_answer(
    client: TestClient, receiver: WebhookReceiver, container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[list[tuple]] = []
    original = receiver.process

    async def process(update_id: int, update: Any) -> None:
        # The handlers start only after accept committed: another connection already sees the row.
        seen.append(
            await rows(container, f"select update_id from telegram_updates where update_id = {update_id}")
        )
        await original(update_id, update)

    monkeypatch.setattr(receiver, "process", process)
    update = message_update(USER, "/start gongyuan")
    assert await post(client, update) == 200
    assert await rows(container, "select update_id from telegram_updates") == [(update["update_id"],)]
    await receiver.drain(5)
    assert seen == [[(update["update_id"],)]]


async def test_a_duplicate_is_acknowledged_and_not_handled_again(
    client: TestClient, api: FakeBotAPI, receiver: WebhookReceiver
) -> None:
    update = message_update(USER, "/start gongyuan")
    after = len(api.calls)
    assert await post(client, update) == 200
    await receiver.drain(5)
    assert await post(client, update) == 200
    await receiver.drain(5)
    assert len([c for c in api.calls[after:] if c.method == "sendMessage" and c.chat_id == USER]) == 1


async def test_a_non_ascii_or_undecodable_secret_is_refused_with_401(
    client: TestClient, container: Container
) -> None:
    body = json.dumps(message_update(USER, "/start")).encode()
    for secret in ("é" * 40).encode(), "签名".encode() * 8, b"\xff" * 48, SECRET.encode() + b"\xff":
        status, _ = await raw_request(
            client,
            b"POST",
            PATH.encode(),
            {b"X-Telegram-Bot-Api-Secret-Token": secret, b"Content-Type": b"application/json"},
            body,
        )
        assert status == 401, secret
    assert await post(client, message_update(USER, "/start"), secret="签名" * 20) == 401
    assert await rows(container, "select count(*) from telegram_updates") == [(0,)]
    assert await post(client, message_update(USER, "/start gongyuan")) == 200


async def test_deeply_nested_bodies_are_refused_with_400(
    client: TestClient, container: Container, receiver: WebhookReceiver
) -> None:
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
    deep = {"update_id": 777, "extra": json.loads("[" * 70 + "]" * 70)}  # a valid update otherwise
    unclosed, balanced = b"[" * 100_000, b"[" * 50_000 + b"]" * 50_000
    for body, says in ((unclosed, ""), (balanced, "nested"), (json.dumps(deep).encode(), "nested")):
        response = await client.post(PATH, data=body, headers=headers)
        text = await response.text()
        assert response.status == 400 and text.startswith("malformed update") and says in text
    assert await rows(container, "select count(*) from telegram_updates") == [(0,)]
    assert await post(client, message_update(USER, "/start gongyuan")) == 200
    await receiver.drain(5)


async def test_other_methods_get_405_with_allow_and_no_server_version(client: TestClient) -> None:
    for method in ("GET", "TRACE", "PUT", "DELETE", "PROPFIND"):
        response = await client.request(method, PATH)
        assert response.status == 405 and response.headers["Allow"] == "POST", method
        assert response.headers["Server"] == "policebot"
    response = await client.post(PATH, json=message_update(USER, "/start"))
    assert response.status == 401 and response.headers["Server"] == "policebot"


async def test_an_update_that_met_an_outage_stays_in_the_inbox_and_is_answered_later(
    client: TestClient,
    api: FakeBotAPI,
    receiver: WebhookReceiver,
    container: Container,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import redis.exceptions

    assert await post(client, message_update(USER, "/start gongyuan")) == 200
    await receiver.drain(5)
    receiver.lease_seconds = 0.5
    real_ask = container.ask.ask

    async def down(*_: Any, **__: Any) -> Any:
        raise redis.exceptions.ConnectionError("Redis is restarting")

    monkeypatch.setattr(container.ask, "ask", down)
    after = len(api.calls)
    update = message_update(USER, "身份证丢了怎么补办")
    assert await post(client, update) == 200  # durable in the inbox, so acknowledged
    await receiver.drain(5)
    assert [c for c in api.sent("sendMessage", USER) if api.calls.index(c) >= after] == []  # no apology
    unfinished = (
        "select count(*) from telegram_updates"
        f" where processed_at is null and update_id = {update['update_id']}"
    )
    assert await rows(container, unfinished) == [(1,)]

    monkeypatch.setattr(container.ask, "ask", real_ask)  # Redis is back
    await asyncio.sleep(0.6)  # the lease of the failed attempt runs out
    assert await receiver.recover_once() == 1
    answer = await api.next_call("sendMessage", USER, after=after)
    assert "居民身份证丢失补领" in answer.params["text"]
    assert await rows(container, unfinished) == [(0,)]
