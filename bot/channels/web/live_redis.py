"""Live answers across replicas: the web notifier publishes to a Redis channel, and every replica's
subscriber pushes what arrives to the streams open in that replica.

One channel carries every event (answers are rare; each replica drops what none of its pages wants),
so a page may be served by any replica and answered from any other. Redis pub/sub keeps nothing:
  - a publish that fails raises, the notifier reports RETRY, and the outbox sends it again later;
  - a replica whose subscription broke may have missed events, so once it is subscribed again it
    ends its open streams: the pages reconnect and are sent the answers already in the database.
Pub/sub channels ignore the database number in REDIS_URL: deployments sharing a Redis server need
different channel names.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

import redis.asyncio as redis

from bot.channels.web.live import LiveEvent, LiveHub
from bot.core.models import Channel, ResidentRef

log = logging.getLogger(__name__)

CHANNEL = "policebot:live"
POLL_SECONDS = 5.0
HEALTH_CHECK_SECONDS = 15


class RedisLiveHub(LiveHub):
    """`broadcast` goes through Redis to every replica; `publish` stays local (the subscriber's)."""

    def __init__(
        self,
        url: str,
        *,
        channel: str = CHANNEL,
        reconnect_seconds: float = 1.0,
        start_timeout: float = 5.0,
        client_name: str = "policebot-live",
        **limits: Any,
    ) -> None:
        super().__init__(**limits)
        # Named, so that CLIENT LIST on the Redis server shows which connections are ours.
        self._redis = redis.Redis.from_url(
            url, health_check_interval=HEALTH_CHECK_SECONDS, socket_keepalive=True, client_name=client_name
        )
        self._channel = channel
        self._reconnect = reconnect_seconds
        self._start_timeout = start_timeout
        self._subscribed = asyncio.Event()
        self._listener: asyncio.Task[None] | None = None

    async def broadcast(self, resident: ResidentRef, event: LiveEvent) -> int:
        message = {
            "channel": resident.channel.value,
            "user": resident.channel_user_id,
            "event": event.name,
            "data": dict(event.data),
        }
        # How many replicas were subscribed: 0 is not an error (no replica may be up yet, and the
        # answer is in the database for the next visit).
        return int(await self._redis.publish(self._channel, json.dumps(message, ensure_ascii=False)))

    async def start(self) -> None:
        self._listener = asyncio.create_task(self._listen(), name="live-redis-subscriber")
        try:
            # So that an answer broadcast right after start-up reaches this replica's pages too.
            await asyncio.wait_for(self._subscribed.wait(), self._start_timeout)
        except TimeoutError:
            log.warning("live updates: Redis not reachable yet; retrying in the background")

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        await self._redis.aclose()

    async def wait_subscribed(self, timeout: float) -> None:
        await asyncio.wait_for(self._subscribed.wait(), timeout)

    async def _listen(self) -> None:
        resubscribing = False
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._channel)
                if resubscribing:
                    log.warning("live updates: subscribed to Redis again; open pages will reconnect")
                    self.end_streams()
                self._subscribed.set()
                while True:
                    # A timeout, not listen(): each call may PING (health_check_interval), so a
                    # connection that died silently is noticed within seconds, not hours.
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=POLL_SECONDS)
                    if message is not None and message.get("type") == "message":
                        self._deliver_here(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # connection lost or refused: keep trying
                if self._subscribed.is_set() or not resubscribing:
                    log.warning("live updates: Redis subscription lost (%s); reconnecting", exc)
                self._subscribed.clear()
                resubscribing = True
                await asyncio.sleep(self._reconnect)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    def _deliver_here(self, raw: bytes | str) -> None:
        try:
            message = json.loads(raw)
            resident = ResidentRef(Channel(message["channel"]), str(message["user"]))
            event = LiveEvent(str(message["event"]), dict(message.get("data") or {}))
        except (ValueError, KeyError, TypeError):
            log.warning("live updates: ignored a malformed message on %s", self._channel)
            return
        self.publish(resident, event)
