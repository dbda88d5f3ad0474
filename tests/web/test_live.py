"""Live answers: the hub, the WebNotifier, and the event stream a resident's page listens to."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from bot.channels.web import LiveHub, WebNotifier, web_notifiers
from bot.channels.web.live import LiveEvent
from bot.core.models import Channel, DeliveryStatus, OutboxMessage, ResidentRef
from bot.core.ports import DeliveryOutcome
from bot.services.delivery import DeliveryService
from bot.wiring import Container
from tests.web.test_resident import ask_json, rows

WEB = ResidentRef(Channel.WEB, "token-a")


def message(
    kind: str = "officer_answer", recipient: str = "token-a", channel: Channel = Channel.WEB
) -> OutboxMessage:
    now = datetime.now(UTC)
    return OutboxMessage(
        id=1,
        channel=channel,
        recipient=recipient,
        kind=kind,
        payload={
            "escalation_id": 7,
            "ticket": "WJ000007",
            "community": "gongyuan",
            "question": "问",
            "answer": "答",
        },
        status=DeliveryStatus.PENDING,
        attempts=1,
        next_attempt_at=now,
        created_at=now,
        escalation_id=7,
    )


async def test_notifier_pushes_to_open_pages_and_reports_sent() -> None:
    hub = LiveHub()
    notifier = WebNotifier(hub)
    with hub.subscribe(WEB) as first, hub.subscribe(WEB) as second:
        result = await notifier.deliver(message())
        assert result.outcome is DeliveryOutcome.SENT
        for queue in (first, second):
            event = queue.get_nowait()
            assert (
                event.name == "answer" and event.data["answer"] == "答" and event.data["ticket"] == "WJ000007"
            )
    # nobody listening: still sent, the answer is in the database for the next visit
    assert (await notifier.deliver(message())).outcome is DeliveryOutcome.SENT
    assert hub.stream_count() == 0


async def test_notifier_refuses_kinds_a_page_cannot_show() -> None:
    result = await WebNotifier(LiveHub()).deliver(message(kind="escalation_post"))
    assert result.outcome is DeliveryOutcome.FAILED and "escalation_post" in (result.error or "")


async def test_hub_keeps_channels_apart_and_bounds_streams() -> None:
    hub = LiveHub(streams_per_resident=2)
    with hub.subscribe(ResidentRef(Channel.API, "token-a")) as api_queue, hub.subscribe(WEB) as oldest:
        assert hub.publish(WEB, LiveEvent("answer")) == 1
        assert api_queue.empty()
        with hub.subscribe(WEB), hub.subscribe(WEB):
            assert oldest.get_nowait().name == "answer"
            assert oldest.get_nowait() is None  # the third stream pushed the oldest out
    assert hub.stream_count() == 0


async def test_hub_close_ends_every_stream() -> None:
    hub = LiveHub()
    with hub.subscribe(WEB) as queue:
        hub.close()
        assert queue.get_nowait() is None
    with hub.subscribe(WEB) as late:
        assert late.get_nowait() is None


def test_event_encoding_is_one_data_line() -> None:
    encoded = LiveEvent("answer", {"answer": "第一行\n第二行 </script>"}).encode().decode()
    assert encoded.startswith("event: answer\ndata: ") and encoded.endswith("\n\n")
    assert encoded.count("\n") == 3
    assert json.loads(encoded.split("data: ", 1)[1])["answer"] == "第一行\n第二行 </script>"


async def read_event(response: ClientResponse, name: str, timeout: float = 5.0) -> dict:
    async def next_named() -> dict:
        while True:
            block = (await response.content.readuntil(b"\n\n")).decode()
            lines = dict(line.split(": ", 1) for line in block.strip().split("\n") if ": " in line)
            if lines.get("event") == name:
                return json.loads(lines["data"])

    return await asyncio.wait_for(next_named(), timeout)


async def wait_for_streams(hub: LiveHub, count: int = 1) -> None:
    for _ in range(200):
        if hub.stream_count() >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the page never subscribed")


async def test_officers_answer_arrives_in_the_open_page(
    client: TestClient, container: Container, hub: LiveHub, people
) -> None:
    reply = await ask_json(client, "小区下水道堵了找谁")
    stream = await client.get("/c/gongyuan/events")
    assert stream.status == 200 and stream.headers["Content-Type"] == "text/event-stream"
    await wait_for_streams(hub)
    officer = await people.officer()
    (escalation_id,) = (await rows(container, "select id from escalations"))[0]
    await container.officers.answer(officer, escalation_id, "已通知物业疏通。")
    delivery = DeliveryService(container.uow_factory, container.clock, web_notifiers(hub))
    assert await delivery.run_once() == 1
    event = await read_event(stream, "answer")
    assert event["ticket"] == reply["ticket"] and event["answer"] == "已通知物业疏通。"
    assert event["officer"] == "李警官"
    assert await rows(container, "select status from outbox") == [("sent",)]
    stream.close()


async def test_answers_given_before_the_page_opened_are_sent_first(
    client: TestClient, container: Container, people
) -> None:
    reply = await ask_json(client, "小区下水道堵了找谁")
    officer = await people.officer()
    await container.officers.answer(officer, int(reply["ticket"][2:]), "早就答复了。")
    stream = await client.get("/c/gongyuan/events")
    event = await read_event(stream, "answer")
    assert event["answer"] == "早就答复了。" and event["status"] == "answered"
    stream.close()


async def test_a_browser_without_a_conversation_gets_no_stream(client: TestClient) -> None:
    response = await client.get("/c/gongyuan/events")
    assert response.status == 204


async def test_shutdown_ends_open_streams(client: TestClient, hub: LiveHub) -> None:
    await client.get("/c/gongyuan")
    stream = await client.get("/c/gongyuan/events")
    await wait_for_streams(hub)
    hub.close()
    assert await asyncio.wait_for(stream.content.read(), 5) == b"retry: 5000\n\n"


async def test_the_delivery_loop_runs_inside_the_app(aiohttp_client, container: Container, people) -> None:
    from bot.channels.web import create_app
    from bot.channels.web.live import delivery_loop

    hub = LiveHub()
    app = create_app(container, hub=hub)
    delivery = DeliveryService(container.uow_factory, container.clock, web_notifiers(hub))
    app.cleanup_ctx.append(delivery_loop(delivery, idle_seconds=0.05))
    client = await aiohttp_client(app)
    reply = await ask_json(client, "小区下水道堵了找谁")
    stream = await client.get("/c/gongyuan/events")
    await wait_for_streams(hub)
    officer = await people.officer()
    await container.officers.answer(officer, int(reply["ticket"][2:]), "物业马上来。")
    event = await read_event(stream, "answer")  # nobody called run_once: the app's loop did
    assert event["answer"] == "物业马上来。"
    stream.close()


async def test_serve_starts_and_stops(tmp_path) -> None:
    from bot.channels.web.server import serve
    from bot.wiring import build_container
    from tests.web.conftest import settings_for

    container = await build_container(settings_for(tmp_path, web_port=0, shutdown_drain_seconds=0))
    stop = asyncio.Event()
    try:
        task = asyncio.create_task(serve(container, stop=stop))
        await asyncio.sleep(0.3)
        assert not task.done()
        stop.set()
        await asyncio.wait_for(task, 10)
    finally:
        await container.close()
