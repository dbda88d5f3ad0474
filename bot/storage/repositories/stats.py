from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from bot.core.models import (
    CountRow,
    EscalationStatus,
    Helpfulness,
    Outcome,
    ResponseTimes,
    Satisfaction,
    StatsQuery,
    StatsSnapshot,
    TextCount,
)
from bot.storage.sql_functions import utc_day
from bot.storage.tables import ConsultationRow, EscalationRow, FeedbackRow


class SqlStatsRepository:
    """Counts are GROUP BYs in the database; rows never travel to Python for them. The one exception is
    response_times (see there).

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

    async def response_times(self, query: StatsQuery) -> ResponseTimes:
        """Escalations created in the period that have an answer (answered, or closed after one).

        Percentiles are not portable SQL (SQLite has no percentile_cont), so the three timestamps of
        each answered escalation are fetched and the figures computed here, with percentile_cont's
        linear interpolation. That is bounded by the number of escalations in the period (a few
        thousand a year for a busy station), and subtracting timestamps in Python is exact on both
        databases, where SQLite's julianday arithmetic would be off by microseconds.
        """
        rows = await self._session.execute(
            select(EscalationRow.created_at, EscalationRow.answered_at, EscalationRow.due_at).where(
                EscalationRow.answered_at.is_not(None),
                *_period(query, EscalationRow.created_at, EscalationRow.community),
            )
        )
        minutes: list[float] = []
        within_due = 0
        for created_at, answered_at, due_at in rows.tuples():
            minutes.append((answered_at - created_at).total_seconds() / 60)
            within_due += answered_at <= due_at
        minutes.sort()
        return ResponseTimes(
            answered=len(minutes),
            median_minutes=percentile(minutes, 0.5),
            p90_minutes=percentile(minutes, 0.9),
            within_due=within_due,
        )

    async def top_questions(self, query: StatsQuery, outcome: str, limit: int = 10) -> list[TextCount]:
        """Menu browsing is not a question and is left out."""
        count = func.count().label("n")
        rows = await self._session.execute(
            select(ConsultationRow.text_masked, count)
            .where(
                ConsultationRow.outcome == str(outcome),
                ConsultationRow.via_menu.is_(False),
                *_period(query, ConsultationRow.created_at, ConsultationRow.community),
            )
            .group_by(ConsultationRow.text_masked)
            .order_by(count.desc(), ConsultationRow.text_masked)
            .limit(limit)
        )
        return [TextCount(text, n) for text, n in rows.tuples()]

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


def percentile(ordered: Sequence[float], fraction: float) -> float | None:
    """Like SQL percentile_cont: linear interpolation between the two nearest ranks of sorted values."""
    if not ordered:
        return None
    position = fraction * (len(ordered) - 1)
    lower = math.floor(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def _with_zeros(values: Any, counts: dict[str, int]) -> dict[str, int]:
    # Every known key is present, so dashboards and reports need no .get(key, 0) everywhere.
    return {member.value: counts.get(member.value, 0) for member in values} | counts
