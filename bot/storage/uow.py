"""The SQL unit of work: one session and one transaction per use case."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.ports import Clock
from bot.storage.repositories import (
    SqlAuditLog,
    SqlCommunityRepository,
    SqlConsultationRepository,
    SqlDraftRepository,
    SqlEscalationRepository,
    SqlFeedbackRepository,
    SqlIdempotencyStore,
    SqlOutboxRepository,
    SqlResidentRepository,
    SqlStaffRepository,
    SqlStatsRepository,
    SqlUpdateInbox,
)
from bot.storage.rollups import PendingRollups


class UtcClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class SqlUnitOfWork:
    communities: SqlCommunityRepository
    consultations: SqlConsultationRepository
    escalations: SqlEscalationRepository
    feedback: SqlFeedbackRepository
    stats: SqlStatsRepository
    staff: SqlStaffRepository
    residents: SqlResidentRepository
    outbox: SqlOutboxRepository
    drafts: SqlDraftRepository
    updates: SqlUpdateInbox
    idempotency: SqlIdempotencyStore
    audit: SqlAuditLog

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        clock: Clock | None = None,
        day_offset: timedelta = timedelta(),
    ) -> None:
        self._session_factory = session_factory
        self._clock = clock or UtcClock()
        self._day_offset = day_offset  # statistics days: TIMEZONE's offset (bot.storage.rollups)
        self._session: AsyncSession | None = None

    async def __aenter__(self) -> Self:
        if self._session is not None:
            raise RuntimeError("a unit of work is single-use: make a new one per use case")
        session = self._session = self._session_factory()
        self._rollups = PendingRollups(session, self._day_offset)
        self.communities = SqlCommunityRepository(session)
        self.consultations = SqlConsultationRepository(session, self._rollups)
        self.escalations = SqlEscalationRepository(session, self._clock)
        self.feedback = SqlFeedbackRepository(session)
        self.stats = SqlStatsRepository(session, self._clock, self._day_offset)
        self.staff = SqlStaffRepository(session, self._clock)
        self.residents = SqlResidentRepository(session, self._clock)
        self.outbox = SqlOutboxRepository(session, self._clock)
        self.drafts = SqlDraftRepository(session)
        self.updates = SqlUpdateInbox(session)
        self.idempotency = SqlIdempotencyStore(session)
        self.audit = SqlAuditLog(session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session = self._require_session()
        try:
            # Whatever was not committed is discarded: after an exception, or when the use case
            # returned early, or for writes made after an earlier commit().
            await session.rollback()
        finally:
            await session.close()

    async def commit(self) -> None:
        session = self._require_session()
        # The statistics' rollups last: their shared counter rows stay locked only until COMMIT.
        await self._rollups.write()
        await session.commit()

    def _require_session(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("use the unit of work inside `async with`")
        return self._session


def make_uow_factory(
    session_factory: async_sessionmaker[AsyncSession],
    clock: Clock | None = None,
    day_offset: timedelta = timedelta(),
) -> Callable[[], SqlUnitOfWork]:
    def factory() -> SqlUnitOfWork:
        return SqlUnitOfWork(session_factory, clock, day_offset)

    return factory
