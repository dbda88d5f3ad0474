"""Queueing the post that tells a community's officers' group about an escalated question.

Called inside the unit of work that opens or hands over the escalation, so the post and the ticket
are committed together (or not at all).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.core.knowledge import KnowledgeBase
from bot.core.models import Channel, NewOutboxMessage, ticket_number
from bot.core.ports import UnitOfWork


async def post_to_officers(
    uow: UnitOfWork,
    kb: KnowledgeBase,
    *,
    escalation_id: int,
    community: str,
    question: str,
    urgent: bool,
    candidates: Sequence[str],
    due_at: datetime | None,
    now: datetime,
) -> bool:
    """True when a post was queued; False when the community has no officers' group (officers then
    see the question in the web console queue)."""
    chat_id = kb.community(community).officer_chat_id
    if chat_id is None:
        return False
    titles = [kb.entries[c].title for c in candidates if c in kb.entries][:3]
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
                "candidates": titles,
                "due_at": due_at.isoformat() if due_at else None,
            },
            not_before=now,
            escalation_id=escalation_id,
        )
    )
    return True
