"""Who is asking: a resident (a random token in a cookie, nothing else known) or a staff member
(a session after login, re-read from the allowlist on every request so a removed account stops at
once). Role checks are decorators on every staff handler."""

from __future__ import annotations

import functools
import re
import secrets
from collections.abc import Awaitable, Callable
from datetime import timedelta
from urllib.parse import quote

from aiohttp import web
from aiohttp.typedefs import Handler
from aiohttp_session import get_session

from bot.channels.web.keys import CONTAINER
from bot.core.models import Channel, ResidentRef, Role, Staff

# Per-request memo: who this request is (staff looked up once), and a new resident token to set.
STAFF = web.RequestKey("staff", object)
RESIDENT_TOKEN = web.RequestKey("resident_token", str)
NEW_RESIDENT_TOKEN = web.RequestKey("new_resident_token", str)

RESIDENT_COOKIE = "pb_resident"
RESIDENT_MAX_AGE = 365 * 24 * 3600  # the resident should find an officer's answer days later
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{20,64}")


# The session cookie's key for the staff session token (bot.services.staff: start_session).
SESSION_TOKEN = "sid"


def resident_of(request: web.Request) -> ResidentRef:
    """This browser's pseudonym; a new one (set as a cookie with the response) on the first visit."""
    token = request.get(RESIDENT_TOKEN)
    if token is None:
        cookie = request.cookies.get(RESIDENT_COOKIE, "")
        if _TOKEN_RE.fullmatch(cookie):
            token = cookie
        else:
            token = secrets.token_urlsafe(24)
            request[NEW_RESIDENT_TOKEN] = token
        request[RESIDENT_TOKEN] = token
    return ResidentRef(Channel.WEB, token)


def resident_cookie_middleware(secure: bool) -> web.Middleware:
    @web.middleware
    async def resident_cookie(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            _set_cookie(request, exc, secure)
            raise
        if not response.prepared:
            _set_cookie(request, response, secure)
        return response

    return resident_cookie


def _set_cookie(request: web.Request, response: web.StreamResponse, secure: bool) -> None:
    token = request.get(NEW_RESIDENT_TOKEN)
    if token:
        response.set_cookie(
            RESIDENT_COOKIE,
            token,
            max_age=RESIDENT_MAX_AGE,
            path="/",
            httponly=True,
            samesite="Lax",
            secure=secure,
        )


async def current_staff(request: web.Request) -> Staff | None:
    if STAFF in request:
        return request[STAFF]  # type: ignore[return-value]
    session = await get_session(request)
    token = session.get(SESSION_TOKEN)
    staff = None
    if isinstance(token, str):
        container = request.app[CONTAINER]
        idle = timedelta(minutes=container.settings.session_idle_minutes)
        staff = await container.staff.session_staff(token, idle)
        if staff is None:  # logged out elsewhere, signed out everywhere, too old, or off the allowlist
            session.pop(SESSION_TOKEN, None)
    request[STAFF] = staff
    return staff


def staff_of(request: web.Request) -> Staff:
    staff = request.get(STAFF)
    if not isinstance(staff, Staff):  # a handler without @staff_only: a programming error, never a user's
        raise RuntimeError("staff_of() needs @staff_only or @admin_only on the handler")
    return staff


def _login_redirect(request: web.Request) -> web.HTTPException:
    if "application/json" in request.headers.get("Accept", ""):
        return web.HTTPUnauthorized(reason="login")
    back = request.path_qs if request.method == "GET" else "/console"
    return web.HTTPSeeOther(f"/login?next={quote(back, safe='/')}")


def staff_only(handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> Handler:
    @functools.wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        if await current_staff(request) is None:
            raise _login_redirect(request)
        return await handler(request)

    return wrapper


def admin_only(handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> Handler:
    @functools.wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        staff = await current_staff(request)
        if staff is None:
            raise _login_redirect(request)
        if staff.role is not Role.ADMIN:
            raise web.HTTPForbidden(reason="admin")
        return await handler(request)

    return wrapper


def safe_next(value: str | None, default: str) -> str:
    """Only a path on this site: never an open redirect to somebody else's. Browsers drop tabs and
    newlines from URLs and read a backslash as a slash, so "/<tab>/evil.example" is refused too."""
    if (
        value
        and value.startswith("/")
        and "\\" not in value
        and all(ch > " " and ch != "\x7f" for ch in value)
        and not value.startswith("//")
    ):
        return value
    return default
