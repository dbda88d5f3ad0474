"""Initial schema: communities, residents, consultations, escalations, feedback.

Revision ID: 0001
Revises:
Create Date: 2024-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Migrations spell types out instead of importing the app's models, which will keep changing.
UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "communities",
        sa.Column("slug", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("district", sa.String(100), nullable=False),
        sa.Column("sample", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("slug", name="pk_communities"),
    )
    op.create_table(
        "residents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("channel_user_id", sa.String(128), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_residents"),
        sa.UniqueConstraint("channel", "channel_user_id", name="uq_residents_channel_channel_user_id"),
    )
    op.create_table(
        "consultations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community", sa.String(64), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("text_masked", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("entry_id", sa.String(128), nullable=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("via_menu", sa.Boolean(), nullable=False),
        sa.Column("candidates", sa.Text(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.CheckConstraint("outcome IN ('answer', 'clarify', 'escalate')", name="ck_consultations_outcome"),
        sa.ForeignKeyConstraint(
            ["community"], ["communities.slug"], name="fk_consultations_community_communities"
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["residents.id"], name="fk_consultations_resident_id_residents"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_consultations"),
    )
    op.create_index("ix_consultations_created_at", "consultations", ["created_at"])
    op.create_index("ix_consultations_community_created_at", "consultations", ["community", "created_at"])
    op.create_index("ix_consultations_outcome", "consultations", ["outcome"])
    op.create_index("ix_consultations_entry_id", "consultations", ["entry_id"])
    op.create_index("ix_consultations_resident_id", "consultations", ["resident_id"])
    op.create_table(
        "escalations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("community", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("officer", sa.String(200), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("due_at", UTC_DATETIME, nullable=False),
        sa.Column("claimed_at", UTC_DATETIME, nullable=True),
        sa.Column("answered_at", UTC_DATETIME, nullable=True),
        sa.Column("closed_at", UTC_DATETIME, nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'claimed', 'answered', 'closed')", name="ck_escalations_status"
        ),
        sa.ForeignKeyConstraint(
            ["community"], ["communities.slug"], name="fk_escalations_community_communities"
        ),
        sa.ForeignKeyConstraint(
            ["consultation_id"], ["consultations.id"], name="fk_escalations_consultation_id_consultations"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_escalations"),
        sa.UniqueConstraint("consultation_id", name="uq_escalations_consultation_id"),
    )
    op.create_index("ix_escalations_status", "escalations", ["status"])
    op.create_index("ix_escalations_created_at", "escalations", ["created_at"])
    op.create_index("ix_escalations_community_created_at", "escalations", ["community", "created_at"])
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=True),
        sa.Column("escalation_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value", sa.String(32), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.CheckConstraint(
            "(kind = 'helpfulness' AND consultation_id IS NOT NULL AND escalation_id IS NULL)"
            " OR (kind = 'satisfaction' AND escalation_id IS NOT NULL AND consultation_id IS NULL)",
            name="ck_feedback_target_matches_kind",
        ),
        sa.ForeignKeyConstraint(
            ["consultation_id"], ["consultations.id"], name="fk_feedback_consultation_id_consultations"
        ),
        sa.ForeignKeyConstraint(
            ["escalation_id"], ["escalations.id"], name="fk_feedback_escalation_id_escalations"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_feedback"),
        sa.UniqueConstraint("consultation_id", name="uq_feedback_consultation_id"),
        sa.UniqueConstraint("escalation_id", name="uq_feedback_escalation_id"),
    )
    op.create_index("ix_feedback_created_at", "feedback", ["created_at"])


def downgrade() -> None:
    op.drop_table("feedback")
    op.drop_table("escalations")
    op.drop_table("consultations")
    op.drop_table("residents")
    op.drop_table("communities")
