"""Every request gets an id, one access line and, when it fails on our side, a count.

The id is the caller's X-Request-Id when that is a short safe token (so a reverse proxy's or a
partner site's id follows the request into our logs), a fresh one otherwise; it is echoed in the
response's X-Request-Id, error pages included, and rides on every log line written while the request
is handled (bot.logs.request_id). The access line names the method, the path without its query string
(tokens and residents' words travel there), the status, the time taken and the client's address; never
a body, a cookie or a header.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from collections.abc import Sequence

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from bot.channels.web.errors import MESSAGES
from bot.channels.web.keys import METRICS
from bot.channels.web.proxy import client_ip
from bot.logs import request_id
from bot.settings import Network

REQUEST_ID_HEADER = "X-Request-Id"
SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
PATH_LOG_CHARS = 256  # a hostile request's long path must not flood the log
CLIENT_CLOSED = 499  # nginx's status for a request whose client left before the answer

access_log = logging.getLogger("bot.access")
log = logging.getLogger(__name__)


def request_context(trusted: Sequence[Network]) -> Middleware:
    """First in the chain, so it sees the final status of whatever the others answer or raise."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        rid = incoming_request_id(request.headers.get(REQUEST_ID_HEADER))
        token = request_id.set(rid)
        started = time.perf_counter()
        status = CLIENT_CLOSED  # unless an answer or an HTTP exception says otherwise
        try:
            response = await _answer(request, handler, rid)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            _account(request, status, started, trusted)
            request_id.reset(token)

    return middleware


def incoming_request_id(given: str | None) -> str:
    """The caller's id when it is safe to log and to echo, else a new one."""
    if given and SAFE_REQUEST_ID.fullmatch(given):
        return given
    return uuid.uuid4().hex


async def echo_request_id(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: a response the handler itself starts sending (an event stream, a streamed
    export) is prepared before the middleware sees it, so the header goes on here."""
    rid = request_id.get()
    if rid and REQUEST_ID_HEADER not in response.headers:
        response.headers[REQUEST_ID_HEADER] = rid


async def _answer(request: web.Request, handler: Handler, rid: str) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:  # redirects, and refusals raised outside error_pages
        exc.headers[REQUEST_ID_HEADER] = rid
        raise
    except asyncio.CancelledError:
        raise
    except Exception:
        # Escaped every other middleware (error_pages turns handlers' errors into pages): still an
        # answer with the id the operator will search the log for.
        log.exception("unhandled error on %s %s", request.method, _logged_path(request))
        response = web.Response(status=500, text=MESSAGES[500])
    if not response.prepared:
        response.headers[REQUEST_ID_HEADER] = rid
    return response


def _account(request: web.Request, status: int, started: float, trusted: Sequence[Network]) -> None:
    duration_ms = round((time.perf_counter() - started) * 1000, 1)
    path = _logged_path(request)
    if status >= 500:
        request.app[METRICS].server_errors.labels(_route(request), str(status)).inc()
    access_log.info(
        "%s %s %s %.1f ms",
        request.method,
        path,
        status,
        duration_ms,
        extra={
            "method": request.method,
            "path": path,
            "status": status,
            "duration_ms": duration_ms,
            "remote": client_ip(request, trusted),
        },
    )


def _logged_path(request: web.BaseRequest) -> str:
    # Still percent-encoded: a path cannot start a new log line or hide behind control characters.
    return request.rel_url.raw_path[:PATH_LOG_CHARS]


def _route(request: web.Request) -> str:
    """The route's template ("/c/{slug}"), never the path itself: one series per route, not per URL."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"
