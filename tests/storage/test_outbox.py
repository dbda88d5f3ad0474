"""The durable outbox: leases, retries and settlement, and senders that never share a message."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.models import Channel, DeliveryStatus, NewOutboxMessage, OutboxMessage
from bot.core.ports import NotFoundError
from bot.storage.uow import SqlUnitOfWork

from .factories import FakeClock, add_escalation

T0 = datetime(2024, 3, 1, 2, tzinfo=UTC)
LEASE = 60.0


def message(n: int = 0, *, due: datetime = T0, escalation_id: int | None = None) -> NewOutboxMessage:
    return NewOutboxMessage(
        channel=Channel.TELEGRAM,
        recipient=str(1000 + n),
        kind="officer_answer",
        payload={"text": f"答复 {n}", "ticket": "WJ000001", "buttons": [["满意", "不满意"]]},
        not_before=due,
        escalation_id=escalation_id,
    )


async def enqueue(make: Callable[[], SqlUnitOfWork], *messages: NewOutboxMessage) -> list[OutboxMessage]:
    async with make() as uow:
        queued = [await uow.outbox.enqueue(m) for m in messages]
        await uow.commit()
    return queued


async def lease(make: Callable[[], SqlUnitOfWork], now: datetime, limit: int = 10) -> list[OutboxMessage]:
    async with make() as uow:
        leased = await uow.outbox.lease_due(now, limit, LEASE)
        await uow.commit()
    return leased


async def stored(make: Callable[[], SqlUnitOfWork], message_id: int) -> OutboxMessage | None:
    async with make() as uow:
        return await uow.outbox.get(message_id)


async def test_enqueue_stores_a_pending_message_with_its_payload(
    uow_factory: Callable[[], SqlUnitOfWork], clock: FakeClock
) -> None:
    ticket = await add_escalation(uow_factory, clock)
    clock.current = T0 - timedelta(minutes=1)
    (queued,) = await enqueue(uow_factory, message(1, escalation_id=ticket.id))

    assert queued == OutboxMessage(
        id=queued.id,
        channel=Channel.TELEGRAM,
        recipient="1001",
        kind="officer_answer",
        payload={"text": "答复 1", "ticket": "WJ000001", "buttons": [["满意", "不满意"]]},
        status=DeliveryStatus.PENDING,
        attempts=0,
        next_attempt_at=T0,
        created_at=T0 - timedelta(minutes=1),
        escalation_id=ticket.id,
    )
    assert await stored(uow_factory, queued.id) == queued


async def test_lease_takes_due_messages_earliest_first_and_hides_them_for_the_lease(
    uow_factory: Callable[[], SqlUnitOfWork],
) -> None:
    late, early, future, middle = await enqueue(
        uow_factory,
        message(1, due=T0),
        message(2, due=T0 - timedelta(minutes=5)),
        message(3, due=T0 + timedelta(seconds=30)),
        message(4, due=T0 - timedelta(minutes=1)),
    )

    first = await lease(uow_factory, T0, limit=2)
    assert [m.id for m in first] == [early.id, middle.id]
    assert [(m.attempts, m.next_attempt_at, m.status) for m in first] == [
        (1, T0 + timedelta(seconds=LEASE), DeliveryStatus.PENDING)
    ] * 2
    second = await lease(uow_factory, T0 + timedelta(seconds=10))
    assert [(m.id, m.next_attempt_at) for m in second] == [(late.id, T0 + timedelta(seconds=70))]
    assert await lease(uow_factory, T0 + timedelta(seconds=10)) == []  # everything due is leased

    # The leases run out (the sender crashed): due again in due order, each attempt counted.
    again = await lease(uow_factory, T0 + timedelta(seconds=70))
    assert [(m.id, m.attempts) for m in again] == [
        (future.id, 1),
        (early.id, 2),
        (middle.id, 2),
        (late.id, 2),
    ]


async def test_a_lease_that_is_not_committed_leaves_the_messages_due(
    uow_factory: Callable[[], SqlUnitOfWork],
) -> None:
    (queued,) = await enqueue(uow_factory, message())
    async with uow_factory() as uow:
        assert len(await uow.outbox.lease_due(T0, 10, LEASE)) == 1
    assert [(m.id, m.attempts) for m in await lease(uow_factory, T0)] == [(queued.id, 1)]


async def test_retry_and_settle(uow_factory: Callable[[], SqlUnitOfWork], engine: AsyncEngine) -> None:
    sent, blocked, failed = await enqueue(uow_factory, message(1), message(2), message(3))
    await lease(uow_factory, T0)
    async with uow_factory() as uow:
        await uow.outbox.retry(sent.id, T0 + timedelta(minutes=2), "429: retry after 120")
        await uow.outbox.settle(blocked.id, DeliveryStatus.BLOCKED, T0, "403: bot was blocked by the user")
        await uow.commit()

    # The retried message waits for its retry time, although its lease ran out at T0 + 60 s; the
    # unsettled one comes back as soon as its lease runs out.
    expired = await lease(uow_factory, T0 + timedelta(minutes=1, seconds=59))
    assert [(m.id, m.attempts) for m in expired] == [(failed.id, 2)]
    retried = await lease(uow_factory, T0 + timedelta(minutes=2))
    assert [(m.id, m.attempts, m.last_error) for m in retried] == [(sent.id, 2, "429: retry after 120")]

    async with uow_factory() as uow:
        await uow.outbox.settle(sent.id, DeliveryStatus.SENT, T0 + timedelta(minutes=2))
        await uow.outbox.settle(failed.id, DeliveryStatus.FAILED, T0 + timedelta(minutes=3), "timeout")
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.outbox.counts() == {"pending": 0, "sent": 1, "blocked": 1, "failed": 1}
    after_sent = await stored(uow_factory, sent.id)
    assert after_sent is not None
    assert (after_sent.status, after_sent.attempts, after_sent.last_error) == (
        DeliveryStatus.SENT,
        2,
        "429: retry after 120",  # why the earlier attempt failed stays on record
    )
    after_blocked = await stored(uow_factory, blocked.id)
    assert after_blocked is not None
    assert (after_blocked.status, after_blocked.last_error) == (
        DeliveryStatus.BLOCKED,
        "403: bot was blocked by the user",
    )
    # Settled messages are never leased again.
    assert await lease(uow_factory, T0 + timedelta(days=1)) == []


async def test_the_first_settlement_stands(uow_factory: Callable[[], SqlUnitOfWork]) -> None:
    (queued,) = await enqueue(uow_factory, message())
    async with uow_factory() as uow:
        await uow.outbox.settle(queued.id, DeliveryStatus.SENT, T0)
        await uow.outbox.settle(queued.id, DeliveryStatus.FAILED, T0 + timedelta(minutes=1), "late report")
        await uow.outbox.retry(queued.id, T0 + timedelta(minutes=2), "late report")
        await uow.commit()
    after = await stored(uow_factory, queued.id)
    assert after is not None
    assert (after.status, after.last_error, after.next_attempt_at) == (DeliveryStatus.SENT, None, T0)

    async with uow_factory() as uow:
        with pytest.raises(NotFoundError):
            await uow.outbox.settle(queued.id + 1000, DeliveryStatus.SENT, T0)
        with pytest.raises(NotFoundError):
            await uow.outbox.retry(queued.id + 1000, T0, "x")
        with pytest.raises(ValueError):
            await uow.outbox.settle(queued.id, DeliveryStatus.PENDING, T0)


async def test_counts_has_every_status(uow_factory: Callable[[], SqlUnitOfWork]) -> None:
    async with uow_factory() as uow:
        assert await uow.outbox.counts() == {"pending": 0, "sent": 0, "blocked": 0, "failed": 0}
    await enqueue(uow_factory, message(1), message(2))
    async with uow_factory() as uow:
        assert await uow.outbox.counts() == {"pending": 2, "sent": 0, "blocked": 0, "failed": 0}


async def test_concurrent_senders_never_lease_the_same_message(
    uow_factory: Callable[[], SqlUnitOfWork],
) -> None:
    queued = await enqueue(uow_factory, *(message(n) for n in range(10)))

    batches = await asyncio.gather(*(lease(uow_factory, T0, limit=3) for _ in range(5)))

    leased = [m.id for batch in batches for m in batch]
    assert sorted(leased) == [m.id for m in queued]  # each exactly once
    assert all(len(batch) <= 3 for batch in batches)


async def test_postgres_skips_rows_another_sender_holds_instead_of_waiting(
    uow_factory: Callable[[], SqlUnitOfWork], engine: AsyncEngine
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers: a second sender waits for the first to commit")
    queued = await enqueue(uow_factory, *(message(n) for n in range(6)))

    async with uow_factory() as first:
        held = await first.outbox.lease_due(T0, 3, LEASE)
        # The first sender has not committed: its rows are locked, not yet moved.
        second = await asyncio.wait_for(lease(uow_factory, T0, limit=10), timeout=5)
        await first.commit()

    assert [m.id for m in held] == [m.id for m in queued[:3]]
    assert [m.id for m in second] == [m.id for m in queued[3:]]
    assert await lease(uow_factory, T0) == []
