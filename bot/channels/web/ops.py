"""Operations: the health check and Prometheus metrics."""

from __future__ import annotations

import logging

from aiohttp import web

from bot.channels.web.keys import CONTAINER, METRICS

log = logging.getLogger(__name__)

routes = web.RouteTableDef()


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    try:
        await request.app[CONTAINER].exports.ping()
    except Exception as exc:  # any failure to reach the database is "unhealthy", whatever its type
        log.warning("health check: database unreachable: %s", exc)
        return web.json_response({"status": "unavailable", "database": "unreachable"}, status=503)
    return web.json_response({"status": "ok", "database": "ok"})


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    metrics = request.app[METRICS]
    waiting = await request.app[CONTAINER].exports.waiting_escalations()
    response = web.Response(body=metrics.render(waiting))
    response.headers["Content-Type"] = metrics.content_type
    return response
