from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.models import Draft, DraftStatus, NewDraft, Role, Staff
from bot.core.ports import ConflictError, NotFoundError
from bot.storage.uow import SqlUnitOfWork

from .factories import FakeClock, add_escalation, add_staff

T0 = datetime(2024, 3, 5, 2, tzinfo=UTC)


@pytest.fixture
async def people(uow_factory: Callable[[], SqlUnitOfWork]) -> tuple[Staff, Staff]:
    officer = await add_staff(uow_factory, "王警官")
    admin = await add_staff(uow_factory, "管理员", role=Role.ADMIN, communities=())
    return officer, admin


def new_draft(author: Staff, n: int = 1, *, at: datetime = T0, **overrides: object) -> NewDraft:
    draft = NewDraft(
        question=f"问题{n}",
        answer=f"答复{n}",
        title=f"标题{n}",
        community="xinhua",
        created_by=author.id,
        created_at=at,
    )
    return replace(draft, **overrides)  # type: ignore[arg-type]


async def add(make: Callable[[], SqlUnitOfWork], *drafts: NewDraft) -> list[Draft]:
    async with make() as uow:
        added = [await uow.drafts.add(d) for d in drafts]
        await uow.commit()
    return added


async def test_add_get_and_list_newest_first(
    uow_factory: Callable[[], SqlUnitOfWork], clock: FakeClock, people: tuple[Staff, Staff]
) -> None:
    officer, admin = people
    ticket = await add_escalation(uow_factory, clock)
    older, city_wide, newer = await add(
        uow_factory,
        new_draft(officer, 1, escalation_id=ticket.id),
        new_draft(officer, 2, community=None, at=T0 + timedelta(hours=1)),
        new_draft(officer, 3, at=T0 + timedelta(hours=2)),
    )
    assert older == Draft(
        id=older.id,
        question="问题1",
        answer="答复1",
        title="标题1",
        community="xinhua",
        status=DraftStatus.PENDING,
        created_by=officer.id,
        created_at=T0,
        escalation_id=ticket.id,
    )
    assert city_wide.community is None
    async with uow_factory() as uow:
        assert await uow.drafts.get(older.id) == older
        assert await uow.drafts.get(older.id + 1000) is None
        await uow.drafts.decide(city_wide.id, DraftStatus.REJECTED, admin.id, T0 + timedelta(hours=3))
        await uow.commit()

    async with uow_factory() as uow:
        assert [d.id for d in await uow.drafts.list()] == [newer.id, city_wide.id, older.id]
        assert [d.id for d in await uow.drafts.list(DraftStatus.PENDING)] == [newer.id, older.id]
        assert [d.id for d in await uow.drafts.list(DraftStatus.REJECTED)] == [city_wide.id]
        assert await uow.drafts.list(DraftStatus.APPROVED) == []
        assert [d.id for d in await uow.drafts.list(limit=1)] == [newer.id]


async def test_approve_with_edits_records_who_when_and_the_live_entry(
    uow_factory: Callable[[], SqlUnitOfWork], people: tuple[Staff, Staff]
) -> None:
    officer, admin = people
    (draft,) = await add(uow_factory, new_draft(officer))
    decided_at = T0 + timedelta(days=1)
    async with uow_factory() as uow:
        approved = await uow.drafts.decide(
            draft.id, DraftStatus.APPROVED, admin.id, decided_at, entry_id="xinhua-parking", title="停车许可"
        )
        await uow.commit()

    assert approved == replace(
        draft,
        status=DraftStatus.APPROVED,
        title="停车许可",
        entry_id="xinhua-parking",
        decided_by=admin.id,
        decided_at=decided_at,
    )
    async with uow_factory() as uow:
        assert await uow.drafts.get(draft.id) == approved


async def test_a_draft_is_decided_once(
    uow_factory: Callable[[], SqlUnitOfWork], people: tuple[Staff, Staff]
) -> None:
    officer, admin = people
    (draft,) = await add(uow_factory, new_draft(officer))
    async with uow_factory() as uow:
        rejected = await uow.drafts.decide(draft.id, DraftStatus.REJECTED, admin.id, T0)
        with pytest.raises(ConflictError):
            await uow.drafts.decide(draft.id, DraftStatus.APPROVED, admin.id, T0, entry_id="x", answer="改")
        with pytest.raises(ConflictError):
            await uow.drafts.decide(draft.id, DraftStatus.REJECTED, officer.id, T0)
        with pytest.raises(NotFoundError):
            await uow.drafts.decide(draft.id + 1000, DraftStatus.APPROVED, admin.id, T0)
        with pytest.raises(ValueError):
            await uow.drafts.decide(draft.id, DraftStatus.PENDING, admin.id, T0)
        assert await uow.drafts.get(draft.id) == rejected
    assert (rejected.status, rejected.answer, rejected.entry_id, rejected.decided_by) == (
        DraftStatus.REJECTED,
        "答复1",
        None,
        admin.id,
    )


async def test_two_reviewers_deciding_at_once_leave_one_decision(
    uow_factory: Callable[[], SqlUnitOfWork], people: tuple[Staff, Staff]
) -> None:
    officer, admin = people
    (draft,) = await add(uow_factory, new_draft(officer))

    async def decide(status: DraftStatus, by: Staff) -> Draft:
        async with uow_factory() as uow:
            decided = await uow.drafts.decide(draft.id, status, by.id, T0)
            await asyncio.sleep(0.05)
            await uow.commit()
            return decided

    results = await asyncio.gather(
        decide(DraftStatus.APPROVED, admin), decide(DraftStatus.REJECTED, officer), return_exceptions=True
    )

    winners = [r for r in results if isinstance(r, Draft)]
    assert len(winners) == 1
    assert sum(isinstance(r, ConflictError) for r in results) == 1
    async with uow_factory() as uow:
        assert await uow.drafts.get(draft.id) == winners[0]
