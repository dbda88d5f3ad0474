"""Live answers: a hub of residents' open event streams, and the web channel's notifier.

The delivery loop (DeliveryService) hands an officer's answer to `WebNotifier`, which broadcasts it to
every page the resident has open. The answer is already in the database, so a resident with no page
open finds it on the next visit: delivery is "sent" either way. `LiveHub` lives in one process, so
there the delivery loop must run in the process that serves the pages (see `delivery_loop`). With
REDIS_URL, `RedisLiveHub` (live_redis.py) carries the broadcast to every replica, and any replica's
delivery loop reaches a page open on any other (`live_hub_for` picks the hub from the settings).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.core.models import Channel, OutboxMessage, ResidentRef
from bot.core.ports import DeliveryOutcome, DeliveryResult, Notifier
from bot.services.delivery import DeliveryService
from bot.settings import Settings

log = logging.getLogger(__name__)

# Kinds of outbox message a resident's page can show.
LIVE_KINDS = frozenset({"officer_answer", "rating_request"})


@dataclass(frozen=True, slots=True)
class LiveEvent:
    name: str  # the SSE event name the page listens for
    data: Mapping[str, Any] = field(default_factory=dict)

    def encode(self) -> bytes:
        # json.dumps never emits a newline without indent=, so the payload is one `data:` line.
        return f"event: {self.name}\ndata: {json.dumps(dict(self.data), ensure_ascii=False)}\n\n".encode()


class LiveHub:
    """Resident → open streams. Bounded: a few streams per resident (the oldest is closed when a new
    one would exceed it) and a short queue per stream (a stream that cannot keep up loses events; the
    page catches up from the database when it reconnects)."""

    def __init__(self, *, streams_per_resident: int = 4, queue_size: int = 32) -> None:
        self._streams: dict[tuple[str, str], list[asyncio.Queue[LiveEvent | None]]] = {}
        self._per_resident = streams_per_resident
        self._queue_size = queue_size
        self._closed = False

    @contextlib.contextmanager
    def subscribe(self, resident: ResidentRef) -> Iterator[asyncio.Queue[LiveEvent | None]]:
        """A queue of events for one open page; None in it means "end the stream"."""
        queue: asyncio.Queue[LiveEvent | None] = asyncio.Queue(self._queue_size)
        if self._closed:
            queue.put_nowait(None)
            yield queue
            return
        key = _key(resident)
        streams = self._streams.setdefault(key, [])
        streams.append(queue)
        while len(streams) > self._per_resident:
            _end(streams.pop(0))
        try:
            yield queue
        finally:
            if queue in streams:
                streams.remove(queue)
            if not streams:
                self._streams.pop(key, None)

    async def broadcast(self, resident: ResidentRef, event: LiveEvent) -> int:
        """Push to every page the resident has open, wherever it is served. In one process that is
        `publish`; returns how many streams (or, across replicas, processes) got it."""
        return self.publish(resident, event)

    def publish(self, resident: ResidentRef, event: LiveEvent) -> int:
        """Push to every open stream of the resident in this process; returns how many got it."""
        reached = 0
        for queue in self._streams.get(_key(resident), []):
            try:
                queue.put_nowait(event)
                reached += 1
            except asyncio.QueueFull:
                log.warning("live stream full; the page will catch up when it reconnects")
        return reached

    def close(self) -> None:
        """At shutdown: end every stream, so open pages do not hold the server up."""
        self._closed = True
        self.end_streams()

    def end_streams(self) -> None:
        """End every open stream; the pages reconnect and catch up from the database."""
        for streams in self._streams.values():
            for queue in streams:
                _end(queue)

    async def start(self) -> None:
        """Called when the app starts (a hub that needs connections opens them here)."""

    async def stop(self) -> None:
        """Called when the app is cleaned up, after close()."""

    def stream_count(self) -> int:
        return sum(len(streams) for streams in self._streams.values())


def _key(resident: ResidentRef) -> tuple[str, str]:
    # Keyed by channel too: an API caller naming a pseudonym never reaches a web resident's page.
    return resident.channel.value, resident.channel_user_id


def _end(queue: asyncio.Queue[LiveEvent | None]) -> None:
    with contextlib.suppress(asyncio.QueueFull):
        queue.put_nowait(None)
        return
    # Full: make room for the end marker; what is dropped is also in the database.
    queue.get_nowait()
    queue.put_nowait(None)


def answer_event(payload: Mapping[str, Any]) -> LiveEvent:
    """The officer's answer as the page shows it (question, answer, officer, ticket)."""
    keys = ("escalation_id", "ticket", "community", "question", "answer", "officer", "answered_at")
    return LiveEvent("answer", {k: payload.get(k) for k in keys})


class WebNotifier(Notifier):
    """Delivers web (and API) residents' messages: pushes them to open pages and reports SENT, since
    the answer stays in the database for the resident's next visit."""

    def __init__(self, hub: LiveHub) -> None:
        self._hub = hub

    async def deliver(self, message: OutboxMessage) -> DeliveryResult:
        if message.kind not in LIVE_KINDS:
            return DeliveryResult(DeliveryOutcome.FAILED, error=f"the web cannot deliver {message.kind!r}")
        try:
            resident = ResidentRef(message.channel, message.recipient)
            event = (
                answer_event(message.payload)
                if message.kind == "officer_answer"
                else LiveEvent(message.kind, dict(message.payload))
            )
            reached = await self._hub.broadcast(resident, event)
        except Exception as exc:  # a Notifier reports problems instead of raising
            log.exception("live delivery of outbox message %s failed", message.id)
            return DeliveryResult(DeliveryOutcome.RETRY, error=f"{type(exc).__name__}: {exc}")
        log.debug("outbox message %s reached %d open page(s) or replica(s)", message.id, reached)
        return DeliveryResult(DeliveryOutcome.SENT)


def live_hub_for(settings: Settings) -> LiveHub:
    """The Redis-backed hub when REDIS_URL is set (several replicas), else the in-process one."""
    if settings.redis_url:
        from bot.channels.web.live_redis import RedisLiveHub

        return RedisLiveHub(settings.redis_url)
    return LiveHub()


def web_notifiers(hub: LiveHub) -> dict[Channel, Notifier]:
    """The notifiers the web process contributes to DeliveryService: web pages and API callers (who
    read answers back with GET /api/v1/escalations)."""
    notifier = WebNotifier(hub)
    return {Channel.WEB: notifier, Channel.API: notifier}


def delivery_loop(
    service: DeliveryService, *, idle_seconds: float = 1.0
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup context that drains the outbox while the app runs (pass DeliveryService built with
    `web_notifiers(hub)` and the other channels' notifiers): app.cleanup_ctx.append(delivery_loop(s))."""

    async def run(_app: web.Application) -> AsyncIterator[None]:
        stop = asyncio.Event()
        task = asyncio.create_task(service.run(stop, idle_seconds), name="outbox-delivery")
        yield
        stop.set()
        await task

    return run
