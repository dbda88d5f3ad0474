"""Urgent triage: the kind of emergency on a consultation, a call-back number on its escalation.

Revision ID: 0005
Revises: 0004
Create Date: 2025-03-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("consultations") as batch:
        batch.add_column(sa.Column("urgent_kind", sa.String(length=16), nullable=True))
    with op.batch_alter_table("escalations") as batch:
        batch.add_column(sa.Column("callback_phone", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("escalations") as batch:
        batch.drop_column("callback_phone")
    with op.batch_alter_table("consultations") as batch:
        batch.drop_column("urgent_kind")
