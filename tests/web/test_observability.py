"""What operators see of the web app: a request id on every answer and log line, one access line per
request without its query string, and the metrics an alert can be built on (backlogs, failures, the
sources a scrape could not read)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.channels.web import create_app, ops
from bot.channels.web.keys import DRAINING, METRICS
from bot.core.models import Channel, DeliveryStatus, NewOutboxMessage, OutboxMessage
from bot.core.ports import DeliveryOutcome, DeliveryResult
from bot.logs import JsonFormatter, RequestIdFilter
from bot.services.delivery import DeliveryService
from bot.storage import exports as storage_exports
from bot.wiring import Container
from tests.web.conftest import csrf_of
from tests.web.test_resident import ask_json

HEX_ID = re.compile(r"[0-9a-f]{32}")


async def boom(request: web.Request) -> web.Response:
    raise RuntimeError("a bug in a handler")


async def outage(request: web.Request) -> web.Response:
    raise ConnectionRefusedError("the database refused")


@pytest.fixture
async def client(aiohttp_client, app: web.Application) -> TestClient:
    """The real app, with two failing routes added for these tests, served as server.py serves it:
    without aiohttp's own access log (which would write query strings)."""
    app.router.add_get("/test/boom/{n}", boom)
    app.router.add_get("/test/outage", outage)
    return await served(aiohttp_client, app)


async def served(aiohttp_client, app: web.Application) -> TestClient:
    server = TestServer(app)
    await server.start_server(access_log=None)  # as server.py runs it
    return await aiohttp_client(server)


@pytest.fixture
def logged() -> Iterator[Callable[[], list[dict]]]:
    """The lines logged so far in this test, formatted as `policebot run` writes them, parsed back."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


async def scrape(client: TestClient) -> str:
    response = await client.get("/metrics")
    assert response.status == 200
    return await response.text()


def value(body: str, series: str) -> float | None:
    """The sample of `series` (name and labels as exposed), None when it is not there."""
    for line in body.splitlines():
        name, _, sample = line.rpartition(" ")
        if name == series:
            return float(sample)
    return None


# ---- the request id -------------------------------------------------------------------------------


async def test_a_safe_request_id_is_echoed(client: TestClient) -> None:
    for given in ("edge-42.a_B", "x" * 64):
        response = await client.get("/livez", headers={"X-Request-Id": given})
        assert response.headers["X-Request-Id"] == given


@pytest.mark.parametrize("given", [None, "", "x" * 65, "has space", "a/b", "id;drop", "ümlaut"])
async def test_a_missing_or_unsafe_request_id_is_replaced(client: TestClient, given: str | None) -> None:
    headers = {} if given is None else {"X-Request-Id": given}
    first = (await client.get("/livez", headers=headers)).headers["X-Request-Id"]
    second = (await client.get("/livez", headers=headers)).headers["X-Request-Id"]
    assert HEX_ID.fullmatch(first) and HEX_ID.fullmatch(second)
    assert first != second != given


async def test_error_answers_carry_the_request_id_too(client: TestClient, app: web.Application) -> None:
    async def answer(method: str, path: str, rid: str, **kwargs: object) -> tuple[int, str | None]:
        response = await client.request(method, path, headers={"X-Request-Id": rid}, **kwargs)
        return response.status, response.headers.get("X-Request-Id")

    assert await answer("GET", "/no/such/page", "r-404") == (404, "r-404")
    assert await answer("GET", "/test/boom/1", "r-500") == (500, "r-500")
    assert await answer("GET", "/test/outage", "r-503") == (503, "r-503")  # error_pages' outage answer
    # csrf_protect refuses before any handler runs
    assert await answer("POST", "/c/gongyuan/ask", "r-403", data={"question": "x"}) == (403, "r-403")
    assert await answer("GET", "/console", "r-303", allow_redirects=False) == (303, "r-303")
    app[DRAINING].set()
    assert await answer("GET", "/readyz", "r-drain") == (503, "r-drain")


async def test_a_stream_the_handler_starts_itself_carries_the_request_id(client: TestClient) -> None:
    await ask_json(client, "身份证丢了怎么补办")  # the page's conversation, so it may listen
    stream = await client.get("/c/gongyuan/events", headers={"X-Request-Id": "stream-1"})
    try:
        assert stream.status == 200 and stream.headers["Content-Type"].startswith("text/event-stream")
        assert stream.headers["X-Request-Id"] == "stream-1"
    finally:
        stream.close()


# ---- log lines ------------------------------------------------------------------------------------


async def test_log_lines_are_json_and_carry_the_request_id(
    client: TestClient, logged: Callable[[], list[dict]]
) -> None:
    await client.get("/test/boom/7?token=hunter2", headers={"X-Request-Id": "trace-7"})
    await client.get("/livez")
    lines = logged()
    failed = [line for line in lines if line.get("request_id") == "trace-7"]
    error = next(line for line in failed if line["logger"] == "bot.channels.web.errors")
    assert error["level"] == "ERROR" and "RuntimeError: a bug in a handler" in error["exception"]
    access = next(line for line in failed if line["logger"] == "bot.access")
    assert access["method"] == "GET" and access["path"] == "/test/boom/7" and access["status"] == 500
    assert isinstance(access["duration_ms"], float) and access["duration_ms"] >= 0
    assert access["remote"] == "127.0.0.1"
    assert "hunter2" not in json.dumps(lines)  # the query string is never logged
    other = [line for line in lines if line["logger"] == "bot.access" and line["path"] == "/livez"]
    assert len(other) == 1 and HEX_ID.fullmatch(other[0]["request_id"])


async def test_one_access_line_per_request_without_the_query_string(
    client: TestClient, logged: Callable[[], list[dict]]
) -> None:
    token = await csrf_of(client, "/c/gongyuan?from=poster&phone=13812345678")
    response = await client.post(
        "/c/gongyuan/ask?via=qr",
        json={"question": "我的身份证号是110101199003071234"},
        headers={"X-CSRF-Token": token, "Accept": "application/json"},
    )
    assert response.status == 200
    lines = logged()
    access = [
        (line["method"], line["path"], line["status"]) for line in lines if line["logger"] == "bot.access"
    ]
    assert access == [("GET", "/c/gongyuan", 200), ("POST", "/c/gongyuan/ask", 200)]
    written = json.dumps(lines, ensure_ascii=False)
    for secret in ("13812345678", "poster", "via=qr", "110101199003071234", token):
        assert secret not in written


async def test_the_client_address_is_the_one_a_trusted_proxy_names(
    aiohttp_client, container: Container, logged: Callable[[], list[dict]]
) -> None:
    container.settings.trusted_proxies = "127.0.0.1/32"  # the test client plays the reverse proxy
    client = await served(aiohttp_client, create_app(container))
    await client.get("/livez", headers={"X-Real-IP": "203.0.113.9"})
    assert [line["remote"] for line in logged() if line["logger"] == "bot.access"] == ["203.0.113.9"]


# ---- metrics --------------------------------------------------------------------------------------


class FixedClock:
    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now


def outgoing(channel: Channel, recipient: str, at: datetime) -> NewOutboxMessage:
    return NewOutboxMessage(channel, recipient, "reminder", {"text": "提醒"}, not_before=at)


async def test_backlogs_are_read_at_each_scrape(
    client: TestClient, container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = await scrape(client)
    assert value(before, 'policebot_metrics_source_up{source="database"}') == 1.0
    assert value(before, "policebot_outbox_pending") == 0.0
    assert value(before, "policebot_outbox_oldest_pending_age_seconds") == 0.0
    assert value(before, "policebot_webhook_inbox_pending") == 0.0
    assert value(before, 'policebot_open_escalations{status="open"}') == 0.0
    now = container.clock.now()
    async with container.uow_factory() as uow:
        await uow.outbox.enqueue(outgoing(Channel.TELEGRAM, "1001", now))
        await uow.updates.accept(5001, {"update_id": 5001}, now, 60.0)
        await uow.commit()
    monkeypatch.setattr(container, "clock", FixedClock(now + timedelta(seconds=90)))
    after = await scrape(client)
    assert value(after, "policebot_outbox_pending") == 1.0
    assert 89 <= (value(after, "policebot_outbox_oldest_pending_age_seconds") or 0) <= 120
    assert value(after, "policebot_webhook_inbox_pending") == 1.0


async def test_connections_in_use_are_read_from_the_pool(client: TestClient, container: Container) -> None:
    idle = value(await scrape(client), "policebot_db_pool_connections_in_use")
    assert idle is not None
    async with container.engine.connect():
        busy = value(await scrape(client), "policebot_db_pool_connections_in_use")
    assert busy == idle + 1


async def test_server_errors_are_counted_by_route_template(client: TestClient) -> None:
    series = 'policebot_http_server_errors_total{route="/test/boom/{n}",status="500"}'
    assert value(await scrape(client), series) is None
    for n in (1, 2):
        assert (await client.get(f"/test/boom/{n}")).status == 500
    assert (await client.get("/test/outage")).status == 503
    assert (await client.get("/no/such/page")).status == 404
    body = await scrape(client)
    assert value(body, series) == 2.0
    assert value(body, 'policebot_http_server_errors_total{route="/test/outage",status="503"}') == 1.0
    assert "/test/boom/1" not in body and 'status="404"' not in body


async def test_a_database_error_during_the_scrape_still_answers(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    await client.get("/test/boom/1")

    async def refused(_engine: object) -> None:
        raise ConnectionRefusedError("connection refused")

    monkeypatch.setattr(storage_exports, "backlog", refused)
    body = await scrape(client)
    assert value(body, 'policebot_metrics_source_up{source="database"}') == 0.0
    # Nothing stale in place of what could not be read; what the app counts itself is still there.
    assert value(body, "policebot_outbox_pending") is None and "policebot_open_escalations{" not in body
    assert value(body, 'policebot_http_server_errors_total{route="/test/boom/{n}",status="500"}') == 1.0


async def test_a_database_that_does_not_answer_fails_the_scrape_s_deadline_only(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def frozen(_engine: object) -> None:
        await asyncio.sleep(60)

    monkeypatch.setattr(storage_exports, "backlog", frozen)
    monkeypatch.setattr(ops, "SCRAPE_DEADLINE_SECONDS", 0.2)
    async with asyncio.timeout(5):
        body = await scrape(client)
    assert value(body, 'policebot_metrics_source_up{source="database"}') == 0.0


async def test_redis_is_reported_only_when_configured(client: TestClient, container: Container) -> None:
    assert 'source="redis"' not in await scrape(client)
    container.settings.redis_url = "redis://127.0.0.1:1/0"  # nothing listens there
    assert value(await scrape(client), 'policebot_metrics_source_up{source="redis"}') == 0.0


async def test_a_reachable_redis_is_up(client: TestClient, container: Container) -> None:
    import redis.asyncio as redis

    url = os.environ.get("POLICEBOT_TEST_REDIS", "redis://127.0.0.1:6379/0")
    probe = redis.Redis.from_url(url, socket_connect_timeout=1)
    try:
        await probe.ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis at {url}: {exc}")
    finally:
        await probe.aclose()
    container.settings.redis_url = url
    assert value(await scrape(client), 'policebot_metrics_source_up{source="redis"}') == 1.0


class Scripted:
    """A channel that answers each message with the next outcome of its script."""

    def __init__(self, *outcomes: DeliveryOutcome) -> None:
        self._outcomes = list(outcomes)

    async def deliver(self, message: OutboxMessage) -> DeliveryResult:
        return DeliveryResult(self._outcomes.pop(0), error="scripted")


async def test_deliveries_are_counted_by_channel_and_result(client: TestClient, container: Container) -> None:
    now = container.clock.now()
    async with container.uow_factory() as uow:
        for n in range(3):
            await uow.outbox.enqueue(outgoing(Channel.WEB, f"resident-{n}", now))
        await uow.outbox.enqueue(outgoing(Channel.TELEGRAM, "1001", now))  # no Telegram here: put back
        await uow.commit()
    web_channel = Scripted(DeliveryOutcome.SENT, DeliveryOutcome.RETRY, DeliveryOutcome.FAILED)
    delivery = DeliveryService(
        container.uow_factory, container.clock, {Channel.WEB: web_channel}, events=container.signals
    )
    assert await delivery.run_once() == 4
    body = await scrape(client)
    counted = {
        (channel, result): value(body, f'policebot_deliveries_total{{channel="{channel}",result="{result}"}}')
        for channel, result in [
            ("web", "sent"),
            ("web", "retried"),
            ("web", "gave_up"),
            ("telegram", "retried"),
        ]
    }
    assert counted == dict.fromkeys(counted, 1.0)
    assert value(body, "policebot_outbox_pending") == 2.0  # the two put back
    async with container.uow_factory() as uow:
        assert (await uow.outbox.counts())[DeliveryStatus.FAILED.value] == 1


async def test_urgent_consultations_are_counted_by_kind(client: TestClient) -> None:
    series = 'policebot_urgent_consultations_total{kind="crime"}'
    assert value(await scrape(client), series) is None
    assert (await ask_json(client, "有人在撬我家门"))["urgent_kind"] == "crime"
    assert (await ask_json(client, "身份证丢了怎么补办"))["urgent_kind"] is None
    body = await scrape(client)
    assert value(body, series) == 1.0
    assert body.count("policebot_urgent_consultations_total{") == 1


async def test_a_stopped_app_no_longer_counts(aiohttp_client, container: Container) -> None:
    app = create_app(container)
    client = await aiohttp_client(app)
    container.signals.urgent("fire")
    await client.close()
    container.signals.urgent("fire")
    assert (
        app[METRICS].registry.get_sample_value("policebot_urgent_consultations_total", {"kind": "fire"}) == 1
    )
