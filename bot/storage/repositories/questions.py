"""The consultations behind a dashboard figure (SqlStatsRepository.questions): the same period and
community conditions as the figures (since <= created_at < until), read from consultations itself
rather than the daily rollups, since the rows are listed and not only counted."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.models import Outcome, QuestionItem, QuestionSearch
from bot.storage.tables import ConsultationRow, EscalationRow
from bot.storage.types import as_utc


async def question_page(session: AsyncSession, search: QuestionSearch) -> tuple[list[QuestionItem], int]:
    """One page, newest first, and how many match in all."""
    c = ConsultationRow
    conditions = _conditions(search)
    total = await session.scalar(select(func.count()).select_from(c).where(*conditions))
    rows = await session.execute(
        _listed()
        .where(*conditions)
        .order_by(c.created_at.desc(), c.id.desc())
        .offset(search.offset)
        .limit(search.limit)
    )
    return [_item(row) for row in rows.tuples()], int(total or 0)


def _conditions(search: QuestionSearch) -> list[ColumnElement[bool]]:
    c = ConsultationRow
    period = search.period
    conditions: list[ColumnElement[bool]] = []
    if period.since is not None:
        conditions.append(c.created_at >= period.since)
    if period.until is not None:
        conditions.append(c.created_at < period.until)
    if period.community is not None:
        conditions.append(c.community == period.community)
    if search.entry_id is not None:
        conditions.append(c.entry_id == search.entry_id)
    if search.outcome is not None:
        conditions.append(c.outcome == search.outcome.value)
    if not search.views:
        conditions.append(c.via_menu.is_(False))
    return conditions


def _listed() -> Select[Any]:
    c, e = ConsultationRow, EscalationRow
    # One ticket at most per consultation (a unique key): the outer join never repeats a row.
    return select(
        c.id, c.created_at, c.community, c.text_masked, c.outcome, c.entry_id, c.via_menu, c.urgent, e.id
    ).outerjoin(e, e.consultation_id == c.id)


def _item(row: tuple[Any, ...]) -> QuestionItem:
    cid, created, community, text, outcome, entry_id, via_menu, urgent, escalation_id = row
    return QuestionItem(
        id=cid,
        created_at=as_utc(created),
        community=community,
        text_masked=text,
        outcome=Outcome(outcome),
        entry_id=entry_id,
        via_menu=bool(via_menu),
        urgent=bool(urgent),
        escalation_id=escalation_id,
    )
