"""Typed application keys: what the app factory stores for handlers and middlewares to find."""

from __future__ import annotations

import asyncio

from aiohttp import web

from bot.channels.web.charting import ChartRenderer
from bot.channels.web.filters import ReportCache
from bot.channels.web.live import LiveHub
from bot.channels.web.metrics import WebMetrics
from bot.channels.web.security import Secrets
from bot.channels.web.throttle import AskLimits, LoginLimits
from bot.wiring import Container

CONTAINER = web.AppKey("container", Container)
HUB = web.AppKey("hub", LiveHub)
METRICS = web.AppKey("metrics", WebMetrics)
SECRETS = web.AppKey("secrets", Secrets)
THROTTLE = web.AppKey("throttle", LoginLimits)
ASK_LIMIT = web.AppKey("ask_limit", AskLimits)
REPORTS = web.AppKey("reports", ReportCache)
CHARTS = web.AppKey("charts", ChartRenderer)
# Set at SIGTERM: /readyz answers 503 "draining" while the requests in flight finish.
DRAINING = web.AppKey("draining", asyncio.Event)
# Channels installed into this app report their state for /readyz: name → () -> "ok" | "degraded".
CHANNEL_STATES = web.AppKey("channel_states", dict)
