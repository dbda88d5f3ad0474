"""What the services need from the outside world. Storage implements these; tests may fake them."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self

from bot.core.models import (
    AuditEntry,
    CloseReason,
    Community,
    Consultation,
    DeliveryStatus,
    Draft,
    DraftStatus,
    Escalation,
    EscalationSearch,
    EscalationStatus,
    EscalationView,
    Helpfulness,
    NewConsultation,
    NewDraft,
    NewEscalation,
    NewOutboxMessage,
    NewStaff,
    OutboxMessage,
    QuestionItem,
    QuestionSearch,
    ResidentPrefs,
    ResidentRef,
    ResponseTimes,
    Satisfaction,
    Staff,
    StaffSession,
    StatsQuery,
    StatsSnapshot,
    TextCount,
)


class ConflictError(Exception):
    """The change lost a race: e.g. another officer claimed the escalation first (首问负责)."""


class NotFoundError(LookupError):
    pass


class Clock(Protocol):
    def now(self) -> datetime: ...


class CommunityRepository(Protocol):
    async def upsert_many(self, communities: list[Community]) -> None: ...

    async def list_slugs(self) -> list[str]: ...


class ConsultationRepository(Protocol):
    async def add(self, consultation: NewConsultation) -> Consultation: ...

    async def get(self, consultation_id: int) -> Consultation | None: ...


class EscalationRepository(Protocol):
    async def open(self, consultation_id: int, escalation: NewEscalation) -> Escalation: ...

    async def get(self, escalation_id: int) -> Escalation | None: ...

    async def view(self, escalation_id: int) -> EscalationView | None: ...

    async def claim(self, escalation_id: int, officer: Staff, at: datetime) -> Escalation:
        """open → claimed by `officer`; the same officer again is a no-op; another officer's claim
        raises ConflictError; answered or closed raises ConflictError; unknown raises NotFoundError."""
        ...

    async def answer(self, escalation_id: int, officer: Staff, text: str, at: datetime) -> Escalation:
        """open/claimed → answered (an unclaimed one is claimed by the answering officer; one claimed
        by somebody else raises ConflictError). Answering again replaces the answer text."""
        ...

    async def close(
        self,
        escalation_id: int,
        at: datetime,
        reason: CloseReason | None = None,
        note: str | None = None,
    ) -> Escalation: ...

    async def hand_over(self, escalation_id: int, community: str, at: datetime) -> Escalation:
        """Back to open in `community` (which may be the same), unclaimed."""
        ...

    async def queue(
        self, communities: Sequence[str] | None, statuses: Sequence[EscalationStatus], limit: int = 100
    ) -> list[EscalationView]:
        """Urgent first, then by due time. `communities` None means all."""
        ...

    async def search(
        self, communities: Sequence[str] | None, search: EscalationSearch
    ) -> tuple[list[EscalationView], int]:
        """One page of the matching escalations (urgent first, then by due time) and how many match
        in all. `communities` None means all."""
        ...

    async def overdue(self, now: datetime, below_level: int) -> list[EscalationView]:
        """Open or claimed escalations past due whose reminder level is below `below_level`."""
        ...

    async def set_reminded(self, escalation_id: int, level: int) -> bool: ...  # False: already there

    async def for_resident(self, resident: ResidentRef, limit: int = 20) -> list[EscalationView]: ...

    async def closed_as(
        self,
        reason: CloseReason,
        since: datetime,
        *,
        resident: ResidentRef | None = None,
        asker_of: int | None = None,
    ) -> int:
        """How many tickets of one resident (named, or the one who asked consultation `asker_of`) were
        closed for `reason` at or after `since`."""
        ...

    async def set_callback_phone(self, escalation_id: int, phone: str) -> None: ...

    async def add_post(self, escalation_id: int, chat_id: int, message_id: int) -> None:
        """Remember where an escalation was posted, so a reply to that post maps back to it."""
        ...

    async def by_post(self, chat_id: int, message_id: int) -> int | None: ...


class FeedbackRepository(Protocol):
    async def add_helpfulness(self, consultation_id: int, value: Helpfulness, at: datetime) -> None: ...

    async def add_satisfaction(self, escalation_id: int, value: Satisfaction, at: datetime) -> None: ...


class StatsRepository(Protocol):
    async def snapshot(self, query: StatsQuery) -> StatsSnapshot: ...

    async def response_times(self, query: StatsQuery) -> ResponseTimes: ...

    async def top_questions(self, query: StatsQuery, outcome: str, limit: int = 10) -> list[TextCount]:
        """The most frequent (masked) question texts with that outcome: what the knowledge lacks."""
        ...

    async def questions(self, search: QuestionSearch) -> tuple[list[QuestionItem], int]:
        """The consultations behind a figure, newest first: one page of them, and how many in all."""
        ...


class StaffRepository(Protocol):
    async def add(self, staff: NewStaff) -> Staff:
        """ConflictError when the username or Telegram id is taken by an active account."""
        ...

    async def get(self, staff_id: int) -> Staff | None: ...

    async def by_telegram_id(self, telegram_user_id: int) -> Staff | None:
        """Active accounts only."""
        ...

    async def credentials(self, username: str) -> tuple[Staff, str] | None:
        """An active account and its password hash, for login."""
        ...

    async def list(self) -> list[Staff]: ...

    async def deactivate(self, staff_id: int) -> None: ...

    async def set_password(self, staff_id: int, password_hash: str) -> None: ...

    async def open_session(self, token_hash: str, staff_id: int, at: datetime) -> None: ...

    async def session_of(self, token_hash: str) -> StaffSession | None: ...

    async def touch_session(self, token_hash: str, at: datetime) -> None: ...

    async def revoke_sessions(
        self, *, at: datetime, token_hash: str | None = None, staff_id: int | None = None
    ) -> int: ...


class ResidentRepository(Protocol):
    async def prefs(self, resident: ResidentRef) -> ResidentPrefs: ...

    async def set_community(self, resident: ResidentRef, community: str, at: datetime) -> None: ...

    async def set_language(self, resident: ResidentRef, language: str, at: datetime) -> None: ...

    async def set_blocked(self, resident: ResidentRef, blocked: bool) -> None: ...


class OutboxRepository(Protocol):
    """A durable queue of messages to send: written in the same transaction as what caused them."""

    async def enqueue(self, message: NewOutboxMessage) -> OutboxMessage: ...

    async def lease_due(self, now: datetime, limit: int, lease_seconds: float) -> list[OutboxMessage]:
        """Pending messages due by `now`, leased: their next attempt moves `lease_seconds` ahead, so a
        crashed sender's messages come back, and concurrent senders never take the same one
        (row locks with SKIP LOCKED on PostgreSQL). Attempts are counted here."""
        ...

    async def renew(self, message_id: int, attempt: int, until: datetime) -> bool:
        """Keep a lease while its send is in flight: False when that lease is no longer held (the
        message was settled, or leased again by another sender)."""
        ...

    async def settle(
        self,
        message_id: int,
        status: DeliveryStatus,
        at: datetime,
        error: str | None = None,
        attempt: int | None = None,
    ) -> None:
        """`attempt` (the leased message's attempts): only the holder of that lease may settle."""
        ...

    async def retry(
        self, message_id: int, next_attempt_at: datetime, error: str, attempt: int | None = None
    ) -> None: ...

    async def counts(self) -> dict[str, int]:
        """Messages per status."""
        ...


class DraftRepository(Protocol):
    async def add(self, draft: NewDraft) -> Draft: ...

    async def get(self, draft_id: int) -> Draft | None: ...

    async def list(self, status: DraftStatus | None = None, limit: int = 100) -> list[Draft]: ...

    async def decide(
        self,
        draft_id: int,
        status: DraftStatus,
        by: int,
        at: datetime,
        *,
        entry_id: str | None = None,
        title: str | None = None,
        question: str | None = None,
        answer: str | None = None,
        approved_for: Sequence[str] = (),
    ) -> Draft:
        """Approve or reject a pending draft, optionally with edited text and, approved for several
        communities, their slugs. ConflictError if decided."""
        ...


class UpdateInbox(Protocol):
    """The Telegram webhook's durable inbox, keyed by update_id: an update is stored before it is
    acknowledged, so a crash while handling it does not lose it, and stored once, so a redelivery or
    the same update reaching another replica is not handled twice."""

    async def accept(
        self, update_id: int, payload: Mapping[str, Any], at: datetime, lease_seconds: float
    ) -> bool:
        """Store the update, claimed by the caller for `lease_seconds`. False if it was already stored
        (a duplicate): the transaction stays usable."""
        ...

    async def lease(
        self, now: datetime, limit: int, lease_seconds: float
    ) -> list[tuple[int, dict[str, Any]]]:
        """(update_id, payload) of unprocessed updates whose claim ran out by `now` (their receiver
        crashed), claimed again for `lease_seconds`; concurrent callers never get the same one."""
        ...

    async def finish(self, update_id: int, at: datetime) -> None: ...

    async def prune(self, before: datetime) -> int:
        """Forget updates processed before `before`; returns how many."""
        ...


class ConversationStore(Protocol):
    """Where a resident's conversation state lives between messages (Redis, or the database).

    States are small JSON objects keyed by an opaque string; a store may forget one after `ttl_seconds`.
    Callers treat every failure as "no context": a conversation is a convenience, never a dependency."""

    async def load(self, key: str) -> dict[str, Any] | None: ...

    async def save(self, key: str, state: Mapping[str, Any], ttl_seconds: int) -> None: ...

    async def forget(self, key: str) -> None: ...


@dataclass(frozen=True, slots=True)
class IdempotentRecord:
    fingerprint: str  # of the request first sent with the key
    response: str | None  # None while the first request is still being handled
    created_at: datetime


class IdempotencyStore(Protocol):
    """Requests sent with an Idempotency-Key: the first one's response, replayed to its retries."""

    async def claim(self, key: str, fingerprint: str, at: datetime) -> IdempotentRecord | None:
        """None when the caller now owns `key`; else what is stored under it (the transaction stays
        usable)."""
        ...

    async def complete(self, key: str, response: str) -> None: ...

    async def release(self, key: str) -> None:
        """The owner failed: a retry may claim the key again."""
        ...

    async def prune(self, before: datetime, limit: int = 500) -> int: ...


class AuditLog(Protocol):
    async def record(self, entry: AuditEntry) -> None: ...

    async def recent(self, limit: int = 200, action: str | None = None) -> list[AuditEntry]:
        """Newest first."""
        ...


class UnitOfWork(Protocol):
    """One transaction per use case: repositories share it; nothing is written until commit()."""

    communities: CommunityRepository
    consultations: ConsultationRepository
    escalations: EscalationRepository
    feedback: FeedbackRepository
    stats: StatsRepository
    staff: StaffRepository
    residents: ResidentRepository
    outbox: OutboxRepository
    drafts: DraftRepository
    updates: UpdateInbox
    idempotency: IdempotencyStore
    audit: AuditLog

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...


UnitOfWorkFactory = Callable[[], UnitOfWork]


class DeliveryOutcome(enum.StrEnum):
    SENT = "sent"
    RETRY = "retry"  # a 429, a 5xx or a network error: try again later
    BLOCKED = "blocked"  # the recipient refuses (Telegram 403): record it, never retry
    FAILED = "failed"  # a message that can never be delivered as it is (400): give up now


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    outcome: DeliveryOutcome
    retry_after: float | None = None  # seconds, when the channel said so (Telegram's retry_after)
    error: str | None = None
    # Where a post landed (Telegram chat id, message id), so replies to it can be mapped back.
    posted: tuple[int, int] | None = None


class Notifier(Protocol):
    """Delivers outbox messages of one channel. Must not raise for delivery problems: it reports them."""

    async def deliver(self, message: OutboxMessage) -> DeliveryResult: ...


class AttemptResult(enum.StrEnum):
    """What the delivery loop recorded for one attempt at an outbox message."""

    SENT = "sent"
    RETRIED = "retried"  # put back for later: a retryable error, or its channel is not enabled here
    BLOCKED = "blocked"
    GAVE_UP = "gave_up"  # undeliverable, or out of attempts


class OperationsEvents(Protocol):
    """What the services tell the operators' metrics, once the fact is committed. Must return at once
    and never raise: counting must not fail a delivery or a resident's question."""

    def delivery(self, channel: str, result: AttemptResult) -> None: ...

    def urgent(self, kind: str) -> None:
        """A consultation was recorded as urgent, of this kind (crime, fire, ...)."""
        ...


class ArtifactStore(Protocol):
    """Where learned models and vectors are kept between runs (a folder in production, nothing in tests)."""

    def load(self, name: str) -> bytes | None: ...

    def save(self, name: str, data: bytes) -> None: ...

    def prune(self, prefix: str, keep: int) -> None: ...

    def newest(self, prefix: str) -> str | None:
        """The name of the artifact written last whose name starts with `prefix` (None: there is none)."""
        ...
