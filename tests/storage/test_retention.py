"""Past the retention period residents' words go, and every figure stays what it was."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.models import StatsQuery
from bot.storage.retention import FORGOTTEN, forget_before
from bot.storage.uow import SqlUnitOfWork

from .factories import FakeClock, add_consultation, add_escalation, add_staff

OLD = datetime(2024, 3, 1, 2, tzinfo=UTC)
RECENT = datetime(2025, 3, 1, 2, tzinfo=UTC)


async def test_old_words_are_removed_and_the_figures_stay(
    uow_factory: Callable[[], SqlUnitOfWork], engine: AsyncEngine, clock: FakeClock
) -> None:
    await add_consultation(uow_factory, at=OLD, text="老问题：身份证丢了，电话1**********")
    await add_consultation(uow_factory, at=RECENT, text="新问题：护照怎么办")
    old_ticket = await add_escalation(
        uow_factory, clock, opened=OLD, due=OLD + timedelta(days=1), user="2001"
    )
    officer = await add_staff(uow_factory)
    async with uow_factory() as uow:
        await uow.escalations.answer(
            old_ticket.id, officer, "请致电 0772-1234567 联系我", OLD + timedelta(hours=2)
        )
        await uow.escalations.set_callback_phone(old_ticket.id, "13800138000")
        await uow.commit()
    clock.current = RECENT + timedelta(days=30)
    async with uow_factory() as uow:
        before = await uow.stats.snapshot(StatsQuery())
        before_times = await uow.stats.response_times(StatsQuery())

    forgotten = await forget_before(engine, RECENT - timedelta(days=200))
    assert (forgotten.consultations, forgotten.escalations, forgotten.gaps) == (2, 1, 1)
    async with engine.connect() as connection:
        texts = list((await connection.execute(text("select text_masked from consultations"))).scalars())
        ticket = (
            await connection.execute(text("select answer, callback_phone, status from escalations"))
        ).one()
        gaps = (await connection.execute(text("select count(*) from knowledge_gaps"))).scalar_one()
    assert sorted(texts) == sorted([FORGOTTEN, FORGOTTEN, "新问题：护照怎么办"])
    assert ticket == (FORGOTTEN, None, "answered") and gaps == 0
    async with uow_factory() as uow:
        assert await uow.stats.snapshot(StatsQuery()) == before  # every count as it was
        assert await uow.stats.response_times(StatsQuery()) == before_times

    again = await forget_before(engine, RECENT - timedelta(days=200))
    assert (again.consultations, again.escalations, again.gaps) == (0, 0, 0)
