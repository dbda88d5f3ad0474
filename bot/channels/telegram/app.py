"""Factories for the Telegram channel: a Bot, a Dispatcher, and a polling loop that stops cleanly.

Nothing is built at import time: every caller (the CLI, each test, the benchmark) makes its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramAPIError
from aiogram.fsm.storage.base import BaseStorage
from aiogram.types import BotCommand, BotCommandScopeAllPrivateChats

from bot.channels.telegram.adapters import EscalationQueries, PrefsService, resident_ref
from bot.channels.telegram.handlers import admins, fallback, officers, residents
from bot.channels.telegram.limiter import RateLimiter
from bot.channels.telegram.middlewares import ActorMiddleware, InFlight, LanguageMiddleware, ResidentThrottle
from bot.channels.telegram.notifier import TelegramNotifier
from bot.channels.telegram.retry import RetryingDispatcher
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.wiring import Container

log = logging.getLogger(__name__)

RESIDENT_COMMANDS = (
    ("start", "主菜单"),
    ("community", "更换社区"),
    ("my", "我的咨询"),
    ("lang", "语言 / Language"),
    ("help", "帮助"),
)
SHUTDOWN_GRACE_SECONDS = 10.0
REDIS_TIMEOUT_SECONDS = 2.0
DEFAULT_CONCURRENCY = 16  # about the default connection pool (5 + 10 overflow)


def create_bot(settings: Settings) -> Bot:
    """The Bot for `settings.bot_token`, talking to `settings.telegram_api_base` when set (a
    self-hosted Bot API server, or the fake one in tests). Replies are HTML by default."""
    if not settings.bot_token:
        raise ValueError("BOT_TOKEN is not set: the Telegram channel cannot start")
    timeout = settings.telegram_timeout_seconds  # aiogram's own default (60 s) outlasted the outbox lease
    session = (
        AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_base), timeout=timeout)
        if settings.telegram_api_base
        else AiohttpSession(timeout=timeout)
    )
    return Bot(settings.bot_token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))


def create_dispatcher(
    container: Container,
    *,
    throttle: ResidentThrottle | None = None,
    storage: BaseStorage | None = None,
) -> Dispatcher:
    """Routers by audience, in the order they must see an update: admins' commands (any chat),
    officers (groups), residents (private chats), then the error handler."""
    dispatcher = RetryingDispatcher(storage=storage) if storage is not None else RetryingDispatcher()
    prefs_service = PrefsService(container.uow_factory, container.clock)
    # Dependencies reach handlers by parameter name (aiogram's workflow data): no globals.
    dispatcher["container"] = container
    dispatcher["prefs_service"] = prefs_service
    dispatcher["escalation_queries"] = EscalationQueries(container.uow_factory)
    in_flight = InFlight()
    dispatcher["in_flight"] = in_flight
    dispatcher.update.outer_middleware(in_flight)
    dispatcher.update.outer_middleware(ActorMiddleware(container.officers, prefs_service))
    dispatcher.update.outer_middleware(LanguageMiddleware())
    dispatcher.include_routers(
        admins.setup(),
        officers.setup(),
        residents.setup(throttle or ResidentThrottle()),
        fallback.setup(),
    )
    return dispatcher


def create_shared_state(settings: Settings) -> tuple[BaseStorage | None, ResidentThrottle | None]:
    """With REDIS_URL, the conversation state (FSM) and the residents' flood throttle live in Redis,
    so every replica sees the same ones; without it, (None, None): the Dispatcher's defaults, in memory.
    The caller closes both (storage.close(), throttle.close())."""
    if not settings.redis_url:
        return None, None
    from aiogram.fsm.storage.redis import RedisStorage

    from bot.channels.telegram.middlewares import RedisResidentThrottle

    # Timeouts: a frozen Redis fails an update (handled again later), never hangs it.
    timeouts = {"socket_timeout": REDIS_TIMEOUT_SECONDS, "socket_connect_timeout": REDIS_TIMEOUT_SECONDS}
    storage = RedisStorage.from_url(settings.redis_url, connection_kwargs=timeouts)
    return storage, RedisResidentThrottle.from_url(settings.redis_url)


def create_notifier(container: Container, bot: Bot, limiter: RateLimiter | None = None) -> TelegramNotifier:
    """The notifier for DeliveryService, wired with community names and each resident's language."""
    prefs_service = PrefsService(container.uow_factory, container.clock)

    async def language_of(recipient: str) -> str:
        return (await prefs_service.get(resident_ref(int(recipient)))).language

    return TelegramNotifier(
        bot,
        limiter or RateLimiter(),
        community_names={slug: c.name for slug, c in container.kb.communities.items()},
        language_of=language_of,
        timezone=container.settings.timezone,
    )


async def set_commands(bot: Bot) -> None:
    commands = [BotCommand(command=c, description=d) for c, d in RESIDENT_COMMANDS]
    await bot.set_my_commands(commands, scope=BotCommandScopeAllPrivateChats())


async def run_polling(
    container: Container,
    bot: Bot,
    stop_event: asyncio.Event,
    *,
    dispatcher: Dispatcher | None = None,
    polling_timeout: int = 10,
    concurrency: int | None = DEFAULT_CONCURRENCY,
) -> None:
    """Poll until `stop_event` is set, then let running handlers finish and confirm the updates they
    handled, so a restart does not replay them. The caller owns `bot` and closes its session.

    `concurrency` bounds the updates handled at once (None: no bound). Handlers mostly wait on the
    network, so some concurrency pays; without a bound, a backlog after a restart starts a hundred
    handlers that then queue for the database's connections (and, on SQLite, for its one writer)."""
    dp = dispatcher or create_dispatcher(container)
    try:
        await set_commands(bot)
    except TelegramAPIError as exc:  # the menu of commands is a nicety, not a reason not to start
        log.warning("could not set the bot's commands: %s", exc)
    polling = asyncio.create_task(
        dp.start_polling(
            bot,
            polling_timeout=polling_timeout,
            handle_signals=False,
            close_bot_session=False,
            tasks_concurrency_limit=concurrency,
        )
    )
    stopping = asyncio.create_task(stop_event.wait())
    try:
        await asyncio.wait({polling, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if not polling.done():
            await _stop(dp, polling)
        await polling  # re-raises what ended polling, if it ended by itself
    finally:
        stopping.cancel()
        if not polling.done():
            polling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await polling
        await _finish(dp, bot)


async def _stop(dp: Dispatcher, polling: asyncio.Task[None]) -> None:
    try:
        await dp.stop_polling()
    except RuntimeError:  # stopped before polling had started: nothing to wind down
        polling.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await polling


async def _finish(dp: Dispatcher, bot: Bot) -> None:
    if isinstance(dp, RetryingDispatcher):
        await dp.stop_retrying()
    in_flight: InFlight | None = dp.workflow_data.get("in_flight")
    if in_flight is None:
        return
    await in_flight.drain(SHUTDOWN_GRACE_SECONDS)
    # aiogram confirms updates by asking for the next batch; after the last batch there is no next
    # ask, so Telegram would send those updates again after a restart. Confirm what was handled.
    done = in_flight.confirmable()
    if done is not None:
        with contextlib.suppress(TelegramAPIError, OSError, asyncio.TimeoutError):
            await bot.get_updates(offset=done + 1, limit=1, timeout=0)
