from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.tables import TelegramUpdateRow


class SqlUpdateInbox:
    """Telegram updates received by the webhook. accept() is the atomic claim: the primary key on
    update_id lets exactly one transaction store an update; every other one is told it is a duplicate.
    The receiver commits the accept before answering Telegram, processes the update, then finish()es
    it; an update whose claim runs out unfinished (the replica crashed) is lease()d again."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def accept(
        self, update_id: int, payload: Mapping[str, Any], at: datetime, lease_seconds: float
    ) -> bool:
        """Store the update, claimed for `lease_seconds`; False if it was stored before. The INSERT
        runs in a SAVEPOINT, so a duplicate leaves the rest of the transaction usable. On PostgreSQL a
        concurrent accept of the same id waits for the first to commit, then fails as a duplicate."""
        try:
            async with self._session.begin_nested():
                await self._session.execute(
                    insert(TelegramUpdateRow).values(
                        update_id=update_id,
                        payload=dict(payload),
                        received_at=at,
                        claimed_until=at + timedelta(seconds=lease_seconds),
                        processed_at=None,
                    )
                )
        except IntegrityError:
            return False
        return True

    async def lease(
        self, now: datetime, limit: int, lease_seconds: float
    ) -> list[tuple[int, dict[str, Any]]]:
        """Unprocessed updates whose claim ran out by `now`, oldest first, claimed again for
        `lease_seconds`. FOR UPDATE SKIP LOCKED on PostgreSQL: concurrent recoverers never share one
        (SQLite ignores it and lets one writer in at a time)."""
        ids = list(
            await self._session.scalars(
                select(TelegramUpdateRow.update_id)
                .where(TelegramUpdateRow.processed_at.is_(None), TelegramUpdateRow.claimed_until <= now)
                .order_by(TelegramUpdateRow.update_id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        if not ids:
            return []
        await self._session.execute(
            update(TelegramUpdateRow)
            .where(TelegramUpdateRow.update_id.in_(ids))
            .values(claimed_until=now + timedelta(seconds=lease_seconds))
            .execution_options(synchronize_session=False)
        )
        rows = await self._session.execute(
            select(TelegramUpdateRow.update_id, TelegramUpdateRow.payload)
            .where(TelegramUpdateRow.update_id.in_(ids))
            .order_by(TelegramUpdateRow.update_id)
        )
        return [(update_id, payload) for update_id, payload in rows.tuples()]

    async def finish(self, update_id: int, at: datetime) -> None:
        """Mark the update processed (the first time counts); its payload is no longer needed."""
        await self._session.execute(
            update(TelegramUpdateRow)
            .where(TelegramUpdateRow.update_id == update_id, TelegramUpdateRow.processed_at.is_(None))
            .values(processed_at=at, payload={})
            .execution_options(synchronize_session=False)
        )

    async def prune(self, before: datetime) -> int:
        """Forget updates processed before `before`; returns how many. Telegram does not redeliver
        an update a day later, so a day's worth of ids is plenty to recognise duplicates."""
        result = await self._session.execute(
            delete(TelegramUpdateRow)
            .where(TelegramUpdateRow.processed_at.is_not(None), TelegramUpdateRow.processed_at < before)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def pending(self) -> int:
        """Not in the port: unprocessed updates, for tests and diagnostics."""
        count = await self._session.scalar(
            select(func.count())
            .select_from(TelegramUpdateRow)
            .where(TelegramUpdateRow.processed_at.is_(None))
        )
        return int(count or 0)
