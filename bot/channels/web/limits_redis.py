"""The limits on asking, counted in Redis: every replica counts the same questions.

Each counter is a sorted set of the times questions went into it, trimmed to the window. One Lua script
checks every counter of a question and, only when none is full, adds the question to all of them: a refused
question is not counted, as in the in-memory AskLimiter, and two replicas cannot both let the last one in.
Redis down or slow never stops answering: the process falls back to its own in-memory counts (said once in
the log) and goes back to Redis on the next question after it answers again.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable

import redis.asyncio as redis

from bot.channels.web.throttle import AskLimiter
from bot.settings import Settings

log = logging.getLogger(__name__)

# A limit is a safeguard: a slow Redis must not hold up the answer.
TIMEOUT_SECONDS = 0.5
PREFIX = "policebot:asklimit:"

# KEYS: the counters; ARGV: now (ms), window (ms), a unique member, then one limit per key.
# Returns -1 when the question is let in (and counted), else the milliseconds to wait.
_SCRIPT = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local wait = -1
for i, key in ipairs(KEYS) do
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
    if redis.call('ZCARD', key) >= tonumber(ARGV[3 + i]) then
        local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
        local left = window - (now - tonumber(oldest[2]))
        if left > wait then wait = left end
    end
end
if wait >= 0 then return wait end
for i, key in ipairs(KEYS) do
    redis.call('ZADD', key, now, ARGV[3])
    redis.call('PEXPIRE', key, window)
end
return -1
"""


class RedisAskLimiter:
    def __init__(
        self,
        url: str,
        fallback: AskLimiter | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = redis.Redis.from_url(
            url,
            socket_timeout=TIMEOUT_SECONDS,
            socket_connect_timeout=TIMEOUT_SECONDS,
            client_name="policebot-asklimit",
        )
        self._script = self._redis.register_script(_SCRIPT)
        self._fallback = fallback or AskLimiter()
        self._clock = clock
        self._degraded = False

    async def allow(self, resident: str, address: str, community: str | None = None) -> float | None:
        """Seconds to wait when one of the counters is full (the question not counted), else None."""
        keys = self._fallback.limited_keys(resident, address, community)
        window_ms = int(self._fallback.window_seconds * 1000)
        now_ms = int(self._clock() * 1000)
        try:
            waited = await self._script(
                keys=[PREFIX + key for key, _ in keys],
                args=[now_ms, window_ms, f"{now_ms}:{secrets.token_hex(6)}", *(limit for _, limit in keys)],
            )
        except (redis.RedisError, OSError) as exc:
            if not self._degraded:
                log.warning("question limits counted in this process only, Redis unreachable: %s", exc)
                self._degraded = True
            return self._fallback.hit(resident, address, community)
        if self._degraded:
            log.warning("question limits counted in Redis again")
            self._degraded = False
        return None if int(waited) < 0 else max(int(waited), 1) / 1000.0

    async def close(self) -> None:
        await self._redis.aclose()


def ask_limits_for(settings: Settings) -> AskLimiter | RedisAskLimiter:
    """Shared through Redis when REDIS_URL is set (replicas count together), else per process."""
    return RedisAskLimiter(settings.redis_url) if settings.redis_url else AskLimiter()
