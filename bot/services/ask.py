"""A resident asks: triage, match, decide, record, reply. One transaction per question."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.knowledge import KnowledgeBase
from bot.core.matcher import Matcher
from bot.core.models import (
    Channel,
    MatchResult,
    NewConsultation,
    NewEscalation,
    Outcome,
    ResidentRef,
    ticket_number,
)
from bot.core.policy import answer_due
from bot.core.ports import Clock, NotFoundError, UnitOfWorkFactory
from bot.core.privacy import mask_and_truncate, mask_phone, normalize_phone
from bot.core.replies import Choice, Notice, Reply
from bot.core.text import MATCH_CHAR_LIMIT, strip_controls
from bot.core.triage import Triage, TriageResult
from bot.services.posting import post_to_officers, raise_alarm

log = logging.getLogger(__name__)

# What is kept of a message in the consultation log: enough to read the question, bounded in size.
STORED_CHAR_LIMIT = 2000


@dataclass(frozen=True, slots=True)
class ServiceTime:
    working_days: int = 1
    timezone: str = "Asia/Shanghai"
    urgent_minutes: int = 15  # an urgent ticket is due in minutes, not working days


class NotUrgentError(ValueError):
    """A call-back number is taken for urgent tickets only."""


class AskService:
    def __init__(
        self,
        kb: KnowledgeBase,
        matcher: Matcher,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        service_time: ServiceTime | None = None,
        *,
        triage: Triage | None = None,
        duty_chat_id: int | None = None,
    ) -> None:
        self._kb = kb
        self._matcher = matcher
        self._uow = uow_factory
        self._clock = clock
        self._service_time = service_time or ServiceTime()
        # Without a fitted classifier the readable rules still decide.
        self._triage = triage or Triage()
        self._duty_chat_id = duty_chat_id

    async def ask(self, community: str, resident: ResidentRef, text: str, channel: Channel) -> Reply:
        """Answer, clarify or escalate `text`, recording the consultation (and escalation) atomically.

        Raises UnknownCommunityError for a community the knowledge base does not have.
        """
        place = self._kb.community(community)
        text = text if isinstance(text, str) else ""
        cleaned = strip_controls(text).strip()
        # Masked before it is cut: a number the cut runs through is still read (and masked) whole.
        stored = mask_and_truncate(cleaned, STORED_CHAR_LIMIT)
        notice = Notice.TRUNCATED if len(cleaned) > MATCH_CHAR_LIMIT else None

        # Before anything else: somebody in danger gets the numbers first, not a menu or a referral.
        triage = self._triage(cleaned)
        if triage.urgent:
            return await self._urgent(place.slug, resident, channel, stored, triage, notice)

        result = self._matcher.match(cleaned, place.slug)
        if not result.normalized:
            # Only greetings, emoji or symbols: ask for words instead of bothering the officers.
            consultation_id, _, _ = await self._record(
                place.slug,
                resident,
                channel,
                stored,
                Outcome.CLARIFY,
                None,
                0.0,
                escalate=False,
            )
            return Reply(
                Outcome.CLARIFY, place, 0.0, False, consultation_id, notice=Notice.EMPTY, reason="no words"
            )

        outcome = result.outcome
        best = result.best
        entry_id = best.entry_id if outcome is Outcome.ANSWER and best else None
        consultation_id, escalation_id, due_at = await self._record(
            place.slug,
            resident,
            channel,
            stored,
            outcome,
            entry_id,
            result.score,
            escalate=outcome is Outcome.ESCALATE,
            candidates=tuple((c.entry_id, c.score) for c in result.candidates),
        )
        explained = _explained(result)
        if outcome is Outcome.ANSWER and best is not None:
            return Reply(
                outcome,
                place,
                result.score,
                False,
                consultation_id,
                entry=self._kb.entry_for(place.slug, best.entry_id),
                matched=best.matched,
                notice=notice,
                **explained,
            )
        if outcome is Outcome.CLARIFY:
            choices = tuple(
                Choice(c.entry_id, self._kb.entry_for(place.slug, c.entry_id).title, c.score)
                for c in result.candidates
            )
            return Reply(
                outcome,
                place,
                result.score,
                False,
                consultation_id,
                choices=choices,
                notice=notice,
                **explained,
            )
        return Reply(
            Outcome.ESCALATE,
            place,
            result.score,
            False,
            consultation_id,
            ticket=ticket_number(escalation_id) if escalation_id is not None else None,
            due_at=due_at,
            referral=self._kb.referrals.get(best.entry_id) if best else None,
            notice=notice,
            **explained,
        )

    async def _urgent(
        self,
        community: str,
        resident: ResidentRef,
        channel: Channel,
        stored: str,
        triage: TriageResult,
        notice: Notice | None,
    ) -> Reply:
        """Recorded as urgent, a ticket due in minutes, the officers and the duty group alarmed at once."""
        assert triage.kind is not None
        log.warning("urgent consultation in %s: %s (%s)", community, triage.kind.value, triage.evidence)
        consultation_id, escalation_id, due_at = await self._record(
            community,
            resident,
            channel,
            stored,
            Outcome.ESCALATE,
            None,
            0.0,
            escalate=True,
            urgent_kind=triage.kind.value,
        )
        return Reply(
            Outcome.ESCALATE,
            self._kb.community(community),
            0.0,
            True,
            consultation_id,
            ticket=ticket_number(escalation_id) if escalation_id is not None else None,
            due_at=due_at,
            notice=notice,
            urgent_kind=triage.kind,
            numbers=triage.numbers,
            reason=f"emergency: {triage.evidence}",
        )

    async def leave_callback(self, consultation_id: int, phone: str) -> str:
        """The resident of an urgent ticket leaves a number to be called back on. Returns it masked.

        ValueError for something that is not a phone number; NotUrgentError for a routine ticket."""
        number = normalize_phone(phone)
        if number is None:
            raise ValueError("请填写正确的手机号或座机号")
        now = self._clock.now()
        async with self._uow() as uow:
            consultation = await uow.consultations.get(consultation_id)
            if consultation is None:
                raise NotFoundError(f"consultation {consultation_id} not found")
            if not consultation.urgent:
                raise NotUrgentError("only urgent tickets take a call-back number")
            # open() hands back the ticket the urgent consultation already has.
            escalation = await uow.escalations.open(consultation_id, NewEscalation(due_at=now))
            await uow.escalations.set_callback_phone(escalation.id, number)
            await raise_alarm(
                uow,
                self._kb,
                escalation_id=escalation.id,
                community=escalation.community,
                question=consultation.text_masked,
                urgent_kind=consultation.urgent_kind or "",
                due_at=escalation.due_at,
                now=now,
                duty_chat_id=self._duty_chat_id,
                note=f"群众留了回拨电话 {mask_phone(number)}（完整号码见网页工单）",
            )
            await uow.commit()
        return mask_phone(number)

    async def view_entry(
        self, community: str, resident: ResidentRef, entry_id: str, channel: Channel
    ) -> Reply:
        """A resident opened an entry from a menu or picked it from "did you mean": counted as a view."""
        place = self._kb.community(community)
        if entry_id not in self._kb.visible_ids(place.slug):
            raise KeyError(f"entry {entry_id!r} is not available in {place.slug}")
        entry = self._kb.entry_for(place.slug, entry_id)
        consultation_id, _, _ = await self._record(
            place.slug,
            resident,
            channel,
            entry.title,
            Outcome.ANSWER,
            entry_id,
            100.0,
            escalate=False,
            via_menu=True,
        )
        return Reply(
            Outcome.ANSWER,
            place,
            100.0,
            False,
            consultation_id,
            entry=entry,
            matched=entry.title,
            reason="chosen from the menu",
        )

    async def escalate_consultation(self, consultation_id: int) -> Reply:
        """ "None of these": the resident's clarified question goes to the officers after all."""
        now = self._clock.now()
        async with self._uow() as uow:
            consultation = await uow.consultations.get(consultation_id)
            if consultation is None:
                raise KeyError(f"consultation {consultation_id} not found")
            due_at = self._due(now, consultation.urgent)
            escalation = await uow.escalations.open(consultation_id, NewEscalation(due_at=due_at))
            await post_to_officers(
                uow,
                self._kb,
                escalation_id=escalation.id,
                community=consultation.community,
                question=consultation.text_masked,
                urgent=consultation.urgent,
                urgent_kind=consultation.urgent_kind,
                candidates=(),
                due_at=due_at,
                now=now,
            )
            await uow.commit()
        place = self._kb.community(consultation.community)
        return Reply(
            Outcome.ESCALATE,
            place,
            consultation.score,
            consultation.urgent,
            consultation_id,
            ticket=escalation.ticket,
            due_at=escalation.due_at,
        )

    async def _record(
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
    ) -> tuple[int, int | None, datetime | None]:
        """One transaction: the consultation, and when escalated its ticket and the officers' post; an
        emergency (`urgent_kind`) also alarms the officers' group and the duty group at once."""
        urgent = urgent_kind is not None
        now = self._clock.now()
        due_at = self._due(now, urgent) if escalate else None
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
                )
            )
            escalation_id = None
            if escalate and due_at is not None:
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

    def _due(self, now: datetime, urgent: bool) -> datetime:
        if urgent:
            return now + timedelta(minutes=self._service_time.urgent_minutes)
        return answer_due(now, self._service_time.working_days, self._service_time.timezone)


def _explained(result: MatchResult) -> dict:
    """The matcher's calibrated confidence, its evidence and the reason for the band, for the reply."""
    return {"confidence": result.confidence, "evidence": result.evidence, "reason": result.reason}
