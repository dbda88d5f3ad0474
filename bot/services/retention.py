"""The daily retention pass: residents' words older than RETENTION_DAYS are removed, counts kept."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.core.ports import Clock

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from bot.storage.retention import Forgotten

log = logging.getLogger(__name__)


class RetentionService:
    def __init__(self, engine: AsyncEngine, clock: Clock, days: int) -> None:
        self._engine = engine
        self._clock = clock
        self._days = days  # 0: keep everything

    async def run_once(self) -> Forgotten | None:
        if self._days <= 0:
            return None
        from bot.storage.retention import forget_before

        forgotten = await forget_before(self._engine, self._clock.now() - timedelta(days=self._days))
        if forgotten.consultations or forgotten.escalations or forgotten.gaps:
            log.warning(
                "retention (%d days): removed the words of %d consultations and %d tickets",
                self._days,
                forgotten.consultations,
                forgotten.escalations,
            )
        return forgotten
