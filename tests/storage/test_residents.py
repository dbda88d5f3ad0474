from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.models import Channel, ResidentPrefs, ResidentRef
from bot.core.ports import NotFoundError
from bot.storage.tables import ConsultationRow, ResidentRow
from bot.storage.uow import SqlUnitOfWork

from .factories import FakeClock, add_consultation, count_rows

ALICE = ResidentRef(Channel.TELEGRAM, "42")
T0 = datetime(2024, 3, 1, 2, tzinfo=UTC)


async def _resident_rows(engine: AsyncEngine) -> list[tuple[str, str, datetime, datetime]]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(
                ResidentRow.channel,
                ResidentRow.channel_user_id,
                ResidentRow.created_at,
                ResidentRow.updated_at,
            ).order_by(ResidentRow.id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


async def test_an_unknown_resident_has_the_defaults_and_is_not_registered_by_reading(
    uow_factory: Callable[[], SqlUnitOfWork], engine: AsyncEngine
) -> None:
    async with uow_factory() as uow:
        assert await uow.residents.prefs(ALICE) == ResidentPrefs(community=None, language="zh", blocked=False)
        await uow.commit()
    assert await count_rows(engine, "residents") == 0


async def test_setting_preferences_registers_the_resident_once_and_keeps_each_setting(
    uow_factory: Callable[[], SqlUnitOfWork], engine: AsyncEngine
) -> None:
    async with uow_factory() as uow:
        await uow.residents.set_community(ALICE, "minzhu", T0)
        await uow.commit()
    async with uow_factory() as uow:
        await uow.residents.set_language(ALICE, "en", T0 + timedelta(hours=1))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.residents.prefs(ALICE) == ResidentPrefs(community="minzhu", language="en")
        # The same id on the web is somebody else.
        assert await uow.residents.prefs(ResidentRef(Channel.WEB, "42")) == ResidentPrefs()
    assert await _resident_rows(engine) == [("telegram", "42", T0, T0 + timedelta(hours=1))]

    # A later consultation reuses the row the preferences created.
    await add_consultation(uow_factory, user="42", at=T0 + timedelta(days=1))
    async with engine.connect() as connection:
        assert await connection.scalar(select(ConsultationRow.resident_id)) == await connection.scalar(
            select(ResidentRow.id)
        )
    assert await count_rows(engine, "residents") == 1


async def test_preferences_of_a_resident_first_seen_in_a_consultation(
    uow_factory: Callable[[], SqlUnitOfWork], engine: AsyncEngine
) -> None:
    await add_consultation(uow_factory, user="42", at=T0)
    assert await _resident_rows(engine) == [("telegram", "42", T0, T0)]
    async with uow_factory() as uow:
        assert await uow.residents.prefs(ALICE) == ResidentPrefs()
        await uow.residents.set_community(ALICE, "xinhua", T0 + timedelta(minutes=5))
        await uow.commit()
    async with uow_factory() as uow:
        assert (await uow.residents.prefs(ALICE)).community == "xinhua"
    assert await _resident_rows(engine) == [("telegram", "42", T0, T0 + timedelta(minutes=5))]


async def test_blocking_is_recorded_at_the_clocks_time_and_can_be_undone(
    uow_factory: Callable[[], SqlUnitOfWork], engine: AsyncEngine, clock: FakeClock
) -> None:
    clock.current = T0
    async with uow_factory() as uow:
        await uow.residents.set_blocked(ALICE, True)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.residents.prefs(ALICE) == ResidentPrefs(blocked=True)
        clock.current = T0 + timedelta(days=2)
        await uow.residents.set_blocked(ALICE, False)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.residents.prefs(ALICE) == ResidentPrefs(blocked=False)
    assert await _resident_rows(engine) == [("telegram", "42", T0, T0 + timedelta(days=2))]


async def test_an_unknown_community_is_refused(uow_factory: Callable[[], SqlUnitOfWork]) -> None:
    async with uow_factory() as uow:
        with pytest.raises(NotFoundError):
            await uow.residents.set_community(ALICE, "atlantis", T0)
        assert await uow.residents.prefs(ALICE) == ResidentPrefs()
