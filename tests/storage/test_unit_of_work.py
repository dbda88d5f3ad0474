from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.models import EscalationStatus, NewEscalation, Outcome
from bot.storage.uow import SqlUnitOfWork

from .factories import count_rows, new_consultation

DUE = datetime(2024, 3, 4, 9, tzinfo=UTC)


async def test_consultation_and_escalation_commit_together(
    uow_factory: Callable[[], SqlUnitOfWork], engine: AsyncEngine
) -> None:
    async with uow_factory() as uow:
        consultation = await uow.consultations.add(new_consultation(outcome=Outcome.ESCALATE, entry_id=None))
        escalation = await uow.escalations.open(consultation.id, NewEscalation(due_at=DUE))
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.consultations.get(consultation.id) == consultation
        assert await uow.escalations.get(escalation.id) == escalation
    assert escalation.status is EscalationStatus.OPEN
    assert await count_rows(engine, "residents") == 1


async def test_nothing_is_written_without_commit(
    uow_factory: Callable[[], SqlUnitOfWork], engine: AsyncEngine
) -> None:
    async with uow_factory() as uow:
        consultation = await uow.consultations.add(new_consultation())
        await uow.escalations.open(consultation.id, NewEscalation(due_at=DUE))

    for table in ("residents", "consultations", "escalations"):
        assert await count_rows(engine, table) == 0, table


async def test_an_exception_discards_everything_and_propagates(
    uow_factory: Callable[[], SqlUnitOfWork], engine: AsyncEngine
) -> None:
    with pytest.raises(RuntimeError, match="notifier down"):
        async with uow_factory() as uow:
            consultation = await uow.consultations.add(new_consultation())
            await uow.escalations.open(consultation.id, NewEscalation(due_at=DUE))
            raise RuntimeError("notifier down")

    for table in ("residents", "consultations", "escalations"):
        assert await count_rows(engine, table) == 0, table


async def test_writes_after_a_commit_are_discarded_unless_committed_again(
    uow_factory: Callable[[], SqlUnitOfWork], engine: AsyncEngine
) -> None:
    async with uow_factory() as uow:
        await uow.consultations.add(new_consultation())
        await uow.commit()
        await uow.consultations.add(new_consultation(at=datetime(2024, 3, 1, 3, tzinfo=UTC)))

    assert await count_rows(engine, "consultations") == 1


async def test_a_rolled_back_resident_insert_does_not_survive(
    uow_factory: Callable[[], SqlUnitOfWork], engine: AsyncEngine
) -> None:
    # The resident is inserted inside a SAVEPOINT; releasing it must not commit it on its own.
    async with uow_factory() as uow:
        await uow.consultations.add(new_consultation(user="new-resident"))
    assert await count_rows(engine, "residents") == 0


async def test_a_unit_of_work_is_single_use(uow_factory: Callable[[], SqlUnitOfWork]) -> None:
    uow = uow_factory()
    async with uow:
        pass
    with pytest.raises(RuntimeError, match="single-use"):
        async with uow:
            pass
