"""Login throttling: too many failures for a user name from one address, from one address over all
user names, or for one account from anywhere (so guessing from many addresses locks the account too),
and the next attempts are refused for a while. In memory, per process; with REDIS_URL the counts are
shared by the replicas (bot/channels/web/limits_redis.py). The limits on asking live here too."""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from bot.channels.web.limits_redis import RedisAskLimiter, RedisLoginThrottle
    from bot.settings import Settings


class LoginThrottle:
    def __init__(
        self,
        *,
        per_user: int = 5,
        per_address: int = 30,
        per_account: int = 10,
        window_seconds: float = 15 * 60,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limits = {"user": per_user, "address": per_address, "account": per_account}
        self._window = window_seconds
        self._max_keys = max_keys
        self._clock = clock
        self._failures: OrderedDict[tuple[str, ...], deque[float]] = OrderedDict()

    def retry_after(self, username: str, address: str) -> float | None:
        """Seconds until another attempt is allowed, or None when it is allowed now."""
        waits = [self._wait(key, self._limits[kind]) for kind, key in self._keys(username, address)]
        blocked = [w for w in waits if w is not None]
        return max(blocked) if blocked else None

    def failed(self, username: str, address: str) -> None:
        now = self._clock()
        for _, key in self._keys(username, address):
            failures = self._failures.setdefault(key, deque())
            failures.append(now)
            self._failures.move_to_end(key)
        while len(self._failures) > self._max_keys:  # bounded memory under a spray of names
            self._failures.popitem(last=False)

    def succeeded(self, username: str, address: str) -> None:
        self._failures.pop(("user", username.casefold(), address), None)
        self._failures.pop(("account", username.casefold()), None)

    def limited_keys(self, username: str, address: str) -> list[tuple[str, int]]:
        """The counters one attempt goes into, each with its limit (for a shared store)."""
        return [(":".join(key), self._limits[kind]) for kind, key in self._keys(username, address)]

    @property
    def window_seconds(self) -> float:
        return self._window

    # The same, for callers that may be given a shared (Redis) throttle instead.
    async def wait(self, username: str, address: str) -> float | None:
        return self.retry_after(username, address)

    async def failure(self, username: str, address: str) -> None:
        self.failed(username, address)

    async def success(self, username: str, address: str) -> None:
        self.succeeded(username, address)

    async def close(self) -> None:
        return None

    def _keys(self, username: str, address: str) -> list[tuple[str, tuple[str, ...]]]:
        name = username.casefold()
        return [
            ("user", ("user", name, address)),
            ("address", ("address", address)),
            ("account", ("account", name)),
        ]

    def _wait(self, key: tuple[str, ...], limit: int) -> float | None:
        failures = self._failures.get(key)
        if not failures:
            return None
        now = self._clock()
        while failures and now - failures[0] >= self._window:
            failures.popleft()
        if not failures:
            del self._failures[key]
            return None
        if len(failures) < limit:
            return None
        return self._window - (now - failures[0])


ASKING_TOO_FAST = "您提问太频繁了，请稍等一会儿再问。紧急情况请直接拨打 110。"


# Questions a minute: one resident types a few; one address may be a school's or a family's network; a
# whole community's room asks a few hundred in a busy hour, a script thousands.
PER_RESIDENT = 20
PER_ADDRESS = 60
PER_COMMUNITY = 600
WINDOW_SECONDS = 60.0
KEYED_FACTOR = 10  # a site with an API key: ten times an address's questions


class AskLimiter:
    """How many questions one resident, one client address and one community may ask a minute (web
    room and API).

    A person types a few questions a minute; a script opening tickets types hundreds. Over the limit the
    caller is told to wait (HTTP 429 with Retry-After) and nothing is recorded or escalated. In memory,
    per process (bot/channels/web/limits_redis.py shares the counts between replicas through Redis)."""

    def __init__(
        self,
        *,
        per_resident: int = PER_RESIDENT,
        per_address: int = PER_ADDRESS,
        per_community: int = PER_COMMUNITY,
        window_seconds: float = WINDOW_SECONDS,
        max_keys: int = 50_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limits = {"resident": per_resident, "address": per_address, "community": per_community}
        self._window = window_seconds
        self._max_keys = max_keys
        self._clock = clock
        self._hits: OrderedDict[tuple[str, str], deque[float]] = OrderedDict()

    def limited_keys(
        self, resident: str, address: str, community: str | None, api_key: str | None = None
    ) -> list[tuple[str, int]]:
        """The counters one question goes into, each with its limit. A site calling with its API key
        asks for many residents from one server: it is counted per key, at KEYED_FACTOR times an
        address's limit, instead of per address."""
        by_caller = (
            (f"apikey:{api_key}", self._limits["address"] * KEYED_FACTOR)
            if api_key is not None
            else (f"address:{address}", self._limits["address"])
        )
        keys = [(f"resident:{resident}", self._limits["resident"]), by_caller]
        if community is not None:
            keys.append((f"community:{community}", self._limits["community"]))
        return keys

    @property
    def window_seconds(self) -> float:
        return self._window

    async def allow(
        self, resident: str, address: str, community: str | None = None, api_key: str | None = None
    ) -> float | None:
        """`hit` for callers that may be given a shared (Redis) limiter instead."""
        return self.hit(resident, address, community, api_key)

    async def close(self) -> None:
        return None

    def hit(
        self, resident: str, address: str, community: str | None = None, api_key: str | None = None
    ) -> float | None:
        """Count one question; seconds to wait (and the question not counted) when over a limit."""
        now = self._clock()
        limited = self.limited_keys(resident, address, community, api_key)
        keys = [(("key", key), limit) for key, limit in limited]
        waits = []
        for key, limit in keys:
            hits = self._hits.get(key)
            if hits is None:
                continue
            while hits and now - hits[0] >= self._window:
                hits.popleft()
            if len(hits) >= limit:
                waits.append(self._window - (now - hits[0]))
        if waits:
            return max(waits)
        for key, _ in keys:
            self._hits.setdefault(key, deque()).append(now)
            self._hits.move_to_end(key)
        while len(self._hits) > self._max_keys:
            self._hits.popitem(last=False)
        return None


class AskLimits(Protocol):
    """What the web room and the API ask of a limiter (AskLimiter here, RedisAskLimiter shared)."""

    async def allow(
        self, resident: str, address: str, community: str | None = None, api_key: str | None = None
    ) -> float | None: ...

    async def close(self) -> None: ...


class LoginLimits(Protocol):
    """What the login page asks of a throttle (LoginThrottle here, RedisLoginThrottle shared)."""

    async def wait(self, username: str, address: str) -> float | None: ...

    async def failure(self, username: str, address: str) -> None: ...

    async def success(self, username: str, address: str) -> None: ...

    async def close(self) -> None: ...


# The Redis client is imported only when REDIS_URL is set: a single process does without its few MB.
def login_limits_for(settings: Settings) -> LoginThrottle | RedisLoginThrottle:
    """Shared through Redis when REDIS_URL is set (guesses spread over replicas add up), else per process."""
    if settings.redis_url:
        from bot.channels.web.limits_redis import RedisLoginThrottle

        return RedisLoginThrottle(settings.redis_url)
    return LoginThrottle()


def ask_limits_for(settings: Settings) -> AskLimiter | RedisAskLimiter:
    """Shared through Redis when REDIS_URL is set (replicas count together), else per process."""
    if settings.redis_url:
        from bot.channels.web.limits_redis import RedisAskLimiter

        return RedisAskLimiter(settings.redis_url)
    return AskLimiter()
