from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.models import ResidentPrefs, ResidentRef
from bot.core.ports import Clock, NotFoundError
from bot.storage.tables import CommunityRow, ResidentRow


class SqlResidentRepository:
    """Preferences live on the pseudonymous residents row; setting one registers the account if new."""

    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self._session = session
        self._clock = clock

    async def prefs(self, resident: ResidentRef) -> ResidentPrefs:
        row = (
            await self._session.execute(
                select(ResidentRow.community, ResidentRow.language, ResidentRow.blocked).where(
                    *_matches(resident)
                )
            )
        ).one_or_none()
        if row is None:
            return ResidentPrefs()
        return ResidentPrefs(community=row.community, language=row.language, blocked=row.blocked)

    async def set_community(self, resident: ResidentRef, community: str, at: datetime) -> None:
        """NotFoundError for a community that is not in the database."""
        if await self._session.get(CommunityRow, community) is None:
            raise NotFoundError(f"community {community!r} does not exist")
        await self._set(resident, at, community=community)

    async def set_language(self, resident: ResidentRef, language: str, at: datetime) -> None:
        await self._set(resident, at, language=language)

    async def set_blocked(self, resident: ResidentRef, blocked: bool) -> None:
        # The port passes no time for this one: the injected clock supplies it.
        await self._set(resident, self._clock.now(), blocked=blocked)

    async def _set(self, resident: ResidentRef, at: datetime, **values: Any) -> None:
        resident_id = await ensure_resident(self._session, resident, first_seen=at)
        await self._session.execute(
            update(ResidentRow)
            .where(ResidentRow.id == resident_id)
            .values(**values, updated_at=at)
            .execution_options(synchronize_session=False)
        )


async def ensure_resident(session: AsyncSession, ref: ResidentRef, *, first_seen: datetime) -> int:
    """The id of the account's residents row, inserted (first seen at `first_seen`) if new."""
    found = await _find_resident(session, ref)
    if found is not None:
        return found
    try:
        # The savepoint confines a lost race to this insert, not the whole unit of work.
        async with session.begin_nested():
            row = ResidentRow(
                channel=ref.channel.value,
                channel_user_id=ref.channel_user_id,
                created_at=first_seen,
                updated_at=first_seen,
            )
            session.add(row)
    except IntegrityError:
        # Another transaction registered the same account between our select and insert.
        found = await _find_resident(session, ref)
        if found is None:
            raise
        return found
    return row.id


async def _find_resident(session: AsyncSession, ref: ResidentRef) -> int | None:
    resident_id: int | None = await session.scalar(select(ResidentRow.id).where(*_matches(ref)))
    return resident_id


def _matches(ref: ResidentRef) -> tuple[Any, ...]:
    return (ResidentRow.channel == ref.channel.value, ResidentRow.channel_user_id == ref.channel_user_id)
