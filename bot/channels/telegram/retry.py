"""Updates that failed because a dependency was down are handled again, never answered with an
apology and dropped.

In long polling Telegram counts an update as delivered as soon as the next batch is asked for, so the
retry lives here, in the process: the update is fed to the handlers again after a growing pause, for up
to RETRY_FOR_SECONDS. With a webhook the inbox keeps the update instead (webhook.py leaves it
unfinished and its recovery loop handles it again): `retry_outages` is switched off there.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.types import Update

from bot.adapters.outage import is_outage

log = logging.getLogger(__name__)

RETRY_DELAYS = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0)  # seconds; the last repeats
RETRY_FOR_SECONDS = 30 * 60.0


class RetryingDispatcher(Dispatcher):
    retry_outages = True
    retry_delays: tuple[float, ...] = RETRY_DELAYS
    retry_for_seconds = RETRY_FOR_SECONDS

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._retries: set[asyncio.Task[None]] = set()

    async def feed_update(self, bot: Bot, update: Update, **kwargs: Any) -> Any:
        try:
            return await super().feed_update(bot, update, **kwargs)
        except Exception as exc:
            if not (self.retry_outages and is_outage(exc)):
                raise
            log.warning(
                "update %s: a dependency is unavailable (%s); handling it again shortly",
                update.update_id,
                type(exc).__name__,
            )
            task = asyncio.create_task(self._again(bot, update, kwargs), name=f"retry-{update.update_id}")
            self._retries.add(task)
            task.add_done_callback(self._retries.discard)
            return None

    async def _again(self, bot: Bot, update: Update, kwargs: dict[str, Any]) -> None:
        deadline = time.monotonic() + self.retry_for_seconds
        attempt = 0
        while True:
            await asyncio.sleep(self.retry_delays[min(attempt, len(self.retry_delays) - 1)])
            attempt += 1
            try:
                await super().feed_update(bot, update, **kwargs)
                log.warning("update %s handled after %d retries", update.update_id, attempt)
                return
            except Exception as exc:
                if not is_outage(exc):
                    log.exception("update %s failed on retry", update.update_id)
                    return
                if time.monotonic() > deadline:
                    log.error("update %s given up: dependency still unavailable", update.update_id)
                    return

    @property
    def retrying(self) -> int:
        """Updates waiting to be handled again."""
        return len(self._retries)

    async def stop_retrying(self) -> None:
        for task in list(self._retries):
            task.cancel()
        if self._retries:
            log.warning(
                "%d updates still waiting for a dependency are dropped at shutdown", len(self._retries)
            )
            await asyncio.gather(*self._retries, return_exceptions=True)
