from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.models import Community
from bot.storage.tables import CommunityRow


class SqlCommunityRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def upsert_many(self, communities: list[Community]) -> None:
        # Select-then-write instead of ON CONFLICT: portable, and the list is a few dozen rows loaded
        # once at start-up. Communities missing from the list are kept: consultations still refer to them.
        slugs = [c.slug for c in communities]
        existing = {
            row.slug: row
            for row in await self._session.scalars(select(CommunityRow).where(CommunityRow.slug.in_(slugs)))
        }
        for community in communities:
            row = existing.get(community.slug)
            if row is None:
                row = CommunityRow(slug=community.slug)
                self._session.add(row)
                existing[community.slug] = row
            row.name = community.name
            row.district = community.district
            row.sample = community.sample
        await self._session.flush()

    async def list_slugs(self) -> list[str]:
        return list(await self._session.scalars(select(CommunityRow.slug).order_by(CommunityRow.slug)))
