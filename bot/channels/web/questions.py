"""Admins: the questions behind a figure of the dashboard. A bar of a chart (or a row of its table)
links here with the dashboard's period and community, narrowed to its day, topic, community or
outcome; the list shows the consultations it counted, masked, newest first, 50 a page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from aiohttp import web

from bot.channels.charts import OUTCOME_LABELS
from bot.channels.web.charting import questions_link
from bot.channels.web.filters import StatsFilter, read_day, today_in
from bot.channels.web.identity import admin_only
from bot.channels.web.keys import CONTAINER
from bot.channels.web.pages import render
from bot.channels.web.views import local_time
from bot.core.models import Outcome, QuestionItem, QuestionSearch, ticket_number
from bot.core.privacy import mask_personal_numbers
from bot.wiring import Container

PAGE_SIZE = 50
MAX_PAGE = 10_000
MAX_ENTRY_ID = 128  # the column's width: a longer id matches nothing anyway
VIEW_LABEL = "浏览指南"
OUTCOMES = frozenset(o.value for o in Outcome)

routes = web.RouteTableDef()


@dataclass(frozen=True, slots=True)
class Wanted:
    """The page's parameters, read leniently: what cannot be read is ignored, as on the dashboard."""

    selected: StatsFilter  # the dashboard's period and community (links back and between pages)
    day: date | None  # one local day of it: the day's bar
    entry: str | None
    outcome: Outcome | None
    views: bool  # guide views too: the topic and community bars count them
    page: int

    @property
    def period(self) -> StatsFilter:
        if self.day is None:
            return self.selected
        return StatsFilter(self.day, self.day, self.selected.community)

    def link(self, page: int) -> str:
        narrow = {
            "day": self.day.isoformat() if self.day else "",
            "entry": self.entry or "",
            "outcome": self.outcome.value if self.outcome else "",
            "views": "1" if self.views else "",
            "page": str(page) if page > 1 else "",
        }
        return questions_link(self.selected, **narrow)


@routes.get("/admin/questions", name="questions")
@admin_only
async def questions(request: web.Request) -> web.Response:
    container = request.app[CONTAINER]
    wanted = _wanted(request, container)
    search = QuestionSearch(
        period=wanted.period.query(container.settings.timezone),
        entry_id=wanted.entry,
        outcome=wanted.outcome,
        views=wanted.views,
        offset=(wanted.page - 1) * PAGE_SIZE,
        limit=PAGE_SIZE,
    )
    async with container.uow_factory() as uow:
        found, total = await uow.stats.questions(search)
    pages = max(1, -(-total // PAGE_SIZE))
    page = wanted.page
    context = {
        "items": [_item(container, q) for q in found],
        "total": total,
        "page": page,
        "pages": pages,
        # Past the last page (an old link, fewer questions now): back leads to the last one.
        "previous": wanted.link(min(page - 1, pages)) if page > 1 else None,
        "next": wanted.link(page + 1) if page < pages else None,
        "conditions": _conditions(container, wanted),
        "back": "/admin?" + wanted.selected.params(),
    }
    return await render(request, "questions.html", context)


def _wanted(request: web.Request, container: Container) -> Wanted:
    query = request.query
    selected = StatsFilter.from_params(
        query, today=today_in(container.settings.timezone), communities=container.kb.communities
    )
    entry = query.get("entry", "").strip()
    outcome = query.get("outcome", "")
    return Wanted(
        selected=selected,
        day=read_day(query.get("day")),
        entry=entry if 0 < len(entry) <= MAX_ENTRY_ID else None,
        outcome=Outcome(outcome) if outcome in OUTCOMES else None,
        views=query.get("views") == "1",
        page=_page(query.get("page")),
    )


def _page(value: str | None) -> int:
    try:
        return max(1, min(int(value or "1"), MAX_PAGE))
    except ValueError:
        return 1


def _item(container: Container, q: QuestionItem) -> dict[str, Any]:
    entry = container.kb.entries.get(q.entry_id) if q.entry_id else None
    return {
        "time": local_time(q.created_at, container.settings.timezone),
        "community": _community_name(container, q.community),
        # Recorded masked; masked again here (a no-op then) for rows that reached the table another
        # way, such as a bulk load or an old backup restored, as the exports do.
        "text": mask_personal_numbers(q.text_masked),
        "outcome": VIEW_LABEL if q.via_menu else OUTCOME_LABELS.get(q.outcome.value, q.outcome.value),
        "outcome_key": "view" if q.via_menu else q.outcome.value,
        "entry": entry.title if entry is not None else (q.entry_id or ""),
        "urgent": q.urgent,
        "ticket": ticket_number(q.escalation_id) if q.escalation_id else None,
        "ticket_href": f"/console/e/{q.escalation_id}" if q.escalation_id else None,
    }


def _conditions(container: Container, wanted: Wanted) -> list[tuple[str, str]]:
    """What the list is narrowed to, in words, for the page's heading."""
    selected = wanted.selected
    period = wanted.period
    rows = [
        ("日期", period.since.isoformat())
        if wanted.day
        else ("时段", f"{selected.since.isoformat()} 至 {selected.until.isoformat()}"),
        ("社区", _community_name(container, selected.community) if selected.community else "全部社区"),
    ]
    if wanted.entry:
        entry = container.kb.entries.get(wanted.entry)
        rows.append(("话题", entry.title if entry is not None else wanted.entry))
    if wanted.outcome:
        rows.append(("结果", OUTCOME_LABELS.get(wanted.outcome.value, wanted.outcome.value)))
    rows.append(("范围", "群众提问和浏览指南" if wanted.views else "群众提问（不含浏览指南）"))
    return rows


def _community_name(container: Container, slug: str) -> str:
    community = container.kb.communities.get(slug)
    return community.name if community is not None else slug
