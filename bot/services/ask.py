"""A resident asks: match, decide, record, reply. One transaction per question."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from bot.core.knowledge import KnowledgeBase
from bot.core.matcher import Matcher
from bot.core.models import (
    Channel,
    NewConsultation,
    NewEscalation,
    Outcome,
    ResidentRef,
    ticket_number,
)
from bot.core.policy import answer_due
from bot.core.ports import Clock, UnitOfWorkFactory
from bot.core.privacy import mask_personal_numbers
from bot.core.replies import Choice, Notice, Reply
from bot.core.text import MATCH_CHAR_LIMIT, strip_controls
from bot.services.posting import post_to_officers

log = logging.getLogger(__name__)

# What is kept of a message in the consultation log: enough to read the question, bounded in size.
STORED_CHAR_LIMIT = 2000


@dataclass(frozen=True, slots=True)
class ServiceTime:
    working_days: int = 1
    timezone: str = "Asia/Shanghai"


class AskService:
    def __init__(
        self,
        kb: KnowledgeBase,
        matcher: Matcher,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        service_time: ServiceTime | None = None,
    ) -> None:
        self._kb = kb
        self._matcher = matcher
        self._uow = uow_factory
        self._clock = clock
        self._service_time = service_time or ServiceTime()

    async def ask(self, community: str, resident: ResidentRef, text: str, channel: Channel) -> Reply:
        """Answer, clarify or escalate `text`, recording the consultation (and escalation) atomically.

        Raises UnknownCommunityError for a community the knowledge base does not have.
        """
        place = self._kb.community(community)
        text = text if isinstance(text, str) else ""
        cleaned = strip_controls(text).strip()
        stored = mask_personal_numbers(cleaned[:STORED_CHAR_LIMIT])

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
                urgent=False,
                escalate=False,
            )
            return Reply(Outcome.CLARIFY, place, 0.0, False, consultation_id, notice=Notice.EMPTY)

        notice = Notice.TRUNCATED if len(cleaned) > MATCH_CHAR_LIMIT else None
        outcome = Outcome.ESCALATE if result.urgent else result.outcome
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
            urgent=result.urgent,
            escalate=outcome is Outcome.ESCALATE,
            candidates=tuple(c.entry_id for c in result.candidates),
        )
        if outcome is Outcome.ANSWER and best is not None:
            return Reply(
                outcome,
                place,
                result.score,
                result.urgent,
                consultation_id,
                entry=self._kb.entry_for(place.slug, best.entry_id),
                matched=best.matched,
                notice=notice,
            )
        if outcome is Outcome.CLARIFY:
            choices = tuple(
                Choice(c.entry_id, self._kb.entry_for(place.slug, c.entry_id).title, c.score)
                for c in result.candidates
            )
            return Reply(
                outcome, place, result.score, result.urgent, consultation_id, choices=choices, notice=notice
            )
        return Reply(
            Outcome.ESCALATE,
            place,
            result.score,
            result.urgent,
            consultation_id,
            ticket=ticket_number(escalation_id) if escalation_id is not None else None,
            due_at=due_at,
            referral=self._kb.referrals.get(best.entry_id) if best else None,
            notice=notice,
        )

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
            urgent=False,
            escalate=False,
            via_menu=True,
        )
        return Reply(Outcome.ANSWER, place, 100.0, False, consultation_id, entry=entry, matched=entry.title)

    async def escalate_consultation(self, consultation_id: int) -> Reply:
        """ "None of these": the resident's clarified question goes to the officers after all."""
        now = self._clock.now()
        due_at = answer_due(now, self._service_time.working_days, self._service_time.timezone)
        async with self._uow() as uow:
            consultation = await uow.consultations.get(consultation_id)
            if consultation is None:
                raise KeyError(f"consultation {consultation_id} not found")
            escalation = await uow.escalations.open(consultation_id, NewEscalation(due_at=due_at))
            await post_to_officers(
                uow,
                self._kb,
                escalation_id=escalation.id,
                community=consultation.community,
                question=consultation.text_masked,
                urgent=consultation.urgent,
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
        urgent: bool,
        escalate: bool,
        candidates: tuple[str, ...] = (),
        via_menu: bool = False,
    ) -> tuple[int, int | None, datetime | None]:
        now = self._clock.now()
        due_at = (
            answer_due(now, self._service_time.working_days, self._service_time.timezone)
            if escalate
            else None
        )
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
                    candidates=candidates,
                    via_menu=via_menu,
                )
            )
            escalation_id = None
            if escalate and due_at is not None:
                escalation = await uow.escalations.open(consultation.id, NewEscalation(due_at=due_at))
                escalation_id = escalation.id
                await post_to_officers(
                    uow,
                    self._kb,
                    escalation_id=escalation.id,
                    community=community,
                    question=text_masked,
                    urgent=urgent,
                    candidates=candidates,
                    due_at=due_at,
                    now=now,
                )
            await uow.commit()
        return consultation.id, escalation_id, due_at
