"""Webhook mode: Telegram POSTs each update to WEBHOOK_PATH on any replica behind the proxy.

aiogram's own webhook handler answers Telegram before the handlers finish, so a crash there loses the
update. Here an update is first made durable (uow.updates.accept, committed) and only then answered
200; it is handled in a background task and marked finished. The inbox's primary key on update_id is
the claim: the same update delivered twice, or to two replicas, is handled once. An update whose
handling never finished (the replica died) is picked up by any replica's recovery loop once its claim
runs out, so updates are handled at least once, and in the normal case exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramAPIError
from aiogram.types import Update
from aiohttp import web
from pydantic import ValidationError

from bot.adapters.outage import is_outage
from bot.channels.telegram.app import set_commands
from bot.channels.telegram.retry import RetryingDispatcher
from bot.channels.untrusted import JSONTooDeep, parse_json, same_secret
from bot.channels.web.keys import CHANNEL_STATES

if TYPE_CHECKING:
    from bot.wiring import Container

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MIN_SECRET_LENGTH = 32
MAX_BODY_BYTES = 1024 * 1024  # updates are a few KB; Telegram's largest are well below this
LEASE_SECONDS = 120.0  # longer than any handler takes; then another replica may take the update over
RECOVERY_INTERVAL_SECONDS = 30.0
RECOVERY_BATCH = 50
REGISTER_DELAYS = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0)  # seconds between setWebhook attempts; the last repeats
PRUNE_AFTER = timedelta(days=1)
SHUTDOWN_GRACE_SECONDS = 10.0
DEFAULT_CONCURRENCY = 16


class WebhookReceiver:
    """Receives updates on `settings.webhook_path` of the web app (install()), registers the webhook
    with Telegram at startup, handles updates in the background and recovers unfinished ones."""

    def __init__(
        self,
        container: Container,
        bot: Bot,
        dispatcher: Dispatcher,
        *,
        lease_seconds: float = LEASE_SECONDS,
        recovery_interval: float = RECOVERY_INTERVAL_SECONDS,
        concurrency: int = DEFAULT_CONCURRENCY,
        register: bool = True,
    ) -> None:
        settings = container.settings
        secret = settings.webhook_secret
        if not secret or len(secret) < MIN_SECRET_LENGTH:
            raise ValueError(
                f"webhook mode needs WEBHOOK_SECRET: {MIN_SECRET_LENGTH} or more random characters"
            )
        self.container = container
        self.bot = bot
        self.dispatcher = dispatcher
        if isinstance(dispatcher, RetryingDispatcher):
            dispatcher.retry_outages = False  # the inbox keeps a failed update, not this process
        self.path = settings.webhook_path
        self.url = settings.webhook_url
        self._secret = secret.encode()
        self.lease_seconds = lease_seconds
        self.recovery_interval = recovery_interval
        self._register = register
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self.registered = not register  # with Telegram (setWebhook); /readyz says "degraded" until then

    # ---- wiring into the web app

    def install(self, app: web.Application) -> None:
        """The webhook bypasses the web app's browser middlewares (sessions, cookies, CSRF): it is
        served by a middleware placed first, which handles its path and passes everything else on."""
        path = self.path

        @web.middleware
        async def telegram_webhook(request: web.Request, handler: Any) -> web.StreamResponse:
            if request.path != path:
                return await handler(request)
            if request.method != "POST":
                raise web.HTTPMethodNotAllowed(request.method, ["POST"])
            return await self.handle(request)

        app.middlewares.insert(0, telegram_webhook)
        app.cleanup_ctx.append(self._lifetime)
        app.setdefault(CHANNEL_STATES, {})["telegram"] = lambda: "ok" if self.registered else "degraded"

    async def _lifetime(self, _app: web.Application) -> AsyncIterator[None]:
        # Registering waits for nothing: with the Bot API unreachable the web pages and the API serve
        # meanwhile, and updates Telegram already sends here are received as usual.
        background = [asyncio.create_task(self.recovery_loop(), name="telegram-webhook-recovery")]
        if self._register:
            background.append(asyncio.create_task(self._register_until_done(), name="telegram-register"))
        try:
            yield
        finally:
            for task in background:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await self.drain(SHUTDOWN_GRACE_SECONDS)

    async def _register_until_done(self) -> None:
        attempt = 0
        while True:
            try:
                await self.register()
            except ValueError:
                log.exception("the Telegram webhook cannot be registered")
                return
            except Exception as exc:  # the Bot API unreachable or failing: try again, serve meanwhile
                delay = REGISTER_DELAYS[min(attempt, len(REGISTER_DELAYS) - 1)]
                attempt += 1
                log.warning("could not register the Telegram webhook (%s); again in %g s", exc, delay)
                await asyncio.sleep(delay)
                continue
            self.registered = True
            if attempt:
                log.warning("Telegram webhook registered after %d failed attempts", attempt)
            return

    async def register(self) -> None:
        """setWebhook with the secret and the update types the routers use (plus the command menu)."""
        if not self.url:
            raise ValueError("WEBHOOK_URL is not set")
        await self.bot.set_webhook(
            self.url,
            secret_token=self._secret.decode(),
            allowed_updates=self.dispatcher.resolve_used_update_types(),
        )
        try:
            await set_commands(self.bot)
        except TelegramAPIError as exc:
            log.warning("could not set the bot's commands: %s", exc)

    # ---- receiving

    async def handle(self, request: web.Request) -> web.Response:
        if not same_secret(request.headers.get(SECRET_HEADER, ""), self._secret):
            return web.Response(status=401, text="unauthorized")
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            return web.Response(status=413, text="too large")
        body = await _read_bounded(request, MAX_BODY_BYTES)
        if body is None:
            return web.Response(status=413, text="too large")
        try:
            payload = parse_json(body)
            update = Update.model_validate(payload, context={"bot": self.bot})
        except JSONTooDeep as exc:
            return web.Response(status=400, text=f"malformed update: {exc}")
        except (ValueError, ValidationError):  # JSONDecodeError is a ValueError
            return web.Response(status=400, text="malformed update")
        if not isinstance(payload, dict):
            return web.Response(status=400, text="malformed update")
        try:
            accepted = await self.accept(update.update_id, payload)
        except Exception:
            # Not durable, so not acknowledged: Telegram delivers it again later.
            log.exception("could not store update %s", update.update_id)
            return web.Response(status=503, text="try again")
        if accepted:
            self._spawn(update.update_id, update)
        return web.Response(text="ok")

    async def accept(self, update_id: int, payload: dict[str, Any]) -> bool:
        async with self.container.uow_factory() as uow:
            accepted = await uow.updates.accept(
                update_id, payload, self.container.clock.now(), self.lease_seconds
            )
            await uow.commit()
        return accepted

    # ---- processing

    def _spawn(self, update_id: int, update: Update) -> None:
        task = asyncio.create_task(self.process(update_id, update), name=f"telegram-update-{update_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def process(self, update_id: int, update: Update) -> None:
        """Run the handlers, then mark the update finished. A handler's error is logged and the
        update is finished anyway (retrying would repeat what it did before failing, and a bad update
        would come back forever); only a crash leaves it to the recovery loop."""
        async with self._slots:
            try:
                await self.dispatcher.feed_update(self.bot, update)
            except Exception as exc:
                if is_outage(exc):  # left unfinished: the recovery loop handles it after its lease
                    log.warning("update %s: a dependency is unavailable; handled again later", update_id)
                    return
                log.exception("update %s failed in its handlers", update_id)
            try:
                async with self.container.uow_factory() as uow:
                    await uow.updates.finish(update_id, self.container.clock.now())
                    await uow.commit()
            except Exception:  # it comes back after its lease: handled again, at least once
                log.exception("could not mark update %s finished", update_id)

    async def recover_once(self, limit: int = RECOVERY_BATCH) -> int:
        """Lease updates whose handling never finished and handle them; prune old processed ones.
        Returns how many were recovered."""
        now = self.container.clock.now()
        async with self.container.uow_factory() as uow:
            leased = await uow.updates.lease(now, limit, self.lease_seconds)
            await uow.updates.prune(now - PRUNE_AFTER)
            await uow.commit()
        for update_id, payload in leased:
            log.warning("recovering update %s, left unfinished", update_id)
            try:
                update = Update.model_validate(payload, context={"bot": self.bot})
            except ValidationError:
                log.exception("stored update %s no longer parses; dropping it", update_id)
                async with self.container.uow_factory() as uow:
                    await uow.updates.finish(update_id, now)
                    await uow.commit()
                continue
            await self.process(update_id, update)
        return len(leased)

    async def recovery_loop(self) -> None:
        while True:
            try:
                await self.recover_once()
            except Exception:  # a database hiccup must not end the loop
                log.exception("webhook recovery pass failed")
            await asyncio.sleep(self.recovery_interval)

    async def drain(self, timeout: float) -> None:
        """Wait for updates being handled; whatever does not finish is recovered after its lease."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)


async def _read_bounded(request: web.Request, limit: int) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
