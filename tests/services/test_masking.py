"""Personal numbers on their way into every record: the consultation, the knowledge gap, the ticket
posted to the officers, the officer's answer, the knowledge draft and the exports admins download."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from bot.core.models import Channel, ResidentRef, Role, StatsQuery
from bot.services.ask import STORED_CHAR_LIMIT
from bot.storage.exports import ESCALATION_COLUMNS
from bot.storage.tables import ConsultationRow, DraftRow, EscalationRow, KnowledgeGapRow, OutboxRow
from bot.wiring import Container
from tests.privacy_checks import survivors

RESIDENT = ResidentRef(Channel.WEB, "resident-token-masking-01")
ESCALATES = "我家楼下的路灯坏了好几天了没人修"  # the fixture knowledge base has no entry for it
# (the personal digits, as written)
FORMS = [
    ("13812345678", "１３８１２３４５６７８"),
    ("17755554444", "177.5555.4444"),
    ("19900001111", "+86 199 0000 1111"),
    ("510107200102290333", "510107 20010229 0333"),
    ("110105491231002", "110105491231002"),
    ("110105194912310021", "110105194912310021"),  # the check digit is wrong
    ("6222021234567890128", "6222 0212 3456 7890 128"),
]
ANSWER = (
    "已核实：身份证510107 20010229 0333，手机177.5555.4444。"
    "请带户口簿到所里，或打0772-1234567（工单WJ000001）。"
)


async def _escalate(container: Container, text: str) -> int:
    reply = await container.ask.ask("hexi", RESIDENT, text, Channel.WEB)
    assert reply.ticket is not None, text
    return int(reply.ticket.removeprefix("WJ"))


async def _column(container: Container, column, *where) -> list:
    async with container.engine.connect() as connection:
        return list((await connection.execute(select(column).where(*where))).scalars())


def _assert_masked(digits: str, text: str) -> None:
    assert not survivors(digits, text), text
    assert "*" * 4 in text


@pytest.mark.parametrize(("digits", "written"), FORMS)
async def test_every_form_is_masked_in_every_copy_of_the_question(
    container: Container, digits: str, written: str
) -> None:
    await _escalate(container, f"{ESCALATES}，我的号码{written}")
    (question,) = await _column(container, ConsultationRow.text_masked)
    (gap,) = await _column(container, KnowledgeGapRow.text_masked)
    posts = await _column(container, OutboxRow.payload, OutboxRow.kind == "escalation_post")
    for text in (question, gap, *(p["question"] for p in posts)):
        _assert_masked(digits, text)
        assert text.startswith(ESCALATES)


async def test_a_number_cut_by_the_stored_limit_is_masked_before_the_cut(container: Container) -> None:
    head = ESCALATES + "，" * (STORED_CHAR_LIMIT - len(ESCALATES) - 5)
    await _escalate(container, head + "510107 20010229 0333" + "，谢谢")
    (question,) = await _column(container, ConsultationRow.text_masked)
    assert len(question) == STORED_CHAR_LIMIT
    assert question == head + "510**"  # not the 51010 the cut alone would leave


async def test_an_officers_answer_is_kept_as_written_and_masked_in_knowledge(container: Container) -> None:
    escalation_id = await _escalate(container, ESCALATES)
    officer = await container.staff.add("李警官", Role.OFFICER, ["hexi"])
    await container.officers.answer(officer, escalation_id, ANSWER)

    # What the resident was told, on their ticket page and in the delivery, is the officer's text.
    (stored,) = await _column(container, EscalationRow.answer)
    assert stored == ANSWER
    (delivered,) = await _column(container, OutboxRow.payload, OutboxRow.kind == "officer_answer")
    assert delivered["answer"] == ANSWER

    # Saved as knowledge, which everybody reads, it carries no personal number.
    await container.officers.save_draft(officer, escalation_id)
    (draft,) = await _column(container, DraftRow.answer)
    for digits in ("510107200102290333", "17755554444"):
        _assert_masked(digits, draft)
    assert "0772-1234567" in draft and "WJ000001" in draft  # the office number and ticket stay


async def test_exports_carry_the_officers_answer_masked(container: Container) -> None:
    escalation_id = await _escalate(container, f"{ESCALATES}，电话177.5555.4444")
    officer = await container.staff.add("李警官", Role.OFFICER, ["hexi"])
    await container.officers.answer(officer, escalation_id, ANSWER)

    header, rows = container.exports.rows("escalations", StatsQuery())
    (row,) = [row async for row in rows]
    exported = dict(zip(header, row, strict=True))
    for text in (exported["问题（已脱敏）"], exported["答复（已脱敏）"]):
        _assert_masked("17755554444", text)
    _assert_masked("510107200102290333", exported["答复（已脱敏）"])
    assert "0772-1234567" in exported["答复（已脱敏）"]

    book = load_workbook(io.BytesIO(await container.exports.workbook(StatsQuery())))
    cells = [str(c) for sheet in book.worksheets for values in sheet.values for c in values if c]
    assert any("0772-1234567" in c for c in cells)
    for digits in ("510107200102290333", "17755554444"):
        assert not any(survivors(digits, c) for c in cells)


async def test_exports_mask_text_that_reached_the_database_unmasked(container: Container) -> None:
    # Rows written around the services (a bulk load, a restore of an old backup) are masked on the
    # way out as well.
    escalation_id = await _escalate(container, ESCALATES)
    async with container.engine.begin() as connection:
        await connection.execute(update(ConsultationRow).values(text_masked="路灯坏了，电话177.5555.4444"))
        await connection.execute(
            update(EscalationRow)
            .where(EscalationRow.id == escalation_id)
            .values(answer="已联系，身份证５１０１０７２００１０２２９０３３３")
        )
    _, consultations = container.exports.rows("consultations", StatsQuery())
    (consultation,) = [row async for row in consultations]
    _assert_masked("17755554444", consultation[-1])
    _, escalations = container.exports.rows("escalations", StatsQuery())
    (escalation,) = [row async for row in escalations]
    assert len(escalation) == len(ESCALATION_COLUMNS)
    _assert_masked("17755554444", escalation[-2])
    _assert_masked("510107200102290333", escalation[-1])
