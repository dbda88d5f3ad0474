from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Select,
    and_,
    case,
    cast,
    extract,
    false,
    func,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from bot.core.models import (
    NOT_A_MATTER,
    CountRow,
    EscalationStatus,
    Helpfulness,
    Outcome,
    QuestionItem,
    QuestionSearch,
    ResponseTimes,
    Satisfaction,
    StatsQuery,
    StatsSnapshot,
    TextCount,
)
from bot.core.ports import Clock
from bot.storage.repositories.questions import question_page
from bot.storage.rollups import GAP_OUTCOMES, offset_minutes
from bot.storage.sql_functions import day_of
from bot.storage.tables import (
    ConsultationDayRow,
    ConsultationRow,
    EntryDayRow,
    EscalationRow,
    FeedbackRow,
    KnowledgeGapRow,
)

DAY = timedelta(days=1)


class _UtcClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class SqlStatsRepository:
    """Counts are GROUP BYs in the database; rows never travel to Python for them. The one exception is
    response_times on SQLite (see there).

    Periods are half-open: since <= created_at < until, so consecutive periods never double count.
    Feedback is dated by the vote and attributed to the community of what it rates.

    Consultation counts read whole days (at the reporting offset) from the daily rollups
    (consultation_days, entry_days; see bot.storage.rollups) and count the rest of the period
    (partial days at its edges, and today) in consultations itself, in one statement per figure:
    the figures are exactly those of a scan of consultations, but a year of them is a few rows per
    community and day instead of every consultation. The most asked unanswered questions read the
    narrow knowledge_gaps.
    """

    def __init__(
        self, session: AsyncSession, clock: Clock | None = None, day_offset: timedelta = timedelta()
    ) -> None:
        self._session = session
        self._clock = clock or _UtcClock()
        self._day_offset = day_offset

    async def snapshot(self, query: StatsQuery) -> StatsSnapshot:
        split = _Split.of(query, self._clock.now(), self._day_offset)
        c, d = ConsultationRow, ConsultationDayRow
        totals = _union(
            select(func.sum(d.consultations), func.sum(d.urgent), func.sum(d.menu_views)).where(
                *split.whole_days(d)
            ),
            select(func.count(), _how_many(c.urgent), _how_many(c.via_menu)).where(*split.rest),
        )
        total, urgent, menu_views = (
            await self._session.execute(select(*(func.coalesce(func.sum(n), 0) for n in totals.c)))
        ).one()
        by_outcome = dict(await self._grouped(split, d.outcome, c.outcome))
        by_community = await self._ranked(split, d.community, c.community)
        by_entry = await self._ranked(split, EntryDayRow.entry_id, c.entry_id, c.entry_id.is_not(None))
        by_day = [
            CountRow(day, n)
            for day, n in await self._grouped(
                split,
                d.day,
                day_of(c.created_at, offset_minutes(self._day_offset)),
                order_by_key=True,
                questions_only=True,  # 每日咨询量 adds up to the questions asked, views apart
            )
        ]

        in_period = _period(query, EscalationRow.created_at, EscalationRow.community)
        escalations = await self._counts(EscalationRow.status, in_period)
        not_a_matter = await self._session.scalar(
            select(func.count())
            .select_from(EscalationRow)
            .where(
                *in_period,
                EscalationRow.status == EscalationStatus.CLOSED.value,
                EscalationRow.close_reason.in_([r.value for r in NOT_A_MATTER]),
            )
        )
        helpfulness = await self._feedback("helpfulness", query, ConsultationRow, FeedbackRow.consultation_id)
        satisfaction = await self._feedback("satisfaction", query, EscalationRow, FeedbackRow.escalation_id)
        return StatsSnapshot(
            total=int(total),
            by_outcome=_with_zeros(Outcome, by_outcome),
            by_community=by_community,
            by_entry=by_entry,
            by_day=by_day,
            urgent=int(urgent),
            menu_views=int(menu_views),
            escalations=_with_zeros(EscalationStatus, escalations),
            feedback=_with_zeros(Helpfulness, helpfulness),
            satisfaction=_with_zeros(Satisfaction, satisfaction),
            not_a_matter=int(not_a_matter or 0),
        )

    async def response_times(self, query: StatsQuery) -> ResponseTimes:
        """Escalations created in the period that have an answer (answered, or closed after one).

        PostgreSQL computes the figures itself (percentile_cont); SQLite has no percentile function,
        so there the three timestamps of each answered escalation are fetched and the figures computed
        here. Both are the same arithmetic on the same doubles: minutes are exact seconds (PostgreSQL's
        numeric epoch, Python's integer microseconds) rounded once to a double and divided by 60, and
        the percentiles interpolate linearly as percentile_cont does. (SQLite's julianday arithmetic
        would be off by microseconds, hence Python there; a few thousand rows a year for a busy station.)
        """
        answered = [
            EscalationRow.answered_at.is_not(None),
            *_period(query, EscalationRow.created_at, EscalationRow.community),
        ]
        if self._session.sync_session.get_bind().dialect.name == "postgresql":
            return await self._response_times_in_sql(answered)
        rows = await self._session.execute(
            select(EscalationRow.created_at, EscalationRow.answered_at, EscalationRow.due_at).where(*answered)
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

    async def _response_times_in_sql(self, where: list[ColumnElement[bool]]) -> ResponseTimes:
        e = EscalationRow
        minutes = cast(extract("epoch", e.answered_at - e.created_at), Float) / 60
        count, median, p90, within_due = (
            await self._session.execute(
                select(
                    func.count(),
                    # Same ordering: PostgreSQL sorts once and finishes both from that state.
                    func.percentile_cont(0.5).within_group(minutes),
                    func.percentile_cont(0.9).within_group(minutes),
                    func.count().filter(e.answered_at <= e.due_at),
                ).where(*where)
            )
        ).one()
        return ResponseTimes(answered=count, median_minutes=median, p90_minutes=p90, within_due=within_due)

    async def top_questions(self, query: StatsQuery, outcome: str, limit: int = 10) -> list[TextCount]:
        """Menu browsing is not a question and is left out."""
        outcome = str(outcome)
        if outcome in GAP_OUTCOMES:  # knowledge_gaps holds exactly these rows, and narrow
            source: Any = KnowledgeGapRow
            where = [KnowledgeGapRow.outcome == outcome]
        else:
            source = ConsultationRow
            where = [ConsultationRow.outcome == outcome, ConsultationRow.via_menu.is_(False)]
        count = func.count().label("n")
        rows = await self._session.execute(
            select(source.text_masked, count)
            .where(*where, *_period(query, source.created_at, source.community))
            .group_by(source.text_masked)
            .order_by(count.desc(), source.text_masked)
            .limit(limit)
        )
        return [TextCount(text, n) for text, n in rows.tuples()]

    async def questions(self, search: QuestionSearch) -> tuple[list[QuestionItem], int]:
        return await question_page(self._session, search)

    async def _grouped(
        self,
        split: _Split,
        rolled: InstrumentedAttribute[Any],
        live: ColumnElement[Any],
        live_filter: ColumnElement[bool] | None = None,
        *,
        order_by_key: bool = False,
        questions_only: bool = False,
    ) -> list[tuple[Any, int]]:
        """Counts by one key: the rollup table's sums for the whole days plus the live counts.
        `questions_only` leaves out guide views (menu browsing), as the figure of questions asked does."""
        table = rolled.class_
        rest = [*split.rest, *([] if live_filter is None else [live_filter])]
        counted = table.consultations
        if questions_only:
            counted = table.consultations - table.menu_views
            rest.append(ConsultationRow.via_menu.is_(False))
        both = _union(
            select(rolled.label("k"), func.sum(counted).label("n"))
            .where(*split.whole_days(table))
            .group_by(rolled),
            select(live.label("k"), func.count().label("n")).where(*rest).group_by(live),
        )
        n = func.sum(both.c.n).label("n")
        order = (both.c.k,) if order_by_key else (n.desc(), both.c.k)
        rows = await self._session.execute(select(both.c.k, n).group_by(both.c.k).order_by(*order))
        # A day of views only sums to 0 in the rollups and is absent live: absent either way.
        return [(k, int(count)) for k, count in rows.tuples() if count or not questions_only]

    async def _ranked(self, split: _Split, *args: Any) -> list[CountRow]:
        return [CountRow(k, n) for k, n in await self._grouped(split, *args)]

    async def _feedback(
        self, kind: str, query: StatsQuery, rated: Any, target: InstrumentedAttribute[int | None]
    ) -> dict[str, int]:
        # What was rated is joined only to filter by its community: without that filter the join
        # changes nothing (every vote has its target; the foreign key guarantees it exists) and would
        # only cost a scan of consultations.
        where = [FeedbackRow.kind == kind, *_period(query, FeedbackRow.created_at, rated.community)]
        join = (rated, target == rated.id) if query.community is not None else None
        return await self._counts(FeedbackRow.value, where, join)

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


@dataclass(frozen=True, slots=True)
class _Split:
    """A period cut in two: whole days before today, read from a rollup table, and the rest (partial
    days at the edges, today and later), counted in consultations. A day is whole when the period
    covers it from midnight to midnight at the reporting offset; today is not, as its rows are still
    arriving."""

    days: tuple[str | None, str] | None  # [first, end) as 'YYYY-MM-DD'; None: no whole day
    community: str | None
    rest: list[ColumnElement[bool]]  # on consultations, community filter included

    @classmethod
    def of(cls, query: StatsQuery, now: datetime, offset: timedelta = timedelta()) -> _Split:
        c = ConsultationRow
        since, until = query.since, query.until
        first = None if since is None else _ceil_day(since, offset)
        end = (
            _floor_day(now, offset)
            if until is None
            else min(_floor_day(until, offset), _floor_day(now, offset))
        )
        if first is not None and first >= end:
            return cls(None, query.community, _period(query, c.created_at, c.community))
        edges = []
        if since is not None and first is not None and since < first:
            edges.append(and_(c.created_at >= since, c.created_at < first))
        if until is None:
            edges.append(c.created_at >= end)
        elif end < until:
            edges.append(and_(c.created_at >= end, c.created_at < until))
        rest = [or_(*edges) if edges else false()]
        if query.community is not None:
            rest.append(c.community == query.community)
        days = (None if first is None else _label(first, offset), _label(end, offset))
        return cls(days, query.community, rest)

    def whole_days(self, table: Any) -> list[ColumnElement[bool]]:
        if self.days is None:
            return [false()]
        first, end = self.days
        conditions = [table.day < end]
        if first is not None:
            conditions.append(table.day >= first)
        if self.community is not None:
            conditions.append(table.community == self.community)
        return conditions


def _union(rolled: Select[Any], live: Select[Any]) -> Any:
    """The rollup's sums UNION ALL the live counts, as a subquery for the caller to add up. Each part
    aggregates on its own: the planner then never carries a year of rollup rows through the union."""
    return union_all(rolled, live).subquery("counted")


def _how_many(flag: InstrumentedAttribute[bool]) -> ColumnElement[int]:
    return func.sum(case((flag, 1), else_=0))


def _floor_day(moment: datetime, offset: timedelta = timedelta()) -> datetime:
    """The start (in UTC) of the day at `offset` that holds `moment`."""
    local = (moment.astimezone(UTC) + offset).replace(hour=0, minute=0, second=0, microsecond=0)
    return local - offset


def _ceil_day(moment: datetime, offset: timedelta = timedelta()) -> datetime:
    floor = _floor_day(moment, offset)
    return floor if floor == moment else floor + DAY


def _label(day_start: datetime, offset: timedelta) -> str:
    """A day's rollup key: its date at `offset`."""
    return (day_start + offset).date().isoformat()


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
