from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.models import Helpfulness, NewEscalation, Satisfaction
from bot.storage.tables import FeedbackRow
from bot.storage.uow import SqlUnitOfWork

from .factories import add_consultation

AT = datetime(2024, 3, 1, 3, tzinfo=UTC)


async def _feedback(engine: AsyncEngine) -> list[tuple[int | None, int | None, str, str, datetime]]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(
                FeedbackRow.consultation_id,
                FeedbackRow.escalation_id,
                FeedbackRow.kind,
                FeedbackRow.value,
                FeedbackRow.created_at,
            ).order_by(FeedbackRow.id)
        )
        return [tuple(row) for row in rows]


async def test_helpfulness_and_satisfaction_are_stored(
    uow_factory: Callable[[], SqlUnitOfWork], engine: AsyncEngine
) -> None:
    consultation_id = await add_consultation(uow_factory)
    async with uow_factory() as uow:
        escalation = await uow.escalations.open(consultation_id, NewEscalation(due_at=AT))
        await uow.feedback.add_helpfulness(consultation_id, Helpfulness.NOT_USEFUL, AT)
        await uow.feedback.add_satisfaction(escalation.id, Satisfaction.BASICALLY, AT)
        await uow.commit()

    assert await _feedback(engine) == [
        (consultation_id, None, "helpfulness", "not_useful", AT),
        (None, escalation.id, "satisfaction", "basically", AT),
    ]


async def test_a_second_vote_replaces_the_first(
    uow_factory: Callable[[], SqlUnitOfWork], engine: AsyncEngine
) -> None:
    consultation_id = await add_consultation(uow_factory)
    later = AT.replace(hour=4)
    async with uow_factory() as uow:
        await uow.feedback.add_helpfulness(consultation_id, Helpfulness.USEFUL, AT)
        await uow.commit()
    async with uow_factory() as uow:
        await uow.feedback.add_helpfulness(consultation_id, Helpfulness.NOT_USEFUL, later)
        await uow.commit()

    assert await _feedback(engine) == [(consultation_id, None, "helpfulness", "not_useful", later)]


async def test_feedback_on_an_unknown_consultation_fails(uow_factory: Callable[[], SqlUnitOfWork]) -> None:
    async with uow_factory() as uow:
        with pytest.raises(IntegrityError):
            await uow.feedback.add_helpfulness(999, Helpfulness.USEFUL, AT)
