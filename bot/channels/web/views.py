"""What pages and the chat script show: replies, answer cards and tickets as plain dicts.

Templates and JSON use the same dicts, so a reply looks the same with or without JavaScript. Values
are plain text; escaping is the template's (autoescape) or the script's (textContent) job.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.core.models import CloseReason, Community, Entry, EscalationStatus, EscalationView, Outcome
from bot.core.replies import (
    Notice,
    Reply,
    alerted_text,
    emergency_text,
    field_lines,
    held_text,
    officer_names,
)
from bot.core.reply_json import reply_json

NOTICES = {
    Notice.EMPTY: "没有看懂您的消息。请用一两句话描述您想咨询的事情，例如：“身份证丢了怎么补办？”",
    Notice.TRUNCATED: "您的消息很长，我先按开头部分为您解答；细节可以转给社区民警。",
}
STATUS_LABELS = {
    EscalationStatus.OPEN: "等待民警认领",
    EscalationStatus.CLAIMED: "民警办理中",
    EscalationStatus.ANSWERED: "民警已答复",
    EscalationStatus.CLOSED: "已办结",
}


def local_time(value: datetime | None, timezone: str) -> str:
    return value.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M") if value else ""


def entry_card(entry: Entry) -> dict[str, Any]:
    """Every field the entry has, in the fixed order of bot.core.replies.render_entry (一次性告知)."""
    a = entry.answer
    fields: list[dict[str, Any]] = []

    def add(label: str, value: str | tuple[str, ...]) -> None:
        if value:
            fields.append(
                {
                    "label": label,
                    "text": value if isinstance(value, str) else None,
                    "lines": list(value) if isinstance(value, tuple) else None,
                }
            )

    add("谁可以办", a.who)
    add("需要带的材料（请一次备齐）", a.materials)
    add("办理步骤", a.steps)
    add("办理地点", a.where)
    add("收费", a.fees)
    add("办理时限", a.time_limit)
    add("法律依据", a.legal_basis)
    add("温馨提示", a.tips)
    return {
        "id": entry.id,
        "title": entry.title,
        "section": entry.section,
        "category": entry.category,
        "summary": a.summary,
        "fields": fields,
        "checked": entry.checked.isoformat() if entry.checked else None,
        "source": entry.source,
    }


def chat_reply(reply: Reply, timezone: str, *, ref: str | None = None) -> dict[str, Any]:
    """The API's JSON (bot.core.reply_json, unchanged) plus what a page needs to draw it."""
    data = reply_json(reply, timezone)
    data["emergency"] = emergency_text(reply)
    # The numbers as buttons (tel: links); the old generic guidance names 110 first.
    data["call"] = list(reply.numbers) or (["110"] if reply.urgent else [])
    data["notice_text"] = NOTICES.get(reply.notice) if reply.notice else None
    data["entry"] = entry_card(reply.entry) if reply.outcome is Outcome.ANSWER and reply.entry else None
    data["choices"] = [{"entry_id": c.entry_id, "title": c.title} for c in reply.choices]
    data["escalation"] = _escalation_text(reply, timezone) if reply.outcome is Outcome.ESCALATE else None
    asked = field_lines(reply)
    data["field_answer"] = {"heading": asked[0], "text": asked[1]} if asked else None
    data["ref"] = ref
    if reply.parts:
        # Each question of the message drawn like a reply of its own (the first is the top level too).
        data["parts"] = [chat_reply(replace(part, parts=()), timezone, ref=ref) for part in reply.parts]
    return data


def _escalation_text(reply: Reply, timezone: str) -> dict[str, Any]:
    if reply.notice is Notice.HELD:
        return {"text": held_text(reply.community), "ticket": None, "due": "", "callback": False}
    if reply.urgent_kind is not None:
        # Urgent: the officers have been alerted; no promise of days. A call-back number may be left.
        return {"text": alerted_text(reply), "ticket": reply.ticket, "due": "", "callback": True}
    c = reply.community
    officers = officer_names(c)
    if reply.referral is not None:
        text = (
            f"您问的“{reply.referral.title}”一般不属于公安业务，通常由{reply.referral.handled_by}办理。"
            f"按首问负责制，我也已把问题转给{c.name}的民警（{officers}），他们会帮您确认去向。"
        )
    else:
        text = f"这个问题我暂时答不好，已转给{c.name}的民警（{officers}）。"
    return {
        "text": text,
        "ticket": reply.ticket,
        "due": local_time(reply.due_at, timezone),
        "callback": False,
    }


# What a resident reads on a ticket closed without an answer of its own.
CLOSED_WITHOUT_ANSWER = {
    CloseReason.DUPLICATE: "已办结：与您的另一个提问相同，请看那一条的答复",
    CloseReason.SPAM: "已办结：没有需要办理的内容",
}


def ticket_item(view: EscalationView, timezone: str, names: dict[str, str]) -> dict[str, Any]:
    """A resident's ticket on the page (and in the stream's catch-up events)."""
    e = view.escalation
    label = STATUS_LABELS[e.status]
    if e.status is EscalationStatus.CLOSED and e.close_reason in CLOSED_WITHOUT_ANSWER:
        label = CLOSED_WITHOUT_ANSWER[e.close_reason]
    return {
        "escalation_id": e.id,
        "ticket": e.ticket,
        "community": e.community,
        "community_name": names.get(e.community, e.community),
        "question": view.question,
        "status": e.status.value,
        "status_label": label,
        "close_reason": e.close_reason.value if e.close_reason else None,
        "due": local_time(e.due_at, timezone),
        "answer": e.answer,
        "officer": e.officer,
        "answered_at": local_time(e.answered_at, timezone),
    }


def community_card(community: Community) -> dict[str, Any]:
    return {
        "slug": community.slug,
        "name": community.name,
        "district": community.district,
        "sample": community.sample,
        "station": community.station_name,
        "station_phone": community.station_phone,
        "address": community.office_address,
        "hours": community.office_hours,
        "phone": community.office_phone,
        "officers": [{"name": o.name, "role": o.role, "contact": o.contact} for o in community.officers],
    }
