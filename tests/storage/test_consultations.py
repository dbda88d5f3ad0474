from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.models import Channel, Consultation, Outcome
from bot.storage.tables import ConsultationRow, ResidentRow
from bot.storage.uow import SqlUnitOfWork

from .factories import add_consultation, count_rows, new_consultation


async def test_add_returns_the_stored_consultation_and_get_reads_it_back(
    uow_factory: Callable[[], SqlUnitOfWork],
) -> None:
    at = datetime(2024, 3, 1, 9, 15, tzinfo=timezone(timedelta(hours=8)))
    async with uow_factory() as uow:
        added = await uow.consultations.add(
            new_consultation(
                channel=Channel.WEB, outcome=Outcome.CLARIFY, at=at, via_menu=True, urgent=True, entry_id=None
            )
        )
        await uow.commit()

    expected = Consultation(
        id=added.id,
        community="xinhua",
        channel=Channel.WEB,
        text_masked="孩子出生怎么上户口？电话1**********",
        outcome=Outcome.CLARIFY,
        entry_id=None,
        score=71.5,
        urgent=True,
        created_at=datetime(2024, 3, 1, 1, 15, tzinfo=UTC),
        via_menu=True,
    )
    assert added == expected
    assert added.created_at.tzinfo is UTC
    async with uow_factory() as uow:
        read = await uow.consultations.get(added.id)
        assert await uow.consultations.get(added.id + 1000) is None
    assert read == expected
    assert isinstance(read.channel, Channel) and isinstance(read.outcome, Outcome)
    assert read.created_at.tzinfo is UTC


async def test_candidates_are_stored_comma_joined(
    uow_factory: Callable[[], SqlUnitOfWork], engine: AsyncEngine
) -> None:
    await add_consultation(uow_factory, candidates=("huji-birth", "huji-move", "id-card-renew"))
    async with engine.connect() as connection:
        stored = await connection.scalar(select(ConsultationRow.candidates))
    assert stored == "huji-birth,huji-move,id-card-renew"


async def test_the_same_account_is_one_resident(
    uow_factory: Callable[[], SqlUnitOfWork], engine: AsyncEngine
) -> None:
    first = datetime(2024, 3, 1, 2, tzinfo=UTC)
    await add_consultation(uow_factory, user="42", at=first)
    await add_consultation(uow_factory, user="42", at=first + timedelta(days=1))
    # Same id on another channel is another person (a Telegram id is not a web session id).
    await add_consultation(uow_factory, user="42", channel=Channel.WEB)
    await add_consultation(uow_factory, user="43")

    async with engine.connect() as connection:
        residents = (
            await connection.execute(
                select(ResidentRow.channel, ResidentRow.channel_user_id, ResidentRow.created_at).order_by(
                    ResidentRow.id
                )
            )
        ).all()
        per_resident = (
            await connection.execute(
                select(ConsultationRow.resident_id, ConsultationRow.id).order_by(ConsultationRow.id)
            )
        ).all()
    assert [(c, u) for c, u, _ in residents] == [("telegram", "42"), ("web", "42"), ("telegram", "43")]
    assert residents[0][2] == first  # first seen, not overwritten by later visits
    assert per_resident[0][0] == per_resident[1][0]
    assert len({resident for resident, _ in per_resident}) == 3
    assert await count_rows(engine, "consultations") == 4


async def test_concurrent_first_messages_from_one_account_create_one_resident(
    uow_factory: Callable[[], SqlUnitOfWork], engine: AsyncEngine
) -> None:
    # Several updates from a new resident handled at once: all race to register the same account.
    await asyncio.gather(*(add_consultation(uow_factory, user="burst") for _ in range(8)))

    assert await count_rows(engine, "residents") == 1
    assert await count_rows(engine, "consultations") == 8
