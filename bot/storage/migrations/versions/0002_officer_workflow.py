"""Officer workflow: staff, resident preferences, escalation claims and posts, outbox, drafts.

Revision ID: 0002
Revises: 0001
Create Date: 2024-12-10
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)
ACTIVE = sa.text("active")

# CHECK constraint names go through op.f(): Alembic applies the metadata's naming convention
# ("ck_%(table_name)s_%(constraint_name)s") to names given here, so a plain "ck_staff_role" would be
# created as "ck_staff_ck_staff_role" (as 0001's CHECK constraints were).


def upgrade() -> None:
    op.create_table(
        "staff",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("telegram_user_id", sa.BigInteger(), nullable=True),
        sa.Column("username", sa.String(64), nullable=True),
        sa.Column("password_hash", sa.String(255), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.CheckConstraint("role IN ('officer', 'admin')", name=op.f("ck_staff_role")),
        sa.PrimaryKeyConstraint("id", name="pk_staff"),
    )
    # Unique among active accounts only (partial indexes work on SQLite and PostgreSQL alike).
    op.create_index(
        "uq_staff_active_telegram_user_id",
        "staff",
        ["telegram_user_id"],
        unique=True,
        sqlite_where=ACTIVE,
        postgresql_where=ACTIVE,
    )
    op.create_index(
        "uq_staff_active_username",
        "staff",
        ["username"],
        unique=True,
        sqlite_where=ACTIVE,
        postgresql_where=ACTIVE,
    )
    op.create_table(
        "staff_communities",
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("community", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["community"], ["communities.slug"], name="fk_staff_communities_community_communities"
        ),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name="fk_staff_communities_staff_id_staff"),
        sa.PrimaryKeyConstraint("staff_id", "community", name="pk_staff_communities"),
    )

    with op.batch_alter_table("residents") as batch:
        batch.add_column(sa.Column("community", sa.String(64), nullable=True))
        batch.add_column(sa.Column("language", sa.String(16), server_default="zh", nullable=False))
        batch.add_column(sa.Column("blocked", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column("updated_at", UTC_DATETIME, nullable=True))
        batch.create_foreign_key("fk_residents_community_communities", "communities", ["community"], ["slug"])
    # Existing residents: preferences unchanged since they were first seen.
    op.execute("UPDATE residents SET updated_at = created_at")
    with op.batch_alter_table("residents") as batch:
        batch.alter_column("updated_at", existing_type=UTC_DATETIME, nullable=False)

    with op.batch_alter_table("escalations") as batch:
        batch.add_column(sa.Column("officer_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("reminded", sa.Integer(), server_default="0", nullable=False))
        batch.create_foreign_key("fk_escalations_officer_id_staff", "staff", ["officer_id"], ["id"])
    op.create_index("ix_escalations_status_due_at", "escalations", ["status", "due_at"])

    op.create_table(
        "escalation_posts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("escalation_id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["escalation_id"], ["escalations.id"], name="fk_escalation_posts_escalation_id_escalations"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_escalation_posts"),
        sa.UniqueConstraint("chat_id", "message_id", name="uq_escalation_posts_chat_id_message_id"),
    )
    op.create_index("ix_escalation_posts_escalation_id", "escalation_posts", ["escalation_id"])

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("recipient", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTC_DATETIME, nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("settled_at", UTC_DATETIME, nullable=True),
        sa.Column("escalation_id", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'blocked', 'failed')", name=op.f("ck_outbox_status")
        ),
        sa.ForeignKeyConstraint(
            ["escalation_id"], ["escalations.id"], name="fk_outbox_escalation_id_escalations"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
    )
    op.create_index("ix_outbox_status_next_attempt_at", "outbox", ["status", "next_attempt_at"])
    op.create_index("ix_outbox_escalation_id", "outbox", ["escalation_id"])

    op.create_table(
        "drafts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("community", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("escalation_id", sa.Integer(), nullable=True),
        sa.Column("entry_id", sa.String(128), nullable=True),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", UTC_DATETIME, nullable=True),
        sa.CheckConstraint("status IN ('pending', 'approved', 'rejected')", name=op.f("ck_drafts_status")),
        sa.ForeignKeyConstraint(["community"], ["communities.slug"], name="fk_drafts_community_communities"),
        sa.ForeignKeyConstraint(["created_by"], ["staff.id"], name="fk_drafts_created_by_staff"),
        sa.ForeignKeyConstraint(["decided_by"], ["staff.id"], name="fk_drafts_decided_by_staff"),
        sa.ForeignKeyConstraint(
            ["escalation_id"], ["escalations.id"], name="fk_drafts_escalation_id_escalations"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_drafts"),
    )
    op.create_index("ix_drafts_status_created_at", "drafts", ["status", "created_at"])


def downgrade() -> None:
    op.drop_table("drafts")
    op.drop_table("outbox")
    op.drop_table("escalation_posts")

    op.drop_index("ix_escalations_status_due_at", table_name="escalations")
    with op.batch_alter_table("escalations") as batch:
        batch.drop_constraint("fk_escalations_officer_id_staff", type_="foreignkey")
        batch.drop_column("reminded")
        batch.drop_column("officer_id")

    with op.batch_alter_table("residents") as batch:
        batch.drop_constraint("fk_residents_community_communities", type_="foreignkey")
        batch.drop_column("updated_at")
        batch.drop_column("blocked")
        batch.drop_column("language")
        batch.drop_column("community")

    op.drop_table("staff_communities")
    op.drop_index("uq_staff_active_username", table_name="staff")
    op.drop_index("uq_staff_active_telegram_user_id", table_name="staff")
    op.drop_table("staff")
