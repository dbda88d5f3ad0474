"""限时办结: overdue escalations are reminded to the officers, then passed to the duty group."""

from __future__ import annotations

from datetime import timedelta

from bot.core.knowledge import KnowledgeBase
from bot.core.models import Channel, EscalationView, NewOutboxMessage, ticket_number
from bot.core.ports import Clock, UnitOfWork, UnitOfWorkFactory

REMINDED = 1  # the community's officers were reminded at the promised time
PASSED_TO_DUTY = 2  # the station's duty group was told at the second deadline


class ReminderService:
    def __init__(
        self,
        kb: KnowledgeBase,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        *,
        duty_chat_id: int | None,
        duty_after: timedelta,
    ) -> None:
        self._kb = kb
        self._uow = uow_factory
        self._clock = clock
        self._duty_chat_id = duty_chat_id
        self._duty_after = duty_after

    async def run_once(self) -> int:
        """Queue the reminders that are due; returns how many escalations were reminded."""
        now = self._clock.now()
        count = 0
        async with self._uow() as uow:
            # The level is raised first and the message queued only by whoever raised it: replicas
            # running this at the same moment remind once.
            for view in await uow.escalations.overdue(now, below_level=REMINDED):
                if not await uow.escalations.set_reminded(view.escalation.id, REMINDED):
                    continue
                chat_id = self._kb.community(view.escalation.community).officer_chat_id
                if chat_id is not None:
                    await self._enqueue(uow, chat_id, view, "reminder", now)
                count += 1
            for view in await uow.escalations.overdue(now - self._duty_after, below_level=PASSED_TO_DUTY):
                if not await uow.escalations.set_reminded(view.escalation.id, PASSED_TO_DUTY):
                    continue
                if self._duty_chat_id is not None:
                    await self._enqueue(uow, self._duty_chat_id, view, "duty_handover", now)
                count += 1
            await uow.commit()
        return count

    async def _enqueue(self, uow: UnitOfWork, chat_id: int, view: EscalationView, kind: str, now) -> None:
        e = view.escalation
        await uow.outbox.enqueue(
            NewOutboxMessage(
                channel=Channel.TELEGRAM,
                recipient=str(chat_id),
                kind=kind,
                payload={
                    "escalation_id": e.id,
                    "ticket": ticket_number(e.id),
                    "community": e.community,
                    "question": view.question,
                    "due_at": e.due_at.isoformat(),
                    "officer": e.officer,
                },
                not_before=now,
                escalation_id=e.id,
            )
        )
