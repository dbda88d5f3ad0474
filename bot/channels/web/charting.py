"""Dashboard charts. The dashboard page draws them in the browser (static/dashboard.js, Apache ECharts)
from /api/v1/stats, with the figures also in tables under them; the PNG route draws them here
(bot.channels.charts, matplotlib) for clients that need an image.

The PNGs run off the event loop, one chart at a time (matplotlib's global settings are not safe to
change from several threads at once). matplotlib is imported by the first chart drawn, not at start-up:
a replica that never draws one keeps about 26 MB less (the first chart takes about a second longer)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from bot.channels.charts import chart_png
from bot.channels.web.filters import StatsFilter
from bot.services.reports import AdminReport

if TYPE_CHECKING:
    from bot.core.knowledge import KnowledgeBase

CHART_KINDS = ("days", "outcomes", "topics", "communities", "escalations", "satisfaction")
# The list behind a bar (bot.channels.web.questions reads the same parameters).
QUESTIONS_PATH = "/admin/questions"


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


@dataclass(frozen=True, slots=True)
class TableRow:
    key: str  # the day, entry id or community slug: dashboard.js finds a bar's label by it
    label: str
    count: int
    href: str  # the questions behind the figure


def chart_tables(report: AdminReport, kb: KnowledgeBase, selected: StatsFilter) -> dict[str, list[TableRow]]:
    """Every figure of the day, topic and community charts, for the tables under them (screen readers,
    browsers without JavaScript), each linked to its questions. The outcome, escalation and
    satisfaction charts draw figures the dashboard's own tables already list.

    Each link asks for what its figure counted: a day counts questions (guide views apart), a topic
    and a community count guide views too."""
    s = report.snapshot
    return {
        "days": [TableRow(r.key, r.key, r.count, questions_link(selected, day=r.key)) for r in s.by_day],
        "topics": [
            TableRow(r.key, _title(kb, r.key), r.count, questions_link(selected, entry=r.key, views="1"))
            for r in s.by_entry
        ],
        "communities": [
            TableRow(r.key, _name(kb, r.key), r.count, questions_link(selected, community=r.key, views="1"))
            for r in s.by_community
        ],
    }


def questions_link(selected: StatsFilter, **narrow: str) -> str:
    """The questions page for the dashboard's period and community, narrowed by `narrow` (day=, entry=,
    community=, outcome=, views=1, page=)."""
    params = {
        "since": selected.since.isoformat(),
        "until": selected.until.isoformat(),
        "community": selected.community or "",
    } | narrow
    return QUESTIONS_PATH + "?" + urlencode({k: v for k, v in params.items() if v})


def _title(kb: KnowledgeBase, entry_id: str) -> str:
    # An entry removed from the knowledge since still has its consultations: shown by its id.
    entry = kb.entries.get(entry_id)
    return entry.title if entry is not None else entry_id


def _name(kb: KnowledgeBase, slug: str) -> str:
    community = kb.communities.get(slug)
    return community.name if community is not None else slug
