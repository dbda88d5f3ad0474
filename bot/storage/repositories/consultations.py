from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.models import Channel, Consultation, NewConsultation, Outcome
from bot.storage.repositories.residents import ensure_resident
from bot.storage.rollups import PendingRollups
from bot.storage.tables import ConsultationRow
from bot.storage.types import as_utc


class SqlConsultationRepository:
    """Recording a consultation also counts it in the statistics' rollups (written when the unit of
    work commits, see bot.storage.rollups)."""

    def __init__(self, session: AsyncSession, rollups: PendingRollups) -> None:
        self._session = session
        self._rollups = rollups

    async def add(self, consultation: NewConsultation) -> Consultation:
        resident_id = await ensure_resident(
            self._session, consultation.resident, first_seen=consultation.created_at
        )
        row = ConsultationRow(
            community=consultation.community,
            resident_id=resident_id,
            channel=consultation.channel.value,
            text_masked=consultation.text_masked,
            outcome=consultation.outcome.value,
            entry_id=consultation.entry_id,
            score=consultation.score,
            urgent=consultation.urgent,
            urgent_kind=consultation.urgent_kind,
            via_menu=consultation.via_menu,
            candidates=join_candidates(consultation.candidates, consultation.candidate_scores),
            created_at=consultation.created_at,
            earlier=list(consultation.earlier) or None,
        )
        self._session.add(row)
        await self._session.flush()
        self._rollups.consultation_added(row)
        return to_consultation(row)

    async def get(self, consultation_id: int) -> Consultation | None:
        row = await self._session.get(ConsultationRow, consultation_id)
        return None if row is None else to_consultation(row)


def to_consultation(row: ConsultationRow) -> Consultation:
    return Consultation(
        id=row.id,
        community=row.community,
        channel=Channel(row.channel),
        text_masked=row.text_masked,
        outcome=Outcome(row.outcome),
        entry_id=row.entry_id,
        score=row.score,
        urgent=row.urgent,
        created_at=as_utc(row.created_at),
        via_menu=row.via_menu,
        urgent_kind=row.urgent_kind,
        earlier=tuple(row.earlier or ()),
    )


def join_candidates(ids: tuple[str, ...], scores: tuple[float, ...]) -> str:
    if len(scores) != len(ids):
        return ",".join(ids)
    return ",".join(f"{i}:{s:.1f}" for i, s in zip(ids, scores, strict=True))


def split_candidates(column: str) -> tuple[tuple[str, ...], tuple[float | None, ...]]:
    """Entry ids and their scores; rows written before revision 0005 hold ids only."""
    ids: list[str] = []
    scores: list[float | None] = []
    for item in column.split(","):
        entry_id, _, score = item.partition(":")
        if not entry_id:
            continue
        ids.append(entry_id)
        try:
            scores.append(float(score) if score else None)
        except ValueError:
            scores.append(None)
    return tuple(ids), tuple(scores)
