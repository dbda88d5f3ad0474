"""The limits on asking and the login throttle, counted in Redis: every replica counts the same
questions and the same failed sign-ins (twelve guesses spread over three replicas still lock the account).

Each counter is a sorted set of the times questions went into it, trimmed to the window. One Lua script
checks every counter of a question and, only when none is full, adds the question to all of them: a refused
question is not counted, as in the in-memory AskLimiter, and two replicas cannot both let the last one in.
Redis down or slow never stops answering: the process falls back to its own in-memory counts (said once in
the log), tries Redis again a few seconds later and goes back to it once it answers.
"""

from __future__ import annotations

import logging
import secrets
import time

import redis.asyncio as redis

from bot.channels.web.throttle import AskLimiter, LoginThrottle

log = logging.getLogger(__name__)

# A limit is a safeguard: a slow Redis must not hold up the answer, and once it failed it is not asked
# again (each time costing the timeout) for a while.
TIMEOUT_SECONDS = 0.5
RETRY_AFTER_SECONDS = 5.0
PREFIX = "policebot:asklimit:"

# The scripts share one layout. KEYS: the counters; ARGV: a unique member, the window (ms), then one
# limit per key (none for counting alone). The time is the Redis server's (replicas' clocks may differ).
_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[2])
"""
# The milliseconds to wait until the fullest counter has room again, or -1 when all have room.
_WAIT = """
local wait = -1
for i, key in ipairs(KEYS) do
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
    if redis.call('ZCARD', key) >= tonumber(ARGV[2 + i]) then
        local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
        local left = window - (now - tonumber(oldest[2]))
        if left > wait then wait = left end
    end
end
"""
_ADD = """
for _, key in ipairs(KEYS) do
    redis.call('ZADD', key, now, ARGV[1])
    redis.call('PEXPIRE', key, window)
end
"""
_ASK = _NOW + _WAIT + "if wait >= 0 then return wait end\n" + _ADD + "return -1\n"  # let in and counted: -1
_CHECK = _NOW + _WAIT + "return wait\n"  # a sign-in may be tried: nothing counted
_COUNT = _NOW + _ADD + "return 0\n"  # a failed sign-in


def _client(url: str, name: str) -> redis.Redis:
    return redis.Redis.from_url(
        url, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS, client_name=name
    )


class RedisAskLimiter:
    def __init__(self, url: str, fallback: AskLimiter | None = None) -> None:
        self._redis = _client(url, "policebot-asklimit")
        self._script = self._redis.register_script(_ASK)
        self._fallback = fallback or AskLimiter()
        self._degraded = False
        self._retry_at = 0.0  # time.monotonic() before which Redis is not tried again

    async def allow(
        self, resident: str, address: str, community: str | None = None, api_key: str | None = None
    ) -> float | None:
        """Seconds to wait when one of the counters is full (the question not counted), else None."""
        keys = self._fallback.limited_keys(resident, address, community, api_key)
        window_ms = int(self._fallback.window_seconds * 1000)
        if self._degraded and time.monotonic() < self._retry_at:
            return self._fallback.hit(resident, address, community, api_key)
        try:
            waited = await self._script(
                keys=[PREFIX + key for key, _ in keys],
                args=[secrets.token_hex(8), window_ms, *(limit for _, limit in keys)],
            )
        except (redis.RedisError, OSError) as exc:
            if not self._degraded:
                log.warning("question limits counted in this process only, Redis unreachable: %s", exc)
                self._degraded = True
            self._retry_at = time.monotonic() + RETRY_AFTER_SECONDS
            return self._fallback.hit(resident, address, community, api_key)
        if self._degraded:
            log.warning("question limits counted in Redis again")
            self._degraded = False
        return None if int(waited) < 0 else max(int(waited), 1) / 1000.0

    async def close(self) -> None:
        await self._redis.aclose()


LOGIN_PREFIX = "policebot:login:"


class RedisLoginThrottle:
    """LoginThrottle's counts in Redis, with the process's own as a fallback (as RedisAskLimiter)."""

    def __init__(self, url: str, fallback: LoginThrottle | None = None) -> None:
        self._redis = _client(url, "policebot-login")
        self._check = self._redis.register_script(_CHECK)
        self._count = self._redis.register_script(_COUNT)
        self._fallback = fallback or LoginThrottle()
        self._retry_at = 0.0

    def _keys(self, username: str, address: str) -> list[tuple[str, int]]:
        return [(LOGIN_PREFIX + key, limit) for key, limit in self._fallback.limited_keys(username, address)]

    def _usable(self) -> bool:
        return time.monotonic() >= self._retry_at

    def _failed(self, exc: Exception) -> None:
        if self._usable():
            log.warning("login throttle counted in this process only, Redis unreachable: %s", exc)
        self._retry_at = time.monotonic() + RETRY_AFTER_SECONDS

    async def wait(self, username: str, address: str) -> float | None:
        keys = self._keys(username, address)
        if self._usable():
            try:
                window_ms = int(self._fallback.window_seconds * 1000)
                limits = [n for _, n in keys]
                waited = await self._check(keys=[k for k, _ in keys], args=["", window_ms, *limits])
                return None if int(waited) < 0 else max(int(waited), 1) / 1000.0
            except (redis.RedisError, OSError) as exc:
                self._failed(exc)
        return self._fallback.retry_after(username, address)

    async def failure(self, username: str, address: str) -> None:
        self._fallback.failed(username, address)  # kept here too: it answers while Redis is away
        if self._usable():
            try:
                window_ms = int(self._fallback.window_seconds * 1000)
                keys = [k for k, _ in self._keys(username, address)]
                await self._count(keys=keys, args=[secrets.token_hex(8), window_ms])
            except (redis.RedisError, OSError) as exc:
                self._failed(exc)

    async def success(self, username: str, address: str) -> None:
        self._fallback.succeeded(username, address)
        if self._usable():
            user, _, account = (k for k, _ in self._keys(username, address))
            try:
                await self._redis.delete(user, account)
            except (redis.RedisError, OSError) as exc:
                self._failed(exc)

    async def close(self) -> None:
        await self._redis.aclose()
