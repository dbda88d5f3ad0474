"""Data classes that cross layers. Plain, frozen dataclasses: no framework types leak through here."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

SECTIONS: tuple[str, ...] = ("警务公开", "法律法规", "防范指南", "为您服务")

CATEGORIES: tuple[str, ...] = (
    "户政",
    "身份证",
    "居住证",
    "出入境",
    "车驾管",
    "交通管理",
    "治安",
    "消防",
    "网安",
    "禁毒",
    "反诈",
    "报警求助",
    "政务公开",
    "社区警务",
)

KINDS: tuple[str, ...] = ("procedure", "guide", "law", "info")


class Outcome(enum.StrEnum):
    ANSWER = "answer"
    CLARIFY = "clarify"
    ESCALATE = "escalate"


class Channel(enum.StrEnum):
    CLI = "cli"
    TELEGRAM = "telegram"
    WEB = "web"
    API = "api"


class EscalationStatus(enum.StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    ANSWERED = "answered"
    CLOSED = "closed"


class CloseReason(enum.StrEnum):
    """Why a ticket was closed (办结). Without an answer a ticket closes only for one of the others;
    phone and referred carry a note the resident is told."""

    ANSWERED = "answered"  # 已答复
    PHONE = "phone"  # 已电话答复: the note says what was agreed
    REFERRED = "referred"  # 已告知由其他部门办理: the note names the body
    DUPLICATE = "duplicate"  # 重复提问: the same matter is in another ticket
    SPAM = "spam"  # 无效信息: nothing to answer


CLOSE_REASON_ZH = {
    CloseReason.ANSWERED: "已答复",
    CloseReason.PHONE: "已电话答复",
    CloseReason.REFERRED: "已告知由其他部门办理",
    CloseReason.DUPLICATE: "重复提问",
    CloseReason.SPAM: "无效信息",
}
# Not counted in 办结率 or response times: there was no matter to settle.
NOT_A_MATTER = frozenset({CloseReason.DUPLICATE, CloseReason.SPAM})


class Helpfulness(enum.StrEnum):
    USEFUL = "useful"  # 有用
    NOT_USEFUL = "not_useful"  # 没用


class Satisfaction(enum.StrEnum):
    SATISFIED = "satisfied"  # 满意
    BASICALLY = "basically"  # 基本满意
    UNSATISFIED = "unsatisfied"  # 不满意


@dataclass(frozen=True, slots=True)
class Answer:
    summary: str
    who: str = ""
    materials: tuple[str, ...] = ()
    steps: tuple[str, ...] = ()
    where: str = ""
    fees: str = ""
    time_limit: str = ""
    legal_basis: str = ""
    tips: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Entry:
    id: str
    section: str
    category: str
    kind: str
    title: str
    questions: tuple[str, ...]
    keywords: tuple[str, ...]
    answer: Answer
    checked: date | None = None
    source: str = ""
    # None for a city-wide entry, else the slug of the only community that has it.
    community: str | None = None
    not_covered: tuple[str, ...] = ()  # what sounds like this entry but is not it
    local_rules: bool = True  # its conditions, fees or offices are this city's own (schema: rules)


@dataclass(frozen=True, slots=True)
class Referral:
    """A matter residents ask about that the police do not handle (or that needs a human)."""

    id: str
    title: str
    handled_by: str
    questions: tuple[str, ...]
    keywords: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Officer:
    name: str
    role: str
    contact: str = ""
    telegram_id: int | None = None  # puts the officer on the allowlist for this community


@dataclass(frozen=True, slots=True)
class Community:
    slug: str
    name: str
    district: str
    sample: bool = False
    station_name: str = ""
    station_phone: str = ""
    office_address: str = ""
    office_hours: str = ""
    office_phone: str = ""
    officers: tuple[Officer, ...] = ()
    officer_chat_id: int | None = None


@dataclass(frozen=True, slots=True)
class Candidate:
    entry_id: str
    score: float  # the probability (0-100) that this entry is what the resident asks about
    matched: str  # the phrasing (title, question or keyword) that matched best
    field: str  # "title" | "question" | "keyword"


@dataclass(frozen=True, slots=True)
class Evidence:
    """Why the matcher decided as it did: the scorer that carried the top entry and its phrasing."""

    scorer: str  # "lexical" | "classifier" | "encoder" | "exact"
    phrasing: str  # the knowledge base's wording closest to the question
    scores: tuple[tuple[str, float], ...] = ()  # each scorer's own score for the top entry (0-1)
    uncovered: tuple[str, ...] = ()  # salient words of the question the top entry does not explain


@dataclass(frozen=True, slots=True)
class MatchResult:
    outcome: Outcome
    score: float
    candidates: tuple[Candidate, ...]
    urgent: bool
    normalized: str
    reason: str
    # The calibrated probability (0-1) that the top entry is right, and what carried the decision.
    confidence: float = 0.0
    evidence: Evidence | None = None

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None


@dataclass(frozen=True, slots=True)
class ResidentRef:
    channel: Channel
    channel_user_id: str


@dataclass(frozen=True, slots=True)
class NewConsultation:
    community: str
    resident: ResidentRef
    channel: Channel
    text_masked: str
    outcome: Outcome
    entry_id: str | None
    score: float
    urgent: bool
    created_at: datetime
    candidates: tuple[str, ...] = ()
    via_menu: bool = False  # browsing an entry from a menu, counted like the 2009 report's clicks
    candidate_scores: tuple[float, ...] = ()  # 0-100, beside `candidates`
    urgent_kind: str | None = None  # the triage's kind (bot.core.triage.UrgentKind) when urgent
    earlier: tuple[str, ...] = ()  # the resident's previous messages in the conversation, masked


@dataclass(frozen=True, slots=True)
class NewEscalation:
    due_at: datetime


@dataclass(frozen=True, slots=True)
class Consultation:
    id: int
    community: str
    channel: Channel
    text_masked: str
    outcome: Outcome
    entry_id: str | None
    score: float
    urgent: bool
    created_at: datetime
    via_menu: bool = False
    urgent_kind: str | None = None
    earlier: tuple[str, ...] = ()  # the resident's previous messages in the conversation, masked


@dataclass(frozen=True, slots=True)
class Escalation:
    id: int
    consultation_id: int
    community: str
    status: EscalationStatus
    created_at: datetime
    due_at: datetime
    officer: str | None = None  # display name of the officer who claimed or answered it
    officer_id: int | None = None
    answer: str | None = None
    claimed_at: datetime | None = None
    answered_at: datetime | None = None
    closed_at: datetime | None = None
    # A number the resident left to be called back on (urgent tickets): shown only on this ticket.
    callback_phone: str | None = None
    close_reason: CloseReason | None = None  # None on tickets closed before reasons were kept
    close_note: str | None = None

    @property
    def ticket(self) -> str:
        return ticket_number(self.id)


@dataclass(frozen=True, slots=True)
class EscalationSearch:
    """What an officer looks for in the console: every condition given must hold."""

    statuses: tuple[EscalationStatus, ...]
    text: str | None = None  # in the question, or a resident's pseudonym exactly
    ticket: int | None = None  # WJ000123 or 123: that ticket (or the text)
    community: str | None = None
    urgent_only: bool = False
    overdue_at: datetime | None = None  # waiting and past due at this moment
    officer_id: int | None = None  # claimed or answered by this officer
    after_id: int | None = None  # only tickets opened after this one (the console's live updates)
    newest_first: bool = False  # else urgent first, then by due time
    offset: int = 0
    limit: int = 20


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One action of an officer or admin: who, when, what, on what. Kept apart from the consultations
    (and from their retention): the record of who handled residents' matters."""

    at: datetime
    staff_id: int | None
    staff_name: str
    action: str  # one of AUDIT_ACTIONS
    target: str  # a ticket number, a draft, an export's period
    detail: str = ""


AUDIT_ACTIONS = {
    "claim": "认领工单",
    "answer": "答复工单",
    "hand_over": "转交工单",
    "close": "办结工单",
    "save_draft": "答复存为知识草稿",
    "approve_draft": "审核通过知识草稿",
    "reject_draft": "退回知识草稿",
    "export": "导出数据",
    "sign_in": "登录",
    "change_password": "修改密码",
}


def ticket_number(escalation_id: int) -> str:
    """Human-readable ticket number residents quote to officers (网上警务室 → WJ)."""
    return f"WJ{escalation_id:06d}"


@dataclass(frozen=True, slots=True)
class StatsQuery:
    since: datetime | None = None
    until: datetime | None = None
    community: str | None = None


@dataclass(frozen=True, slots=True)
class CountRow:
    key: str
    count: int


@dataclass(frozen=True, slots=True)
class StatsSnapshot:
    total: int
    by_outcome: dict[str, int]
    by_community: list[CountRow]
    by_entry: list[CountRow]
    by_day: list[CountRow]  # questions asked per day (guide views apart), local days
    urgent: int
    menu_views: int
    escalations: dict[str, int] = field(default_factory=dict)
    feedback: dict[str, int] = field(default_factory=dict)
    satisfaction: dict[str, int] = field(default_factory=dict)
    # Closed escalations that were no matter to settle (duplicate, spam): left out of 办结率.
    not_a_matter: int = 0


@dataclass(frozen=True, slots=True)
class QuestionSearch:
    """The consultations behind one figure of the dashboard (a day, a topic, a community, an outcome):
    every condition given must hold. Guide views (menu browsing) are left out unless `views` is set,
    as the figures of questions asked leave them out; topics and communities count them."""

    period: StatsQuery
    entry_id: str | None = None
    outcome: Outcome | None = None
    views: bool = False
    offset: int = 0
    limit: int = 50


@dataclass(frozen=True, slots=True)
class QuestionItem:
    """One consultation of such a list, as recorded (the text masked), with its ticket if it has one."""

    id: int
    created_at: datetime
    community: str
    text_masked: str
    outcome: Outcome
    entry_id: str | None
    via_menu: bool
    urgent: bool
    escalation_id: int | None


# ---- officers, admins and the escalation workflow ------------------------------------------------


class Role(enum.StrEnum):
    OFFICER = "officer"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Staff:
    """An officer or admin on the allowlist. Membership of a Telegram group alone grants nothing."""

    id: int
    name: str
    role: Role
    communities: tuple[str, ...] = ()  # an officer's communities; an admin sees all
    telegram_user_id: int | None = None
    username: str | None = None  # web console login
    active: bool = True

    def can_handle(self, community: str) -> bool:
        return self.active and (self.role is Role.ADMIN or community in self.communities)


@dataclass(frozen=True, slots=True)
class NewStaff:
    name: str
    role: Role
    communities: tuple[str, ...] = ()
    telegram_user_id: int | None = None
    username: str | None = None
    password_hash: str | None = None


@dataclass(frozen=True, slots=True)
class EscalationView:
    """An escalation with what an officer needs to answer it and what delivery needs to reach back."""

    escalation: Escalation
    question: str  # masked
    channel: Channel
    resident: ResidentRef
    urgent: bool
    candidates: tuple[str, ...] = ()
    reminded: int = 0  # 0 none, 1 officers reminded, 2 passed to the duty group
    urgent_kind: str | None = None
    candidate_scores: tuple[float | None, ...] = ()  # 0-100 beside `candidates`; None when not kept
    earlier: tuple[str, ...] = ()  # what the resident said before in the conversation, masked

    @property
    def scored_candidates(self) -> tuple[tuple[str, float | None], ...]:
        scores = self.candidate_scores + (None,) * (len(self.candidates) - len(self.candidate_scores))
        return tuple(zip(self.candidates, scores, strict=False))


@dataclass(frozen=True, slots=True)
class StaffSession:
    """A signed-in browser of a staff member (the row behind the cookie's token)."""

    staff_id: int
    created_at: datetime
    last_seen_at: datetime
    revoked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ResidentPrefs:
    community: str | None = None
    language: str = "zh"
    blocked: bool = False  # the resident blocked the bot (Telegram 403): stop sending


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    BLOCKED = "blocked"  # the recipient refuses messages (403): recorded, not retried
    FAILED = "failed"  # gave up after the last attempt


@dataclass(frozen=True, slots=True)
class NewOutboxMessage:
    channel: Channel
    recipient: str  # Telegram chat id, or the web resident's token
    kind: str  # "officer_answer" | "escalation_post" | "urgent_alert" | "reminder" | ...
    payload: Mapping[str, Any]  # JSON-serialisable
    not_before: datetime
    escalation_id: int | None = None


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    id: int
    channel: Channel
    recipient: str
    kind: str
    payload: Mapping[str, Any]
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    escalation_id: int | None = None
    last_error: str | None = None


class DraftStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class NewDraft:
    question: str
    answer: str
    title: str
    community: str | None  # None: city-wide
    created_by: int  # staff id
    created_at: datetime
    escalation_id: int | None = None


@dataclass(frozen=True, slots=True)
class Draft:
    id: int
    question: str
    answer: str
    title: str
    community: str | None
    status: DraftStatus
    created_by: int
    created_at: datetime
    escalation_id: int | None = None
    entry_id: str | None = None  # the live entry once approved (approved for several: the first one)
    decided_by: int | None = None
    decided_at: datetime | None = None
    # Approved for several communities: their slugs, one local entry each. Empty when the entry id alone
    # says the scope (city-wide or one community), as for every draft approved before this was kept.
    approved_for: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TextCount:
    text: str
    count: int


@dataclass(frozen=True, slots=True)
class ResponseTimes:
    answered: int  # escalations answered (or closed after an answer) in the period
    median_minutes: float | None
    p90_minutes: float | None
    within_due: int  # answered no later than promised (限时办结)


@dataclass(frozen=True, slots=True)
class Backlog:
    """What waits, read in one go for the operators' metrics."""

    open_escalations: Mapping[str, int]  # waiting escalations by status (open, claimed)
    outbox_pending: int  # messages not yet delivered, those waiting to retry included
    outbox_oldest: datetime | None  # when the oldest of them was written; None when there is none
    inbox_pending: int  # Telegram webhook updates stored and not yet handled
