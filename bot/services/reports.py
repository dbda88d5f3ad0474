"""What admins read: period figures, response times, gaps in the knowledge, the annual paragraph."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.core.models import (
    EscalationStatus,
    Outcome,
    ResponseTimes,
    Satisfaction,
    StatsQuery,
    StatsSnapshot,
    TextCount,
)
from bot.core.ports import UnitOfWorkFactory

PERIODS = ("today", "week", "month", "year")
ESCALATION_LABELS = {"open": "待认领", "claimed": "办理中", "answered": "已答复", "closed": "已办结"}


@dataclass(frozen=True, slots=True)
class AdminReport:
    query: StatsQuery
    snapshot: StatsSnapshot
    response: ResponseTimes
    unanswered: list[TextCount]  # escalated questions: what the knowledge base lacks
    clarified: list[TextCount]  # questions the bot was unsure about

    @property
    def asked(self) -> int:
        """Questions residents asked: every consultation but the guide views (menu browsing)."""
        return self.snapshot.total - self.snapshot.menu_views

    @property
    def questions_by_outcome(self) -> dict[str, int]:
        """Questions asked by outcome. A guide view is recorded as an answer; left out here, the
        three outcomes add up to `asked` on every page that shows them."""
        counts = dict(self.snapshot.by_outcome)
        answer = Outcome.ANSWER.value
        counts[answer] = max(0, counts.get(answer, 0) - self.snapshot.menu_views)
        return counts

    @property
    def matters(self) -> int:
        """Escalations of the period that were a matter to settle: all but those closed as duplicate
        or spam."""
        return sum(self.snapshot.escalations.values()) - self.snapshot.not_a_matter

    @property
    def settled(self) -> int:
        """Matters answered or closed (by phone, referred, or after an answer)."""
        counts = self.snapshot.escalations
        return (
            counts.get(EscalationStatus.ANSWERED.value, 0)
            + counts.get(EscalationStatus.CLOSED.value, 0)
            - self.snapshot.not_a_matter
        )

    @property
    def answer_rate(self) -> float | None:
        """办结率: matters settled over matters; duplicates and spam count on neither side."""
        return self.settled / self.matters if self.matters else None

    @property
    def satisfaction_rate(self) -> float | None:
        """满意率: 满意 plus 基本满意 over all ratings, as the 2009 report counted it."""
        votes = sum(self.snapshot.satisfaction.values())
        counts = self.snapshot.satisfaction
        pleased = counts.get(Satisfaction.SATISFIED.value, 0) + counts.get(Satisfaction.BASICALLY.value, 0)
        return pleased / votes if votes else None


def period_query(period: str, now: datetime, timezone: str, community: str | None = None) -> StatsQuery:
    """today | week (last 7 days) | month (this calendar month) | year (this calendar year), local time."""
    if period not in PERIODS:
        raise ValueError(f"unknown period {period!r}; use one of {', '.join(PERIODS)}")
    local = now.astimezone(ZoneInfo(timezone))
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    start = {
        "today": midnight,
        "week": midnight - timedelta(days=6),
        "month": midnight.replace(day=1),
        "year": midnight.replace(month=1, day=1),
    }[period]
    return StatsQuery(since=start.astimezone(UTC), until=None, community=community)


def days_query(first: date, last: date, timezone: str, community: str | None = None) -> StatsQuery:
    """Local days `first` to `last`, both inclusive: from the first's midnight to the day after the last."""
    tz = ZoneInfo(timezone)
    since = datetime.combine(first, datetime.min.time(), tz).astimezone(UTC)
    until = datetime.combine(last + timedelta(days=1), datetime.min.time(), tz).astimezone(UTC)
    return StatsQuery(since=since, until=until, community=community)


def year_query(year: int, timezone: str, community: str | None = None) -> StatsQuery:
    tz = ZoneInfo(timezone)
    since = datetime(year, 1, 1, tzinfo=tz).astimezone(UTC)
    until = datetime(year + 1, 1, 1, tzinfo=tz).astimezone(UTC)
    return StatsQuery(since=since, until=until, community=community)


class ReportService:
    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow = uow_factory

    async def report(self, query: StatsQuery, top: int = 10) -> AdminReport:
        async with self._uow() as uow:
            snapshot = await uow.stats.snapshot(query)
            response = await uow.stats.response_times(query)
            unanswered = await uow.stats.top_questions(query, Outcome.ESCALATE.value, top)
            clarified = await uow.stats.top_questions(query, Outcome.CLARIFY.value, top)
        return AdminReport(query, snapshot, response, unanswered, clarified)


def annual_paragraph(year: int, report: AdminReport, communities: int) -> str:
    """The disclosure paragraph, in the style of the bureau's annual work report."""
    s = report.snapshot
    asked = report.asked
    outcomes = report.questions_by_outcome
    answered = outcomes.get(Outcome.ANSWER.value, 0)
    clarified = outcomes.get(Outcome.CLARIFY.value, 0)
    escalated = outcomes.get(Outcome.ESCALATE.value, 0)
    parts = [
        f"{year}年，全市{communities}个社区网上警务室共为群众答疑解惑{asked}次，",
        f"其中智能问答直接解答{answered}次、引导群众明确问题{clarified}次、转社区民警办理{escalated}次；",
        f"群众浏览办事指南{s.menu_views}次。",
    ]
    total_escalations = sum(s.escalations.values())
    if total_escalations:
        rate = report.answer_rate or 0.0
        parts.append(f"转办事项{total_escalations}件，已办结{report.settled}件，办结率{rate:.1%}")
        if s.not_a_matter:
            parts.append(f"（另有重复提问、无效信息{s.not_a_matter}件，不计入办结率）")
        if report.response.median_minutes is not None:
            parts.append(f"，答复时间中位数{_duration(report.response.median_minutes)}")
        if report.response.answered:
            within = report.response.within_due / report.response.answered
            parts.append(f"，按承诺时限答复的占{within:.1%}")
        parts.append("。")
    if s.urgent:
        parts.append(f"识别紧急求助{s.urgent}次，均第一时间提示拨打110并通知社区民警。")
    votes = sum(s.satisfaction.values())
    if votes:
        parts.append(f"群众对民警答复作出评价{votes}次，满意率（含基本满意）{report.satisfaction_rate:.1%}。")
    return "".join(parts)


def _duration(minutes: float) -> str:
    if minutes < 60:
        return f"{minutes:.0f}分钟"
    if minutes < 48 * 60:
        return f"{minutes / 60:.1f}小时"
    return f"{minutes / 1440:.1f}天"
