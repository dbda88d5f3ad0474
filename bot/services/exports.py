"""Exports for admins (consultations with masked text, escalations of a period) and the read-only
figures operations watch (database reachable, escalations, messages and updates waiting)."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.core.models import Backlog, StatsQuery

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from bot.core.knowledge import KnowledgeBase

# A cell starting like a formula is stored as text, so opening the file never runs resident input.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MAX_ROWS = 1_048_575  # Excel's sheet limit, minus the header


CHANNEL_ZH = {"web": "网页", "telegram": "Telegram", "api": "API", "cli": "命令行"}
OUTCOME_ZH = {"answer": "机器人解答", "clarify": "追问澄清", "escalate": "转民警"}
# Column widths in characters (a CJK character counts two), by header; others get DEFAULT_WIDTH.
WIDTHS = {"问题（已脱敏）": 60, "答复（已脱敏）": 60, "条目": 28, "社区": 16, "办结原因": 18}
DEFAULT_WIDTH = 12
TIME_WIDTH = 18
TIME_FORMAT = "yyyy-mm-dd hh:mm"


class ExportService:
    def __init__(self, engine: AsyncEngine, timezone: str, kb: KnowledgeBase | None = None) -> None:
        self._engine = engine
        self._tz = ZoneInfo(timezone)
        self._kb = kb

    def rows(self, what: str, query: StatsQuery) -> tuple[Sequence[str], AsyncIterator[tuple[Any, ...]]]:
        """The header and a stream of rows for `what`: "consultations" or "escalations", for people
        to read: community names, entry titles and outcomes in words (the CSV and XLSX alike)."""
        from bot.storage import exports

        if what == "consultations":
            return exports.CONSULTATION_COLUMNS, self._consultations(
                exports.consultation_rows(self._engine, query)
            )
        if what == "escalations":
            return exports.ESCALATION_COLUMNS, self._escalations(exports.escalation_rows(self._engine, query))
        raise ValueError(f"unknown export {what!r}")

    def _community(self, slug: str) -> str:
        community = self._kb.communities.get(slug) if self._kb is not None else None
        return community.name if community is not None else slug

    def _entry(self, entry_id: str) -> str:
        entry = self._kb.entries.get(entry_id) if self._kb is not None and entry_id else None
        return entry.title if entry is not None else entry_id

    async def _consultations(self, rows: AsyncIterator[tuple[Any, ...]]) -> AsyncIterator[tuple[Any, ...]]:
        async for cid, created, community, channel, outcome, entry_id, score, urgent, menu, text in rows:
            result = "浏览指南" if menu else OUTCOME_ZH.get(outcome, outcome)
            yield (
                cid,
                created,
                self._community(community),
                CHANNEL_ZH.get(channel, channel),
                result,
                self._entry(entry_id),
                score,
                urgent,
                menu,
                text,
            )

    async def _escalations(self, rows: AsyncIterator[tuple[Any, ...]]) -> AsyncIterator[tuple[Any, ...]]:
        async for row in rows:
            yield (row[0], self._community(row[1]), *row[2:])

    async def ping(self) -> None:
        """Raises when the database does not answer."""
        from bot.storage import exports

        await exports.ping(self._engine)

    async def backlog(self) -> Backlog:
        """What waits: escalations, undelivered messages, unhandled webhook updates."""
        from bot.storage import exports

        return await exports.backlog(self._engine)

    def period_title(self, what: str, query: StatsQuery) -> str:
        """The title row of a sheet: what, the local dates covered, the community."""
        name = "咨询记录" if what == "consultations" else "转办工单"
        since = query.since.astimezone(self._tz).date().isoformat() if query.since else "开始"
        until = (
            (query.until.astimezone(self._tz) - timedelta(seconds=1)).date().isoformat()
            if query.until
            else "今天"
        )
        place = self._community(query.community) if query.community else "全部社区"
        return f"网上警务室{name}　{since} 至 {until}　{place}　（问题和答复中的身份证号、手机号已脱敏）"

    async def workbook(self, query: StatsQuery) -> bytes:
        """One XLSX file with two sheets: 咨询记录 and 转办工单."""
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        for title, what in (("咨询记录", "consultations"), ("转办工单", "escalations")):
            header, rows = self.rows(what, query)
            sheet = start_sheet(book, title, self.period_title(what, query), header)
            count = 0
            async for row in rows:
                if count < MAX_ROWS:
                    sheet.append(xlsx_row(sheet, row, self._tz))
                count += 1
        buffer = io.BytesIO()
        await asyncio.to_thread(book.save, buffer)
        return buffer.getvalue()


def start_sheet(book: Any, name: str, title: str, header: Sequence[str]) -> Any:
    """A write-only sheet with a title row, the header under it (frozen) and column widths."""
    from openpyxl.utils import get_column_letter

    sheet = book.create_sheet(name)
    for n, column in enumerate(header, 1):
        width = TIME_WIDTH if "时间" in column else WIDTHS.get(column, DEFAULT_WIDTH)
        sheet.column_dimensions[get_column_letter(n)].width = width
    sheet.freeze_panes = "A3"
    sheet.append([title])
    sheet.append(list(header))
    return sheet


def xlsx_row(sheet: Any, row: Sequence[Any], tz: ZoneInfo) -> list[Any]:
    """Cells for people: times as real date cells in local time, yes/no in words, text that looks like
    a formula stored as text (opening the file never runs a resident's input)."""
    from openpyxl.cell import WriteOnlyCell

    cells: list[Any] = []
    for value in row:
        if value is None:
            cells.append("")
        elif isinstance(value, bool):
            cells.append("是" if value else "否")
        elif isinstance(value, datetime):
            cell = WriteOnlyCell(sheet, value=value.astimezone(tz).replace(tzinfo=None))
            cell.number_format = TIME_FORMAT
            cells.append(cell)
        elif isinstance(value, str) and value.startswith(FORMULA_STARTS):
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"
            cells.append(cell)
        else:
            cells.append(value)
    return cells
