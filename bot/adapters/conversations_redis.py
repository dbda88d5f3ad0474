"""Conversation state in Redis: shared by every replica, expired by Redis itself."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import redis.asyncio as redis

# A conversation is a convenience: a slow Redis must not hold up the answer.
TIMEOUT_SECONDS = 1.0
PREFIX = "policebot:conversation:"


class RedisConversations:
    def __init__(self, url: str) -> None:
        self._redis = redis.Redis.from_url(
            url,
            socket_timeout=TIMEOUT_SECONDS,
            socket_connect_timeout=TIMEOUT_SECONDS,
            client_name="policebot-conversations",
        )

    async def load(self, key: str) -> dict[str, Any] | None:
        raw = await self._redis.get(PREFIX + key)
        if raw is None:
            return None
        data = json.loads(raw)
        return data if isinstance(data, dict) else None

    async def save(self, key: str, state: Mapping[str, Any], ttl_seconds: int) -> None:
        await self._redis.set(PREFIX + key, json.dumps(dict(state), ensure_ascii=False), ex=ttl_seconds)

    async def forget(self, key: str) -> None:
        await self._redis.delete(PREFIX + key)

    async def close(self) -> None:
        await self._redis.aclose()
