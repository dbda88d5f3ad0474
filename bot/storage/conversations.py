"""Conversation state in the database: the embedded default when no Redis is configured.

Each call is its own short transaction, apart from the consultation's: a lost state costs a follow-up
its context, never a question.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage.tables import ConversationRow

# States idle this long are deleted when another is saved (they expired long before; the TTL of the
# port is Redis's to honour, here it only bounds the table).
PRUNE_AFTER = timedelta(days=1)


class SqlConversations:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = session_factory

    async def load(self, key: str) -> dict[str, Any] | None:
        async with self._sessions() as session:
            row = await session.get(ConversationRow, key)
            # Whether it is still fresh is the caller's judgement (bot.core.conversation).
            return dict(row.state) if row is not None and isinstance(row.state, dict) else None

    async def save(self, key: str, state: Mapping[str, Any], ttl_seconds: int) -> None:
        now = datetime.now(UTC)
        async with self._sessions() as session, session.begin():
            await session.execute(
                delete(ConversationRow).where(ConversationRow.updated_at < now - PRUNE_AFTER)
            )
            row = await session.get(ConversationRow, key)
            data = dict(state)
            if row is None:
                session.add(ConversationRow(key=key, state=data, updated_at=now))
            else:
                row.state, row.updated_at = data, now

    async def forget(self, key: str) -> None:
        async with self._sessions() as session, session.begin():
            await session.execute(delete(ConversationRow).where(ConversationRow.key == key))

    async def count(self) -> int:
        """How many states are stored (tests and operators)."""
        async with self._sessions() as session:
            return len((await session.execute(select(ConversationRow.key))).all())
