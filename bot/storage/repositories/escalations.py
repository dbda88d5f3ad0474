from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.models import Escalation, EscalationStatus, NewEscalation
from bot.core.ports import Clock
from bot.storage.tables import ConsultationRow, EscalationRow
from bot.storage.types import as_utc


class SqlEscalationRepository:
    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self._session = session
        self._clock = clock

    async def open(self, consultation_id: int, escalation: NewEscalation) -> Escalation:
        consultation = await self._session.get(ConsultationRow, consultation_id)
        if consultation is None:
            raise LookupError(f"consultation {consultation_id} does not exist")
        # Residents double-tap buttons: a second request returns the ticket already opened.
        existing = await self._session.scalar(
            select(EscalationRow).where(EscalationRow.consultation_id == consultation_id)
        )
        if existing is not None:
            return to_escalation(existing)
        row = EscalationRow(
            consultation_id=consultation_id,
            community=consultation.community,
            status=EscalationStatus.OPEN.value,
            # NewEscalation carries no creation time, so the injected clock supplies it.
            created_at=self._clock.now(),
            due_at=escalation.due_at,
        )
        self._session.add(row)
        await self._session.flush()
        return to_escalation(row)

    async def get(self, escalation_id: int) -> Escalation | None:
        row = await self._session.get(EscalationRow, escalation_id)
        return None if row is None else to_escalation(row)


def to_escalation(row: EscalationRow) -> Escalation:
    return Escalation(
        id=row.id,
        consultation_id=row.consultation_id,
        community=row.community,
        status=EscalationStatus(row.status),
        created_at=as_utc(row.created_at),
        due_at=as_utc(row.due_at),
        officer=row.officer,
        answer=row.answer,
        claimed_at=as_utc(row.claimed_at),
        answered_at=as_utc(row.answered_at),
        closed_at=as_utc(row.closed_at),
    )
