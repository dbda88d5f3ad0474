from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.models import Community
from bot.storage.tables import CommunityRow
from bot.storage.uow import SqlUnitOfWork


async def _stored(engine: AsyncEngine) -> list[tuple[str, str, str, bool]]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(CommunityRow.slug, CommunityRow.name, CommunityRow.district, CommunityRow.sample).order_by(
                CommunityRow.slug
            )
        )
        return [tuple(row) for row in rows]


async def test_upsert_inserts_updates_and_keeps_missing_ones(
    uow_factory: Callable[[], SqlUnitOfWork], engine: AsyncEngine
) -> None:
    # The uow_factory fixture has already loaded xinhua and minzhu.
    async with uow_factory() as uow:
        await uow.communities.upsert_many(
            [
                Community(slug="xinhua", name="新华社区（更名）", district="东城区", sample=True),
                Community(slug="anding", name="安定社区", district="北城区"),
            ]
        )
        await uow.commit()

    assert await _stored(engine) == [
        ("anding", "安定社区", "北城区", False),
        ("minzhu", "民主社区", "西城区", True),
        ("xinhua", "新华社区（更名）", "东城区", True),
    ]
    async with uow_factory() as uow:
        assert await uow.communities.list_slugs() == ["anding", "minzhu", "xinhua"]


async def test_upsert_is_idempotent(uow_factory: Callable[[], SqlUnitOfWork], engine: AsyncEngine) -> None:
    before = await _stored(engine)
    communities = [
        Community(slug=slug, name=name, district=district, sample=sample)
        for slug, name, district, sample in before
    ]
    for _ in range(2):
        async with uow_factory() as uow:
            await uow.communities.upsert_many(communities)
            await uow.commit()
    assert await _stored(engine) == before


async def test_upsert_of_nothing_is_harmless(uow_factory: Callable[[], SqlUnitOfWork]) -> None:
    async with uow_factory() as uow:
        await uow.communities.upsert_many([])
        assert await uow.communities.list_slugs() == ["minzhu", "xinhua"]
