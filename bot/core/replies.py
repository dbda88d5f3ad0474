"""What a use case hands back to a channel, and its plain-text rendering (terminal, CLI, fallbacks).

Channels with richer output (Telegram HTML, web pages) render the same model their own way.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.core.conversation import FIELD_LABELS, field_text
from bot.core.models import Community, Entry, Evidence, Outcome, Referral
from bot.core.triage.kinds import UrgentKind, guidance_text


class Notice(enum.StrEnum):
    EMPTY = "empty"  # nothing but spaces, emoji or symbols
    TRUNCATED = "truncated"  # very long: only the beginning was read
    HELD = "held"  # not passed to the officers: their tickets from this resident were marked 无效信息


# Before the likeliest entry of an escalated question (Reply.suggestion): a pointer, not an answer.
SUGGESTION_LEAD = "等待答复时，您可以先看看可能相关的办事指南："


@dataclass(frozen=True, slots=True)
class Choice:
    entry_id: str
    title: str
    score: float


@dataclass(frozen=True, slots=True)
class Reply:
    outcome: Outcome
    community: Community
    score: float
    urgent: bool
    consultation_id: int | None = None
    entry: Entry | None = None  # for answer: as this community sees it
    matched: str | None = None  # the phrasing that matched
    choices: tuple[Choice, ...] = ()  # for clarify
    ticket: str | None = None  # for escalate
    due_at: datetime | None = None
    referral: Referral | None = None  # for escalate: the matter is usually handled by another body
    notice: Notice | None = None
    urgent_kind: UrgentKind | None = None  # what the emergency is: its guidance and numbers come first
    numbers: tuple[str, ...] = ()  # the numbers to call, the first one first
    also_kind: UrgentKind | None = None  # a second kind it may be too: its line follows the guidance
    confidence: float = 0.0  # the matcher's calibrated P(top entry is right), 0-1
    evidence: Evidence | None = None
    reason: str = ""  # why this band: "clear match", "several close matches", "emergency: p 0.97, ..."
    field: str | None = None  # the part of the answer asked for (bot.core.conversation.FIELDS)
    from_context: bool = False  # the entry came from the conversation, not from this message's words
    parts: tuple[Reply, ...] = ()  # one reply per question when a message held several (this is the first)
    # For escalate: the entry the question is likelier than not about, though not sure enough to be
    # answered with; shown beside the ticket so the resident need not wait for what may already be here.
    suggestion: Choice | None = None
    # Handed to the officers, yet a detail of the matter in the conversation ("学校要的 我在外省上学 回不去"
    # after the no-criminal-record card): the next follow-up is still about that matter.
    keeps_topic: bool = False

    @property
    def entry_id(self) -> str | None:
        return self.entry.id if self.entry else None


EMERGENCY_GUIDANCE = (
    "【紧急情况】如果您或他人正面临危险，请立即拨打 110（不方便通话可发短信到 12110），"
    "火警拨 119，急救拨 120。请先确保自身安全，说清地点和情况。"
)


def emergency_text(reply: Reply, language: str = "zh") -> str | None:
    """What to do in the next minutes and whom to call: the first thing an urgent reply says."""
    if reply.urgent_kind is not None:
        return guidance_text(reply.urgent_kind, language, reply.also_kind)
    return EMERGENCY_GUIDANCE if reply.urgent else None


def officer_names(community: Community) -> str:
    """How a reply names the community's officers: their names, or 社区民警 when none is listed."""
    return "、".join(o.name for o in community.officers) or "社区民警"


def room_phone(community: Community) -> str:
    """The number a resident can call about the community's matters: the police room's, else the
    station's ("" when the knowledge lists neither)."""
    return community.office_phone or community.station_phone


def held_text(community: Community) -> str:
    """Why a question that found no answer did not go to the officers, and where to turn instead."""
    phone = room_phone(community)
    where = f"{community.name}警务室（电话 {phone}）" if phone else f"{community.name}警务室"
    return (
        "您近期的几条留言已被民警标记为无效信息，这个问题暂时不转交民警。"
        f"确有事情要办，请到{where}当面或电话咨询；遇到紧急情况请直接拨打110。"
    )


def alerted_text(reply: Reply) -> str:
    """The line after the guidance: the officers know, and no promise of days."""
    c = reply.community
    return (
        f"已同时通知{c.name}的民警（{officer_names(c)}）和值班民警，他们会尽快与您联系。"
        "请先按上面的提示拨打电话求助。"
    )


# The answer card's fields in the order every channel shows them (一次性告知: everything at once).
CARD_FIELDS: tuple[tuple[str, str], ...] = (
    ("谁可以办", "who"),
    ("需要带的材料（请一次备齐）", "materials"),
    ("办理步骤", "steps"),
    ("办理地点", "where"),
    ("收费", "fees"),
    ("办理时限", "time_limit"),
    ("法律依据", "legal_basis"),
    ("温馨提示", "tips"),
)
CHECKED_NOTE = "信息核对日期：{date}，具体以当地公安最新公布为准"


def card_sections(entry: Entry) -> list[tuple[str, str | tuple[str, ...]]]:
    """(label, value) for each field the entry has: a string, or a tuple for numbered lists."""
    sections: list[tuple[str, str | tuple[str, ...]]] = []
    for label, name in CARD_FIELDS:
        value = getattr(entry.answer, name)
        if value:
            sections.append((label, value))
    return sections


def render_entry(entry: Entry) -> str:
    """The whole answer card at once, as plain text."""
    parts = [f"【{entry.title}】", entry.answer.summary]
    for label, value in card_sections(entry):
        if isinstance(value, tuple):
            parts.append(f"{label}：\n" + "\n".join(f"{i}. {item}" for i, item in enumerate(value, 1)))
        else:
            parts.append(f"{label}：{value}")
    if entry.checked:
        parts.append(f"（{CHECKED_NOTE.format(date=entry.checked.isoformat())}）")
    return "\n\n".join(parts)


def _single(reply: Reply) -> Reply:
    return replace(reply, parts=())


def format_due(due_at: datetime, timezone: str = "Asia/Shanghai") -> str:
    return due_at.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")


def field_lines(reply: Reply) -> tuple[str, str] | None:
    """(heading, text) of the part of the answer asked for, shown before the whole card; None when no
    part was asked for. An entry that does not say gives the summary with a pointer to the officers."""
    if reply.field is None or reply.entry is None or reply.outcome is not Outcome.ANSWER:
        return None
    entry = reply.entry
    heading = f"{entry.title} · {FIELD_LABELS[reply.field]}"
    value = field_text(entry, reply.field)
    if isinstance(value, tuple) and len(value) > 1:
        text = "\n".join(f"{i}. {item}" for i, item in enumerate(value, 1))
    else:
        text = "".join(value)
    if not text:
        missing = "网上办理的说明" if reply.field == "online" else f"“{FIELD_LABELS[reply.field]}”的统一说明"
        text = f"这一项没有{missing}，请以当地公安最新公布为准，或问社区民警。{entry.answer.summary}"
    return heading, text


def render_plain(reply: Reply, timezone: str = "Asia/Shanghai") -> str:
    if reply.parts:
        return "\n\n".join(
            f"（{n}）{render_plain(_single(part), timezone)}" for n, part in enumerate(reply.parts, 1)
        )
    c = reply.community
    parts: list[str] = []
    emergency = emergency_text(reply)
    if emergency:
        parts.append(emergency)
    if reply.notice is Notice.EMPTY:
        parts.append("没有看懂您的消息。请用一两句话描述您想咨询的事情，例如：“身份证丢了怎么补办？”")
        return "\n\n".join(parts)
    if reply.notice is Notice.TRUNCATED:
        parts.append("您的消息很长，我先按开头部分为您解答；细节可以转给社区民警。")
    if reply.outcome is Outcome.ANSWER and reply.entry is not None:
        asked = field_lines(reply)
        if asked is not None:
            parts.append(f"【{asked[0]}】\n{asked[1]}")
            parts.append("完整的办事指南：")
        parts.append(render_entry(reply.entry))
    elif reply.outcome is Outcome.CLARIFY:
        lines = ["您想问的是下面哪一项？请回复序号："]
        lines += [f"{i}. {ch.title}" for i, ch in enumerate(reply.choices, 1)]
        lines.append("0. 都不是，转社区民警")
        parts.append("\n".join(lines))
    elif reply.notice is Notice.HELD:
        parts.append(held_text(c))
    elif reply.urgent_kind is not None:
        text = alerted_text(reply)
        if reply.ticket:
            text += f"\n工单号：{reply.ticket}"
        parts.append(text)
    else:
        officers = officer_names(c)
        if reply.referral is not None:
            text = (
                f"您问的“{reply.referral.title}”一般不属于公安业务，通常由{reply.referral.handled_by}办理。"
                f"按首问负责制，我也已把问题转给{c.name}的民警（{officers}），他们会帮您确认去向。"
            )
        else:
            text = f"这个问题我暂时答不好，已转给{c.name}的民警（{officers}）。"
        if reply.ticket:
            text += f"\n工单号：{reply.ticket}"
        if reply.due_at:
            text += f"\n预计答复时间：{format_due(reply.due_at, timezone)} 前（首问负责、限时办结）"
        if reply.suggestion is not None:
            text += f"\n{SUGGESTION_LEAD}“{reply.suggestion.title}”"
        parts.append(text)
    return "\n\n".join(parts)
