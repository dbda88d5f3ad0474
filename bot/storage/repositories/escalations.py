from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, literal, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.models import (
    Channel,
    CloseReason,
    Escalation,
    EscalationSearch,
    EscalationStatus,
    EscalationView,
    NewEscalation,
    ResidentRef,
    Staff,
)
from bot.core.ports import Clock, ConflictError, NotFoundError
from bot.storage.repositories.consultations import split_candidates
from bot.storage.tables import (
    CommunityRow,
    ConsultationRow,
    EscalationPostRow,
    EscalationRow,
    ResidentRow,
)
from bot.storage.types import UtcDateTime, as_utc

OPEN = EscalationStatus.OPEN.value
CLAIMED = EscalationStatus.CLAIMED.value
ANSWERED = EscalationStatus.ANSWERED.value
CLOSED = EscalationStatus.CLOSED.value


class SqlEscalationRepository:
    """State changes are single conditional UPDATEs (`... WHERE status = 'open'`) whose row count
    decides who won, so two officers acting at once cannot both succeed: on PostgreSQL the loser's
    UPDATE waits for the winner's row lock and then re-checks the condition; on SQLite writers are
    serialised by BEGIN IMMEDIATE. Only when nothing matched is the row read to tell "unknown"
    (NotFoundError) from "lost the race or wrong state" (ConflictError)."""

    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self._session = session
        self._clock = clock

    async def open(self, consultation_id: int, escalation: NewEscalation) -> Escalation:
        consultation = await self._session.get(ConsultationRow, consultation_id)
        if consultation is None:
            raise NotFoundError(f"consultation {consultation_id} does not exist")
        # Residents double-tap buttons: a second request returns the ticket already opened.
        existing = await self._session.scalar(
            select(EscalationRow)
            .where(EscalationRow.consultation_id == consultation_id)
            .execution_options(populate_existing=True)
        )
        if existing is not None:
            return to_escalation(existing)
        row = EscalationRow(
            consultation_id=consultation_id,
            community=consultation.community,
            status=OPEN,
            # NewEscalation carries no creation time, so the injected clock supplies it.
            created_at=self._clock.now(),
            due_at=escalation.due_at,
        )
        self._session.add(row)
        await self._session.flush()
        return to_escalation(row)

    async def get(self, escalation_id: int) -> Escalation | None:
        row = await self._load(escalation_id)
        return None if row is None else to_escalation(row)

    async def view(self, escalation_id: int) -> EscalationView | None:
        views = await self._views(_view_select().where(EscalationRow.id == escalation_id))
        return views[0] if views else None

    async def claim(self, escalation_id: int, officer: Staff, at: datetime) -> Escalation:
        if await self._update(
            escalation_id,
            EscalationRow.status == OPEN,
            status=CLAIMED,
            officer_id=officer.id,
            officer=officer.name,
            claimed_at=at,
        ):
            return await self._escalation(escalation_id)
        row = await self._require(escalation_id)
        if row.status == CLAIMED and row.officer_id == officer.id:
            return to_escalation(row)  # a repeated tap by the same officer
        raise ConflictError(f"escalation {escalation_id} is {row.status} ({row.officer or 'nobody'})")

    async def answer(self, escalation_id: int, officer: Staff, text: str, at: datetime) -> Escalation:
        # The first answer's time stays: response times measure how long the resident waited.
        if await self._update(
            escalation_id,
            or_(
                EscalationRow.status == OPEN,
                and_(EscalationRow.status.in_([CLAIMED, ANSWERED]), EscalationRow.officer_id == officer.id),
            ),
            status=ANSWERED,
            answer=text,
            officer_id=officer.id,
            officer=officer.name,
            claimed_at=func.coalesce(EscalationRow.claimed_at, literal(at, UtcDateTime())),
            answered_at=func.coalesce(EscalationRow.answered_at, literal(at, UtcDateTime())),
        ):
            return await self._escalation(escalation_id)
        row = await self._require(escalation_id)
        raise ConflictError(f"escalation {escalation_id} is {row.status} ({row.officer or 'nobody'})")

    async def close(
        self,
        escalation_id: int,
        at: datetime,
        reason: CloseReason | None = None,
        note: str | None = None,
    ) -> Escalation:
        """From any state; closing a closed one again changes nothing (the first closing stays)."""
        await self._update(
            escalation_id,
            EscalationRow.status != CLOSED,
            status=CLOSED,
            closed_at=at,
            close_reason=reason.value if reason else None,
            close_note=note,
        )
        return await self._escalation(escalation_id)

    async def hand_over(self, escalation_id: int, community: str, at: datetime) -> Escalation:
        """Open or claimed only (ConflictError once answered or closed). The reminder level restarts
        at 0, so the receiving community's officers are reminded in their turn. NotFoundError for an
        unknown community. `at` has no column to go to: the escalation keeps its creation and due times."""
        if await self._session.get(CommunityRow, community) is None:
            raise NotFoundError(f"community {community!r} does not exist")
        if await self._update(
            escalation_id,
            EscalationRow.status.in_([OPEN, CLAIMED]),
            status=OPEN,
            community=community,
            officer_id=None,
            officer=None,
            claimed_at=None,
            reminded=0,
        ):
            return await self._escalation(escalation_id)
        row = await self._require(escalation_id)
        raise ConflictError(f"escalation {escalation_id} is {row.status}: it cannot be handed over")

    async def queue(
        self, communities: Sequence[str] | None, statuses: Sequence[EscalationStatus], limit: int = 100
    ) -> list[EscalationView]:
        statement = _view_select().where(EscalationRow.status.in_([s.value for s in statuses]))
        if communities is not None:
            statement = statement.where(EscalationRow.community.in_(list(communities)))
        # Urgent first, then the earliest promise: an emergency never waits behind routine questions.
        order = (ConsultationRow.urgent.desc(), EscalationRow.due_at, EscalationRow.id)
        return await self._views(statement.order_by(*order).limit(limit))

    async def search(
        self, communities: Sequence[str] | None, search: EscalationSearch
    ) -> tuple[list[EscalationView], int]:
        e, c = EscalationRow, ConsultationRow
        conditions: list[ColumnElement[bool]] = [e.status.in_([s.value for s in search.statuses])]
        if communities is not None:
            conditions.append(e.community.in_(list(communities)))
        if search.community is not None:
            conditions.append(e.community == search.community)
        if search.urgent_only:
            conditions.append(c.urgent.is_(True))
        if search.overdue_at is not None:
            conditions += [e.status.in_([OPEN, CLAIMED]), e.due_at < search.overdue_at]
        if search.officer_id is not None:
            conditions.append(e.officer_id == search.officer_id)
        if search.after_id is not None:
            conditions.append(e.id > search.after_id)
        wanted: list[ColumnElement[bool]] = []
        if search.ticket is not None:
            wanted.append(e.id == search.ticket)
        if search.text:
            pattern = "%" + search.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            wanted += [c.text_masked.like(pattern, escape="\\"), ResidentRow.channel_user_id == search.text]
        if wanted:
            conditions.append(or_(*wanted))
        counted = (
            select(func.count())
            .select_from(e)
            .join(c, e.consultation_id == c.id)
            .join(ResidentRow, c.resident_id == ResidentRow.id)
            .where(*conditions)
        )
        total = int(await self._session.scalar(counted) or 0)
        order = (e.id.desc(),) if search.newest_first else (c.urgent.desc(), e.due_at, e.id)
        page = _view_select().where(*conditions).order_by(*order).offset(search.offset).limit(search.limit)
        return await self._views(page), total

    async def overdue(self, now: datetime, below_level: int) -> list[EscalationView]:
        """Strictly past due (due_at < now), most overdue first."""
        return await self._views(
            _view_select()
            .where(
                EscalationRow.status.in_([OPEN, CLAIMED]),
                EscalationRow.due_at < now,
                EscalationRow.reminded < below_level,
            )
            .order_by(EscalationRow.due_at, EscalationRow.id)
        )

    async def set_reminded(self, escalation_id: int, level: int) -> bool:
        """Raise the reminder level; False when it was there already. The UPDATE is conditional, so
        of two processes reminding at once (replicas) exactly one gets True: the other's UPDATE waits
        for the first to commit, then finds the level raised."""
        if await self._update(escalation_id, EscalationRow.reminded < level, reminded=level):
            return True
        if await self._session.get(EscalationRow, escalation_id) is None:
            raise NotFoundError(f"escalation {escalation_id} does not exist")
        return False

    async def for_resident(self, resident: ResidentRef, limit: int = 20) -> list[EscalationView]:
        """Newest first."""
        return await self._views(
            _view_select()
            .where(
                ResidentRow.channel == resident.channel.value,
                ResidentRow.channel_user_id == resident.channel_user_id,
            )
            .order_by(EscalationRow.created_at.desc(), EscalationRow.id.desc())
            .limit(limit)
        )

    async def closed_as(
        self,
        reason: CloseReason,
        since: datetime,
        *,
        resident: ResidentRef | None = None,
        asker_of: int | None = None,
    ) -> int:
        """How many tickets of one resident (named, or the one who asked consultation `asker_of`) were
        closed for `reason` at or after `since`."""
        if asker_of is not None:
            whose = ConsultationRow.resident_id == (
                select(ConsultationRow.resident_id).where(ConsultationRow.id == asker_of).scalar_subquery()
            )
        elif resident is not None:
            whose = ConsultationRow.resident_id == (
                select(ResidentRow.id)
                .where(
                    ResidentRow.channel == resident.channel.value,
                    ResidentRow.channel_user_id == resident.channel_user_id,
                )
                .scalar_subquery()
            )
        else:
            raise ValueError("closed_as needs a resident or a consultation")
        count = await self._session.scalar(
            select(func.count())
            .select_from(EscalationRow)
            .join(ConsultationRow, EscalationRow.consultation_id == ConsultationRow.id)
            .where(whose, EscalationRow.close_reason == reason.value, EscalationRow.closed_at >= since)
        )
        return int(count or 0)

    async def set_callback_phone(self, escalation_id: int, phone: str) -> None:
        if not await self._update(escalation_id, EscalationRow.id == escalation_id, callback_phone=phone):
            raise NotFoundError(f"escalation {escalation_id} does not exist")

    async def add_post(self, escalation_id: int, chat_id: int, message_id: int) -> None:
        """Idempotent for the same escalation; ConflictError if the post already maps to another one;
        NotFoundError for an unknown escalation."""
        if await self._session.get(EscalationRow, escalation_id) is None:
            raise NotFoundError(f"escalation {escalation_id} does not exist")
        existing = await self.by_post(chat_id, message_id)
        if existing is None:
            try:
                async with self._session.begin_nested():
                    self._session.add(
                        EscalationPostRow(escalation_id=escalation_id, chat_id=chat_id, message_id=message_id)
                    )
                return
            except IntegrityError:
                # The same post was recorded concurrently.
                existing = await self.by_post(chat_id, message_id)
                if existing is None:
                    raise
        if existing != escalation_id:
            raise ConflictError(f"message {chat_id}/{message_id} already maps to escalation {existing}")

    async def by_post(self, chat_id: int, message_id: int) -> int | None:
        escalation_id: int | None = await self._session.scalar(
            select(EscalationPostRow.escalation_id).where(
                EscalationPostRow.chat_id == chat_id, EscalationPostRow.message_id == message_id
            )
        )
        return escalation_id

    async def _update(self, escalation_id: int, *conditions: ColumnElement[bool], **values: Any) -> bool:
        result = await self._session.execute(
            update(EscalationRow)
            .where(EscalationRow.id == escalation_id, *conditions)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def _load(self, escalation_id: int) -> EscalationRow | None:
        # populate_existing: the UPDATEs above bypass the identity map, so never trust a cached row.
        row: EscalationRow | None = await self._session.scalar(
            select(EscalationRow)
            .where(EscalationRow.id == escalation_id)
            .execution_options(populate_existing=True)
        )
        return row

    async def _require(self, escalation_id: int) -> EscalationRow:
        row = await self._load(escalation_id)
        if row is None:
            raise NotFoundError(f"escalation {escalation_id} does not exist")
        return row

    async def _escalation(self, escalation_id: int) -> Escalation:
        return to_escalation(await self._require(escalation_id))

    async def _views(self, statement: Select[Any]) -> list[EscalationView]:
        rows = await self._session.execute(statement)
        views = []
        for row in rows:
            ids, scores = split_candidates(row.candidates)
            views.append(
                EscalationView(
                    escalation=to_escalation(row.EscalationRow),
                    question=row.text_masked,
                    channel=Channel(row.consultation_channel),
                    resident=ResidentRef(Channel(row.resident_channel), row.channel_user_id),
                    urgent=row.urgent,
                    candidates=ids,
                    reminded=row.EscalationRow.reminded,
                    urgent_kind=row.urgent_kind,
                    candidate_scores=scores,
                    earlier=tuple(row.earlier or ()),
                )
            )
        return views


def _view_select() -> Select[Any]:
    return (
        select(
            EscalationRow,
            ConsultationRow.text_masked,
            ConsultationRow.channel.label("consultation_channel"),
            ConsultationRow.urgent,
            ConsultationRow.urgent_kind,
            ConsultationRow.candidates,
            ConsultationRow.earlier,
            ResidentRow.channel.label("resident_channel"),
            ResidentRow.channel_user_id,
        )
        .join(ConsultationRow, EscalationRow.consultation_id == ConsultationRow.id)
        .join(ResidentRow, ConsultationRow.resident_id == ResidentRow.id)
        .execution_options(populate_existing=True)
    )


def to_escalation(row: EscalationRow) -> Escalation:
    return Escalation(
        id=row.id,
        consultation_id=row.consultation_id,
        community=row.community,
        status=EscalationStatus(row.status),
        created_at=as_utc(row.created_at),
        due_at=as_utc(row.due_at),
        officer=row.officer,
        officer_id=row.officer_id,
        answer=row.answer,
        claimed_at=as_utc(row.claimed_at),
        answered_at=as_utc(row.answered_at),
        closed_at=as_utc(row.closed_at),
        callback_phone=row.callback_phone,
        close_reason=CloseReason(row.close_reason) if row.close_reason else None,
        close_note=row.close_note,
    )
