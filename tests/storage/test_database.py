from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import insert, select, text, update
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.models import (
    Channel,
    DeliveryStatus,
    DraftStatus,
    EscalationStatus,
    NewDraft,
    NewEscalation,
    NewOutboxMessage,
    Outcome,
    Role,
)
from bot.storage import create_engine
from bot.storage.tables import ConsultationRow, DraftRow, EscalationRow, OutboxRow, ResidentRow, StaffRow
from bot.storage.uow import SqlUnitOfWork

from .factories import add_consultation, add_staff

BEIJING = timezone(timedelta(hours=8))


async def test_sqlite_engine_creates_the_folder_and_enables_wal_and_foreign_keys(tmp_path: Path) -> None:
    database = tmp_path / "nested" / "deeper" / "bot.db"
    engine = create_engine(f"sqlite+aiosqlite:///{database}")
    try:
        async with engine.connect() as connection:
            assert await connection.scalar(text("PRAGMA journal_mode")) == "wal"
            assert await connection.scalar(text("PRAGMA foreign_keys")) == 1
            assert await connection.scalar(text("PRAGMA busy_timeout")) >= 10_000
    finally:
        await engine.dispose()
    assert database.is_file()


async def test_foreign_keys_are_enforced(engine: AsyncEngine) -> None:
    with pytest.raises(IntegrityError):
        async with engine.begin() as connection:
            await connection.execute(
                insert(ConsultationRow).values(
                    community="nowhere",
                    resident_id=999,
                    channel="web",
                    text_masked="x",
                    outcome="answer",
                    score=1.0,
                    urgent=False,
                    via_menu=False,
                    candidates="",
                    created_at=datetime(2024, 3, 1, tzinfo=UTC),
                )
            )


async def test_datetimes_come_back_as_the_same_instant_in_utc(engine: AsyncEngine) -> None:
    written = datetime(2024, 3, 1, 7, 30, tzinfo=BEIJING)
    async with engine.begin() as connection:
        await connection.execute(
            insert(ResidentRow).values(channel="web", channel_user_id="s1", created_at=written)
        )
    async with engine.connect() as connection:
        read = await connection.scalar(select(ResidentRow.created_at))
    assert read == written
    assert read.tzinfo is UTC
    assert read == datetime(2024, 2, 29, 23, 30, tzinfo=UTC)


async def test_stored_value_is_utc_on_disk(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(
            insert(ResidentRow).values(
                channel="web", channel_user_id="s1", created_at=datetime(2024, 3, 1, 7, 30, tzinfo=BEIJING)
            )
        )
    async with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            raw = await connection.scalar(text("SELECT created_at FROM residents"))
            assert raw.startswith("2024-02-29 23:30:00")
        else:
            assert (
                await connection.scalar(
                    text(
                        "SELECT format_type(atttypid, atttypmod) FROM pg_attribute"
                        " WHERE attrelid = 'residents'::regclass AND attname = 'created_at'"
                    )
                )
                == "timestamp with time zone"
            )
            raw = await connection.scalar(
                text("SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') FROM residents")
            )
            assert raw == "2024-02-29 23:30"


async def test_naive_datetimes_are_refused(engine: AsyncEngine) -> None:
    with pytest.raises(StatementError, match="naive datetime"):
        async with engine.begin() as connection:
            await connection.execute(
                insert(ResidentRow).values(
                    channel="web", channel_user_id="s1", created_at=datetime(2024, 3, 1)
                )
            )


async def test_the_schema_accepts_every_domain_value_and_nothing_else(
    uow_factory: Callable[[], SqlUnitOfWork], engine: AsyncEngine
) -> None:
    # The CHECK constraints are spelled out in the migration: this fails when core grows a new
    # outcome or status and no migration followed.
    ids = [await add_consultation(uow_factory, user=o.value, outcome=o) for o in Outcome]
    async with uow_factory() as uow:
        due = NewEscalation(due_at=datetime(2024, 3, 2, tzinfo=UTC))
        escalation = await uow.escalations.open(ids[0], due)
        await uow.commit()
    for status in EscalationStatus:
        async with engine.begin() as connection:
            await connection.execute(
                update(EscalationRow).where(EscalationRow.id == escalation.id).values(status=status.value)
            )

    with pytest.raises(IntegrityError):
        async with engine.begin() as connection:
            await connection.execute(
                update(EscalationRow).where(EscalationRow.id == escalation.id).values(status="lost")
            )
    with pytest.raises(IntegrityError):
        async with engine.begin() as connection:
            await connection.execute(
                update(ConsultationRow).where(ConsultationRow.id == ids[0]).values(outcome="shrug")
            )


async def test_staff_roles_delivery_and_draft_statuses_are_checked_too(
    uow_factory: Callable[[], SqlUnitOfWork], engine: AsyncEngine
) -> None:
    at = datetime(2024, 3, 1, tzinfo=UTC)
    staff = await add_staff(uow_factory)
    async with uow_factory() as uow:
        message = await uow.outbox.enqueue(NewOutboxMessage(Channel.WEB, "token", "reminder", {}, at))
        draft = await uow.drafts.add(NewDraft("问", "答", "题", None, staff.id, at))
        await uow.commit()

    for table, row_id, values in [
        (StaffRow, staff.id, Role),
        (OutboxRow, message.id, DeliveryStatus),
        (DraftRow, draft.id, DraftStatus),
    ]:
        column = "role" if table is StaffRow else "status"
        for value in values:
            async with engine.begin() as connection:
                await connection.execute(
                    update(table).where(table.id == row_id).values({column: value.value})
                )
        with pytest.raises(IntegrityError):
            async with engine.begin() as connection:
                await connection.execute(update(table).where(table.id == row_id).values({column: "bogus"}))
