"""Admins' commands: /stats (chart and key figures), /report YEAR, /export; everybody else is refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.channels.telegram.handlers.admins import parse_stats_args
from bot.core.models import Role
from tests.telegram.harness import ADMIN, OFFICER, RESIDENT, Harness


async def command(tg: Harness, person, text: str, method: str = "sendMessage"):  # type: ignore[no-untyped-def]
    after = len(tg.api.calls)
    await tg.send(person, text)
    return await tg.api.next_call(method, person.id, after=after, timeout=20)


async def test_stats_sends_a_chart_with_key_figures(tg: Harness) -> None:
    await tg.c.staff.add("管理员", Role.ADMIN, telegram_user_id=ADMIN.id)
    await tg.start_in(RESIDENT)
    await tg.reply_to(RESIDENT, "身份证丢了怎么补办")
    await tg.reply_to(RESIDENT, "楼上装修太吵了怎么办")

    photo = await command(tg, ADMIN, "/stats week gongyuan", "sendPhoto")
    caption = photo.params["caption"]
    attached = photo.params["photo"].removeprefix("attach://")
    assert photo.params[attached]["size"] > 1000  # the PNG went up as a multipart file
    assert "公园社区" in caption and "咨询 2 次" in caption and "转民警 1" in caption
    assert "办结率" in caption and "未答好" in caption and "装修" in caption
    assert len(caption) <= 1024


async def test_stats_with_a_bad_argument_explains_usage(tg: Harness) -> None:
    await tg.c.staff.add("管理员", Role.ADMIN, telegram_user_id=ADMIN.id)
    reply = await command(tg, ADMIN, "/stats <b>decade</b>")
    assert "用法" in reply.params["text"] and "&lt;b&gt;decade" in reply.params["text"]


async def test_report_writes_the_annual_paragraph(tg: Harness) -> None:
    await tg.c.staff.add("管理员", Role.ADMIN, telegram_user_id=ADMIN.id)
    await tg.start_in(RESIDENT)
    await tg.reply_to(RESIDENT, "身份证丢了怎么补办")
    year = datetime.now(UTC).year
    reply = await command(tg, ADMIN, f"/report {year}")
    assert f"{year}年" in reply.params["text"] and "答疑解惑1次" in reply.params["text"]
    usage = await command(tg, ADMIN, "/report soon")
    assert "用法" in usage.params["text"]


async def test_export_sends_a_workbook_of_the_period(tg: Harness) -> None:
    import io

    from openpyxl import load_workbook

    await tg.c.staff.add("管理员", Role.ADMIN, telegram_user_id=ADMIN.id)
    await tg.start_in(RESIDENT)
    await tg.reply_to(RESIDENT, "我的电话13812345678，楼上装修太吵了怎么办")
    document = await command(tg, ADMIN, "/export", "sendDocument")
    attached = document.params["document"].removeprefix("attach://")
    upload = document.params[attached]
    assert upload["filename"].endswith(".xlsx")
    book = load_workbook(io.BytesIO(upload["content"]), read_only=True)
    assert book.sheetnames == ["咨询记录", "转办工单"]
    consultations = [row for row in book["咨询记录"].iter_rows(values_only=True)]
    texts = " ".join(str(cell) for row in consultations[2:] for cell in row)
    assert "138****5678" in texts and "13812345678" not in texts
    assert consultations[0][0].startswith("网上警务室咨询记录") and consultations[1][0] == "编号"
    assert len(list(book["转办工单"].iter_rows(values_only=True))) == 3  # title, header and the ticket
    usage = await command(tg, ADMIN, "/export 2026-13-01")
    assert "用法" in usage.params["text"]


async def test_residents_and_officers_cannot_use_admin_commands(tg: Harness) -> None:
    await tg.c.staff.add("李警官", Role.OFFICER, ["gongyuan"], telegram_user_id=OFFICER.id)
    for person in (RESIDENT, OFFICER):
        for text in ("/stats", "/report 2025", "/export"):
            reply = await command(tg, person, text)
            assert "仅限" in reply.params["text"]
    assert not tg.api.sent("sendPhoto")


def test_stats_arguments() -> None:
    communities = {"gongyuan", "hexi"}
    assert parse_stats_args(None, communities) == ("week", None)
    assert parse_stats_args("month hexi", communities) == ("month", "hexi")
    assert parse_stats_args("gongyuan today", communities) == ("today", "gongyuan")
    with pytest.raises(ValueError, match="用法"):
        parse_stats_args("decade", communities)
