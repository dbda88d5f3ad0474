"""Residents: pick a community, browse its online police room, ask, escalate, rate, hear back live."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from bot.channels.web.body import form_fields, json_object
from bot.channels.web.identity import RESIDENT_COOKIE, resident_of
from bot.channels.web.keys import ASK_LIMIT, CONTAINER, HUB, METRICS, SECRETS
from bot.channels.web.live import LiveEvent
from bot.channels.web.pages import flash, render, wants_json
from bot.channels.web.security import check_ref, csrf_token, sign_ref
from bot.channels.web.throttle import ASKING_TOO_FAST
from bot.channels.web.views import chat_reply, community_card, entry_card, ticket_item
from bot.core.models import (
    SECTIONS,
    Channel,
    Community,
    EscalationView,
    Helpfulness,
    ResidentRef,
    Satisfaction,
)
from bot.core.replies import Reply
from bot.services.callbacks import NotUrgentError
from bot.wiring import Container

# A browser (its resident cookie) holds one conversation: the room page is one chat window.
WEB_CONVERSATION = "room"
MAX_QUESTION_CHARS = 4000  # the service keeps 2,000 and matches fewer; this only bounds the request
KEEPALIVE_SECONDS = 15.0
RATABLE = frozenset({"answered", "closed"})

routes = web.RouteTableDef()


@routes.get("/", name="home")
async def home(request: web.Request) -> web.Response:
    kb = request.app[CONTAINER].kb
    districts: dict[str, list[dict[str, Any]]] = {}
    for community in sorted(kb.communities.values(), key=lambda c: (c.district, c.name)):
        districts.setdefault(community.district, []).append(community_card(community))
    return await render(request, "home.html", {"districts": districts})


@routes.get("/c/{slug}", name="community")
async def community_page(request: web.Request) -> web.Response:
    place = request.app[CONTAINER].kb.community(request.match_info["slug"])
    return await _room(request, place)


@routes.post("/c/{slug}/ask")
async def ask(request: web.Request) -> web.StreamResponse:
    app = request.app
    container = app[CONTAINER]
    place = container.kb.community(request.match_info["slug"])
    data = await _fields(request)
    question = str(data.get("question", ""))[:MAX_QUESTION_CHARS]
    resident = resident_of(request)
    wait = await app[ASK_LIMIT].allow(resident.channel_user_id, request.remote or "unknown", place.slug)
    if wait is not None:
        return await _too_many(request, place, math.ceil(wait))
    started = time.perf_counter()
    reply = await container.ask.ask(
        place.slug, resident, question, Channel.WEB, conversation=WEB_CONVERSATION
    )
    app[METRICS].ask_seconds.labels(Channel.WEB.value).observe(time.perf_counter() - started)
    app[METRICS].consultations.labels(Channel.WEB.value, reply.outcome.value).inc()
    return await _reply(request, place, reply, question)


@routes.get("/c/{slug}/entry/{entry_id}")
async def open_entry(request: web.Request) -> web.StreamResponse:
    """Opening an entry from a section or from "did you mean" counts as a consultation (a click)."""
    container = request.app[CONTAINER]
    place = container.kb.community(request.match_info["slug"])
    try:
        reply = await container.ask.view_entry(
            place.slug,
            resident_of(request),
            request.match_info["entry_id"],
            Channel.WEB,
            conversation=WEB_CONVERSATION,
        )
    except KeyError:
        raise web.HTTPNotFound() from None
    return await _reply(request, place, reply, None)


@routes.post("/c/{slug}/escalate")
async def escalate(request: web.Request) -> web.StreamResponse:
    """都不是，转民警: the resident's own consultation goes to the community's officers."""
    container = request.app[CONTAINER]
    place = container.kb.community(request.match_info["slug"])
    consultation_id = _own_consultation(request, await _fields(request))
    reply = await container.ask.escalate_consultation(consultation_id)
    return await _reply(request, place, reply, None)


@routes.post("/c/{slug}/callback")
async def leave_callback(request: web.Request) -> web.StreamResponse:
    """An urgent ticket's resident leaves a number the officers can call back (optional)."""
    container = request.app[CONTAINER]
    place = container.kb.community(request.match_info["slug"])
    data = await _fields(request)
    consultation_id = _own_consultation(request, data)
    try:
        masked = await container.ask.leave_callback(consultation_id, str(data.get("phone", ""))[:64])
    except NotUrgentError:
        raise web.HTTPForbidden() from None
    except ValueError as exc:
        if wants_json(request):
            return web.json_response({"error": "phone", "message": str(exc)}, status=400, dumps=_dumps)
        await flash(request, str(exc), "error")
        raise web.HTTPSeeOther(request.app.router["community"].url_for(slug=place.slug)) from None
    return await _thanks(request, place, f"已收到您的电话 {masked}，民警会尽快打给您。")


@routes.post("/c/{slug}/helpful")
async def rate_answer(request: web.Request) -> web.StreamResponse:
    container = request.app[CONTAINER]
    place = container.kb.community(request.match_info["slug"])
    data = await _fields(request)
    consultation_id = _own_consultation(request, data)
    value = _enum(Helpfulness, data.get("value"))
    await container.feedback.rate_answer(consultation_id, value)
    return await _thanks(
        request,
        place,
        "谢谢您的评价！" + ("" if value is Helpfulness.USEFUL else "可以点“转民警”请社区民警解答。"),
    )


@routes.post("/c/{slug}/satisfaction")
async def rate_officer_answer(request: web.Request) -> web.StreamResponse:
    container = request.app[CONTAINER]
    place = container.kb.community(request.match_info["slug"])
    data = await _fields(request)
    value = _enum(Satisfaction, data.get("value"))
    escalation_id = _int(data.get("escalation_id"))
    view = await _own_ticket(container, resident_of(request), escalation_id)
    if view is None or view.escalation.answer is None or view.escalation.status.value not in RATABLE:
        raise web.HTTPForbidden()
    await container.feedback.rate_officer_answer(escalation_id, value)
    return await _thanks(request, place, "谢谢您对民警答复的评价！")


@routes.get("/c/{slug}/events")
async def events(request: web.Request) -> web.StreamResponse:
    """Server-sent events: the officer's answer appears in the open page. On connecting, answers
    already given are sent first, so nothing delivered between page load and connect is missed."""
    container = request.app[CONTAINER]
    container.kb.community(request.match_info["slug"])  # an unknown community is a 404
    if RESIDENT_COOKIE not in request.cookies:
        return web.Response(status=204)  # no conversation yet; 204 tells EventSource not to retry
    resident = resident_of(request)
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )
    with request.app[HUB].subscribe(resident) as queue:
        await response.prepare(request)
        await response.write(b"retry: 5000\n\n")
        for item in await resident_tickets(container, resident):
            if item["answer"]:
                await response.write(LiveEvent("answer", item).encode())
        with contextlib.suppress(ConnectionResetError):
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), timeout=KEEPALIVE_SECONDS)
                except TimeoutError:
                    await response.write(b": keepalive\n\n")
                    continue
                if event is None:
                    break
                await response.write(event.encode())
    return response


@routes.get("/session/csrf")
async def fresh_csrf(request: web.Request) -> web.Response:
    """For the chat script after the session timed out: same-origin only (no CORS headers)."""
    return web.json_response({"csrf": await csrf_token(request)})


# ---- helpers ------------------------------------------------------------------------------------


async def _room(
    request: web.Request,
    place: Community,
    reply: dict[str, Any] | None = None,
    question: str | None = None,
) -> web.Response:
    container = request.app[CONTAINER]
    sections: dict[str, dict[str, list[dict[str, str]]]] = {s: {} for s in SECTIONS}
    for entry in container.kb.entries_for(place.slug):
        sections.setdefault(entry.section, {}).setdefault(entry.category, []).append(
            {"id": entry.id, "title": entry.title}
        )
    tickets = []
    if RESIDENT_COOKIE in request.cookies:
        tickets = await resident_tickets(container, resident_of(request))
    else:
        resident_of(request)  # the first visit: the cookie is set with this page
    context = {
        "community": community_card(place),
        "sections": sections,
        "tickets": tickets,
        "reply": reply,
        "question": question,
    }
    return await render(request, "community.html", context)


async def _reply(
    request: web.Request, place: Community, reply: Reply, question: str | None
) -> web.StreamResponse:
    resident = resident_of(request)
    secrets_ = request.app[SECRETS]
    ref = sign_ref(secrets_, resident.channel_user_id, reply.consultation_id)
    payload = chat_reply(reply, request.app[CONTAINER].settings.timezone, ref=ref)
    for part, shown in zip(reply.parts, payload.get("parts", ()), strict=False):
        shown["ref"] = sign_ref(secrets_, resident.channel_user_id, part.consultation_id)
    if wants_json(request):
        return web.json_response(payload, dumps=_dumps)
    if reply.entry is not None and question is None:
        return await render(
            request,
            "entry.html",
            {"community": community_card(place), "reply": payload, "card": entry_card(reply.entry)},
        )
    return await _room(request, place, payload, question)


async def _too_many(request: web.Request, place: Community, wait: int) -> web.StreamResponse:
    """Over the asking limit: nothing recorded, a polite wait (and 110 for an emergency)."""
    if wants_json(request):
        response = web.json_response(
            {"error": "too_many_requests", "message": ASKING_TOO_FAST}, status=429, dumps=_dumps
        )
    else:
        await flash(request, ASKING_TOO_FAST, "error")
        response = await _room(request, place)
        response.set_status(429)
    response.headers["Retry-After"] = str(wait)
    return response


async def _thanks(request: web.Request, place: Community, text: str) -> web.StreamResponse:
    if wants_json(request):
        return web.json_response({"ok": True, "message": text}, dumps=_dumps)
    await flash(request, text)
    raise web.HTTPSeeOther(request.app.router["community"].url_for(slug=place.slug))


async def resident_tickets(container: Container, resident: ResidentRef) -> list[dict[str, Any]]:
    """The resident's own escalations, newest first, whichever community they are in now (an officer
    may have handed one over to another community)."""
    names = {slug: c.name for slug, c in container.kb.communities.items()}
    async with container.uow_factory() as uow:
        views = await uow.escalations.for_resident(resident, limit=20)
    return [ticket_item(v, container.settings.timezone, names) for v in views]


async def _own_ticket(
    container: Container, resident: ResidentRef, escalation_id: int
) -> EscalationView | None:
    async with container.uow_factory() as uow:
        view = await uow.escalations.view(escalation_id)
    return view if view is not None and view.resident == resident else None


def _own_consultation(request: web.Request, data: Mapping[str, Any]) -> int:
    """Consultations are numbered openly: the signed reference proves this browser was handed it."""
    consultation_id = _int(data.get("consultation_id"))
    resident = resident_of(request)
    if not check_ref(
        request.app[SECRETS], str(data.get("ref", "")), resident.channel_user_id, consultation_id
    ):
        raise web.HTTPForbidden()
    return consultation_id


async def _fields(request: web.Request) -> Mapping[str, Any]:
    if request.content_type == "application/json":
        return await json_object(request)
    return await form_fields(request)


def _int(value: Any) -> int:
    try:
        number = int(str(value))
    except ValueError:
        raise web.HTTPBadRequest() from None
    if not 0 < number < 2**63:
        raise web.HTTPBadRequest()
    return number


def _enum(kind: Any, value: Any) -> Any:
    try:
        return kind(str(value))
    except ValueError:
        raise web.HTTPBadRequest() from None


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False)
