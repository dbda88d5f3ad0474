"""Operations: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import asyncio
import ipaddress
import logging

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.adapters.outage import is_outage
from bot.channels.untrusted import same_secret
from bot.channels.web.keys import CHANNEL_STATES, CONTAINER, DRAINING, METRICS
from bot.channels.web.metrics import Scrape
from bot.core.models import Backlog
from bot.wiring import Container

log = logging.getLogger(__name__)

routes = web.RouteTableDef()


READY_DEADLINE_SECONDS = 1.0  # a load balancer's probe gets its answer within this, whatever is down
# The database's part of a scrape; well inside Prometheus's default scrape timeout (10 s).
SCRAPE_DEADLINE_SECONDS = 2.0


@routes.get("/livez")
async def livez(request: web.Request) -> web.Response:
    """The process answers: restart it only when this fails."""
    return web.json_response({"status": "ok"})


@routes.get("/readyz")
@routes.get("/healthz")
async def readyz(request: web.Request) -> web.Response:
    """Whether this replica can serve: the database (and Redis when configured) answered in time."""
    container = request.app[CONTAINER]
    draining = request.app.get(DRAINING)
    if draining is not None and draining.is_set():
        return web.json_response({"status": "draining"}, status=503)
    checks = {"database": container.exports.ping()}
    if container.settings.redis_url:
        checks["redis"] = _redis_ping(container.settings.redis_url)
    names = list(checks)
    results = await asyncio.gather(
        *(asyncio.wait_for(check, READY_DEADLINE_SECONDS) for check in checks.values()),
        return_exceptions=True,
    )
    state = {}
    for name, result in zip(names, results, strict=True):
        if isinstance(result, BaseException):
            log.warning("readiness: %s unavailable: %s", name, type(result).__name__)
            state[name] = "unreachable"
        else:
            state[name] = "ok"
    ready = all(v == "ok" for v in state.values())
    # A channel that cannot reach its service (Telegram's Bot API) degrades, but this replica still
    # serves the web pages and the API: reported, not a reason to take it out of the pool.
    channels = {name: report() for name, report in request.app.get(CHANNEL_STATES, {}).items()}
    # A matcher still learning new knowledge answers (cautiously, or with an earlier fusion): reported,
    # not a reason to stop serving.
    learned = "ok" if container.matcher.trained else "learning"
    body = {"status": "ok" if ready else "unavailable", **state, "matcher": learned, **channels}
    return web.json_response(body, status=200 if ready else 503)


async def _redis_ping(url: str) -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(
        url, socket_timeout=READY_DEADLINE_SECONDS, socket_connect_timeout=READY_DEADLINE_SECONDS
    )
    try:
        await client.ping()
    finally:
        await client.aclose()


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    if not _may_read_metrics(request):
        raise web.HTTPNotFound()  # as if there were none: nothing to probe from outside
    metrics = request.app[METRICS]
    container = request.app[CONTAINER]
    backlog, redis_up = await asyncio.gather(_backlog(container), _redis_state(container.settings.redis_url))
    scrape = Scrape(container.clock.now(), backlog, _pool_in_use(container.engine), redis_up)
    response = web.Response(body=metrics.render(scrape))
    response.headers["Content-Type"] = metrics.content_type
    return response


async def _backlog(container: Container) -> Backlog | None:
    """None when the database does not answer in time: the scrape still answers, and says so."""
    try:
        return await asyncio.wait_for(container.exports.backlog(), SCRAPE_DEADLINE_SECONDS)
    except Exception as exc:
        if is_outage(exc):  # down or slow (the deadline included): one line, no traceback
            log.warning("metrics: database unavailable: %s", type(exc).__name__)
        else:
            log.exception("metrics: reading the backlog failed")
        return None


async def _redis_state(url: str | None) -> bool | None:
    if not url:
        return None
    try:
        await asyncio.wait_for(_redis_ping(url), READY_DEADLINE_SECONDS)
    except Exception as exc:
        log.warning("metrics: redis unavailable: %s", type(exc).__name__)
        return False
    return True


def _pool_in_use(engine: AsyncEngine) -> int | None:
    # QueuePool counts its checked-out connections; pools that keep none (NullPool) cannot tell.
    checked_out = getattr(engine.pool, "checkedout", None)
    return checked_out() if callable(checked_out) else None


def _may_read_metrics(request: web.Request) -> bool:
    token = request.app[CONTAINER].settings.metrics_token
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        return same_secret(given, token.encode())
    try:
        address = ipaddress.ip_address(request.remote or "")
    except ValueError:
        return False
    return address.is_loopback or address.is_private
