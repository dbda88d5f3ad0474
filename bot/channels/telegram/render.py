"""Reply models → Telegram HTML. Pure functions: no aiogram here, so they are tested as plain code.

Every piece of text that came from a resident, an officer or the knowledge files goes through
`escape` (directly or via the translator); tags are only ever written by this module and texts.py,
and never span a paragraph break, so `split_html` can cut cleanly between paragraphs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.channels.telegram.markup import (
    CAPTION_LIMIT,
    MESSAGE_LIMIT,
    Html,
    bold,
    escape,
    shorten,
    split_html,
    utf16_len,
)
from bot.channels.telegram.texts import Translator
from bot.core.models import Community, Entry, EscalationStatus, EscalationView, Outcome
from bot.core.replies import (
    CHECKED_NOTE,
    Notice,
    Reply,
    card_sections,
    field_lines,
    format_due,
    room_phone,
)
from bot.core.triage.kinds import guidance_text, label_of
from bot.services.officers import QueuePage
from bot.services.reports import AdminReport

# Previews of a resident's question inside longer messages: enough to recognise it.
QUESTION_PREVIEW = 300
# A /queue page is one message edited in place, so it must fit: previews shrink until it does.
QUEUE_PREVIEWS = (80, 40, 12)
NO_HTML = Html("")


def entry_card(entry: Entry, t: Translator) -> Html:
    """The whole answer at once (一次性告知): the fields and order of core.replies.card_sections."""
    parts: list[str] = [bold(f"【{entry.title}】"), escape(entry.answer.summary)]
    for label, value in card_sections(entry):
        if isinstance(value, tuple):
            lines = "\n".join(f"{i}. {escape(item)}" for i, item in enumerate(value, 1))
            parts.append(f"{bold(t.label(label))}：\n{lines}")
        else:
            parts.append(f"{bold(t.label(label))}：{escape(value)}")
    if entry.checked:
        checked = t.label(CHECKED_NOTE).format(date=entry.checked.isoformat())
        parts.append(f"<i>（{escape(checked)}）</i>")
    return Html("\n\n".join(parts))


def officers_of(community: Community, t: Translator) -> str:
    return "、".join(o.name for o in community.officers) or t.plain("officers_default")


def reply_messages(reply: Reply, t: Translator, timezone: str) -> list[str]:
    """The resident's reply as one or more messages (long entry cards split between paragraphs)."""
    parts: list[str] = []
    if reply.urgent_kind is not None:
        # The kind's guidance and numbers first, in bold: it may be all the resident reads.
        parts.append(t("urgent_kind", guidance=guidance_text(reply.urgent_kind, t.language, reply.also_kind)))
    elif reply.urgent:
        parts.append(t("urgent"))
    if reply.notice is Notice.EMPTY:
        parts.append(t("empty"))
        return split_html("\n\n".join(parts))
    if reply.notice is Notice.TRUNCATED:
        parts.append(t("truncated"))
    if reply.outcome is Outcome.ANSWER and reply.entry is not None:
        asked = field_lines(reply)
        if asked is not None:
            # Only the part asked for; the whole card is one tap away (keyboards.answer_actions).
            parts.append(f"{bold(f'【{asked[0]}】')}\n{escape(asked[1])}")
        else:
            parts.append(entry_card(reply.entry, t))
    elif reply.outcome is Outcome.CLARIFY:
        parts.append(t("clarify"))
    else:
        parts.append(escalation_notice(reply, t, timezone))
    return split_html("\n\n".join(parts))


def escalation_notice(reply: Reply, t: Translator, timezone: str) -> Html:
    place = reply.community
    officers = officers_of(place, t)
    if reply.notice is Notice.HELD:
        phone = room_phone(place)
        shown = ("（{}）" if t.language == "zh" else " ({})").format(phone) if phone else ""
        return t("held", community=place.name, phone=shown)
    if reply.urgent_kind is not None:
        lines = [t("urgent_alerted", community=place.name, officers=officers)]
        if reply.ticket:
            lines.append(t("ticket", ticket=reply.ticket))
        return Html("\n".join(lines))
    if reply.referral is not None:
        text = t(
            "escalated_referral",
            title=reply.referral.title,
            handled_by=reply.referral.handled_by,
            community=place.name,
            officers=officers,
        )
    else:
        text = t("escalated", community=place.name, officers=officers)
    lines = [text]
    if reply.ticket:
        lines.append(t("ticket", ticket=reply.ticket))
    if reply.due_at:
        lines.append(t("due", due=format_due(reply.due_at, timezone)))
    if reply.suggestion is not None:
        lines.append(t("suggestion", title=reply.suggestion.title))  # the button below opens it
    return Html("\n".join(lines))


# ---- officers' group ------------------------------------------------------------------------------

STATUS_ZH = {
    EscalationStatus.OPEN: "待认领",
    EscalationStatus.CLAIMED: "办理中",
    EscalationStatus.ANSWERED: "已答复",
    EscalationStatus.CLOSED: "已办结",
}


@dataclass(frozen=True, slots=True)
class EscalationCard:
    """What an officers' post shows: built from the outbox payload or from a fresh EscalationView."""

    ticket: str
    community: str  # display name
    question: str  # masked
    urgent: bool = False
    candidates: tuple[str, ...] = ()  # the engine's best guesses, as titles with their probability
    urgent_kind: str | None = None
    status: EscalationStatus = EscalationStatus.OPEN
    officer: str | None = None
    answer: str | None = None
    due: str | None = None
    earlier: tuple[str, ...] = ()  # what the resident said before, masked

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any], names: Mapping[str, str]) -> EscalationCard:
        slug = str(payload.get("community", ""))
        return cls(
            ticket=str(payload.get("ticket", "")),
            community=names.get(slug, slug),
            question=str(payload.get("question", "")),
            urgent=bool(payload.get("urgent", False)),
            candidates=tuple(_candidate(c) for c in payload.get("candidates", ()) or ()),
            urgent_kind=payload.get("urgent_kind") or None,
            earlier=tuple(str(m) for m in payload.get("earlier", ()) or ())[-EARLIER_SHOWN:],
        )

    @classmethod
    def from_view(
        cls, view: EscalationView, names: Mapping[str, str], titles: Mapping[str, str], timezone: str
    ) -> EscalationCard:
        e = view.escalation
        return cls(
            ticket=e.ticket,
            community=names.get(e.community, e.community),
            question=view.question,
            urgent=view.urgent,
            candidates=tuple(
                _candidate({"title": titles[c], "score": s}) for c, s in view.scored_candidates if c in titles
            )[:3],
            urgent_kind=view.urgent_kind,
            status=e.status,
            officer=e.officer,
            answer=e.answer,
            due=format_due(e.due_at, timezone),
            earlier=view.earlier[-EARLIER_SHOWN:],
        )


def _candidate(item: Any) -> str:
    """A candidate as the post shows it: older payloads hold bare titles, newer ones title and score."""
    if isinstance(item, Mapping):
        title = str(item.get("title", ""))
        score = item.get("score")
        return f"{title}（{float(score):.0f}%）" if isinstance(score, int | float) else title
    return str(item)


EARLIER_SHOWN = 4  # of the resident's earlier messages on an officers' post


def escalation_post(card: EscalationCard) -> str:
    """The post in the officers' group. Officers work in Chinese, so no translation here."""
    head = f"🚨 <b>紧急 · {escape(label_of(card.urgent_kind))}</b> " if card.urgent else ""
    lines = [
        f"{head}<b>【群众咨询转办】</b>工单 <b>{escape(card.ticket)}</b> · {escape(card.community)}",
        f"状态：{STATUS_ZH[card.status]}" + (f"（{escape(card.officer)}）" if card.officer else ""),
    ]
    if card.due:
        lines.append(f"限时：{escape(card.due)} 前")
    lines.append("")
    if card.earlier:
        lines.append("<b>此前的对话</b>（群众先后说的话）：")
        lines += [f"· {escape(shorten(m, 200))}" for m in card.earlier]
    lines.append(f"<b>问题</b>：{escape(shorten(card.question, 2000))}")
    if card.candidates:
        lines.append("")
        lines.append("<b>机器人的候选答案（匹配概率）</b>：")
        lines += [f"{i}. {escape(title)}" for i, title in enumerate(card.candidates, 1)]
    if card.answer:
        lines.append("")
        lines.append(f"<b>答复</b>：{escape(shorten(card.answer, 1200))}")
    if card.status in (EscalationStatus.OPEN, EscalationStatus.CLAIMED):
        lines.append("")
        lines.append("<i>认领后点“答复”，或直接回复本条消息输入答复。</i>")
    return _fit("\n".join(lines))


def urgent_alert(payload: Mapping[str, Any], names: Mapping[str, str], timezone: str) -> str:
    """The alarm beside an urgent ticket's post: names the on-duty officers (a mention notifies them)."""
    slug = str(payload.get("community", ""))
    due = str(payload.get("due_at", ""))
    with contextlib.suppress(ValueError):
        due = format_due(datetime.fromisoformat(due), timezone)
    mentions = []
    for officer in payload.get("officers", ()) or ():
        with contextlib.suppress(TypeError, ValueError, AttributeError):
            mentions.append(
                f'<a href="tg://user?id={int(officer["telegram_id"])}">{escape(str(officer["name"]))}</a>'
            )
    heading = "🚨🚨 <b>紧急警情提醒</b>" + ("（值班）" if payload.get("duty") else "")
    lines = [
        f"{heading} · {escape(label_of(payload.get('urgent_kind')))}",
        f"工单 <b>{escape(str(payload.get('ticket', '')))}</b> · {escape(names.get(slug, slug))}"
        f" · 请于 {escape(due)} 前联系群众",
    ]
    if payload.get("note"):
        lines.append(f"<b>{escape(str(payload['note']))}</b>")
    lines.append(f"<b>群众原话</b>：{escape(shorten(str(payload.get('question', '')), QUESTION_PREVIEW))}")
    if mentions:
        lines.append("请 " + "、".join(mentions) + " 立即处置。")
    return _fit("\n".join(lines))


def reminder_post(kind: str, payload: Mapping[str, Any], names: Mapping[str, str], timezone: str) -> str:
    slug = str(payload.get("community", ""))
    due = str(payload.get("due_at", ""))
    with contextlib.suppress(ValueError):
        due = format_due(datetime.fromisoformat(due), timezone)
    officer = payload.get("officer")
    heading = "⏰ <b>超时提醒</b>" if kind == "reminder" else "📣 <b>值班移交</b>：社区民警逾期未答复"
    lines = [
        f"{heading} 工单 <b>{escape(str(payload.get('ticket', '')))}</b> · {escape(names.get(slug, slug))}",
        f"承诺时限：{escape(due)}" + (f"；认领人：{escape(str(officer))}" if officer else "；尚未认领"),
        f"<b>问题</b>：{escape(shorten(str(payload.get('question', '')), QUESTION_PREVIEW))}",
    ]
    return _fit("\n".join(lines))


def officer_answer(payload: Mapping[str, Any], names: Mapping[str, str], t: Translator) -> str:
    slug = str(payload.get("community", ""))
    return _fit(
        t(
            "officer_answer",
            ticket=str(payload.get("ticket", "")),
            question=shorten(str(payload.get("question", "")), QUESTION_PREVIEW),
            answer=str(payload.get("answer", "")),
            officer=str(payload.get("officer", "")),
            community=names.get(slug, slug),
        )
        + "\n\n"
        + t("rate_officer")
    )


def my_questions(views: Sequence[EscalationView], t: Translator) -> list[str]:
    if not views:
        return [t("my_none")]
    parts = [t("my_heading", count=len(views))]
    for view in views:
        e = view.escalation
        item = t(
            "my_item",
            ticket=e.ticket,
            status=t.plain(f"status_{e.status.value}"),
            question=shorten(view.question, 120),
        )
        if e.answer:
            item = Html(f"{item}\n{t('my_answer', answer=shorten(e.answer, 600))}")
        parts.append(item)
    return split_html("\n\n".join(parts))


def queue_listing(
    page: QueuePage,
    names: Mapping[str, str],
    t: Translator,
    timezone: str,
    now: datetime,
    scope: Html = NO_HTML,
) -> Html:
    """A page of the officers' /queue: what waits, where (community names), until when (local time).
    `scope` names the filter in the heading (see texts queue_scope_*)."""
    heading = t("queue_heading", scope=scope, total=page.total, page=page.page, pages=page.pages)
    if not page.views:
        return t("queue_empty") if not scope else Html(f"{heading}\n\n{t('queue_empty')}")
    text = ""
    for preview in QUEUE_PREVIEWS:
        items = [_queue_item(view, names, t, timezone, now, preview) for view in page.views]
        text = "\n\n".join([heading, *items])
        if utf16_len(text) <= MESSAGE_LIMIT:
            return Html(text)
    return Html(_fit(text))


def _queue_item(
    view: EscalationView, names: Mapping[str, str], t: Translator, timezone: str, now: datetime, preview: int
) -> Html:
    e = view.escalation
    waiting = e.status in (EscalationStatus.OPEN, EscalationStatus.CLAIMED)
    return t(
        "queue_item",
        # Urgent tickets lead the page (the search's order) and say what the emergency is.
        urgent=t("queue_urgent", kind=label_of(view.urgent_kind)) if view.urgent else NO_HTML,
        ticket=e.ticket,
        community=names.get(e.community, e.community),
        status=t.plain(f"status_{e.status.value}"),
        officer=t("queue_officer", officer=e.officer) if e.officer else NO_HTML,
        due=format_due(e.due_at, timezone),
        overdue=t("queue_overdue") if waiting and e.due_at < now else NO_HTML,
        question=shorten(view.question, preview),
    )


def stats_caption(report: AdminReport, label: str, titles: Mapping[str, str]) -> str:
    """Key figures under the /stats chart; a photo caption holds at most 1,024 characters."""
    s = report.snapshot
    outcome = report.questions_by_outcome
    escalations = sum(s.escalations.values())
    lines = [
        f"<b>{escape(label)}</b>",
        f"咨询 {report.asked} 次（另浏览指南 {s.menu_views} 次）",
        f"解答 {outcome.get('answer', 0)} · 澄清 {outcome.get('clarify', 0)} · "
        f"转民警 {outcome.get('escalate', 0)}" + (f"（紧急 {s.urgent}）" if s.urgent else ""),
    ]
    if escalations:
        aside = f"（重复、无效 {s.not_a_matter} 件不计）" if s.not_a_matter else ""
        lines.append(
            f"转办 {escalations} 件，已办结 {report.settled} 件，办结率 {_percent(report.answer_rate)}{aside}"
        )
    response = report.response
    if response.median_minutes is not None:
        within = f"，按时 {response.within_due}/{response.answered}" if response.answered else ""
        lines.append(f"答复时间中位数 {_minutes(response.median_minutes)}{within}")
    votes = sum(s.satisfaction.values())
    if votes:
        lines.append(f"满意率 {_percent(report.satisfaction_rate)}（{votes} 次评价）")
    helpful = s.feedback
    if helpful:
        lines.append(f"答案有用 {helpful.get('useful', 0)} · 没用 {helpful.get('not_useful', 0)}")
    if s.by_entry:
        top = "；".join(f"{shorten(titles.get(r.key, r.key), 14)} {r.count}" for r in s.by_entry[:3])
        lines.append(f"<b>热门</b>：{escape(top)}")
    if report.unanswered:
        gaps = "；".join(f"{shorten(q.text, 16)} ×{q.count}" for q in report.unanswered[:3])
        lines.append(f"<b>未答好</b>：{escape(gaps)}")
    text = "\n".join(lines)
    while len(text) > CAPTION_LIMIT and len(lines) > 1:
        lines.pop()
        text = "\n".join(lines)
    return text


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _minutes(minutes: float) -> str:
    if minutes < 60:
        return f"{minutes:.0f} 分钟"
    if minutes < 48 * 60:
        return f"{minutes / 60:.1f} 小时"
    return f"{minutes / 1440:.1f} 天"


def _fit(text: str) -> str:
    """A single message by construction; the guard only matters for pathological input."""
    return text if len(text) <= MESSAGE_LIMIT else split_html(text)[0]


__all__ = [
    "EscalationCard",
    "entry_card",
    "escalation_post",
    "my_questions",
    "officer_answer",
    "queue_listing",
    "reminder_post",
    "reply_messages",
    "stats_caption",
    "urgent_alert",
]
