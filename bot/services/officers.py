"""Officers work escalated questions: claim (首问负责), answer, hand over, close, save as knowledge.

Every answer is written together with the outbox message that carries it to the resident, in one
transaction: a crash after the commit still delivers it, a crash before loses nothing either.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.core.knowledge import KnowledgeBase
from bot.core.models import (
    CLOSE_REASON_ZH,
    Channel,
    CloseReason,
    Draft,
    Escalation,
    EscalationSearch,
    EscalationStatus,
    EscalationView,
    NewDraft,
    NewOutboxMessage,
    Staff,
    ticket_number,
)
from bot.core.ports import Clock, NotFoundError, UnitOfWork, UnitOfWorkFactory
from bot.core.privacy import mask_and_truncate, mask_personal_numbers
from bot.services.audit import record
from bot.services.posting import post_to_officers

# What waits for an officer: not yet claimed, or claimed and not yet answered.
WAITING = (EscalationStatus.OPEN, EscalationStatus.CLAIMED)
# Page numbers come back in button data a client can forge; the console caps them the same way.
MAX_PAGE = 10_000
# Answers can only be delivered where the resident can be reached again.
DELIVERABLE_CHANNELS = frozenset({Channel.TELEGRAM, Channel.WEB, Channel.API})
MAX_ANSWER_CHARS = 3500  # leaves room for the heading within Telegram's 4,096 characters
DRAFT_TITLE_CHARS = 40
MAX_CLOSE_NOTE_CHARS = 500
# What the resident is told when a ticket is closed without a written answer.
CLOSE_TELLS_RESIDENT = {
    CloseReason.PHONE: "民警已通过电话与您沟通：{note}",
    CloseReason.REFERRED: "您反映的事项由{note}负责办理，请直接向其咨询；如仍有疑问，欢迎再来提问。",
}


class PermissionDenied(Exception):
    """The officer is not on the allowlist for this community (or is no longer active)."""


@dataclass(frozen=True, slots=True)
class QueuePage:
    """One page of an officer's waiting tickets, in the console's order (urgent first, then due)."""

    views: list[EscalationView]
    total: int  # how many match in all
    page: int  # 1-based: the page shown, which is the last one when the one asked for is past the end
    pages: int  # at least 1, also when nothing waits


class OfficerService:
    def __init__(self, kb: KnowledgeBase, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self._kb = kb
        self._uow = uow_factory
        self._clock = clock

    async def staff_by_telegram(self, telegram_user_id: int) -> Staff | None:
        async with self._uow() as uow:
            return await uow.staff.by_telegram_id(telegram_user_id)

    async def staff(self, staff_id: int) -> Staff | None:
        async with self._uow() as uow:
            return await uow.staff.get(staff_id)

    async def queue(
        self,
        officer: Staff,
        statuses: Sequence[EscalationStatus] = (EscalationStatus.OPEN, EscalationStatus.CLAIMED),
        limit: int = 100,
    ) -> list[EscalationView]:
        communities = None if officer.role.value == "admin" else list(officer.communities)
        async with self._uow() as uow:
            return await uow.escalations.queue(communities, statuses, limit)

    async def search(self, officer: Staff, search: EscalationSearch) -> tuple[list[EscalationView], int]:
        """A page of the officer's communities' escalations that match, and how many match in all."""
        communities = None if officer.role.value == "admin" else list(officer.communities)
        async with self._uow() as uow:
            return await uow.escalations.search(communities, search)

    async def queue_page(
        self, officer: Staff, page: int, size: int, *, mine: bool = False, overdue: bool = False
    ) -> QueuePage:
        """Page `page` of the officer's waiting tickets, through the console's search so both list them
        in the same order. `mine`: claimed by this officer; `overdue`: past due now. A page past the
        end (tickets were closed since the buttons were drawn) gives the last page instead."""
        page = max(1, min(page, MAX_PAGE))
        views, total = await self.search(officer, self._queue_search(officer, page, size, mine, overdue))
        pages = max(1, -(-total // size))
        if page > pages:
            page = pages
            views, total = await self.search(officer, self._queue_search(officer, page, size, mine, overdue))
            pages = max(1, -(-total // size))
        return QueuePage(views, total, min(page, pages), pages)

    def _queue_search(
        self, officer: Staff, page: int, size: int, mine: bool, overdue: bool
    ) -> EscalationSearch:
        return EscalationSearch(
            statuses=WAITING,
            officer_id=officer.id if mine else None,
            overdue_at=self._clock.now() if overdue else None,
            offset=(page - 1) * size,
            limit=size,
        )

    async def view(self, officer: Staff, escalation_id: int) -> EscalationView:
        async with self._uow() as uow:
            return await self._authorised_view(uow, officer, escalation_id)

    async def claim(self, officer: Staff, escalation_id: int) -> Escalation:
        async with self._uow() as uow:
            await self._authorised_view(uow, officer, escalation_id)
            escalation = await uow.escalations.claim(escalation_id, officer, self._clock.now())
            await record(uow, self._clock, officer, "claim", ticket_number(escalation_id))
            await uow.commit()
        return escalation

    async def answer(self, officer: Staff, escalation_id: int, text: str) -> Escalation:
        text = text.strip()
        if not text:
            raise ValueError("答复内容不能为空")
        # Kept as written: it is what the resident was told (their ticket page shows it again, and an
        # officer who edits it starts from it), and an officer may give a number to call. Where it
        # leaves the ticket (exports, knowledge drafts) it is masked like every other text.
        text = text[:MAX_ANSWER_CHARS]
        now = self._clock.now()
        async with self._uow() as uow:
            view = await self._authorised_view(uow, officer, escalation_id)
            escalation = await self._answer_in(uow, view, officer, text, now)
            await record(uow, self._clock, officer, "answer", ticket_number(escalation_id))
            await uow.commit()
        return escalation

    async def _answer_in(
        self, uow: UnitOfWork, view: EscalationView, officer: Staff, text: str, now: datetime
    ) -> Escalation:
        """The answer and the outbox message carrying it to the resident, in the caller's transaction."""
        escalation = await uow.escalations.answer(view.escalation.id, officer, text, now)
        if view.channel in DELIVERABLE_CHANNELS:
            await uow.outbox.enqueue(
                NewOutboxMessage(
                    channel=view.channel,
                    recipient=view.resident.channel_user_id,
                    kind="officer_answer",
                    payload={
                        "escalation_id": escalation.id,
                        "ticket": ticket_number(escalation.id),
                        "community": escalation.community,
                        "question": view.question,
                        "answer": text,
                        "officer": officer.name,
                    },
                    not_before=now,
                    escalation_id=escalation.id,
                )
            )
        return escalation

    async def hand_over(self, officer: Staff, escalation_id: int, community: str) -> Escalation:
        """Reopen the question in `community`; its officers' group gets the post in the same commit."""
        self._kb.community(community)  # an unknown community is a clear error
        now = self._clock.now()
        async with self._uow() as uow:
            view = await self._authorised_view(uow, officer, escalation_id)
            escalation = await uow.escalations.hand_over(escalation_id, community, now)
            await post_to_officers(
                uow,
                self._kb,
                escalation_id=escalation_id,
                community=community,
                question=view.question,
                urgent=view.urgent,
                urgent_kind=view.urgent_kind,
                candidates=view.scored_candidates,
                due_at=escalation.due_at,
                now=now,
            )
            target = self._kb.community(community).name
            await record(
                uow, self._clock, officer, "hand_over", ticket_number(escalation_id), f"转交{target}"
            )
            await uow.commit()
        return escalation

    async def close(
        self,
        officer: Staff,
        escalation_id: int,
        reason: CloseReason | None = None,
        note: str = "",
    ) -> Escalation:
        """办结. A ticket with an answer closes as answered. One without needs a reason: by phone
        (the note says what was agreed) or referred to another body (the note names it) tell the
        resident through their channel, like an answer; duplicate and spam close silently and are
        not counted as matters settled (办结率, response times)."""
        note = " ".join(note.split())[:MAX_CLOSE_NOTE_CHARS]
        now = self._clock.now()
        async with self._uow() as uow:
            view = await self._authorised_view(uow, officer, escalation_id)
            escalation = view.escalation
            if escalation.status is EscalationStatus.CLOSED:
                return escalation  # closing again changes nothing
            if reason is None or reason is CloseReason.ANSWERED:
                if not escalation.answer:
                    raise ValueError(
                        "这个工单还没有答复：请先答复，或选择办结原因（电话答复、其他部门办理、重复提问、无效信息）"
                    )
                reason = CloseReason.ANSWERED
            elif reason in CLOSE_TELLS_RESIDENT:
                if not note:
                    what = "电话里答复了什么" if reason is CloseReason.PHONE else "由哪个部门办理"
                    raise ValueError(f"“{CLOSE_REASON_ZH[reason]}”需要写明{what}")
                if not escalation.answer:
                    told = CLOSE_TELLS_RESIDENT[reason].format(note=note)
                    await self._answer_in(uow, view, officer, told, now)
            escalation = await uow.escalations.close(escalation_id, now, reason, note or None)
            await record(
                uow, self._clock, officer, "close", ticket_number(escalation_id), CLOSE_REASON_ZH[reason]
            )
            await uow.commit()
        return escalation

    async def save_draft(self, officer: Staff, escalation_id: int, *, city_wide: bool = False) -> Draft:
        """The officer's answer becomes a pending knowledge draft for an admin to approve."""
        async with self._uow() as uow:
            view = await self._authorised_view(uow, officer, escalation_id)
            answer = view.escalation.answer
            if not answer:
                raise ValueError("请先答复，再把答复存为知识")
            # Knowledge is read by everybody: no resident's number goes into it (the question is
            # recorded masked already; masking again covers records from before every form was).
            draft = await uow.drafts.add(
                NewDraft(
                    question=mask_personal_numbers(view.question),
                    answer=mask_personal_numbers(answer),
                    title=mask_and_truncate(view.question, DRAFT_TITLE_CHARS),
                    community=None if city_wide else view.escalation.community,
                    created_by=officer.id,
                    created_at=self._clock.now(),
                    escalation_id=escalation_id,
                )
            )
            await record(
                uow, self._clock, officer, "save_draft", f"草稿 #{draft.id}", ticket_number(escalation_id)
            )
            await uow.commit()
        return draft

    async def _authorised_view(self, uow: UnitOfWork, officer: Staff, escalation_id: int) -> EscalationView:
        view = await uow.escalations.view(escalation_id)
        if view is None:
            raise NotFoundError(f"工单 {ticket_number(escalation_id)} 不存在")
        if not officer.can_handle(view.escalation.community):
            raise PermissionDenied(f"{officer.name} 不负责 {view.escalation.community} 的工单")
        return view
