from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.models import Channel, Consultation, NewConsultation, Outcome, ResidentRef
from bot.storage.tables import ConsultationRow, ResidentRow
from bot.storage.types import as_utc


class SqlConsultationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, consultation: NewConsultation) -> Consultation:
        resident_id = await self._resident_id(consultation.resident, first_seen=consultation.created_at)
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
        return to_consultation(row)

    async def get(self, consultation_id: int) -> Consultation | None:
        row = await self._session.get(ConsultationRow, consultation_id)
        return None if row is None else to_consultation(row)

    async def _resident_id(self, ref: ResidentRef, *, first_seen: datetime) -> int:
        found = await self._find_resident(ref)
        if found is not None:
            return found
        try:
            # The savepoint confines a lost race to this insert, not the whole unit of work.
            async with self._session.begin_nested():
                row = ResidentRow(
                    channel=ref.channel.value, channel_user_id=ref.channel_user_id, created_at=first_seen
                )
                self._session.add(row)
        except IntegrityError:
            # Another transaction registered the same account between our select and insert.
            found = await self._find_resident(ref)
            if found is None:
                raise
            return found
        return row.id

    async def _find_resident(self, ref: ResidentRef) -> int | None:
        resident_id: int | None = await self._session.scalar(
            select(ResidentRow.id).where(
                ResidentRow.channel == ref.channel.value,
                ResidentRow.channel_user_id == ref.channel_user_id,
            )
        )
        return resident_id


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
