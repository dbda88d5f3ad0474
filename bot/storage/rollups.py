"""Derived tables the statistics read instead of scanning consultations: daily counts
(consultation_days, entry_days) and the narrow copy of unanswered questions (knowledge_gaps).

They are written by the unit of work that records the consultations, just before it commits, so
they are exact. The daily counts are appended, not incremented: one row per unit of work and key.
A counter row shared by every writer (all answers in a community today) would be locked from the
increment until COMMIT, and in an asyncio server that is until the event loop gets back to that
transaction: under load the writers queue behind one another (measured: -35% ask throughput at
concurrency 16). The unit of work that records every MERGE_EVERY-th consultation also merges the
recent rows into one per key (`merge`), which keeps a year at about one row per key and day.

Bulk loads that bypass the repositories (COPY) call `rebuild()` afterwards.

A day is a calendar day at the reporting offset (TIMEZONE's, +08:00 for Asia/Shanghai), the day an
officer or admin means: a question asked at 01:00 local time on 12-06 counts on 12-06, not on the UTC
day 12-05. The offset the rows were built with is kept (`rollup_settings`); a start with another offset
rebuilds them (`ensure_day_offset`).
"""

from __future__ import annotations

from datetime import UTC, date, timedelta
from typing import Any

from sqlalchemy import Table, case, delete, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from bot.core.models import Outcome
from bot.storage.sql_functions import day_of
from bot.storage.tables import ConsultationDayRow, ConsultationRow, EntryDayRow, KnowledgeGapRow

TABLES = ("consultation_days", "entry_days", "knowledge_gaps")
# The outcomes whose questions the dashboard lists (what the knowledge base lacks or left unclear).
GAP_OUTCOMES = frozenset({Outcome.CLARIFY.value, Outcome.ESCALATE.value})
MERGE_EVERY = 128  # consultation ids: one unit of work in this many merges the recent daily rows

DAYS: Table = ConsultationDayRow.__table__  # type: ignore[assignment]
ENTRIES: Table = EntryDayRow.__table__  # type: ignore[assignment]
GAPS: Table = KnowledgeGapRow.__table__  # type: ignore[assignment]
# Per table: the key columns and the counters summed per key.
SHAPES: dict[Table, tuple[tuple[str, ...], tuple[str, ...]]] = {
    DAYS: (("day", "community", "outcome"), ("consultations", "urgent", "menu_views")),
    ENTRIES: (("day", "community", "entry_id"), ("consultations",)),
}


class PendingRollups:
    """What one unit of work's new consultations add to the derived tables, until it commits."""

    def __init__(self, session: AsyncSession, day_offset: timedelta = timedelta()) -> None:
        self._session = session
        self._day_offset = day_offset
        self._days: dict[tuple[str, str, str], list[int]] = {}
        self._entries: dict[tuple[str, str, str], list[int]] = {}
        self._gaps: list[dict[str, Any]] = []
        self._merge_from: date | None = None

    def consultation_added(self, row: ConsultationRow) -> None:
        """Call once the row is flushed (its id is needed)."""
        day = (row.created_at.astimezone(UTC) + self._day_offset).date()
        counts = self._days.setdefault((day.isoformat(), row.community, row.outcome), [0, 0, 0])
        counts[0] += 1
        counts[1] += bool(row.urgent)
        counts[2] += bool(row.via_menu)
        if row.entry_id is not None:
            self._entries.setdefault((day.isoformat(), row.community, row.entry_id), [0])[0] += 1
        if row.outcome in GAP_OUTCOMES and not row.via_menu:
            self._gaps.append(
                {
                    "consultation_id": row.id,
                    "outcome": row.outcome,
                    "community": row.community,
                    "text_masked": row.text_masked,
                    "created_at": row.created_at,
                }
            )
        if row.id % MERGE_EVERY == 0:
            # The day before too: it holds the rows added after its last merge.
            since = day - timedelta(days=1)
            self._merge_from = since if self._merge_from is None else min(self._merge_from, since)

    async def write(self) -> None:
        """Core inserts (no ORM bookkeeping): these run on every recorded consultation."""
        session = self._session
        if self._gaps:
            await session.execute(insert(GAPS), self._gaps)
        for table, pending in ((DAYS, self._days), (ENTRIES, self._entries)):
            if pending:
                keys, counters = SHAPES[table]
                rows = [
                    dict(zip(keys, key, strict=True)) | dict(zip(counters, counts, strict=True))
                    for key, counts in pending.items()
                ]
                await session.execute(insert(table), rows)
        if self._merge_from is not None:
            await merge(session, self._merge_from)
        self._days.clear()
        self._entries.clear()
        self._gaps.clear()
        self._merge_from = None


async def merge(session: AsyncSession, since: date) -> None:
    """Replace the rows of each key from `since` on by one row with their sums.

    Sums stay exact under concurrency: the rows are locked FOR UPDATE SKIP LOCKED (PostgreSQL), so a
    concurrent merge takes other rows or none, and each merge deletes exactly the rows it summed;
    rows still being written are not visible here and stay as they are. Readers see the rows before
    or after the merge, never a mix. SQLite lets one writer in at a time and needs no locks."""
    for table, (keys, counters) in SHAPES.items():
        rows = (
            await session.execute(
                select(table).where(table.c.day >= since.isoformat()).with_for_update(skip_locked=True)
            )
        ).mappings()
        groups: dict[tuple[Any, ...], list[Any]] = {}
        for row in rows:
            groups.setdefault(tuple(row[k] for k in keys), []).append(row)
        merged = {key: group for key, group in groups.items() if len(group) > 1}
        if not merged:
            continue
        await session.execute(
            delete(table).where(table.c.id.in_([row["id"] for group in merged.values() for row in group]))
        )
        await session.execute(
            insert(table),
            [
                dict(zip(keys, key, strict=True)) | {c: sum(row[c] for row in group) for c in counters}
                for key, group in merged.items()
            ],
        )


async def rebuild(connection: AsyncConnection, day_offset: timedelta | None = None) -> None:
    """Recompute the derived tables from consultations (after a bulk load that bypassed the
    repositories, or for another day offset): one row per key. Without `day_offset`, at the offset
    the rows are kept in (rollup_settings)."""
    if day_offset is None:
        stored = await _stored_offset(connection)
        day_offset = timedelta(minutes=stored or 0)
    c = ConsultationRow
    day = day_of(c.created_at, offset_minutes(day_offset))
    for table in (DAYS, ENTRIES, GAPS):
        await connection.execute(delete(table))
    await connection.execute(
        insert(DAYS).from_select(
            ["day", "community", "outcome", "consultations", "urgent", "menu_views"],
            select(
                day,
                c.community,
                c.outcome,
                func.count(),
                func.sum(case((c.urgent, 1), else_=0)),
                func.sum(case((c.via_menu, 1), else_=0)),
            ).group_by(day, c.community, c.outcome),
        )
    )
    await connection.execute(
        insert(ENTRIES).from_select(
            ["day", "community", "entry_id", "consultations"],
            select(day, c.community, c.entry_id, func.count())
            .where(c.entry_id.is_not(None))
            .group_by(day, c.community, c.entry_id),
        )
    )
    await connection.execute(
        insert(GAPS).from_select(
            ["consultation_id", "outcome", "community", "text_masked", "created_at"],
            select(c.id, c.outcome, c.community, c.text_masked, c.created_at)
            .where(c.outcome.in_(sorted(GAP_OUTCOMES)), c.via_menu.is_(False))
            .order_by(c.created_at, c.id),
        )
    )


def offset_minutes(day_offset: timedelta) -> int:
    return int(day_offset.total_seconds() // 60)


async def ensure_day_offset(connection: AsyncConnection, day_offset: timedelta) -> bool:
    """Rebuild the daily rows when they were counted at another offset; True when it did."""
    minutes = offset_minutes(day_offset)
    stored = await _stored_offset(connection)
    if stored == minutes:
        return False
    await rebuild(connection, day_offset)
    if stored is None:
        await connection.execute(
            text("INSERT INTO rollup_settings (id, day_offset_minutes) VALUES (1, :m)"), {"m": minutes}
        )
    else:
        await connection.execute(
            text("UPDATE rollup_settings SET day_offset_minutes = :m WHERE id = 1"), {"m": minutes}
        )
    return True


async def _stored_offset(connection: AsyncConnection) -> int | None:
    query = text("SELECT day_offset_minutes FROM rollup_settings WHERE id = 1")
    return (await connection.execute(query)).scalar_one_or_none()
