"""Database tables. Portable types only: the same schema runs on SQLite and PostgreSQL.

Enumerated columns are short strings with CHECK constraints rather than native enums, so adding a
value is a plain migration on both databases.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bot.core.models import DeliveryStatus, DraftStatus, EscalationStatus, Outcome, Role
from bot.storage.types import UtcDateTime

# Deterministic constraint names: Alembic needs them to drop or alter constraints, and SQLite's batch
# mode can only recreate constraints that have names.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _one_of(column: str, values: tuple[str, ...] | list[str]) -> str:
    quoted = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({quoted})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class CommunityRow(Base):
    __tablename__ = "communities"

    slug: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    district: Mapped[str] = mapped_column(String(100))
    sample: Mapped[bool] = mapped_column(Boolean, default=False)


def _same_as_created_at(context: Any) -> Any:
    return context.get_current_parameters()["created_at"]


class ResidentRow(Base):
    """A pseudonym per channel account and its preferences: no names or phone numbers are kept."""

    __tablename__ = "residents"
    __table_args__ = (UniqueConstraint("channel", "channel_user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    channel_user_id: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # The community the resident chose (None: not chosen yet).
    community: Mapped[str | None] = mapped_column(ForeignKey("communities.slug"))
    language: Mapped[str] = mapped_column(String(16), default="zh", server_default="zh")
    # The resident blocked the bot (Telegram 403): deliveries to them stop.
    blocked: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Last change of the preferences above; the first-seen time until then.
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=_same_as_created_at)


# An account's Telegram id and login name are unique among *active* accounts only: a deactivated
# officer keeps both on record (who answered what), and a successor may take them over. Partial unique
# indexes express exactly that on SQLite and PostgreSQL alike.
_ACTIVE = text("active")


class StaffRow(Base):
    """Officers and admins on the allowlist. Membership of a Telegram group alone grants nothing."""

    __tablename__ = "staff"
    __table_args__ = (
        CheckConstraint(_one_of("role", [r.value for r in Role]), name="role"),
        Index(
            "uq_staff_active_telegram_user_id",
            "telegram_user_id",
            unique=True,
            sqlite_where=_ACTIVE,
            postgresql_where=_ACTIVE,
        ),
        Index(
            "uq_staff_active_username",
            "username",
            unique=True,
            sqlite_where=_ACTIVE,
            postgresql_where=_ACTIVE,
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger)
    username: Mapped[str | None] = mapped_column(String(64))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class StaffCommunityRow(Base):
    """The communities an officer serves (admins see all and need none)."""

    __tablename__ = "staff_communities"

    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), primary_key=True)
    community: Mapped[str] = mapped_column(ForeignKey("communities.slug"), primary_key=True)


class ConsultationRow(Base):
    __tablename__ = "consultations"
    __table_args__ = (
        CheckConstraint(_one_of("outcome", [o.value for o in Outcome]), name="outcome"),
        Index(None, "created_at"),
        Index(None, "community", "created_at"),
        Index(None, "outcome"),
        Index(None, "entry_id"),
        Index(None, "resident_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community: Mapped[str] = mapped_column(ForeignKey("communities.slug"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))
    channel: Mapped[str] = mapped_column(String(16))
    text_masked: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(16))
    entry_id: Mapped[str | None] = mapped_column(String(128))
    score: Mapped[float] = mapped_column(Float)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    urgent_kind: Mapped[str | None] = mapped_column(String(16))
    via_menu: Mapped[bool] = mapped_column(Boolean, default=False)
    # Comma-joined entry ids offered to the resident, each with ":score" (0-100) since revision 0005;
    # kept for curation and the officers' view, never queried by id.
    candidates: Mapped[str] = mapped_column(Text, default="")
    # The resident's previous messages in the conversation (masked), kept with a question that may go
    # to the officers so they need not ask again. Null for a question asked alone.
    earlier: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AuditRow(Base):
    """Officers' and admins' actions (bot.core.models.AuditEntry), newest read first."""

    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    staff_id: Mapped[int | None] = mapped_column(Integer)  # no foreign key: the record outlives the account
    staff_name: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(Text)


class IdempotentRequestRow(Base):
    """An API request sent with an Idempotency-Key (its SHA-256), and the response its retries get."""

    __tablename__ = "idempotent_requests"
    __table_args__ = (Index(None, "created_at"),)

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))  # SHA-256 of the request body
    response: Mapped[str | None] = mapped_column(Text)  # JSON; NULL while the first one is handled
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class RollupSettingsRow(Base):
    """One row: the offset from UTC at which the daily rows below count their days (bot.storage.rollups)."""

    __tablename__ = "rollup_settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day_offset_minutes: Mapped[int] = mapped_column(Integer)


class ConsultationDayRow(Base):
    """Consultations counted per UTC day, community and outcome: what the statistics read for whole
    days instead of scanning consultations (a year is a few thousand rows, not a million).

    Each unit of work that records consultations adds a row of its own counts (an insert: concurrent
    writers never wait for one another, as they would for a shared counter row), and now and then
    merges the recent rows of each key into one (bot.storage.rollups). A key's figure is the sum of
    its rows, exact for every day, including rows dated in the past. Only whole UTC days are read from
    here; partial days at a period's edges, and the current day, are counted in consultations."""

    __tablename__ = "consultation_days"
    __table_args__ = (Index(None, "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # 'YYYY-MM-DD', the day at the reporting offset (rollup_settings): compares in date order anywhere.
    day: Mapped[str] = mapped_column(String(10))
    community: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    consultations: Mapped[int] = mapped_column(Integer)
    urgent: Mapped[int] = mapped_column(Integer)
    menu_views: Mapped[int] = mapped_column(Integer)


class EntryDayRow(Base):
    """Consultations that reached an entry, per UTC day, community and entry; kept like
    ConsultationDayRow, and apart from it because it is the one breakdown with a row per entry."""

    __tablename__ = "entry_days"
    __table_args__ = (Index(None, "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[str] = mapped_column(String(10))
    community: Mapped[str] = mapped_column(String(64))
    entry_id: Mapped[str] = mapped_column(String(128))
    consultations: Mapped[int] = mapped_column(Integer)


class KnowledgeGapRow(Base):
    """The questions the bot did not answer outright (clarified or escalated; menu browsing excluded),
    copied narrow from consultations for the dashboard's "most asked" lists: a year of them is a
    fraction of the consultations table, and they are the only rows those lists read. The text cannot
    go into an index instead: b-tree entries are limited to ~2.7 kB and a question may be longer."""

    __tablename__ = "knowledge_gaps"
    __table_args__ = (Index(None, "outcome", "created_at"),)

    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id"), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(16))
    community: Mapped[str] = mapped_column(String(64))
    text_masked: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class EscalationRow(Base):
    __tablename__ = "escalations"
    __table_args__ = (
        CheckConstraint(_one_of("status", [s.value for s in EscalationStatus]), name="status"),
        Index(None, "status"),
        Index(None, "created_at"),
        Index(None, "community", "created_at"),
        Index(None, "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Unique: one ticket per consultation, so a resident who taps "ask an officer" twice gets the same one.
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id"), unique=True)
    # Copied from the consultation so officer queues and statistics need no join.
    community: Mapped[str] = mapped_column(ForeignKey("communities.slug"))
    status: Mapped[str] = mapped_column(String(16))
    # Display name of the officer who claimed or answered it, copied so history survives renames.
    officer: Mapped[str | None] = mapped_column(String(200))
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    answer: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Overdue reminders sent so far: 0 none, 1 officers reminded, 2 passed to the duty group.
    reminded: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The resident's call-back number on an urgent ticket; masked everywhere but on the ticket itself.
    callback_phone: Mapped[str | None] = mapped_column(String(32))
    close_reason: Mapped[str | None] = mapped_column(String(16))
    close_note: Mapped[str | None] = mapped_column(Text)


class EscalationPostRow(Base):
    """Where an escalation was posted in an officers' chat, so a reply to the post maps back to it."""

    __tablename__ = "escalation_posts"
    __table_args__ = (UniqueConstraint("chat_id", "message_id"), Index(None, "escalation_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    escalation_id: Mapped[int] = mapped_column(ForeignKey("escalations.id"))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int] = mapped_column(BigInteger)


class FeedbackRow(Base):
    """One vote per consultation (helpfulness) or per ticket (satisfaction); a second vote replaces it."""

    __tablename__ = "feedback"
    __table_args__ = (
        CheckConstraint(
            "(kind = 'helpfulness' AND consultation_id IS NOT NULL AND escalation_id IS NULL)"
            " OR (kind = 'satisfaction' AND escalation_id IS NOT NULL AND consultation_id IS NULL)",
            name="target_matches_kind",
        ),
        Index(None, "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    consultation_id: Mapped[int | None] = mapped_column(ForeignKey("consultations.id"), unique=True)
    escalation_id: Mapped[int | None] = mapped_column(ForeignKey("escalations.id"), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class OutboxRow(Base):
    """A durable queue of messages to send, written in the same transaction as what caused them."""

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint(_one_of("status", [s.value for s in DeliveryStatus]), name="status"),
        # The sender's query: pending messages due by now, earliest first.
        Index(None, "status", "next_attempt_at"),
        Index(None, "escalation_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))
    # sa.JSON: JSON on PostgreSQL, JSON text on SQLite.
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    settled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    escalation_id: Mapped[int | None] = mapped_column(ForeignKey("escalations.id"))
    last_error: Mapped[str | None] = mapped_column(Text)


class DraftRow(Base):
    """A knowledge entry proposed by an officer (often from an answered escalation), awaiting review."""

    __tablename__ = "drafts"
    __table_args__ = (
        CheckConstraint(_one_of("status", [s.value for s in DraftStatus]), name="status"),
        Index(None, "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(String(200))
    community: Mapped[str | None] = mapped_column(ForeignKey("communities.slug"))
    status: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    escalation_id: Mapped[int | None] = mapped_column(ForeignKey("escalations.id"))
    entry_id: Mapped[str | None] = mapped_column(String(128))
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Approved for several communities: their slugs, comma-separated. NULL: entry_id says the scope.
    approved_for: Mapped[str | None] = mapped_column(Text)


class TelegramUpdateRow(Base):
    """The webhook's durable inbox: an update is stored (claimed by the replica that received it)
    before Telegram hears 200, and marked processed once its handlers ran. The primary key on
    update_id makes a redelivery, or the same update reaching another replica, a no-op. Processed rows
    are pruned after a day; only unprocessed ones matter."""

    __tablename__ = "telegram_updates"
    __table_args__ = (
        # The recovery query: unprocessed updates whose claim ran out.
        Index(None, "processed_at", "claimed_until"),
    )

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    claimed_until: Mapped[datetime] = mapped_column(UtcDateTime)
    processed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class ConversationRow(Base):
    """A resident's conversation state between messages (bot.core.conversation), when no Redis holds
    it. Keyed by an opaque hash of channel, resident and conversation; rows idle for a day are pruned."""

    __tablename__ = "conversation_states"
    __table_args__ = (Index(None, "updated_at"),)

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class StaffSessionRow(Base):
    """A signed-in browser of an officer or admin. The cookie carries a random token; only its SHA-256
    is kept here, so a copy of this table signs nobody in. Logout revokes the row; "sign out
    everywhere" and deactivation revoke all of an account's rows; a row also ends when idle or old."""

    __tablename__ = "staff_sessions"
    __table_args__ = (Index(None, "staff_id"),)

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
