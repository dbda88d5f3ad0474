from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.ports import IdempotentRecord
from bot.storage.tables import IdempotentRequestRow


class SqlIdempotencyStore:
    """API requests sent with an Idempotency-Key. claim() is the atomic first step: the primary key lets
    exactly one transaction store a key; every other one reads what is there (the finished response,
    or a claim still being worked on)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def claim(self, key: str, fingerprint: str, at: datetime) -> IdempotentRecord | None:
        """None: the caller owns the key now. Else the record stored under it before."""
        try:
            async with self._session.begin_nested():
                await self._session.execute(
                    insert(IdempotentRequestRow).values(
                        key_hash=key, fingerprint=fingerprint, response=None, created_at=at
                    )
                )
        except IntegrityError:
            row = await self._session.get(IdempotentRequestRow, key, populate_existing=True)
            if row is None:  # removed in between: the caller may try again
                return IdempotentRecord(fingerprint, None, at)
            return IdempotentRecord(row.fingerprint, row.response, row.created_at)
        return None

    async def complete(self, key: str, response: str) -> None:
        await self._session.execute(
            update(IdempotentRequestRow).where(IdempotentRequestRow.key_hash == key).values(response=response)
        )

    async def release(self, key: str) -> None:
        await self._session.execute(delete(IdempotentRequestRow).where(IdempotentRequestRow.key_hash == key))

    async def prune(self, before: datetime, limit: int = 500) -> int:
        old = (
            select(IdempotentRequestRow.key_hash).where(IdempotentRequestRow.created_at < before).limit(limit)
        )
        keys = list(await self._session.scalars(old))
        if keys:
            await self._session.execute(
                delete(IdempotentRequestRow).where(IdempotentRequestRow.key_hash.in_(keys))
            )
        return len(keys)
