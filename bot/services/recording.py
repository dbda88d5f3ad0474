"""Recording a consultation: the question, and when it goes to the officers its ticket, the post to their
group and, for an emergency, the alarms, in one transaction. The same question again from the same
resident while its ticket waits keeps that ticket."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.knowledge import KnowledgeBase
from bot.core.models import (
    Channel,
    Escalation,
    EscalationStatus,
    NewConsultation,
    NewEscalation,
    Outcome,
    ResidentRef,
)
from bot.core.policy import answer_due
from bot.core.ports import Clock, UnitOfWork, UnitOfWorkFactory
from bot.services.posting import post_to_officers, raise_alarm

REPEAT_WINDOW = timedelta(hours=24)
REPEAT_LOOKBACK = 20  # the resident's newest tickets looked at for a repeat


@dataclass(frozen=True, slots=True)
class ServiceTime:
    working_days: int = 1
    timezone: str = "Asia/Shanghai"
    urgent_minutes: int = 15  # an urgent ticket is due in minutes, not working days


class ConsultationRecorder:
    def __init__(
        self,
        kb: KnowledgeBase,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        service_time: ServiceTime,
        duty_chat_id: int | None,
    ) -> None:
        self._kb = kb
        self._uow = uow_factory
        self._clock = clock
        self._service_time = service_time
        self._duty_chat_id = duty_chat_id

    async def record(
        self,
        community: str,
        resident: ResidentRef,
        channel: Channel,
        text_masked: str,
        outcome: Outcome,
        entry_id: str | None,
        score: float,
        *,
        escalate: bool,
        candidates: tuple[tuple[str, float], ...] = (),
        via_menu: bool = False,
        urgent_kind: str | None = None,
        earlier: tuple[str, ...] = (),
    ) -> tuple[int, int | None, datetime | None]:
        """One transaction: the consultation, and when escalated its ticket and the officers' post; an
        emergency (`urgent_kind`) also alarms the officers' group and the duty group at once."""
        urgent = urgent_kind is not None
        now = self._clock.now()
        due_at = self.due(now, urgent) if escalate else None
        async with self._uow() as uow:
            consultation = await uow.consultations.add(
                NewConsultation(
                    community=community,
                    resident=resident,
                    channel=channel,
                    text_masked=text_masked,
                    outcome=outcome,
                    entry_id=entry_id,
                    score=score,
                    urgent=urgent,
                    created_at=now,
                    candidates=tuple(c for c, _ in candidates),
                    candidate_scores=tuple(s for _, s in candidates),
                    via_menu=via_menu,
                    urgent_kind=urgent_kind,
                    earlier=earlier,
                )
            )
            escalation_id = None
            repeated = (
                await self._waiting_repeat(uow, resident, community, text_masked, now)
                if escalate and not urgent
                else None
            )
            if repeated is not None:
                # The same question again while its ticket waits: one ticket, not a second post.
                escalation_id, due_at = repeated.id, repeated.due_at
            elif escalate and due_at is not None:
                escalation = await uow.escalations.open(consultation.id, NewEscalation(due_at=due_at))
                escalation_id = escalation.id
                common = dict(escalation_id=escalation.id, community=community, question=text_masked, now=now)
                await post_to_officers(
                    uow,
                    self._kb,
                    urgent=urgent,
                    urgent_kind=urgent_kind,
                    candidates=candidates,
                    due_at=due_at,
                    earlier=earlier,
                    **common,
                )
                if urgent_kind is not None:
                    await raise_alarm(
                        uow,
                        self._kb,
                        urgent_kind=urgent_kind,
                        due_at=due_at,
                        duty_chat_id=self._duty_chat_id,
                        **common,
                    )
            await uow.commit()
        return consultation.id, escalation_id, due_at

    async def _waiting_repeat(
        self, uow: UnitOfWork, resident: ResidentRef, community: str, text_masked: str, now: datetime
    ) -> Escalation | None:
        """The resident's waiting ticket in this community for the same question (the same words, give or
        take punctuation and spacing) opened in the last REPEAT_WINDOW, if any."""
        asked = _folded(text_masked)
        if not asked:
            return None
        for view in await uow.escalations.for_resident(resident, limit=REPEAT_LOOKBACK):
            e = view.escalation
            if now - e.created_at > REPEAT_WINDOW:
                break  # newest first: the rest are older still
            waiting = e.status in (EscalationStatus.OPEN, EscalationStatus.CLAIMED)
            if waiting and e.community == community and not view.urgent and _folded(view.question) == asked:
                return e
        return None

    def due(self, now: datetime, urgent: bool) -> datetime:
        if urgent:
            return now + timedelta(minutes=self._service_time.urgent_minutes)
        return answer_due(now, self._service_time.working_days, self._service_time.timezone)


def _folded(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())
