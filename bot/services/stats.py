"""Consultation statistics for admins: the same figures for the CLI, Telegram and the dashboard."""

from __future__ import annotations

from bot.core.models import StatsQuery, StatsSnapshot
from bot.core.ports import UnitOfWorkFactory


class StatsService:
    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow = uow_factory

    async def snapshot(self, query: StatsQuery | None = None) -> StatsSnapshot:
        async with self._uow() as uow:
            return await uow.stats.snapshot(query or StatsQuery())
