"""Draining the outbox: every message is sent at least once, at most once per success.

Messages are leased (not deleted) before sending, so a process killed mid-send leaves them to be
picked up again when the lease runs out. A channel's notifier reports what happened; this service
decides: settle, retry later (honouring retry_after), or stop for good (blocked, undeliverable).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from datetime import timedelta

from bot.core.models import Channel, DeliveryStatus, OutboxMessage, ResidentRef
from bot.core.ports import Clock, DeliveryOutcome, DeliveryResult, Notifier, UnitOfWorkFactory

log = logging.getLogger(__name__)

RESIDENT_KINDS = frozenset({"officer_answer", "rating_request"})


class DeliveryService:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        notifiers: Mapping[Channel, Notifier],
        *,
        max_attempts: int = 10,
        lease_seconds: float = 60.0,
        max_backoff_seconds: float = 600.0,
    ) -> None:
        self._uow = uow_factory
        self._clock = clock
        self._notifiers = dict(notifiers)
        self._max_attempts = max_attempts
        self._lease = lease_seconds
        self._max_backoff = max_backoff_seconds

    async def run_once(self, limit: int = 20) -> int:
        """Send what is due now; returns how many messages were handled."""
        async with self._uow() as uow:
            due = await uow.outbox.lease_due(self._clock.now(), limit, self._lease)
            await uow.commit()
        for message in due:
            await self._send(message)
        return len(due)

    async def run(self, stop: asyncio.Event, idle_seconds: float = 1.0) -> None:
        while not stop.is_set():
            try:
                handled = await self.run_once()
            except Exception:  # the database may be briefly unreachable: keep the loop alive
                log.exception("outbox pass failed; retrying")
                handled = 0
            if not handled:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=idle_seconds)

    async def _send(self, message: OutboxMessage) -> None:
        notifier = self._notifiers.get(message.channel)
        if notifier is None:
            # Not configured in this process (e.g. Telegram without a token): leave it pending.
            async with self._uow() as uow:
                later = self._clock.now() + timedelta(seconds=self._max_backoff)
                await uow.outbox.retry(message.id, later, "channel not enabled")
                await uow.commit()
            return
        try:
            result = await notifier.deliver(message)
        except Exception as exc:  # a notifier bug must not stop the others
            log.exception("notifier for %s raised", message.channel)
            result = DeliveryResult(DeliveryOutcome.RETRY, error=f"{type(exc).__name__}: {exc}")
        await self._settle(message, result)

    async def _settle(self, message: OutboxMessage, result: DeliveryResult) -> None:
        now = self._clock.now()
        async with self._uow() as uow:
            if result.outcome is DeliveryOutcome.SENT:
                await uow.outbox.settle(message.id, DeliveryStatus.SENT, now)
                if result.posted and message.escalation_id and message.kind == "escalation_post":
                    await uow.escalations.add_post(message.escalation_id, *result.posted)
            elif result.outcome is DeliveryOutcome.BLOCKED:
                await uow.outbox.settle(message.id, DeliveryStatus.BLOCKED, now, result.error)
                if message.kind in RESIDENT_KINDS:
                    await uow.residents.set_blocked(ResidentRef(message.channel, message.recipient), True)
            elif result.outcome is DeliveryOutcome.FAILED or message.attempts >= self._max_attempts:
                await uow.outbox.settle(message.id, DeliveryStatus.FAILED, now, result.error)
                log.error("gave up on outbox message %s: %s", message.id, result.error)
            else:
                delay = result.retry_after or min(self._max_backoff, 2.0 ** max(message.attempts, 1))
                await uow.outbox.retry(message.id, now + timedelta(seconds=delay), result.error or "retry")
            await uow.commit()
