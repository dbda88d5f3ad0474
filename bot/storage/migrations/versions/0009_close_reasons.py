"""Why a ticket was closed (办结): answered, by phone, referred to another body, duplicate or spam,
with the note the resident is told.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("escalations") as batch:
        batch.add_column(sa.Column("close_reason", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("close_note", sa.Text(), nullable=True))
    # Tickets closed before reasons were kept: those with an answer were answered.
    op.execute(
        "UPDATE escalations SET close_reason = 'answered' "
        "WHERE status = 'closed' AND answer IS NOT NULL AND close_reason IS NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("escalations") as batch:
        batch.drop_column("close_note")
        batch.drop_column("close_reason")
