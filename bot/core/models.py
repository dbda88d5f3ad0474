"""Data classes that cross layers. Plain, frozen dataclasses: no framework types leak through here."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime

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
    score: float
    matched: str  # the phrasing (title, question or keyword) that matched best
    field: str  # "title" | "question" | "keyword"


@dataclass(frozen=True, slots=True)
class MatchResult:
    outcome: Outcome
    score: float
    candidates: tuple[Candidate, ...]
    urgent: bool
    normalized: str
    reason: str

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


@dataclass(frozen=True, slots=True)
class Escalation:
    id: int
    consultation_id: int
    community: str
    status: EscalationStatus
    created_at: datetime
    due_at: datetime
    officer: str | None = None
    answer: str | None = None
    claimed_at: datetime | None = None
    answered_at: datetime | None = None
    closed_at: datetime | None = None

    @property
    def ticket(self) -> str:
        return ticket_number(self.id)


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
    by_day: list[CountRow]
    urgent: int
    menu_views: int
    escalations: dict[str, int] = field(default_factory=dict)
    feedback: dict[str, int] = field(default_factory=dict)
    satisfaction: dict[str, int] = field(default_factory=dict)
