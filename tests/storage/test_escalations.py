from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.core.models import Escalation, EscalationStatus, NewEscalation, Outcome
from bot.storage.uow import SqlUnitOfWork

from .factories import FakeClock, add_consultation

DUE = datetime(2024, 3, 4, 17, tzinfo=timezone(timedelta(hours=8)))


async def test_open_creates_an_open_ticket_in_the_consultations_community(
    uow_factory: Callable[[], SqlUnitOfWork], clock: FakeClock
) -> None:
    consultation_id = await add_consultation(uow_factory, community="minzhu", outcome=Outcome.ESCALATE)
    clock.current = datetime(2024, 3, 1, 2, 0, 5, tzinfo=UTC)
    async with uow_factory() as uow:
        opened = await uow.escalations.open(consultation_id, NewEscalation(due_at=DUE))
        await uow.commit()

    assert opened == Escalation(
        id=opened.id,
        consultation_id=consultation_id,
        community="minzhu",
        status=EscalationStatus.OPEN,
        created_at=datetime(2024, 3, 1, 2, 0, 5, tzinfo=UTC),
        due_at=datetime(2024, 3, 4, 9, tzinfo=UTC),
    )
    assert opened.ticket == f"WJ{opened.id:06d}"
    async with uow_factory() as uow:
        assert await uow.escalations.get(opened.id) == opened
        assert await uow.escalations.get(opened.id + 1000) is None


async def test_opening_twice_returns_the_same_ticket(uow_factory: Callable[[], SqlUnitOfWork]) -> None:
    consultation_id = await add_consultation(uow_factory)
    async with uow_factory() as uow:
        first = await uow.escalations.open(consultation_id, NewEscalation(due_at=DUE))
        await uow.commit()
    async with uow_factory() as uow:
        again = await uow.escalations.open(consultation_id, NewEscalation(due_at=DUE + timedelta(days=1)))
        await uow.commit()
    assert again == first


async def test_open_refuses_an_unknown_consultation(uow_factory: Callable[[], SqlUnitOfWork]) -> None:
    async with uow_factory() as uow:
        with pytest.raises(LookupError):
            await uow.escalations.open(12345, NewEscalation(due_at=DUE))
