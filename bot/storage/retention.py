"""Keeping residents' words no longer than needed (PIPL): past the retention period the text of a
consultation, the conversation before it, an officer's answer and a call-back number are removed, and
the unanswered-question list forgets them; every count, time, outcome and topic stays, so the statistics
and the annual report do not change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, delete, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.tables import ConsultationRow, EscalationRow, KnowledgeGapRow

FORGOTTEN = "（超过保存期限，内容已删除）"


@dataclass(frozen=True, slots=True)
class Forgotten:
    consultations: int
    escalations: int
    gaps: int


async def forget_before(engine: AsyncEngine, cutoff: datetime) -> Forgotten:
    """One transaction; rows already forgotten are left alone, so running it again changes nothing."""
    c, e, g = ConsultationRow, EscalationRow, KnowledgeGapRow
    async with engine.begin() as connection:
        consultations = await connection.execute(
            update(c)
            .where(c.created_at < cutoff, c.text_masked != FORGOTTEN)
            .values(text_masked=FORGOTTEN, earlier=None)
        )
        escalations = await connection.execute(
            update(e)
            .where(
                e.created_at < cutoff,
                (e.answer.is_not(None) & (e.answer != FORGOTTEN))
                | e.callback_phone.is_not(None)
                | e.close_note.is_not(None),
            )
            .values(
                answer=case((e.answer.is_not(None), FORGOTTEN), else_=None),
                callback_phone=None,
                close_note=None,
            )
        )
        gaps = await connection.execute(delete(g).where(g.created_at < cutoff))
    return Forgotten(consultations.rowcount, escalations.rowcount, gaps.rowcount)  # type: ignore[attr-defined]
