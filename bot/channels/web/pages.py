"""Rendering pages: every template gets the CSRF token, the signed-in staff member and the flashes."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import get_session

from bot.channels.web.identity import current_staff
from bot.channels.web.security import CSRF_FIELD, csrf_token

FLASH_KEY = "flash"


async def render(
    request: web.Request, template: str, context: dict[str, Any] | None = None, *, status: int = 200
) -> web.Response:
    session = await get_session(request)
    flashes = session.pop(FLASH_KEY, None) or []
    base = {
        "csrf": await csrf_token(request),
        "csrf_field": CSRF_FIELD,
        "staff": await current_staff(request),
        "flashes": flashes,
        "path": request.path,
    }
    return aiohttp_jinja2.render_template(template, request, base | (context or {}), status=status)


async def flash(request: web.Request, text: str, kind: str = "info") -> None:
    """A one-line message shown on the next page (after a redirect)."""
    session = await get_session(request)
    session[FLASH_KEY] = [*(session.get(FLASH_KEY) or []), [kind, text]][-5:]


def wants_json(request: web.Request) -> bool:
    return "application/json" in request.headers.get("Accept", "")
