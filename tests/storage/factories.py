"""Known data for storage tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.models import (
    Channel,
    Community,
    Escalation,
    NewConsultation,
    NewEscalation,
    NewStaff,
    Outcome,
    ResidentRef,
    Role,
    Staff,
)
from bot.storage.tables import Base
from bot.storage.uow import SqlUnitOfWork

COMMUNITIES = [
    Community(slug="xinhua", name="新华社区", district="东城区"),
    Community(slug="minzhu", name="民主社区", district="西城区", sample=True),
]


@dataclass
class FakeClock:
    current: datetime = field(default_factory=lambda: datetime(2024, 3, 1, tzinfo=UTC))

    def now(self) -> datetime:
        return self.current


async def count_rows(engine: AsyncEngine, table: str) -> int:
    async with engine.connect() as connection:
        result = await connection.execute(select(func.count()).select_from(Base.metadata.tables[table]))
        return result.scalar_one()


def new_consultation(
    *,
    community: str = "xinhua",
    user: str = "1001",
    channel: Channel = Channel.TELEGRAM,
    outcome: Outcome = Outcome.ANSWER,
    entry_id: str | None = "huji-birth",
    urgent: bool = False,
    via_menu: bool = False,
    at: datetime = datetime(2024, 3, 1, 2, tzinfo=UTC),
    candidates: tuple[str, ...] = (),
    candidate_scores: tuple[float, ...] = (),
    urgent_kind: str | None = None,
    text: str = "孩子出生怎么上户口？电话1**********",
) -> NewConsultation:
    return NewConsultation(
        community=community,
        resident=ResidentRef(channel=channel, channel_user_id=user),
        channel=channel,
        text_masked=text,
        outcome=outcome,
        entry_id=entry_id,
        score=71.5,
        urgent=urgent,
        created_at=at,
        candidates=candidates,
        via_menu=via_menu,
        candidate_scores=candidate_scores,
        urgent_kind=urgent_kind,
    )


async def add_consultation(make: Callable[[], SqlUnitOfWork], **kwargs: Any) -> int:
    async with make() as unit:
        consultation = await unit.consultations.add(new_consultation(**kwargs))
        await unit.commit()
    return consultation.id


async def add_staff(
    make: Callable[[], SqlUnitOfWork],
    name: str = "李警官",
    *,
    role: Role = Role.OFFICER,
    communities: tuple[str, ...] = ("xinhua",),
    telegram_user_id: int | None = None,
    username: str | None = None,
    password_hash: str | None = None,
) -> Staff:
    async with make() as unit:
        staff = await unit.staff.add(
            NewStaff(
                name=name,
                role=role,
                communities=communities,
                telegram_user_id=telegram_user_id,
                username=username,
                password_hash=password_hash,
            )
        )
        await unit.commit()
    return staff


async def add_escalation(
    make: Callable[[], SqlUnitOfWork],
    clock: FakeClock,
    *,
    opened: datetime = datetime(2024, 3, 1, 2, 5, tzinfo=UTC),
    due: datetime = datetime(2024, 3, 2, 2, tzinfo=UTC),
    **consultation: Any,
) -> Escalation:
    """An escalated consultation and its ticket, opened at `opened` by the clock."""
    consultation = {"outcome": Outcome.ESCALATE, "entry_id": None, "at": opened, **consultation}
    consultation_id = await add_consultation(make, **consultation)
    clock.current = opened
    async with make() as unit:
        escalation = await unit.escalations.open(consultation_id, NewEscalation(due_at=due))
        await unit.commit()
    return escalation
