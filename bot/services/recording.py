"""Recording a consultation: the question, and when it goes to the officers its ticket, the post to their
group and, for an emergency, the alarms, in one transaction. The same question again from the same
resident while its ticket waits keeps that ticket; a resident whose tickets officers keep closing as
无效信息 opens no new one for a while (SpamHold)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from bot.core.knowledge import KnowledgeBase
from bot.core.models import (
    Channel,
    CloseReason,
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


@dataclass(frozen=True, slots=True)
class SpamHold:
    """A resident whose tickets officers closed as 无效信息 `marks` times within `days` opens no new
    ticket until the oldest of those marks is older: the questions are still recorded and the resident is
    told where else to turn, so one person cannot fill the officers' queue. Emergencies always alarm.
    `marks` 0 turns the hold off."""

    marks: int = 3
    days: int = 7


class Recorded(NamedTuple):
    consultation_id: int
    escalation_id: int | None
    due_at: datetime | None
    held: bool = False  # it would have gone to the officers, but the resident is held (SpamHold)


class ConsultationRecorder:
    def __init__(
        self,
        kb: KnowledgeBase,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        service_time: ServiceTime,
        duty_chat_id: int | None,
        spam_hold: SpamHold | None = None,
    ) -> None:
        self._kb = kb
        self._uow = uow_factory
        self._clock = clock
        self._service_time = service_time
        self._duty_chat_id = duty_chat_id
        self._spam_hold = spam_hold or SpamHold()

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
    ) -> Recorded:
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
            held = bool(
                escalate and not urgent and repeated is None and await self.held(uow, now, resident=resident)
            )
            if repeated is not None:
                # The same question again while its ticket waits: one ticket, not a second post.
                escalation_id, due_at = repeated.id, repeated.due_at
            elif held:
                due_at = None
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
        return Recorded(consultation.id, escalation_id, due_at, held)

    async def held(
        self,
        uow: UnitOfWork,
        now: datetime,
        *,
        resident: ResidentRef | None = None,
        asker_of: int | None = None,
    ) -> bool:
        """Whether the resident (named, or the one who asked consultation `asker_of`) opens no ticket now."""
        hold = self._spam_hold
        if hold.marks <= 0:
            return False
        since = now - timedelta(days=hold.days)
        marks = await uow.escalations.closed_as(CloseReason.SPAM, since, resident=resident, asker_of=asker_of)
        return marks >= hold.marks

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
