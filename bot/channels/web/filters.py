"""Admin filters (date range, community) from GET parameters, and a short-lived report cache so the
dashboard and its six charts share one set of queries."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from bot.core.models import StatsQuery
from bot.services.reports import AdminReport, days_query

DEFAULT_DAYS = 30


@dataclass(frozen=True, slots=True)
class StatsFilter:
    """Dates are local calendar days, both inclusive, as people read them."""

    since: date
    until: date
    community: str | None

    @classmethod
    def from_params(
        cls, params: Mapping[str, str], *, today: date, communities: Mapping[str, object]
    ) -> StatsFilter:
        # `from`/`to` as in GET /api/v1/stats, so an export can be asked for with the API's period.
        until = read_day(params.get("until") or params.get("to")) or today
        since = read_day(params.get("since") or params.get("from"))
        since = since or until - timedelta(days=DEFAULT_DAYS - 1)
        if since > until:
            since, until = until, since
        community = params.get("community") or None
        if community is not None and community not in communities:
            community = None  # an unknown slug is ignored rather than shown as an empty dashboard
        return cls(since, until, community)

    def query(self, timezone: str) -> StatsQuery:
        return days_query(self.since, self.until, timezone, self.community)

    def params(self) -> str:
        values = {"since": self.since.isoformat(), "until": self.until.isoformat()}
        if self.community:
            values["community"] = self.community
        return urlencode(values)


# Days a period may start or end on. The calendar's own first and last days pass date.fromisoformat,
# but their local midnights overflow datetime: ignored like any other unreadable day.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)


def read_day(value: str | None) -> date | None:
    """A day (ISO 8601, e.g. 2026-12-06) of FIRST_DAY to LAST_DAY; None when unreadable or out of range."""
    if not value:
        return None
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        return None
    return day if FIRST_DAY <= day <= LAST_DAY else None


def today_in(timezone: str) -> date:
    return datetime.now(ZoneInfo(timezone)).date()


class ReportCache:
    """AdminReport per query for a few seconds: one dashboard view makes seven requests for the same
    figures. Bounded, and short enough that an admin who reloads sees fresh counts."""

    def __init__(self, ttl_seconds: float = 10.0, size: int = 32) -> None:
        self._ttl = ttl_seconds
        self._size = size
        self._items: OrderedDict[StatsQuery, tuple[float, AdminReport]] = OrderedDict()

    async def get(
        self, query: StatsQuery, load: Callable[[StatsQuery], Awaitable[AdminReport]]
    ) -> AdminReport:
        now = time.monotonic()
        hit = self._items.get(query)
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]
        report = await load(query)
        self._put(query, now, report)
        return report

    async def fresh(
        self, query: StatsQuery, load: Callable[[StatsQuery], Awaitable[AdminReport]]
    ) -> AdminReport:
        """The dashboard page itself always reads fresh figures; its charts then reuse them."""
        report = await load(query)
        self._put(query, time.monotonic(), report)
        return report

    def _put(self, query: StatsQuery, at: float, report: AdminReport) -> None:
        self._items[query] = (at, report)
        self._items.move_to_end(query)
        while len(self._items) > self._size:
            self._items.popitem(last=False)
