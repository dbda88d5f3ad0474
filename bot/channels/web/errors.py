"""Failures as pages people can read (or JSON for scripts), never as tracebacks."""

from __future__ import annotations

import json
import logging

from aiohttp import web
from aiohttp.typedefs import Handler

from bot.adapters.outage import RETRY_AFTER_SECONDS, is_outage
from bot.channels.web.body import MESSAGES as BODY_MESSAGES
from bot.channels.web.pages import render, wants_json
from bot.core.knowledge import UnknownCommunityError
from bot.core.ports import NotFoundError
from bot.services.officers import PermissionDenied

log = logging.getLogger(__name__)

MESSAGES = {
    400: "请求的内容不完整或格式不对。",
    401: "请先登录。",
    403: "您没有权限进行这个操作。",
    404: "没有找到您要的页面或记录。",
    405: "不支持这种请求方式。",
    413: "提交的内容太长了。",
    429: "操作太频繁，请稍后再试。",
    500: "系统出了点问题，请稍后再试。紧急情况请直接拨打 110。",
    503: "系统暂时无法处理，请过一会儿再发一次。紧急情况请直接拨打 110。",
}
REASONS = {"csrf": "页面已过期或来源不明，请刷新页面后再试。", "admin": "只有管理员可以查看这个页面。"}
# Headers of a refusal that belong to its meaning: which methods the path takes, when to come back.
KEPT_HEADERS = ("Allow", "Retry-After")


@web.middleware
async def error_pages(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        kept = {name: exc.headers[name] for name in KEPT_HEADERS if name in exc.headers}
        return await _error(request, exc.status, exc.reason, kept)
    except UnknownCommunityError:
        return await _error(request, 404, "community")
    except NotFoundError:
        return await _error(request, 404, "not_found")
    except PermissionDenied:
        return await _error(request, 403, "forbidden")
    except Exception as exc:
        if is_outage(exc):  # the database or Redis is down or slow: come back later, one log line
            log.warning(
                "dependency unavailable on %s %s: %s: %s",
                request.method,
                request.path,
                type(exc).__name__,
                str(exc)[:200],
            )
            return await _error(request, 503, "unavailable", {"Retry-After": str(RETRY_AFTER_SECONDS)})
        log.exception("unhandled error on %s %s", request.method, request.path)
        return await _error(request, 500, "internal")


async def _error(
    request: web.Request, status: int, reason: str, headers: dict[str, str] | None = None
) -> web.Response:
    message = (
        REASONS.get(reason)
        or BODY_MESSAGES.get(reason)  # a clearer message; the error code stays the status's own
        or MESSAGES.get(status)
        or MESSAGES[400 if status < 500 else 500]
    )
    code = reason if reason in REASONS else _code(status)
    # A script that sent JSON reads JSON back, whatever its Accept header says.
    if request.path.startswith("/api/") or wants_json(request) or request.content_type == "application/json":
        body = json.dumps({"error": code, "message": message}, ensure_ascii=False)
        return web.Response(status=status, text=body, content_type="application/json", headers=headers)
    try:
        response = await render(request, "error.html", {"status": status, "message": message}, status=status)
    except Exception:  # the error page itself must not fail (e.g. a broken session cookie)
        log.exception("error page failed")
        response = web.Response(status=status, text=message)
    if headers:
        response.headers.update(headers)
    return response


def _code(status: int) -> str:
    codes = {400: "bad_request", 401: "login", 403: "forbidden", 404: "not_found", 429: "too_many"}
    return codes.get(status, "unavailable" if status == 503 else "error")
