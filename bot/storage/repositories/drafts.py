from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.models import Draft, DraftStatus, NewDraft
from bot.core.ports import ConflictError, NotFoundError
from bot.storage.tables import DraftRow
from bot.storage.types import as_utc

PENDING = DraftStatus.PENDING.value
SLUG_SEPARATOR = ","  # community slugs are [a-z0-9-]: a comma never occurs in one


class SqlDraftRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, draft: NewDraft) -> Draft:
        row = DraftRow(
            question=draft.question,
            answer=draft.answer,
            title=draft.title,
            community=draft.community,
            status=PENDING,
            created_by=draft.created_by,
            created_at=draft.created_at,
            escalation_id=draft.escalation_id,
        )
        self._session.add(row)
        await self._session.flush()
        return to_draft(row)

    async def get(self, draft_id: int) -> Draft | None:
        row = await self._load(draft_id)
        return None if row is None else to_draft(row)

    async def list(self, status: DraftStatus | None = None, limit: int = 100) -> list[Draft]:
        """Newest first."""
        statement = select(DraftRow).execution_options(populate_existing=True)
        if status is not None:
            statement = statement.where(DraftRow.status == status.value)
        rows = await self._session.scalars(
            statement.order_by(DraftRow.created_at.desc(), DraftRow.id.desc()).limit(limit)
        )
        return [to_draft(row) for row in rows]

    async def decide(
        self,
        draft_id: int,
        status: DraftStatus,
        by: int,
        at: datetime,
        *,
        entry_id: str | None = None,
        title: str | None = None,
        question: str | None = None,
        answer: str | None = None,
        approved_for: Sequence[str] = (),
    ) -> Draft:
        """One conditional UPDATE (`WHERE status = 'pending'`): of two reviewers deciding at once, one
        wins and the other gets ConflictError. NotFoundError for an unknown draft."""
        if status is DraftStatus.PENDING:
            raise ValueError("a decision approves or rejects")
        values: dict[str, Any] = {"status": status.value, "decided_by": by, "decided_at": at}
        edits = {"entry_id": entry_id, "title": title, "question": question, "answer": answer}
        values.update({key: value for key, value in edits.items() if value is not None})
        if approved_for:
            values["approved_for"] = SLUG_SEPARATOR.join(approved_for)
        result = await self._session.execute(
            update(DraftRow)
            .where(DraftRow.id == draft_id, DraftRow.status == PENDING)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        row = await self._load(draft_id)
        if row is None:
            raise NotFoundError(f"draft {draft_id} does not exist")
        if not result.rowcount:  # type: ignore[attr-defined]
            raise ConflictError(f"draft {draft_id} was already {row.status}")
        return to_draft(row)

    async def _load(self, draft_id: int) -> DraftRow | None:
        row: DraftRow | None = await self._session.scalar(
            select(DraftRow).where(DraftRow.id == draft_id).execution_options(populate_existing=True)
        )
        return row


def to_draft(row: DraftRow) -> Draft:
    return Draft(
        id=row.id,
        question=row.question,
        answer=row.answer,
        title=row.title,
        community=row.community,
        status=DraftStatus(row.status),
        created_by=row.created_by,
        created_at=as_utc(row.created_at),
        escalation_id=row.escalation_id,
        entry_id=row.entry_id,
        decided_by=row.decided_by,
        decided_at=as_utc(row.decided_at),
        approved_for=tuple(row.approved_for.split(SLUG_SEPARATOR)) if row.approved_for else (),
    )
