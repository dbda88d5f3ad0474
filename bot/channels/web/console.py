"""Officers: the queue of their communities' escalations; claim (首问负责), answer, hand over, close,
and save an answer as a knowledge draft. Every action goes through OfficerService, which checks the
officer may handle the escalation's community (PermissionDenied → 403)."""

from __future__ import annotations

import asyncio
import contextlib
import re
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from bot.channels.web.body import form_fields
from bot.channels.web.identity import staff_of, staff_only
from bot.channels.web.keys import CONTAINER, HUB
from bot.channels.web.live import LiveEvent
from bot.channels.web.pages import flash, render
from bot.channels.web.views import STATUS_LABELS, local_time
from bot.core.knowledge import UnknownCommunityError
from bot.core.models import (
    CLOSE_REASON_ZH,
    Channel,
    CloseReason,
    EscalationSearch,
    EscalationStatus,
    EscalationView,
    ResidentRef,
    Staff,
    ticket_number,
)
from bot.core.ports import ConflictError
from bot.core.privacy import mask_phone
from bot.core.triage.kinds import label_of
from bot.services.officers import MAX_ANSWER_CHARS, MAX_CLOSE_NOTE_CHARS, PermissionDenied
from bot.wiring import Container

WAITING = (EscalationStatus.OPEN, EscalationStatus.CLAIMED)

routes = web.RouteTableDef()


PAGE_SIZE = 20
STATUS_FILTERS = {
    "waiting": ("待办（待认领和办理中）", WAITING),
    "open": ("待认领", (EscalationStatus.OPEN,)),
    "claimed": ("办理中", (EscalationStatus.CLAIMED,)),
    "answered": ("已答复", (EscalationStatus.ANSWERED,)),
    "closed": ("已办结", (EscalationStatus.CLOSED,)),
    "all": ("全部", tuple(EscalationStatus)),
}
TICKET_RE = re.compile(r"(?:WJ)?0*(\d{1,9})", re.IGNORECASE)


@routes.get("/console", name="console")
@staff_only
async def queue(request: web.Request) -> web.Response:
    container = request.app[CONTAINER]
    officer = staff_of(request)
    query = request.query
    status = query.get("status", "waiting")
    if status not in STATUS_FILTERS:
        status = "waiting"
    text = " ".join(query.get("q", "").split())[:100]
    ticket = TICKET_RE.fullmatch(text)
    communities = _communities_of(container, officer)
    community = query.get("community") or None
    if community not in {c["slug"] for c in communities}:
        community = None
    try:
        page = max(1, min(int(query.get("page", "1")), 10_000))
    except ValueError:
        page = 1
    filters = {
        "q": text,
        "status": status,
        "community": community or "",
        "urgent": query.get("urgent") == "1",
        "overdue": query.get("overdue") == "1",
        "mine": query.get("mine") == "1",
    }
    search = EscalationSearch(
        statuses=STATUS_FILTERS[status][1],
        text=text or None,
        ticket=int(ticket.group(1)) if ticket else None,
        community=community,
        urgent_only=filters["urgent"],
        overdue_at=container.clock.now() if filters["overdue"] else None,
        officer_id=officer.id if filters["mine"] else None,
        offset=(page - 1) * PAGE_SIZE,
        limit=PAGE_SIZE,
    )
    found, total = await container.officers.search(officer, search)
    pages = max(1, -(-total // PAGE_SIZE))
    # The everyday view (nothing searched, first page) also lists what waits to be closed.
    everyday = (
        not text
        and status == "waiting"
        and not community
        and page == 1
        and not any(filters[k] for k in ("urgent", "overdue", "mine"))
    )
    answered = (
        await container.officers.queue(officer, (EscalationStatus.ANSWERED,), limit=30) if everyday else []
    )
    context = {
        "waiting": [_item(container, v, officer) for v in found],
        "answered": [_item(container, v, officer) for v in answered],
        "everyday": everyday,
        "total": total,
        "page": page,
        "pages": pages,
        "filters": filters,
        "statuses": [(k, label) for k, (label, _) in STATUS_FILTERS.items()],
        "communities": communities,
        "my_communities": "全部社区"
        if officer.role.value == "admin"
        else "、".join(_name(container, c) for c in officer.communities),
        "previous": _page_link(filters, page - 1) if page > 1 else None,
        "next": _page_link(filters, page + 1) if page < pages else None,
    }
    return await render(request, "console.html", context)


LIVE_POLL_SECONDS = 5.0  # how often an open console looks for new tickets (one indexed query)
LIVE_KEEPALIVE_SECONDS = 25.0


@routes.get("/console/events")
@staff_only
async def console_events(request: web.Request) -> web.StreamResponse:
    """Server-sent events for an open console: each new ticket of the officer's communities as it
    arrives (urgent ones flagged), so the page can show it, play a sound and raise a notification.
    New tickets are read from the database, so every replica sees every ticket whoever took it in."""
    container = request.app[CONTAINER]
    officer = staff_of(request)
    try:
        last = int(request.headers.get("Last-Event-ID") or request.query.get("after") or -1)
    except ValueError:
        last = -1
    if last < 0:  # from now on: the page already lists what was there
        newest, _ = await container.officers.search(
            officer, EscalationSearch(statuses=tuple(EscalationStatus), limit=1, newest_first=True)
        )
        last = newest[0].escalation.id if newest else 0
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )
    await response.prepare(request)
    await response.write(b"retry: 5000\n\n")
    quiet = 0.0
    # The hub ends this stream at shutdown (None in the queue), like the residents' streams.
    closing = request.app[HUB].subscribe(ResidentRef(Channel.WEB, f"console-staff-{officer.id}"))
    with closing as ended, contextlib.suppress(ConnectionResetError):
        while True:
            found, _ = await container.officers.search(
                officer, EscalationSearch(statuses=WAITING, after_id=last, limit=50, newest_first=False)
            )
            for view in sorted(found, key=lambda v: v.escalation.id):
                item = _item(container, view, officer)
                data = {
                    k: item[k] for k in ("id", "ticket", "community", "question", "urgent", "urgent_label")
                }
                event = LiveEvent("ticket", data)
                await response.write(f"id: {view.escalation.id}\n".encode() + event.encode())
                last = max(last, view.escalation.id)
                quiet = 0.0
            with contextlib.suppress(TimeoutError):
                if await asyncio.wait_for(ended.get(), LIVE_POLL_SECONDS) is None:
                    break
            quiet += LIVE_POLL_SECONDS
            if quiet >= LIVE_KEEPALIVE_SECONDS:
                await response.write(b": keepalive\n\n")
                quiet = 0.0
    return response


def _communities_of(container: Container, officer: Staff) -> list[dict[str, str]]:
    mine = container.kb.communities.values()
    if officer.role.value != "admin":
        mine = [c for c in mine if c.slug in officer.communities]
    ordered = sorted(mine, key=lambda c: (c.district, c.name))
    return [{"slug": c.slug, "name": f"{c.district} {c.name}"} for c in ordered]


def _page_link(filters: dict[str, Any], page: int) -> str:
    params = {k: ("1" if v is True else v) for k, v in filters.items() if v not in ("", False)}
    return "/console?" + urlencode(params | {"page": str(page)})


@routes.get("/console/e/{escalation_id:\\d+}", name="escalation")
@staff_only
async def escalation(request: web.Request) -> web.Response:
    container = request.app[CONTAINER]
    officer = staff_of(request)
    view = await container.officers.view(officer, _id(request))
    communities = sorted(container.kb.communities.values(), key=lambda c: (c.district, c.name))
    context = {
        # The one place the resident's call-back number is shown in full.
        "e": _item(container, view, officer) | {"callback_phone": view.escalation.callback_phone},
        "communities": [{"slug": c.slug, "name": f"{c.district} {c.name}"} for c in communities],
        "max_answer": MAX_ANSWER_CHARS,
        "max_close_note": MAX_CLOSE_NOTE_CHARS,
        # Without an answer a ticket closes only for one of these (an answered one closes as answered).
        "close_reasons": [
            (r.value, CLOSE_REASON_ZH[r]) for r in CloseReason if r is not CloseReason.ANSWERED
        ],
    }
    return await render(request, "escalation.html", context)


@routes.post("/console/e/{escalation_id:\\d+}/{action:claim|answer|handover|close|draft}")
@staff_only
async def act(request: web.Request) -> web.Response:
    container = request.app[CONTAINER]
    officer = staff_of(request)
    escalation_id = _id(request)
    action = request.match_info["action"]
    form = await form_fields(request)
    ticket = ticket_number(escalation_id)
    target = request.app.router["escalation"].url_for(escalation_id=str(escalation_id))
    try:
        if action == "claim":
            await container.officers.claim(officer, escalation_id)
            await flash(request, f"已认领工单 {ticket}，请按时答复。")
        elif action == "answer":
            await container.officers.answer(officer, escalation_id, str(form.get("answer", "")))
            await flash(request, f"已答复工单 {ticket}，答复正在送达群众。")
        elif action == "handover":
            community = str(form.get("community", ""))
            await container.officers.hand_over(officer, escalation_id, community)
            await flash(request, f"工单 {ticket} 已转交 {_name(container, community)}。")
            if not officer.can_handle(community):
                target = request.app.router["console"].url_for()
        elif action == "close":
            reason = _close_reason(str(form.get("reason", "")))
            closed = await container.officers.close(officer, escalation_id, reason, str(form.get("note", "")))
            label = CLOSE_REASON_ZH.get(closed.close_reason) if closed.close_reason else None
            await flash(request, f"工单 {ticket} 已办结" + (f"（{label}）。" if label else "。"))
        else:
            draft = await container.officers.save_draft(
                officer, escalation_id, city_wide=form.get("city_wide") == "1"
            )
            await flash(request, f"答复已存为知识草稿 #{draft.id}，等待管理员审核。")
    except ConflictError:
        await flash(request, await _conflict_message(container, officer, escalation_id), "error")
    except UnknownCommunityError:
        await flash(request, "请选择要转交的社区。", "error")
    except ValueError as exc:  # an empty answer, nothing to save yet: the service says what is wrong
        await flash(request, str(exc), "error")
    raise web.HTTPSeeOther(target)


async def _conflict_message(container: Container, officer: Staff, escalation_id: int) -> str:
    """Who owns it now, so the officer knows whom to talk to (首问负责)."""
    ticket = ticket_number(escalation_id)
    try:
        e = (await container.officers.view(officer, escalation_id)).escalation
    except PermissionDenied:
        return f"工单 {ticket} 已转交其他社区。"
    if e.status is EscalationStatus.CLAIMED and e.officer_id != officer.id:
        return f"工单 {ticket} 已由{e.officer}认领（首问负责），如需协助请与{e.officer}联系。"
    if e.status is EscalationStatus.ANSWERED:
        return f"工单 {ticket} 已由{e.officer or '其他民警'}答复，不能再认领或转交。"
    if e.status is EscalationStatus.CLOSED:
        return f"工单 {ticket} 已办结。"
    return f"工单 {ticket} 刚被其他人处理过，请刷新后再试。"


def _item(container: Container, view: EscalationView, officer: Staff) -> dict[str, Any]:
    e = view.escalation
    tz = container.settings.timezone
    now = container.clock.now()
    entries = container.kb.entries
    candidates = [
        f"{entries[c].title}（{score:.0f}%）" if score is not None else entries[c].title
        for c, score in view.scored_candidates
        if c in entries
    ][:3]
    # The best guess's scope, so an officer sees at once whether the question is one it leaves out.
    top = next((entries[c] for c, _ in view.scored_candidates if c in entries), None)
    scope = {"title": top.title, "items": list(top.not_covered[:6])} if top and top.not_covered else None
    return {
        "id": e.id,
        "ticket": e.ticket,
        "community": _name(container, e.community),
        "question": view.question,
        "earlier": list(view.earlier),
        "urgent": view.urgent,
        "urgent_label": label_of(view.urgent_kind) if view.urgent else None,
        "callback_masked": mask_phone(e.callback_phone),
        "status": e.status.value,
        "status_label": STATUS_LABELS[e.status],
        "officer": e.officer,
        "mine": e.officer_id == officer.id,
        "created": local_time(e.created_at, tz),
        "due": local_time(e.due_at, tz),
        "overdue": e.status in WAITING and e.due_at < now,
        "answer": e.answer,
        "answered": local_time(e.answered_at, tz),
        "channel": view.channel.value,
        "candidates": candidates,
        "scope": scope,
        "close_label": CLOSE_REASON_ZH.get(e.close_reason) if e.close_reason else None,
        "close_note": e.close_note,
    }


def _close_reason(value: str) -> CloseReason | None:
    if not value:
        return None
    try:
        return CloseReason(value)
    except ValueError:
        raise web.HTTPBadRequest(reason="bad_request") from None


def _name(container: Container, slug: str) -> str:
    community = container.kb.communities.get(slug)
    return community.name if community else slug


def _id(request: web.Request) -> int:
    return int(request.match_info["escalation_id"])
