from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from bot.core.models import Helpfulness, Satisfaction
from bot.storage.tables import FeedbackRow


class SqlFeedbackRepository:
    """One vote per consultation or ticket: a repeated tap replaces the earlier vote instead of
    counting twice, so a resident can also change their mind."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add_helpfulness(self, consultation_id: int, value: Helpfulness, at: datetime) -> None:
        await self._vote(FeedbackRow.consultation_id, consultation_id, "helpfulness", value.value, at)

    async def add_satisfaction(self, escalation_id: int, value: Satisfaction, at: datetime) -> None:
        await self._vote(FeedbackRow.escalation_id, escalation_id, "satisfaction", value.value, at)

    async def _vote(
        self, target: InstrumentedAttribute[int | None], target_id: int, kind: str, value: str, at: datetime
    ) -> None:
        row = await self._session.scalar(select(FeedbackRow).where(target == target_id))
        if row is None:
            try:
                async with self._session.begin_nested():
                    row = FeedbackRow(kind=kind, value=value, created_at=at)
                    setattr(row, target.key, target_id)
                    self._session.add(row)
                return
            except IntegrityError:
                # Either a concurrent first vote won the race (update it below) or the target is missing.
                row = await self._session.scalar(select(FeedbackRow).where(target == target_id))
                if row is None:
                    raise
        row.value = value
        row.created_at = at
        await self._session.flush()
