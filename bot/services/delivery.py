"""Draining the outbox: every message is sent at least once, at most once per success.

Messages are leased (not deleted) before sending, so a process killed mid-send leaves them to be
picked up again when the lease runs out. A channel's notifier reports what happened; this service
decides: settle, retry later (honouring retry_after), or stop for good (blocked, undeliverable).

A live sender never loses its lease to another: a send is cut off well before the lease would run
out, and the lease is renewed while the send is in flight (a slow Bot API once let a second replica
lease a message still being sent, and the resident got the officer's answer twice). Reports carry the
attempt they leased, so a sender whose lease was taken over cannot settle the newer attempt. Only a
crash mid-send can still repeat a message (Telegram has no idempotency key): a possible duplicate,
never a loss.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from datetime import timedelta

from bot.core.models import Channel, DeliveryStatus, OutboxMessage, ResidentRef
from bot.core.ports import (
    AttemptResult,
    Clock,
    DeliveryOutcome,
    DeliveryResult,
    Notifier,
    OperationsEvents,
    UnitOfWorkFactory,
)
from bot.services.signals import Signals

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
        lease_seconds: float = 90.0,
        send_timeout_seconds: float | None = None,
        max_backoff_seconds: float = 600.0,
        events: OperationsEvents | None = None,
    ) -> None:
        """`send_timeout_seconds` defaults to 30 s or half the lease, whichever is shorter."""
        if send_timeout_seconds is None:
            send_timeout_seconds = min(30.0, lease_seconds / 2)
        if not 0 < send_timeout_seconds < lease_seconds:
            raise ValueError("a send must time out before its lease runs out")
        self._uow = uow_factory
        self._clock = clock
        self._notifiers = dict(notifiers)
        self._max_attempts = max_attempts
        self._lease = lease_seconds
        self._send_timeout = send_timeout_seconds
        self._max_backoff = max_backoff_seconds
        self._events = events or Signals()

    async def run_once(self, limit: int = 20) -> int:
        """Send what is due now; returns how many messages were handled."""
        async with self._uow() as uow:
            due = await uow.outbox.lease_due(self._clock.now(), limit, self._lease)
            await uow.commit()
        if not due:
            return 0
        # The batch is sent one message after another: the last ones wait for the others, so every
        # message not yet settled keeps its lease renewed, not only the one in flight.
        held = {message.id: message for message in due}
        keeper = asyncio.create_task(self._keep_leases(held))
        try:
            for message in due:
                if message.id in held:  # else taken over by another sender: it sends it, not us
                    await self._send(message)
                    held.pop(message.id, None)
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
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
            self._events.delivery(message.channel.value, AttemptResult.RETRIED)
            return
        try:
            result = await asyncio.wait_for(notifier.deliver(message), self._send_timeout)
        except TimeoutError:
            result = DeliveryResult(DeliveryOutcome.RETRY, error=f"no answer within {self._send_timeout:g} s")
        except Exception as exc:  # a notifier bug must not stop the others
            log.exception("notifier for %s raised", message.channel)
            result = DeliveryResult(DeliveryOutcome.RETRY, error=f"{type(exc).__name__}: {exc}")
        await self._settle(message, result)

    async def _keep_leases(self, held: dict[int, OutboxMessage]) -> None:
        """Every third of the lease, push the leases of the batch's unsettled messages ahead; a message
        whose lease is no longer ours (another sender took it after a stall) leaves `held`."""
        while held:
            await asyncio.sleep(self._lease / 3)
            try:
                async with self._uow() as uow:
                    until = self._clock.now() + timedelta(seconds=self._lease)
                    lost = [
                        m.id
                        for m in list(held.values())
                        if not await uow.outbox.renew(m.id, m.attempts, until)
                    ]
                    await uow.commit()
            except Exception as exc:  # the database may be briefly unreachable: try again
                log.warning("could not renew outbox leases: %s", exc)
                continue
            for message_id in lost:  # settled just now, or taken over by another sender after a stall
                if held.pop(message_id, None) is not None:
                    log.info("outbox message %s is no longer leased to this sender", message_id)

    async def _settle(self, message: OutboxMessage, result: DeliveryResult) -> None:
        now = self._clock.now()
        attempt = message.attempts
        async with self._uow() as uow:
            if result.outcome is DeliveryOutcome.SENT:
                recorded = AttemptResult.SENT
                await uow.outbox.settle(message.id, DeliveryStatus.SENT, now, attempt=attempt)
                if result.posted and message.escalation_id and message.kind == "escalation_post":
                    await uow.escalations.add_post(message.escalation_id, *result.posted)
            elif result.outcome is DeliveryOutcome.BLOCKED:
                recorded = AttemptResult.BLOCKED
                await uow.outbox.settle(
                    message.id, DeliveryStatus.BLOCKED, now, result.error, attempt=attempt
                )
                if message.kind in RESIDENT_KINDS:
                    await uow.residents.set_blocked(ResidentRef(message.channel, message.recipient), True)
            elif result.outcome is DeliveryOutcome.FAILED or message.attempts >= self._max_attempts:
                recorded = AttemptResult.GAVE_UP
                await uow.outbox.settle(message.id, DeliveryStatus.FAILED, now, result.error, attempt=attempt)
                log.error("gave up on outbox message %s: %s", message.id, result.error)
            else:
                recorded = AttemptResult.RETRIED
                delay = result.retry_after or min(self._max_backoff, 2.0 ** max(message.attempts, 1))
                later = now + timedelta(seconds=delay)
                await uow.outbox.retry(message.id, later, result.error or "retry", attempt=attempt)
            await uow.commit()
        self._events.delivery(message.channel.value, recorded)
