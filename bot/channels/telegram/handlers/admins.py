"""Admins: /stats [today|week|month|year] [community], /report YEAR, /export.

Only allowlisted admins; anyone else gets a polite refusal rather than silence (or a question answer).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, Message

from bot.channels.charts import summary_png
from bot.channels.telegram.filters import StaffOnly
from bot.channels.telegram.handlers.common import send_chunks
from bot.channels.telegram.markup import escape, split_html
from bot.channels.telegram.render import stats_caption
from bot.channels.telegram.texts import Translator
from bot.core.models import Role
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


async def export(message: Message) -> None:
    await message.reply("导出明细请使用网页管理后台的“导出”功能（含 Excel 文件），聊天中不发送个人数据。")


async def refuse(message: Message, t: Translator) -> None:
    await message.reply(t("staff_only"))
