"""Where a resident's conversation is remembered between messages, through the ConversationStore port
(Redis or the database). A conversation is a convenience: every failure or delay of the store costs
the context, never the answer."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import replace

from bot.core import conversation as talk
from bot.core.conversation import ConversationState
from bot.core.models import Channel, Outcome, ResidentRef
from bot.core.ports import Clock, ConversationStore
from bot.core.replies import Reply

log = logging.getLogger(__name__)

# A conversation store slower than this is treated as absent for the message: answered without context.
CONVERSATION_TIMEOUT = 1.5


def conversation_key(channel: Channel, resident: ResidentRef, conversation: str) -> str:
    """One resident's one conversation in one channel: another resident naming the same conversation
    id reaches another state (the key hashes all three)."""
    raw = "\x1f".join((channel.value, resident.channel.value, resident.channel_user_id, conversation))
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:64]


class ConversationMemory:
    def __init__(self, store: ConversationStore | None, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def load(self, key: str, community: str) -> ConversationState | None:
        """The conversation's state, if fresh for this community; None when absent, stale or unreadable."""
        if self._store is None:
            return None
        try:
            async with asyncio.timeout(CONVERSATION_TIMEOUT):
                data = await self._store.load(key)
        except Exception as exc:  # a conversation is a convenience: answer without it
            reason = f"{type(exc).__name__} {exc}".strip()  # a timeout has no message of its own
            log.warning("conversation state unavailable, answering without context: %s", reason)
            return None
        state = ConversationState.from_json(data) if data is not None else None
        return state if state is not None and state.fresh(community, self._clock.now()) else None

    def next_state(self, community: str, state: ConversationState | None, reply: Reply) -> ConversationState:
        """What the conversation holds after `reply` (the message itself is added by `save`)."""
        previous = state.entry_id if state is not None else None
        history = state.history if state is not None else ()
        if reply.urgent:
            return ConversationState(community, self._clock.now(), None, (), None, history)
        if reply.outcome is Outcome.ANSWER and reply.entry is not None:
            return ConversationState(community, self._clock.now(), reply.entry.id, (), None, history)
        if reply.outcome is Outcome.CLARIFY and reply.choices:
            choices = tuple(c.entry_id for c in reply.choices)
            return ConversationState(
                community, self._clock.now(), previous, choices, reply.consultation_id, history, reply.field
            )
        # Handed to the officers: the topic changed to something the bot does not know, unless the
        # message named nothing of its own (a detail of the matter in the conversation).
        kept = previous if reply.keeps_topic and reply.outcome is Outcome.ESCALATE else None
        return ConversationState(community, self._clock.now(), kept, (), None, history)

    def after_part(self, community: str, state: ConversationState | None, reply: Reply) -> ConversationState:
        """What the conversation holds after one part of a several-question message: as after a message,
        except that a part handed to the officers ("另外公积金咋提取") leaves the matter answered beside
        it in the conversation (a follow-up is about what the resident was told)."""
        after = self.next_state(community, state, reply)
        if reply.outcome is Outcome.ESCALATE and state is not None and after.entry_id is None:
            return replace(after, entry_id=state.entry_id)
        return after

    async def save(
        self,
        key: str | None,
        community: str,
        state: ConversationState | None,
        reply: Reply,
        stored: str,
        *,
        advanced: bool = False,
    ) -> None:
        """Remember this turn (`advanced`: `state` already holds the message's answers, parts)."""
        if key is None or self._store is None:
            return
        new = state if advanced and state is not None else self.next_state(community, state, reply)
        new = replace(new, history=tuple(h[:200] for h in (*new.history, stored)[-talk.HISTORY :]))
        try:
            async with asyncio.timeout(CONVERSATION_TIMEOUT):
                await self._store.save(key, new.to_json(), int(talk.EXPIRES_AFTER.total_seconds()))
        except Exception as exc:
            reason = f"{type(exc).__name__} {exc}".strip()
            log.warning("conversation state not saved (the next message stands alone): %s", reason)

    async def forget(self, key: str) -> None:
        if self._store is None:
            return
        try:
            async with asyncio.timeout(CONVERSATION_TIMEOUT):
                await self._store.forget(key)
        except Exception as exc:
            log.warning("conversation state not forgotten (it expires by itself): %s", exc)
