from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.models import Channel, DeliveryStatus, NewOutboxMessage, OutboxMessage
from bot.core.ports import Clock, NotFoundError
from bot.storage.tables import OutboxRow
from bot.storage.types import as_utc

PENDING = DeliveryStatus.PENDING.value


class SqlOutboxRepository:
    """A message is pending until settled as sent, blocked or failed. Leasing only moves its next
    attempt ahead: a sender that crashes mid-send leaves it pending, and it is due again once the lease
    runs out. Senders commit the lease at once, then send, then settle or retry in a new transaction.

    Settling or retrying a message that is no longer pending changes nothing: the first settlement
    stands (a sender whose lease ran out may report after another sender already did). Given the
    attempt it leased, a sender's report counts only while that lease is still its own."""

    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self._session = session
        self._clock = clock

    async def enqueue(self, message: NewOutboxMessage) -> OutboxMessage:
        row = OutboxRow(
            channel=message.channel.value,
            recipient=message.recipient,
            kind=message.kind,
            payload=dict(message.payload),
            status=PENDING,
            attempts=0,
            next_attempt_at=message.not_before,
            # NewOutboxMessage carries no creation time, so the injected clock supplies it.
            created_at=self._clock.now(),
            escalation_id=message.escalation_id,
        )
        self._session.add(row)
        await self._session.flush()
        return to_message(row)

    async def lease_due(self, now: datetime, limit: int, lease_seconds: float) -> list[OutboxMessage]:
        """Earliest due first. On PostgreSQL the SELECT takes row locks and skips rows another sender
        has locked (FOR UPDATE SKIP LOCKED), so concurrent senders neither wait for nor share a
        message; once that sender commits, the moved next_attempt_at keeps the rows out of later
        leases. SQLite drops FOR UPDATE, and needs none: BEGIN IMMEDIATE lets one writer at a time in."""
        ids = list(
            await self._session.scalars(
                select(OutboxRow.id)
                .where(OutboxRow.status == PENDING, OutboxRow.next_attempt_at <= now)
                .order_by(OutboxRow.next_attempt_at, OutboxRow.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        if not ids:
            return []
        await self._session.execute(
            update(OutboxRow)
            .where(OutboxRow.id.in_(ids))
            .values(next_attempt_at=now + timedelta(seconds=lease_seconds), attempts=OutboxRow.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        rows = {
            row.id: row
            for row in await self._session.scalars(
                select(OutboxRow).where(OutboxRow.id.in_(ids)).execution_options(populate_existing=True)
            )
        }
        return [to_message(rows[i]) for i in ids]

    async def renew(self, message_id: int, attempt: int, until: datetime) -> bool:
        result = await self._session.execute(
            update(OutboxRow)
            .where(OutboxRow.id == message_id, OutboxRow.status == PENDING, OutboxRow.attempts == attempt)
            .values(next_attempt_at=until)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def settle(
        self,
        message_id: int,
        status: DeliveryStatus,
        at: datetime,
        error: str | None = None,
        attempt: int | None = None,
    ) -> None:
        """`error` None keeps the last recorded error (a message sent on a retry still shows why the
        earlier attempt failed)."""
        if status is DeliveryStatus.PENDING:
            raise ValueError("settle to sent, blocked or failed; use retry() to try again")
        values: dict[str, Any] = {"status": status.value, "settled_at": at}
        if error is not None:
            values["last_error"] = error
        await self._update_pending(message_id, values, attempt)

    async def retry(
        self, message_id: int, next_attempt_at: datetime, error: str, attempt: int | None = None
    ) -> None:
        await self._update_pending(
            message_id, {"next_attempt_at": next_attempt_at, "last_error": error}, attempt
        )

    async def counts(self) -> dict[str, int]:
        rows = await self._session.execute(select(OutboxRow.status, func.count()).group_by(OutboxRow.status))
        counted = {status: n for status, n in rows.tuples()}
        return {status.value: counted.get(status.value, 0) for status in DeliveryStatus}

    async def get(self, message_id: int) -> OutboxMessage | None:
        """Not in the port: for tests and diagnostics."""
        row = await self._session.scalar(
            select(OutboxRow).where(OutboxRow.id == message_id).execution_options(populate_existing=True)
        )
        return None if row is None else to_message(row)

    async def _update_pending(
        self, message_id: int, values: dict[str, Any], attempt: int | None = None
    ) -> None:
        pending: ColumnElement[bool] = OutboxRow.status == PENDING
        if attempt is not None:  # a sender whose lease was taken over reports into the void
            pending = pending & (OutboxRow.attempts == attempt)
        result = await self._session.execute(
            update(OutboxRow)
            .where(OutboxRow.id == message_id, pending)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if not result.rowcount and await self._session.get(OutboxRow, message_id) is None:  # type: ignore[attr-defined]
            raise NotFoundError(f"outbox message {message_id} does not exist")


def to_message(row: OutboxRow) -> OutboxMessage:
    return OutboxMessage(
        id=row.id,
        channel=Channel(row.channel),
        recipient=row.recipient,
        kind=row.kind,
        payload=row.payload,
        status=DeliveryStatus(row.status),
        attempts=row.attempts,
        next_attempt_at=as_utc(row.next_attempt_at),
        created_at=as_utc(row.created_at),
        escalation_id=row.escalation_id,
        last_error=row.last_error,
    )
