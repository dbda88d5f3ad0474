"""Read-only SQL for exports, the metrics' backlog gauges and the health ping.

SQLAlchemy Core on the storage tables, through the container's engine; nothing here writes. Exports
stream rows with a server-side cursor, so a year of consultations never sits in memory at once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy import Select, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.models import (
    CLOSE_REASON_ZH,
    Backlog,
    CloseReason,
    DeliveryStatus,
    EscalationStatus,
    StatsQuery,
    ticket_number,
)
from bot.core.privacy import mask_personal_numbers
from bot.storage.tables import ConsultationRow, EscalationRow, OutboxRow, TelegramUpdateRow
from bot.storage.types import as_utc

STREAM_BATCH = 2000


async def ping(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


async def backlog(engine: AsyncEngine) -> Backlog:
    """One statement, one round trip: every figure is a scalar subquery over an indexed column
    (outbox status, telegram_updates processed_at, escalations status), cheap at every scrape."""
    waiting = [EscalationStatus.OPEN.value, EscalationStatus.CLAIMED.value]
    pending = OutboxRow.status == DeliveryStatus.PENDING.value
    statement = select(
        _count(OutboxRow, pending),
        select(func.min(OutboxRow.created_at)).where(pending).scalar_subquery(),
        _count(TelegramUpdateRow, TelegramUpdateRow.processed_at.is_(None)),
        *(_count(EscalationRow, EscalationRow.status == status) for status in waiting),
    )
    async with engine.connect() as connection:
        outbox, oldest, inbox, *escalations = (await connection.execute(statement)).one()
    return Backlog(
        open_escalations=dict(zip(waiting, escalations, strict=True)),
        outbox_pending=outbox,
        outbox_oldest=as_utc(oldest),
        inbox_pending=inbox,
    )


def _count(table: Any, condition: Any) -> Any:
    return select(func.count()).select_from(table).where(condition).scalar_subquery()


CONSULTATION_COLUMNS = (
    "编号", "时间", "社区", "渠道", "结果", "条目", "置信度", "紧急", "菜单浏览", "问题（已脱敏）",
)  # fmt: skip
ESCALATION_COLUMNS = (
    "工单号", "社区", "状态", "提交时间", "承诺时间", "认领时间", "答复时间", "办结时间", "办结原因",
    "按时答复", "民警", "问题（已脱敏）", "答复（已脱敏）",
)  # fmt: skip
STATUS_ZH = {"open": "待认领", "claimed": "办理中", "answered": "已答复", "closed": "已办结"}


async def consultation_rows(engine: AsyncEngine, query: StatsQuery) -> AsyncIterator[tuple[Any, ...]]:
    """One row per consultation, in CONSULTATION_COLUMNS order. The resident's pseudonym is left out."""
    c = ConsultationRow
    columns = (
        c.id,
        c.created_at,
        c.community,
        c.channel,
        c.outcome,
        c.entry_id,
        c.score,
        c.urgent,
        c.via_menu,
    )
    statement = select(*columns, c.text_masked).order_by(c.created_at, c.id)
    async for row in _stream(engine, _period(statement, query, c.created_at, c.community)):
        cid, created, community, channel, outcome, entry_id, score, urgent, via_menu, question = row
        yield (
            cid,
            as_utc(created),
            community,
            channel,
            outcome,
            entry_id or "",
            round(score, 1),
            bool(urgent),
            bool(via_menu),
            # Recorded masked; masked again on the way out (a no-op then) for rows that reached the
            # table another way, such as a bulk load or an old backup restored.
            mask_personal_numbers(question),
        )


async def escalation_rows(engine: AsyncEngine, query: StatsQuery) -> AsyncIterator[tuple[Any, ...]]:
    """One row per escalation, in ESCALATION_COLUMNS order."""
    e = EscalationRow
    times = (e.created_at, e.due_at, e.claimed_at, e.answered_at, e.closed_at)
    statement = (
        select(e.id, e.community, e.status, *times, e.close_reason)
        .add_columns(e.officer, ConsultationRow.text_masked, e.answer)
        .join(ConsultationRow, e.consultation_id == ConsultationRow.id)
        .order_by(e.created_at, e.id)
    )
    async for row in _stream(engine, _period(statement, query, e.created_at, e.community)):
        eid, community, status, created, due, claimed, answered, closed, reason = row[:9]
        officer, question, answer = row[9:]
        due, answered = as_utc(due), as_utc(answered)
        in_time = "" if answered is None else ("是" if answered <= due else "否")
        yield (
            ticket_number(eid),
            community,
            STATUS_ZH.get(status, status),
            as_utc(created),
            due,
            as_utc(claimed),
            answered,
            as_utc(closed),
            CLOSE_REASON_ZH[CloseReason(reason)] if reason else "",
            in_time,
            officer or "",
            # The question is recorded masked (masked again for rows that reached the table another
            # way); the answer is kept as the resident was told it, and masked here on its way out.
            mask_personal_numbers(question),
            mask_personal_numbers(answer or ""),
        )


def _period(statement: Select[Any], query: StatsQuery, created_at: Any, community: Any) -> Select[Any]:
    if query.since is not None:
        statement = statement.where(created_at >= query.since)
    if query.until is not None:
        statement = statement.where(created_at < query.until)
    if query.community is not None:
        statement = statement.where(community == query.community)
    return statement


async def _stream(engine: AsyncEngine, statement: Select[Any]) -> AsyncIterator[Sequence[Any]]:
    async with engine.connect() as connection:
        result = await connection.stream(statement.execution_options(yield_per=STREAM_BATCH))
        async for partition in result.partitions(STREAM_BATCH):
            for row in partition:
                yield tuple(row)
