"""Two replicas' delivery loops draining one outbox on PostgreSQL at once: every message is sent
exactly once, and both take part (leases taken FOR UPDATE SKIP LOCKED)."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime

from bot.core.models import Channel, NewOutboxMessage, OutboxMessage
from bot.core.ports import DeliveryOutcome, DeliveryResult, Notifier
from bot.services.delivery import DeliveryService
from bot.storage import UtcClock, create_engine, create_session_factory, make_uow_factory, migrate

MESSAGES = 200


class Recorder(Notifier):
    def __init__(self, name: str, sent: list[tuple[str, int]]) -> None:
        self._name = name
        self._sent = sent

    async def deliver(self, message: OutboxMessage) -> DeliveryResult:
        await asyncio.sleep(0.001)  # a network send: lets the other replica's loop run meanwhile
        self._sent.append((self._name, message.id))
        return DeliveryResult(DeliveryOutcome.SENT)


async def test_two_delivery_services_send_each_message_exactly_once(pg_url: str) -> None:
    await migrate(pg_url)
    engines = [create_engine(pg_url), create_engine(pg_url)]  # two processes' connection pools
    try:
        factories = [make_uow_factory(create_session_factory(e), UtcClock()) for e in engines]
        now = datetime.now(UTC)
        async with factories[0]() as uow:
            for n in range(MESSAGES):
                await uow.outbox.enqueue(
                    NewOutboxMessage(
                        channel=Channel.WEB,
                        recipient=f"resident-{n % 7}",
                        kind="officer_answer",
                        payload={"n": n},
                        not_before=now,
                    )
                )
            await uow.commit()

        for factory in factories:  # connections ready, so both loops lease from the first moment
            async with factory() as uow:
                await uow.outbox.counts()
        sent: list[tuple[str, int]] = []
        services = [
            DeliveryService(factory, UtcClock(), {Channel.WEB: Recorder(name, sent)})
            for name, factory in zip("AB", factories, strict=True)
        ]
        stop = asyncio.Event()
        loops = [asyncio.create_task(s.run(stop, idle_seconds=0.02)) for s in services]
        async with asyncio.timeout(20):
            while len(sent) < MESSAGES:
                await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)  # anything sent twice would show up now
        stop.set()
        await asyncio.gather(*loops)

        per_message = Counter(message_id for _, message_id in sent)
        assert len(per_message) == MESSAGES and set(per_message.values()) == {1}
        per_replica = Counter(name for name, _ in sent)
        assert per_replica["A"] > 0 and per_replica["B"] > 0, per_replica
        async with factories[1]() as uow:
            assert await uow.outbox.counts() == {"pending": 0, "sent": MESSAGES, "blocked": 0, "failed": 0}
    finally:
        for engine in engines:
            await engine.dispose()
