"""Staff sign-in and sign-out. Passwords are checked by StaffService (Argon2id); this module adds the
throttle and the session."""

from __future__ import annotations

import math

from aiohttp import web
from aiohttp_session import get_session

from bot.channels.web.body import form_fields
from bot.channels.web.identity import SESSION_TOKEN, current_staff, safe_next, staff_of, staff_only
from bot.channels.web.keys import CONTAINER, THROTTLE
from bot.channels.web.pages import render
from bot.channels.web.security import renew_session
from bot.core.models import Role

MAX_USERNAME = 64
MAX_PASSWORD = 1024

routes = web.RouteTableDef()


@routes.get("/login", name="login")
async def login_form(request: web.Request) -> web.Response:
    next_path = safe_next(request.query.get("next"), "")
    staff = await current_staff(request)
    if staff is not None:
        raise web.HTTPSeeOther(next_path or _home(staff.role))
    return await render(request, "login.html", {"next": next_path, "username": ""})


@routes.post("/login")
async def login(request: web.Request) -> web.Response:
    form = await form_fields(request)
    username = str(form.get("username", "")).strip()[:MAX_USERNAME]
    password = str(form.get("password", ""))[:MAX_PASSWORD]
    next_path = safe_next(str(form.get("next", "")), "")
    address = request.remote or "unknown"
    throttle = request.app[THROTTLE]
    context = {"next": next_path, "username": username}

    wait = await throttle.wait(username, address)
    if wait is not None:
        minutes = max(1, math.ceil(wait / 60))
        response = await render(
            request,
            "login.html",
            context | {"error": f"登录失败次数过多，为保护账号安全，请 {minutes} 分钟后再试。"},
            status=429,
        )
        response.headers["Retry-After"] = str(math.ceil(wait))
        return response

    staff = (
        await request.app[CONTAINER].staff.authenticate(username, password) if username and password else None
    )
    if staff is None or not staff.active:
        await throttle.failure(username, address)
        return await render(request, "login.html", context | {"error": "用户名或密码不正确。"}, status=401)

    await throttle.success(username, address)
    session = await get_session(request)
    renew_session(session)
    # The cookie carries a token whose row decides whether it still counts (logout, sign out everywhere).
    session[SESSION_TOKEN] = await request.app[CONTAINER].staff.start_session(staff.id)
    await request.app[CONTAINER].audit.record(staff, "sign_in", "网页", address)
    raise web.HTTPSeeOther(next_path or _home(staff.role))


@routes.post("/logout", name="logout")
async def logout(request: web.Request) -> web.Response:
    session = await get_session(request)
    token = session.get(SESSION_TOKEN)
    if isinstance(token, str):
        await request.app[CONTAINER].staff.end_session(token)  # copies of the cookie stop working too
    renew_session(session)
    raise web.HTTPSeeOther("/")


def _home(role: Role) -> str:
    return "/admin" if role is Role.ADMIN else "/console"


@routes.get("/account/password", name="password")
@staff_only
async def password_form(request: web.Request) -> web.Response:
    return await render(request, "password.html", {})


@routes.post("/account/password")
@staff_only
async def change_password(request: web.Request) -> web.Response:
    staff = staff_of(request)
    form = await form_fields(request)
    current = str(form.get("current", ""))[:MAX_PASSWORD]
    new = str(form.get("new", ""))[:MAX_PASSWORD]
    address = request.remote or "unknown"
    throttle = request.app[THROTTLE]
    username = staff.username or ""
    # The current password is a password check like a sign-in: guessing it is throttled the same way.
    wait = await throttle.wait(username, address)
    if wait is not None:
        minutes = max(1, math.ceil(wait / 60))
        error = f"密码输错次数过多，请 {minutes} 分钟后再试。"
        response = await render(request, "password.html", {"error": error}, status=429)
        response.headers["Retry-After"] = str(math.ceil(wait))
        return response
    if new != str(form.get("repeat", ""))[:MAX_PASSWORD]:
        return await render(request, "password.html", {"error": "两次输入的新密码不一致。"}, status=400)
    try:
        token = await request.app[CONTAINER].staff.change_password(staff, current, new)
    except ValueError as exc:
        if "原密码" in str(exc):
            await throttle.failure(username, address)
        return await render(request, "password.html", {"error": str(exc)}, status=400)
    await throttle.success(username, address)
    session = await get_session(request)
    renew_session(session)
    session[SESSION_TOKEN] = token  # every other session of the account has ended
    await request.app[CONTAINER].audit.record(staff, "change_password", "网页", address)
    raise web.HTTPSeeOther(_home(staff.role))
