"""Cross-cutting concerns only: who is acting, which language, flood control, work in flight.

No decisions about the police work are made here; handlers and services make them.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Chat, Message, TelegramObject, Update, User

from bot.channels.telegram.adapters import PrefsService, resident_ref
from bot.channels.telegram.texts import ZH, Translator
from bot.core.models import ResidentPrefs, ResidentRef, Staff
from bot.services.officers import OfficerService

log = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class Actor:
    """Who sent this update, resolved lazily and at most once per update: a resident's preferences
    or a staff member's allowlist entry cost a database read only when a filter or handler asks."""

    __slots__ = ("_officers", "_prefs", "_prefs_service", "_staff", "_staff_known", "chat", "user")

    def __init__(
        self, user: User | None, chat: Chat | None, officers: OfficerService, prefs_service: PrefsService
    ) -> None:
        self.user = user
        self.chat = chat
        self._officers = officers
        self._prefs_service = prefs_service
        self._staff: Staff | None = None
        self._staff_known = False
        self._prefs: ResidentPrefs | None = None

    @property
    def private(self) -> bool:
        return self.chat is not None and self.chat.type == "private"

    @property
    def resident(self) -> ResidentRef:
        if self.user is None:
            raise LookupError("this update has no user")
        return resident_ref(self.user.id)

    async def staff(self) -> Staff | None:
        """The active allowlist entry for this Telegram account; None for everybody else."""
        if not self._staff_known:
            if self.user is not None and not self.user.is_bot:
                self._staff = await self._officers.staff_by_telegram(self.user.id)
            self._staff_known = True
        return self._staff

    async def prefs(self) -> ResidentPrefs:
        if self._prefs is None:
            self._prefs = (
                await self._prefs_service.get(self.resident) if self.user is not None else ResidentPrefs()
            )
        return self._prefs


class ActorMiddleware(BaseMiddleware):
    """Outer, on updates: puts the lazily resolved `actor` into the handler data."""

    def __init__(self, officers: OfficerService, prefs_service: PrefsService) -> None:
        self._officers = officers
        self._prefs_service = prefs_service

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        chat: Chat | None = data.get("event_chat")
        data["actor"] = Actor(user, chat, self._officers, self._prefs_service)
        return await handler(event, data)


class LanguageMiddleware(BaseMiddleware):
    """Outer, on updates, after ActorMiddleware: the translator `t` for this update. Residents choose
    their language (/lang); the officers' groups and admins work in Chinese."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        actor: Actor = data["actor"]
        data["t"] = Translator((await actor.prefs()).language) if actor.private and actor.user else ZH
        return await handler(event, data)


class InFlight(BaseMiddleware):
    """Outer, on updates: lets shutdown wait for handlers still running, and tells which updates
    are done, so that the polling offset can be confirmed for exactly those before exit."""

    def __init__(self) -> None:
        self._running: dict[int, asyncio.Future[None]] = {}
        self.last_done: int | None = None

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        update_id = event.update_id if isinstance(event, Update) else None
        if update_id is None:
            return await handler(event, data)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._running[update_id] = done
        try:
            return await handler(event, data)
        finally:
            del self._running[update_id]
            done.set_result(None)
            self.last_done = max(update_id, self.last_done or update_id)

    async def drain(self, timeout: float) -> None:
        if self._running:
            await asyncio.wait(list(self._running.values()), timeout=timeout)

    def confirmable(self) -> int | None:
        """The highest update id up to which everything has finished (updates start in id order,
        so everything below the lowest one still running is done)."""
        return min(self._running) - 1 if self._running else self.last_done


class ResidentThrottle(BaseMiddleware):
    """Inner, on the residents' router: at most `rate` events per `per` seconds from one person.
    The first event over the limit gets a polite word; the rest are dropped quietly."""

    def __init__(self, rate: int = 8, per: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.per = per
        self._clock = clock
        self._seen: dict[int, deque[float]] = {}
        self._warned: dict[int, float] = {}
        self._events = 0

    def allow(self, user_id: int) -> bool:
        now = self._clock()
        window = self._seen.setdefault(user_id, deque())
        while window and window[0] <= now - self.per:
            window.popleft()
        self._events += 1
        if self._events % 4096 == 0:
            self._forget_idle(now)
        if len(window) >= self.rate:
            return False
        window.append(now)
        self._warned.pop(user_id, None)
        return True

    def should_warn(self, user_id: int) -> bool:
        now = self._clock()
        if user_id in self._warned and now - self._warned[user_id] < self.per:
            return False
        self._warned[user_id] = now
        return True

    # The middleware asks through these two, so a shared variant (RedisResidentThrottle) can count
    # across replicas by overriding them.
    async def check(self, user_id: int) -> bool:
        return self.allow(user_id)

    async def check_warn(self, user_id: int) -> bool:
        return self.should_warn(user_id)

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        if user is None or await self.check(user.id):
            return await handler(event, data)
        if await self.check_warn(user.id):
            t: Translator = data.get("t", ZH)
            if isinstance(event, Message):
                await event.answer(t("slow_down"))
            elif isinstance(event, CallbackQuery):
                await event.answer(t.plain("slow_down"))
        elif isinstance(event, CallbackQuery):
            await event.answer()  # stop the button's spinner
        return None

    def _forget_idle(self, now: float) -> None:
        for user_id in [u for u, w in self._seen.items() if not w or w[-1] <= now - self.per]:
            del self._seen[user_id]
            self._warned.pop(user_id, None)


class RedisResidentThrottle(ResidentThrottle):
    """ResidentThrottle counted in Redis, so the limit holds across replicas: one counter per person
    and fixed window of `per` seconds (INCR, EXPIRE), and one warning per window (SET NX EX). If Redis
    cannot be reached the resident is let through: flood control must not take the bot down."""

    PREFIX = "policebot:throttle"

    def __init__(
        self, redis: Any, rate: int = 8, per: float = 10.0, clock: Callable[[], float] = time.time
    ) -> None:
        super().__init__(rate, per, clock)
        self._redis = redis
        self._ttl = max(1, math.ceil(per))

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> RedisResidentThrottle:
        from redis.asyncio import Redis

        return cls(Redis.from_url(url), **kwargs)

    async def check(self, user_id: int) -> bool:
        window = int(self._clock() // self.per)
        key = f"{self.PREFIX}:{user_id}:{window}"
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incr(key)
                pipe.expire(key, self._ttl + 1)
                count, _ = await pipe.execute()
        except Exception:
            log.warning("throttle: Redis unavailable, letting the update through", exc_info=True)
            return True
        return int(count) <= self.rate

    async def check_warn(self, user_id: int) -> bool:
        try:
            return bool(await self._redis.set(f"{self.PREFIX}:warned:{user_id}", 1, nx=True, ex=self._ttl))
        except Exception:
            return False

    async def close(self) -> None:
        await self._redis.aclose()
