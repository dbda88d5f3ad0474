"""Small use cases the Telegram channel needs that bot/services does not offer (yet).

Each is one unit of work over existing repository methods, nothing more; if the services grow
these methods, the handlers switch to them and this module shrinks.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict

from bot.core.models import Channel, EscalationView, ResidentPrefs, ResidentRef
from bot.core.ports import Clock, UnitOfWorkFactory


def resident_ref(user_id: int) -> ResidentRef:
    return ResidentRef(Channel.TELEGRAM, str(user_id))


class PrefsService:
    """A resident's community and language. Read on nearly every update, so kept in a small LRU
    cache; this process is the only writer of Telegram residents' preferences.

    After a restart a backlog of updates from many residents arrives at once and every one misses
    the cache. Reads are therefore shared per resident and made one at a time: on SQLite every
    transaction takes the write lock, and a hundred connections polling for it sleep far longer
    than a hundred reads in a row take."""

    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock, *, cache_size: int = 10_000) -> None:
        self._uow = uow_factory
        self._clock = clock
        self._cache: OrderedDict[ResidentRef, ResidentPrefs] = OrderedDict()
        self._cache_size = cache_size
        self._loading: dict[ResidentRef, asyncio.Future[ResidentPrefs]] = {}
        self._reads = asyncio.Lock()

    async def get(self, resident: ResidentRef) -> ResidentPrefs:
        cached = self._cache.get(resident)
        if cached is not None:
            self._cache.move_to_end(resident)
            return cached
        loading = self._loading.get(resident)
        if loading is not None:
            return await asyncio.shield(loading)
        future: asyncio.Future[ResidentPrefs] = asyncio.get_running_loop().create_future()
        self._loading[resident] = future
        try:
            async with self._reads, self._uow() as uow:
                prefs = await uow.residents.prefs(resident)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it, nobody else needs to
            raise
        else:
            self._remember(resident, prefs)
            future.set_result(prefs)
        finally:
            del self._loading[resident]
        return prefs

    async def set_community(self, resident: ResidentRef, community: str) -> None:
        """NotFoundError for a community the database does not know."""
        async with self._uow() as uow:
            await uow.residents.set_community(resident, community, self._clock.now())
            await uow.commit()
        self._cache.pop(resident, None)

    async def set_language(self, resident: ResidentRef, language: str) -> None:
        async with self._uow() as uow:
            await uow.residents.set_language(resident, language, self._clock.now())
            await uow.commit()
        self._cache.pop(resident, None)

    async def set_blocked(self, resident: ResidentRef, blocked: bool) -> None:
        """From Telegram's my_chat_member updates: the resident blocked or unblocked the bot."""
        async with self._uow() as uow:
            await uow.residents.set_blocked(resident, blocked)
            await uow.commit()
        self._cache.pop(resident, None)

    def _remember(self, resident: ResidentRef, prefs: ResidentPrefs) -> None:
        self._cache[resident] = prefs
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)


class EscalationQueries:
    """Read and map escalations for the channel: a resident's tickets, posts ↔ escalations."""

    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow = uow_factory

    async def for_resident(self, resident: ResidentRef, limit: int = 10) -> list[EscalationView]:
        async with self._uow() as uow:
            return await uow.escalations.for_resident(resident, limit)

    async def by_post(self, chat_id: int, message_id: int) -> int | None:
        async with self._uow() as uow:
            return await uow.escalations.by_post(chat_id, message_id)

    async def remember_post(self, escalation_id: int, chat_id: int, message_id: int) -> None:
        """A message the bot wrote about an escalation (e.g. the "type your answer" prompt): a reply
        to it then maps back like a reply to the post, even after a restart."""
        async with self._uow() as uow:
            await uow.escalations.add_post(escalation_id, chat_id, message_id)
            await uow.commit()
