"""Statistics at scale: daily consultation counts (per outcome, per entry) and the narrow table of
unanswered questions.

All three are derived from consultations and filled from it here (one row per key); from now on the
unit of work that records consultations keeps them up to date in the same transaction (see
bot.storage.rollups).

Revision ID: 0003
Revises: 0002
Create Date: 2025-01-20
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)

# The UTC day of created_at as 'YYYY-MM-DD' (bot.storage.sql_functions.utc_day, frozen here).
UTC_DAY = {
    "postgresql": "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
    "sqlite": "date(created_at)",
}


def upgrade() -> None:
    op.create_table(
        "consultation_days",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("community", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("consultations", sa.Integer(), nullable=False),
        sa.Column("urgent", sa.Integer(), nullable=False),
        sa.Column("menu_views", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_consultation_days"),
    )
    op.create_index("ix_consultation_days_day", "consultation_days", ["day"])
    op.create_table(
        "entry_days",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("community", sa.String(64), nullable=False),
        sa.Column("entry_id", sa.String(128), nullable=False),
        sa.Column("consultations", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_entry_days"),
    )
    op.create_index("ix_entry_days_day", "entry_days", ["day"])
    op.create_table(
        "knowledge_gaps",
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("community", sa.String(64), nullable=False),
        sa.Column("text_masked", sa.Text(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["consultation_id"], ["consultations.id"], name="fk_knowledge_gaps_consultation_id_consultations"
        ),
        sa.PrimaryKeyConstraint("consultation_id", name="pk_knowledge_gaps"),
    )
    op.create_index("ix_knowledge_gaps_outcome_created_at", "knowledge_gaps", ["outcome", "created_at"])

    # Plain INSERT ... SELECT, so that the offline (--sql) script carries the backfill too.
    day = UTC_DAY[op.get_context().dialect.name]
    op.execute(
        "INSERT INTO consultation_days (day, community, outcome, consultations, urgent, menu_views)"
        f" SELECT {day}, community, outcome, count(*),"
        " sum(CASE WHEN urgent THEN 1 ELSE 0 END), sum(CASE WHEN via_menu THEN 1 ELSE 0 END)"
        f" FROM consultations GROUP BY {day}, community, outcome"
    )
    op.execute(
        "INSERT INTO entry_days (day, community, entry_id, consultations)"
        f" SELECT {day}, community, entry_id, count(*) FROM consultations"
        f" WHERE entry_id IS NOT NULL GROUP BY {day}, community, entry_id"
    )
    op.execute(
        "INSERT INTO knowledge_gaps (consultation_id, outcome, community, text_masked, created_at)"
        " SELECT id, outcome, community, text_masked, created_at FROM consultations"
        " WHERE outcome IN ('clarify', 'escalate') AND NOT via_menu ORDER BY created_at, id"
    )


def downgrade() -> None:
    op.drop_index("ix_knowledge_gaps_outcome_created_at", table_name="knowledge_gaps")
    op.drop_table("knowledge_gaps")
    op.drop_index("ix_entry_days_day", table_name="entry_days")
    op.drop_table("entry_days")
    op.drop_index("ix_consultation_days_day", table_name="consultation_days")
    op.drop_table("consultation_days")
