"""The one statement the metrics read at every scrape: what waits in the outbox, the webhook inbox and
the officers' queue, and nothing that is done."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.models import Channel, DeliveryStatus, NewOutboxMessage
from bot.storage.exports import backlog
from bot.storage.uow import SqlUnitOfWork
from tests.storage.factories import FakeClock, add_escalation

T0 = datetime(2024, 3, 1, 2, tzinfo=UTC)


def outgoing(n: int) -> NewOutboxMessage:
    return NewOutboxMessage(Channel.TELEGRAM, str(1000 + n), "reminder", {"text": f"#{n}"}, not_before=T0)


async def enqueue_at(make: Callable[[], SqlUnitOfWork], clock: FakeClock, at: datetime, n: int) -> int:
    clock.current = at
    async with make() as uow:
        queued = await uow.outbox.enqueue(outgoing(n))
        await uow.commit()
    return queued.id


async def test_an_empty_database_has_no_backlog(engine: AsyncEngine) -> None:
    empty = await backlog(engine)
    assert (empty.outbox_pending, empty.outbox_oldest, empty.inbox_pending) == (0, None, 0)
    assert empty.open_escalations == {"open": 0, "claimed": 0}


async def test_only_what_still_waits_is_counted(
    engine: AsyncEngine, uow_factory: Callable[[], SqlUnitOfWork], clock: FakeClock
) -> None:
    sent = await enqueue_at(uow_factory, clock, T0, 1)
    await enqueue_at(uow_factory, clock, T0 + timedelta(hours=1), 2)
    await enqueue_at(uow_factory, clock, T0 + timedelta(hours=2), 3)
    async with uow_factory() as uow:
        await uow.outbox.settle(sent, DeliveryStatus.SENT, T0 + timedelta(hours=3))
        for update_id in (11, 12, 13):
            await uow.updates.accept(update_id, {"update_id": update_id}, T0, 60.0)
        await uow.updates.finish(11, T0)
        await uow.commit()
    await add_escalation(uow_factory, clock)

    waiting = await backlog(engine)
    assert waiting.outbox_pending == 2
    assert waiting.outbox_oldest == T0 + timedelta(hours=1)  # the sent one, older, no longer counts
    assert waiting.outbox_oldest.tzinfo is not None
    assert waiting.inbox_pending == 2
    assert waiting.open_escalations == {"open": 1, "claimed": 0}
