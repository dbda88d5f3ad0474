"""Dashboard charts: bot.channels.charts draws them (matplotlib); this runs it off the event loop, one
chart at a time (matplotlib's global settings are not safe to change from several threads at once).
matplotlib is imported by the first chart drawn, not at start-up: a replica that never draws one
keeps about 26 MB less (the first chart takes about a second longer)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

from bot.channels.charts import chart_png
from bot.services.reports import AdminReport

CHART_KINDS = ("days", "outcomes", "topics", "communities", "escalations", "satisfaction")


class ChartRenderer:
    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="charts")

    async def png(
        self, kind: str, report: AdminReport, titles: Mapping[str, str], names: Mapping[str, str]
    ) -> bytes:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, chart_png, kind, report, titles, names)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
