"""The Telegram webhook's durable inbox: updates stored before they are acknowledged.

Revision ID: 0004
Revises: 0003
Create Date: 2025-02-10
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "telegram_updates",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("received_at", UTC_DATETIME, nullable=False),
        sa.Column("claimed_until", UTC_DATETIME, nullable=False),
        sa.Column("processed_at", UTC_DATETIME, nullable=True),
        sa.PrimaryKeyConstraint("update_id", name="pk_telegram_updates"),
    )
    op.create_index(
        "ix_telegram_updates_processed_at_claimed_until",
        "telegram_updates",
        ["processed_at", "claimed_until"],
    )


def downgrade() -> None:
    op.drop_index("ix_telegram_updates_processed_at_claimed_until", table_name="telegram_updates")
    op.drop_table("telegram_updates")
