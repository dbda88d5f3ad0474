"""The JSON API, so a community website can embed the chat. No cookies: the caller names the
resident with a pseudonym (or gets one back), so there is no CSRF to defend. Browsers may call it from
the origins in CORS_ORIGINS (none by default; CORS without credentials); a site's server may call it with
its API key (X-Api-Key) under limits of its own."""

from __future__ import annotations

import contextlib
import functools
import hmac
import json
import math
import re
import secrets
import time
from datetime import date, timedelta
from typing import Any

from aiohttp import web

from bot.channels.web.body import json_object
from bot.channels.web.filters import StatsFilter, today_in
from bot.channels.web.identity import current_staff
from bot.channels.web.keys import ASK_LIMIT, CONTAINER, METRICS, REPORTS, SECRETS
from bot.channels.web.openapi import MAX_QUESTION_CHARS, STATS_DAY_PATTERN, openapi_document
from bot.channels.web.security import check_ref, sign_ref
from bot.channels.web.throttle import ASKING_TOO_FAST
from bot.channels.web.views import chat_reply, ticket_item
from bot.core.knowledge import UnknownCommunityError
from bot.core.models import Channel, Outcome, ResidentRef, Role
from bot.settings import parse_api_keys, parse_origins

RESIDENT_RE = re.compile(r"[A-Za-z0-9_.:-]{8,64}")
CONVERSATION_RE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
IDEMPOTENCY_KEY_RE = re.compile(r"[\x21-\x7e]{1,128}")
STATS_DAY_RE = re.compile(STATS_DAY_PATTERN)
CORS_HEADERS = {
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, Idempotency-Key, X-Api-Key, X-Resident-Token",
    "Access-Control-Max-Age": "600",
}

routes = web.RouteTableDef()


@routes.post("/api/v1/ask")
async def ask(request: web.Request) -> web.Response:
    app = request.app
    container = app[CONTAINER]
    body = await json_object(request)
    community, question = body.get("community"), body.get("question")
    if not isinstance(community, str) or not isinstance(question, str):
        return _error(400, "bad_request", "需要 community（社区代码）和 question（问题）两个字符串字段。")
    conversation = body.get("conversation")
    if conversation is not None and not (
        isinstance(conversation, str) and CONVERSATION_RE.fullmatch(conversation)
    ):
        return _error(400, "bad_request", "conversation 须为 1 到 64 位字母、数字或 _.:- 。")
    resident = _resident(body.get("resident"))
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return await _ask(request, community, question, resident, conversation)
    if not IDEMPOTENCY_KEY_RE.fullmatch(key):
        return _error(400, "bad_request", "Idempotency-Key 须为 1 到 128 位可见 ASCII 字符。")
    claim = await container.idempotency.begin("POST /api/v1/ask", key, await request.read())
    if claim.kind == "replay":  # a retry: the first answer again, nothing recorded twice
        replayed = web.Response(text=claim.response, content_type="application/json")
        replayed.headers["Idempotent-Replayed"] = "true"
        return replayed
    if claim.kind == "mismatch":
        return _error(422, "idempotency_key_reused", "这个 Idempotency-Key 已用于另一个不同的请求。")
    if claim.kind == "in_progress":
        busy = _error(409, "in_progress", "同一个请求还在处理中，请稍后再试。")
        busy.headers["Retry-After"] = "1"
        return busy
    try:
        response = await _ask(request, community, question, resident, conversation)
    except BaseException:
        with contextlib.suppress(Exception):  # else the claim is taken as abandoned after a minute
            await container.idempotency.abandon(claim.key)
        raise
    if response.status == 200 and isinstance(response.text, str):
        await container.idempotency.finish(claim.key, response.text)
    else:  # refused (429, 404): a retry is judged afresh
        await container.idempotency.abandon(claim.key)
    return response


async def _ask(
    request: web.Request, community: str, question: str, resident: ResidentRef, conversation: str | None
) -> web.Response:
    app = request.app
    container = app[CONTAINER]
    site = _api_key_name(request)
    if isinstance(site, web.Response):
        return site
    # A community the knowledge base knows has a counter of its own; made-up slugs share none.
    known = community if community in container.kb.communities else None
    wait = await app[ASK_LIMIT].allow(resident.channel_user_id, request.remote or "unknown", known, site)
    if wait is not None:
        response = _error(429, "too_many_requests", ASKING_TOO_FAST)
        response.headers["Retry-After"] = str(math.ceil(wait))
        return response
    started = time.perf_counter()
    try:
        # A longer question is read from its beginning (notice "truncated"), like on the resident page.
        reply = await container.ask.ask(
            community, resident, question[:MAX_QUESTION_CHARS], Channel.API, conversation=conversation
        )
    except UnknownCommunityError as exc:
        return _error(404, "unknown_community", f"没有这个社区：{exc.slug}", known=exc.known)
    app[METRICS].ask_seconds.labels(Channel.API.value).observe(time.perf_counter() - started)
    app[METRICS].consultations.labels(Channel.API.value, reply.outcome.value).inc()
    ref = sign_ref(app[SECRETS], "api", resident.channel_user_id, reply.consultation_id)
    data = chat_reply(reply, container.settings.timezone, ref=ref)
    for part, shown in zip(reply.parts, data.get("parts", ()), strict=False):
        shown["ref"] = sign_ref(app[SECRETS], "api", resident.channel_user_id, part.consultation_id)
    token = resident_token(app[SECRETS], resident.channel_user_id)
    return _json(data | {"resident": resident.channel_user_id, "resident_token": token})


def resident_token(secrets_: Any, resident: str) -> str:
    """The resident's key to their own tickets: a pseudonym alone may be known or guessed."""
    return sign_ref(secrets_, "resident-token", resident)


@routes.post("/api/v1/escalate")
async def escalate(request: web.Request) -> web.Response:
    """都不是，转民警 for a consultation this caller was handed (ref from /api/v1/ask)."""
    container = request.app[CONTAINER]
    body = await json_object(request)
    resident = _resident(body.get("resident"), required=True)
    consultation_id = body.get("consultation_id")
    if not isinstance(consultation_id, int) or not check_ref(
        request.app[SECRETS], str(body.get("ref", "")), "api", resident.channel_user_id, consultation_id
    ):
        return _error(403, "forbidden", "consultation_id 与 ref 不匹配。")
    reply = await container.ask.escalate_consultation(consultation_id)
    return _json(chat_reply(reply, container.settings.timezone) | {"resident": resident.channel_user_id})


@routes.get("/api/v1/escalations")
async def escalations(request: web.Request) -> web.Response:
    """The resident's tickets and the officers' answers (answers reach API callers this way)."""
    container = request.app[CONTAINER]
    resident = _resident(request.query.get("resident"), required=True)
    given = request.query.get("token") or request.headers.get("X-Resident-Token", "")
    if not check_ref(request.app[SECRETS], given, "resident-token", resident.channel_user_id):
        # The same answer as for a resident who never asked anything: nothing to learn by guessing.
        return _error(404, "not_found", "没有找到这位群众的提问。")
    names = {slug: c.name for slug, c in container.kb.communities.items()}
    async with container.uow_factory() as uow:
        views = await uow.escalations.for_resident(resident, limit=20)
    items = [ticket_item(v, container.settings.timezone, names) for v in views]
    return _json({"resident": resident.channel_user_id, "escalations": items})


@routes.get("/api/v1/stats")
async def stats(request: web.Request) -> web.Response:
    """The figures of a period for admins (their session): the same numbers as the dashboard, the
    annual page, the exports and Telegram /stats, from the same report. Dates are local days
    (TIMEZONE), both inclusive; the three outcomes add up to `questions`."""
    staff = await current_staff(request)
    if staff is None:
        return _error(401, "login", "请先以管理员身份登录。")
    if staff.role is not Role.ADMIN:
        return _error(403, "forbidden", "只有管理员可以查看统计。")
    container = request.app[CONTAINER]
    tz = container.settings.timezone
    try:
        since, until = _stats_day(request.query.get("from")), _stats_day(request.query.get("to"))
    except ValueError:
        return _error(400, "bad_request", "from 和 to 须为 2000 到 2099 年间 YYYY-MM-DD 格式的日期。")
    community = request.query.get("community") or None
    if community is not None and community not in container.kb.communities:
        return _error(
            404, "unknown_community", f"没有这个社区：{community}", known=sorted(container.kb.communities)
        )
    today = today_in(tz)
    until = until or today
    since = since or until - timedelta(days=29)
    if since > until:
        return _error(400, "bad_request", "from 不能晚于 to。")
    query = StatsFilter(since, until, community).query(tz)
    # The dashboard's charts ask right after its page computed the same report: a few seconds' cache.
    report = await request.app[REPORTS].get(query, container.reports.report)
    s, r = report.snapshot, report.response
    outcomes = report.questions_by_outcome
    return _json(
        {
            "from": since.isoformat(),
            "to": until.isoformat(),
            "community": community,
            "timezone": tz,
            "questions": report.asked,
            "answered": outcomes.get(Outcome.ANSWER.value, 0),
            "clarified": outcomes.get(Outcome.CLARIFY.value, 0),
            "escalated": outcomes.get(Outcome.ESCALATE.value, 0),
            "views": s.menu_views,
            "urgent": s.urgent,
            "escalations": dict(s.escalations),
            "not_a_matter": s.not_a_matter,
            "answer_rate": report.answer_rate,
            "response": {
                "answered": r.answered,
                "median_minutes": r.median_minutes,
                "p90_minutes": r.p90_minutes,
                "within_due": r.within_due,
            },
            "satisfaction": dict(s.satisfaction),
            "satisfaction_rate": report.satisfaction_rate,
            "by_day": [{"day": row.key, "questions": row.count} for row in s.by_day],
            "by_community": [{"community": row.key, "consultations": row.count} for row in s.by_community],
            "by_entry": [{"entry": row.key, "consultations": row.count} for row in s.by_entry],
        }
    )


def _stats_day(value: str | None) -> date | None:
    """A day of the period asked for, in the document's form: YYYY-MM-DD of 2000 to 2099. Alone,
    date.fromisoformat would also take 20240101, week dates, and the calendar's first and last days,
    whose local midnights overflow datetime (a server error)."""
    if value is None:
        return None
    if not STATS_DAY_RE.fullmatch(value):
        raise ValueError(value)
    return date.fromisoformat(value)


@routes.get("/api/v1/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    return _json(openapi_document())


@routes.route("OPTIONS", "/api/v1/{tail:.*}")
async def preflight(request: web.Request) -> web.Response:
    # The headers are added by cors_headers when the origin is allowed; without them the browser refuses.
    return web.Response(status=204)


async def cors_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: API responses are readable by pages of the configured origins (no
    credentials involved); other origins get no CORS headers, and their browsers keep the answer."""
    if not request.path.startswith("/api/"):
        return
    response.headers.add("Vary", "Origin")
    origin = request.headers.get("Origin")
    allowed = _origins(request.app[CONTAINER].settings.cors_origins)
    if origin is None or not ("*" in allowed or origin.rstrip("/") in allowed):
        return
    response.headers["Access-Control-Allow-Origin"] = "*" if "*" in allowed else origin
    for name, value in CORS_HEADERS.items():
        response.headers.setdefault(name, value)


@functools.lru_cache(maxsize=4)
def _origins(setting: str) -> frozenset[str]:
    return parse_origins(setting)


@functools.lru_cache(maxsize=4)
def _api_keys(setting: str) -> tuple[tuple[bytes, str], ...]:
    return tuple((secret.encode(), name) for secret, name in parse_api_keys(setting).items())


def _api_key_name(request: web.Request) -> str | web.Response | None:
    """The site calling with X-Api-Key (its name); None without the header; 401 for a wrong key."""
    given = request.headers.get("X-Api-Key")
    if given is None:
        return None
    given_bytes = given.encode("utf-8", "surrogateescape")
    found = None
    for secret, name in _api_keys(request.app[CONTAINER].settings.api_keys):
        if hmac.compare_digest(given_bytes, secret):  # every key compared: the time tells nothing
            found = name
    if found is None:
        return _error(401, "invalid_api_key", "X-Api-Key 无效。不带这个头也可以调用，按匿名限额计算。")
    return found


def _resident(value: Any, *, required: bool = False) -> ResidentRef:
    if isinstance(value, str) and RESIDENT_RE.fullmatch(value):
        return ResidentRef(Channel.API, value)
    if required or value is not None:
        raise web.HTTPBadRequest(reason="resident")
    return ResidentRef(Channel.API, secrets.token_urlsafe(18))


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda d: json.dumps(d, ensure_ascii=False))


def _error(status: int, code: str, message: str, **extra: Any) -> web.Response:
    return _json({"error": code, "message": message, **extra}, status)
