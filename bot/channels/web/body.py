"""Request bodies: one JSON object with bounded nesting, or form fields; a body that cannot be read
is a 400 that says what was wrong, never a server error."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from bot.channels.untrusted import MAX_JSON_DEPTH, JSONTooDeep, parse_json

# HTTP reasons of the 400s below; the error pages turn them into messages (see errors.DETAILS).
NOT_A_JSON_OBJECT = "json"
JSON_TOO_DEEP = "json_depth"
UNREADABLE_FORM = "form"
MESSAGES = {
    NOT_A_JSON_OBJECT: "请求体必须是一个 UTF-8 编码的 JSON 对象。",
    JSON_TOO_DEEP: f"请求的 JSON 嵌套太深（最多 {MAX_JSON_DEPTH} 层）。",
    UNREADABLE_FORM: "提交的表单无法读取，请刷新页面后再试。",
}


async def json_object(request: web.Request) -> dict[str, Any]:
    try:
        body = parse_json(await request.read())
    except JSONTooDeep:
        raise web.HTTPBadRequest(reason=JSON_TOO_DEEP) from None
    except ValueError:  # UnicodeDecodeError and JSONDecodeError included
        raise web.HTTPBadRequest(reason=NOT_A_JSON_OBJECT) from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(reason=NOT_A_JSON_OBJECT)
    return body


async def form_fields(request: web.Request) -> MultiDictProxy[Any]:
    """request.post(), whose parsers raise on what a stranger can send: LookupError for an unknown
    charset, ValueError for undecodable bytes or broken multipart, RuntimeError for an unknown
    Content-Transfer-Encoding. A body over the size limit stays the 413 aiohttp raises."""
    try:
        return await request.post()
    except (ValueError, LookupError, RuntimeError):
        raise web.HTTPBadRequest(reason=UNREADABLE_FORM) from None
