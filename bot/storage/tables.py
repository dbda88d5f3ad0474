"""Database tables. Portable types only: the same schema runs on SQLite and PostgreSQL.

Enumerated columns are short strings with CHECK constraints rather than native enums, so adding a
value is a plain migration on both databases.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
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
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bot.core.models import EscalationStatus, Outcome
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


class ResidentRow(Base):
    """A pseudonym per channel account: no names or phone numbers are kept."""

    __tablename__ = "residents"
    __table_args__ = (UniqueConstraint("channel", "channel_user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    channel_user_id: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


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
    via_menu: Mapped[bool] = mapped_column(Boolean, default=False)
    # Comma-joined entry ids offered to the resident; kept for curation, never queried by id.
    candidates: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class EscalationRow(Base):
    __tablename__ = "escalations"
    __table_args__ = (
        CheckConstraint(_one_of("status", [s.value for s in EscalationStatus]), name="status"),
        Index(None, "status"),
        Index(None, "created_at"),
        Index(None, "community", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Unique: one ticket per consultation, so a resident who taps "ask an officer" twice gets the same one.
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id"), unique=True)
    # Copied from the consultation so officer queues and statistics need no join.
    community: Mapped[str] = mapped_column(ForeignKey("communities.slug"))
    status: Mapped[str] = mapped_column(String(16))
    officer: Mapped[str | None] = mapped_column(String(200))
    answer: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


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
