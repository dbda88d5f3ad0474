"""Spreadsheet exports for admins: consultations (masked text) and escalations of a period."""

from __future__ import annotations

import asyncio
import io
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

    async def workbook(self, query: StatsQuery) -> bytes:
        """One XLSX file with two sheets: 咨询记录 and 转办工单."""
        from openpyxl import Workbook

        from bot.storage import exports

        book = Workbook(write_only=True)
        sheets = (
            ("咨询记录", exports.CONSULTATION_COLUMNS, exports.consultation_rows(self._engine, query)),
            ("转办工单", exports.ESCALATION_COLUMNS, exports.escalation_rows(self._engine, query)),
        )
        for title, header, rows in sheets:
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
