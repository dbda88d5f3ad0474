"""Admins: /stats [today|week|month|year] [community], /report YEAR, /export.

Only allowlisted admins; anyone else gets a polite refusal rather than silence (or a question answer).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, Message

from bot.channels.charts import summary_png
from bot.channels.telegram.filters import StaffOnly
from bot.channels.telegram.handlers.common import send_chunks
from bot.channels.telegram.markup import escape, split_html
from bot.channels.telegram.render import stats_caption
from bot.channels.telegram.texts import Translator
from bot.core.models import Role, StatsQuery
from bot.services.reports import PERIODS, annual_paragraph, period_query, year_query

if TYPE_CHECKING:
    from bot.wiring import Container

COMMANDS = ("stats", "report", "export")
PERIOD_ZH = {"today": "今日", "week": "近7天", "month": "本月", "year": "本年"}
STATS_USAGE = "用法：/stats [today|week|month|year] [社区代码]，例如 /stats month gongyuan"


def setup() -> Router:
    router = Router(name=__name__)
    router.message.register(stats, Command("stats"), StaffOnly({Role.ADMIN}))
    router.message.register(report, Command("report"), StaffOnly({Role.ADMIN}))
    router.message.register(export, Command("export"), StaffOnly({Role.ADMIN}))
    router.message.register(refuse, Command(*COMMANDS))
    return router


def parse_stats_args(args: str | None, communities: set[str]) -> tuple[str, str | None]:
    """(period, community); ValueError with the usage for anything else."""
    period, community = "week", None
    for token in (args or "").split():
        if token in PERIODS:
            period = token
        elif token in communities:
            community = token
        else:
            raise ValueError(f"不认识“{token}”。{STATS_USAGE}")
    return period, community


async def stats(message: Message, command: CommandObject, container: Container) -> None:
    kb = container.kb
    try:
        period, community = parse_stats_args(command.args, set(kb.communities))
    except ValueError as exc:
        await message.reply(escape(str(exc)))
        return
    query = period_query(period, container.clock.now(), container.settings.timezone, community)
    result = await container.reports.report(query)
    titles = {eid: e.title for eid, e in kb.entries.items()}
    names = {slug: c.name for slug, c in kb.communities.items()}
    # matplotlib takes a few hundred milliseconds: off the event loop, so other chats keep flowing.
    png = await asyncio.to_thread(summary_png, result, titles, names)
    scope = names[community] if community else "全市"
    label = f"{scope} · {PERIOD_ZH[period]}统计"
    await message.answer_photo(
        BufferedInputFile(png, filename=f"stats-{period}.png"), caption=stats_caption(result, label, titles)
    )


async def report(message: Message, command: CommandObject, bot: Bot, container: Container) -> None:
    arg = (command.args or "").strip()
    this_year = container.clock.now().year
    if not arg.isdigit() or not 2000 <= int(arg) <= this_year:
        await message.reply(f"用法：/report 年份，例如 /report {this_year - 1}")
        return
    year = int(arg)
    result = await container.reports.report(year_query(year, container.settings.timezone))
    paragraph = annual_paragraph(year, result, len(container.kb.communities))
    await send_chunks(
        bot, message.chat.id, split_html(f"<b>{year}年网上警务室工作情况</b>\n\n{escape(paragraph)}")
    )


EXPORT_USAGE = "用法：/export [开始日期] [结束日期]，例如 /export 2026-01-01 2026-06-30（默认近30天）"


async def export(message: Message, command: CommandObject, container: Container) -> None:
    """The period's consultations (masked) and escalations as one XLSX document, to admins only."""
    tz = ZoneInfo(container.settings.timezone)
    today = container.clock.now().astimezone(tz).date()
    try:
        dates = [date.fromisoformat(part) for part in (command.args or "").split()]
    except ValueError:
        await message.reply(EXPORT_USAGE)
        return
    if len(dates) > 2:
        await message.reply(EXPORT_USAGE)
        return
    start = dates[0] if dates else today - timedelta(days=29)
    end = dates[1] if len(dates) == 2 else today
    if end < start:
        await message.reply(EXPORT_USAGE)
        return
    query = StatsQuery(
        since=datetime.combine(start, time.min, tz).astimezone(UTC),
        until=datetime.combine(end + timedelta(days=1), time.min, tz).astimezone(UTC),
    )
    data = await container.exports.workbook(query)
    user = message.from_user
    actor = await container.officers.staff_by_telegram(user.id) if user is not None else None
    if actor is not None:  # StaffOnly let it through: the export is on record like the web's
        await container.audit.record(actor, "export", "Telegram /export", f"{start} 至 {end}")
    name = f"网上警务室-{start.isoformat()}-{end.isoformat()}.xlsx"
    await message.reply_document(
        BufferedInputFile(data, filename=name), caption=f"{start} 至 {end} 的咨询记录（已脱敏）与转办工单"
    )


async def refuse(message: Message, t: Translator) -> None:
    await message.reply(t("staff_only"))
