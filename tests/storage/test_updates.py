"""The webhook's durable inbox: accepted once per update_id, leased back after a crash, finished."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.uow import SqlUnitOfWork

T0 = datetime(2024, 3, 1, 2, tzinfo=UTC)
LEASE = 60.0


def payload(update_id: int) -> dict[str, object]:
    return {"update_id": update_id, "message": {"message_id": 1, "text": f"问题 {update_id}"}}


async def accept(make: Callable[[], SqlUnitOfWork], update_id: int, at: datetime = T0) -> bool:
    async with make() as uow:
        accepted = await uow.updates.accept(update_id, payload(update_id), at, LEASE)
        await uow.commit()
    return accepted


async def lease(make: Callable[[], SqlUnitOfWork], now: datetime, limit: int = 10) -> list[int]:
    async with make() as uow:
        leased = await uow.updates.lease(now, limit, LEASE)
        await uow.commit()
    return [update_id for update_id, _ in leased]


async def test_an_update_is_accepted_once_and_a_duplicate_leaves_the_transaction_usable(
    uow_factory: Callable[[], SqlUnitOfWork],
) -> None:
    assert await accept(uow_factory, 7) is True
    async with uow_factory() as uow:
        assert await uow.updates.accept(7, payload(7), T0, LEASE) is False  # duplicate, inside a savepoint
        assert await uow.updates.accept(8, payload(8), T0, LEASE) is True  # the transaction goes on
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.updates.pending() == 2


async def test_lease_returns_unfinished_updates_once_their_claim_ran_out(
    uow_factory: Callable[[], SqlUnitOfWork],
) -> None:
    await accept(uow_factory, 1)
    await accept(uow_factory, 2)
    assert await lease(uow_factory, T0 + timedelta(seconds=30)) == []  # still claimed by the receiver
    async with uow_factory() as uow:
        await uow.updates.finish(1, T0 + timedelta(seconds=1))
        await uow.commit()

    async with uow_factory() as uow:
        leased = await uow.updates.lease(T0 + timedelta(seconds=61), 10, LEASE)
        await uow.commit()
    assert leased == [(2, payload(2))]
    assert await lease(uow_factory, T0 + timedelta(seconds=62)) == []  # claimed again
    assert await lease(uow_factory, T0 + timedelta(seconds=122)) == [2]
    async with uow_factory() as uow:
        await uow.updates.finish(2, T0 + timedelta(seconds=123))
        await uow.commit()
    assert await lease(uow_factory, T0 + timedelta(days=1)) == []


async def test_prune_forgets_processed_updates_only(uow_factory: Callable[[], SqlUnitOfWork]) -> None:
    await accept(uow_factory, 1)
    await accept(uow_factory, 2)
    async with uow_factory() as uow:
        await uow.updates.finish(1, T0)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.updates.prune(T0 + timedelta(days=1)) == 1
        await uow.commit()
    assert await accept(uow_factory, 2) is False
    assert await accept(uow_factory, 1) is True  # forgotten: a day later it would be new


async def test_concurrent_accepts_of_one_update_let_exactly_one_in(
    uow_factory: Callable[[], SqlUnitOfWork],
) -> None:
    results = await asyncio.gather(*(accept(uow_factory, 42) for _ in range(5)))
    assert sorted(results) == [False, False, False, False, True]


async def test_postgres_recoverers_skip_updates_another_one_holds(
    uow_factory: Callable[[], SqlUnitOfWork], engine: AsyncEngine
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers: a second recoverer waits for the first to commit")
    for update_id in range(1, 7):
        await accept(uow_factory, update_id)
    later = T0 + timedelta(seconds=LEASE + 1)

    async with uow_factory() as first:
        held = [u for u, _ in await first.updates.lease(later, 3, LEASE)]
        second = await asyncio.wait_for(lease(uow_factory, later), timeout=5)
        await first.commit()

    assert held == [1, 2, 3]
    assert second == [4, 5, 6]
    assert await lease(uow_factory, later) == []
