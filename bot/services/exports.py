"""Exports for admins (consultations with masked text, escalations of a period) and the read-only
figures operations watch (database reachable, escalations waiting)."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.core.models import StatsQuery

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

# A cell starting like a formula is stored as text, so opening the file never runs resident input.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MAX_ROWS = 1_048_575  # Excel's sheet limit, minus the header


class ExportService:
    def __init__(self, engine: AsyncEngine, timezone: str) -> None:
        self._engine = engine
        self._tz = ZoneInfo(timezone)

    def rows(self, what: str, query: StatsQuery) -> tuple[Sequence[str], AsyncIterator[tuple[Any, ...]]]:
        """The header and a stream of rows for `what`: "consultations" or "escalations"."""
        from bot.storage import exports

        if what == "consultations":
            return exports.CONSULTATION_COLUMNS, exports.consultation_rows(self._engine, query)
        if what == "escalations":
            return exports.ESCALATION_COLUMNS, exports.escalation_rows(self._engine, query)
        raise ValueError(f"unknown export {what!r}")

    async def ping(self) -> None:
        """Raises when the database does not answer."""
        from bot.storage import exports

        await exports.ping(self._engine)

    async def waiting_escalations(self) -> dict[str, int]:
        from bot.storage import exports

        return await exports.waiting_escalations(self._engine)

    async def workbook(self, query: StatsQuery) -> bytes:
        """One XLSX file with two sheets: 咨询记录 and 转办工单."""
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        for title, what in (("咨询记录", "consultations"), ("转办工单", "escalations")):
            header, rows = self.rows(what, query)
            sheet = book.create_sheet(title)
            sheet.append(list(header))
            count = 0
            async for row in rows:
                if count < MAX_ROWS:
                    sheet.append([self._cell(sheet, value) for value in row])
                count += 1
        buffer = io.BytesIO()
        await asyncio.to_thread(book.save, buffer)
        return buffer.getvalue()

    def _cell(self, sheet: Any, value: Any) -> Any:
        from openpyxl.cell import WriteOnlyCell

        if value is None:
            return ""
        if isinstance(value, bool):
            return "是" if value else "否"
        if isinstance(value, datetime):
            return value.astimezone(self._tz).strftime("%Y-%m-%d %H:%M:%S")
        if isinstance(value, str) and value.startswith(FORMULA_STARTS):
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"
            return cell
        return value
