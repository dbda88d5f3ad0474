"""What the services need from the outside world. Storage implements these; tests may fake them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

from bot.core.models import (
    Community,
    Consultation,
    Escalation,
    Helpfulness,
    NewConsultation,
    NewEscalation,
    Satisfaction,
    StatsQuery,
    StatsSnapshot,
)


class Clock(Protocol):
    def now(self) -> datetime: ...


class CommunityRepository(Protocol):
    async def upsert_many(self, communities: list[Community]) -> None: ...

    async def list_slugs(self) -> list[str]: ...


class ConsultationRepository(Protocol):
    async def add(self, consultation: NewConsultation) -> Consultation: ...

    async def get(self, consultation_id: int) -> Consultation | None: ...


class EscalationRepository(Protocol):
    async def open(self, consultation_id: int, escalation: NewEscalation) -> Escalation: ...

    async def get(self, escalation_id: int) -> Escalation | None: ...


class FeedbackRepository(Protocol):
    async def add_helpfulness(self, consultation_id: int, value: Helpfulness, at: datetime) -> None: ...

    async def add_satisfaction(self, escalation_id: int, value: Satisfaction, at: datetime) -> None: ...


class StatsRepository(Protocol):
    async def snapshot(self, query: StatsQuery) -> StatsSnapshot: ...


class UnitOfWork(Protocol):
    """One transaction per use case: repositories share it; nothing is written until commit()."""

    communities: CommunityRepository
    consultations: ConsultationRepository
    escalations: EscalationRepository
    feedback: FeedbackRepository
    stats: StatsRepository

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...


UnitOfWorkFactory = Callable[[], UnitOfWork]
