"""Running the web channel as a server, with the outbox delivery loop in the same process. With the
in-process live hub the loop that calls WebNotifier must run where the pages are served; with
REDIS_URL every replica runs one, they share the outbox (leases, SKIP LOCKED), and Redis carries each
answer to the replica that holds the resident's page."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from bot.channels.web.app import create_app
from bot.channels.web.keys import DRAINING
from bot.channels.web.live import delivery_loop, live_hub_for, web_notifiers
from bot.core.models import Channel
from bot.core.ports import Notifier
from bot.services.delivery import DeliveryService
from bot.wiring import Container

log = logging.getLogger(__name__)


async def serve(
    container: Container,
    *,
    notifiers: Mapping[Channel, Notifier] | None = None,
    stop: asyncio.Event | None = None,
    configure: Callable[[web.Application], None] | None = None,
) -> None:
    """Serve on settings.web_host:web_port until `stop` is set (or the task is cancelled). Pass the
    other channels' notifiers (Telegram) so one delivery loop serves every channel: a second loop
    elsewhere without the web notifier would lease web messages it cannot send and delay them.
    `configure` is called with the app before it starts (the Telegram webhook installs itself there)."""
    settings = container.settings
    hub = live_hub_for(settings)
    app = create_app(container, hub=hub)
    delivery = DeliveryService(
        container.uow_factory,
        container.clock,
        {**(notifiers or {}), **web_notifiers(hub)},
        lease_seconds=settings.delivery_lease_seconds,
        send_timeout_seconds=settings.send_timeout_seconds,
        events=container.signals,
    )
    app.cleanup_ctx.append(delivery_loop(delivery))
    if configure is not None:
        configure(app)
    in_flight = _InFlight()
    app.middlewares.insert(0, in_flight.middleware)
    # Requests in flight at shutdown get this long to finish before their handlers are cancelled.
    # aiohttp's own access log stays off: the app's request middleware writes one (bot.access).
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=settings.shutdown_timeout_seconds)
    await runner.setup()
    site = web.TCPSite(runner, settings.web_host, settings.web_port)
    try:
        await site.start()
        log.warning("web channel on http://%s:%s/", settings.web_host, settings.web_port)
        await (stop or asyncio.Event()).wait()
        # Drain: readiness fails first so that the load balancer takes this replica out, while it
        # still answers whatever reaches it; then it stops accepting and finishes what is in flight.
        app[DRAINING].set()
        if settings.shutdown_drain_seconds:
            log.warning("draining for %g s before stopping", settings.shutdown_drain_seconds)
            await asyncio.sleep(settings.shutdown_drain_seconds)
        # Stop accepting, end the open event streams, and let the requests in flight finish while
        # their connections are still read: the runner's shutdown stops reading every connection, so
        # a request whose body was still arriving would hang there until the timeout cancelled it.
        await site.stop()
        hub.close()
        await in_flight.finish(settings.shutdown_timeout_seconds)
    finally:
        await runner.cleanup()


class _InFlight:
    """The requests being handled, so that those in flight when the server stops accepting can be
    let finish."""

    def __init__(self) -> None:
        self._handling: set[asyncio.Task[Any]] = set()

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        task = asyncio.current_task()
        assert task is not None
        self._handling.add(task)
        try:
            return await handler(request)
        finally:
            self._handling.discard(task)

    async def finish(self, timeout: float) -> None:
        """Wait up to `timeout` for the requests being handled now (their answers written); those
        still running then are cancelled, as the runner's own shutdown timeout would."""
        if self._handling:
            _, running = await asyncio.wait(set(self._handling), timeout=timeout)
            for task in running:
                task.cancel()
