"""CSV and XLSX downloads, streamed: rows go out as they come from the database.

Every text cell is something a resident or officer typed. Spreadsheet programs run cells that start
with "=" (and a few other characters) as formulas, so such text is defused: CSV cells get a leading
apostrophe, XLSX cells are stored explicitly as text.
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import tempfile
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from aiohttp import web

log = logging.getLogger(__name__)

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
XLSX_MAX_ROWS = 1_048_575  # Excel's sheet limit, minus the header
CSV_FLUSH_ROWS = 500
CHUNK = 64 * 1024
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _cell(value: Any, tz: ZoneInfo) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, datetime):
        return value.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")
    return value


def _attachment(filename: str) -> str:
    # RFC 6266: an ASCII fallback and the UTF-8 name.
    fallback = filename.encode("ascii", "replace").decode()
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"


async def send_csv(
    request: web.Request,
    filename: str,
    header: Sequence[str],
    rows: AsyncIterator[tuple[Any, ...]],
    timezone: str,
) -> web.StreamResponse:
    tz = ZoneInfo(timezone)
    response = web.StreamResponse(
        headers={"Content-Type": "text/csv; charset=utf-8", "Content-Disposition": _attachment(filename)}
    )
    await response.prepare(request)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")  # a byte order mark, so Excel reads the Chinese as UTF-8
    writer.writerow(header)
    count = 0
    async for row in rows:
        writer.writerow([_defuse_csv(_cell(v, tz)) for v in row])
        count += 1
        if count % CSV_FLUSH_ROWS == 0:
            await response.write(buffer.getvalue().encode())
            buffer.seek(0)
            buffer.truncate()
    await response.write(buffer.getvalue().encode())
    await response.write_eof()
    return response


def _defuse_csv(value: Any) -> Any:
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


async def send_xlsx(
    request: web.Request,
    filename: str,
    sheet: str,
    header: Sequence[str],
    rows: AsyncIterator[tuple[Any, ...]],
    timezone: str,
    title: str = "",
) -> web.StreamResponse:
    from openpyxl import Workbook

    from bot.services.exports import start_sheet, xlsx_row

    tz = ZoneInfo(timezone)
    workbook = Workbook(write_only=True)
    worksheet = start_sheet(workbook, sheet, title, header)
    count = 0
    async for row in rows:
        if count >= XLSX_MAX_ROWS:
            log.warning("export %s cut at Excel's %d rows; use CSV for more", filename, XLSX_MAX_ROWS)
            break
        worksheet.append(xlsx_row(worksheet, row, tz))
        count += 1

    with tempfile.TemporaryFile() as spool:
        await asyncio.to_thread(workbook.save, spool)
        spool.seek(0, io.SEEK_END)
        size = spool.tell()
        spool.seek(0)
        response = web.StreamResponse(
            headers={"Content-Type": XLSX_TYPE, "Content-Disposition": _attachment(filename)}
        )
        response.content_length = size
        await response.prepare(request)
        while chunk := await asyncio.to_thread(spool.read, CHUNK):
            await response.write(chunk)
    await response.write_eof()
    return response
