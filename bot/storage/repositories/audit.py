from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.models import AuditEntry
from bot.storage.tables import AuditRow
from bot.storage.types import as_utc


class SqlAuditLog:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def record(self, entry: AuditEntry) -> None:
        await self._session.execute(
            insert(AuditRow).values(
                at=entry.at,
                staff_id=entry.staff_id,
                staff_name=entry.staff_name[:200],
                action=entry.action,
                target=entry.target[:200],
                detail=entry.detail[:2000],
            )
        )

    async def recent(self, limit: int = 200, action: str | None = None) -> list[AuditEntry]:
        statement = select(AuditRow).order_by(AuditRow.at.desc(), AuditRow.id.desc()).limit(limit)
        if action is not None:
            statement = statement.where(AuditRow.action == action)
        rows = await self._session.scalars(statement)
        return [
            AuditEntry(as_utc(r.at), r.staff_id, r.staff_name, r.action, r.target, r.detail)  # type: ignore[arg-type]
            for r in rows
        ]
