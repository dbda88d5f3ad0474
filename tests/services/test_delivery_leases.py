"""A live sender keeps its messages: slow sends and long batches are never sent twice by another
sender, a hanging send is cut off and retried, and a stale sender's report changes nothing."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.models import Channel, DeliveryStatus, NewOutboxMessage, OutboxMessage
from bot.core.ports import DeliveryOutcome, DeliveryResult, UnitOfWorkFactory
from bot.services.delivery import DeliveryService
from bot.storage import UtcClock, create_engine, create_session_factory, make_uow_factory, migrate


class SlowChannel:
    """A channel whose every send takes `seconds` (a slow Bot API), recording who sent what."""

    def __init__(self, name: str, seconds: float, sent: list[tuple[str, int]]) -> None:
        self._name = name
        self._seconds = seconds
        self._sent = sent

    async def deliver(self, message: OutboxMessage) -> DeliveryResult:
        await asyncio.sleep(self._seconds)
        self._sent.append((self._name, message.id))
        return DeliveryResult(DeliveryOutcome.SENT)


@pytest.fixture
async def outbox(database_url: str) -> AsyncIterator[UnitOfWorkFactory]:
    await migrate(database_url)
    engine = create_engine(database_url)
    yield make_uow_factory(create_session_factory(engine), UtcClock())
    await engine.dispose()


async def enqueue(factory: UnitOfWorkFactory, count: int) -> None:
    async with factory() as uow:
        for n in range(count):
            await uow.outbox.enqueue(
                NewOutboxMessage(
                    channel=Channel.WEB,
                    recipient=f"resident-{n}",
                    kind="officer_answer",
                    payload={"n": n},
                    not_before=datetime.now(UTC),
                )
            )
        await uow.commit()


async def test_a_slow_batch_is_not_sent_again_by_a_second_sender(outbox: UnitOfWorkFactory) -> None:
    # One sender leases all six; sending them one after another takes 3 s, twice the lease. Without
    # renewal the second sender would lease the last ones again after 1.5 s and send them too. (A
    # shorter lease leaves too little room for a database round trip on a loaded machine: renewals
    # come every third of the lease, and a stall longer than two thirds lets one lapse.)
    await enqueue(outbox, 6)
    sent: list[tuple[str, int]] = []
    senders = [
        DeliveryService(outbox, UtcClock(), {Channel.WEB: SlowChannel(name, 0.5, sent)}, lease_seconds=1.5)
        for name in "AB"
    ]
    first = asyncio.create_task(senders[0].run_once())
    await asyncio.sleep(0.05)
    stop = asyncio.Event()
    second = asyncio.create_task(senders[1].run(stop, idle_seconds=0.05))
    assert await asyncio.wait_for(first, 20) == 6
    await asyncio.sleep(2.0)  # past a lease the first sender would have let run out
    stop.set()
    await asyncio.wait_for(second, 10)

    assert Counter(message for _, message in sent) == {n: 1 for n in range(1, 7)}
    assert {name for name, _ in sent} == {"A"}
    async with outbox() as uow:
        assert (await uow.outbox.counts())["sent"] == 6


async def test_a_send_that_hangs_is_cut_off_and_retried(outbox: UnitOfWorkFactory) -> None:
    await enqueue(outbox, 1)

    class Hanging:
        async def deliver(self, message: OutboxMessage) -> DeliveryResult:
            await asyncio.Event().wait()
            raise AssertionError("unreachable")

    delivery = DeliveryService(
        outbox, UtcClock(), {Channel.WEB: Hanging()}, lease_seconds=10, send_timeout_seconds=0.2
    )
    assert await asyncio.wait_for(delivery.run_once(), 5) == 1
    async with outbox() as uow:
        message = await uow.outbox.get(1)
    assert message is not None and message.status is DeliveryStatus.PENDING
    assert message.last_error == "no answer within 0.2 s"


async def test_a_stale_senders_report_changes_nothing(outbox: UnitOfWorkFactory) -> None:
    await enqueue(outbox, 1)
    now = datetime.now(UTC)
    async with outbox() as uow:
        (stale,) = await uow.outbox.lease_due(now, 10, 1)
        await uow.commit()
    async with outbox() as uow:  # the lease ran out: another sender takes the message
        (fresh,) = await uow.outbox.lease_due(now + timedelta(seconds=2), 10, 60)
        await uow.commit()
    assert fresh.attempts == stale.attempts + 1
    async with outbox() as uow:
        assert not await uow.outbox.renew(1, stale.attempts, now + timedelta(seconds=60))
        await uow.outbox.settle(1, DeliveryStatus.FAILED, now, "late report", attempt=stale.attempts)
        await uow.outbox.retry(1, now, "late retry", attempt=stale.attempts)
        await uow.commit()
    async with outbox() as uow:
        message = await uow.outbox.get(1)
        assert message is not None and message.status is DeliveryStatus.PENDING
        assert message.last_error is None and message.next_attempt_at > now + timedelta(seconds=30)
        assert await uow.outbox.renew(1, fresh.attempts, now + timedelta(seconds=120))
        await uow.outbox.settle(1, DeliveryStatus.SENT, now, attempt=fresh.attempts)
        await uow.commit()
    async with outbox() as uow:
        message = await uow.outbox.get(1)
        assert message is not None and message.status is DeliveryStatus.SENT


def test_a_send_must_end_before_its_lease() -> None:
    with pytest.raises(ValueError, match="lease"):
        DeliveryService(lambda: None, UtcClock(), {}, lease_seconds=10, send_timeout_seconds=10)  # type: ignore[arg-type]


async def test_the_outbox_gives_up_after_its_maximum_attempts(outbox: UnitOfWorkFactory) -> None:
    await enqueue(outbox, 1)

    class Later:
        def __init__(self) -> None:
            self.offset = timedelta()

        def now(self) -> datetime:
            return datetime.now(UTC) + self.offset

    class Failing:
        calls = 0

        async def deliver(self, message: OutboxMessage) -> DeliveryResult:
            Failing.calls += 1
            return DeliveryResult(DeliveryOutcome.RETRY, error="502 from the channel")

    clock = Later()
    delivery = DeliveryService(outbox, clock, {Channel.WEB: Failing()}, max_attempts=3)
    for _ in range(5):
        await delivery.run_once()
        clock.offset += timedelta(hours=1)  # past any back-off
    assert Failing.calls == 3
    async with outbox() as uow:
        message = await uow.outbox.get(1)
    assert message is not None and message.status is DeliveryStatus.FAILED
    assert message.attempts == 3 and message.last_error == "502 from the channel"
