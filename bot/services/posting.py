"""Queueing the posts that tell officers about an escalated question, and the alarm for an urgent one.

Called inside the unit of work that opens or hands over the escalation, so the posts and the ticket
are committed together (or not at all).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.core.knowledge import KnowledgeBase
from bot.core.models import Channel, NewOutboxMessage, ticket_number
from bot.core.ports import UnitOfWork

# A candidate is an entry id, or (entry id, score 0-100) when the matcher's score is known.
CandidateRef = str | tuple[str, float | None]


def candidate_items(kb: KnowledgeBase, candidates: Sequence[CandidateRef], limit: int = 3) -> list[dict]:
    """[{"title", "score"}] for the officers' post; scores are the matcher's probabilities (0-100)."""
    items = []
    for candidate in candidates:
        entry_id, score = (candidate, None) if isinstance(candidate, str) else candidate
        if entry_id in kb.entries:
            items.append({"title": kb.entries[entry_id].title, "score": score})
    return items[:limit]


async def post_to_officers(
    uow: UnitOfWork,
    kb: KnowledgeBase,
    *,
    escalation_id: int,
    community: str,
    question: str,
    urgent: bool,
    candidates: Sequence[CandidateRef],
    due_at: datetime | None,
    now: datetime,
    urgent_kind: str | None = None,
    earlier: Sequence[str] = (),
) -> bool:
    """True when a post was queued; False when the community has no officers' group (officers then
    see the question in the web console queue)."""
    chat_id = kb.community(community).officer_chat_id
    if chat_id is None:
        return False
    await uow.outbox.enqueue(
        NewOutboxMessage(
            channel=Channel.TELEGRAM,
            recipient=str(chat_id),
            kind="escalation_post",
            payload={
                "escalation_id": escalation_id,
                "ticket": ticket_number(escalation_id),
                "community": community,
                "question": question,
                "urgent": urgent,
                "urgent_kind": urgent_kind,
                "candidates": candidate_items(kb, candidates),
                "due_at": due_at.isoformat() if due_at else None,
                "earlier": list(earlier),
            },
            not_before=now,
            escalation_id=escalation_id,
        )
    )
    return True


async def raise_alarm(
    uow: UnitOfWork,
    kb: KnowledgeBase,
    *,
    escalation_id: int,
    community: str,
    question: str,
    urgent_kind: str,
    due_at: datetime,
    now: datetime,
    duty_chat_id: int | None,
    note: str | None = None,
) -> int:
    """A separate alarm, apart from the ticket's post, to the officers' group (naming the community's
    officers, so Telegram notifies them even in a muted group) and to the duty group. Returns how many
    alarms were queued."""
    place = kb.community(community)
    officers = [
        {"name": o.name, "telegram_id": o.telegram_id} for o in place.officers if o.telegram_id is not None
    ]
    payload = {
        "escalation_id": escalation_id,
        "ticket": ticket_number(escalation_id),
        "community": community,
        "question": question,
        "urgent_kind": urgent_kind,
        "due_at": due_at.isoformat(),
        "officers": officers,
        "note": note,
    }
    targets = [place.officer_chat_id, duty_chat_id]
    queued = 0
    for chat_id in dict.fromkeys(t for t in targets if t is not None):
        await uow.outbox.enqueue(
            NewOutboxMessage(
                channel=Channel.TELEGRAM,
                recipient=str(chat_id),
                kind="urgent_alert",
                payload={**payload, "duty": chat_id == duty_chat_id},
                not_before=now,
                escalation_id=escalation_id,
            )
        )
        queued += 1
    return queued
