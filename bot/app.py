"""`policebot run`: the web app, Telegram when a token is set, the outbox and the reminders, in one
process until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import signal
from typing import Any

from bot.core.models import Channel
from bot.core.ports import Notifier
from bot.settings import Settings
from bot.wiring import Container, build_container

log = logging.getLogger(__name__)

REMINDER_INTERVAL_SECONDS = 60.0
RETENTION_INTERVAL_SECONDS = 24 * 3600.0


def _return_freed_memory() -> None:
    """Loading the matcher (unpickling, indexing) leaves tens of megabytes of freed blocks inside
    glibc's heap, which it keeps for later; malloc_trim hands them back to the system. Other C
    libraries (musl, macOS) have no such call and nothing to do."""
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return
    trim(0)


async def serve(settings: Settings, *, stop: asyncio.Event | None = None) -> int:
    from bot.channels.web.server import serve as serve_web

    stop = stop or asyncio.Event()
    _stop_on_signals(stop)
    container = await build_container(settings)
    _return_freed_memory()
    notifiers: dict[Channel, Notifier] = {}
    tasks: list[asyncio.Task[None]] = [
        asyncio.create_task(_remind(container, stop), name="reminders"),
        asyncio.create_task(_retain(container, stop), name="retention"),
    ]
    bot = None
    configure = None
    shared: tuple[Any, Any] = (None, None)
    base = f"http://{settings.web_host}:{settings.web_port}"
    print(f"网上警务室：{base}/")
    print(f"  民警工作台 {base}/console　管理后台 {base}/admin　API {base}/api/v1/openapi.json")
    if not await container.staff.list():
        print("  还没有民警或管理员账号：policebot users add --role admin --name 管理员 --username admin")
    if settings.bot_token:
        from bot.channels.telegram import (
            WebhookReceiver,
            create_bot,
            create_dispatcher,
            create_notifier,
            create_shared_state,
            run_polling,
        )

        bot = create_bot(settings)
        notifiers[Channel.TELEGRAM] = create_notifier(container, bot)
        storage, throttle = shared = create_shared_state(settings)
        dispatcher = create_dispatcher(container, throttle=throttle, storage=storage)
        if settings.webhook_url:
            # Any replica receives; the durable inbox makes each update handled once.
            configure = WebhookReceiver(container, bot, dispatcher).install
            print(f"Telegram 已启用（Webhook：{settings.webhook_url}）。")
        else:
            tasks.append(
                asyncio.create_task(run_polling(container, bot, stop, dispatcher=dispatcher), name="telegram")
            )
            print("Telegram 已启用（长轮询）。")
    else:
        print("Telegram 未启用：设置环境变量 BOT_TOKEN 后重启即可启用")
        print("  （自建 Bot API 服务器另设 TELEGRAM_API_BASE）；网页渠道照常运行。")
    try:
        # One delivery loop, inside the web app, serves every channel: the live hub is in-process.
        await serve_web(container, notifiers=notifiers, stop=stop, configure=configure)
    finally:
        stop.set()
        for task in tasks:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, timeout=15)
        if bot is not None:
            await bot.session.close()
        for resource in shared:
            if resource is not None:
                with contextlib.suppress(Exception):
                    await resource.close()
        await container.close()
    return 0


async def _remind(container: Container, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await container.reminders.run_once()
        except Exception:  # a database hiccup must not end the loop
            log.exception("reminder pass failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=REMINDER_INTERVAL_SECONDS)


async def _retain(container: Container, stop: asyncio.Event) -> None:
    """At start and then daily: every replica runs it, and running it twice changes nothing."""
    while not stop.is_set():
        try:
            await container.retention.run_once()
        except Exception:  # a database hiccup must not end the loop
            log.exception("retention pass failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=RETENTION_INTERVAL_SECONDS)


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
