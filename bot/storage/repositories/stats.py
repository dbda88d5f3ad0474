from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from bot.core.models import (
    CountRow,
    EscalationStatus,
    Helpfulness,
    Outcome,
    Satisfaction,
    StatsQuery,
    StatsSnapshot,
)
from bot.storage.sql_functions import utc_day
from bot.storage.tables import ConsultationRow, EscalationRow, FeedbackRow


class SqlStatsRepository:
    """Every figure is one GROUP BY in the database; rows never travel to Python.

    Periods are half-open: since <= created_at < until, so consecutive periods never double count.
    Feedback is dated by the vote and attributed to the community of what it rates.
    """

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def snapshot(self, query: StatsQuery) -> StatsSnapshot:
        consultations = _period(query, ConsultationRow.created_at, ConsultationRow.community)
        total, urgent, menu_views = (
            await self._session.execute(
                select(
                    func.count(),
                    func.coalesce(func.sum(case((ConsultationRow.urgent, 1), else_=0)), 0),
                    func.coalesce(func.sum(case((ConsultationRow.via_menu, 1), else_=0)), 0),
                ).where(*consultations)
            )
        ).one()
        by_outcome = await self._counts(ConsultationRow.outcome, consultations)
        by_community = await self._ranked(ConsultationRow.community, consultations)
        by_entry = await self._ranked(
            ConsultationRow.entry_id, [*consultations, ConsultationRow.entry_id.is_not(None)]
        )
        by_day = await self._by_day(consultations)

        escalations = await self._counts(
            EscalationRow.status, _period(query, EscalationRow.created_at, EscalationRow.community)
        )
        helpfulness = await self._counts(
            FeedbackRow.value,
            [
                FeedbackRow.kind == "helpfulness",
                *_period(query, FeedbackRow.created_at, ConsultationRow.community),
            ],
            join=(ConsultationRow, FeedbackRow.consultation_id == ConsultationRow.id),
        )
        satisfaction = await self._counts(
            FeedbackRow.value,
            [
                FeedbackRow.kind == "satisfaction",
                *_period(query, FeedbackRow.created_at, EscalationRow.community),
            ],
            join=(EscalationRow, FeedbackRow.escalation_id == EscalationRow.id),
        )
        return StatsSnapshot(
            total=total,
            by_outcome=_with_zeros(Outcome, by_outcome),
            by_community=by_community,
            by_entry=by_entry,
            by_day=by_day,
            urgent=urgent,
            menu_views=menu_views,
            escalations=_with_zeros(EscalationStatus, escalations),
            feedback=_with_zeros(Helpfulness, helpfulness),
            satisfaction=_with_zeros(Satisfaction, satisfaction),
        )

    async def _counts(
        self,
        key: InstrumentedAttribute[Any],
        where: list[ColumnElement[bool]],
        join: tuple[type, ColumnElement[bool]] | None = None,
    ) -> dict[str, int]:
        statement: Select[Any] = select(key, func.count()).select_from(key.class_)
        if join is not None:
            statement = statement.join(*join)
        rows = await self._session.execute(statement.where(*where).group_by(key))
        return {k: n for k, n in rows.tuples()}

    async def _ranked(
        self, key: InstrumentedAttribute[Any], where: list[ColumnElement[bool]]
    ) -> list[CountRow]:
        count = func.count().label("n")
        rows = await self._session.execute(
            select(key, count).where(*where).group_by(key).order_by(count.desc(), key)
        )
        return [CountRow(k, n) for k, n in rows.tuples()]

    async def _by_day(self, where: list[ColumnElement[bool]]) -> list[CountRow]:
        day = utc_day(ConsultationRow.created_at).label("day")
        rows = await self._session.execute(
            select(day, func.count()).where(*where).group_by(day).order_by(day)
        )
        return [CountRow(d, n) for d, n in rows.tuples()]


def _period(
    query: StatsQuery, created_at: InstrumentedAttribute[Any], community: InstrumentedAttribute[Any]
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if query.since is not None:
        conditions.append(created_at >= query.since)
    if query.until is not None:
        conditions.append(created_at < query.until)
    if query.community is not None:
        conditions.append(community == query.community)
    return conditions


def _with_zeros(values: Any, counts: dict[str, int]) -> dict[str, int]:
    # Every known key is present, so dashboards and reports need no .get(key, 0) everywhere.
    return {member.value: counts.get(member.value, 0) for member in values} | counts
