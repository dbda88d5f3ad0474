"""The application factory. Nothing is built at import: every call makes a fresh app (tests build many)."""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from bot.channels.web import admin, api, auth, console, ops, questions, resident
from bot.channels.web.access import echo_request_id, request_context
from bot.channels.web.charting import ChartRenderer
from bot.channels.web.errors import error_pages
from bot.channels.web.filters import ReportCache
from bot.channels.web.identity import resident_cookie_middleware
from bot.channels.web.keys import (
    ASK_LIMIT,
    CHANNEL_STATES,
    CHARTS,
    CONTAINER,
    DRAINING,
    HUB,
    METRICS,
    REPORTS,
    SECRETS,
    THROTTLE,
)
from bot.channels.web.live import LiveHub, live_hub_for
from bot.channels.web.metrics import WebMetrics
from bot.channels.web.proxy import client_address, parse_networks
from bot.channels.web.security import (
    csrf_protect,
    hide_server_version,
    load_secrets,
    security_headers,
    session_idle_middleware,
    session_setup,
)
from bot.channels.web.throttle import ask_limits_for, login_limits_for
from bot.wiring import Container

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
MAX_REQUEST_BYTES = 256 * 1024  # questions and forms are small; nothing is uploaded


def create_app(container: Container, *, hub: LiveHub | None = None) -> web.Application:
    """The whole web channel. The caller owns the container (and closes it); pass the hub when the
    delivery loop's WebNotifier must reach this app's pages. Without one, the hub follows the
    settings (Redis-backed with REDIS_URL). The app starts and stops the hub either way."""
    settings = container.settings
    secrets_ = load_secrets(settings)
    hub = hub or live_hub_for(settings)
    hide_server_version()
    proxies = parse_networks(settings.trusted_proxies)
    app = web.Application(
        middlewares=[
            request_context(proxies),  # request id, access line, 5xx count: sees every final status
            client_address(proxies),  # the client's own address
            session_setup(settings, secrets_),  # saves the session on error pages too
            error_pages,
            session_idle_middleware(settings.session_idle_minutes),
            resident_cookie_middleware(settings.secure_cookies),
            csrf_protect,
        ],
        client_max_size=MAX_REQUEST_BYTES,
    )
    app[CONTAINER] = container
    app[HUB] = hub
    app[SECRETS] = secrets_
    app[METRICS] = WebMetrics(hub.stream_count)
    app[THROTTLE] = login_limits_for(settings)
    app[ASK_LIMIT] = ask_limits_for(container.settings)
    app[REPORTS] = ReportCache()
    app[CHARTS] = ChartRenderer()
    app[CHANNEL_STATES] = {}
    app[DRAINING] = asyncio.Event()

    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,  # every template, whatever its file name
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["asset"] = _asset_urls()
    env.filters["tel"] = tel_digits

    app.add_routes(resident.routes)
    app.add_routes(auth.routes)
    app.add_routes(console.routes)
    app.add_routes(admin.routes)
    app.add_routes(questions.routes)
    app.add_routes(api.routes)
    app.add_routes(ops.routes)
    app.router.add_static("/static", STATIC_DIR, name="static")

    # First in cleanup_ctx: a delivery loop the caller adds later starts after the hub, stops before it.
    app.cleanup_ctx.append(_run_hub)
    app.cleanup_ctx.append(_count_service_events)
    app.on_response_prepare.append(security_headers)
    app.on_response_prepare.append(api.cors_headers)
    app.on_response_prepare.append(echo_request_id)
    app.on_shutdown.append(_end_live_streams)
    app.on_cleanup.append(_stop_chart_thread)
    app.on_cleanup.append(_close_ask_limits)
    return app


async def _run_hub(app: web.Application) -> AsyncIterator[None]:
    await app[HUB].start()
    yield
    await app[HUB].stop()


async def _count_service_events(app: web.Application) -> AsyncIterator[None]:
    # While the app runs: deliveries and urgent consultations are counted in this app's registry.
    unsubscribe = app[CONTAINER].signals.subscribe(app[METRICS])
    yield
    unsubscribe()


async def _end_live_streams(app: web.Application) -> None:
    # Open event streams would otherwise hold the graceful shutdown for its whole timeout.
    app[HUB].close()


async def _stop_chart_thread(app: web.Application) -> None:
    app[CHARTS].close()


async def _close_ask_limits(app: web.Application) -> None:
    await app[ASK_LIMIT].close()
    await app[THROTTLE].close()


def _asset_urls() -> object:
    """asset('chat.js') → /static/chat.js?v=<content hash>: browsers may cache static files for long."""
    versions = {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()[:10]
        for path in STATIC_DIR.iterdir()
        if path.is_file()
    }

    def asset(name: str) -> str:
        return f"/static/{name}?v={versions.get(name, '0')}"

    return asset


def tel_digits(number: object) -> str:
    """A tel: link's number: digits and a leading + only (a sample number's "（示例）" or a dash
    would leave the phone dialling nothing)."""
    text = str(number).strip()
    digits = re.sub(r"\D", "", text)
    return ("+" + digits) if text.startswith("+") else digits
