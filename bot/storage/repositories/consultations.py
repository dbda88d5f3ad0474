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
            via_menu=consultation.via_menu,
            candidates=",".join(consultation.candidates),
            created_at=consultation.created_at,
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
    )
