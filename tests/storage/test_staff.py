from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert as insert_into
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.models import NewStaff, Role, Staff
from bot.core.ports import ConflictError, NotFoundError
from bot.storage.tables import StaffRow
from bot.storage.uow import SqlUnitOfWork

from .factories import add_staff


async def test_add_get_and_list_return_the_accounts_with_sorted_communities(
    uow_factory: Callable[[], SqlUnitOfWork],
) -> None:
    officer = await add_staff(
        uow_factory, "王警官", communities=("xinhua", "minzhu", "xinhua"), telegram_user_id=5_000_000_001
    )
    admin = await add_staff(
        uow_factory, "管理员", role=Role.ADMIN, communities=(), username="admin", password_hash="$argon2$x"
    )

    assert officer == Staff(
        id=officer.id,
        name="王警官",
        role=Role.OFFICER,
        communities=("minzhu", "xinhua"),
        telegram_user_id=5_000_000_001,
    )
    assert admin == Staff(id=admin.id, name="管理员", role=Role.ADMIN, username="admin")
    async with uow_factory() as uow:
        assert await uow.staff.get(officer.id) == officer
        assert await uow.staff.get(admin.id) == admin
        assert await uow.staff.get(admin.id + 1000) is None
        assert await uow.staff.list() == [officer, admin]
        assert await uow.staff.by_telegram_id(5_000_000_001) == officer
        assert await uow.staff.by_telegram_id(7) is None


async def test_add_refuses_unknown_communities(uow_factory: Callable[[], SqlUnitOfWork]) -> None:
    with pytest.raises(NotFoundError, match="atlantis"):
        await add_staff(uow_factory, communities=("xinhua", "atlantis"))
    async with uow_factory() as uow:
        assert await uow.staff.list() == []


async def test_telegram_ids_and_usernames_are_unique_among_active_accounts_only(
    uow_factory: Callable[[], SqlUnitOfWork],
) -> None:
    old = await add_staff(uow_factory, "老王", telegram_user_id=101, username="wang", password_hash="h1")
    with pytest.raises(ConflictError):
        await add_staff(uow_factory, "冒名", telegram_user_id=101)
    with pytest.raises(ConflictError):
        await add_staff(uow_factory, "冒名", username="wang")

    async with uow_factory() as uow:
        await uow.staff.deactivate(old.id)
        await uow.staff.deactivate(old.id)  # idempotent
        await uow.commit()
    successor = await add_staff(
        uow_factory, "小王", telegram_user_id=101, username="wang", password_hash="h2"
    )

    async with uow_factory() as uow:
        # The deactivated account keeps its identifiers on record but no longer signs anybody in.
        assert await uow.staff.get(old.id) == Staff(
            id=old.id,
            name="老王",
            role=Role.OFFICER,
            communities=("xinhua",),
            telegram_user_id=101,
            username="wang",
            active=False,
        )
        assert await uow.staff.by_telegram_id(101) == successor
        assert await uow.staff.credentials("wang") == (successor, "h2")
        assert [s.active for s in await uow.staff.list()] == [False, True]


async def test_credentials_and_telegram_lookups_are_for_active_accounts_only(
    uow_factory: Callable[[], SqlUnitOfWork],
) -> None:
    admin = await add_staff(
        uow_factory, "管理员", role=Role.ADMIN, communities=(), username="admin", telegram_user_id=555
    )
    async with uow_factory() as uow:
        assert await uow.staff.credentials("admin") is None  # no password yet
        assert await uow.staff.credentials("nobody") is None
        await uow.staff.set_password(admin.id, "$argon2id$v=19$hash")
        assert await uow.staff.credentials("admin") == (admin, "$argon2id$v=19$hash")
        assert await uow.staff.credentials("ADMIN") is None  # usernames are compared exactly
        await uow.staff.deactivate(admin.id)
        assert await uow.staff.credentials("admin") is None
        assert await uow.staff.by_telegram_id(555) is None  # active accounts only
        with pytest.raises(NotFoundError):
            await uow.staff.set_password(admin.id + 1000, "x")
        with pytest.raises(NotFoundError):
            await uow.staff.deactivate(admin.id + 1000)


async def test_concurrent_adds_with_one_telegram_id_leave_one_account(
    uow_factory: Callable[[], SqlUnitOfWork],
) -> None:
    # Both may pass the repository's own check before either commits: the partial unique index decides.
    async def add(name: str) -> Staff:
        async with uow_factory() as uow:
            staff = await uow.staff.add(NewStaff(name=name, role=Role.OFFICER, telegram_user_id=777))
            await asyncio.sleep(0.05)
            await uow.commit()
            return staff

    results = await asyncio.gather(add("甲"), add("乙"), add("丙"), return_exceptions=True)

    assert sum(isinstance(r, Staff) for r in results) == 1
    assert sum(isinstance(r, ConflictError) for r in results) == 2
    async with uow_factory() as uow:
        assert len(await uow.staff.list()) == 1


async def test_the_database_itself_keeps_active_identifiers_unique(engine: AsyncEngine) -> None:
    # Partial unique indexes (WHERE active) on both databases: the last line of defence under races.
    at = datetime(2024, 3, 1, tzinfo=UTC)

    async def insert(**values: object) -> None:
        async with engine.begin() as connection:
            await connection.execute(
                insert_into(StaffRow).values(name="x", role="officer", created_at=at, **values)
            )

    await insert(telegram_user_id=1, username="a", active=False)
    await insert(telegram_user_id=1, username="a", active=False)
    await insert(telegram_user_id=1, username="a", active=True)
    with pytest.raises(IntegrityError):
        await insert(telegram_user_id=1, active=True)
    with pytest.raises(IntegrityError):
        await insert(username="a", active=True)
    await insert(telegram_user_id=None, username=None, active=True)
    await insert(telegram_user_id=None, username=None, active=True)  # NULLs never clash
