"""Outgoing rate limits, so Telegram never has to tell us to slow down (and when it does, we listen).

Telegram's published limits: about one message per second to the same chat, at most 20 messages a
minute to the same group, about 30 messages a second overall. We keep a margin below the last one.
Group and channel chat ids are negative, private chats positive: that is how a group is told apart
without asking the API.

The limiter only looks at sends that already happened (its windows hold past timestamps), so a
check followed by a record, with no await in between, is atomic under asyncio.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limits:
    per_chat_interval: float = 1.0  # seconds between two messages to one chat
    group_per_minute: int = 20
    overall_per_second: int = 25


class RateLimiter:
    def __init__(
        self,
        limits: Limits | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.limits = limits or Limits()
        self._clock = clock
        self._sleep = sleep
        self._last_by_chat: dict[int, float] = {}
        self._group_windows: dict[int, deque[float]] = {}
        self._overall: deque[float] = deque()
        self._paused_until: dict[int, float] = {}  # Telegram's retry_after, per chat
        self._records = 0

    def delay(self, chat_id: int) -> float:
        """Seconds to wait before a message to `chat_id` may go out; 0 when it may go now."""
        now = self._clock()
        limits = self.limits
        waits = [self._paused_until.get(chat_id, now) - now]
        last = self._last_by_chat.get(chat_id)
        if last is not None:
            waits.append(last + limits.per_chat_interval - now)
        overall = self._overall
        while overall and overall[0] <= now - 1.0:
            overall.popleft()
        if len(overall) >= limits.overall_per_second:
            waits.append(overall[-limits.overall_per_second] + 1.0 - now)
        if chat_id < 0:
            window = self._group_windows.get(chat_id)
            if window is not None:
                while window and window[0] <= now - 60.0:
                    window.popleft()
                if len(window) >= limits.group_per_minute:
                    waits.append(window[-limits.group_per_minute] + 60.0 - now)
        return max(0.0, *waits)

    def record(self, chat_id: int) -> None:
        """A message to `chat_id` is going out now."""
        now = self._clock()
        self._last_by_chat[chat_id] = now
        self._overall.append(now)
        if chat_id < 0:
            self._group_windows.setdefault(chat_id, deque()).append(now)
        self._records += 1
        if self._records % 1024 == 0:
            self._forget_idle(now)

    async def acquire(self, chat_id: int) -> None:
        """Wait until a message to `chat_id` is allowed, and count it."""
        while (wait := self.delay(chat_id)) > 0:
            await self._sleep(wait)
        self.record(chat_id)

    def pause(self, chat_id: int, seconds: float) -> None:
        """Telegram said retry_after: nothing goes to that chat until then."""
        until = self._clock() + seconds
        self._paused_until[chat_id] = max(until, self._paused_until.get(chat_id, until))

    def _forget_idle(self, now: float) -> None:
        # Chats not written to for a minute constrain nothing: drop them so memory stays bounded.
        horizon = now - 60.0
        for chat_id in [c for c, t in self._last_by_chat.items() if t <= horizon]:
            del self._last_by_chat[chat_id]
            self._group_windows.pop(chat_id, None)
        for chat_id in [c for c, t in self._paused_until.items() if t <= now]:
            del self._paused_until[chat_id]
