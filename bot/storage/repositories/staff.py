from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.models import NewStaff, Role, Staff, StaffSession
from bot.core.ports import Clock, ConflictError, NotFoundError
from bot.storage.tables import CommunityRow, StaffCommunityRow, StaffRow, StaffSessionRow
from bot.storage.types import as_utc


class SqlStaffRepository:
    """Telegram ids and usernames are unique among active accounts (partial unique indexes): a
    deactivated account keeps them on record and no longer blocks a successor."""

    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self._session = session
        self._clock = clock

    async def add(self, staff: NewStaff) -> Staff:
        """ConflictError when the username or Telegram id is taken by an active account;
        NotFoundError for a community that is not in the database."""
        communities = sorted(set(staff.communities))
        known = set(
            await self._session.scalars(select(CommunityRow.slug).where(CommunityRow.slug.in_(communities)))
        )
        if missing := [c for c in communities if c not in known]:
            raise NotFoundError(f"unknown communities: {', '.join(missing)}")
        await self._refuse_taken(staff)
        row = StaffRow(
            name=staff.name,
            role=staff.role.value,
            telegram_user_id=staff.telegram_user_id,
            username=staff.username,
            password_hash=staff.password_hash,
            active=True,
            created_at=self._clock.now(),
        )
        try:
            # The savepoint keeps the unit of work usable when a concurrent add took the name first.
            async with self._session.begin_nested():
                self._session.add(row)
                await self._session.flush()
                self._session.add_all(StaffCommunityRow(staff_id=row.id, community=c) for c in communities)
        except IntegrityError as error:
            raise ConflictError("username or Telegram id taken by an active account") from error
        return to_staff(row, tuple(communities))

    async def get(self, staff_id: int) -> Staff | None:
        found = await self._find(StaffRow.id == staff_id)
        return found[0] if found else None

    async def by_telegram_id(self, telegram_user_id: int) -> Staff | None:
        found = await self._find(StaffRow.telegram_user_id == telegram_user_id, StaffRow.active.is_(True))
        return found[0] if found else None

    async def credentials(self, username: str) -> tuple[Staff, str] | None:
        row = await self._session.scalar(
            select(StaffRow)
            .where(
                StaffRow.username == username,
                StaffRow.active.is_(True),
                StaffRow.password_hash.is_not(None),
            )
            .execution_options(populate_existing=True)
        )
        if row is None or row.password_hash is None:
            return None
        communities = await self._communities([row.id])
        return to_staff(row, communities[row.id]), row.password_hash

    async def list(self) -> list[Staff]:
        """Every account, deactivated ones included, in the order they were added."""
        return await self._find()

    async def deactivate(self, staff_id: int) -> None:
        """Idempotent. Escalations they claimed stay theirs: handing them over is the service's call."""
        await self._update(staff_id, active=False)

    async def set_password(self, staff_id: int, password_hash: str) -> None:
        await self._update(staff_id, password_hash=password_hash)

    async def open_session(self, token_hash: str, staff_id: int, at: datetime) -> None:
        self._session.add(
            StaffSessionRow(token_hash=token_hash, staff_id=staff_id, created_at=at, last_seen_at=at)
        )
        await self._session.flush()

    async def session_of(self, token_hash: str) -> StaffSession | None:
        row = await self._session.get(StaffSessionRow, token_hash)
        if row is None:
            return None
        return StaffSession(
            row.staff_id,
            as_utc(row.created_at),
            as_utc(row.last_seen_at),
            as_utc(row.revoked_at) if row.revoked_at else None,
        )

    async def touch_session(self, token_hash: str, at: datetime) -> None:
        await self._session.execute(
            update(StaffSessionRow).where(StaffSessionRow.token_hash == token_hash).values(last_seen_at=at)
        )

    async def revoke_sessions(
        self, *, at: datetime, token_hash: str | None = None, staff_id: int | None = None
    ) -> int:
        """Revoke one session (by token hash) or every open one of an account; returns how many."""
        condition = (
            StaffSessionRow.token_hash == token_hash
            if token_hash is not None
            else StaffSessionRow.staff_id == staff_id
        )
        result = await self._session.execute(
            update(StaffSessionRow)
            .where(condition, StaffSessionRow.revoked_at.is_(None))
            .values(revoked_at=at)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def _refuse_taken(self, staff: NewStaff) -> None:
        taken: list[ColumnElement[bool]] = []
        if staff.telegram_user_id is not None:
            taken.append(StaffRow.telegram_user_id == staff.telegram_user_id)
        if staff.username is not None:
            taken.append(StaffRow.username == staff.username)
        for condition in taken:
            if await self._session.scalar(select(StaffRow.id).where(condition, StaffRow.active.is_(True))):
                raise ConflictError("username or Telegram id taken by an active account")

    async def _update(self, staff_id: int, **values: object) -> None:
        result = await self._session.execute(
            update(StaffRow)
            .where(StaffRow.id == staff_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if not result.rowcount:  # type: ignore[attr-defined]
            raise NotFoundError(f"staff {staff_id} does not exist")

    async def _find(self, *conditions: ColumnElement[bool]) -> list[Staff]:
        rows = list(
            await self._session.scalars(
                select(StaffRow)
                .where(*conditions)
                .order_by(StaffRow.id)
                .execution_options(populate_existing=True)
            )
        )
        communities = await self._communities(row.id for row in rows)
        return [to_staff(row, communities[row.id]) for row in rows]

    async def _communities(self, staff_ids: Iterable[int]) -> defaultdict[int, tuple[str, ...]]:
        ids = list(staff_ids)
        by_staff: defaultdict[int, list[str]] = defaultdict(list)
        if ids:
            rows = await self._session.execute(
                select(StaffCommunityRow.staff_id, StaffCommunityRow.community).where(
                    StaffCommunityRow.staff_id.in_(ids)
                )
            )
            for staff_id, community in rows.tuples():
                by_staff[staff_id].append(community)
        # Sorted here, by code point: a database collation might order slugs differently.
        return defaultdict(tuple, {staff_id: tuple(sorted(slugs)) for staff_id, slugs in by_staff.items()})


def to_staff(row: StaffRow, communities: tuple[str, ...]) -> Staff:
    return Staff(
        id=row.id,
        name=row.name,
        role=Role(row.role),
        communities=communities,
        telegram_user_id=row.telegram_user_id,
        username=row.username,
        active=row.active,
    )
