"""Operations: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import asyncio
import ipaddress
import logging

from aiohttp import web

from bot.channels.untrusted import same_secret
from bot.channels.web.keys import CHANNEL_STATES, CONTAINER, DRAINING, METRICS

log = logging.getLogger(__name__)

routes = web.RouteTableDef()


READY_DEADLINE_SECONDS = 1.0  # a load balancer's probe gets its answer within this, whatever is down


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
    body = {"status": "ok" if ready else "unavailable", **state, **channels}
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
    waiting = await request.app[CONTAINER].exports.waiting_escalations()
    response = web.Response(body=metrics.render(waiting))
    response.headers["Content-Type"] = metrics.content_type
    return response


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
