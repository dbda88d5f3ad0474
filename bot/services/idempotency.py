"""Idempotency-Key for API callers: a retried request gets the first one's response and records
nothing new (a client whose connection dropped after sending cannot know whether its question was
recorded; with a key it can simply send it again)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from bot.core.ports import Clock, UnitOfWorkFactory

KEEP_FOR = timedelta(hours=24)  # a key is remembered this long
ABANDONED_AFTER = timedelta(seconds=60)  # a first request unfinished this long crashed: start again


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: str  # "owned" (handle it, then finish or abandon) | "replay" | "mismatch" | "in_progress"
    key: str = ""  # the stored key (a hash) for finish/abandon
    response: str | None = None  # for "replay": the first response, as sent


class IdempotencyService:
    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow_factory
        self._clock = clock

    async def begin(self, scope: str, key: str, body: bytes) -> Outcome:
        """`scope` keeps callers' keys apart (the endpoint); the same key with another body is a
        mismatch, never a replay of someone else's answer."""
        stored = hashlib.sha256(f"{scope}\x00{key}".encode()).hexdigest()
        fingerprint = hashlib.sha256(body).hexdigest()
        now = self._clock.now()
        for _ in range(2):  # once more after removing an abandoned claim
            async with self._uow() as uow:
                record = await uow.idempotency.claim(stored, fingerprint, now)
                if record is None:
                    await uow.idempotency.prune(now - KEEP_FOR)
                    await uow.commit()
                    return Outcome("owned", stored)
                if record.fingerprint != fingerprint:
                    return Outcome("mismatch")
                if record.response is not None:
                    return Outcome("replay", response=record.response)
                if now - record.created_at < ABANDONED_AFTER:
                    return Outcome("in_progress")
                await uow.idempotency.release(stored)
                await uow.commit()
        return Outcome("in_progress")

    async def finish(self, key: str, response: str) -> None:
        async with self._uow() as uow:
            await uow.idempotency.complete(key, response)
            await uow.commit()

    async def abandon(self, key: str) -> None:
        async with self._uow() as uow:
            await uow.idempotency.release(key)
            await uow.commit()
