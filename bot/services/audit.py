"""Who did what: the officers' and admins' actions, for admins to read (个人信息保护: who handled
residents' matters and who took data out)."""

from __future__ import annotations

from bot.core.models import AuditEntry, Staff
from bot.core.ports import Clock, UnitOfWork, UnitOfWorkFactory


async def record(
    uow: UnitOfWork, clock: Clock, staff: Staff, action: str, target: str, detail: str = ""
) -> None:
    """In the caller's transaction: the action and its record are written together or not at all."""
    await uow.audit.record(AuditEntry(clock.now(), staff.id, staff.name, action, target, detail))


class AuditService:
    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow_factory
        self._clock = clock

    async def record(self, staff: Staff, action: str, target: str, detail: str = "") -> None:
        async with self._uow() as uow:
            await record(uow, self._clock, staff, action, target, detail)
            await uow.commit()

    async def recent(self, limit: int = 200, action: str | None = None) -> list[AuditEntry]:
        async with self._uow() as uow:
            return await uow.audit.recent(limit, action)
